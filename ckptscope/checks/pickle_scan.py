"""A static pickle scanner: walks the opcodes of a pickle (or of each pickle in a torch .bin/.pt file, zip or
legacy format) and lists the globals it would import. Nothing is ever unpickled or executed.

The walk simulates just enough of the pickle machine (a stack of placeholders, string values and the memo) to
resolve ``STACK_GLOBAL`` operands. Payloads (tensor bytes, long strings) are skipped, not read into memory;
opcodes, line lengths and bytes are capped, so a hostile file costs bounded time and memory.
"""

from __future__ import annotations

import io
import pickletools
import re
import zipfile
from dataclasses import dataclass, field

MAX_OPS = 20_000_000  #: opcodes walked per file before giving up
MAX_LINE = 4096  #: longest newline-terminated argument (GLOBAL module/name, STRING...)
IN_MEMORY_MAX = 256 << 20  #: zip members above this are not scanned (a torch data.pkl is a few MiB)
KEEP_STR = 1024  #: strings longer than this are skipped, not kept (no import name is that long)
TORCH_MAGIC = 0x1950A86A20F9469CFC6C  #: first pickle of torch's legacy (non-zip) format
ZIP_MAGIC = b"PK\x03\x04"

_OPS = {op.code.encode("latin-1"): op for op in pickletools.opcodes}
_MARK = object()
_UNKNOWN = object()

# --- what may be imported ---------------------------------------------------------------------------------

#: torch's own weights_only allow-list (torch._weights_only_unpickler) plus numpy's array reconstruction
SAFE_EXACT = {
    "collections.OrderedDict", "collections.Counter", "_codecs.encode",
    "builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.complex", "builtins.slice",
    "builtins.range", "builtins.dict", "builtins.list", "builtins.tuple", "builtins.int", "builtins.float",
    "builtins.bool", "builtins.str", "builtins.bytes",
    "__builtin__.set", "__builtin__.frozenset", "__builtin__.bytearray", "__builtin__.complex",
    "torch.Size", "torch.Tensor", "torch.device", "torch.nn.parameter.Parameter",
    "torch.serialization._get_layout", "torch.storage.TypedStorage", "torch.storage.UntypedStorage",
    "torch._tensor._rebuild_from_type_v2",
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
}
SAFE_PATTERNS = [
    re.compile(r"torch\._utils\._rebuild_[a-z0-9_]+"),
    re.compile(r"torch\.(cuda\.|sparse\.|cuda\.sparse\.)?[A-Z][A-Za-z0-9]*(Storage|Tensor)"),
    re.compile(r"torch\.(u?int[0-9]+|float[0-9a-z_]*|bfloat16|complex[0-9]+|bool|bits[0-9x]+|q(u?int[0-9x]+)"
               r"|per_(tensor|channel)_[a-z_]+|half|double|long|short|cfloat|cdouble|strided|sparse_coo)"),
    re.compile(r"numpy\.dtypes\.[A-Za-z0-9]+DType"),
]
#: importing anything from these modules can run code, reach the network or the file system
DANGEROUS_MODULES = {
    "os", "posix", "nt", "subprocess", "sys", "runpy", "socket", "shutil", "pty", "webbrowser", "importlib",
    "pickle", "_pickle", "cPickle", "dill", "marshal", "code", "codeop", "ctypes", "multiprocessing", "asyncio",
    "threading", "signal", "requests", "urllib", "urllib2", "httplib", "http", "ftplib", "smtplib", "telnetlib",
    "platform", "pdb", "bdb", "commands", "popen2", "types", "tempfile", "pip", "setuptools", "distutils",
}
DANGEROUS_EXACT = {
    f"{m}.{n}" for m in ("builtins", "__builtin__", "__builtins__")
    for n in ("eval", "exec", "execfile", "compile", "open", "file", "getattr", "setattr", "delattr", "__import__",
              "globals", "locals", "vars", "input", "raw_input", "breakpoint", "apply", "reload", "help", "exit",
              "quit")
} | {"operator.attrgetter", "operator.methodcaller", "numpy.testing._private.utils.runstring", "torch.load",
     "torch.hub.load", "torch.serialization.load", "_operator.attrgetter", "_operator.methodcaller"}


def classify_global(name: str) -> str:
    """``"safe"``, ``"dangerous"`` or ``"unknown"`` for an import written ``module.name``."""
    if name in SAFE_EXACT or any(p.fullmatch(name) for p in SAFE_PATTERNS):
        return "safe"
    module = name.split(".", 1)[0]
    if name in DANGEROUS_EXACT or module in DANGEROUS_MODULES or name.startswith("<"):
        return "dangerous"
    return "unknown"


# --- the walk ---------------------------------------------------------------------------------------------

class PickleScanError(ValueError):
    pass


@dataclass
class PickleScan:
    file: str
    kind: str  #: "zip" (torch >= 1.6), "legacy" (torch < 1.6), "pickle", or "not-pickle"
    globals: list[str] = field(default_factory=list)  #: every import, "module.name", in first-seen order
    error: str | None = None  #: why the scan stopped early (the globals found so far are still listed)
    pickles: int = 0  #: pickles walked

    def by_class(self, cls: str) -> list[str]:
        return [g for g in self.globals if classify_global(g) == cls]


