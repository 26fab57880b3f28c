"""`ckptscope diff A B`: folders written with the real safetensors writer, and Hub revisions through the stand-in.

Expected values are derived by hand in each test from what was changed (a dtype, an added tensor, a field)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import save_file

from check_corpus import build as cb
from hubstub import HubStub, StubRepo, write_local
from scan_corpus import repo_files
from test_hub import use_env

H = cb.H  # hidden size of the tiny Llama (8)


def _model(d, *, norm_dtype=np.float32, extra: dict | None = None, **config_over):
    """A tiny Llama folder: config.json, model.safetensors (the real writer), tokenizer (the real library)."""
    d.mkdir(parents=True, exist_ok=True)
    tensors = {n: np.zeros(shape, dtype=np.float32) for n, (_, shape) in cb.llama_tensors().items()}
    tensors["model.norm.weight"] = np.zeros((H,), dtype=norm_dtype)
    tensors.update(extra or {})
    save_file(tensors, str(d / "model.safetensors"), metadata={"format": "pt"})
    cb.write_json(d / "config.json", cb.llama_config(**{"rope_theta": 10000.0, **config_over}))
    cb.write_json(d / "tokenizer.json", cb.tokenizer_json(cb.V))
    cb.write_json(d / "tokenizer_config.json", cb.tokenizer_config())
    return d


EXTRA = "model.layers.0.self_attn.q_norm.weight"


@pytest.fixture
def pair(tmp_path):
    a = _model(tmp_path / "a")
    b = _model(tmp_path / "b", norm_dtype=np.float16, extra={EXTRA: np.zeros((2, H), dtype=np.float32)},
               rope_theta=500000.0)
    return a, b


def test_three_changes_named_exactly(pair, run_cli):
    a, b = pair
    code, out, err = run_cli("diff", a, b, "--json")
    assert code == 1, err
    d = json.loads(out)
    assert d["same"] is False
    t = d["tensors"]
    assert [e["name"] for e in t["added"]] == [EXTRA]
    assert t["added"][0]["dtype"] == "F32" and t["added"][0]["shape"] == [2, H]
    assert t["removed"] == []
    assert [(e["name"], e["changes"], e["a"]["dtype"], e["b"]["dtype"]) for e in t["changed"]] == [
        ("model.norm.weight", ["dtype"], "F32", "F16")]
    assert [(f["field"], f["change"], f["a"], f["b"]) for f in d["config"]["fields"]] == [
        ("rope_theta", "changed", 10000.0, 500000.0)]
    assert d["config"]["fields"][0]["meaning"].startswith("base frequency of rotary")
    assert d["tokenizer"]["changes"] == [] and d["tokenizer"]["special_tokens"] == []
    assert d["quantization"]["changes"] == []
    # By hand: the added tensor is 2 x 8 = 16 F32 parameters (64 bytes); the norm's 8 parameters move from F32
    # (32 bytes) to F16 (16 bytes).
    p, by = d["totals"]["parameters"], d["totals"]["bytes"]
    assert p["total"]["delta"] == 16
    assert {k: v["delta"] for k, v in p["by_dtype"].items()} == {"F16": 8, "F32": 16 - 8}
    assert by["total"]["delta"] == 64 - 16
    assert {k: v["delta"] for k, v in by["by_dtype"].items()} == {"F16": 16, "F32": 64 - 32}
    # both are norms (q_norm is a per-head RMSNorm weight): +64 and -16 bytes, nothing else moves
    assert {k: v["delta"] for k, v in by["by_component"].items()} == {"norm": 64 - 16}


def test_text_lists_only_the_three(pair, run_cli):
    a, b = pair
    code, out, _ = run_cli("diff", a, b)
    assert code == 1
    marked = [ln.strip() for ln in out.splitlines() if ln.strip()[:2] in ("+ ", "- ", "~ ")]
    assert len(marked) == 3, out
    assert any(EXTRA in ln and ln.startswith("+") for ln in marked)
    assert any("model.norm.weight dtype F32 -> F16" in ln for ln in marked)
    assert any("rope_theta: 10000.0 -> 500000.0" in ln for ln in marked)
    assert "model.layers.0.mlp" not in out  # unchanged tensors are not listed


def test_same_folder_and_copy_exit_0(pair, run_cli, tmp_path):
    a, _ = pair
    code, out, _ = run_cli("diff", a, a)
    assert code == 0 and "No differences" in out
    shutil.copytree(a, tmp_path / "copy")
    code, out, _ = run_cli("diff", a, tmp_path / "copy", "--json")
    assert code == 0 and json.loads(out)["same"] is True


def test_markdown_and_github(pair, run_cli):
    a, b = pair
    code, md, _ = run_cli("diff", a, b, "--format", "markdown")
    assert code == 1
    assert md.startswith("### ckptscope diff") and "| ➕ | tensors |" in md and "rope_theta: 10000.0 -> 500000.0" in md
    assert md.count("| ✏️ |") == 2  # the dtype change and the config field
    code, gh, _ = run_cli("diff", a, b, "--format", "github")
    lines = gh.strip().splitlines()
    assert code == 1 and len(lines) == 4  # three annotations and the summary line
    assert lines[0].startswith("::notice title=ckptscope diff%3A tensors added::")
    assert any(ln.startswith("::warning") and "model.norm.weight" in ln for ln in lines)
    assert lines[-1].endswith("3 difference(s)")


def test_tokenizer_changes(tmp_path, run_cli):
    a = _model(tmp_path / "a")
    b = _model(tmp_path / "b")
    # B: two special tokens added after the base vocabulary (ids 100, 101), and a pad token declared
    added = {cb.V: "<tool>", cb.V + 1: "</tool>"}
    cb.write_json(b / "tokenizer.json", cb.tokenizer_json(cb.V, added))
    cb.write_json(b / "tokenizer_config.json", cb.tokenizer_config(added, pad_token="</s>"))
    code, out, _ = run_cli("diff", a, b, "--json")
    assert code == 1
    tk = json.loads(out)["tokenizer"]
    ch = {c["what"]: (c["a"], c["b"]) for c in tk["changes"]}
    assert ch["vocab_size"] == (100, 102) and ch["max_id"] == (99, 101)
    assert [(e["id"], e["content"], e["special"]) for e in tk["added_tokens"]["added"]] == [
        (100, "<tool>", True), (101, "</tool>", True)]
    assert tk["added_tokens"]["removed"] == []
    assert [(s["role"], s["a"], s["b"], s["b_id"]) for s in tk["special_tokens"]] == [("pad_token", None, "</s>", 2)]


def test_errors_exit_2(tmp_path, run_cli):
    a = _model(tmp_path / "a")
    code, out, err = run_cli("diff", a, tmp_path / "nowhere")
    assert code == 2 and out == "" and "nowhere" in err and "Traceback" not in err
    bad = _model(tmp_path / "bad")
    raw = (bad / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(raw[:8] + b"{not json" + raw[17:])
    code, _, err = run_cli("diff", a, bad)
    assert code == 2 and "model.safetensors" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------------ Hub revisions

def test_hub_revisions_header_only(tmp_path, monkeypatch, run_cli):
    old = repo_files(_model(tmp_path / "v1"))
    new = repo_files(_model(tmp_path / "v2", norm_dtype=np.float16, extra={EXTRA: np.zeros((2, H), np.float32)},
                            rope_theta=500000.0))
    old_sha = "1" * 40
    with HubStub() as hub:
        hub.add(StubRepo("org/tiny", new, refs={"v1.0": old_sha}, old={old_sha: old}))
        use_env(monkeypatch, tmp_path, hub.url)
        code, out, err = run_cli("diff", "org/tiny@v1.0", "org/tiny@main", "--json")
        assert code == 1, err
        d = json.loads(out)
        assert d["a"]["revision"] == old_sha and d["b"]["revision"] == hub.repos["org/tiny"].sha
        assert [e["name"] for e in d["tensors"]["added"]] == [EXTRA]
        assert [e["name"] for e in d["tensors"]["changed"]] == ["model.norm.weight"]
        assert [f["field"] for f in d["config"]["fields"]] == ["rope_theta"]
        # header-only: every read of a weight file is one ranged GET from byte 0 that stops short of the file's end
        gets = [e for e in hub.log if e["path"].endswith(".safetensors") and e["method"] == "GET"]
        assert len(gets) == 2 and all(e["range"] and e["range"].startswith("bytes=0-") for e in gets)
        sizes = {"v1.0": old["model.safetensors"].size, "main": new["model.safetensors"].size}
        for e in gets:
            rev = e["path"].split("/resolve/")[1].split("/")[0]
            assert e["sent"] < sizes["v1.0" if rev in ("v1.0", old_sha) else "main"]

        # before an upload: the Hub's main against a local export of the same files
        export = write_local(new, tmp_path / "export")
        code, out, err = run_cli("diff", "org/tiny@main", export)
        assert code == 0, out + err
        code, out, _ = run_cli("diff", "org/tiny@main", tmp_path / "v1")
        assert code == 1 and "rope_theta: 500000.0 -> 10000.0" in out


def test_never_the_bundled_catalog_silently(tmp_path, run_cli):
    """The Hub is unreachable (conftest: a closed port): a repo in the bundled catalog is not compared unless
    --offline asks for it, and then the notes say the numbers are the catalog's."""
    a = _model(tmp_path / "a")
    code, out, err = run_cli("diff", "meta-llama/Llama-3.2-1B", a)
    assert code == 2 and out == "" and "not read from the Hub" in err and "--offline" in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = run_cli("diff", "meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-1B", "--offline", "--json")
    d = json.loads(out)
    assert code == 0 and d["a"]["kind"] == "catalog"
    assert any("BUNDLED CATALOG" in n for n in d["notes"])


