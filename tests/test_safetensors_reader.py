"""The safetensors header reader against real files and every kind of malformed header."""

from __future__ import annotations

import json
import struct

import pytest
from conftest import CHECKPOINTS
from stwriter import header_for, write_raw, write_st

from ckptscope.errors import HeaderError
from ckptscope.readers.safetensors import MAX_HEADER_BYTES, read_header_file

SAMPLES = CHECKPOINTS / "github-huggingface-safetensors-samples"


def test_reference_sample_files():
    """The safetensors project's own samples: one 6-element tensor per dtype, and all nine in overall.safetensors."""
    expect = {"B": "U8", "H": "U16", "I": "U32", "b": "I8", "h": "I16", "i": "I32", "e": "F16", "f": "F32", "d": "F64"}
    for letter, dtype in expect.items():
        h = read_header_file(str(SAMPLES / f"{letter}.safetensors"))
        assert [(t.name, t.dtype, t.shape) for t in h.tensors] == [(letter, dtype, (6,))]
        assert h.metadata == {"test": "a"}
    h = read_header_file(str(SAMPLES / "overall.safetensors"))
    assert {t.name: t.dtype for t in h.tensors} == expect
    assert sum(t.nbytes for t in h.tensors) == 6 * (1 + 2 + 4 + 1 + 2 + 4 + 2 + 4 + 8)
    assert 8 + h.header_len + h.data_size == (SAMPLES / "overall.safetensors").stat().st_size == 702


def test_agrees_with_safetensors_library_on_samples():
    safetensors = pytest.importorskip("safetensors")
    for f in sorted(SAMPLES.glob("*.safetensors")):
        with safetensors.safe_open(str(f), "np") as st:
            lib = {k: tuple(st.get_slice(k).get_shape()) for k in st.keys()}
        ours = {t.name: t.shape for t in read_header_file(str(f)).tensors}
        assert ours == lib


@pytest.mark.parametrize("dtype,shape,nbytes", [
    ("F8_E4M3", [4, 4], 16), ("F8_E5M2", [3], 3), ("F8_E8M0", [5], 5), ("BF16", [2, 3], 12), ("BOOL", [7], 7),
    ("U64", [2], 16), ("I64", [1, 512], 4096), ("F4", [4, 8], 16), ("F6_E2M3", [4], 3), ("F6_E3M2", [8], 6),
    ("F64", [0, 5], 0), ("U16", [], 2),
])
def test_all_dtypes_accepted(tmp_path, dtype, shape, nbytes):
    f = write_st(tmp_path / "x.safetensors", {"t": (dtype, shape)})
    (t,) = read_header_file(str(f)).tensors
    assert (t.dtype, list(t.shape), t.nbytes) == (dtype, shape, nbytes)


def _err(path) -> str:
    with pytest.raises(HeaderError) as e:
        read_header_file(str(path))
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_empty_file(tmp_path):
    p = tmp_path / "empty.safetensors"
    p.write_bytes(b"")
    assert "empty" in _err(p)


def test_too_short(tmp_path):
    p = tmp_path / "short.safetensors"
    p.write_bytes(b"\x05\x00\x00")
    assert "too short" in _err(p)


def test_lfs_pointer(tmp_path):
    p = tmp_path / "model.safetensors"
    p.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 2669283096\n")
    assert "git-LFS pointer" in _err(p)


def test_header_longer_than_file(tmp_path):
    p = write_raw(tmp_path / "x.safetensors", b"{}      ", 0, length=4096)
    assert "runs past the end" in _err(p)


def test_huge_header_claim_is_rejected_before_allocating(tmp_path):
    # A file that claims a 2^63-byte header: must fail on the number, not try to read/allocate it.
    p = tmp_path / "x.safetensors"
    p.write_bytes(struct.pack("<Q", 2**63 - 1) + b"{}")
    msg = _err(p)
    assert "exceeds" in msg and f"{MAX_HEADER_BYTES:,}" in msg


def test_not_json(tmp_path):
    p = write_raw(tmp_path / "x.safetensors", b'{"a": [1, 2', 0)
    assert "not valid JSON" in _err(p)


