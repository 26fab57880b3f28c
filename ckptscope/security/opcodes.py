"""The opcode walker: reads one pickle the way CPython's unpickler does, without executing anything.

It keeps just enough of the pickle machine to name every import exactly as ``Unpickler.find_class`` would see
it: the stack (with MARKs on a separate stack of positions, like the C unpickler's metastack, so nothing is
ever rescanned), the memo (a dict: ``MEMOIZE`` uses ``len(memo)`` exactly as CPython does), every string
opcode (``STRING`` through ``codecs.escape_decode``, ``UNICODE`` through raw-unicode-escape), ``STACK_GLOBAL``
operands from the memo, and ``getattr(obj, "name")`` calls, which are resolved into the dotted name they
reach. Payloads are skipped by offset, never copied. Every opcode costs O(1) (plus the size of what it pops),
so a walk is linear in the input.

Anything the walker cannot follow to the pickle's STOP raises :class:`Unverifiable`; the caller reports that
as an error (fail closed), never as a pass.
"""

from __future__ import annotations

import _compat_pickle
import codecs
from dataclasses import dataclass, field

KEEP_STR = 1024  #: longer strings are not kept (no import name is that long); a name built from one fails
KEEP_INT_DIGITS = 64  #: INT/LONG lines longer than this are not parsed (CPython refuses > 4300 digits anyway)
HIGHEST_PROTOCOL = 5


