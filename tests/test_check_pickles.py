"""The static pickle scanner (ckptscope.security): names what loading a file would import, never unpickles it.

Expected names below are derived by hand from the opcodes each test writes (what CPython's find_class would be
asked for), not from the scanner.
"""

from __future__ import annotations

import io
import os
import pickle
import struct

import pytest

from check_corpus.build import EVIL, TRAINING_ARGS, state_dict_pickle, torch_zip
from pickle_corpus import P2, P4, SYSTEM, call, g, sg, u
from ckptscope.security import judge, scan_bytes, scan_path, sniff_pickle_container


class _Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def names(res):
    return {v.name: v.verdict for v in res.verdicts()}


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_names_dangerous_globals_every_protocol(protocol):
    data = pickle.dumps({"a": [1, 2.5, "s", b"b" * 300], "x": _Reduce(os.system, ("echo",))}, protocol=protocol)
    res = scan_bytes(data, "x.pkl")
    assert res.kind == "pickle" and res.problems == []
    expected = {f"{os.system.__module__}.system": "critical"}
    if protocol < 3:  # bytes are written as _codecs.encode(str, 'latin1') below protocol 3
        expected["_codecs.encode"] = "allowed"
    assert names(res) == expected
    assert res.failed()


def test_stack_global_through_the_memo():
    """module and name memoized (MEMOIZE = len(memo)) and fetched with BINGET."""
    data = (P4 + u("collections") + b"\x94" + u("OrderedDict") + b"\x94\x93\x94"  # memo 0, 1, 2
            + u("builtins") + b"\x94" + u("eval") + b"\x94"  # memo 3, 4
            + b"h\x03h\x04\x93\x94" + u("1") + b"\x85R" + b"\x86.")
    res = scan_bytes(data, "m.pkl")
    assert res.problems == []
    assert names(res) == {"collections.OrderedDict": "allowed", "builtins.eval": "critical"}


@pytest.mark.parametrize("data,expected", [
    (b"\x80\x04S'o\\x73'\nS'sy\\163tem'\n\x93(S'echo'\ntR.", "os.system"),  # escape_decode of STRING
    (b"\x80\x04V\\u0070osix\nVsystem\n\x93(Vecho\ntR.", "posix.system"),  # raw-unicode-escape
    (P4 + u("os") + b"q\x00" + u("system") + b"q\x01" + u("torch._utils") + b"\x94" + u("_rebuild_tensor_v2")
     + b"\x94" + b"0000h\x00h\x01\x93(" + u("x") + b"tR.", "os.system"),  # BINPUT 0,1 then MEMOIZE writes 2,3
    (P4 + u("collections") + b"q\x05" + u("os") + b"\x94" + u("system") + b"\x94" + b"000h\x01h\x02\x93("
     + u("x") + b"tR.", "os.system"),  # MEMOIZE after PUT 5: indices len(memo) = 1 and 2
    (P4 + u("os") + b"p7\n" + u("system") + b"p8\n00g7\ng8\n\x93(" + u("x") + b"tR.", "os.system"),
    (P2 + call(g("__builtin__", "getattr"), g("os", "path"), u("join")) + b".", "os.path.join"),
    (P2 + call(g("copy_reg", "_reconstructor"), g("nt", "system"), g("__builtin__", "object"), u("x")) + b".",
     "nt.system"),
])
def test_names_resolved_like_find_class(data, expected):
    res = scan_bytes(data, "r.pkl")
    assert expected in names(res) and names(res)[expected] == "critical", names(res)


def test_py2_names_are_mapped():
    res = scan_bytes(P2 + g("__builtin__", "set") + b")R" + g("copy_reg", "_reconstructor") + b"0.", "a.pkl")
    assert names(res) == {"builtins.set": "allowed", "copyreg._reconstructor": "allowed"}


def test_harmless_getattr_is_followed_not_flagged():
    """protocol 2 writes OrderedDict.fromkeys as getattr(OrderedDict, 'fromkeys'): judged as what it reaches."""
    import collections

    res = scan_bytes(pickle.dumps({"f": collections.OrderedDict.fromkeys}, 2), "f.pkl")
    assert names(res) == {"collections.OrderedDict": "allowed", "collections.OrderedDict.fromkeys": "allowed"}
    assert not res.failed()


def test_getattr_used_otherwise_is_critical():
    res = scan_bytes(P2 + g("builtins", "getattr") + b"q\x00(h\x00tR.", "g.pkl")
    assert any(p.level == "critical" and "getattr" in p.message for p in res.problems)


def test_computed_import_is_critical():
    """STACK_GLOBAL on the result of a call (here str(b'posix', 'ascii')) cannot be resolved statically."""
    data = P4 + sg("builtins", "str") + b"(C\x05posix" + u("ascii") + b"tR" + u("system") + b"\x93)R."
    res = scan_bytes(data, "c.pkl")
    assert names(res)["builtins.str"] == "allowed"
    assert names(res)["<computed import>"] == "critical" and res.failed()


def test_dotted_names_are_judged_whole():
    res = scan_bytes(P4 + sg("collections", "OrderedDict.__init__.__globals__") + b".", "d.pkl")
    assert names(res) == {"collections.OrderedDict.__init__.__globals__": "critical"}