def test_not_an_object(tmp_path):
    p = write_raw(tmp_path / "x.safetensors", b"[1, 2, 3]", 0)
    assert "does not start with '{'" in _err(p)


def test_unknown_dtype(tmp_path):
    p = write_raw(tmp_path / "x.safetensors", {"t": {"dtype": "Q4_K", "shape": [2], "data_offsets": [0, 2]}}, 2)
    assert "unknown dtype 'Q4_K'" in _err(p)


def test_negative_dim(tmp_path):
    p = write_raw(tmp_path / "x.safetensors", {"t": {"dtype": "U8", "shape": [-2, 4], "data_offsets": [0, 0]}}, 0)
    assert "negative" in _err(p)


def test_non_integer_dim(tmp_path):
    p = write_raw(tmp_path / "x.safetensors", {"t": {"dtype": "U8", "shape": [2.5], "data_offsets": [0, 2]}}, 2)
    assert "non-integer" in _err(p)


def test_overflowing_shape(tmp_path):
    p = write_raw(tmp_path / "x.safetensors",
                  {"t": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 8]}}, 8)
    assert "overflows" in _err(p)


def test_span_does_not_match_dtype_and_shape(tmp_path):
    p = write_raw(tmp_path / "x.safetensors", {"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}, 12)
    assert "needs 16 bytes but data_offsets span 12" in _err(p)


def test_offsets_past_end_of_file(tmp_path):
    h, size = header_for({"a": ("F32", [4]), "b": ("F32", [4])})
    p = write_raw(tmp_path / "x.safetensors", h, size - 8)  # file truncated by 8 bytes
    assert "past the" in _err(p)


def test_overlapping_tensors(tmp_path):
    h = {"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]},
         "b": {"dtype": "U8", "shape": [8], "data_offsets": [4, 12]}}
    p = write_raw(tmp_path / "x.safetensors", h, 12)
    assert "overlap" in _err(p)


def test_gap_between_tensors(tmp_path):
    h = {"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]},
         "b": {"dtype": "U8", "shape": [8], "data_offsets": [16, 24]}}
    p = write_raw(tmp_path / "x.safetensors", h, 24)
    assert "gap of 8 bytes" in _err(p)


def test_trailing_data_not_covered(tmp_path):
    h, size = header_for({"a": ("F32", [4])})
    p = write_raw(tmp_path / "x.safetensors", h, size + 100)
    assert "tensors cover only 16" in _err(p)


def test_bad_offsets_shape(tmp_path):
    p = write_raw(tmp_path / "x.safetensors", {"t": {"dtype": "U8", "shape": [2], "data_offsets": [2, 0]}}, 2)
    assert "data_offsets" in _err(p)


def test_duplicate_key(tmp_path):
    text = b'{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'
    p = write_raw(tmp_path / "x.safetensors", text, 2)
    assert "duplicate key 't'" in _err(p)


def test_metadata_must_be_strings(tmp_path):
    h, size = header_for({"a": ("U8", [1])}, metadata={"format": 3})
    p = write_raw(tmp_path / "x.safetensors", h, size)
    assert "__metadata__" in _err(p)


def test_collect_mode_returns_every_problem(tmp_path):
    from ckptscope.readers.safetensors import parse_header

    h = {"ok": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
         "bad_dtype": {"dtype": "X9", "shape": [4], "data_offsets": [4, 8]},
         "bad_span": {"dtype": "F32", "shape": [4], "data_offsets": [8, 10]}}
    p = write_raw(tmp_path / "x.safetensors", h, 10)
    info = parse_header(p.read_bytes(), "x.safetensors", p.stat().st_size, strict=False)
    assert [t.name for t in info.tensors] == ["ok"]
    assert {pr.code for pr in info.problems} >= {"ST005", "ST007"}


def test_real_minilm_header_is_parsed_exactly(tmp_path):
    """The byte-exact first 11,416 bytes of all-MiniLM-L6-v2's model.safetensors, as a sparse file of the real size."""
    src = CHECKPOINTS / "pypi-all-minilm-l6-v2"
    facts = json.loads((src / "model.safetensors.facts.json").read_text())
    p = tmp_path / "model.safetensors"
    p.write_bytes((src / "model.safetensors.head").read_bytes())
    with open(p, "r+b") as f:
        f.truncate(facts["size_bytes"])
    h = read_header_file(str(p))
    assert h.header_len == facts["header_len"] == 11408
    assert len(h.tensors) == facts["n_tensors"] == 104
    assert sum(t.nbytes for t in h.tensors) == facts["data_bytes"]
    from collections import Counter

    assert dict(Counter(t.dtype for t in h.tensors)) == facts["dtypes"]
    assert h.metadata == facts["metadata"]


def test_hostile_shape_with_many_huge_dims_fails_fast(tmp_path):
    # 200,000 dimensions of 2^62: multiplying them all would build a 12-million-bit integer; the reader stops at the
    # second one. (A hang here would show as a stuck test run.)
    dims = ",".join(["4611686018427387904"] * 200_000)
    text = '{"t":{"dtype":"U8","shape":[' + dims + '],"data_offsets":[0,0]}}'
    p = write_raw(tmp_path / "x.safetensors", text, 0)
    msg = _err(p)
    assert "overflows" in msg and len(msg) < 300


# The reader checks an entry whose (dtype, shape) it has already seen with a few look-ups, and only when one search
# of the header text shows plain integers in every shape and offset. Each header below repeats a valid shape, then
# smuggles a value that compares equal to it (1.0 == 1, true == 1) or hides the key behind a JSON escape: every
# entry must still get every check.
def _raw(tmp_path, header: str, data: int):
    p = tmp_path / "x.safetensors"
    b = header.encode()
    p.write_bytes(struct.pack("<Q", len(b)) + b + b"\0" * data)
    return p


@pytest.mark.parametrize("second", [
    '"b": {"dtype": "F16", "shape": [2.0, 3], "data_offsets": [12, 24]}',
    '"b": {"dtype": "F16", "shape": [true, 6], "data_offsets": [12, 24]}',
    '"b": {"dtype": "F16", "\\u0073hape": [2.0, 3], "data_offsets": [12, 24]}',
    '"b": {"dtype": "F16", "shape": [2, 3], "data_offsets": [12.0, 24]}',
    '"b": {"dtype": "F16", "shape": [2, 3], "data_offsets": "12"}',
    '"b": {"dtype": ["F16"], "shape": [2, 3], "data_offsets": [12, 24]}',
    '"b": [1, 2, 3]',
])
def test_a_repeated_shape_with_a_lookalike_value_is_still_refused(tmp_path, second):
    first = '"a": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]}'
    if "true, 6" in second:
        first = '"a": {"dtype": "F16", "shape": [1, 6], "data_offsets": [0, 12]}'
    p = _raw(tmp_path, "{" + first + ", " + second + "}", 24)
    with pytest.raises(HeaderError):
        read_header_file(str(p))
    h = read_header_file(str(p), strict=False)
    assert [t.name for t in h.tensors] == ["a"]  # the second entry is refused, the first kept
    assert {pr.code for pr in h.problems} & {"ST004", "ST006"}


def test_many_entries_of_one_shape_all_checked_for_their_spans(tmp_path):
    """Entries of one (dtype, shape) take the short path; a wrong span, an overlap or a gap is still found."""
    ents = [f'"t{i}": {{"dtype": "F32", "shape": [4], "data_offsets": [{16 * i}, {16 * i + 16}]}}' for i in range(50)]
    good = _raw(tmp_path, "{" + ", ".join(ents) + "}", 800)
    assert len(read_header_file(str(good)).tensors) == 50
    for bad_ent, code in ((f'"t7": {{"dtype": "F32", "shape": [4], "data_offsets": [112, 127]}}', "ST007"),
                          (f'"t7": {{"dtype": "F32", "shape": [4], "data_offsets": [104, 120]}}', "ST009")):
        e = list(ents)
        e[7] = bad_ent
        h = read_header_file(str(_raw(tmp_path, "{" + ", ".join(e) + "}", 800)), strict=False)
        assert code in {pr.code for pr in h.problems}
