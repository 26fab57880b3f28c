"""A Hub repo whose only weights are pickles (``pytorch_model.bin``): ``check`` scans them by range reads (the
zip's start, its central directory and the pickle member; never the tensor data, never more than the bound),
``inspect`` still refuses them (it reads safetensors headers only). Through the stand-in on 127.0.0.1.

What the other scanners do with a Hub repo: picklescan's ``--huggingface`` downloads every pickle file whole into
memory (``scan_huggingface_model``: one GET per file, no bound); ModelAudit's Hub mode downloads the repo first
(``snapshot_download``). Both download the pickle; ckptscope does too, but only the bytes the scan walks."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from hubstub import MINILM_ID, HubStub, StubFile, StubRepo, minilm_files
from pickle_corpus import SYSTEM, state_dict
from test_hub import use_env
from test_security_corpus import _sparse_torch_zip

BIN_ONLY = "old-org/bin-only"


def _bin_only_files(prefix: bytes, suffix: bytes, size: int) -> dict:
    files = {k: v for k, v in minilm_files().items() if k not in ("model.safetensors", "modules.json")}
    files["pytorch_model.bin"] = StubFile(size=size, prefix=prefix, lfs=True, etag="b" * 64, suffix=suffix)
    return files


@pytest.fixture
def stub(monkeypatch, tmp_path):
    with HubStub() as hub:
        use_env(monkeypatch, tmp_path, hub.url)
        yield hub


@pytest.mark.parametrize("payload,malicious", [(SYSTEM, True), (state_dict(), False)])
def test_check_scans_a_pickle_only_repo(run_cli, stub, payload, malicious):
    prefix, suffix, size = _sparse_torch_zip(payload, 300 << 20)
    stub.add(StubRepo(BIN_ONLY, _bin_only_files(prefix, suffix, size)))
    code, out, err = run_cli("check", BIN_ONLY, "--format", "json")
    assert code in (0, 1), err
    doc = json.loads(out)
    rules = {f["rule"] for f in doc["findings"] if f["file"] == "pytorch_model.bin"}
    assert ("PK001" in rules) == malicious, doc["findings"]
    assert "PK003" in rules  # the weights are pickles only (a warning)
    assert "PK005" not in rules
    assert code == (1 if malicious else 0)
    sent = sum(e["sent"] for e in stub.log if e["path"].endswith("pytorch_model.bin"))
    assert 0 < sent < 2 << 20, sent  # a few 64 KB blocks of a 300 MB file
    assert all(e["range"] for e in stub.log if e["path"].endswith("pytorch_model.bin"))
    assert f"pytorch_model.bin: {sent:,} of {size:,} bytes read by range requests to scan it" in doc["notes"]
    # inspect reads safetensors headers only: still one line, exit 2, saying what the repo holds
    code, out, err = run_cli("inspect", BIN_ONLY)
    assert code == 2 and "no safetensors weights" in err and ".bin x1" in err and len(err.strip().splitlines()) == 1


def test_a_pickle_over_the_download_bound_is_an_error_saying_so(run_cli, stub):
    """A torch zip whose pickle member is declared 300 MB: reading it would pass the 256 MB bound, so the scan
    stops before downloading it and says why (PK005, an error), never a pass."""
    from ckptscope.checks.pickles import REMOTE_DOWNLOAD_MAX

    name, n = b"archive/data.pkl", 300 << 20
    assert n > REMOTE_DOWNLOAD_MAX
    head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, n, n, len(name), 0) + name
    prefix = head + SYSTEM  # the real bytes at the start of the member; the rest of the declared size is zeros
    cd = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, zlib.crc32(b""), n, n, len(name), 0, 0,
                     0, 0, 0, 0) + name
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), len(head) + n, 0)
    suffix = cd + eocd
    size = len(head) + n + len(suffix)
    stub.add(StubRepo(BIN_ONLY, _bin_only_files(prefix, suffix, size)))
    code, out, err = run_cli("check", BIN_ONLY, "--format", "json")
    doc = json.loads(out)
    pk5 = [f for f in doc["findings"] if f["rule"] == "PK005" and f["file"] == "pytorch_model.bin"]
    assert code == 1 and pk5 and f"{REMOTE_DOWNLOAD_MAX:,} bytes" in pk5[0]["message"], doc["findings"]
    sent = sum(e["sent"] for e in stub.log if e["path"].endswith("pytorch_model.bin"))
    assert sent < 2 << 20, sent


def test_a_repo_with_safetensors_beside_the_pickle_is_unchanged(run_cli, stub):
    """Safetensors weights and a pickle: check scans the pickle (PK004, not PK003) as before."""
    prefix, suffix, size = _sparse_torch_zip(state_dict(), 1 << 20)
    files = dict(minilm_files())
    files["pytorch_model.bin"] = StubFile(size=size, prefix=prefix, lfs=True, etag="c" * 64, suffix=suffix)
    stub.add(StubRepo(MINILM_ID, files))
    code, out, err = run_cli("check", MINILM_ID, "--format", "json")
    rules = {f["rule"] for f in json.loads(out)["findings"] if f["file"] == "pytorch_model.bin"}
    assert "PK004" in rules and "PK003" not in rules
