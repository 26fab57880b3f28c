"""`ckptscope inspect` on local checkpoints: real MiniLM, sharded folders, single files, config-only, bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import CHECKPOINTS, ROOT, env_with_repo
from stwriter import write_st

MINILM = CHECKPOINTS / "pypi-all-minilm-l6-v2"


@pytest.fixture
def minilm(tmp_path):
    """all-MiniLM-L6-v2 as a folder: its real config and tokenizer, and model.safetensors = the real header, sparse."""
    d = tmp_path / "all-MiniLM-L6-v2"
    d.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(MINILM / name, d / name)
    facts = json.loads((MINILM / "model.safetensors.facts.json").read_text())
    p = d / "model.safetensors"
    p.write_bytes((MINILM / "model.safetensors.head").read_bytes())
    with open(p, "r+b") as f:
        f.truncate(facts["size_bytes"])
    return d, facts


def test_minilm_totals_exact(minilm, run_cli):
    d, facts = minilm
    code, out, err = run_cli("inspect", d, "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["schema_version"] == 1 and r["basis"] == "headers"
    assert r["tensors"]["count"] == facts["n_tensors"]
    assert r["bytes"]["total"] == facts["data_bytes"]
    assert r["bytes"]["files_total"] == facts["size_bytes"]
    # 103 F32 tensors: data bytes minus the 4,096-byte I64 position_ids buffer, 4 bytes each.
    assert r["parameters"]["by_dtype"] == {"F32": (facts["data_bytes"] - 4096) // 4, "I64": 512}
    assert r["parameters"]["by_dtype"]["F32"] == 22_713_216
    assert r["parameters"]["total"] == 22_713_216 + 512
    assert r["bytes"]["by_dtype"] == {"F32": facts["data_bytes"] - 4096, "I64": 4096}
    comp = r["parameters"]["by_component"]
    assert comp["buffer"] == 512  # embeddings.position_ids
    assert comp["embedding"] == 30522 * 384 + 2 * 384  # word + token type embeddings (config vocab 30522, hidden 384)
    assert comp["position_embedding"] == 512 * 384
    assert r["parameters"]["weights"] == 22_713_216
    assert r["model"]["architecture"] == "BertModel"
    assert r["tokenizer"]["vocab_size"] == 30522 and r["tokenizer"]["model_type"] == "WordPiece"
    assert len(r["by_layer"]) == 6


def test_minilm_text_and_breakdowns(minilm, run_cli):
    d, _ = minilm
    code, out, _ = run_cli("inspect", d)
    assert code == 0
    assert "22.71M" in out and "BertModel" in out and "By component" in out and "Largest tensors" in out
    code, out, _ = run_cli("inspect", d, "--by", "dtype", "--by", "layer", "--by", "file")
    assert code == 0
    assert "By dtype" in out and "By layer" in out and "By file" in out and "encoder.5" in out
    assert "model.safetensors" in out and "11,416" in out  # header bytes of the real file


def test_minilm_markdown_has_mermaid_pie(minilm, run_cli):
    d, _ = minilm
    code, out, _ = run_cli("inspect", d, "--format", "markdown")
    assert code == 0
    assert "```mermaid" in out and "pie" in out
    assert '"embedding" : ' + str((30522 + 2) * 384 * 4) in out


def test_single_file_source(minilm, run_cli):
    d, facts = minilm
    code, out, _ = run_cli("inspect", d / "model.safetensors", "--json")
    r = json.loads(out)
    assert code == 0 and r["tensors"]["count"] == 104 and r["source"]["weights"] == ["model.safetensors"]


def test_config_only_folder_says_so(tmp_path, run_cli):
    shutil.copy(CHECKPOINTS / "pypi-all-minilm-l6-v2" / "config.json", tmp_path / "config.json")
    code, out, _ = run_cli("inspect", tmp_path, "--json")
    r = json.loads(out)
    assert code == 0 and r["basis"] == "config"
    assert any("config.json" in n for n in r["notes"])


def _sharded(tmp_path):
    d = tmp_path / "sharded"
    d.mkdir()
    write_st(d / "model-00001-of-00002.safetensors",
             {"model.embed_tokens.weight": ("BF16", [100, 16]), "model.layers.0.self_attn.q_proj.weight": ("BF16", [16, 16])},
             {"format": "pt"})
    write_st(d / "model-00002-of-00002.safetensors",
             {"model.layers.0.mlp.down_proj.weight": ("BF16", [16, 32]), "lm_head.weight": ("BF16", [100, 16])},
             {"format": "pt"})
    wm = {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
          "model.layers.0.self_attn.q_proj.weight": "model-00001-of-00002.safetensors",
          "model.layers.0.mlp.down_proj.weight": "model-00002-of-00002.safetensors",
          "lm_head.weight": "model-00002-of-00002.safetensors"}
    total = 2 * (1600 + 256 + 512 + 1600)
    (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": wm}))
    return d, wm, total


def test_sharded_folder(tmp_path, run_cli):
    d, wm, total = _sharded(tmp_path)
    code, out, _ = run_cli("inspect", d, "--json")
    r = json.loads(out)
    assert code == 0
    assert r["bytes"]["total"] == total == r["bytes"]["index_total_size"]
    assert r["parameters"]["by_component"] == {"embedding": 1600, "attention": 256, "mlp": 512, "lm_head": 1600}
    assert r["tensors"]["count"] == 4 and not r["findings"]


def _cli_error(*args) -> tuple[int, str, str]:
    p = subprocess.run([sys.executable, "-m", "ckptscope", *map(str, args)], capture_output=True, text=True,
                       env=env_with_repo(), cwd=ROOT, timeout=60)
    return p.returncode, p.stdout, p.stderr


def _assert_one_line_error(code, err, *needles):
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]


def test_index_entry_no_shard_holds(tmp_path):
    d, wm, total = _sharded(tmp_path)
    wm["model.layers.0.self_attn.k_proj.weight"] = "model-00001-of-00002.safetensors"
    (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": wm}))
    code, _, err = _cli_error("inspect", d)
    _assert_one_line_error(code, err, "model.safetensors.index.json", "k_proj", "no shard holds it")


def test_tensor_in_two_shards(tmp_path):
    d, wm, total = _sharded(tmp_path)
    write_st(d / "model-00002-of-00002.safetensors",
             {"model.layers.0.mlp.down_proj.weight": ("BF16", [16, 32]), "lm_head.weight": ("BF16", [100, 16]),
              "model.embed_tokens.weight": ("BF16", [100, 16])})
    code, _, err = _cli_error("inspect", d)
    _assert_one_line_error(code, err, "model-00002-of-00002.safetensors", "embed_tokens", "duplicate")


def test_missing_shard_file(tmp_path):
    d, wm, total = _sharded(tmp_path)
    (d / "model-00002-of-00002.safetensors").unlink()
    code, _, err = _cli_error("inspect", d)
    _assert_one_line_error(code, err, "model.safetensors.index.json", "model-00002-of-00002.safetensors")


def test_index_path_escaping_repo(tmp_path):
    d, wm, total = _sharded(tmp_path)
    wm["lm_head.weight"] = "../../etc/passwd"
    (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": wm}))
    code, _, err = _cli_error("inspect", d)
    _assert_one_line_error(code, err, "outside the repository")


def test_malformed_header_cli(tmp_path):
    p = tmp_path / "bad.safetensors"
    p.write_bytes((2**40).to_bytes(8, "little") + b"{}")
    code, _, err = _cli_error("inspect", p)
    _assert_one_line_error(code, err, "bad.safetensors", "header length")


def test_nonexistent_path():
    code, _, err = _cli_error("inspect", "/nonexistent/dir/model.safetensors")
    _assert_one_line_error(code, err, "/nonexistent/dir/model.safetensors")


def test_bad_config_json(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    code, _, err = _cli_error("inspect", tmp_path)
    _assert_one_line_error(code, err, "config.json", "not valid JSON")


def test_help_is_light():
    """`--help` must not import the heavy libraries (numpy, rich, tokenizers, huggingface_hub)."""
    code = ("import sys, ckptscope.cli as c\n"
            "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'rich', 'tokenizers', 'huggingface_hub', 'safetensors', 'torch') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env_with_repo(), cwd=ROOT)
    assert "HEAVY []" in p.stdout, p.stdout + p.stderr


@pytest.mark.parametrize("name", ["github-wizardlm-2-8x22b", "github-reflection-llama-3.1-70b",
                                  "github-cogito-v1-preview-qwen-14b"])
def test_index_without_shards_is_predicted_and_compared(name, run_cli):
    """A metadata-only copy (real index, no shards): predicted from config.json and held against the index."""
    d = CHECKPOINTS / name
    index = json.loads((d / "model.safetensors.index.json").read_text())
    code, out, err = run_cli("inspect", d, "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["basis"] == "config"
    assert r["bytes"]["total"] == index["metadata"]["total_size"]  # the real index's figure
    assert r["tensors"]["count"] == len(index["weight_map"])
    assert not r["findings"]
    assert any("none is here" in n for n in r["notes"])


def test_index_without_shards_that_disagrees(tmp_path, run_cli):
    src = CHECKPOINTS / "github-cogito-v1-preview-qwen-14b"
    shutil.copy(src / "config.json", tmp_path / "config.json")
    index = json.loads((src / "model.safetensors.index.json").read_text())
    del index["weight_map"]["model.layers.3.self_attn.k_proj.bias"]
    index["metadata"]["total_size"] += 1024
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    code, out, _ = run_cli("inspect", tmp_path, "--json")
    r = json.loads(out)
    assert code == 0
    rules = {f["rule"]: f["message"] for f in r["findings"]}
    assert "k_proj.bias" in rules["RC000"] and "misses 1" in rules["RC000"]
    assert "config.json predicts" in rules["IX006"]
