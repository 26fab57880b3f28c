"""Property-based: any header, valid or mutated, either passes `check` or yields findings — never an exception —
and check's verdict on header validity agrees with the reference implementation (safetensors.safe_open)."""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from check_corpus.build import BITS
from ckptscope.checkpoint import load_checkpoint
from ckptscope.checks import CheckOptions, run_checks
from ckptscope.sources.local import LocalSource

safe_open = pytest.importorskip("safetensors").safe_open

DTYPES = sorted(BITS) + ["F6_E2M3", "F6_E3M2", "C64"]
WIDTH = {**BITS, "F6_E2M3": 6, "F6_E3M2": 6, "C64": 64}

names = st.text(alphabet="abcxyz._0123", min_size=1, max_size=6).filter(lambda s: s != "__metadata__")
tensor = st.tuples(st.sampled_from(DTYPES), st.lists(st.integers(0, 4), max_size=3))


@st.composite
def header(draw):
    ts = draw(st.dictionaries(names, tensor, max_size=4))
    hdr, pos = {}, 0
    for name, (dtype, shape) in ts.items():
        n = 1
        for d in shape:
            n *= d
        size = n * WIDTH[dtype] // 8  # sub-byte dtypes with odd counts come out wrong, on purpose
        hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [pos, pos + size]}
        pos += size
    if draw(st.booleans()):
        hdr = dict(reversed(list(hdr.items())))  # JSON order need not be offset order
    if draw(st.integers(0, 4)) == 0:
        hdr = {"__metadata__": draw(st.dictionaries(names, st.one_of(st.text(max_size=3), st.integers(0, 3)),
                                                    max_size=2)), **hdr}
    return hdr, pos


VALUES = st.one_of(st.integers(-3, 10), st.just(2 ** 63), st.just(2 ** 64 + 1), st.floats(0, 4, allow_nan=False),
                   st.text(max_size=3), st.none(), st.booleans(), st.lists(st.integers(-1, 5), max_size=3))


@st.composite
def file_bytes(draw):
    hdr, data_len = draw(header())
    length_delta, trailing = 0, 0
    text = None
    m = draw(st.integers(0, 9))
    entries = [k for k in hdr if k != "__metadata__"]
    if m == 1 and entries:  # replace one field of one entry
        k = draw(st.sampled_from(entries))
        field = draw(st.sampled_from(["dtype", "shape", "data_offsets"]))
        hdr[k][field] = draw(VALUES)
    elif m == 2 and entries:  # drop a field, or make the entry a non-object
        k = draw(st.sampled_from(entries))
        if draw(st.booleans()):
            del hdr[k][draw(st.sampled_from(["dtype", "shape", "data_offsets"]))]
        else:
            hdr[k] = draw(VALUES)
    elif m == 3 and entries:  # shift one offset
        k = draw(st.sampled_from(entries))
        i = draw(st.integers(0, 1))
        hdr[k]["data_offsets"][i] += draw(st.integers(-3, 3))
    elif m == 4:
        trailing = draw(st.integers(-3, 5))  # file longer or shorter than the data region
    elif m == 5:
        length_delta = draw(st.integers(-6, 6))  # header length field off
    elif m == 6:  # break the JSON
        text = json.dumps(hdr)
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "}", ",", "\x00", "\"", "é"])) + text[cut + 1:]
    elif m == 7:
        text = draw(st.sampled_from(["[]", "{}", "null", "{\"a\": 1}", "1"]))
    if text is None:
        text = json.dumps(hdr)
    if draw(st.booleans()):
        text += " " * draw(st.integers(0, 9))  # trailing padding is allowed
    hb = text.encode("utf-8")
    data_len = max(0, data_len + trailing)
    return struct.pack("<Q", max(0, len(hb) + length_delta)) + hb + b"\0" * data_len


_DIR = Path(tempfile.mkdtemp(prefix="ckptscope-prop-"))


def _reference_accepts(path: Path) -> bool:
    try:
        with safe_open(str(path), "np") as f:
            list(f.keys())
        return True
    except Exception:  # noqa: BLE001 - any rejection
        return False


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file_bytes())
def test_check_never_raises_and_agrees_with_safetensors(data):
    path = _DIR / "model.safetensors"
    path.write_bytes(data)
    ck = load_checkpoint(LocalSource(str(path)), strict=False, tokenizer=False)
    res = run_checks(ck, CheckOptions(select=["ST", "IX"]))
    ours_ok = not any(f.rule.startswith("ST") for f in res.findings)
    assert ours_ok == _reference_accepts(path), (data[:200], [(f.rule, f.message) for f in res.findings])
    assert res.exit_code == (0 if ours_ok else 1)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes(data):
    """Random bytes as a weight file, a pickle and a config: findings, never an exception."""
    d = _DIR / "bytes"
    d.mkdir(exist_ok=True)
    for name in ("model.safetensors", "pytorch_model.bin", "config.json", "tokenizer_config.json"):
        (d / name).write_bytes(data)
    ck = load_checkpoint(LocalSource(str(d)), strict=False)
    res = run_checks(ck, CheckOptions(select=["ALL"]))
    assert res.exit_code in (0, 1)
    if not _reference_accepts(d / "model.safetensors"):
        assert any(f.rule.startswith("ST") and f.file == "model.safetensors" for f in res.findings)
