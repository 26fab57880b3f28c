"""GGUF files: header, key/values and tensor infos (never the tensor data). docs/gguf-size-rules.md §3.

A small streaming parser (the ``gguf`` package memory-maps whole files and needs them complete; this one reads the
metadata part only, works on truncated extracts and on remote files read by ranges, and checks every length
against the bytes actually present, so an untrusted count never makes it allocate). Big arrays (tokens, merges)
are summarised by count and byte size unless ``keep_arrays`` asks for their values.

It refuses what llama.cpp's loader (``ggml/src/gguf.cpp`` ``gguf_init_from_reader``, and
``llama_model_loader``'s bounds check) refuses, each with a problem code (``PROBLEMS``) that ``check`` reports as
a rule. Codes in ``FATAL`` stop the parse; the others are collected in ``GGUFInfo.problems`` (offsets, data past
the end of the file, invalid UTF-8 inside token lists) and ``inspect`` raises the first one except truncation
(a header extract is a legitimate thing to inspect: it is reported as TRUNCATED).
"""

from __future__ import annotations

import io
import math
import os
import struct
from dataclasses import dataclass, field

from ..errors import HeaderError

MAGIC = b"GGUF"
VTYPES = {0: ("u8", "<B"), 1: ("i8", "<b"), 2: ("u16", "<H"), 3: ("i16", "<h"), 4: ("u32", "<I"), 5: ("i32", "<i"),
          6: ("f32", "<f"), 7: ("bool", "<?"), 8: ("str", None), 9: ("arr", None), 10: ("u64", "<Q"),
          11: ("i64", "<q"), 12: ("f64", "<d")}
MAX_STRING = 1 << 30  #: GGUF_MAX_STRING_LENGTH
MAX_ARRAY = 1 << 30  #: GGUF_MAX_ARRAY_ELEMENTS
MAX_NAME = 64  #: GGML_MAX_NAME: tensor names must be shorter
MAX_DIMS = 4  #: GGML_MAX_DIMS
INT64_MAX = (1 << 63) - 1
SMALL_ARRAY = 64  #: arrays up to this many elements are always kept
BIG_STRING = 16 << 20  #: strings longer than this are validated in chunks and kept shortened
KEEP_CHARS = 4096
MAX_STRINGS = 1 << 21  #: ckptscope's own limit on a string array: 8x the largest vocabulary known (Gemma 3, 262,144); bounds the time
DEFAULT_ALIGNMENT = 32
TOKEN_ARRAYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.merges")

# Problem ids, shared with `ckptscope check` (which reports them as rules GG001..).
PROBLEMS = {
    "GG001": "not a GGUF file (bad magic)",
    "GG002": "unsupported GGUF version (0, 1, above 3, or the other byte order)",
    "GG003": "a count or length runs past the end of the file (metadata truncated or corrupt)",
    "GG004": "unknown metadata value type",
    "GG005": "tensor has an unknown or removed ggml type",
    "GG006": "bad tensor shape (over 4 dimensions, negative, overflowing, or a row not a multiple of the block)",
    "GG007": "duplicate or empty metadata key",
    "GG008": "duplicate or over-long tensor name",
    "GG009": "general.alignment is not a u32 power of two",
    "GG010": "tensor data offset not a multiple of general.alignment",
    "GG011": "tensor data overlaps, leaves a gap, or is out of order (llama.cpp requires contiguous data)",
    "GG012": "tensor data runs past the end of the file (truncated)",
    "GG013": "invalid UTF-8 in a key, string value or tensor name",
    "GG014": "invalid UTF-8 inside a token list",
    "GG015": "split GGUF set incomplete or inconsistent",
}
FATAL = {"GG001", "GG002", "GG003", "GG004", "GG005", "GG006", "GG007", "GG008", "GG009", "GG013"}
NOT_FATAL_IN_INSPECT = {"GG012", "GG014"}  #: inspect reports these instead of refusing the file


class GGUFError(HeaderError):
    """A GGUF file llama.cpp's loader would refuse. ``code`` is one of ``PROBLEMS``."""

    def __init__(self, code: str, message: str, file: str | None = None, tensor: str | None = None):
        super().__init__(message, file)
        self.code = code
        self.tensor = tensor


@dataclass
class ArraySummary:
    """A long array kept as its element type, count and encoded size (values in ``values`` when asked)."""

    etype: str
    count: int
    nbytes: int  #: encoded bytes of the elements
    values: list | None = None

    def __repr__(self) -> str:
        return f"<{self.etype}[{self.count}]>"


