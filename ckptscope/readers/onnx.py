"""ONNX models: the initializers (name, dtype, dims) of ``ModelProto.graph``, read with a small bounded protobuf
wire-format walker. Tensor data is never read: ``raw_data`` and typed data fields are skipped by their length,
node messages are skipped whole; ``external_data`` entries give each external tensor's file, offset and length.

Only what onnx.proto3 fixes is used (field numbers of ModelProto, GraphProto, TensorProto,
StringStringEntryProto, OperatorSetIdProto). The ``onnx`` package is not needed (it is an optional extra, used by
the tests to cross-check). Every length is checked against the bytes left before anything is read; strings are
capped; a file that breaks the wire format raises :class:`~ckptscope.errors.HeaderError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from ..errors import HeaderError

#: TensorProto.DataType -> (ckptscope dtype name, bits per element)
ONNX_DTYPES = {1: ("F32", 32), 2: ("U8", 8), 3: ("I8", 8), 4: ("U16", 16), 5: ("I16", 16), 6: ("I32", 32),
               7: ("I64", 64), 8: ("STRING", 0), 9: ("BOOL", 8), 10: ("F16", 16), 11: ("F64", 64), 12: ("U32", 32),
               13: ("U64", 64), 14: ("C64", 64), 15: ("C128", 128), 16: ("BF16", 16), 17: ("F8_E4M3", 8),
               18: ("F8_E4M3FNUZ", 8), 19: ("F8_E5M2", 8), 20: ("F8_E5M2FNUZ", 8), 21: ("U4", 4), 22: ("I4", 4),
               23: ("F4", 4), 24: ("F8_E8M0", 8), 25: ("U2", 2), 26: ("I2", 2)}
MAX_STRING = 65_536  #: tensor names, producer, external-data keys and values
MAX_DIMS = 64
MAX_TENSORS = 10_000_000
CHUNK = 1 << 18  #: bytes fetched per read when walking small fields


@dataclass(slots=True)
class OnnxTensor:
    name: str
    data_type: int
    dims: tuple[int, ...]
    inline_bytes: int = 0  #: bytes of raw_data / typed data held in the .onnx file itself
    location: str | None = None  #: external data file (relative to the .onnx file's folder)
    offset: int = 0
    length: int | None = None

    @property
    def dtype(self) -> str:
        return ONNX_DTYPES.get(self.data_type, (f"ONNX_{self.data_type}", 0))[0]

    @property
    def numel(self) -> int:
        return math.prod(self.dims)

    @property
    def nbytes(self) -> int:
        if self.location is not None and self.length is not None:
            return self.length
        bits = ONNX_DTYPES.get(self.data_type, ("", 0))[1]
        if bits:
            return (self.numel * bits + 7) // 8
        return self.inline_bytes


@dataclass
class OnnxInfo:
    file: str
    size: int
    ir_version: int | None = None
    producer: str | None = None
    opsets: dict[str, int] = field(default_factory=dict)
    graph_name: str | None = None
    initializers: list[OnnxTensor] = field(default_factory=list)
    sparse_initializers: int = 0
    bytes_read: int = 0


class _Buf:
    """Random access with a small read-ahead window: ``read_at(offset, n)`` is the source's ranged read."""

    def __init__(self, read_at: Callable[[int, int], bytes], size: int, file: str):
        self.read_at, self.size, self.file = read_at, size, file
        self.start = 0
        self.data = b""
        self.read = 0

    def get(self, pos: int, n: int) -> bytes:
        if pos < 0 or pos + n > self.size:
            raise HeaderError(f"protobuf field runs past the end of the {self.size:,}-byte file (truncated?)", self.file)
        if not (self.start <= pos and pos + n <= self.start + len(self.data)):
            want = max(n, min(CHUNK, self.size - pos))
            self.data = self.read_at(pos, want)
            self.read += len(self.data)
            self.start = pos
            if len(self.data) < n:
                raise HeaderError(f"could read only {len(self.data):,} of {n:,} bytes at offset {pos:,}", self.file)
        o = pos - self.start
        return self.data[o:o + n]

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        out = shift = 0
        for i in range(10):
            if pos >= end:
                raise HeaderError(f"varint runs past the end of its message at offset {pos:,}", self.file)
            b = self.get(pos, 1)[0]
            pos += 1
            out |= (b & 0x7F) << shift
            if not b & 0x80:
                return out, pos
            shift += 7
        raise HeaderError(f"varint longer than 10 bytes at offset {pos:,} (not an ONNX file?)", self.file)

    def fields(self, pos: int, end: int):
        """(field number, wire type, value or (start, length)) for each field in [pos, end)."""
        while pos < end:
            key, pos = self.varint(pos, end)
            fn, wt = key >> 3, key & 7
            if fn == 0:
                raise HeaderError(f"field number 0 at offset {pos:,} (not an ONNX file?)", self.file)
            if wt == 0:
                v, pos = self.varint(pos, end)
                yield fn, wt, v
            elif wt == 1:
                if pos + 8 > end:
                    raise HeaderError(f"fixed64 field runs past its message at offset {pos:,}", self.file)
                yield fn, wt, (pos, 8)
                pos += 8
            elif wt == 5:
                if pos + 4 > end:
                    raise HeaderError(f"fixed32 field runs past its message at offset {pos:,}", self.file)
                yield fn, wt, (pos, 4)
                pos += 4
            elif wt == 2:
                n, pos = self.varint(pos, end)
                if n > end - pos:
                    raise HeaderError(f"field {fn} claims {n:,} bytes at offset {pos:,} but its message has only "
                                      f"{end - pos:,} left (truncated or not ONNX)", self.file)
                yield fn, wt, (pos, n)
                pos += n
            else:
                raise HeaderError(f"unsupported protobuf wire type {wt} at offset {pos:,} (not an ONNX file?)",
                                  self.file)

    def string(self, span: tuple[int, int], what: str) -> str:
        pos, n = span
        if n > MAX_STRING:
            raise HeaderError(f"{what} is {n:,} bytes long (limit {MAX_STRING:,})", self.file)
        return self.get(pos, n).decode("utf-8", "replace")


