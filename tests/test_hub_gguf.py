"""GGUF repos through the Hub stand-in: the quantization listing, ``ORG/NAME:TAG`` reading one header by ranges
(within 1.1 x its header bytes + 1 MB), resolve URLs, and split sets merged."""

from __future__ import annotations

import json

import pytest

import ggufgen as G
from hubstub import HubStub, StubFile, StubRepo, weights_file
from test_hub import use_env

pytest.importorskip("gguf")
REPO = "bartowski-like/SmolLM2-135M-Instruct-GGUF"
SPLIT_REPO = "org/tiny-GGUF"


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    d = tmp_path_factory.mktemp("gguf_hub")
    full = G.smol_sparse(d / "smol.gguf")
    real = G.smol_header()
    # a Q4_K_M file of the same model: the real key/values (file type 15 = Q4_K_M) and the real tensor list; the
    # 576-wide rows do not divide into 256-blocks, so Q5_0 (llama.cpp's fallback) and Q8_0 for the embedding
    q4km = G.header_only(d / "q4km.gguf", G.kvs_of(full, override={"general.file_type": 15}),
                         G.smol_tensors_as(full, "Q5_0", "Q8_0"))
    q4km_params, _, _ = G.reader_totals(q4km)
    header = q4km.read_bytes().rstrip(b"\0")  # the file is the header then zeros (sparse): keep the header part
    import gguf

    data_offset = gguf.GGUFReader(str(q4km)).data_offset
    header = q4km.read_bytes()[:data_offset]
    split = G.write_tiny(d / "tiny-Q8_0.gguf", split_max_tensors=8)
    files = {
        "SmolLM2-135M-Instruct-Q4_1.gguf": weights_file(real, G.SMOL_FILE_SIZE - len(real)),
        "SmolLM2-135M-Instruct-Q4_K_M.gguf": weights_file(header, q4km.stat().st_size - len(header)),
        "README.md": StubFile(size=5, prefix=b"hello"),
    }
    sfiles = {f"Q8_0/{p.name}": StubFile(size=p.stat().st_size, prefix=p.read_bytes(), lfs=True, etag=p.name)
              for p in split}
    return {"files": files, "q4km_params": q4km_params, "q4km_header": len(header), "split": split,
            "split_files": sfiles}


@pytest.fixture
def hub(material, monkeypatch, tmp_path):
    with HubStub() as stub:
        stub.add(StubRepo(REPO, dict(material["files"])))
        stub.add(StubRepo(SPLIT_REPO, dict(material["split_files"])))
        use_env(monkeypatch, tmp_path, stub.url)
        yield stub


def _gguf_bytes(hub, name=None):
    return sum(e["sent"] for e in hub.log if e["path"].endswith(".gguf") and (name is None or name in e["path"]))


def test_repo_lists_every_quantization(run_cli, hub, material):
    code, out, err = run_cli("inspect", REPO, "--json")
    assert code == 0, err
    d = json.loads(out)
    v = {x["label"]: x for x in d["gguf"]["variants"]}
    assert set(v) == {"Q4_1", "Q4_K_M"}
    assert v["Q4_1"]["parameters"] == G.SMOL_PARAMS and v["Q4_1"]["file_type"] == "Q4_1"
    assert v["Q4_K_M"]["parameters"] == material["q4km_params"] and v["Q4_K_M"]["file_type"] == "Q4_K_M"
    assert v["Q4_1"]["size"] == G.SMOL_FILE_SIZE
    assert d["parameters"]["total"] == material["q4km_params"]  # llama.cpp's default tag
    code, out, err = run_cli("inspect", REPO)
    assert code == 0 and "SmolLM2-135M-Instruct-Q4_K_M.gguf" in out and "2 GGUF models here" in out