@dataclass(slots=True)
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
    alignment: int = DEFAULT_ALIGNMENT
    data_offset: int = 0  #: start of the data section (header + KVs + infos + padding)
    header_bytes: int = 0  #: header + KVs + tensor infos, before padding
    data_end: int = 0  #: end of the last tensor's data (unpadded), relative to the data section
    problems: list[tuple[str, str, str | None]] = field(default_factory=list)  #: (code, message, tensor)

    @property
    def expected_size(self) -> int:
        """The file size the header implies: data start + last tensor end padded to the alignment (the header
        alone for a vocab-only file, which has no data section)."""
        if not self.tensors:
            return self.header_bytes
        a = self.alignment
        end = 0
        for t in self.tensors:
            nb = t.nbytes or 0
            end = max(end, t.offset + (nb + a - 1) // a * a)
        return self.data_offset + end

    @property
    def truncated(self) -> bool:
        """The file ends before the last tensor's data does (llama.cpp: "tensor data is not within the file
        bounds"). Header extracts are truncated by design."""
        if self.file_size is None:
            return False
        if not self.tensors:
            return self.file_size < self.header_bytes
        return self.file_size < self.data_offset + self.data_end

    @property
    def vocab_only(self) -> bool:
        """No tensors, a tokenizer: llama.cpp's vocab files (``models/ggml-vocab-*.gguf``)."""
        return not self.tensors and "tokenizer.ggml.model" in self.kv

    @property
    def architecture(self) -> str | None:
        v = self.kv.get("general.architecture")
        return v if isinstance(v, str) else None

    @property
    def tensor_bytes(self) -> int:
        return sum(t.nbytes or 0 for t in self.tensors)

    def get(self, key: str, default=None):
        return self.kv.get(key, default)


class _R:
    """Reads from a file-like object through its own buffer, never past ``limit`` (the file size, when known).

    Every length is checked against the bytes left before anything is allocated; strings over ``BIG_STRING``
    bytes are validated in chunks and kept as their first ``KEEP_CHARS`` characters."""

    CHUNK = 256 << 10

    def __init__(self, f, file: str, limit: int | None):
        self.f, self.file, self.pos, self.limit = f, file, 0, limit
        self.buf = b""
        self.bi = 0  #: index of ``pos`` in ``buf``
        self.last_etype = ""
        self.problems: list[tuple[str, str, str | None]] = []

    def remain(self) -> int | None:
        return None if self.limit is None else self.limit - self.pos

    def fail(self, code: str, msg: str, tensor: str | None = None):
        raise GGUFError(code, msg, self.file, tensor)

    def need(self, n: int, what: str) -> None:
        rem = self.remain()
        if n < 0 or (rem is not None and n > rem):
            self.fail("GG003", f"{what} at byte {self.pos:,} needs {n:,} bytes, the file has {max(rem or 0, 0):,} "
                               "more (truncated or corrupt metadata)")

    def _fill(self, n: int) -> bool:
        have = len(self.buf) - self.bi
        if have >= n:
            return True
        want = max(n - have, self.CHUNK)
        if self.limit is not None:
            want = min(want, self.limit - self.pos - have)
        data = self.f.read(want) if want > 0 else b""
        self.buf = self.buf[self.bi:] + data
        self.bi = 0
        return len(self.buf) >= n

    def read(self, n: int, what: str = "GGUF metadata") -> bytes:
        self.need(n, what)
        try:
            ok = self._fill(n)
        except MemoryError:
            self.fail("GG003", f"{what} at byte {self.pos:,} of {n:,} bytes is too large to read")
        if not ok:
            self.fail("GG003", f"{what} runs past the end of the file (at byte {self.pos:,}, wants {n:,} bytes, "
                               f"{len(self.buf) - self.bi:,} there)")
        b = self.buf[self.bi:self.bi + n]
        self.bi += n
        self.pos += n
        return b

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        have = len(self.buf) - self.bi
        if n <= have:
            self.bi += n
            self.pos += n
            return
        left = n - have
        self.buf, self.bi = b"", 0
        sk = getattr(self.f, "skip", None)
        if sk is not None:
            sk(left)
        elif self.f.seekable():
            self.f.seek(left, 1)
            if self.limit is None:  # a stream without a size: make sure the bytes are there
                self.f.seek(-1, 1)
                if len(self.f.read(1)) != 1:
                    self.fail("GG003", f"{what} runs past the end of the file (at byte {self.pos:,})")
        else:
            while left:
                got = len(self.f.read(min(left, 1 << 20)))
                if not got:
                    self.fail("GG003", f"{what} runs past the end of the file (at byte {self.pos:,})")
                left -= got
        self.pos += n

    def unpack(self, fmt: str, what: str = "GGUF metadata"):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt), what))[0]

    def _length(self, what: str, max_len: int = MAX_STRING) -> int:
        at = self.pos
        n = self.unpack("<Q", what)
        if n > MAX_STRING:
            self.fail("GG003", f"{what} at byte {at:,} claims {n:,} bytes (llama.cpp's limit is {MAX_STRING:,})")
        self.need(n, what)
        return n

    def _big(self, n: int, what: str, strict: bool, tensor: str | None = None) -> tuple[str, bool]:
        """A long string checked chunk by chunk: (its first KEEP_CHARS characters + a marker, valid)."""
        import codecs

        dec = codecs.getincrementaldecoder("utf-8")("strict" if strict else "replace")
        head, left, ok = "", n, True
        while left:
            k = min(left, 1 << 20)
            try:
                part = dec.decode(self.read(k, what), final=left == k)
            except UnicodeDecodeError:
                if strict:
                    self.fail("GG013", f"{what} is not valid UTF-8 (around byte {n - left:,} of {n:,})", tensor)
                ok = False
                part = ""
                dec = codecs.getincrementaldecoder("utf-8")("replace")
            if len(head) < KEEP_CHARS:
                head += part[:KEEP_CHARS - len(head)]
            left -= k
        return head + f"... ({n:,} bytes)", ok

    def string(self, what: str, tensor: str | None = None, max_len: int | None = None) -> str:
        n = self._length(what)
        if max_len is not None and n > max_len:
            self.fail("GG008", f"{what} is {n:,} bytes (llama.cpp allows {max_len})", tensor)
        if n > BIG_STRING:
            return self._big(n, what, True, tensor)[0]
        b = self.read(n, what)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail("GG013", f"{what} is not valid UTF-8 (byte {e.start} of {b[:40]!r})", tensor)

    def strings(self, count: int, keep: bool, key: str) -> tuple[list | None, int | None]:
        """``count`` strings of an array: (values when kept, index of the first invalid UTF-8 one)."""
        vals: list | None = [] if keep else None
        bad = None
        unpack_from = struct.unpack_from
        for i in range(count):
            if len(self.buf) - self.bi < 8 and not self._fill(8):
                self.need(8, f"string {i:,} of {key!r}")
                self.fail("GG003", f"string {i:,} of {key!r} runs past the end of the file (at byte {self.pos:,})")
            (n,) = unpack_from("<Q", self.buf, self.bi)
            if n > BIG_STRING or len(self.buf) - self.bi < 8 + n:
                self._length(f"string {i:,} of {key!r}")
                if n > BIG_STRING:
                    s, ok = self._big(n, f"string {i:,} of {key!r}", False)
                else:
                    b = self.read(n, f"string {i:,} of {key!r}")
                    s, ok = _decode(b)
            else:
                j = self.bi + 8
                b = self.buf[j:j + n]
                self.bi = j + n
                self.pos += 8 + n
                s, ok = _decode(b)
            if not ok and bad is None:
                bad = i
            if vals is not None:
                vals.append(s)
        return vals, bad


