"""The committed oracle inventories (fixtures/oracle, built by tools/oracle.py) hold against real material.

No torch here: these tests read the committed JSON. tests/test_oracle_live.py re-runs the oracle itself.
"""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import pytest

from tests.conftest import CHECKPOINTS, CONFIGS, FIXTURES, ROOT

ORACLE = FIXTURES / "oracle"
SIZE = {"BF16": 2, "F16": 2, "F32": 4, "F64": 8, "I64": 8, "I32": 4, "U8": 1, "I8": 1, "BOOL": 1}

CKPT_ORACLE = {
    "github-cogito-v1-preview-qwen-14b": "checkpoint__cogito-v1-preview-qwen-14b",
    "github-reflection-llama-3.1-70b": "checkpoint__reflection-llama-3.1-70b",
    "github-wizardlm-2-8x22b": "checkpoint__wizardlm-2-8x22b",
    "github-granite-3.1-1b-a400m-instruct/commit-0a854d4-fp32-sharded":
        "checkpoint__granite-3.1-1b-a400m-instruct__commit-0a854d4-fp32-sharded",
}


def load(stem: str) -> dict:
    for p in (ORACLE / f"{stem}.json", ORACLE / f"{stem}.json.gz"):
        if p.exists():
            raw = p.read_bytes()
            return json.loads(gzip.decompress(raw) if p.suffix == ".gz" else raw)
    raise FileNotFoundError(stem)


def nbytes(dtype, shape):
    n = SIZE[dtype]
    for d in shape:
        n *= d
    return n


def params(rec):
    total = 0
    for _, shape, _ in rec["tensors"]:
        n = 1
        for d in shape:
            n *= d
        total += n
    return total


def _buildable(p):
    """Configs of classes transformers has (remote-code families are checked by hand in test_arch_families.py)."""
    from tests.test_arch_oracle import NO_TRANSFORMERS_CLASS

    arch = json.loads((p / "config.json").read_text()).get("architectures", [""])[0]
    return arch not in NO_TRANSFORMERS_CLASS


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.iterdir() if p.is_dir() and _buildable(p)))
def test_every_config_has_an_oracle(name):
    rec = load(name)
    assert (ROOT / rec["config"]).read_bytes() == (CONFIGS / name / "config.json").read_bytes()
    raw = json.loads((CONFIGS / name / "config.json").read_text())
    assert rec["architecture"] == raw["architectures"][0]
    names = [t[0] for t in rec["tensors"]]
    assert len(names) == len(set(names)) > 0
    assert rec["transformers_version"] and rec["torch_version"]


@pytest.mark.parametrize("ckpt", sorted(CKPT_ORACLE))
def test_oracle_matches_real_index(ckpt):
    rec = load(CKPT_ORACLE[ckpt])
    index = json.loads((CHECKPOINTS / ckpt / "model.safetensors.index.json").read_text())
    assert {t[0] for t in rec["tensors"]} == set(index["weight_map"])
    assert sum(nbytes(d, s) for _, s, d in rec["tensors"]) == index["metadata"]["total_size"]


def test_oracle_minilm_vs_real_header():
    """transformers 5.x no longer saves the I64 buffer embeddings.position_ids the real file stores."""
    head = (CHECKPOINTS / "pypi-all-minilm-l6-v2" / "model.safetensors.head").read_bytes()
    (n,) = struct.unpack("<Q", head[:8])
    real = json.loads(head[8 : 8 + n])
    real.pop("__metadata__")
    rec = load("checkpoint__all-minilm-l6-v2")
    ours = {name: (shape, dtype) for name, shape, dtype in rec["tensors"]}
    assert set(real) - set(ours) == {"embeddings.position_ids"}
    assert set(ours) <= set(real)
    assert all(ours[k] == (real[k]["shape"], real[k]["dtype"]) for k in ours)


def test_oracle_totals_match_published_counts():
    # Published totals recorded in fixtures/configs/PROVENANCE.json (HF API / HF safetensors totals).
    prov = json.loads((CONFIGS / "PROVENANCE.json").read_text())
    assert "235093634560" in prov["Qwen/Qwen3-235B-A22B"]["note"]
    assert params(load("Qwen__Qwen3-235B-A22B")) == 235093634560
    assert "1777088000" in prov["deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"]["note"]
    assert params(load("deepseek-ai__DeepSeek-R1-Distill-Qwen-1.5B")) == 1777088000


def test_known_differences_are_noted():
    assert any("FP8" in n for n in load("deepseek-ai__DeepSeek-V3")["notes"])
    assert any("MTP" in n for n in load("deepseek-ai__DeepSeek-V3")["notes"])
    assert any("MXFP4" in n for n in load("openai__gpt-oss-120b")["notes"])
    assert any("attn.bias" in n for n in load("openai-community__gpt2")["notes"])
    # ... and not faked: no FP8 scale grids, no MTP layer, no GPT-2 mask buffers in the inventories
    v3 = load("deepseek-ai__DeepSeek-V3")
    nl = json.loads((CONFIGS / "deepseek-ai__DeepSeek-V3" / "config.json").read_text())["num_hidden_layers"]
    assert not any(n.endswith("weight_scale_inv") or f"layers.{nl}." in n for n, _, _ in v3["tensors"])
    assert not any(n.endswith(".attn.bias") for n, _, _ in load("openai-community__gpt2")["tensors"])


def test_oracle_mixtral_experts_saved_per_expert():
    """transformers 5.x fuses MoE experts at load; save_pretrained reverts to per-expert names (as on the Hub)."""
    rec = load("mistralai__Mixtral-8x7B-v0.1")
    names = {t[0] for t in rec["tensors"]}
    for e in range(8):
        for w in ("w1", "w2", "w3"):
            assert f"model.layers.0.block_sparse_moe.experts.{e}.{w}.weight" in names
    assert len(names) == 995
