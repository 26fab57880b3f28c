"""GGUF files: header, key/values and tensor infos (never the tensor data). docs/gguf-size-rules.md §3.

A small streaming parser (the ``gguf`` package memory-maps whole files and needs them complete; this one reads the
metadata part only, works on truncated extracts, and checks every length against the bytes actually present, so
an untrusted count never makes it allocate). Big arrays (tokens, merges) are summarised by count and byte size
unless ``keep_arrays`` asks for their values.
"""

from __future__ import annotations

import math

import io
import os
import struct
from dataclasses import dataclass, field

from ..errors import CkptError

MAGIC = b"GGUF"
VTYPES = {0: ("u8", "<B"), 1: ("i8", "<b"), 2: ("u16", "<H"), 3: ("i16", "<h"), 4: ("u32", "<I"), 5: ("i32", "<i"),
          6: ("f32", "<f"), 7: ("bool", "<?"), 8: ("str", None), 9: ("arr", None), 10: ("u64", "<Q"),
          11: ("i64", "<q"), 12: ("f64", "<d")}
MAX_STRING = 1 << 30
SMALL_ARRAY = 64  #: arrays up to this many elements are always kept


@dataclass
class ArraySummary:
    """A long array kept as its element type, count and encoded size (values in ``values`` when asked)."""

    etype: str
    count: int
    nbytes: int  #: encoded bytes of the elements
    values: list | None = None

    def __repr__(self) -> str:
        return f"<{self.etype}[{self.count}]>"


@dataclass
class GGUFTensorRecord:
    name: str
    ne: tuple[int, ...]
    type_id: int
    offset: int  #: relative to the data section

    @property
    def type_name(self) -> str:
        from ..analysis.gguf.types import TYPES_BY_ID

        t = TYPES_BY_ID.get(self.type_id)
        return t.name if t else f"type{self.type_id}"

    @property
    def numel(self) -> int:
        return math.prod(self.ne)

    @property
    def nbytes(self) -> int | None:
        from ..analysis.gguf.types import TYPES_BY_ID

        t = TYPES_BY_ID.get(self.type_id)
        if t is None or (self.ne and self.ne[0] % t.block):
            return None
        return self.numel // t.block * t.bytes