def _decode(b: bytes) -> tuple[str, bool]:
    try:
        return b.decode("utf-8"), True
    except UnicodeDecodeError:
        return b.decode("utf-8", "replace"), False


def _value(r: _R, vt: int, keep: bool, key: str):
    name, fmt = VTYPES[vt]
    if name == "str":
        return r.string(f"the string value of {key!r}")
    if name != "arr":
        return r.unpack(fmt, f"the value of {key!r}")
    et = r.unpack("<I", f"the array type of {key!r}")
    count = r.unpack("<Q", f"the array length of {key!r}")
    if et not in VTYPES or VTYPES[et][0] == "arr":
        r.fail("GG004", f"key {key!r} is an array of unknown or nested GGUF type {et}")
    ename, efmt = VTYPES[et]
    r.last_etype = ename
    if count > MAX_ARRAY:
        r.fail("GG003", f"key {key!r}: array of {count:,} elements (llama.cpp's limit is {MAX_ARRAY:,})")
    start = r.pos
    keep = keep or count <= SMALL_ARRAY
    if ename == "str":
        r.need(8 * count, f"the {count:,}-string array {key!r}")  # each element has an 8-byte length
        if count > MAX_STRINGS:
            r.fail("GG003", f"key {key!r}: array of {count:,} strings (ckptscope reads up to {MAX_STRINGS:,})")
        vals, bad = r.strings(count, keep, key)
        if bad is not None:
            r.problems.append(("GG014", f"{key!r}: element {bad:,} is not valid UTF-8 (shown with U+FFFD)", None))
    else:
        size = struct.calcsize(efmt)
        if keep:
            raw = r.read(size * count, f"the {count:,}-element array {key!r}")
            vals = list(struct.unpack(f"<{count}{efmt[1]}", raw))
        else:
            r.skip(size * count, f"the {count:,}-element array {key!r}")
            vals = None
    if count <= SMALL_ARRAY:
        return vals
    return ArraySummary(ename, count, r.pos - start, vals)


