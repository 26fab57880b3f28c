"""The generated corpus (tests/pickle_corpus.py) end to end: every malicious sample fails the gate, every
benign file written by the real libraries passes; the CLI, the repository-settings guard, the Hub range reads,
and random opcode streams."""

from __future__ import annotations

import json
import os
import pickle
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pickle_corpus import SYSTEM, benign, malicious, state_dict
from ckptscope.security import scan_bytes, scan_path

MAL = {s.name: s for s in malicious()}
BEN = {s.name: s for s in benign()}


@pytest.mark.parametrize("name", sorted(MAL))
def test_malicious_fails(name, tmp_path):
    s = MAL[name]
    p = tmp_path / s.filename
    p.write_bytes(s.data)
    res = scan_path(str(p), s.filename)
    assert res.pickle_based and res.failed(), (s.technique, [(v.name, v.verdict) for v in res.verdicts()],
                                               res.problems)


@pytest.mark.parametrize("name", sorted(BEN))
def test_benign_passes(name, tmp_path):
    s = BEN[name]
    p = tmp_path / s.filename
    p.write_bytes(s.data)
    res = scan_path(str(p), s.filename)
    assert res.pickle_based, s.name
    assert not res.failed(), ([(v.name, v.verdict) for v in res.verdicts() if v.verdict != "allowed"],
                              res.problems)


@pytest.mark.parametrize("lib,prefix", [("torch", "torch_"), ("transformers", "training_args_"),
                                        ("sklearn", "sklearn_"), ("tokenizers", "tokenizers_"), ("numpy", "npy_")])
def test_benign_material_from_each_library(lib, prefix):
    """Each installed library contributed its files to the benign set (skipped, not silently empty)."""
    pytest.importorskip(lib)
    if lib == "transformers":
        pytest.importorskip("accelerate")
    assert any(n.startswith(prefix) for n in BEN), sorted(BEN)


def test_sklearn_joblib_arrays_are_stepped_over():
    """joblib stores array bytes between opcodes; the walk steps over them to the real end of the stream."""
    pytest.importorskip("sklearn")
    res = scan_bytes(BEN["sklearn_forest_joblib_plain"].data, "forest.joblib")
    assert res.problems == [] and any(n.startswith("sklearn.ensemble") for n in res.imports)


def test_legacy_torch_reads_all_five_pickles():
    pytest.importorskip("torch")
    res = scan_bytes(BEN["torch_sd_legacy_p2"].data, "m.bin")
    assert res.kind == "torch-legacy" and res.pickles == 5


@pytest.mark.parametrize("name,why", [
    ("zip_bad_crc", "bad CRC"), ("zip_encrypted_flag", "encrypted"), ("zip_duplicate_member", "two members"),
    ("zip_local_name_differs", "decoy"), ("torchscript_code", "TorchScript"), ("nested_zip_12", "nested more"),
])
def test_archive_problems_are_named(name, why):
    res = scan_bytes(MAL[name].data, MAL[name].filename)
    assert any(why in p.message for p in res.problems), res.problems


# --- random opcode streams ---------------------------------------------------------------------------------

OPS = list(b"().0123BCFGIJKLMNPQRSTUVXabcdeghijlopqrstu}]" + bytes(range(0x80, 0x99)))
PIECES = st.one_of(st.sampled_from([bytes([o]) for o in OPS]), st.binary(max_size=9),
                   st.sampled_from([b"os\n", b"system\n", b"\x8c\x02os", b"\x8c\x06system", b"h\x00", b"q\x00",
                                    b"\x94", b"(", b"t", b"R", b"\x93", b"'x'\n", b"\x80\x04", b"."]))


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, max_size=200))
def test_random_opcode_streams_never_crash(pieces):
    data = b"\x80\x04" + b"".join(pieces)
    res = scan_bytes(data, "fuzz.pkl")
    assert res.kind is not None
    res.failed()  # judging never raises either


@settings(max_examples=100, deadline=2000)
@given(st.binary(max_size=2000))
def test_random_bytes_in_containers_never_crash(blob):
    for data in (b"PK\x03\x04" + blob, b"\x93NUMPY\x01\x00" + blob, zlib.compress(b"\x80\x02" + blob), blob):
        scan_bytes(data, "x.bin").failed()


# --- the check command -------------------------------------------------------------------------------------

def test_check_single_pickle_file(run_cli, tmp_path):
    p = tmp_path / "model.bin"
    p.write_bytes(SYSTEM)
    code, out, err = run_cli("check", str(p))
    assert code == 1 and "PK001" in out and "os.system" in out and "ST0" not in out, out
    code, out, _ = run_cli("check", str(p), "--allow-global", "os.system", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and [f["rule"] for f in doc["findings"]] == ["PK006"]
    assert "os.system" in doc["findings"][0]["message"]


def test_check_single_benign_state_dict(run_cli, tmp_path):
    p = tmp_path / "pytorch_model.bin"
    p.write_bytes(state_dict())
    code, out, _ = run_cli("check", str(p))
    assert code == 0 and "PK003" in out and "error" not in out.split("Found")[0], out


def test_files_found_by_content_not_name(run_cli, tmp_path):
    from check_corpus.build import model

    model(tmp_path)
    (tmp_path / "weights.PT").write_bytes(SYSTEM)
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "blob").write_bytes(zlib.compress(SYSTEM))
    code, out, _ = run_cli("check", str(tmp_path))
    assert code == 1
    assert "weights.PT: PK001" in out and "extra/blob: PK001" in out, out


