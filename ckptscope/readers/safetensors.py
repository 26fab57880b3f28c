"""safetensors headers: the 8-byte little-endian length, then a JSON object. Nothing else is read.

``parse_header`` validates everything the format promises (see ``PROBLEMS``) and either raises the first problem
as a :class:`HeaderError` (``strict=True``, what ``inspect`` does) or returns all of them (what ``check`` does).
Memory is bounded by the header length, which is capped at ``MAX_HEADER_BYTES`` before anything is allocated.
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import dataclass, field
from itertools import chain

from ..dtypes import DTYPE_BITS
from ..errors import HeaderError

MAX_HEADER_BYTES = 100_000_000  # the reference implementation's own limit (100 MB)
LFS_MAGIC = b"version https://git-lfs"

# Problem ids, shared with `ckptscope check` (which reports them as rules).
PROBLEMS = {
    "ST001": "file too short for the 8-byte header length",
    "ST002": "header length out of bounds",
    "ST003": "header is not a valid JSON object",
    "ST004": "tensor entry malformed (dtype, shape or data_offsets)",
    "ST005": "unknown dtype",
    "ST006": "bad shape (negative, non-integer or overflowing dimension)",
    "ST007": "byte span does not equal dtype size x element count",
    "ST008": "data offsets out of bounds",
    "ST009": "tensors overlap or leave gaps in the data region",
    "ST010": "data region does not match the file size",
    "ST011": "file is a git-LFS pointer, not tensor data",
    "ST012": "file is empty",
    "ST013": "duplicate tensor name in one header",
}


@dataclass(slots=True)  # not frozen: a frozen __init__ costs 4x, and ~100k are built per checkpoint
class TensorInfo:
    """One tensor as a safetensors header describes it (no data is ever read)."""

    name: str
    dtype: str  #: safetensors dtype name, e.g. ``"BF16"``, ``"F8_E4M3"``
    shape: tuple[int, ...]
    file: str  #: file (relative to the checkpoint root) that holds it
    start: int = 0  #: offset of the first byte, relative to the data region
    end: int = 0  #: offset one past the last byte

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.end - self.start


@dataclass(slots=True)
class Problem:
    """A defect found while reading. ``code`` is one of ``PROBLEMS`` (or an index/shard code)."""

    code: str
    file: str
    message: str
    tensor: str | None = None

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass(slots=True)
class HeaderInfo:
    file: str
    file_size: int | None
    header_len: int
    metadata: dict[str, str] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def data_size(self) -> int | None:
        return None if self.file_size is None else self.file_size - 8 - self.header_len


def header_length(prefix: bytes, file: str, file_size: int | None) -> int:
    """Validate and return the header length from the first bytes of a file (raises HeaderError)."""
    if file_size == 0 or (file_size is None and len(prefix) == 0):
        raise HeaderError("file is empty (0 bytes), not a safetensors file", file)
    if prefix.startswith(LFS_MAGIC[: len(prefix)]) and prefix[:7] == LFS_MAGIC[:7]:
        raise HeaderError("is a git-LFS pointer, not tensor data (run `git lfs pull`)", file)
    if len(prefix) < 8:
        raise HeaderError(f"file is {len(prefix)} bytes, too short for the 8-byte header length", file)
    n = int.from_bytes(prefix[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise HeaderError(f"header length {n:,} bytes exceeds the {MAX_HEADER_BYTES:,}-byte limit", file)
    if n < 2:
        raise HeaderError(f"header length {n} is too small for a JSON object", file)
    if file_size is not None and 8 + n > file_size:
        raise HeaderError(f"header length {n:,} bytes runs past the end of the {file_size:,}-byte file", file)
    return n


_MAX_ELEMENTS = 1 << 63


def _short(v) -> str:
    """A value quoted in a one-line message, cut to a readable length."""
    t = str(v)
    return t if len(t) <= 80 else t[:77] + "..."


def _no_dup_object(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise _DupKey(k)
            seen.add(k)
    return d


class _DupKey(ValueError):
    pass


def parse_header(data: bytes, file: str, file_size: int | None = None, strict: bool = True) -> HeaderInfo:
    """Parse ``data`` (at least the first 8 + header_len bytes of a file) into a :class:`HeaderInfo`.

    With ``strict`` the first problem raises :class:`HeaderError`; otherwise problems are collected in
    ``HeaderInfo.problems`` and every well-formed entry is still returned.
    """
    n = header_length(data[:8], file, file_size)
    raw = data[8 : 8 + n]
    if len(raw) < n:
        raise HeaderError(f"header claims {n:,} bytes but only {len(raw):,} could be read (truncated file)", file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise HeaderError(f"header is not valid UTF-8 (byte {e.start})", file) from None
    if not text.startswith("{"):
        raise HeaderError("header does not start with '{' (not a safetensors file?)", file)
    try:
        obj = json.loads(text)
        # A key given twice silently keeps the last value; each entry has one "data_offsets", so a count that
        # disagrees with the number of entries means a duplicate: parse again, slowly, to name it.
        if isinstance(obj, dict) and text.count('"data_offsets"') > len(obj):
            json.loads(text, object_pairs_hook=_no_dup_object)
    except _DupKey as e:
        raise HeaderError(f"duplicate key {str(e.args[0])!r} in header", file) from None
    except (ValueError, RecursionError) as e:
        msg = str(e).split(":")[0] if isinstance(e, ValueError) else "nested too deeply"
        raise HeaderError(f"header is not valid JSON ({msg})", file) from None
    if not isinstance(obj, dict):
        raise HeaderError("header JSON is not an object", file)
    return validate_header(obj, file, file_size, n, strict=strict, text=text)


_by_span = operator.attrgetter("start", "end")


def _span(name: str, dtype, shape: list, bad) -> int | None:
    """Bytes a tensor of ``dtype`` and ``shape`` needs, or None after reporting why it cannot exist."""
    if dtype not in DTYPE_BITS:
        bad("ST005", f"tensor {name!r}: unknown dtype {dtype!r}", name)
        return None
    numel = 1
    for d in shape:  # checked one by one, stopping early: no big-integer blow-up on hostile shapes
        if type(d) is not int or d < 0:
            bad("ST006", f"tensor {name!r}: shape {_short(shape)} has a negative or non-integer dimension", name)
            return None
        numel *= d
        if numel >= _MAX_ELEMENTS:
            bad("ST006", f"tensor {name!r}: shape {_short(shape)} overflows (more than 2^63 elements)", name)
            return None
    bits = numel * DTYPE_BITS[dtype]
    if bits % 8:
        bad("ST007", f"tensor {name!r}: {numel} x {DTYPE_BITS[dtype]}-bit {dtype} is not a whole number of bytes", name)
        return None
    return bits // 8


class _Unsound(Exception):
    pass


def _unsound(*_):
    raise _Unsound


_START = operator.attrgetter("start")
_END = operator.attrgetter("end")
_SHAPE = operator.attrgetter("shape")


def _fast_entries(obj: dict, file: str) -> list[TensorInfo] | None:
    """The TensorInfo of every entry when each (dtype, shape) seen before needs only a look-up: None as soon as an
    entry has any problem, or when a shape or offset holds a number that is not a plain non-negative int (a float
    or a bool equals an int, so it would pass as a shape already checked). The caller then checks every entry."""
    sizes: dict[tuple, int] = {}
    out: list[TensorInfo] = []
    app = out.append
    get = sizes.get
    TI = TensorInfo
    try:
        for name, ent in obj.items():
            dtype = ent["dtype"]
            shape = tuple(ent["shape"])
            s0, s1 = ent["data_offsets"]
            if get((dtype, shape)) != s1 - s0 or type(dtype) is not str:
                if type(ent) is not dict or type(dtype) is not str or type(ent["shape"]) is not list \
                        or type(ent["data_offsets"]) is not list:
                    return None
                size = _span(name, dtype, ent["shape"], _unsound)
                if size != s1 - s0 or type(s0) is not int or type(s1) is not int or s0 < 0:
                    return None
                sizes[(dtype, shape)] = size
            app(TI(name, dtype, shape, file, s0, s1))
    except (TypeError, KeyError, ValueError, _Unsound):
        return None
    starts = list(map(_START, out))
    ends = list(map(_END, out))
    if out and (set(map(type, starts)) != {int} or set(map(type, ends)) != {int} or min(starts) < 0
                or not set(map(type, chain.from_iterable(map(_SHAPE, out)))) <= {int}):
        return None
    return out


def validate_header(obj: dict, file: str, file_size: int | None, header_len: int,
                    strict: bool = True, text: str | None = None) -> HeaderInfo:
    """Every check of :func:`parse_header` on a header already decoded from JSON (a file, a snapshot, the Hub's
    sharded-metadata endpoint). ``header_len`` is the header's length in the file. ``obj`` is consumed.

    ``text``: the JSON text ``obj`` was decoded from. Given (and holding no escaped key), a first pass checks each
    distinct (dtype, shape) once and the other entries by look-up, then the types of every shape and offset in C
    (:func:`_fast_entries`); at the first entry with any problem it gives up and every entry gets every check."""
    n = header_len
    info = HeaderInfo(file=file, file_size=file_size, header_len=n)

    def bad(code: str, msg: str, tensor: str | None = None) -> None:
        p = Problem(code, file, msg, tensor)
        if strict:
            raise HeaderError(msg, file)
        info.problems.append(p)

    meta = obj.pop("__metadata__", None)
    if meta is not None:
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            bad("ST004", "__metadata__ must map strings to strings")
        else:
            info.metadata = meta

    tensors: list[TensorInfo] = []
    app = tensors.append
    sizes: dict[tuple, int] = {}  #: (dtype, shape) -> bytes, for shapes already checked in this header

    def entry(name, ent) -> None:
        """Every check of one entry; appends its TensorInfo when it passes."""
        if type(ent) is not dict:
            bad("ST004", f"tensor {name!r}: entry is not an object", name)
            return
        dtype = ent.get("dtype")
        shape = ent.get("shape")
        offs = ent.get("data_offsets")
        if not isinstance(dtype, str) or not isinstance(shape, list) or not isinstance(offs, list):
            bad("ST004", f"tensor {name!r}: needs string 'dtype', list 'shape' and list 'data_offsets'", name)
            return
        size = _span(name, dtype, shape, bad)
        if size is None:
            return
        if len(offs) != 2 or type(offs[0]) is not int or type(offs[1]) is not int or offs[0] < 0 or offs[1] < offs[0]:
            bad("ST004", f"tensor {name!r}: data_offsets {_short(offs)} must be two integers 0 <= begin <= end", name)
            return
        span = offs[1] - offs[0]
        if span != size:
            bad("ST007", f"tensor {name!r}: {dtype} {_short(shape)} needs {size:,} bytes but data_offsets span {span:,}", name)
            return
        sizes[(dtype, tuple(shape))] = size
        app(TensorInfo(name, dtype, tuple(shape), file, offs[0], offs[1]))

    fast = _fast_entries(obj, file) if text is not None and "\\u" not in text else None
    if fast is not None:  # every entry sound, every shape and offset a plain int: what every check would give
        tensors[:] = fast
    else:  # an escaped key, an entry with a problem, or a number that is not a plain int: check every entry
        for name, ent in obj.items():
            entry(name, ent)

    # Contiguity: sorted by start, the spans must tile [0, data_size) exactly.
    data_size = None if file_size is None else file_size - 8 - n
    end_at = dict(zip([t.start for t in tensors], [t.end for t in tensors]))  #: start -> end
    starts = sorted(end_at) if len(end_at) == len(tensors) else None  # distinct starts: ints sort in C
    if starts and starts[0] == 0 and list(map(end_at.__getitem__, starts[:-1])) == starts[1:] and (
            data_size is None or end_at[starts[-1]] <= data_size):
        pos = end_at[starts[-1]]  # each span ends where the next begins, the last one inside the data region
    else:
        order = sorted(tensors, key=_by_span)
        pos = 0
        for t in order:
            if t.start != pos:
                if t.start < pos:
                    bad("ST009", f"tensor {t.name!r}: data_offsets [{t.start}, {t.end}] overlap the previous tensor (ends at {pos})", t.name)
                else:
                    bad("ST009", f"tensor {t.name!r}: gap of {t.start - pos:,} bytes before data_offsets [{t.start}, {t.end}]", t.name)
            pos = max(pos, t.end)
            if data_size is not None and t.end > data_size:
                bad("ST008", f"tensor {t.name!r}: data_offsets end {t.end:,} past the {data_size:,}-byte data region (file truncated?)", t.name)
    if data_size is not None and pos < data_size and not info.problems:
        bad("ST010", f"data region is {data_size:,} bytes but tensors cover only {pos:,}")
    info.tensors = tensors
    return info


def read_header_file(path: str, display: str | None = None, strict: bool = True) -> HeaderInfo:
    """Read and parse the header of a local .safetensors file: two reads, never the tensor data."""
    name = display or path
    try:
        data, size = read_header_bytes(path, name)
    except OSError as e:
        raise HeaderError(f"cannot read ({e.strerror or e})", name) from None
    return parse_header(data, name, size, strict=strict)


def read_header_bytes(path: str, name: str) -> tuple[bytes, int]:
    """The first 8 + header_len bytes of a local file and its size. The length is validated (against the file
    size and the 100 MB cap) before the header is read; OSError passes through to the caller."""
    from ..limits import open_regular

    f, size = open_regular(path, name)  # FIFOs, devices and sockets are refused without blocking
    with f:
        prefix = f.read(8)
        n = header_length(prefix, name, size)
        return prefix + f.read(n), size
