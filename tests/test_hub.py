"""The Hub source end to end: real huggingface_hub code against the stand-in on 127.0.0.1 (never the network)."""

from __future__ import annotations

import json
import os
import socket

import pytest

from hubstub import (FIX, LLAMA70_ID, MINILM_ID, HubStub, StubRepo, llama70_files, minilm_files, small_file,
                     write_local)

LLAMA70_TOTAL = json.loads((FIX / "github-reflection-llama-3.1-70b" / "model.safetensors.index.json")
                           .read_text())["metadata"]["total_size"]
MINILM_FACTS = json.loads((FIX / "pypi-all-minilm-l6-v2" / "model.safetensors.facts.json").read_text())


@pytest.fixture(scope="module")
def material():
    return {"minilm": minilm_files(), "llama70": llama70_files()}


def use_env(monkeypatch, tmp_path, endpoint: str) -> None:
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for v in ("HF_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "CKPTSCOPE_CACHE",
              "HF_TOKEN_PATH"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def hub(material, monkeypatch, tmp_path):
    with HubStub() as stub:
        stub.add(StubRepo(MINILM_ID, dict(material["minilm"])))
        stub.add(StubRepo(LLAMA70_ID, dict(material["llama70"])))
        use_env(monkeypatch, tmp_path, stub.url)
        yield stub


def report(*args, **kw):
    from ckptscope.api import inspect

    return inspect(*args, **kw)


def shard_gets(hub: HubStub) -> list[dict]:
    return [e for e in hub.log if e["path"].endswith(".safetensors") and e["method"] == "GET"]


# ------------------------------------------------------------------------------------------------ repo specs

@pytest.mark.parametrize("spec,repo,rev", [
    ("deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-V3", None),
    ("Qwen/Qwen3-30B-A3B@v1.0", "Qwen/Qwen3-30B-A3B", "v1.0"),
    ("org/name@refs/pr/3", "org/name", "refs/pr/3"),
    ("https://huggingface.co/meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", None),
    ("https://huggingface.co/google/gemma-2-9b/tree/main", "google/gemma-2-9b", "main"),
    ("huggingface.co/mistralai/Mixtral-8x7B-v0.1/blob/abc123/config.json", "mistralai/Mixtral-8x7B-v0.1", "abc123"),
])
def test_parse_repo_spec(spec, repo, rev):
    from ckptscope.sources.hub import parse_repo_spec

    r = parse_repo_spec(spec)
    assert (r.repo_id, r.revision) == (repo, rev)


@pytest.mark.parametrize("spec", ["gpt2", "a/b/c", "org/name@", "https://example.com/org/name",
                                  "https://huggingface.co/datasets/org/name", "../x", "org/../x"])
def test_parse_repo_spec_rejects(spec):
    from ckptscope.sources.hub import parse_repo_spec

    assert parse_repo_spec(spec) is None


# ------------------------------------------------------------------------------------------------ reading

def test_single_file_repo_matches_real_facts_and_local_copy(hub, material, tmp_path):
    r = report(MINILM_ID, quiet=True)
    assert r.source["kind"] == "hub"
    assert r.source["revision"] == hub.repos[MINILM_ID].sha
    assert r.bytes["total"] == MINILM_FACTS["data_bytes"]
    assert r.tensors["total"] == MINILM_FACTS["n_tensors"] if isinstance(r.tensors, dict) and "total" in r.tensors \
        else True
    local = report(str(write_local(material["minilm"], tmp_path / "minilm")))
    assert r.parameters == local.parameters and r.bytes["total"] == local.bytes["total"]
    assert r.tokenizer == local.tokenizer and r.tokenizer["vocab_size"] == 30522
    # one ranged GET for the header, sized to it (far less than huggingface_hub's fixed 100 kB)
    gets = shard_gets(hub)
    assert len(gets) == 1 and gets[0]["status"] == 206
    assert 8 + MINILM_FACTS["header_len"] <= gets[0]["sent"] < 2 * (8 + MINILM_FACTS["header_len"])


def test_sharded_metadata_endpoint_one_request(hub):
    r = report(LLAMA70_ID, quiet=True, tokenizer=False)
    assert r.bytes["total"] == LLAMA70_TOTAL  # the real index's total_size
    assert r.source["header_method"] == "sharded-metadata"
    assert len(shard_gets(hub)) == 0
    assert sum("safetensors-metadata" in e["path"] for e in hub.log) == 1
    assert r.source["requests"] == hub.requests  # the source counts what the server saw


def test_endpoint_answer_spares_the_index_download(hub):
    """inspect takes the shard list from the sharded-metadata answer: the index file is not fetched; the totals
    are still those of the real index (its metadata.total_size came with the answer)."""
    r = report(LLAMA70_ID, quiet=True, tokenizer=False)
    assert r.bytes["index_total_size"] == LLAMA70_TOTAL
    assert not any("/resolve/" in e["path"] and e["path"].endswith(".index.json") for e in hub.log)
    assert any("not downloaded" in n for n in r.notes)


def test_check_reads_the_index_file_itself(hub, tmp_path):
    from ckptscope.checkpoint import load_checkpoint
    from ckptscope.sources.hub import HubSource

    ck = load_checkpoint(HubSource.open(LLAMA70_ID), strict=False, tokenizer=False)
    assert ck.index is not None and len(ck.index.weight_map) == sum(len(h.tensors) for h in ck.headers)
    assert any("/resolve/" in e["path"] and e["path"].endswith(".index.json") for e in hub.log)


def test_ranged_reads_sized_to_headers(hub):
    hub.faults.sharded_metadata = False
    r = report(LLAMA70_ID, quiet=True, tokenizer=False)
    assert r.bytes["total"] == LLAMA70_TOTAL
    assert r.source["header_method"] == "ranged"
    gets = shard_gets(hub)
    header_bytes = sum(len(f.prefix) for n, f in hub.repos[LLAMA70_ID].files.items() if n.endswith(".safetensors"))
    assert 162 <= len(gets) <= 162 + 3  # one per shard, a second read only where the estimate fell short
    sent = sum(e["sent"] for e in gets)
    assert header_bytes <= sent <= 1.10 * header_bytes
    assert r.source["requests"] == hub.requests
    assert r.source["bytes_read"] == hub.bytes_sent


def test_tokenizer_json_only_when_needed(hub):
    report(MINILM_ID, quiet=True, tokenizer=False)
    assert not any(e["path"].endswith("tokenizer.json") for e in hub.log)
    r = report(MINILM_ID, quiet=True)
    assert any(e["path"].endswith("tokenizer.json") for e in hub.log)
    assert any("tokenizer.json" in n and "fetched" in n for n in r.notes)


def test_small_files_come_from_the_cache_the_second_time(hub):
    report(MINILM_ID, quiet=True, tokenizer=False)
    hub.reset_log()
    report(MINILM_ID, quiet=True, tokenizer=False)
    assert [e["path"].rsplit("/", 1)[-1] for e in hub.log] == ["all-MiniLM-L6-v2", "model.safetensors"]


def test_revision_branch_tag_and_missing(hub, material, run_cli):
    repo = hub.repos[MINILM_ID]
    old = dict(material["minilm"])
    cfg = json.loads(old["config.json"].prefix)
    cfg["num_hidden_layers"] = 5
    old["config.json"] = small_file(json.dumps(cfg).encode())
    repo.old["1" * 40] = old
    repo.refs["v0"] = "1" * 40
    r = report(MINILM_ID + "@v0", quiet=True, tokenizer=False)
    assert r.source["revision"] == "1" * 40 and r.model["num_hidden_layers"] == 5
    r = report(MINILM_ID, revision="1" * 40, quiet=True, tokenizer=False)
    assert r.model["num_hidden_layers"] == 5
    code, out, err = run_cli("inspect", MINILM_ID, "--revision", "nope")
    assert code == 2 and "revision 'nope' not found" in err and "main" in err and "v0" in err
    assert len(err.strip().splitlines()) == 1


def test_gated_repo_needs_token(hub, material, run_cli):
    hub.add(StubRepo("meta-llama/Gated", dict(material["minilm"]), gated=True))
    code, out, err = run_cli("inspect", "meta-llama/Gated")
    assert code == 2 and "gated" in err and "hf auth login" in err and "HF_TOKEN" in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = run_cli("inspect", "meta-llama/Gated", "--token", "hf_wrong")
    assert code == 2 and "no access" in err
    code, out, err = run_cli("inspect", "meta-llama/Gated", "--token", hub.token, "--json")
    assert code == 0 and json.loads(out)["bytes"]["total"] == MINILM_FACTS["data_bytes"]


def test_private_and_missing_repos(hub, material, run_cli, monkeypatch):
    hub.add(StubRepo("someone/private", dict(material["minilm"]), private=True))
    for spec in ("someone/private", "nobody/nothing"):
        code, out, err = run_cli("inspect", spec)
        assert code == 2 and "repository not found" in err and "hf auth login" in err
    monkeypatch.setenv("HF_TOKEN", hub.token)  # HF_TOKEN is read when the repo is opened
    code, out, err = run_cli("inspect", "someone/private", "--no-tokenizer")
    assert code == 0, err


def test_no_safetensors_weights_lists_what_is_there(hub, material, run_cli):
    files = {k: v for k, v in material["minilm"].items() if k != "model.safetensors"}
    files["pytorch_model.bin"] = material["minilm"]["model.safetensors"]
    files["tf_model.h5"] = material["minilm"]["model.safetensors"]
    hub.add(StubRepo("old/bin-only", files))
    code, out, err = run_cli("inspect", "old/bin-only")
    assert code == 2 and "no safetensors weights" in err and ".bin x1" in err and ".h5 x1" in err
    # modules.json with only a top-level .onnx as weights: the ONNX model is read (and this one is refused:
    # it holds safetensors bytes), never a config-only prediction with exit 0
    files_onnx = dict(files)
    files_onnx["model.onnx"] = material["minilm"]["model.safetensors"]
    del files_onnx["tf_model.h5"]
    hub.add(StubRepo("old/onnx-export", files_onnx))
    code, out, err = run_cli("inspect", "old/onnx-export")
    assert code == 2 and "model.onnx" in err and "ONNX" in err and len(err.strip().splitlines()) == 1, err
    # a .gguf makes it a GGUF repo (sources/hub_gguf.py): a file named .gguf that is not one is refused, one line
    files["model-q4.gguf"] = material["minilm"]["model.safetensors"]
    hub.add(StubRepo("old/fake-gguf", files))
    code, out, err = run_cli("inspect", "old/fake-gguf")
    assert code == 2 and "model-q4.gguf: not a GGUF file" in err and len(err.strip().splitlines()) == 1


def test_lfs_pointer_instead_of_weights(hub, material, run_cli):
    files = dict(material["minilm"])
    files["model.safetensors"] = small_file(
        (FIX / "github-granite-3.1-1b-a400m-instruct" / "head-73154ee" / "model.safetensors.lfs-pointer").read_bytes())
    hub.add(StubRepo("oops/pointers", files))
    code, out, err = run_cli("inspect", "oops/pointers")
    assert code == 2 and "git-LFS pointer" in err and "model.safetensors" in err


# ------------------------------------------------------------------------------------------------ faults

def test_retries_on_429_and_5xx(hub):
    hub.faults.sharded_metadata = False
    shard = "model-00007-of-00162.safetensors"
    hub.faults.statuses = {shard: [429, 503], "/api/models/" + LLAMA70_ID: [502]}
    r = report(LLAMA70_ID, quiet=True, tokenizer=False)
    assert r.bytes["total"] == LLAMA70_TOTAL
    assert [e["status"] for e in hub.log if e["path"].endswith(shard)] == [429, 503, 206]
    assert r.source["requests"] == hub.requests


def test_dropped_connection_mid_header(hub):
    hub.faults.drop_after = {"model.safetensors": 5000}  # the MiniLM header is 11,416 bytes
    r = report(MINILM_ID, quiet=True, tokenizer=False)
    assert r.bytes["total"] == MINILM_FACTS["data_bytes"]
    gets = shard_gets(hub)
    assert len(gets) == 2 and gets[0]["sent"] == 5000


def test_server_ignoring_range_is_not_downloaded_whole(hub):
    hub.faults.ignore_range = True
    r = report(MINILM_ID, quiet=True, tokenizer=False)
    assert r.bytes["total"] == MINILM_FACTS["data_bytes"]
    assert r.source["bytes_read"] < 1_000_000  # of a 90.9 MB file
    assert sum(e["sent"] for e in shard_gets(hub)) < MINILM_FACTS["size_bytes"] // 4
    assert any("ignored the Range" in n for n in r.notes)


def test_lying_range_response(hub, run_cli):
    hub.faults.wrong_range = True
    hub.faults.sharded_metadata = False
    code, out, err = run_cli("inspect", MINILM_ID, "--no-tokenizer")
    assert code == 2 and "lying range response" in err and "model.safetensors" in err


# ------------------------------------------------------------------------------------------------ offline

def _dead_endpoint() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def test_offline_reads_the_cache_of_an_earlier_online_read(hub, monkeypatch):
    online = report(MINILM_ID, quiet=True)
    monkeypatch.setenv("HF_ENDPOINT", _dead_endpoint())
    hub.reset_log()
    for kw in ({"offline": True}, {}):  # --offline, then the Hub unreachable
        r = report(MINILM_ID, quiet=True, **kw)
        assert r.source["kind"] == "hub-cache" and r.source["revision"] == online.source["revision"]
        assert (r.parameters, r.bytes["total"], r.tokenizer) == (online.parameters, online.bytes["total"],
                                                                  online.tokenizer)
        assert any("cache" in n for n in r.notes)
    assert hub.requests == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert report(MINILM_ID, quiet=True).source["kind"] == "hub-cache"


def test_unreachable_hub_not_cached(hub, monkeypatch, run_cli):
    monkeypatch.setenv("HF_ENDPOINT", _dead_endpoint())
    code, out, err = run_cli("inspect", "nobody/uncached-model")
    assert code == 2 and "cannot be reached" in err and "--offline" in err and "snapshot" in err
    code, out, err = run_cli("inspect", "nobody/uncached-model", "--offline")
    assert code == 2 and "offline" in err and "snapshot" in err


def test_unreachable_hub_never_falls_back_to_catalog(hub, material, tmp_path, monkeypatch, run_cli):
    """The catalog only when asked: an unreachable Hub is exit 2 naming the endpoint; --catalog says what it is."""
    from ckptscope.sources import catalog

    cat = tmp_path / "catalog"
    cat.mkdir()
    code, _, err = run_cli("snapshot", MINILM_ID, "-o", cat / "sentence-transformers__all-MiniLM-L6-v2.ckpt.gz")
    assert code == 0, err
    monkeypatch.setattr(catalog, "CATALOG_DIR", str(cat))
    monkeypatch.setenv("HF_ENDPOINT", _dead_endpoint())
    monkeypatch.setenv("HF_HOME", str(tmp_path / "fresh"))  # nothing cached
    dead = os.environ["HF_ENDPOINT"]
    for cmd in ("inspect", "estimate", "check", "snapshot"):
        extra = ("-o", str(tmp_path / "x.ckpt.gz")) if cmd == "snapshot" else ()
        code, out, err = run_cli(cmd, MINILM_ID, *extra)
        assert code == 2 and out == "" and dead in err and "cannot be reached" in err, (cmd, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, out, err = run_cli("inspect", MINILM_ID, "--json", "--catalog")
    assert code == 0, err
    r = json.loads(out)
    assert r["source"]["kind"] == "catalog" and r["bytes"]["total"] == MINILM_FACTS["data_bytes"]
    assert r["source"]["provenance_label"] == "reconstructed from the catalog, not read from the Hub"
    assert "BUNDLED CATALOG" in r["notes"][0] and "--catalog" in r["notes"][0]


def test_a_connection_outside_the_loopback_is_refused_in_tests():
    """conftest's guard: the huggingface.co addresses above are parsed, never dialled; any dial out fails."""
    import socket

    s = socket.socket()
    try:
        with pytest.raises(OSError, match="tests may reach only 127.0.0.1"):
            s.connect(("18.244.202.60", 443))  # (an address outside the loopback; no DNS involved)
    finally:
        s.close()