def test_gguf_files(tmp_path, run_cli):
    """Two GGUF files written by gguf-py's GGUFWriter, one with a third block. Runs once GGUF files load into the
    Checkpoint (readers/detect.py, tests/ggufgen.py from the GGUF work); skipped before."""
    pytest.importorskip("ckptscope.readers.detect")
    ggufgen = pytest.importorskip("ggufgen")
    a = ggufgen.write_tiny(tmp_path / "a.gguf")[0]
    b = ggufgen.write_tiny(tmp_path / "b.gguf", layers=3)[0]
    assert run_cli("diff", a, a)[0] == 0
    code, out, err = run_cli("diff", a, b, "--json")
    assert code == 1, err
    d = json.loads(out)
    assert sorted(e["name"] for e in d["tensors"]["added"]) == sorted(
        f"blk.2.{n}.weight" for n in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                                      "ffn_gate", "ffn_up", "ffn_down"))
    assert d["tensors"]["removed"] == [] and d["tensors"]["changed"] == []
    # one block by hand (hidden 64, 4 heads of 16, 2 KV heads, ffn 128): q, o 64x64; k, v 32x64; gate, up, down
    # 128x64; two norms of 64
    assert d["totals"]["parameters"]["total"]["delta"] == 2 * 64 * 64 + 2 * 32 * 64 + 3 * 128 * 64 + 2 * 64
    assert [(f["field"], f["a"], f["b"]) for f in d["config"]["fields"]] == [("num_hidden_layers", 2, 3)]
