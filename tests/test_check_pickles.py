"""The static pickle scanner: it names the globals a pickle imports without ever unpickling it."""

from __future__ import annotations

import io
import os
import pickle
import struct

import pytest

from check_corpus.build import EVIL, TRAINING_ARGS, _global, _sg, state_dict_pickle, torch_zip
from ckptscope.checks.pickle_scan import MAX_LINE, classify_global, scan_bytes, scan_file


class _Reduce:
    """Pickles as a call to ``fn(*args)``; pickling writes the call, it never makes it."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_names_dangerous_globals_every_protocol(protocol):
    data = pickle.dumps({"a": [1, 2.5, "s", b"b" * 300], "x": _Reduce(os.system, ("echo",))}, protocol=protocol)
    res = scan_bytes(data, "x.pkl")
    assert res.error is None and res.kind == "pickle"
    assert f"{os.system.__module__}.system" in res.globals
    assert classify_global(f"{os.system.__module__}.system") == "dangerous"


def test_stack_global_through_the_memo():
    """protocol 4 writes module and name as memoized strings; a later GET reuses them."""
    data = (b"\x80\x04" + _sg("collections", "OrderedDict")
            + b"\x8c\x08builtins\x94\x8c\x04eval\x94"  # memo 3, 4
            + b"h\x03h\x04\x93\x94" + b"\x8c\x011\x85R" + b"\x86.")
    res = scan_bytes(data, "m.pkl")
    assert res.error is None
    assert res.globals == ["collections.OrderedDict", "builtins.eval"]


def test_computed_import_is_dangerous():
    """STACK_GLOBAL on values that are not plain strings (here the result of a call) cannot be resolved."""
    data = b"\x80\x04" + _sg("builtins", "str") + b"\x8c\x02os\x85R\x8c\x06system\x93)R."
    res = scan_bytes(data, "c.pkl")
    assert "builtins.str" in res.globals
    assert any(classify_global(g) == "dangerous" and g.startswith("<") for g in res.globals)


def test_inst_opcode_counts_as_import():
    res = scan_bytes(b"(S'ls'\nios\nsystem\n.", "i.pkl")
    assert res.globals == ["os.system"]


def test_safe_state_dicts():
    res = scan_bytes(state_dict_pickle(("a", "b")), "p.bin")
    assert res.error is None
    assert set(res.globals) == {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"}
    assert all(classify_global(g) == "safe" for g in res.globals)


def test_zip_archive(tmp_path):
    p = torch_zip(tmp_path / "pytorch_model.bin", state_dict_pickle(extra_global=("subprocess", "Popen")))
    res = scan_file(str(p))
    assert res.kind == "zip" and res.pickles == 1 and res.error is None
    assert classify_global("subprocess.Popen") == "dangerous" and "subprocess.Popen" in res.globals


def test_training_args_is_unknown_not_dangerous():
    res = scan_bytes(TRAINING_ARGS, "training_args.bin")
    assert res.globals == ["transformers.training_args.TrainingArguments"]
    assert classify_global(res.globals[0]) == "unknown"


def test_hostile_lengths_do_not_allocate():
    """A BINBYTES8 claiming 2**62 bytes in a tiny file is reported as truncated, not read."""
    data = b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"xx"
    res = scan_bytes(data, "h.pkl")
    assert res.error and "truncated" in res.error
    res = scan_bytes(b"\x80\x02c" + b"a" * (MAX_LINE + 10) + b"\n", "l.pkl")
    assert res.error and "longer than" in res.error


@pytest.mark.parametrize("data,what", [
    (EVIL[:-5], "truncated"), (b"\x80\x02)0" + b".", "stack underflow"), (b"\x80\x09N.", "protocol"),
    (b"\x80\x021.", "without MARK"), (b"\x80\x02N\xff", "unknown opcode"),
])
def test_malformed(data, what):
    res = scan_bytes(data, "bad.pkl")
    assert res.error and what in res.error


def test_not_a_pickle():
    assert scan_bytes(b"\x00\x01binary data", "onnx_data.bin").kind == "not-pickle"
    assert scan_bytes(b"PK\x03\x04 not really a zip", "z.bin").error.startswith("not a readable zip")


def test_nothing_is_executed(tmp_path, monkeypatch):
    """Scanning a pickle that would call os.system leaves the system untouched."""
    (tmp_path / "e.pkl").write_bytes(pickle.dumps(_Reduce(os.system, (f"touch {tmp_path}/pwned",))))
    called = []
    monkeypatch.setattr(os, "system", lambda *a: called.append(a))
    res = scan_file(str(tmp_path / "e.pkl"))
    assert res.globals and not called and not (tmp_path / "pwned").exists()


@pytest.mark.oracle
@pytest.mark.parametrize("zipfmt", [True, False])
def test_real_torch_save(tmp_path, zipfmt):
    """Files written by torch.save (zip and legacy formats) hold only globals of the safe set."""
    torch = pytest.importorskip("torch")
    sd = {"w": torch.zeros(3, 4, dtype=torch.bfloat16), "p": torch.nn.Parameter(torch.ones(2)),
          "i": torch.arange(5), "h": torch.zeros(2, dtype=torch.float16)}
    p = tmp_path / "pytorch_model.bin"
    torch.save(sd, p, _use_new_zipfile_serialization=zipfmt)
    res = scan_file(str(p))
    assert res.error is None and res.kind == ("zip" if zipfmt else "legacy")
    assert "torch._utils._rebuild_tensor_v2" in res.globals
    assert [g for g in res.globals if classify_global(g) != "safe"] == []
    # and torch's own safe loader agrees that nothing else is needed
    torch.load(p, weights_only=True)


@pytest.mark.oracle
def test_real_torch_save_of_an_object(tmp_path):
    torch = pytest.importorskip("torch")
    p = tmp_path / "obj.pt"
    torch.save({"f": io.BytesIO}, p)
    res = scan_file(str(p))
    assert "_io.BytesIO" in res.globals and classify_global("_io.BytesIO") == "unknown"
    with pytest.raises(Exception):
        torch.load(p, weights_only=True)  # torch refuses it too
