"""ONNX repos: ``model.onnx`` (or ``onnx/model.onnx`` beside its variants ``model_fp16.onnx``,
``model_quantized.onnx``...), its initializers read by :mod:`ckptscope.readers.onnx` without touching tensor data,
and the external data files it names accounted for (each must exist and hold the byte range given)."""

from __future__ import annotations

import posixpath

from ..errors import CkptError, HeaderError
from ..readers.safetensors import HeaderInfo, TensorInfo
from .common import finding, human

PREFERRED = ("model.onnx", "onnx/model.onnx")


def onnx_files(files) -> list[str]:
    return sorted(f for f in files if f.endswith(".onnx"))


def _read(source, rel: str, size: int | None):
    from ..readers import onnx as ox

    if source.kind == "local":
        return ox.read_local(source._path(rel), rel)
    reader = getattr(source, "read_range", None)
    if reader is None or size is None:
        raise HeaderError(f"ONNX files cannot be read from a {source.kind} source (no byte ranges)", rel)
    return ox.read_onnx(lambda off, n: reader(rel, off, off + n), size, rel)


def load(ck, source, strict: bool) -> None:
    files = ck.files
    single = source.weights_only_file()
    cands = [single] if single else onnx_files(files)
    if not cands:
        return
    rel = next((p for p in PREFERRED if p in cands), cands[0])
    size = files.get(rel)
    try:
        info = _read(source, rel, size)
    except CkptError as e:
        if strict:
            raise
        finding(ck, "KD020", e.message, rel)
        return
    source.stats.requests += 1
    source.stats.bytes += info.bytes_read
    folder = posixpath.dirname(rel)
    tensors = []
    ext: dict[str, dict] = {}
    inline = 0
    for t in info.initializers:
        if t.location is not None:
            loc = posixpath.normpath(posixpath.join(folder, t.location)) if folder else posixpath.normpath(t.location)
            e = ext.setdefault(loc, {"size": files.get(loc), "tensors": 0, "bytes": 0, "end": 0})
            e["tensors"] += 1
            e["bytes"] += t.nbytes
            e["end"] = max(e["end"], t.offset + t.nbytes)
            where = loc
        else:
            inline += t.nbytes
            where = rel
        tensors.append(TensorInfo(t.name, t.dtype, t.dims, where, 0, t.nbytes))
    for loc, e in ext.items():
        if loc.startswith("../") or loc.startswith("/"):
            finding(ck, "KD021", f"external data {loc!r} lies outside the repository", rel)
        elif e["size"] is None and loc not in files:
            finding(ck, "KD021", f"names external data file {loc} ({e['tensors']} tensors, {e['bytes']:,} bytes), "
                                 "which is not in the repository", rel)
        elif e["size"] is not None and e["end"] > e["size"]:
            finding(ck, "KD021", f"its tensors reach byte {e['end']:,} of {loc}, which has only {e['size']:,} "
                                 "(truncated?)", rel)
        e.pop("end")
    ck.module_headers = [HeaderInfo(file=rel, file_size=size, header_len=0, tensors=tensors)]
    ck.kind_info["onnx_files"] = [rel]
    variants = [c for c in cands if c != rel]
    ck.kind_info["onnx"] = {"file": rel, "ir_version": info.ir_version, "producer": info.producer,
                            "opsets": info.opsets, "initializers": len(tensors), "inline_bytes": inline,
                            "external_data": ext, "other_onnx_files": variants, "bytes_read": info.bytes_read}
    if info.sparse_initializers:
        ck.notes.append(f"{rel}: {info.sparse_initializers} sparse initializers not counted")
    if variants:
        ck.notes.append(f"read {rel}; other ONNX files here: {', '.join(variants[:6])}")
    total = sum(t.numel for t in tensors)
    ck.kind_info["summary"] = (f"ONNX {rel}: {len(tensors):,} initializers, {human(total)} parameters; "
                               f"{len(ext)} external data file(s), {inline:,} bytes inline (opset "
                               f"{info.opsets.get('ai.onnx', '?')}, {info.bytes_read:,} bytes read)")