def test_monkeypatching_an_import_is_critical():
    data = P2 + g("collections", "OrderedDict") + b"N}" + u("__reduce__") + g("os", "system") + b"s\x86b."
    res = scan_bytes(data, "b.pkl")
    assert any("monkey-patching" in p.message for p in res.problems)


def test_allow_list_semantics():
    assert judge("collections.OrderedDict")[0] == "allowed"
    assert judge("torch._utils._rebuild_tensor_v2")[0] == "allowed"
    assert judge("mymodule.helpers.run")[0] == "error"  # on no list at all: still fails
    assert judge("torch.load")[0] == "critical"
    assert judge("pkgutil.resolve_name")[0] == "critical"
    assert judge("types.SimpleNamespace")[0] == "allowed" and judge("types.FunctionType")[0] == "critical"
    assert judge("mymodule.x", {"mymodule.x"})[0] == "cli-allowed"


def test_safe_state_dicts():
    res = scan_bytes(state_dict_pickle(("a", "b")), "p.bin")
    assert res.problems == [] and not res.failed()
    assert set(names(res)) == {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"}


def test_zip_archive(tmp_path):
    p = torch_zip(tmp_path / "pytorch_model.bin", state_dict_pickle(extra_global=("subprocess", "Popen")))
    res = scan_path(str(p))
    assert res.kind == "torch-zip" and res.pickles == 1
    assert names(res)["subprocess.Popen"] == "critical"


def test_training_args_is_allowed():
    res = scan_bytes(TRAINING_ARGS, "training_args.bin")
    assert names(res) == {"transformers.training_args.TrainingArguments": "allowed"} and not res.failed()


def test_hostile_lengths_do_not_allocate():
    """A BINBYTES8 claiming 2**62 bytes in a tiny file is unverifiable, not read."""
    res = scan_bytes(P4 + b"\x8e" + struct.pack("<Q", 1 << 62) + b"xx", "h.pkl")
    assert res.failed() and "runs past the end" in res.problems[0].message


def test_long_lines_are_read_not_refused():
    """A 100 kB argument line before the payload does not stop the scan (old scanners gave up at 4 kB)."""
    res = scan_bytes(b"(V" + b"a" * 100_000 + b"\n0cos\nsystem\n(S'x'\ntR.", "l.pkl")
    assert names(res) == {"os.system": "critical"}


@pytest.mark.parametrize("data,what", [
    (EVIL[:-5], "without a STOP"), (b"\x80\x02)0" + b"0.", "underflow"), (b"\x80\x09N.", "protocol"),
    (b"\x80\x021.", "MARK"), (b"\x80\x02N\xff", "unknown opcode"), (SYSTEM + b"\x00\x01garbage", "after the pickle"),
])
def test_could_not_verify_fails(data, what):
    res = scan_bytes(data, "bad.pkl")
    assert res.failed() and any(what in p.message and p.level == "unverifiable" for p in res.problems), res.problems


def test_payload_after_stop_is_read():
    res = scan_bytes(state_dict_pickle(("a",)) + SYSTEM, "two.pkl")
    assert res.pickles == 2 and names(res)["os.system"] == "critical"


def test_not_a_pickle():
    assert scan_bytes(b"\x00\x01binary data", "onnx_data.bin").kind is None
    assert sniff_pickle_container(b"hello world\n") is None
    assert sniff_pickle_container(b"cat\ndog\n\n") is None  # a word list is not a protocol 0 pickle
    res = scan_bytes(b"PK\x03\x04 not really a zip", "z.bin")
    assert res.failed() and res.problems[0].level == "unverifiable"


def test_nothing_is_executed(tmp_path, monkeypatch):
    """Scanning a pickle that would call os.system leaves the system untouched."""
    (tmp_path / "e.pkl").write_bytes(pickle.dumps(_Reduce(os.system, (f"touch {tmp_path}/pwned",))))
    called = []
    monkeypatch.setattr(os, "system", lambda *a: called.append(a))
    res = scan_path(str(tmp_path / "e.pkl"))
    assert res.imports and not called and not (tmp_path / "pwned").exists()


@pytest.mark.oracle
@pytest.mark.parametrize("zipfmt", [True, False])
def test_real_torch_save(tmp_path, zipfmt):
    """Files written by torch.save (zip and legacy formats) hold only allowed globals, and torch's own
    weights_only loader agrees."""
    torch = pytest.importorskip("torch")
    sd = {"w": torch.zeros(3, 4, dtype=torch.bfloat16), "p": torch.nn.Parameter(torch.ones(2)),
          "i": torch.arange(5), "h": torch.zeros(2, dtype=torch.float16)}
    p = tmp_path / "pytorch_model.bin"
    torch.save(sd, p, _use_new_zipfile_serialization=zipfmt)
    res = scan_path(str(p))
    assert res.problems == [] and res.kind == ("torch-zip" if zipfmt else "torch-legacy")
    assert "torch._utils._rebuild_tensor_v2" in res.imports
    assert not res.failed()
    torch.load(p, weights_only=True)


@pytest.mark.oracle
def test_real_torch_save_of_an_object(tmp_path):
    torch = pytest.importorskip("torch")
    p = tmp_path / "obj.pt"
    torch.save({"f": io.BytesIO}, p)
    res = scan_path(str(p))
    assert names(res)["_io.BytesIO"] == "critical"
    with pytest.raises(Exception):
        torch.load(p, weights_only=True)  # torch refuses it too