def _s64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def read_onnx(read_at: Callable[[int, int], bytes], size: int, file: str) -> OnnxInfo:
    """Walk ``ModelProto`` -> ``graph`` -> ``initializer`` of an .onnx file of ``size`` bytes."""
    if size < 2:
        raise HeaderError(f"file is {size} bytes, too short for an ONNX model", file)
    buf = _Buf(read_at, size, file)
    info = OnnxInfo(file=file, size=size)
    graph = None
    for fn, wt, v in buf.fields(0, size):
        if fn == 1 and wt == 0:
            info.ir_version = v
        elif fn == 2 and wt == 2:
            info.producer = buf.string(v, "producer_name")
        elif fn == 8 and wt == 2:
            dom, ver = "", None
            for f2, w2, v2 in buf.fields(v[0], v[0] + v[1]):
                if f2 == 1 and w2 == 2:
                    dom = buf.string(v2, "opset domain")
                elif f2 == 2 and w2 == 0:
                    ver = v2
            if ver is not None:
                info.opsets[dom or "ai.onnx"] = ver
        elif fn == 7 and wt == 2:
            graph = v
    if info.ir_version is None and graph is None:
        raise HeaderError("no ir_version and no graph: not an ONNX model", file)
    if graph is None:
        raise HeaderError("ModelProto has no graph", file)
    for fn, wt, v in buf.fields(graph[0], graph[0] + graph[1]):
        if fn == 2 and wt == 2:
            info.graph_name = buf.string(v, "graph name")
        elif fn == 5 and wt == 2:
            if len(info.initializers) >= MAX_TENSORS:
                raise HeaderError(f"more than {MAX_TENSORS:,} initializers", file)
            info.initializers.append(_tensor(buf, v))
        elif fn == 15 and wt == 2:
            info.sparse_initializers += 1
    info.bytes_read = buf.read
    return info


def _tensor(buf: _Buf, span: tuple[int, int]) -> OnnxTensor:
    start, n = span
    dims: list[int] = []
    t = OnnxTensor(name="", data_type=0, dims=())
    ext: dict[str, str] = {}
    location = 0
    for fn, wt, v in buf.fields(start, start + n):
        if fn == 1:
            if wt == 0:
                dims.append(_s64(v))
            elif wt == 2:
                p, end = v[0], v[0] + v[1]
                while p < end:
                    d, p = buf.varint(p, end)
                    dims.append(_s64(d))
                    if len(dims) > MAX_DIMS:
                        break
            if len(dims) > MAX_DIMS:
                raise HeaderError(f"initializer at offset {start:,} has more than {MAX_DIMS} dims", buf.file)
        elif fn == 2 and wt == 0:
            t.data_type = v
        elif fn == 8 and wt == 2:
            t.name = buf.string(v, "initializer name")
        elif fn in (4, 5, 6, 7, 9, 10, 11) and wt == 2:
            t.inline_bytes += v[1]  # raw_data or packed typed data: skipped, never read
        elif fn == 13 and wt == 2:
            k = val = None
            for f2, w2, v2 in buf.fields(v[0], v[0] + v[1]):
                if f2 == 1 and w2 == 2:
                    k = buf.string(v2, "external_data key")
                elif f2 == 2 and w2 == 2:
                    val = buf.string(v2, "external_data value")
            if k is not None and val is not None:
                ext[k] = val
        elif fn == 14 and wt == 0:
            location = v
    if any(d < 0 for d in dims):
        raise HeaderError(f"initializer {t.name!r} has a negative dimension {dims}", buf.file)
    numel = 1
    for d in dims:
        numel *= d
        if numel >= 1 << 63:
            raise HeaderError(f"initializer {t.name!r}: dims {dims} overflow", buf.file)
    t.dims = tuple(dims)
    if location == 1 or ext:
        t.location = ext.get("location")
        if t.location is None:
            raise HeaderError(f"initializer {t.name!r} is external but names no location", buf.file)
        try:
            t.offset = int(ext.get("offset", "0"))
            t.length = int(ext["length"]) if "length" in ext else None
        except ValueError:
            raise HeaderError(f"initializer {t.name!r}: external offset/length are not integers", buf.file) from None
        if t.offset < 0 or (t.length is not None and t.length < 0):
            raise HeaderError(f"initializer {t.name!r}: negative external offset/length", buf.file)
    return t


def read_local(path: str, display: str | None = None) -> OnnxInfo:
    import os

    name = display or path
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            def read_at(off: int, n: int) -> bytes:
                f.seek(off)
                return f.read(n)

            return read_onnx(read_at, size, name)
    except OSError as e:
        raise HeaderError(f"cannot read ({e.strerror or e})", name) from None