class _Stream:
    """A bounded reader: counts bytes, skips payloads without reading them into memory."""

    def __init__(self, f, size: int | None):
        self.f = f
        self.size = size
        self.pos = 0

    def read(self, n: int) -> bytes:
        if self.size is not None and self.pos + n > self.size:
            raise PickleScanError(f"truncated: needs {n:,} bytes at byte {self.pos:,}, file has {self.size:,}")
        data = self.f.read(n)
        if len(data) < n:
            raise PickleScanError(f"truncated at byte {self.pos + len(data):,}")
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if self.size is not None and self.pos + n > self.size:
            raise PickleScanError(f"truncated: a {n:,}-byte value at byte {self.pos:,} runs past the end")
        left = n
        try:
            self.f.seek(n, io.SEEK_CUR)
            left = 0
        except (OSError, io.UnsupportedOperation, AttributeError):
            pass
        while left:
            chunk = self.f.read(min(left, 1 << 20))
            if not chunk:
                raise PickleScanError(f"truncated at byte {self.pos + n - left:,}")
            left -= len(chunk)
        self.pos += n

    def line(self) -> bytes:
        buf = self.f.readline(MAX_LINE + 1)
        if not buf.endswith(b"\n"):
            if len(buf) > MAX_LINE:
                raise PickleScanError(f"argument line longer than {MAX_LINE} bytes at byte {self.pos:,}")
            raise PickleScanError(f"truncated at byte {self.pos + len(buf):,}")
        self.pos += len(buf)
        return buf[:-1]

    def peek1(self) -> bytes:
        b = self.f.read(1)
        if b:
            try:
                self.f.seek(-1, io.SEEK_CUR)
            except (OSError, io.UnsupportedOperation):
                raise PickleScanError("cannot peek") from None
        return b


_LEN_BYTES = {-2: (1, False), -3: (4, True), -4: (4, False), -5: (8, False)}
_STR_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "SHORT_BINSTRING", "BINSTRING"}


def walk(s: _Stream, found: list[str], budget: list[int]) -> object:
    """Walk one pickle up to its STOP; record imports in ``found``. Returns the value of a top-level int
    (for the torch magic number) or a placeholder."""
    stack: list = []
    memo: dict[int, object] = {}
    while True:
        at = s.pos
        code = s.f.read(1)
        if not code:
            raise PickleScanError(f"truncated at byte {at:,} (no STOP opcode)")
        s.pos += 1
        op = _OPS.get(code)
        if op is None:
            raise PickleScanError(f"unknown opcode {code!r} at byte {at:,}")
        budget[0] -= 1
        if budget[0] < 0:
            raise PickleScanError(f"more than {MAX_OPS:,} opcodes")
        name = op.name
        value = _UNKNOWN
        arg = op.arg
        if arg is not None:
            n = arg.n
            if n == -1:  # newline-terminated
                if name in ("GLOBAL", "INST"):
                    mod = s.line().decode("utf-8", "replace")
                    nm = s.line().decode("utf-8", "replace")
                    value = ("global", f"{mod}.{nm}")
                else:
                    raw = s.line()
                    if name in ("GET", "PUT"):
                        try:
                            value = int(raw)
                        except ValueError:
                            raise PickleScanError(f"bad memo index at byte {at:,}") from None
                    elif name == "STRING":
                        value = raw.decode("latin-1")[1:-1] if len(raw) >= 2 else _UNKNOWN
                    elif name == "UNICODE":
                        value = raw.decode("raw_unicode_escape", "replace")
                    elif name in ("INT", "LONG"):
                        try:
                            value = int(raw.rstrip(b"L"))
                        except ValueError:
                            value = _UNKNOWN
            elif n < 0:  # length-prefixed payload
                width, signed = _LEN_BYTES[n]
                length = int.from_bytes(s.read(width), "little", signed=signed)
                if length < 0:
                    raise PickleScanError(f"negative length at byte {at:,}")
                if (name in _STR_OPS or name in ("LONG1", "LONG4")) and length <= KEEP_STR:
                    raw = s.read(length)
                    if name in ("LONG1", "LONG4"):
                        value = int.from_bytes(raw, "little", signed=True)
                    elif name.endswith("UNICODE") or name.endswith("UNICODE8"):
                        value = raw.decode("utf-8", "replace")
                    else:
                        value = raw.decode("latin-1")
                else:
                    s.skip(length)
            else:
                raw = s.read(n)
                if name in ("BINGET", "LONG_BINGET", "BINPUT", "LONG_BINPUT"):
                    value = int.from_bytes(raw, "little")
                elif name in ("BININT1", "BININT2"):
                    value = int.from_bytes(raw, "little")
                elif name == "BININT":
                    value = int.from_bytes(raw, "little", signed=True)
                elif name == "PROTO" and raw[0] > 5:
                    raise PickleScanError(f"unsupported pickle protocol {raw[0]}")
                elif name.startswith("EXT"):
                    found.append(f"<copyreg extension {int.from_bytes(raw, 'little')}>")

        # stack effect
        before = op.stack_before
        if pickletools.markobject in before:
            k = before.index(pickletools.markobject)
            while True:
                if not stack:
                    raise PickleScanError(f"{name} without MARK at byte {at:,}")
                if stack.pop() is _MARK:
                    break
            popped = [stack.pop() for _ in range(k)] if len(stack) >= k else None
            if popped is None:
                raise PickleScanError(f"stack underflow at byte {at:,} ({name})")
        else:
            k = len(before)
            if len(stack) < k:
                raise PickleScanError(f"stack underflow at byte {at:,} ({name})")
            popped = [stack.pop() for _ in range(k)]  # top first
            if any(p is _MARK for p in popped):
                raise PickleScanError(f"{name} applied to a MARK at byte {at:,}")

        if name == "STOP":
            return popped[0]
        if name in ("GLOBAL", "INST"):
            found.append(value[1])
            stack.append(value)
        elif name == "STACK_GLOBAL":
            nm, mod = popped[0], popped[1]
            if isinstance(mod, str) and isinstance(nm, str):
                g = f"{mod}.{nm}"
            else:
                g = "<an import whose name is computed at load time>"
            found.append(g)
            stack.append(("global", g))
        elif name == "MARK":
            stack.append(_MARK)
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(memo.get(value, _UNKNOWN) if isinstance(value, int) else _UNKNOWN)
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            if not stack:
                raise PickleScanError(f"{name} on an empty stack at byte {at:,}")
            memo[value] = stack[-1] if isinstance(stack[-1], (str, int)) else _UNKNOWN
        elif name == "MEMOIZE":
            memo[len(memo)] = popped[0] if isinstance(popped[0], (str, int)) else _UNKNOWN
            stack.append(popped[0])
        elif name == "DUP":
            stack.extend([popped[0], popped[0]])
        elif name in _STR_OPS or name in ("STRING", "UNICODE", "INT", "LONG", "LONG1", "LONG4", "BININT",
                                          "BININT1", "BININT2"):
            stack.append(value)
        else:
            stack.extend([_UNKNOWN] * len(op.stack_after))