@dataclass
class GGUFInfo:
    file: str
    file_size: int | None
    version: int
    kv: dict[str, object] = field(default_factory=dict)
    kv_types: dict[str, str] = field(default_factory=dict)
    kv_bytes: dict[str, int] = field(default_factory=dict)  #: encoded bytes of each key/value pair
    tensors: list[GGUFTensorRecord] = field(default_factory=list)
    alignment: int = 32
    data_offset: int = 0  #: start of the data section (header + KVs + infos + padding)
    header_bytes: int = 0  #: header + KVs + tensor infos, before padding

    @property
    def expected_size(self) -> int:
        """The file size the header implies: data start + last tensor end padded to the alignment."""
        a = self.alignment
        end = 0
        for t in self.tensors:
            nb = t.nbytes or 0
            end = max(end, t.offset + (nb + a - 1) // a * a)
        return self.data_offset + end

    @property
    def truncated(self) -> bool:
        return self.file_size is not None and self.file_size < self.expected_size

    @property
    def architecture(self) -> str | None:
        v = self.kv.get("general.architecture")
        return v if isinstance(v, str) else None

    def get(self, key: str, default=None):
        return self.kv.get(key, default)


class _R:
    def __init__(self, f, file: str, limit: int | None):
        self.f, self.file, self.pos, self.limit = f, file, 0, limit
        self.last_etype = ""

    def read(self, n: int) -> bytes:
        if n < 0 or (self.limit is not None and self.pos + n > self.limit):
            raise CkptError(f"GGUF metadata runs past the end of the file (at byte {self.pos:,}, wants {n:,} more)",
                            self.file)
        b = self.f.read(n)
        if len(b) != n:
            raise CkptError(f"GGUF metadata runs past the end of the file (at byte {self.pos:,})", self.file)
        self.pos += n
        return b

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > MAX_STRING:
            raise CkptError(f"GGUF string of {n:,} bytes at byte {self.pos - 8:,}", self.file)
        return self.read(n).decode("utf-8", "surrogateescape")


def _value(r: _R, vt: int, keep: bool):
    if vt not in VTYPES:
        raise CkptError(f"unknown GGUF value type {vt} at byte {r.pos - 4:,}", r.file)
    name, fmt = VTYPES[vt]
    if name == "str":
        return r.string()
    if name != "arr":
        return r.unpack(fmt)
    et = r.unpack("<I")
    count = r.unpack("<Q")
    if et not in VTYPES or VTYPES[et][0] == "arr":
        raise CkptError(f"unsupported GGUF array element type {et} at byte {r.pos - 12:,}", r.file)
    ename, efmt = VTYPES[et]
    r.last_etype = ename
    start = r.pos
    keep = keep or count <= SMALL_ARRAY
    if ename == "str":
        vals: list | None = [] if keep else None
        for _ in range(count):  # each element needs >= 8 bytes: a bad count hits the end of the file
            s = r.string()
            if vals is not None:
                vals.append(s)
    else:
        size = struct.calcsize(efmt)
        raw = r.read(size * count)
        vals = list(struct.unpack(f"<{count}{efmt[1]}", raw)) if keep else None
    if count <= SMALL_ARRAY:
        return vals
    return ArraySummary(ename, count, r.pos - start, vals)


def read_gguf(path: str | os.PathLike, *, keep_arrays: bool = False, display: str | None = None) -> GGUFInfo:
    """Parse the metadata of the GGUF file at ``path`` (a truncated file is fine while the metadata is whole)."""
    disp = display or str(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            return parse_gguf(io.BufferedReader(f), disp, size, keep_arrays=keep_arrays)  # type: ignore[arg-type]
    except OSError as e:
        raise CkptError(f"cannot read ({e.strerror or e})", disp) from None


def parse_gguf(f, file: str = "model.gguf", file_size: int | None = None, *, keep_arrays: bool = False) -> GGUFInfo:
    if isinstance(f, (bytes, bytearray)):
        file_size = len(f) if file_size is None else file_size
        f = io.BytesIO(f)
    r = _R(f, file, file_size)
    try:
        magic = r.read(4)
    except CkptError:
        raise CkptError("too short to be a GGUF file", file) from None
    if magic != MAGIC:
        raise CkptError(f"not a GGUF file (magic {magic!r})", file)
    version = r.unpack("<I")
    if version not in (2, 3):
        raise CkptError(f"unsupported GGUF version {version}", file)
    n_tensors = r.unpack("<Q")
    n_kv = r.unpack("<Q")
    info = GGUFInfo(file=file, file_size=file_size, version=version)
    for _ in range(n_kv):
        start = r.pos
        key = r.string()
        vt = r.unpack("<I")
        val = _value(r, vt, keep_arrays)
        info.kv[key] = val
        info.kv_types[key] = f"arr[{r.last_etype}]" if VTYPES.get(vt, ("",))[0] == "arr" else VTYPES[vt][0]
        info.kv_bytes[key] = r.pos - start
    align = info.kv.get("general.alignment")
    if isinstance(align, int) and not isinstance(align, bool):
        if align <= 0 or align & (align - 1):
            raise CkptError(f"general.alignment {align} is not a power of two", file)
        info.alignment = align
    for _ in range(n_tensors):
        name = r.string()
        nd = r.unpack("<I")
        if nd > 4:
            raise CkptError(f"tensor {name!r} has {nd} dimensions (GGUF allows 4)", file)
        ne = tuple(r.unpack("<q") for _ in range(nd))
        if any(d < 0 for d in ne):
            raise CkptError(f"tensor {name!r} has a negative dimension {ne}", file)
        tid = r.unpack("<I")
        off = r.unpack("<Q")
        info.tensors.append(GGUFTensorRecord(name, ne, tid, off))
    info.header_bytes = r.pos
    a = info.alignment
    info.data_offset = (r.pos + a - 1) // a * a
    return info

