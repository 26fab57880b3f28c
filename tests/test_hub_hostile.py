"""A hostile or broken Hub on the ranged path (162 shards, the sharded-metadata endpoint off): every lie is refused
in one line naming the file, nothing is read whole, the totals are exact whenever the answer is."""

from __future__ import annotations

import struct

import pytest

from hubstub import LLAMA70_ID, HubStub, StubFile, StubRepo, llama70_files
from test_hub import LLAMA70_TOTAL, use_env

SHARD = "model-00007-of-00162.safetensors"


@pytest.fixture(scope="module")
def files():
    return llama70_files()


@pytest.fixture
def hub(files, monkeypatch, tmp_path):
    with HubStub() as stub:
        stub.add(StubRepo(LLAMA70_ID, dict(files)))
        stub.faults.sharded_metadata = False
        use_env(monkeypatch, tmp_path, stub.url)
        yield stub


def _header_bytes(files) -> int:
    return sum(len(f.prefix) for n, f in files.items() if n.endswith(".safetensors"))


def test_server_ignoring_range_on_every_shard(hub, files, run_cli):
    """200 and the whole multi-GB file to every ranged GET: each stream is read to the end of its header and
    closed; the totals are exact."""
    import json

    hub.faults.ignore_range = True
    code, out, err = run_cli("inspect", LLAMA70_ID, "--json", "--no-tokenizer")
    assert code == 0, err
    d = json.loads(out)
    assert d["bytes"]["total"] == LLAMA70_TOTAL
    shard_size = max(f.size for n, f in files.items() if n.endswith(".safetensors"))
    assert shard_size > 1 << 30
    index = len(files["model.safetensors.index.json"].prefix)
    # what the client read: the headers, the index, and at most one network chunk past each header
    assert d["source"]["bytes_read"] <= _header_bytes(files) + index + 162 * (1 << 20)
    assert any("ignored the Range" in n for n in d["notes"])


def test_header_length_past_the_end_of_the_file(hub, files, run_cli):
    f = files[SHARD]
    size = 50_000_000  # a (short) shard whose header claims to be longer than the file, under the 100 MB limit
    bad = struct.pack("<Q", size - 4) + f.prefix[8:]
    hub.repos[LLAMA70_ID].files[SHARD] = StubFile(size=size, prefix=bad, lfs=True, etag=f.etag)
    code, out, err = run_cli("inspect", LLAMA70_ID, "--no-tokenizer")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert SHARD in err and "runs past the end" in err
    big = sum(e["sent"] for e in hub.log if e["path"].endswith(SHARD))
    assert big < 1 << 20  # the claimed length was never requested


def test_header_length_over_the_limit(hub, files, run_cli):
    from ckptscope.readers.safetensors import MAX_HEADER_BYTES

    f = files[SHARD]
    bad = struct.pack("<Q", MAX_HEADER_BYTES + 1) + f.prefix[8:]
    hub.repos[LLAMA70_ID].files[SHARD] = StubFile(size=f.size, prefix=bad, lfs=True, etag=f.etag)
    code, out, err = run_cli("inspect", LLAMA70_ID, "--no-tokenizer")
    assert code == 2 and SHARD in err and "exceeds" in err and len(err.strip().splitlines()) == 1, err
    assert sum(e["sent"] for e in hub.log if e["path"].endswith(SHARD)) < 1 << 20


def test_content_range_naming_another_file_size(hub, run_cli):
    hub.faults.range_total = 12345
    code, out, err = run_cli("inspect", LLAMA70_ID, "--no-tokenizer")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "12345 bytes" in err and "repo listing" in err


def test_body_always_shorter_than_the_range(hub, run_cli, monkeypatch):
    """A server that always sends fewer bytes than the range it claims: retried, then refused naming the file
    and how much came (never taken as a header)."""
    from ckptscope.sources import hub as hubmod

    monkeypatch.setattr(hubmod, "_backoff", lambda *a, **k: None)  # the retries themselves, without the waits
    hub.faults.short_range = {SHARD: 100}
    code, out, err = run_cli("inspect", LLAMA70_ID, "--no-tokenizer")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert SHARD in err and "truncated range response: 100 of" in err and "after 5 tries" in err
    assert [e["status"] for e in hub.log if e["path"].endswith(SHARD)] == [206] * 5