def scan_stream(f, size: int | None, kind: str, found: list[str], max_pickles: int) -> tuple[int, str | None, str]:
    """Walk consecutive pickles of ``f``. Returns (pickles walked, error or None, kind: "legacy" when the first
    pickle is torch's magic number)."""
    s = _Stream(f, size)
    budget = [MAX_OPS]
    count = 0
    try:
        while count < max_pickles:
            v = walk(s, found, budget)
            count += 1
            if kind == "pickle" and count == 1 and v == TORCH_MAGIC:
                kind = "legacy"
                max_pickles = 5  # magic, protocol version, sys info, the state dict, storage keys
            if kind == "legacy" and count >= max_pickles:
                break
            nxt = s.peek1()
            if not nxt or nxt not in _OPS or kind != "legacy":
                break
    except PickleScanError as e:
        return count, str(e), kind
    return count, None, kind


def scan_file(path: str, display: str | None = None) -> PickleScan:
    """Scan a local file: a torch zip archive (every ``*.pkl`` member), a legacy torch file or a plain pickle."""
    import os

    name = display or path
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        if head == ZIP_MAGIC:
            return _scan_zip(f, name)
        return _scan_plain(f, size, name)


def scan_bytes(data: bytes, display: str) -> PickleScan:
    f = io.BytesIO(data)
    if data[:4] == ZIP_MAGIC:
        return _scan_zip(f, display)
    return _scan_plain(f, len(data), display)


def _scan_plain(f, size: int, name: str) -> PickleScan:
    first = f.read(1)
    f.seek(0)
    if not first or first not in _OPS:
        return PickleScan(name, "not-pickle")
    found: list[str] = []
    n, err, kind = scan_stream(f, size, "pickle", found, max_pickles=1)
    return PickleScan(name, kind, list(dict.fromkeys(found)), err, n)


def _scan_zip(f, name: str) -> PickleScan:
    res = PickleScan(name, "zip")
    found: list[str] = []
    try:
        zf = zipfile.ZipFile(f)
        members = [i for i in zf.infolist() if i.filename.endswith(".pkl")]
        if not members:
            res.kind = "not-pickle"
            return res
        for info in members:
            with zf.open(info) as m:
                data = m.read(IN_MEMORY_MAX + 1)  # a pickle member is small; read it at once (bounded)
                if len(data) <= IN_MEMORY_MAX:
                    n, err, _ = scan_stream(io.BytesIO(data), len(data), "pickle", found, max_pickles=1)
                else:
                    n, err = 0, f"pickle larger than {IN_MEMORY_MAX >> 20} MiB"
                res.pickles += n
                if err:
                    res.error = f"{info.filename}: {err}"
                    break
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, ValueError) as e:
        res.error = f"not a readable zip archive ({e})"
    res.globals = list(dict.fromkeys(found))
    return res
