"""`check` on the real material of fixtures/: no false errors, and the rules see what is really there."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from conftest import CHECKPOINTS, CONFIGS, TOKENIZERS, config_dirs
from ckptscope.checkpoint import load_checkpoint
from ckptscope.checks import CheckOptions, run_checks
from ckptscope.sources.local import LocalSource


def run(path, **opts):
    ck = load_checkpoint(LocalSource(str(path)), strict=False)
    return run_checks(ck, CheckOptions(**opts))


def errors(res):
    return [(f.rule, f.file, f.message) for f in res.findings if f.severity == "error"]


CHECKPOINT_DIRS = sorted({p.parent for p in CHECKPOINTS.rglob("*") if p.is_file() and not p.name.endswith(".md")})


@pytest.mark.parametrize("d", CHECKPOINT_DIRS, ids=lambda p: str(p.relative_to(CHECKPOINTS)))
def test_real_checkpoint_folders_have_no_errors(d):
    res = run(d, select=["ALL"])
    assert errors(res) == []


#: errors that are really in a real config (true positives), by fixture
KNOWN_REAL_ERRORS = {
    # HuggingFaceTB/SmolVLM2-500M-Video-Instruct's model card config: top-level pad_token_id 128002 (Llama 3's)
    # with a 49,280-token vocabulary
    "github-smolvla__smolvlm2-500m-video-instruct": {"TK002"},
}


@pytest.mark.parametrize("d", config_dirs(), ids=lambda p: p.name)
def test_real_configs_have_no_errors(d):
    res = run(d, select=["ALL"])
    known = KNOWN_REAL_ERRORS.get(d.name, set())
    assert [e for e in errors(res) if e[0] not in known] == []
    assert {e[0] for e in errors(res)} == known
    assert {f.rule for f in res.findings} <= {"RC005"} | known  # config alone: nothing to disagree with


def test_metadata_only_sharded_repo_says_so():
    """The real WizardLM index lists 59 shards; none is here, and check says that once, as a warning."""
    res = run(CHECKPOINTS / "github-wizardlm-2-8x22b")
    assert [(f.rule, f.severity) for f in res.findings] == [("IX008", "warning")]
    assert "59 shard files" in res.findings[0].message


@pytest.fixture
def minilm(tmp_path):
    """The real all-MiniLM-L6-v2 repository: its real files, and model.safetensors as the byte-exact real header
    followed by a hole up to the real file size (sparse: no data is written)."""
    src = CHECKPOINTS / "pypi-all-minilm-l6-v2"
    facts = json.loads((src / "model.safetensors.facts.json").read_text())
    d = tmp_path / "all-MiniLM-L6-v2"
    shutil.copytree(src, d, ignore=shutil.ignore_patterns("model.safetensors.*", "*.md"))
    with open(d / "model.safetensors", "wb") as f:
        f.write((src / "model.safetensors.head").read_bytes())
        f.truncate(facts["size_bytes"])
    return d, facts


def test_minilm_passes_every_rule(minilm):
    d, facts = minilm
    res = run(d, select=["ALL"])
    assert errors(res) == []
    assert [f.rule for f in res.findings if f.severity == "warning"] == []
    ck = load_checkpoint(LocalSource(str(d)), strict=False)
    assert len(ck.tensors) == facts["n_tensors"]


def test_minilm_truncated_upload_is_caught(minilm):
    """The same real file cut short by one byte, as an interrupted upload leaves it."""
    d, facts = minilm
    os.truncate(d / "model.safetensors", facts["size_bytes"] - 1)
    res = run(d)
    assert [f.rule for f in res.findings if f.severity == "error"] == ["ST008"]


def test_minilm_with_pickle_beside_it(minilm):
    from check_corpus.build import state_dict_pickle, torch_zip

    d, _ = minilm
    torch_zip(d / "pytorch_model.bin", state_dict_pickle(("embeddings.word_embeddings.weight",)))
    res = run(d)
    assert [(f.rule, f.severity) for f in res.findings] == [("PK004", "info")]


def _pair(tmp_path, config: str, tok: str, **override):
    d = tmp_path / f"{config}+{tok}"
    d.mkdir()
    cfg = json.loads((CONFIGS / config / "config.json").read_text())
    cfg.update(override)
    (d / "config.json").write_text(json.dumps(cfg))
    for f in (TOKENIZERS / tok).iterdir():
        shutil.copy(f, d / f.name)
    return d


def _tokenizer_ids(tok: str) -> int:
    doc = json.loads((TOKENIZERS / tok / "tokenizer.json").read_text())
    return 1 + max(list(doc["model"]["vocab"].values()) + [a["id"] for a in doc["added_tokens"]])


@pytest.mark.parametrize("config,tok", [("meta-llama__Llama-3.1-8B", "llama3"), ("Qwen__Qwen3-30B-A3B", "qwen3"),
                                        ("deepseek-ai__DeepSeek-V3", "deepseek_v3")])
def test_real_config_and_tokenizer_pairs(tmp_path, config, tok):
    d = _pair(tmp_path, config, tok)
    res = run(d, select=["ALL"])
    assert errors(res) == []
    vocab = json.loads((CONFIGS / config / "config.json").read_text())["vocab_size"]
    padded = [f for f in res.findings if f.rule == "TK006"]
    assert bool(padded) == (_tokenizer_ids(tok) < vocab)
    assert not [f for f in res.findings if f.rule in ("TK004", "TK005")]  # the real files agree


def test_real_tokenizer_with_a_too_small_vocab(tmp_path):
    """Llama-3.1's real tokenizer has 128,256 ids; a config that says 128,000 leaves the 256 reserved special
    tokens without an embedding row."""
    d = _pair(tmp_path, "meta-llama__Llama-3.1-8B", "llama3", vocab_size=128000)
    res = run(d)
    tk = [f for f in res.findings if f.rule == "TK001"]
    assert len(tk) == 1 and tk[0].severity == "error" and "128,255" in tk[0].message
    assert {f.rule for f in res.findings if f.severity == "error"} == {"TK001", "TK002"}  # eos 128001/128009 too
