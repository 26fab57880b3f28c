"""Snapshot files and the bundled catalog: round trip, determinism, untrusted input, provenance."""

from __future__ import annotations

import gzip
import json

import pytest

from conftest import CONFIGS, TOKENIZERS
from hubstub import FIX, minilm_files, write_local

MINILM_FACTS = json.loads((FIX / "pypi-all-minilm-l6-v2" / "model.safetensors.facts.json").read_text())


@pytest.fixture(scope="module")
def minilm_dir(tmp_path_factory):
    return write_local(minilm_files(), tmp_path_factory.mktemp("minilm"))


def test_roundtrip_gives_the_same_report(minilm_dir, tmp_path, run_cli):
    out = tmp_path / "m.ckpt.gz"
    code, _, err = run_cli("snapshot", minilm_dir, "-o", out)
    assert code == 0 and "104 tensors" in err
    code, a, _ = run_cli("inspect", minilm_dir, "--json")
    code2, b, _ = run_cli("inspect", out, "--json")
    a, b = json.loads(a), json.loads(b)
    assert code == code2 == 0 and b["source"]["kind"] == "snapshot"
    for key in ("parameters", "bytes", "tensors", "by_layer", "model", "tokenizer", "files"):
        assert a[key] == b[key], key
    assert b["bytes"]["total"] == MINILM_FACTS["data_bytes"]
    assert out.stat().st_size < 5000  # 90.9 MB of weights described in a few kB


def test_deterministic_and_plain_json(minilm_dir, tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for name in ("a.ckpt.gz", "b.ckpt.gz", "c.json"):
        assert run_cli("snapshot", minilm_dir, "-o", tmp_path / name)[0] == 0
    assert (tmp_path / "a.ckpt.gz").read_bytes() == (tmp_path / "b.ckpt.gz").read_bytes()
    text = (tmp_path / "c.json").read_text()
    assert gzip.decompress((tmp_path / "a.ckpt.gz").read_bytes()).decode() == text
    assert text.startswith('{\n "format": "ckptscope-snapshot",\n "version": 1,')
    # one tensor per line: a changed tensor is a one-line diff
    assert sum(1 for ln in text.splitlines() if '"data_offsets"' in ln) == MINILM_FACTS["n_tensors"]
    assert '"created": "2023-11-14T22:13:20+00:00"' in text
    assert run_cli("inspect", tmp_path / "c.json", "--json")[0] == 0


def test_tokenizer_summary_keeps_byte_totals(tmp_path, run_cli):
    """The summary replaces tokenizer.json: counts and UTF-8 byte totals of tokens and merges (for GGUF estimates),
    checked against the real file read with plain json."""
    from ckptscope.sources.snapshot import SnapshotSource

    tj = json.loads((TOKENIZERS / "qwen3" / "tokenizer.json").read_text())
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text((CONFIGS / "Qwen__Qwen3-30B-A3B" / "config.json").read_text())
    (d / "tokenizer.json").write_text(json.dumps(tj))
    assert run_cli("snapshot", d, "-o", tmp_path / "q.ckpt.gz")[0] == 0
    info = SnapshotSource(str(tmp_path / "q.ckpt.gz")).tokenizer_info()
    vocab = tj["model"]["vocab"]
    added = {a["id"]: a["content"] for a in tj["added_tokens"]}
    toks = {**{i: t for t, i in vocab.items()}, **added}
    assert info.max_id == max(toks) and len(info.added_tokens) == len(added)
    assert info.tokens_summary["bytes"] == sum(len(t.encode()) for t in toks.values())
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    assert info.merges_summary == {"count": len(merges), "bytes": sum(len(m.encode()) for m in merges)}


@pytest.mark.parametrize("mutate,expect", [
    (lambda s: s.replace('"version": 1', '"version": 99'), "version 99"),
    (lambda s: s.replace('"data_offsets": [0, ', '"data_offsets": [4, '), "model.safetensors"),
    (lambda s: s[: len(s) // 2], "not valid JSON"),
])
def test_damaged_snapshots_fail_in_one_line(minilm_dir, tmp_path, run_cli, mutate, expect):
    run_cli("snapshot", minilm_dir, "-o", tmp_path / "ok.json")
    bad = tmp_path / "bad.json"
    bad.write_text(mutate((tmp_path / "ok.json").read_text()))
    code, out, err = run_cli("inspect", bad)
    assert code == 2 and expect in err and len(err.strip().splitlines()) == 1


def test_not_every_gzip_or_json_is_a_snapshot(tmp_path):
    from ckptscope.sources.snapshot import is_snapshot_file

    (tmp_path / "x.gz").write_bytes(gzip.compress(b'{"format": "other"}'))
    (tmp_path / "y.json").write_text('{"weight_map": {}}')
    (tmp_path / "z.gz").write_bytes(b"\x1f\x8b garbage")
    assert not any(is_snapshot_file(str(tmp_path / n)) for n in ("x.gz", "y.json", "z.gz"))


# ------------------------------------------------------------------------------------------------ catalog

def test_catalog_deepseek_v3_offline_says_so(tmp_path, monkeypatch, run_cli):
    """The README example on a fresh machine with no network: the bundled snapshot, marked reconstructed."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    code, out, err = run_cli("inspect", "deepseek-ai/DeepSeek-V3", "--offline", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["source"]["kind"] == "catalog" and r["source"]["provenance"]["kind"] == "reconstructed"
    assert "BUNDLED CATALOG" in r["notes"][0] and "RECONSTRUCTED" in r["notes"][0]
    assert len(r["source"]["weights"]) == 163
    cfg = json.loads((CONFIGS / "deepseek-ai__DeepSeek-V3" / "config.json").read_text())
    assert r["model"]["vocab_size"] == cfg["vocab_size"] and r["model"]["num_hidden_layers"] == 61
    assert r["tokenizer"]["vocab_size"] >= 128000


def test_catalog_entries_carry_provenance():
    from ckptscope.sources import catalog
    from ckptscope.sources.snapshot import load

    ents = catalog.entries()
    assert {"deepseek-ai/DeepSeek-V3", "meta-llama/Llama-3.1-8B", "Qwen/Qwen3-30B-A3B",
            "mistralai/Mixtral-8x7B-v0.1", "google/gemma-2-9b"} <= set(ents)
    for rid, ent in ents.items():
        snap = load(ent.path)
        prov = snap["provenance"]
        assert prov["kind"] in ("reconstructed", "read") and prov["note"], rid
        assert snap["source"]["name"] == rid
        cfg = (CONFIGS / rid.replace("/", "__") / "config.json")
        if prov["kind"] == "reconstructed":  # built from the real config: it is carried verbatim
            assert snap["text_files"]["config.json"] == cfg.read_text(), rid
