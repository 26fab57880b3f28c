"""Helpers the repo kinds share: small JSON files read once, headers of a module's files, per-module counts."""

from __future__ import annotations

import json
import re
from collections import defaultdict

from ..errors import CkptError, SourceError
from ..readers.safetensors import Problem

MAX_JSON_BYTES = 16_000_000  #: a marker/config file larger than this is refused (they are a few KB)


def read_json(ck, source, rel: str, strict: bool, kind: type = dict):
    """``rel`` parsed as a JSON object (or ``kind``); a bad file raises (strict) or becomes an MD001 problem."""
    size = ck.files.get(rel)
    try:
        if size is not None and size > MAX_JSON_BYTES:
            raise CkptError(f"is {size:,} bytes, more than the {MAX_JSON_BYTES:,} a metadata file may have", rel)
        data = source.read_file(rel)
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError) as e:
            raise CkptError(f"is not valid JSON ({str(e).split(':')[0]})", rel) from None
        if not isinstance(obj, kind):
            want = "an object" if kind is dict else "a list"
            raise CkptError(f"is a JSON {type(obj).__name__}, not {want}", rel)
        return obj
    except SourceError as e:  # not there to read (a snapshot keeps only the top-level metadata files)
        ck.notes.append(f"{rel} not read ({e.message}): the repo is described without it")
        return None
    except CkptError as e:
        if strict:
            raise
        ck.problems.append(Problem("MD001", rel, f"{rel} {e.message}"))
        return None


def read_module_headers(ck, source, paths: list[str], strict: bool) -> list:
    """Headers of ``paths`` in one batched read (collect mode keeps going past a broken file)."""
    from ..checkpoint import read_headers_collect

    if not paths:
        return []
    hs = source.read_headers(paths, strict=True) if strict else read_headers_collect(source, paths)
    for h in hs:
        ck.problems.extend(h.problems)
    return hs


def module_counts(tensors, config=None, factors: dict | None = None) -> dict:
    """parameters, bytes, tensors and dtypes (parameters per dtype) of one module."""
    from ..analysis.breakdown import summarize

    s = summarize(tensors, config, factors=factors)
    return {"parameters": s["parameters"]["total"], "bytes": s["bytes"]["total"], "tensors": s["tensors"]["count"],
            "dtypes": s["parameters"]["by_dtype"]}


_NUM = re.compile(r"^\d+$")


def block_of(name: str) -> str:
    """The block a diffusion-model tensor belongs to, from its name: ``down_blocks.1``, ``mid_block``,
    ``transformer_blocks.3``, ``encoder.down_blocks.0``, ``conv_in``, ``time_embedding`` ..."""
    parts = name.split(".")
    out = []
    i = 0
    if len(parts) > 2 and parts[0] in ("encoder", "decoder", "model", "transformer"):
        out.append(parts[0])
        i = 1
    if i < len(parts) - 1:
        out.append(parts[i])
        if i + 1 < len(parts) - 1 and _NUM.match(parts[i + 1]):
            out.append(parts[i + 1])
    elif not out:
        out.append(parts[0])
    return ".".join(out) if out else name


def blocks(tensors, factors: dict | None = None) -> dict:
    """{block: {parameters, bytes, tensors}} in first-seen order."""
    import math

    out: dict[str, dict] = {}
    agg = defaultdict(lambda: {"parameters": 0, "bytes": 0, "tensors": 0})
    for t in tensors:
        b = agg[block_of(t.name)]
        b["parameters"] += math.prod(t.shape) * ((factors or {}).get(t.name) or 1)
        b["bytes"] += t.nbytes
        b["tensors"] += 1
    for k, v in agg.items():
        out[k] = v
    return out


def finding(ck, rule: str, message: str, file: str | None = None, tensor: str | None = None) -> None:
    """A finding for `check` (and `inspect`'s findings list) about the repo kind: rule ids KD001.. (registry)."""
    ck.kind_info.setdefault("findings", []).append((rule, message, file, tensor))


def human(n: int) -> str:
    from ..units import human_count

    return human_count(n)