def read_gguf(path: str | os.PathLike, *, keep_arrays: bool = False, display: str | None = None) -> GGUFInfo:
    """Parse the metadata of the GGUF file at ``path`` (a truncated file is fine while the metadata is whole)."""
    from ..errors import CkptError

    disp = display or str(path)
    from ..limits import open_regular

    try:
        f, size = open_regular(str(path), disp)  # a FIFO or device is refused, never blocked on
        with f:
            return parse_gguf(f, disp, size, keep_arrays=keep_arrays)
    except OSError as e:
        raise CkptError(f"cannot read ({e.strerror or e})", disp) from None


def _ggml_tables():
    from ..analysis.gguf.types import TYPES_BY_ID

    return TYPES_BY_ID


def parse_gguf(f, file: str = "model.gguf", file_size: int | None = None, *, keep_arrays: bool = False) -> GGUFInfo:
    """Parse a GGUF header from a file-like object or bytes. Raises :class:`GGUFError` on what the loader refuses
    outright; offset problems and truncation are left in ``info.problems``."""
    if isinstance(f, (bytes, bytearray, memoryview)):
        file_size = len(f) if file_size is None else file_size
        f = io.BytesIO(f)
    r = _R(f, file, file_size)
    r._fill(4)
    magic = r.buf[:4]
    r.bi = r.pos = len(magic)
    if len(magic) < 4:
        r.fail("GG001", "too short to be a GGUF file" if magic[:len(magic)] == MAGIC[:len(magic)]
               else f"not a GGUF file (magic {magic!r})")
    if magic == b"vers" and r._fill(23) and r.buf[4:23] == b"ion https://git-lfs":
        r.fail("GG001", "is a git-LFS pointer, not the GGUF file (run `git lfs pull`)")
    if magic != MAGIC:
        r.fail("GG001", f"not a GGUF file (magic {magic!r}, expected b'GGUF')")
    version = r.unpack("<I", "the GGUF version")
    if version == 0 or version & 0xFFFF == 0:
        r.fail("GG002", f"bad GGUF version {version:#x}" + (" (written with the other byte order?)" if version else ""))
    if version == 1:
        r.fail("GG002", "GGUF v1 is no longer supported by llama.cpp (convert it again)")
    if version > 3:
        r.fail("GG002", f"GGUF version {version} is newer than this reader (it reads 2 and 3)")
    n_tensors = r.unpack("<q", "the tensor count")
    n_kv = r.unpack("<q", "the key/value count")
    rem = r.remain()
    if n_tensors < 0 or (rem is not None and n_tensors * 24 > rem):  # an info is >= 24 bytes (8+4+4+8)
        r.fail("GG003", f"header claims {n_tensors:,} tensors, more than the {file_size:,}-byte file can hold"
               if n_tensors >= 0 else f"negative tensor count {n_tensors}")
    if n_kv < 0 or (rem is not None and n_kv * 13 > rem):  # a key/value is >= 13 bytes (8+4+1)
        r.fail("GG003", f"header claims {n_kv:,} key/value pairs, more than the {file_size:,}-byte file can hold"
               if n_kv >= 0 else f"negative key/value count {n_kv}")
    info = GGUFInfo(file=file, file_size=file_size, version=version)
    for i in range(n_kv):
        start = r.pos
        key = r.string(f"key {i:,}")
        if not key:
            r.fail("GG007", f"key {i:,} is empty")
        if key in info.kv:
            r.fail("GG007", f"duplicate key {key!r}")
        vt = r.unpack("<I", f"the type of {key!r}")
        if vt not in VTYPES:
            r.fail("GG004", f"key {key!r} has unknown GGUF value type {vt}")
        val = _value(r, vt, keep_arrays, key)
        info.kv[key] = val
        info.kv_types[key] = f"arr[{r.last_etype}]" if vt == 9 else VTYPES[vt][0]
        info.kv_bytes[key] = r.pos - start
    if "general.alignment" in info.kv:
        align = info.kv["general.alignment"]
        if info.kv_types["general.alignment"] != "u32":
            r.fail("GG009", f"general.alignment must be u32, it is {info.kv_types['general.alignment']}")
        if align == 0 or align & (align - 1):
            r.fail("GG009", f"general.alignment {align} is not a power of two")
        info.alignment = align
    types = _ggml_tables()
    seen: set[str] = set()
    for i in range(n_tensors):
        name = r.string(f"the name of tensor {i:,}", max_len=MAX_NAME - 1)
        if name in seen:
            r.fail("GG008", f"duplicate tensor name {name!r}", name)
        seen.add(name)
        nd = r.unpack("<I", f"the dimension count of {name!r}")
        if nd > MAX_DIMS:
            r.fail("GG006", f"tensor {name!r} has {nd} dimensions (GGUF allows {MAX_DIMS})", name)
        ne = tuple(r.unpack("<q", f"the shape of {name!r}") for _ in range(nd))
        if any(d < 0 for d in ne):
            r.fail("GG006", f"tensor {name!r} has a negative dimension {list(ne)}", name)
        p4 = list(ne) + [1] * (MAX_DIMS - nd)
        if math.prod(p4) > 0 and (INT64_MAX // p4[1] <= p4[0] or INT64_MAX // p4[2] <= p4[0] * p4[1]
                                  or INT64_MAX // p4[3] <= p4[0] * p4[1] * p4[2]):
            r.fail("GG006", f"tensor {name!r}: {list(ne)} has more elements than int64 can count", name)
        tid = r.unpack("<i", f"the type of {name!r}")
        t = types.get(tid)
        if t is None:
            r.fail("GG005", f"tensor {name!r} has unknown or removed ggml type {tid}", name)
        if ne and ne[0] % t.block:
            r.fail("GG006", f"tensor {name!r} ({t.name}) has {ne[0]:,} elements per row, not a multiple of the "
                            f"block size {t.block}", name)
        if math.prod(p4) // t.block * t.bytes > (1 << 64) - 1:
            r.fail("GG006", f"tensor {name!r}: {list(ne)} of {t.name} is more bytes than size_t can count", name)
        off = r.unpack("<Q", f"the data offset of {name!r}")
        info.tensors.append(GGUFTensorRecord(name, ne, tid, off))
    info.header_bytes = r.pos
    a = info.alignment
    info.data_offset = (r.pos + a - 1) // a * a if n_tensors else r.pos
    probs = r.problems
    expect = end = 0
    for t in info.tensors:
        nb = t.nbytes or 0
        if t.offset != expect:
            if t.offset % a:
                probs.append(("GG010", f"tensor {t.name!r}: data offset {t.offset:,} is not a multiple of the "
                                       f"{a}-byte alignment", t.name))
            elif t.offset < expect:
                probs.append(("GG011", f"tensor {t.name!r}: data at offset {t.offset:,} overlaps the previous "
                                       f"tensor, which ends at {expect:,}", t.name))
            else:
                probs.append(("GG011", f"tensor {t.name!r}: data at offset {t.offset:,} leaves a "
                                       f"{t.offset - expect:,}-byte gap after the previous tensor (llama.cpp "
                                       f"expects {expect:,})", t.name))
        expect = t.offset + (nb + a - 1) // a * a
        end = max(end, t.offset + nb)
    info.data_end = end
    if info.truncated:
        need = info.data_offset + end
        probs.append(("GG012", f"the tensor data ends at byte {need:,} but the file has {file_size:,} bytes "
                               "(truncated, or a header extract)", None))
    info.problems = probs
    return info


def first_problem(info: GGUFInfo, *, inspect: bool = True) -> GGUFError | None:
    """The problem ``inspect`` refuses the file for (None when it reads fine)."""
    for code, msg, tensor in info.problems:
        if inspect and code in NOT_FATAL_IN_INSPECT:
            continue
        return GGUFError(code, msg, info.file, tensor)
    return None
