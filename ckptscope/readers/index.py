"""Sharded checkpoints: ``*.safetensors.index.json`` (``metadata.total_size`` + ``weight_map``)."""

from __future__ import annotations

import json
from itertools import repeat
from dataclasses import dataclass, field

from ..errors import HeaderError
from .safetensors import Problem


@dataclass
class IndexInfo:
    file: str
    total_size: int | None
    weight_map: dict[str, str]
    metadata: dict = field(default_factory=dict)
    metadata_is_object: bool = True  #: False when the file's 'metadata' is present but not an object

    @property
    def shards(self) -> list[str]:
        return sorted(set(self.weight_map.values()))


def unsafe_path(name: str) -> bool:
    """A shard name that would leave the repository (absolute, drive letter, or `..`)."""
    n = name.replace("\\", "/")
    return n.startswith("/") or (len(n) > 1 and n[1] == ":") or ".." in n.split("/")


def parse_index(data: bytes, file: str) -> IndexInfo:
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise HeaderError(f"is not valid JSON ({str(e).split(':')[0]})", file) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("weight_map"), dict):
        raise HeaderError("has no 'weight_map' object", file)
    wm = obj["weight_map"]
    try:  # ~100k entries name a few hundred files: judge each distinct file name once
        files = set(wm.values())
    except TypeError:  # an unhashable value (a list, an object): not a file name, said below
        files = None
    if files is None or not all(type(v) is str for v in files) or any(map(unsafe_path, files)):
        for k, v in wm.items():  # name the first offending entry
            if not isinstance(v, str):
                raise HeaderError(f"weight_map entry {k!r} is not a file name", file)
            if unsafe_path(v):
                raise HeaderError(f"weight_map entry {k!r} names {v!r}, a path outside the repository", file)
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    ts = meta.get("total_size")
    if isinstance(ts, float) and ts.is_integer():
        ts = int(ts)
    return IndexInfo(file=file, total_size=ts if isinstance(ts, int) and not isinstance(ts, bool) else None,
                     weight_map=wm, metadata=meta,
                     metadata_is_object=obj.get("metadata") is None or isinstance(obj.get("metadata"), dict))


def cross_check(index: IndexInfo, headers, strict: bool = True) -> list[Problem]:
    """Index vs shard headers: entries no shard holds, tensors in two shards or in the wrong shard, unlisted ones."""
    problems: list[Problem] = []

    def bad(code, file, msg, tensor=None):
        if strict:
            raise HeaderError(msg, file)
        problems.append(Problem(code, file, msg, tensor))

    where: dict[str, str] = {}
    n = 0
    for h in headers:
        n += len(h.tensors)
        where.update(zip([t.name for t in h.tensors], repeat(h.file)))
    if n == len(where) and where == index.weight_map:  # the common case, decided in one comparison
        return problems
    if n != len(where):  # a name in two shards: where it is seen first
        where = {}
        for h in headers:
            where.update({t.name: h.file for t in h.tensors if t.name not in where})
    if n != len(where):
        seen: dict[str, str] = {}
        for h in headers:
            for t in h.tensors:
                if t.name in seen:
                    bad("IX002", h.file, f"tensor {t.name!r} is also in {seen[t.name]} (duplicate across shards)",
                        t.name)
                else:
                    seen[t.name] = h.file
    missing = [n for n in index.weight_map if n not in where]
    if missing:
        n0 = missing[0]
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        bad("IX001", index.file, f"lists {n0!r} in {index.weight_map[n0]} but no shard holds it{more}", n0)
    for name, f in where.items():
        listed = index.weight_map.get(name)
        if listed is None:
            bad("IX003", f, f"tensor {name!r} is not listed in {index.file}", name)
        elif listed != f:
            bad("IX004", index.file, f"says {name!r} is in {listed} but it is in {f}", name)
    return problems
