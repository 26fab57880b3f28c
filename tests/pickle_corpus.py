"""A generated corpus of malicious and benign pickle-based files, for the scanner tests and
benchmarks/pickle_compare.py. Nothing here is ever unpickled: malicious files are written opcode by opcode or
with ``pickle.dumps`` of an object whose ``__reduce__`` names the call (pickling writes the call, never makes
it). Benign files are written by the real libraries (torch, transformers, numpy, scikit-learn, joblib,
tokenizers) where they are installed; a missing library drops its samples.

``malicious()`` and ``benign()`` return lists of :class:`Sample` (name, technique, file name, bytes, where the
technique comes from). ``write(root)`` materialises both under root/malicious and root/benign.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Sample:
    name: str
    technique: str
    filename: str
    data: bytes
    ref: str = ""


class _Reduce:
    """Pickles as a call ``fn(*args)``; pickling writes the call, it never makes it."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


class _Name:
    """Pickles as a bare reference to ``module.name`` (GLOBAL / STACK_GLOBAL), without importing it."""


# --- opcode helpers ----------------------------------------------------------------------------------------

def g(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def u(s: str) -> bytes:  # SHORT_BINUNICODE / BINUNICODE
    b = s.encode()
    return (b"\x8c" + bytes([len(b)]) if len(b) < 256 else b"X" + struct.pack("<I", len(b))) + b


def sg(module: str, name: str) -> bytes:
    return u(module) + u(name) + b"\x93"


def call(fn: bytes, *args: bytes) -> bytes:
    return fn + b"(" + b"".join(args) + b"tR"


P2, P4 = b"\x80\x02", b"\x80\x04"
ECHO = u("echo pwned")
SYSTEM = P2 + call(g("os", "system"), ECHO) + b"."
SYSTEM4 = P4 + call(sg("posix", "system"), ECHO) + b"."


def torch_zip(pkl: bytes, *, prefix="archive", extra: dict | None = None, name="data.pkl",
              method=zipfile.ZIP_STORED) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        z.writestr(f"{prefix}/{name}", pkl)
        z.writestr(f"{prefix}/byteorder", "little")
        z.writestr(f"{prefix}/data/0", b"\0" * 16)
        z.writestr(f"{prefix}/version", "3\n")
        for k, v in (extra or {}).items():
            z.writestr(k, v)
    return b.getvalue()


def state_dict(n=2) -> bytes:
    """A torch-style state dict pickle (protocol 2), written opcode by opcode."""
    out = [P2 + g("collections", "OrderedDict") + b")R"]
    for i in range(n):
        out.append(u(f"w{i}") + g("torch._utils", "_rebuild_tensor_v2") + b"((" + u("storage")
                   + g("torch", "FloatStorage") + u(str(i)) + u("cpu") + b"K\x04tQK\x00K\x04\x85K\x01\x85\x89"
                   + g("collections", "OrderedDict") + b")RtRs")
    return b"".join(out) + b"."


def legacy_torch(payload_pickle: bytes) -> bytes:
    """torch's legacy format: magic number, protocol, sys info, the object, storage keys (each a pickle)."""
    magic = P2 + b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b"."
    return magic + P2 + b"M\xe9\x03." + P2 + b"}." + payload_pickle + P2 + b"]."


def legacy_tar(pickle_member: bytes) -> bytes:
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in (("sys_info", P2 + b"}."), ("pickle", pickle_member), ("storages", P2 + b"K\x00."),
                           ("tensors", P2 + b"K\x00.")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def npy_object(pkl: bytes) -> bytes:
    hdr = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + pkl


def _patch_zip(data: bytes, old: bytes, new: bytes, count=1) -> bytes:
    return data.replace(old, new, count)


def _local_name_mismatch(pkl: bytes) -> bytes:
    z = torch_zip(pkl)
    i = z.index(b"archive/data.pkl")  # first occurrence: the local header
    return z[:i] + b"archive/data.pkx" + z[i + 16:]


def _bad_crc(pkl: bytes) -> bytes:
    z = bytearray(torch_zip(pkl))
    i = z.index(b"\x80\x02")  # the member's bytes
    z[i + 3] ^= 0x01
    return bytes(z)


def _encrypted(pkl: bytes) -> bytes:
    z = bytearray(torch_zip(pkl))
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = z.index(sig)
        z[i + off] |= 1
    return bytes(z)


def _duplicate_member(good: bytes, evil: bytes) -> bytes:
    b = io.BytesIO()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(b, "w") as z:
            z.writestr("archive/data.pkl", good)
            z.writestr("archive/data.pkl", evil)
            z.writestr("archive/version", "3\n")
    return b.getvalue()


def _nested_zip(pkl: bytes, depth: int) -> bytes:
    data = pkl
    for i in range(depth):
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w") as z:
            z.writestr(f"layer{i}.bin" if i else "inner.pkl", data)
        data = b.getvalue()
    return data


def _joblib_like(pkl: bytes, how: str) -> bytes:
    return {"zlib": lambda d: zlib.compress(d), "gzip": lambda d: gzip.compress(d), "bz2": bz2.compress,
            "xz": lambda d: lzma.compress(d, format=lzma.FORMAT_XZ),
            "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE)}[how](pkl)


def malicious() -> list[Sample]:
    S: list[Sample] = []

    def add(name, technique, data, filename="model.bin", ref=""):
        S.append(Sample(name, technique, filename, data, ref))

    # 1. classic reduce gadgets, every protocol
    for proto in range(6):
        add(f"os_system_p{proto}", "classic gadget, protocols 0-5",
            pickle.dumps(_Reduce(os.system, ("echo pwned",)), protocol=proto), "model.pkl")
    for fn, args in ((eval, ("1+1",)), (exec, ("pass",)), (__import__, ("os",)), (compile, ("1", "s", "eval")),
                     (open, ("/etc/passwd",))):
        add(f"builtins_{fn.__name__}", "classic gadget, protocols 0-5", pickle.dumps(_Reduce(fn, args), 2))
    import subprocess
    add("subprocess_popen", "classic gadget, protocols 0-5", pickle.dumps(_Reduce(subprocess.Popen, (["id"],)), 4))
    add("py2_builtin_eval", "classic gadget, protocols 0-5", P2 + call(g("__builtin__", "eval"), u("1")) + b".")
    add("inst_opcode", "classic gadget, protocols 0-5", b"(S'echo pwned'\nios\nsystem\n.")
    add("obj_opcode", "classic gadget, protocols 0-5", b"\x80\x01(cos\nsystem\nS'echo'\no.")

    # 2. gadgets off every denylist (allow-list semantics), public advisories against picklescan/modelscan
    for mod, name, ref in (
            ("pkgutil", "resolve_name", "GHSA-vvpj-8cmc-gx39 (picklescan)"),
            ("importlib", "import_module", "picklescan#74"),
            ("marshal", "loads", "picklescan#74"),
            ("ensurepip", "_run_pip", "GHSA-xp4f-hrf8-rxw7 (picklescan)"),
            ("timeit", "timeit", "GHSA-v7x6-rv5q-mhwc (picklescan)"),
            ("torch._dynamo.guards", "GuardBuilder.get", "modelscan#313"),
            ("torch.utils.bottleneck.__main__", "run_cprofile", "modelscan#313"),
            ("code", "InteractiveInterpreter.runcode", "modelscan#313"),
            ("cProfile", "run", "modelscan#313"),
            ("idlelib.pyshell", "ModifiedInterpreter.runcode", "modelscan#313"),
            ("lib2to3.pgen2.pgen", "ParserGenerator.make_label", "picklescan advisories (eval in make_label)"),
            ("asyncio.unix_events", "_UnixSubprocessTransport._start", "picklescan advisories"),
            ("venv", "create", "picklescan advisories"),
            ("trace", "Trace.runctx", "picklescan advisories"),
            ("pydoc", "pipepager", "picklescan advisories"),
            ("_pyrepl.pager", "pipe_pager", "picklescan advisories"),
            ("torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression", "modelscan#313"),
            ("numpy.testing._private.utils", "runstring", "fickling denylist"),
            ("sympy", "sympify", "eval of a string"),
            ("logging.config", "listen", "fickling denylist"),
            ("mymodule.helpers", "run_payload", "fresh: an attacker module nobody lists"),
            ("__main__", "evil", "fresh: a name only the victim's __main__ has"),
            ("setuptools.sandbox", "run_setup", "fresh: second-stage code"),
            ("distutils.file_util", "write_file", "picklescan advisories"),
            ("shutil", "rmtree", "file deletion"),
            ("requests", "get", "network fetch"),
            ("urllib.request", "urlopen", "network fetch"),
            ("webbrowser", "open", "network fetch"),
            ("socket", "create_connection", "network"),
            ("ctypes", "CDLL", "native code"),
    ):
        add(f"gadget_{mod}.{name}", "gadget off the usual denylists", P4 + call(sg(mod, name), ECHO) + b".",
            ref=ref)

    # 3. second-stage loaders
    for mod, name in (("torch", "load"), ("torch.jit", "load"), ("torch.hub", "load"), ("numpy", "load"),
                      ("torch.serialization", "load"), ("joblib", "load"), ("pickle", "loads"), ("dill", "loads"),
                      ("runpy", "run_path"), ("pip", "main"), ("pandas", "read_pickle"),
                      ("torch.storage", "_load_from_bytes"), ("keras.models", "load_model"),
                      ("torch.utils.cpp_extension", "load_inline"), ("importlib.machinery", "SourceFileLoader")):
        add(f"loader_{mod}.{name}", "second-stage loader", P2 + call(g(mod, name), u("x.pt")) + b".")

    # 4. name resolution: strings, memo, STACK_GLOBAL, dotted names, aliases, getattr
    add("escaped_STRING", "name resolution",
        b"\x80\x04S'o\\x73'\nS'sy\\163tem'\n\x93" + b"(S'echo'\ntR.", ref="STRING with Python-repr escapes")
    add("escaped_STRING_dq", "name resolution", b'\x80\x04S"po\\x73ix"\nS"system"\n\x93(S"echo"\ntR.')
    add("UNICODE_escape", "name resolution", b"\x80\x04V\\u006fs\nVsystem\n\x93(Vecho\ntR.")
    add("BINSTRING_names", "name resolution", b"\x80\x04T\x02\x00\x00\x00osU\x06system\x93(U\x04echotR.")
    add("memo_binput_binget", "name resolution",
        P4 + u("os") + b"q\x00" + u("system") + b"q\x01" + b"0" + b"0" + b"h\x00h\x01\x93" + b"(" + ECHO + b"tR.")
    add("memo_long_binput", "name resolution",
        P4 + u("os") + b"r\xff\xff\x00\x00" + u("system") + b"r\x00\x00\x01\x00" + b"00"
        + b"j\xff\xff\x00\x00j\x00\x00\x01\x00\x93(" + ECHO + b"tR.")
    add("memo_put_get_text", "name resolution", P4 + u("os") + b"p7\n" + u("system") + b"p8\n00g7\ng8\n\x93("
        + ECHO + b"tR.")
    add("memo_confusion_memoize_vs_put", "name resolution",
        P4 + u("os") + b"q\x00" + u("system") + b"q\x01" + u("torch._utils") + b"\x94" + u("_rebuild_tensor_v2")
        + b"\x94" + b"0000" + b"h\x00h\x01\x93(" + ECHO + b"tR.", ref="picklescan#14 (memo dict confusion)")
    add("memo_overwrite", "name resolution",
        P4 + u("collections") + b"q\x00" + u("OrderedDict") + b"q\x01" + b"00" + u("posix") + b"q\x00"
        + u("system") + b"q\x01" + b"00h\x00h\x01\x93(" + ECHO + b"tR.", ref="picklescan#22 (memo argument)")
    add("memoize_sparse_index", "name resolution",
        P4 + u("collections") + b"q\x05" + u("os") + b"\x94" + u("system") + b"\x94" + b"000"
        + b"h\x01h\x02\x93(" + ECHO + b"tR.", ref="MEMOIZE uses len(memo), not a counter")
    add("dotted_builtins_getattr", "name resolution",
        P4 + call(sg("builtins", "getattr"), sg("builtins", "__import__") + b"(" + u("os") + b"tR", u("system"))
        + b"(" + ECHO + b"tR.")
    add("getattr_on_module_global", "name resolution",
        P2 + call(g("builtins", "getattr"), g("os", "path"), u("join")) + b".")
    add("getattr_escaped", "name resolution", P2 + g("builtins", "getattr") + b"q\x00" + b"(h\x00tR.")
    add("dotted_qualname_globals", "name resolution",
        P4 + call(sg("collections", "OrderedDict.__init__.__globals__"), ) + b".")
    add("dotted_torch_attr_chain", "name resolution", P4 + sg("torch", "_utils.os.system") + b"(" + ECHO + b"tR.")
    add("computed_name_str", "name resolution",
        P4 + sg("builtins", "str") + b"(" + b"C\x05posix" + u("ascii") + b"tR" + u("system") + b"\x93(" + ECHO
        + b"tR.")
    add("computed_name_codecs_rot13", "name resolution",
        P4 + sg("_codecs", "encode") + b"(" + u("bf") + u("rot13") + b"tR" + u("system") + b"\x93(" + ECHO
        + b"tR.")
    add("ext_registry", "name resolution", P2 + b"\x82\x01(" + ECHO + b"tR.")
    add("build_monkeypatch", "name resolution",
        P2 + g("collections", "OrderedDict") + b"N}" + u("__reduce__") + g("os", "system") + b"s\x86b.")
    add("setitem_on_global", "name resolution",
        P2 + g("torch._utils", "_rebuild_tensor_v2") + u("__code__") + b"Ns.")
    add("alias_copy_reg", "name resolution", P2 + call(g("copy_reg", "_reconstructor"), g("os", "system"),
                                                       g("__builtin__", "object"), u("echo")) + b".")

    # 5. stopping the scan
    add("after_unknown_opcode", "scan-stopping", SYSTEM[:-1] + b"\xff.")
    add("payload_then_garbage", "scan-stopping", SYSTEM[:-1] + b"N\x00\x00\x00")
    add("pop_mark_trick", "scan-stopping", P2 + b"(N1" + b"1" + call(g("os", "system"), ECHO) + b".")
    add("long_line_4k", "scan-stopping", b"(S'" + b"a" * 5000 + b"'\n0" + SYSTEM[2:])
    add("long_line_100k", "scan-stopping", b"(V" + b"a" * 100_000 + b"\n0cos\nsystem\n(S'x'\ntR.")
    add("concatenated_after_stop", "scan-stopping", state_dict(1) + SYSTEM)
    add("concatenated_p4", "scan-stopping", pickle.dumps({"a": 1}, 4) + SYSTEM4)
    add("frame_lies", "scan-stopping", P4 + b"\x95" + struct.pack("<Q", 1 << 40) + SYSTEM4[2:])
    add("proto_6", "scan-stopping", b"\x80\x06" + SYSTEM[2:])
    add("truncated_after_call", "scan-stopping", P2 + call(g("os", "system"), ECHO))
    add("big_binbytes_claim", "scan-stopping", SYSTEM[:-1] + b"\x8e" + struct.pack("<Q", 1 << 62) + b"xx.")
    add("stack_underflow_after_call", "scan-stopping", SYSTEM[:-1] + b"0000000.")
    add("missing_memo_after_call", "scan-stopping", SYSTEM[:-1] + b"h\x09.")

    # 6. containers, detection by content
    for fn in ("model.PT", "model.pth.tar", "weights", "model.dill", "model.npy", "README", "model.Bin"):
        add(f"name_{fn}", "detection by content (name)", SYSTEM, fn)
    add("torch_zip_data_pkl", "torch zip", torch_zip(SYSTEM4), "pytorch_model.bin")
    add("torch_zip_other_member", "torch zip", torch_zip(state_dict(), extra={"archive/extra.pkl": SYSTEM}))
    add("torch_zip_nonpkl_member", "torch zip", torch_zip(state_dict(), extra={"archive/.data/hook": SYSTEM}))
    add("torch_zip_other_prefix", "torch zip", torch_zip(SYSTEM, prefix="my_model"))
    add("torch_zip_deflated", "torch zip", torch_zip(SYSTEM, method=zipfile.ZIP_DEFLATED))
    add("torch_zip_bz2_member", "torch zip", torch_zip(SYSTEM, method=zipfile.ZIP_BZIP2))
    add("torch_zip_lzma_member", "torch zip", torch_zip(SYSTEM, method=zipfile.ZIP_LZMA))
    add("torchscript_code", "torch zip", torch_zip(state_dict(), extra={"archive/code/__torch__.py":
                                                                         "def forward(self): pass\n"}))
    add("zip_local_name_differs", "zip integrity", _local_name_mismatch(SYSTEM), ref="JFrog picklescan 0-days")
    add("zip_bad_crc", "zip integrity", _bad_crc(SYSTEM), ref="GHSA-gx77-x2pv-48v7 (picklescan, bad CRC)")
    add("zip_encrypted_flag", "zip integrity", _encrypted(SYSTEM))
    add("zip_duplicate_member", "zip integrity", _duplicate_member(state_dict(), SYSTEM))
    add("zip_truncated", "zip integrity", torch_zip(SYSTEM)[:-30])
    add("zip_with_prefix_junk", "zip integrity", b"\0" * 64 + torch_zip(SYSTEM))
    for depth in (2, 4, 12):
        add(f"nested_zip_{depth}", "nested archives", _nested_zip(SYSTEM, depth), "model.zip")
    add("legacy_magic_payload", "legacy torch", legacy_torch(SYSTEM))
    add("legacy_magic_sysinfo", "legacy torch",
        legacy_torch(state_dict()).replace(P2 + b"}.", P2 + call(g("os", "system"), ECHO) + b".", 1))
    add("legacy_tar_pickle", "legacy torch", legacy_tar(SYSTEM), "model.pth.tar")
    add("legacy_tar_sysinfo", "legacy torch", legacy_tar(state_dict()).replace(P2 + b"}.", SYSTEM, 1)
        if False else _tar_member("sys_info", SYSTEM), "model.tar")
    add("npy_object_payload", "numpy", npy_object(SYSTEM), "arr.npy")
    add("npz_object_payload", "numpy", _npz({"a.npy": npy_object(SYSTEM)}), "arrays.npz")
    for how in ("zlib", "gzip", "bz2", "xz", "lzma"):
        add(f"joblib_{how}", "joblib compressed", _joblib_like(SYSTEM, how), f"model.joblib.{how}")
    add("gzip_two_members", "joblib compressed", gzip.compress(state_dict()) + gzip.compress(SYSTEM), "m.gz")
    add("joblib_array_then_payload", "joblib compressed", _joblib_array_then(SYSTEM), "model.joblib")
    return S


def _tar_member(name: str, data: bytes) -> bytes:
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def _npz(members: dict) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return b.getvalue()


def _joblib_array_then(payload: bytes) -> bytes:
    """A joblib-style stream: a NumpyArrayWrapper for 4 float64 values, their 32 raw bytes, and a payload in
    the rest of the pickle."""
    dtype = g("numpy", "dtype") + b"(" + u("f8") + b"\x89\x88tR(K\x03" + u("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    state = (b"}(" + u("subclass") + g("numpy", "ndarray") + u("shape") + b"K\x04\x85" + u("order") + u("C")
             + u("dtype") + dtype + u("allow_mmap") + b"\x89u")
    wrapper = g("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81" + state + b"b"
    return P2 + b"]" + b"(" + wrapper + b"\0" * 32 + payload[2:-1] + b"e."


# --- benign ------------------------------------------------------------------------------------------------

def benign() -> list[Sample]:
    S: list[Sample] = []

    def add(name, technique, data, filename="file.bin"):
        S.append(Sample(name, technique, filename, data))

    import collections
    import datetime
    import platform
    import types
    add("plain_dict_p0", "plain python", pickle.dumps({"a": [1, 2.5, "s"], "b": (1, 2), "c": {3}}, 0), "d.pkl")
    add("plain_dict_p5", "plain python", pickle.dumps({"a": [1, 2.5, b"x" * 300], "f": frozenset({1})}, 5), "d.pkl")
    add("ordered_counter", "plain python", pickle.dumps({"o": collections.OrderedDict(a=1),
                                                         "c": collections.Counter("abca"),
                                                         "d": collections.defaultdict(list)}, 2), "d.pkl")
    add("simple_namespace", "plain python", pickle.dumps(types.SimpleNamespace(lr=1e-3, name="run"), 4), "args.pkl")
    add("uname_result", "plain python", pickle.dumps({"uname": platform.uname(),
                                                      "when": datetime.datetime(2024, 1, 1)}, 2), "env.pkl")
    import argparse
    add("argparse_namespace", "plain python", pickle.dumps(argparse.Namespace(lr=0.1, epochs=3), 2), "args.bin")
    # protocol 2 writes a class method as __builtin__.getattr(cls, name): the walker resolves it to the name
    add("harmless_getattr", "plain python", pickle.dumps({"f": collections.OrderedDict.fromkeys,
                                                          "g": dict.fromkeys}, 2), "x.pkl")
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None:
        for name, arr in (("npy_f32", np.zeros((3, 4), np.float32)), ("npy_str", np.array(["a", "bb"]))):
            b = io.BytesIO()
            np.save(b, arr)
            add(name, "numpy", b.getvalue(), f"{name}.npy")
        b = io.BytesIO()
        np.save(b, np.array(["tok", {"id": 1}, None], dtype=object), allow_pickle=True)
        add("npy_object_strings", "numpy", b.getvalue(), "vocab.npy")
        b = io.BytesIO()
        np.savez_compressed(b, a=np.arange(10), b=np.ones(3))
        add("npz_compressed", "numpy", b.getvalue(), "arrays.npz")
        add("numpy_pickle", "numpy", pickle.dumps({"a": np.arange(5), "s": np.float32(1.0),
                                                   "rng": np.random.RandomState(0).get_state()}, 2), "np.pkl")
        add("numpy_rng_objects", "numpy", pickle.dumps({"rs": np.random.RandomState(0),
                                                        "gen": np.random.default_rng(0)}, 4), "rng.pkl")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        sd = {"w": torch.zeros(3, 4, dtype=torch.bfloat16), "p": torch.nn.Parameter(torch.ones(2)),
              "i": torch.arange(5), "h": torch.zeros(2, dtype=torch.float16), "q": torch.zeros(2, dtype=torch.int8)}
        for zipfmt in (True, False):
            for proto in (2, 4):
                b = io.BytesIO()
                torch.save(sd, b, _use_new_zipfile_serialization=zipfmt, pickle_protocol=proto)
                add(f"torch_sd_{'zip' if zipfmt else 'legacy'}_p{proto}", "torch.save", b.getvalue(),
                    "pytorch_model.bin")
        m = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
        m(torch.ones(2, 4)).sum().backward()
        opt.step()
        for name, obj in (("optimizer", opt.state_dict()),
                          ("scheduler_step", torch.optim.lr_scheduler.StepLR(opt, 3).state_dict()),
                          ("scheduler_cosine", torch.optim.lr_scheduler.CosineAnnealingLR(opt, 10).state_dict()),
                          ("rng_state", {"torch": torch.get_rng_state(), "python": __import__("random").getstate()}),
                          ("model_sd", m.state_dict())):
            b = io.BytesIO()
            torch.save(obj, b)
            add(f"torch_{name}", "torch.save", b.getvalue(), f"{name}.pt")
        b = io.BytesIO()
        torch.save(sd, b, _use_new_zipfile_serialization=False)
        add("torch_legacy_default", "torch.save", b.getvalue(), "model.pth")
        try:
            import transformers

            for cls in (transformers.TrainingArguments, transformers.Seq2SeqTrainingArguments):
                b = io.BytesIO()
                torch.save(cls(output_dir="/tmp/ckptscope-unused", report_to=[]), b)
                add(f"training_args_{cls.__name__}", "training_args.bin", b.getvalue(), "training_args.bin")
        except Exception:  # noqa: BLE001 - transformers/accelerate absent or unusable
            pass
    try:
        from transformers import PreTrainedTokenizerFast

        tok = PreTrainedTokenizerFast(tokenizer_file=str(Path(__file__).resolve().parent.parent / "fixtures"
                                                         / "tokenizers" / "qwen3" / "tokenizer.json"))
        add("transformers_tokenizer_pickle", "tokenizer pickle", pickle.dumps(tok), "tokenizer.pkl")
    except Exception:  # noqa: BLE001 - transformers absent
        pass
    try:
        import tokenizers

        t = tokenizers.Tokenizer(tokenizers.models.BPE())
        add("tokenizers_pickle", "tokenizer pickle", pickle.dumps(t), "tokenizer.pkl")
    except ImportError:
        pass
    try:
        import joblib
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        X = np.random.RandomState(0).randn(40, 4)
        y = (X[:, 0] > 0).astype(int)
        objs = {"pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
                "forest": RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y),
                "tfidf": TfidfVectorizer().fit(["apple banana cherry", "banana cherry date"])}
        for k, o in objs.items():
            for comp in (0, "zlib", "gzip", "bz2", "xz", "lzma"):
                b = io.BytesIO()
                joblib.dump(o, b, compress=(comp, 3) if comp else 0)
                add(f"sklearn_{k}_joblib_{comp or 'plain'}", "scikit-learn/joblib", b.getvalue(), f"{k}.joblib")
            add(f"sklearn_{k}_pickle", "scikit-learn/joblib", pickle.dumps(o, 4), f"{k}.pkl")
        b = io.BytesIO()
        joblib.dump({"a": np.arange(10), "o": np.array([1, "x"], dtype=object)}, b)
        add("joblib_arrays", "scikit-learn/joblib", b.getvalue(), "arrays.joblib")
    except ImportError:
        pass
    return S


def write(root: Path) -> dict[str, list[tuple[Sample, Path]]]:
    out = {}
    for kind, samples in (("malicious", malicious()), ("benign", benign())):
        rows = []
        for s in samples:
            d = Path(root) / kind / s.name
            d.mkdir(parents=True, exist_ok=True)
            p = d / s.filename
            p.write_bytes(s.data)
            rows.append((s, p))
        out[kind] = rows
    return out