@pytest.mark.parametrize("tag", ["Q4_K_M", "q4_k_m"])
def test_tag_reads_only_that_header_by_ranges(run_cli, hub, material, tag):
    hub.reset_log()
    code, out, err = run_cli("inspect", f"{REPO}:{tag}", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["parameters"]["total"] == material["q4km_params"] == G.SMOL_PARAMS
    assert d["gguf"]["file_type"] == "Q4_K_M" and "variants" not in d["gguf"]
    got = _gguf_bytes(hub)
    assert got == _gguf_bytes(hub, "Q4_K_M")  # no other file touched
    assert got <= 1.1 * material["q4km_header"] + (1 << 20), (got, material["q4km_header"])
    ranged = [e for e in hub.log if e["path"].endswith(".gguf")]
    assert ranged and all(e["range"] for e in ranged)


def test_resolve_url_and_file_path(run_cli, hub):
    url = f"{hub.url}/{REPO}/resolve/main/SmolLM2-135M-Instruct-Q4_1.gguf"
    code, out, err = run_cli("inspect", url, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["parameters"]["total"] == G.SMOL_PARAMS and d["gguf"]["file_type"] == "Q4_1"
    code, out, err = run_cli("inspect", f"{REPO}/SmolLM2-135M-Instruct-Q4_1.gguf", "--json")
    assert code == 0 and json.loads(out)["gguf"]["file_type"] == "Q4_1"


def test_split_set_in_a_folder_is_merged(run_cli, hub, material):
    total = sum(G.reader_totals(p)[0] for p in material["split"])
    code, out, err = run_cli("inspect", f"{SPLIT_REPO}:Q8_0", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["parameters"]["total"] == total and len(d["gguf"]["files"]) == 3


def test_unknown_tag_is_one_line(run_cli, hub):
    code, out, err = run_cli("inspect", f"{REPO}:IQ2_XXS")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Q4_K_M" in err and "IQ2_XXS" in err


def test_check_and_estimate_on_a_tag(run_cli, hub, material):
    code, out, err = run_cli("check", f"{REPO}:Q4_K_M", "--json")
    assert json.loads(out)["parameters"]["total"] == material["q4km_params"]
    code, out, err = run_cli("estimate", f"{REPO}:Q4_K_M", "--context", "2048", "--json")
    assert code == 0, err
    assert json.loads(out)["kv_cache"]["bytes_per_token"]["all_layers"] == 2 * 30 * 3 * 64 * 2


def test_estimate_compare_with_a_repo_tag(run_cli, hub, material, tmp_path):
    smol = G.smol_sparse(tmp_path / "smol.gguf")
    code, out, err = run_cli("estimate", smol, "--quant", "q4_1", "--compare", f"{REPO}:Q4_1", "--json")
    assert code == 0, err
    c = json.loads(out)["quantization"]["schemes"]["Q4_1"]["compare"]
    assert c["exact"] and c["parameters"]["file"] == G.SMOL_PARAMS


def test_offline_after_one_online_read_of_a_tag(run_cli, hub, material, monkeypatch):
    """``inspect ORG/NAME:TAG`` once online keeps that GGUF header in ckptscope's cache; ``--offline`` (and an
    unreachable Hub) then read it from there, say so, and make no request; a quantization never read online is
    refused naming what is cached."""
    from test_hub import _dead_endpoint

    code, out, err = run_cli("inspect", f"{REPO}:Q4_K_M", "--json")
    assert code == 0, err
    online = json.loads(out)
    monkeypatch.setenv("HF_ENDPOINT", _dead_endpoint())
    hub.reset_log()
    for extra in (["--offline"], []):
        code, out, err = run_cli("inspect", f"{REPO}:Q4_K_M", "--json", *extra)
        assert code == 0, err
        d = json.loads(out)
        assert d["source"]["kind"] == "hub-cache"
        assert d["source"]["revision"] == online["source"]["revision"] == hub.repos[REPO].sha
        assert d["parameters"] == online["parameters"] and d["parameters"]["total"] == material["q4km_params"]
        assert d["gguf"]["file_type"] == "Q4_K_M"
        assert any("ckptscope's cache" in n for n in d["notes"])
    code, out, err = run_cli("inspect", f"{REPO}:Q4_K_M", "--offline")
    assert code == 0 and "cache" in out
    assert hub.requests == 0
    code, out, err = run_cli("inspect", f"{REPO}:Q4_1", "--offline")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Q4_1" in err and "Q4_K_M" in err


def test_offline_cache_holds_every_quantization_read(run_cli, hub, material, monkeypatch):
    """Two quantizations read online one after the other: both are answered offline (the second read does not
    replace the first's cache)."""
    assert run_cli("inspect", f"{REPO}:Q4_K_M")[0] == 0
    assert run_cli("inspect", f"{REPO}:Q4_1")[0] == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for tag, total in (("Q4_K_M", material["q4km_params"]), ("Q4_1", G.SMOL_PARAMS)):
        code, out, err = run_cli("inspect", f"{REPO}:{tag}", "--json")
        assert code == 0, err
        d = json.loads(out)
        assert d["source"]["kind"] == "hub-cache" and d["gguf"]["file_type"] == tag
        assert d["parameters"]["total"] == total