class Unverifiable(Exception):
    """The walk cannot reach the end of the pickle; ``offset`` is where it stopped."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


class _Sentinel:
    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what

    def __repr__(self) -> str:
        return f"<{self.what}>"


UNK = _Sentinel("value")  #: a value the walker does not model
LONG_STR = _Sentinel("long string")
BYTES = _Sentinel("bytes")


class Global:
    """An imported object: ``name`` is ``module.qualname`` as find_class resolves it."""

    __slots__ = ("name", "offset")

    def __init__(self, name: str, offset: int):
        self.name, self.offset = name, offset

    def __repr__(self) -> str:
        return self.name


class Call:
    """The result of calling ``func`` (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ)."""

    __slots__ = ("func", "args", "state")

    def __init__(self, func, args):
        self.func, self.args, self.state = func, args, None

    def __repr__(self) -> str:
        return f"{self.func!r}()"


class PDict:
    __slots__ = ("items",)

    def __init__(self):
        self.items: dict = {}


class PList:
    __slots__ = ()


GETATTR = {"builtins.getattr", "__builtin__.getattr", "__builtins__.getattr"}


@dataclass
class Import:
    name: str  #: "module.qualname"
    offset: int  #: where the opcode that imports it starts
    via: str  #: GLOBAL, STACK_GLOBAL, INST, getattr


@dataclass
class Walked:
    imports: list[Import] = field(default_factory=list)
    flags: list[tuple[int, str]] = field(default_factory=list)  #: (offset, why it is critical)
    calls: int = 0
    protocol: int = 0
    end: int = 0  #: offset just after STOP
    value: object = None  #: the top-level value (an int for torch's legacy magic number)
    after_build: list = field(default_factory=list)  #: hook results (see ``on_build``)


def _line(buf, pos: int, end: int) -> tuple[bytes, int]:
    nl = buf.find(b"\n", pos, end)
    if nl < 0:
        raise Unverifiable("a newline-terminated argument runs past the end", pos)
    return nl, nl + 1


def _text(raw: bytes) -> str | _Sentinel:
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def walk(buf, pos: int, end: int, budget: list[int], out: Walked | None = None, on_build=None) -> Walked:
    """Walk the pickle that starts at ``buf[pos]`` up to its STOP (``end`` bounds the bytes it may use).

    ``budget[0]`` is the opcode budget shared by everything one file scan walks; ``on_build(walker_state,
    obj, state, pos)`` may return a new position (joblib's arrays sit between opcodes)."""
    out = Walked() if out is None else out
    imports, flags = out.imports, out.flags
    stack: list = []
    marks: list[int] = []
    memo: dict = {}
    seen: dict = {}  # (module, name) -> Global
    ga: list = []  # non-empty once getattr has been imported
    proto = 0
    start = pos

    def pop_mark(at):
        if not marks:
            raise Unverifiable("an opcode that needs a MARK has none", at)
        k = marks.pop()
        items = stack[k:]
        del stack[k:]
        if ga:
            for v in items:
                if type(v) is Global and v.name in GETATTR:
                    escaped(v, at)
        return items

    def escaped(v, at):
        flags.append((at, f"{v.name} is used other than as getattr(object, 'name'): attribute access the "
                          "scanner cannot follow"))

    def pop(at, n=1):
        if len(stack) - (marks[-1] if marks else 0) < n:
            raise Unverifiable("stack underflow", at)
        if n == 1:
            v = stack.pop()
            if ga and type(v) is Global and v.name in GETATTR:
                escaped(v, at)
            return v
        vs = stack[-n:]
        del stack[-n:]
        if ga:
            for v in vs:
                if type(v) is Global and v.name in GETATTR:
                    escaped(v, at)
        return vs

    def add_global(module, name, at, via):
        if not isinstance(module, str) or not isinstance(name, str):
            what = f"{module!r}, {name!r}"
            flags.append((at, f"{via} imports a name computed at load time ({what}): cannot be verified"))
            g = Global("<computed import>", at)
            imports.append(Import(g.name, at, via))
            return g
        g = seen.get((module, name))
        if g is None:  # the first import of a name is recorded; later ones reuse it (same object)
            full = _fix_imports(module, name)
            g = seen[(module, name)] = Global(full, at)
            if full not in GETATTR:  # getattr is judged by its uses (see _getattr and escaped), not imported
                imports.append(Import(full, at, via))
            else:
                ga.append(True)  # from now on, every pop checks for an escaping getattr
        return g

    def mutate(target, at, what):
        if type(target) is Global:
            flags.append((at, f"{what} modifies the imported object {target.name} itself (monkey-patching)"))

    while True:
        at = pos
        if pos >= end:
            raise Unverifiable("the pickle ends without a STOP opcode", at)
        budget[0] -= 1
        if budget[0] < 0:
            raise Unverifiable("opcode budget exhausted", at)
        c = buf[pos]
        pos += 1
        # --- the frequent ones first ---
        if c == 0x71:  # q BINPUT
            if pos + 1 > end:
                raise Unverifiable("truncated", at)
            if len(stack) <= (marks[-1] if marks else 0):
                raise Unverifiable("PUT on an empty stack", at)
            memo[buf[pos]] = stack[-1]
            pos += 1
        elif c == 0x94:  # MEMOIZE
            if len(stack) <= (marks[-1] if marks else 0):
                raise Unverifiable("MEMOIZE on an empty stack", at)
            memo[len(memo)] = stack[-1]
        elif c == 0x68:  # h BINGET
            if pos + 1 > end:
                raise Unverifiable("truncated", at)
            k = buf[pos]
            pos += 1
            if k not in memo:
                raise Unverifiable(f"memo key {k} read before it is written", at)
            stack.append(memo[k])
        elif c == 0x72 or c == 0x6A:  # r LONG_BINPUT, j LONG_BINGET
            if pos + 4 > end:
                raise Unverifiable("truncated", at)
            k = int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
            if c == 0x72:
                if not stack:
                    raise Unverifiable("PUT on an empty stack", at)
                memo[k] = stack[-1]
            else:
                if k not in memo:
                    raise Unverifiable(f"memo key {k} read before it is written", at)
                stack.append(memo[k])
        elif c == 0x88 or c == 0x89:  # NEWTRUE, NEWFALSE
            stack.append(c == 0x88)
        elif c == 0x51:  # Q BINPERSID
            pop(at)
            stack.append(UNK)
        elif c == 0x28:  # ( MARK
            marks.append(len(stack))
        elif c == 0x58 or c == 0x8C or c == 0x8D:  # X BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
            w = 4 if c == 0x58 else 1 if c == 0x8C else 8
            if pos + w > end:
                raise Unverifiable("truncated", at)
            n = int.from_bytes(buf[pos:pos + w], "little")
            pos += w
            if pos + n > end:
                raise Unverifiable(f"a {n:,}-byte string runs past the end", at)
            if n <= KEEP_STR:
                try:
                    stack.append(bytes(buf[pos:pos + n]).decode("utf-8", "surrogatepass"))
                except UnicodeDecodeError:
                    raise Unverifiable("a unicode string is not valid UTF-8", at) from None
            else:
                stack.append(LONG_STR)
            pos += n
        elif c == 0x4B:  # K BININT1
            if pos + 1 > end:
                raise Unverifiable("truncated", at)
            stack.append(buf[pos])
            pos += 1
        elif c in (0x85, 0x86, 0x87):  # TUPLE1..3
            n = c - 0x84
            v = pop(at, n)
            stack.append((v,) if n == 1 else tuple(v))
        elif c == 0x74:  # t TUPLE
            stack.append(tuple(pop_mark(at)))
        elif c == 0x29:  # ) EMPTY_TUPLE
            stack.append(())
        elif c == 0x52:  # R REDUCE
            if len(stack) - (marks[-1] if marks else 0) < 2:
                raise Unverifiable("stack underflow", at)
            args = stack.pop()
            func = stack.pop()
            if type(args) is Global and args.name in GETATTR:
                escaped(args, at)
            out.calls += 1
            if type(func) is Global and func.name in GETATTR:
                stack.append(_getattr(func, args, at, imports, flags))
            else:
                stack.append(Call(func, args))
        elif c == 0x63 or c == 0x69:  # c GLOBAL, i INST
            nl1, p1 = _line(buf, pos, end)
            nl2, p2 = _line(buf, p1, end)
            try:
                mod = bytes(buf[pos:nl1]).decode("utf-8" if c == 0x63 else "ascii")
                nm = bytes(buf[p1:nl2]).decode("utf-8" if c == 0x63 else "ascii")
            except UnicodeDecodeError:
                raise Unverifiable("an import name is not valid text", at) from None
            pos = p2
            g = add_global(mod, nm, at, "GLOBAL" if c == 0x63 else "INST")
            if c == 0x63:
                stack.append(g)
            else:
                if g.name in GETATTR:
                    escaped(g, at)
                stack.append(Call(g, tuple(pop_mark(at))))
                out.calls += 1
        elif c == 0x93:  # STACK_GLOBAL
            name, module = pop(at, 1), pop(at, 1)
            stack.append(add_global(module, name, at, "STACK_GLOBAL"))
        elif c == 0x73:  # s SETITEM
            v = pop(at)
            k = pop(at)
            if not stack or len(stack) == (marks[-1] if marks else 0):
                raise Unverifiable("stack underflow", at)
            d = stack[-1]
            mutate(d, at, "SETITEM")
            if type(d) is PDict and _hashable(k):
                d.items[k] = v
        elif c == 0x75:  # u SETITEMS
            items = pop_mark(at)
            if len(items) % 2:
                raise Unverifiable("SETITEMS with an odd number of items", at)
            if not stack or len(stack) == (marks[-1] if marks else 0):
                raise Unverifiable("stack underflow", at)
            d = stack[-1]
            mutate(d, at, "SETITEMS")
            if type(d) is PDict:
                for i in range(0, len(items), 2):
                    if _hashable(items[i]):
                        d.items[items[i]] = items[i + 1]
        elif c == 0x7D:  # } EMPTY_DICT
            stack.append(PDict())
        elif c == 0x5D:  # ] EMPTY_LIST
            stack.append(PList())
        elif c == 0x61 or c == 0x65:  # a APPEND, e APPENDS
            if c == 0x61:
                pop(at)
            else:
                pop_mark(at)
            if not stack or len(stack) == (marks[-1] if marks else 0):
                raise Unverifiable("stack underflow", at)
            mutate(stack[-1], at, "APPEND")
        elif c == 0x4E:  # N NONE
            stack.append(None)
        elif c == 0x4A:  # J BININT
            if pos + 4 > end:
                raise Unverifiable("truncated", at)
            stack.append(int.from_bytes(buf[pos:pos + 4], "little", signed=True))
            pos += 4
        elif c == 0x4D:  # M BININT2
            if pos + 2 > end:
                raise Unverifiable("truncated", at)
            stack.append(int.from_bytes(buf[pos:pos + 2], "little"))
            pos += 2
        elif c == 0x62:  # b BUILD
            state = pop(at)
            if not stack or len(stack) == (marks[-1] if marks else 0):
                raise Unverifiable("stack underflow", at)
            inst = stack[-1]
            mutate(inst, at, "BUILD")
            out.calls += 1
            if type(inst) is Call:
                inst.state = state
                if on_build is not None:
                    pos = on_build(inst, state, pos, end, budget, out)
        elif c == 0x70 or c == 0x67:  # p PUT, g GET
            nl, p1 = _line(buf, pos, end)
            raw = bytes(buf[pos:nl]) if nl - pos <= KEEP_INT_DIGITS else b"x"
            pos = p1
            try:
                k = int(raw)
            except ValueError:
                raise Unverifiable("a memo index is not a number", at) from None
            if c == 0x70:
                if not stack:
                    raise Unverifiable("PUT on an empty stack", at)
                if k < 0:
                    raise Unverifiable("negative PUT argument", at)
                memo[k] = stack[-1]
            else:
                if k not in memo:
                    raise Unverifiable(f"memo key {k} read before it is written", at)
                stack.append(memo[k])
        elif c == 0x80:  # PROTO
            if pos + 1 > end:
                raise Unverifiable("truncated", at)
            proto = buf[pos]
            pos += 1
            if proto > HIGHEST_PROTOCOL:
                raise Unverifiable(f"unsupported pickle protocol {proto}", at)
            out.protocol = max(out.protocol, proto)
        elif c == 0x95:  # FRAME
            if pos + 8 > end:
                raise Unverifiable("truncated", at)
            n = int.from_bytes(buf[pos:pos + 8], "little")
            pos += 8
            if pos + n > end:
                raise Unverifiable(f"a {n:,}-byte frame runs past the end", at)
        elif c == 0x2E:  # . STOP
            if len(stack) - (marks[-1] if marks else 0) < 1:
                raise Unverifiable("STOP on an empty stack", at)
            v = stack.pop()
            if type(v) is Global and v.name in GETATTR:
                escaped(v, at)
            out.value = v
            out.end = pos
            if marks or stack:
                pass  # CPython ignores what is left on the stack
            return out
        elif c in (0x42, 0x43, 0x8E, 0x96, 0x54, 0x55):  # BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8,
            # BINSTRING, SHORT_BINSTRING
            w = {0x42: 4, 0x43: 1, 0x8E: 8, 0x96: 8, 0x54: 4, 0x55: 1}[c]
            if pos + w > end:
                raise Unverifiable("truncated", at)
            n = int.from_bytes(buf[pos:pos + w], "little", signed=(c == 0x54))
            pos += w
            if n < 0:
                raise Unverifiable("negative length", at)
            if pos + n > end:
                raise Unverifiable(f"a {n:,}-byte value runs past the end", at)
            if c in (0x54, 0x55):
                stack.append(_text(bytes(buf[pos:pos + n])) if n <= KEEP_STR else LONG_STR)
            else:
                stack.append(BYTES)
            pos += n
        elif c == 0x53:  # S STRING
            nl, p1 = _line(buf, pos, end)
            n = nl - pos
            if n < 2 or buf[pos] != buf[nl - 1] or buf[pos] not in (0x22, 0x27):
                raise Unverifiable("the STRING opcode argument must be quoted", at)
            if n <= KEEP_STR * 4 + 2:
                try:
                    raw = codecs.escape_decode(bytes(buf[pos + 1:nl - 1]))[0]
                except ValueError:
                    raise Unverifiable("bad escape in a STRING argument", at) from None
                stack.append(_text(raw) if len(raw) <= KEEP_STR else LONG_STR)
            else:
                stack.append(LONG_STR)
            pos = p1
        elif c == 0x56:  # V UNICODE
            nl, p1 = _line(buf, pos, end)
            if nl - pos <= KEEP_STR * 10:
                try:
                    s = str(bytes(buf[pos:nl]), "raw-unicode-escape")
                except UnicodeDecodeError:
                    raise Unverifiable("bad escape in a UNICODE argument", at) from None
                stack.append(s if len(s) <= KEEP_STR else LONG_STR)
            else:
                stack.append(LONG_STR)
            pos = p1
        elif c == 0x49 or c == 0x4C:  # I INT, L LONG
            nl, p1 = _line(buf, pos, end)
            raw = bytes(buf[pos:nl]) if nl - pos <= KEEP_INT_DIGITS else None
            pos = p1
            if raw is None:
                stack.append(UNK)
            elif c == 0x49 and raw in (b"00", b"01"):
                stack.append(raw == b"01")
            else:
                try:
                    stack.append(int(raw[:-1] if raw.endswith(b"L") else raw))
                except ValueError:
                    raise Unverifiable("an INT/LONG argument is not a number", at) from None
        elif c == 0x46:  # F FLOAT
            nl, p1 = _line(buf, pos, end)
            pos = p1
            stack.append(UNK)
        elif c == 0x47:  # G BINFLOAT
            if pos + 8 > end:
                raise Unverifiable("truncated", at)
            pos += 8
            stack.append(UNK)
        elif c == 0x8A or c == 0x8B:  # LONG1, LONG4
            w = 1 if c == 0x8A else 4
            if pos + w > end:
                raise Unverifiable("truncated", at)
            n = int.from_bytes(buf[pos:pos + w], "little", signed=(c == 0x8B))
            pos += w
            if n < 0:
                raise Unverifiable("negative length", at)
            if pos + n > end:
                raise Unverifiable(f"a {n:,}-byte integer runs past the end", at)
            stack.append(int.from_bytes(buf[pos:pos + n], "little", signed=True) if n <= 16 else UNK)
            pos += n
        elif c == 0x81:  # NEWOBJ
            args = pop(at)
            cls = pop(at)
            out.calls += 1
            stack.append(Call(cls, args))
        elif c == 0x92:  # NEWOBJ_EX
            kwargs = pop(at)
            args = pop(at)
            cls = pop(at)
            out.calls += 1
            stack.append(Call(cls, (args, kwargs)))
        elif c == 0x6F:  # o OBJ
            items = pop_mark(at)
            if not items:
                raise Unverifiable("OBJ without a class", at)
            out.calls += 1
            stack.append(Call(items[0], tuple(items[1:])))
        elif c == 0x30:  # 0 POP
            if len(stack) - (marks[-1] if marks else 0) < 1:
                # CPython: POP with nothing above the mark pops the mark itself
                if marks and len(stack) == marks[-1]:
                    marks.pop()
                else:
                    raise Unverifiable("stack underflow", at)
            else:
                stack.pop()
        elif c == 0x31:  # 1 POP_MARK
            if not marks:
                raise Unverifiable("POP_MARK without a MARK", at)
            del stack[marks.pop():]
        elif c == 0x32:  # 2 DUP
            if not stack:
                raise Unverifiable("DUP on an empty stack", at)
            stack.append(stack[-1])
        elif c == 0x6C:  # l LIST
            pop_mark(at)
            stack.append(PList())
        elif c == 0x64:  # d DICT
            items = pop_mark(at)
            if len(items) % 2:
                raise Unverifiable("DICT with an odd number of items", at)
            d = PDict()
            for i in range(0, len(items), 2):
                if _hashable(items[i]):
                    d.items[items[i]] = items[i + 1]
            stack.append(d)
        elif c == 0x8F:  # EMPTY_SET
            stack.append(UNK)
        elif c == 0x90:  # ADDITEMS
            pop_mark(at)
            if not stack:
                raise Unverifiable("stack underflow", at)
            mutate(stack[-1], at, "ADDITEMS")
        elif c == 0x91:  # FROZENSET
            pop_mark(at)
            stack.append(UNK)
        elif c == 0x50:  # P PERSID
            nl, p1 = _line(buf, pos, end)
            pos = p1
            stack.append(UNK)
        elif c in (0x82, 0x83, 0x84):  # EXT1, EXT2, EXT4
            w = {0x82: 1, 0x83: 2, 0x84: 4}[c]
            if pos + w > end:
                raise Unverifiable("truncated", at)
            code = int.from_bytes(buf[pos:pos + w], "little")
            pos += w
            name = f"<copyreg extension {code}>"
            flags.append((at, f"imports through the copyreg extension registry (code {code}): the name cannot "
                              "be resolved statically"))
            imports.append(Import(name, at, "EXT"))
            stack.append(Global(name, at))
        elif c == 0x97 or c == 0x98:  # NEXT_BUFFER, READONLY_BUFFER
            if c == 0x97:
                stack.append(BYTES)
            elif not stack:
                raise Unverifiable("stack underflow", at)
        else:
            raise Unverifiable(f"unknown opcode 0x{c:02x}", at)
        _ = start


def _fix_imports(module: str, name: str) -> str:
    """The name find_class resolves: Python 2 names mapped as ``fix_imports`` does (applied at every protocol,
    which can only make a verdict stricter)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f"{module}.{name}"


def _hashable(k) -> bool:
    return type(k) in (str, int, bool) or k is None


def _getattr(func: Global, args, at: int, imports: list, flags: list):
    """``getattr(obj, "name")`` through REDUCE: resolved into the dotted name it reaches (which is then judged
    like any import); any other use cannot be followed."""
    if type(args) is tuple and len(args) == 2 and isinstance(args[1], str):
        obj, attr = args
        if type(obj) is Global:
            g = Global(f"{obj.name}.{attr}", at)
            imports.append(Import(g.name, at, "getattr"))
            return g
        if type(obj) is Call and type(obj.func) is Global:
            name = f"{obj.func.name}().{attr}"
            imports.append(Import(name, at, "getattr"))
            return Global(name, at)
    flags.append((at, f"{func.name} called with arguments the scanner cannot resolve ({args!r})"))
    imports.append(Import("<getattr on a computed object>", at, "getattr"))
    return Global("<getattr on a computed object>", at)
