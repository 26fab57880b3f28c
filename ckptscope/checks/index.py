"""Index vs shards: the reader's cross-check (IX001..IX005, reused as rule ids) plus total_size (IX006),
duplicates across unindexed files (IX007), an index with no shard present (IX008) and stale shards (IX009)."""

from __future__ import annotations

import operator
import re

_END = operator.attrgetter("end")
_START = operator.attrgetter("start")


def run(ctx) -> None:
    ck = ctx.ck
    idx = ck.index
    present = [s for s in idx.shards if s in ctx.files] if idx is not None else []
    for p in ctx.problems:
        if not p.code.startswith("IX") or p.code == "IX000":
            continue
        if p.code == "IX002" and idx is None:
            ctx.add("IX007", p.message, p.file, p.tensor)
        elif p.code == "IX005" and idx is not None and not present:
            n = len(idx.shards)
            ctx.add("IX008", f"lists {n} shard file{'s' if n != 1 else ''} and none is present: only the metadata "
                             "can be checked", p.file)
        elif p.code == "IX001" and not present:
            continue  # every tensor is "absent" because no shard is here: IX008 says it once
        else:
            ctx.add(p.code, p.message, p.file, p.tensor)
    if idx is None:
        return
    listed = set(idx.shards)
    if not ctx.single and idx.file.endswith(".safetensors.index.json"):
        prefix = re.escape(idx.file[: -len(".safetensors.index.json")])
        stale = re.compile(rf"{prefix}(-\d+-of-\d+)?\.safetensors")
        for rel in sorted(ctx.files):
            if stale.fullmatch(rel) and rel not in listed:
                ctx.add("IX009", f"{rel} is not referenced by {idx.file}", rel)
    # total_size: only meaningful when every shard was read without a problem.
    if idx.total_size is not None and listed and len(present) == len(listed) and len(ck.headers) == len(listed) \
            and not any(h.problems for h in ck.headers):
        total = sum(map(_END, ck.tensors)) - sum(map(_START, ck.tensors))  # sum of end - start, in C
        if total != idx.total_size:
            files_total = sum((ctx.files.get(h.file) or 0) for h in ck.headers)
            hint = " (it equals the sum of the shard file sizes, headers included)" if files_total == idx.total_size else ""
            ctx.add("IX006", f"metadata.total_size is {idx.total_size:,} but the shards hold {total:,} bytes of "
                             f"tensor data{hint}", idx.file)
