"""Scan a file (or bytes) for what loading it would import, whatever container it is in.

``scan_path(path)`` / ``scan_bytes(data)`` return a :class:`ScanResult`: every import with where it was found,
the critical constructs the walker saw, and every place the scan could not verify (which the check reports as
an error: a file that cannot be read to its end never passes). The file is mapped, not read: payloads (tensor
data, array bytes) are skipped by offset. A budget bounds the opcodes walked, the bytes decompressed, the
members visited and the nesting depth for the whole file, nested archives included.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
import zlib
from dataclasses import dataclass, field

from . import containers as C
from .opcodes import BYTES, Call, Global, PDict, Unverifiable, Walked, walk
from .policy import judge

TORCH_MAGIC = 0x1950A86A20F9469CFC6C  #: first pickle of torch's legacy (non-zip) format
OPCODE_BYTES = frozenset(b"().0123BCFGIJKLMNPQRSTUVXabcdeghijlopqrstu}]" + bytes(range(0x80, 0x99)))
PICKLE_NAMES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".dill", ".sav", ".npy", ".npz",
                ".tar", ".model", ".data", ".mar", ".pth.tar")
#: storage element sizes for torch's legacy tar format (torch.<Name>Storage)
_ELEM = {"Double": 8, "Float": 4, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2, "Char": 1, "Byte": 1,
         "Bool": 1, "ComplexFloat": 8, "ComplexDouble": 16}


@dataclass
class Budget:
    max_ops: int = 8_000_000
    max_bytes: int = 512 << 20  #: decompressed bytes, all members and nesting levels together
    max_members: int = 10_000
    max_depth: int = 8
    ops: list = field(default_factory=lambda: [0])
    spent: int = 0
    members: int = 0

    def __post_init__(self):
        self.ops = [self.max_ops]

    def bytes_left(self) -> int:
        return max(0, self.max_bytes - self.spent)

    def spend_bytes(self, n: int) -> None:
        self.spent += n


@dataclass
class Problem:
    level: str  #: "critical" (a construct that runs code) or "unverifiable" (the scan could not finish)
    where: str  #: the file, or file!member for archives
    offset: int
    message: str


@dataclass
class Verdict:
    name: str
    verdict: str  #: allowed, cli-allowed, critical, error
    why: str
    where: str
    via: str


@dataclass
class ScanResult:
    file: str
    kind: str | None = None  #: the container (pickle, torch-zip, torch-legacy, zip, tar, gzip, npy...) or None
    imports: dict = field(default_factory=dict)  #: name -> (where, via, offset), first occurrence
    problems: list[Problem] = field(default_factory=list)
    pickles: int = 0
    members: list[str] = field(default_factory=list)  #: where each walked pickle was
    size: int = 0
    seconds: float = 0.0

    @property
    def pickle_based(self) -> bool:
        return self.kind is not None

    @property
    def verified(self) -> bool:
        return not any(p.level == "unverifiable" for p in self.problems)

    def verdicts(self, extra_allowed=frozenset()) -> list[Verdict]:
        return [Verdict(n, *judge(n, extra_allowed), w, via) for n, (w, via, _) in self.imports.items()]

    def failed(self, extra_allowed=frozenset()) -> bool:
        """Whether the file fails the gate."""
        return bool(self.problems) or any(v.verdict in ("critical", "error") for v in self.verdicts(extra_allowed))


class _Scan:
    def __init__(self, res: ScanResult, budget: Budget, hint: bool):
        self.res, self.budget, self.hint = res, budget, hint

    # --- bookkeeping ---
    def problem(self, level, where, offset, message):
        self.res.problems.append(Problem(level, where, offset, message))

    def record(self, out: Walked, where: str):
        for imp in out.imports:
            self.res.imports.setdefault(imp.name, (where, imp.via, imp.offset))
        for off, msg in out.flags:
            self.problem("critical", where, off, msg)

    # --- dispatch ---
    def scan(self, buf, start: int, end: int, where: str, depth: int, hint: bool) -> str | None:
        kind = C.sniff(bytes(buf[start:min(end, start + C.SNIFF_BYTES)]))
        if kind is None and depth == 0 and end - start >= 22 and \
                buf.rfind(b"PK\x05\x06", max(start, end - 65557), end) >= 0:
            kind = "zip"  # a zip behind other bytes: zip readers find it from the end (its offsets must agree)
        if kind is None:
            return None
        if depth > self.budget.max_depth:
            self.problem("unverifiable", where, start, f"nested more than {self.budget.max_depth} levels deep")
            return kind
        try:
            if kind in ("pickle", "pickle0"):
                return self.pickles(buf, start, end, where, strict=(kind == "pickle" or hint))
            if kind == "zip":
                return self.zip(buf, start, end, where, depth)
            if kind == "tar":
                return self.tar(buf, start, end, where, depth)
            if kind == "npy":
                return self.npy(buf, start, end, where)
            return self.compressed(kind, buf, start, end, where, depth)
        except Unverifiable as e:
            self.problem("unverifiable", where, e.offset, str(e))
            return kind

    # --- pickles ---
    def pickles(self, buf, pos: int, end: int, where: str, strict: bool) -> str | None:
        """Walk every pickle from ``pos``: concatenated ones too (torch's legacy format is five)."""
        n, kind = 0, "pickle"
        while True:
            out = Walked()
            try:
                walk(buf, pos, end, self.budget.ops, out, on_build=self.joblib_array(buf, where))
            except Unverifiable as e:
                if n == 0 and not strict and not (out.imports and out.calls):
                    return None  # not a pickle: it did not import and call anything before it broke
                self.record(out, where)
                self.problem("unverifiable", where, e.offset, f"pickle cannot be read to its end: {e}")
                return kind
            n += 1
            self.res.pickles += 1
            self.res.members.append(where)
            self.record(out, where)
            pos = out.end
            if n == 1 and out.value == TORCH_MAGIC:
                kind = "torch-legacy"
            if kind == "torch-legacy" and n == 5:
                return kind  # magic, protocol, sys info, the object, storage keys; raw storage data follows
            if pos >= end:
                return kind
            if buf[pos] not in OPCODE_BYTES:
                rest = bytes(buf[pos:min(end, pos + 4096)])
                if rest.strip(b"\0 \t\r\n") == b"" and end - pos <= 4096:
                    return kind
                self.problem("unverifiable", where, pos, f"{end - pos:,} bytes after the pickle's STOP are not a "
                                                         "pickle (unexplained trailing data)")
                return kind

    def joblib_array(self, buf, where):
        """joblib writes each array's bytes right after its NumpyArrayWrapper's BUILD: step over them (object
        arrays are a nested pickle there, walked)."""
        def hook(inst: Call, state, pos: int, end: int, budget, out: Walked) -> int:
            f = inst.func
            if type(f) is not Global or not f.name.endswith("numpy_pickle.NumpyArrayWrapper"):
                return pos
            d = state.items if type(state) is PDict else {}
            dtype, shape = d.get("dtype"), d.get("shape")
            code = None
            if type(dtype) is Call and type(dtype.args) is tuple and dtype.args and isinstance(dtype.args[0], str):
                code = dtype.args[0]
            if code is None or type(shape) is not tuple or not all(type(x) is int and x >= 0 for x in shape):
                raise Unverifiable("joblib array whose dtype or shape the scanner cannot read", pos)
            if "O" in code:
                inner = Walked()
                try:
                    walk(buf, pos, end, budget, inner)
                finally:
                    self.record(inner, where)
                self.res.pickles += 1
                return inner.end
            size = _itemsize(code, dtype)
            count = 1
            for x in shape:
                count *= x
            if d.get("numpy_array_alignment_bytes") is not None:
                if pos >= end:
                    raise Unverifiable("truncated joblib array padding", pos)
                pos += 1 + buf[pos]
            pos += count * size
            if pos > end:
                raise Unverifiable("a joblib array runs past the end of the file", pos)
            return pos
        return hook

    # --- containers ---
    def zip(self, buf, start: int, end: int, where: str, depth: int) -> str:
        sub = buf if start == 0 and end == len(buf) else bytes(buf[start:end])
        size = len(sub)
        lazy = getattr(sub, "lazy", False)
        members = C.zip_members(sub, size, check_all=not lazy)
        names = [m.name for m in members]
        pkl = [n for n in names if n.endswith("data.pkl")]
        prefix = pkl[0][:-len("data.pkl")] if pkl else None
        kind = "torch-zip" if prefix is not None and any(n.startswith(prefix + "data/") or n == prefix + "version"
                                                          or n.endswith("/version") for n in names) else "zip"
        if kind == "torch-zip" and any("/code/" in n or n.startswith("code/") for n in names):
            self.problem("unverifiable", where, 0, "TorchScript archive: its code/ (TorchScript source) runs when "
                                                   "torch.jit.load or torch.load loads it; it cannot be verified")
        for m in members:
            inner = f"{where}!{m.name}"
            if m.name.endswith("/"):
                continue
            if kind == "torch-zip" and "/data/" in m.name and not m.name.endswith(".pkl"):
                continue  # tensor storage bytes: torch never unpickles them
            self.budget.members += 1
            if self.budget.members > self.budget.max_members:
                raise Unverifiable(f"more than {self.budget.max_members:,} archive members to look into",
                                   m.offset)
            hint = m.name.endswith((".pkl", ".pickle")) or os.path.basename(m.name) in ("data", "pickle")
            try:
                if m.data_start is None:
                    C.check_local(sub, m, size)
                if m.method == 0:
                    if m.csize != m.usize:
                        raise Unverifiable(f"zip member {m.name!r}: stored sizes differ", m.offset)
                    head = bytes(sub[m.data_start:m.data_start + C.SNIFF_BYTES])
                    if C.sniff(head) is None and not hint:
                        continue
                    if head[:6] == C.NPY_MAGIC and not lazy:  # an .npz array: only its header matters
                        self.scan(sub, m.data_start, m.data_start + m.csize, inner, depth + 1, hint)
                        continue
                    if m.csize > self.budget.bytes_left():
                        raise Unverifiable(f"zip member {m.name!r} ({m.csize:,} bytes) is over the scan budget",
                                           m.offset)
                    self.budget.spend_bytes(m.csize)
                elif m.method == 8:  # a compressed .npz array: its header says whether a pickle follows
                    head = zlib.decompressobj(-15).decompress(bytes(sub[m.data_start:m.data_start + min(
                        m.csize, 1 << 16)]), 1 << 16)
                    if head[:6] == C.NPY_MAGIC:
                        try:
                            hdr, _ = C.npy_header(head, 0, len(head))
                        except Unverifiable:
                            hdr = None
                        if hdr is not None and not C.npy_has_object(hdr["descr"]):
                            continue
                data = C.member_bytes(sub, m, self.budget)  # CRC-checked
                self.scan(data, 0, len(data), inner, depth + 1, hint)
            except Unverifiable as e:
                self.problem("unverifiable", inner, e.offset, str(e))
        return kind

    def tar(self, buf, start: int, end: int, where: str, depth: int) -> str:
        pos, kind = start, "tar"
        names = []
        while pos + 512 <= end:
            hdr = bytes(buf[pos:pos + 512])
            if hdr == b"\0" * 512:
                break
            if not C.is_tar(hdr + b"\0" * 0):
                raise Unverifiable("corrupt tar header", pos)
            name = hdr[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
            try:
                size = int(hdr[124:136].replace(b"\0", b" ").strip() or b"0", 8)
            except ValueError:
                raise Unverifiable(f"tar member {name!r}: bad size field", pos) from None
            typ = hdr[156:157]
            data = pos + 512
            if data + size > end:
                raise Unverifiable(f"tar member {name!r} runs past the end", pos)
            self.budget.members += 1
            if self.budget.members > self.budget.max_members:
                raise Unverifiable(f"more than {self.budget.max_members:,} archive members", pos)
            if typ in (b"0", b"\0", b"7"):
                names.append(name)
                inner = f"{where}!{name}"
                base = os.path.basename(name)
                if base in ("storages", "tensors"):
                    kind = "torch-tar"
                    try:
                        self.torch_tar_member(buf, data, data + size, inner, base)
                    except Unverifiable as e:
                        self.problem("unverifiable", inner, e.offset, str(e))
                else:
                    if base in ("pickle", "sys_info"):
                        kind = "torch-tar"
                    self.scan(buf, data, data + size, inner, depth + 1, base in ("pickle", "sys_info"))
            pos = data + (size + 511) // 512 * 512
        return kind

    def torch_tar_member(self, buf, pos: int, end: int, where: str, which: str) -> None:
        """torch < 0.4's tar ``storages``/``tensors`` members: a count pickle, then per entry a pickle and raw
        bytes whose sizes the pickle and a small binary header give."""
        def one():
            nonlocal pos
            out = Walked()
            try:
                walk(buf, pos, end, self.budget.ops, out)
            finally:
                self.record(out, where)
            self.res.pickles += 1
            pos = out.end
            return out.value

        count = one()
        if type(count) is not int or count < 0:
            raise Unverifiable(f"legacy tar {which}: the count is not a number", pos)
        for _ in range(count):
            v = one()
            if which == "storages":
                if type(v) is not tuple or len(v) != 3 or type(v[2]) is not Global:
                    raise Unverifiable("legacy tar storage entry the scanner cannot read", pos)
                t = v[2].name.rsplit(".", 1)[-1].replace("Storage", "")
                if t not in _ELEM or pos + 8 > end:
                    raise Unverifiable(f"legacy tar storage of unknown type {v[2].name}", pos)
                n = struct.unpack("<q", bytes(buf[pos:pos + 8]))[0]
                pos += 8 + max(n, 0) * _ELEM[t]
            else:
                if pos + 8 > end:
                    raise Unverifiable("truncated legacy tar tensor entry", pos)
                ndim = struct.unpack("<i", bytes(buf[pos:pos + 4]))[0]
                if ndim < 0 or ndim > 64:
                    raise Unverifiable("legacy tar tensor entry with a bad rank", pos)
                pos += 8 + 16 * ndim + 8
            if pos > end:
                raise Unverifiable(f"legacy tar {which} entry runs past the end", pos)

    def npy(self, buf, start: int, end: int, where: str) -> str:
        hdr, data = C.npy_header(buf, start, end)
        if C.npy_has_object(hdr["descr"]):
            self.pickles(buf, data, end, where + " (object array)", strict=True)
        return "npy"

    def compressed(self, kind: str, buf, start: int, end: int, where: str, depth: int) -> str | None:
        raw = bytes(buf[start:end])
        if kind == "zfile":
            raw, kind = C.zfile_payload(raw), "zlib"
        if kind == "lz4":
            raise Unverifiable("lz4-compressed file: the scanner cannot decompress it", start)
        # look at the start first: only a stream that holds something pickle-based is decompressed in full
        head = C.decompress_head(kind, raw, C.SNIFF_BYTES)
        if head is None or C.sniff(head) is None:
            return None
        data = C.decompress(kind, raw, self.budget, where)
        got = self.scan(data, 0, len(data), f"{where} ({kind})", depth + 1, True)
        return kind if got else None



def _itemsize(code: str, dtype: Call) -> int:
    import re

    m = re.fullmatch(r"[<>|=]?([a-zA-Z?])(\d*)(\[.*\])?", code)
    if not m:
        raise Unverifiable(f"joblib array of dtype {code!r}", 0)
    letter, digits = m.group(1), m.group(2)
    if letter in "b?B" and not digits:
        return 1
    if letter in "Mm":
        return 8
    if letter == "V" and type(dtype.state) is tuple and len(dtype.state) > 5 and type(dtype.state[5]) is int \
            and dtype.state[5] > 0:
        return dtype.state[5]
    if not digits:
        raise Unverifiable(f"joblib array of dtype {code!r}", 0)
    return int(digits) * (4 if letter == "U" else 1)


def _run(buf, size: int, display: str, budget: Budget | None, hint: bool) -> ScanResult:
    t0 = time.perf_counter()
    res = ScanResult(display, size=size)
    s = _Scan(res, budget or Budget(), hint)
    try:
        res.kind = s.scan(buf, 0, size, display, 0, hint)
    except Unverifiable as e:  # reading the file itself failed (a remote download bound, a short read)
        res.kind = res.kind or "unread"
        s.problem("unverifiable", display, e.offset, str(e))
    res.seconds = time.perf_counter() - t0
    return res


def scan_bytes(data: bytes, display: str = "<bytes>", budget: Budget | None = None) -> ScanResult:
    hint = display.lower().endswith(PICKLE_NAMES)
    return _run(data, len(data), display, budget, hint)


def scan_path(path: str, display: str | None = None, budget: Budget | None = None) -> ScanResult:
    """Scan a local file by its content (the name only makes protocol-0 detection stricter, never skips)."""
    display = display or path
    hint = display.lower().endswith(PICKLE_NAMES)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return ScanResult(display, size=0)
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return _run(mm, size, display, budget, hint)


def sniff_pickle_container(src) -> str | None:
    """The pickle-based container a file (path) or bytes is, by content: ``pickle``, ``torch-legacy``,
    ``torch-zip``, ``torch-tar``, ``zip``, ``tar``, ``npy``, ``gzip``/``bz2``/``xz``/``lzma``/``zlib``, or None
    when loading it cannot unpickle anything. Cheap for non-pickle files (a few bytes read)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        head = bytes(src[:C.SNIFF_BYTES])
        if C.sniff(head) is None:
            return None
        return scan_bytes(bytes(src)).kind
    with open(src, "rb") as f:
        head = f.read(C.SNIFF_BYTES)
    if C.sniff(head) is None:
        return None
    return scan_path(src).kind


_ = BYTES
