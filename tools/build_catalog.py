"""Build the bundled catalog (ckptscope/catalog/ORG__NAME.ckpt.gz) from the real config.json files in fixtures/.

We cannot read the real safetensors headers here (no network), so every header is RECONSTRUCTED: the tensor
inventory comes from the real config.json through the architecture rules (``predict_inventory``; the rules are
checked against the transformers meta-device oracle in fixtures/oracle/ by the arch tests), laid into shards the
way ``save_pretrained`` does (in order, a new shard when the next tensor would pass the max shard size, names
``model-0000k-of-0000N.safetensors``, an index with the total size), each header written like the reference
writer (compact JSON, ``{"format": "pt"}`` metadata, padded to 8 bytes). The provenance of every snapshot says
"reconstructed" and how; ckptscope shows that whenever it falls back to the catalog. Real shard boundaries and
names may differ (DeepSeek's own converter, not save_pretrained, wrote DeepSeek-V3).

    python tools/build_catalog.py            # all entries
    python tools/build_catalog.py deepseek-ai/DeepSeek-V3
"""

from __future__ import annotations

import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ckptscope.analysis.arch import predict_inventory  # noqa: E402
from ckptscope.readers.config import parse_config  # noqa: E402
from ckptscope.readers.safetensors import parse_header  # noqa: E402
from ckptscope.readers.tokenizer import apply_tokenizer_config, from_tokenizer_json  # noqa: E402
from ckptscope.sources import snapshot  # noqa: E402

GB = 10**9
CREATED = "2026-11-22T00:00:00+00:00"  # fixed: rebuilding gives the same bytes
#: repo id -> (max shard bytes, expected shard count or None, tokenizer folder in fixtures/tokenizers or None)
ENTRIES = {
    "deepseek-ai/DeepSeek-V3": (None, 163, "deepseek_v3"),
    "deepseek-ai/DeepSeek-R1": (None, 163, None),
    "meta-llama/Llama-3.1-8B": (5 * GB, None, None),
    "meta-llama/Llama-3.2-1B": (5 * GB, None, None),
    "meta-llama/Llama-3.2-3B": (5 * GB, None, None),
    "Qwen/Qwen2.5-7B": (4 * GB, None, None),
    "Qwen/Qwen2.5-0.5B": (4 * GB, None, None),
    "Qwen/Qwen3-30B-A3B": (4 * GB, None, "qwen3"),
    "Qwen/Qwen3-235B-A22B": (4 * GB, None, "qwen3"),
    "mistralai/Mixtral-8x7B-v0.1": (5 * GB, None, None),
    "mistralai/Mistral-7B-v0.1": (5 * GB, None, None),
    "google/gemma-2-9b": (5 * GB, None, None),
    "google/gemma-2-2b": (5 * GB, None, None),
}


def shard(inv, max_bytes: int) -> list[list]:
    shards: list[list] = [[]]
    cur = 0
    for t in inv:
        if shards[-1] and cur + t.nbytes > max_bytes:
            shards.append([])
            cur = 0
        shards[-1].append(t)
        cur += t.nbytes
    return shards


def max_for_count(inv, count: int) -> int:
    """The smallest max shard size that gives at most ``count`` shards (bisection)."""
    lo, hi = max(t.nbytes for t in inv), sum(t.nbytes for t in inv)
    while lo < hi:
        mid = (lo + hi) // 2
        if len(shard(inv, mid)) <= count:
            hi = mid
        else:
            lo = mid + 1
    return lo


def header_bytes(tensors) -> tuple[bytes, int]:
    obj: dict = {"__metadata__": {"format": "pt"}}
    pos = 0
    for t in tensors:
        obj[t.name] = {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [pos, pos + t.nbytes]}
        pos += t.nbytes
    raw = json.dumps(obj, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw, pos


def build(repo_id: str) -> str:
    max_bytes, count, tok = ENTRIES[repo_id]
    cdir = os.path.join(ROOT, "fixtures", "configs", repo_id.replace("/", "__"))
    cfg_bytes = open(os.path.join(cdir, "config.json"), "rb").read()
    config = parse_config(cfg_bytes, "config.json")
    inv = predict_inventory(config)
    if not inv:
        raise SystemExit(f"{repo_id}: no architecture rules for {config.architecture}")
    if max_bytes is None:
        max_bytes = max_for_count(inv, count)
    shards = shard(inv, max_bytes)
    if count is not None and len(shards) != count:
        raise SystemExit(f"{repo_id}: {len(shards)} shards, expected {count}")
    files: dict[str, int] = {"config.json": len(cfg_bytes)}
    texts = {"config.json": cfg_bytes}
    headers = []
    weight_map = {}
    total = 0
    n = len(shards)
    for i, sh in enumerate(shards, 1):
        name = f"model-{i:05d}-of-{n:05d}.safetensors" if n > 1 else "model.safetensors"
        hb, data = header_bytes(sh)
        size = len(hb) + data
        headers.append(parse_header(hb, name, size, strict=True))
        files[name] = size
        total += data
        for t in sh:
            weight_map[t.name] = name
    if n > 1:
        idx = json.dumps({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
                         indent=2).encode()
        texts["model.safetensors.index.json"] = idx
        files["model.safetensors.index.json"] = len(idx)
    tokenizer = None
    if tok:
        tdir = os.path.join(ROOT, "fixtures", "tokenizers", tok)
        tj = open(os.path.join(tdir, "tokenizer.json"), "rb").read()
        tokenizer = from_tokenizer_json(tj, "tokenizer.json")
        tc = os.path.join(tdir, "tokenizer_config.json")
        if os.path.exists(tc):
            tcb = open(tc, "rb").read()
            apply_tokenizer_config(tokenizer, tcb)
            texts["tokenizer_config.json"] = tcb
            files["tokenizer_config.json"] = len(tcb)
        files["tokenizer.json"] = len(tj)
    cprov = json.load(open(os.path.join(ROOT, "fixtures", "configs", "PROVENANCE.json"))).get(repo_id, {})
    prov = {
        "kind": "reconstructed",
        "note": (f"{len(inv):,} tensors predicted from the real config.json by ckptscope's architecture rules and "
                 f"laid into {n} shard(s) of at most {max_bytes:,} bytes as save_pretrained would; not downloaded "
                 "(shard boundaries and names may differ from the real repo)"),
        "config": cprov,
        "tokenizer": (f"real tokenizer.json from fixtures/tokenizers/{tok} (see its PROVENANCE.md)" if tok
                      else "none bundled"),
        "tool": "tools/build_catalog.py",
    }
    snap = snapshot.build(source={"kind": "hub", "name": repo_id, "revision": None,
                                  "endpoint": "https://huggingface.co"},
                          files=files, text_files=texts, headers=headers, tokenizer=tokenizer, provenance=prov,
                          created=CREATED)
    out = os.path.join(ROOT, "ckptscope", "catalog", repo_id.replace("/", "__") + ".ckpt.gz")
    nbytes = snapshot.write(snap, out)
    print(f"{repo_id}: {len(inv):,} tensors, {n} shards, {total:,} bytes of data -> {out} ({nbytes:,} bytes)")
    return out


if __name__ == "__main__":
    for rid in sys.argv[1:] or list(ENTRIES):
        build(rid)