def test_repository_cannot_switch_off_its_pickle_check(run_cli, tmp_path):
    from check_corpus.build import model

    model(tmp_path)
    (tmp_path / "optimizer.pt").write_bytes(SYSTEM)
    (tmp_path / ".ckptscope.toml").write_text('ignore = ["PK"]\nselect = ["ST"]\n[severity]\nPK001 = "info"\n')
    code, out, _ = run_cli("check", str(tmp_path))
    assert code == 1 and "PK001 error" in out, out
    assert out.count(": PK007 warning") == 3, out  # ignore, select and severity each refused
    code, out, _ = run_cli("check", str(tmp_path), "--ignore", "PK001,PK007")  # the command line can
    assert code == 0, out


# --- the Hub: range reads ----------------------------------------------------------------------------------

def _sparse_torch_zip(pkl: bytes, data_size: int) -> tuple[bytes, bytes, int]:
    """(prefix, suffix, size) of a stored torch zip whose one tensor member is ``data_size`` zero bytes."""
    import struct

    def local(name: bytes, crc: int, n: int) -> bytes:
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, n, n, len(name), 0) + name

    names = [b"archive/data.pkl", b"archive/version", b"archive/data/0"]
    crc0 = 0
    chunk = b"\0" * (1 << 20)
    for i in range(0, data_size, len(chunk)):
        crc0 = zlib.crc32(chunk[:min(len(chunk), data_size - i)], crc0)
    bodies = [pkl, b"3\n", None]
    crcs = [zlib.crc32(pkl), zlib.crc32(b"3\n"), crc0]
    sizes = [len(pkl), 2, data_size]
    prefix, offsets = b"", []
    for n, b, c, sz in zip(names, bodies, crcs, sizes):
        offsets.append(len(prefix))
        prefix += local(n, c, sz) + (b if b is not None else b"")
    data_end = len(prefix) + data_size
    cd = b""
    for n, c, sz, off in zip(names, crcs, sizes, offsets):
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, c, sz, sz, len(n), 0, 0, 0, 0, 0,
                          off) + n
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 3, 3, len(cd), data_end, 0)
    suffix = cd + eocd
    return prefix, suffix, data_end + len(suffix)


@pytest.mark.parametrize("payload,fails", [(SYSTEM, True), (state_dict(), False)])
def test_hub_pickle_scanned_by_range_reads(run_cli, monkeypatch, tmp_path, payload, fails):
    """A 300 MB torch zip on the Hub: the scan reads its start, its central directory and the pickle member,
    never the tensor bytes; the download is reported."""
    from hubstub import MINILM_ID, HubStub, StubFile, StubRepo, minilm_files
    from test_hub import use_env

    prefix, suffix, size = _sparse_torch_zip(payload, 300 << 20)
    files = dict(minilm_files())
    files["pytorch_model.bin"] = StubFile(size=size, prefix=prefix, lfs=True, etag="e" * 64, suffix=suffix)
    with HubStub() as hub:
        hub.add(StubRepo(MINILM_ID, files))
        use_env(monkeypatch, tmp_path, hub.url)
        code, out, err = run_cli("check", MINILM_ID, "--format", "json")
        sent = sum(e["sent"] for e in hub.log if e["path"].endswith("pytorch_model.bin"))
    doc = json.loads(out)
    rules = {f["rule"] for f in doc["findings"] if f["file"] == "pytorch_model.bin"}
    assert ("PK001" in rules) == fails and "PK005" not in rules, doc["findings"]
    pk_errors = [f for f in doc["findings"] if f["rule"].startswith("PK") and f["severity"] == "error"]
    assert bool(pk_errors) == fails and (code == 1 if fails else True)
    assert 0 < sent < 2 << 20, sent  # a few blocks out of 300 MB
    note = next(n for n in doc["notes"] if n.startswith("pytorch_model.bin:"))
    assert f"of {size:,} bytes read by range requests" in note


def test_nothing_unpickled_anywhere(monkeypatch, tmp_path):
    """The whole malicious corpus is scanned with pickle's loaders replaced by tripwires."""
    def boom(*a, **k):
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)
    for s in MAL.values():
        scan_bytes(s.data, s.filename)
    _ = os


def test_range_buffer_reads_only_what_the_walk_touches():
    """A remote plain pickle: a 20 MB BINBYTES8 payload is skipped by offset, the call after it is found."""
    import struct

    from ckptscope.security.remote import scan_remote

    blob = b"\x80\x04" + b"\x8e" + struct.pack("<Q", 20 << 20) + b"\0" * (20 << 20) + b"0" + SYSTEM[2:]
    reads = []

    def fetch(a, b):
        reads.append((a, b))
        return blob[a:b]

    res, fetched = scan_remote(fetch, len(blob), "big.pkl", 64 << 20)
    assert res is not None and "os.system" in res.imports and res.failed()
    assert fetched < 1 << 20 and len(reads) <= 4, reads
    res, _ = scan_remote(fetch, len(blob), "big.pkl", 1 << 10)  # a download bound too small: not a pass
    assert res is not None and res.failed() and any("download" in p.message for p in res.problems)
