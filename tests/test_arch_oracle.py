"""Predicted inventories vs the oracle (transformers 5.23 on the meta device + save_pretrained's save-time steps,
fixtures/oracle/, built by tools/oracle.py): name by name, shape by shape, dtype by dtype. No torch needed.

The oracle describes what *transformers* would write; real Hub checkpoints differ in documented ways (FP8 scale
grids and the MTP layer of DeepSeek-V3/R1, MXFP4 experts of gpt-oss, GPT-2's legacy layout and buffers, BERT's
position_ids buffer). Those differences are rules of their own: here they are switched off (the "as transformers
5 saves it" variant) and the remainder must equal the oracle exactly; tests/test_arch_real.py checks the rules
against real material.
"""

from __future__ import annotations

import gzip
import json

import pytest

from ckptscope.analysis.arch import family_name, predict_inventory
from ckptscope.readers.config import from_dict

from tests.conftest import FIXTURES, ROOT

ORACLE = FIXTURES / "oracle"
FILES = sorted(p for p in ORACLE.iterdir() if p.name.endswith((".json", ".json.gz")))


def _load(p):
    with (gzip.open(p, "rt") if p.name.endswith(".gz") else open(p)) as f:
        return json.load(f)


# Remote-code families transformers 5.23 has no class for: checked against hand derivations and published totals
# in tests/test_arch_families.py instead.
NO_TRANSFORMERS_CLASS = {"InternLM2ForCausalLM", "MiniCPMForCausalLM", "MiMoForCausalLM", "DeciLMForCausalLM",
                         "ExaoneForCausalLM", "BailingMoeForCausalLM", "BailingMoeV2ForCausalLM",
                         "QWenLMHeadModel", "ChatGLMModel", "ChatGLMForConditionalGeneration", "BaichuanForCausalLM"}

# Layout options that give what transformers 5 writes, instead of what the Hub checkpoints hold.
TRANSFORMERS5 = {
    "gpt2": {"prefix": True, "attn_bias": None, "masked_bias": False},
    "bert": {"position_ids": False},
    # families/encoders.py: checkpoints written by transformers 3.x to 4.30 persist embeddings.position_ids
    "roberta": {"position_ids": False}, "xlm-roberta": {"position_ids": False}, "camembert": {"position_ids": False},
    "electra": {"position_ids": False}, "distilbert": {"position_ids": False}, "mpnet": {"position_ids": False},
    "deepseek_v3": {"mtp": False},
    "deepseek_v2": {"mtp": False},
    "glm4_moe": {"mtp": False},  # GLM-4.5's Hub checkpoints carry the DeepSeek-style MTP layer; transformers not
    "qwen3_next": {"mtp": False},
    # families/qwen35.py: the Hub's MTP layer and fused main-stack experts; a text-only model transformers built
    # itself saves the decoder under model. (not model.language_model.)
    "qwen3_5": {"mtp": False}, "qwen3_5_moe": {"mtp": False, "fused_experts": False},
    "qwen3_5_text": {"mtp": False, "lm_prefix": False},
    "qwen3_5_moe_text": {"mtp": False, "fused_experts": False, "lm_prefix": False},
    "mimo": {"mtp": False},
    "minimax": {"lightning_buffers": True},  # transformers 5 saves the lightning-attention decay buffers
    # checkpoints written by transformers 4.x (the Hub's) name a CLIP/SigLIP tower vision_tower.vision_model.*
    "llava": {"vision_model": False}, "llava_next": {"vision_model": False},
    "llava_onevision": {"vision_model": False}, "paligemma": {"vision_model": False},
    "aya_vision": {"vision_model": False},
    "lfm2_vl": {"vision_model": False},
    # families/text_more.py: the Hub's MTP layers, DeepSeek-V3.2's F32 indexer k_norm, Kimi-Linear's dense-layer
    # names (transformers 5 saves `block_sparse_moe.` for the dense MLP too: the reverse of its load-time rename)
    "deepseek_v32": {"mtp": False, "indexer_norm_f32": False}, "glm_moe_dsa": {"mtp": False},
    "glm4_moe_lite": {"mtp": False}, "kimi_linear": {"hub_names": False},
    "longcat_flash": {"zero_expert_weights": True, "mtp": False}, "olmo_hybrid": {"equal_conv_split": True},  # transformers 5 sizes gate_up_proj for the zero experts too
    "gemma3n": {"kv_shared_weights": False}, "gemma3n_text": {"kv_shared_weights": False},  # the Hub's (transformers 4.53) files keep K/V of the KV-shared layers
    "gemma4": {"kv_shared_weights": False}, "gemma4_text": {"kv_shared_weights": False},  # so do Gemma 4's E2B/E4B Hub files
}


def _as_transformers5(cfg: dict, oracle_dtype: str) -> dict:
    """from_config builds no quantizer (plain weights) and uses F32 when config.json names no dtype."""
    cfg = dict(cfg)
    cfg.pop("quantization_config", None)
    if not (cfg.get("torch_dtype") or cfg.get("dtype")):
        cfg["torch_dtype"] = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}[oracle_dtype]
    return cfg


def _hub_dtype_rule(name, want, got) -> bool:
    """The one dtype the Hub checkpoints keep apart from transformers: DeepSeek-V3's router bias is F32 in the
    real files (DeepSeek's own inference/model.py declares Gate.bias with dtype=torch.float32); transformers 5
    saves it in the config dtype."""
    return name.endswith(".mlp.gate.e_score_correction_bias") and want[0] == got[0] and got[1] == "F32"


def test_oracle_covers_every_config_transformers_can_build():
    names = {p.name.split(".json")[0] for p in FILES}
    configs = {p.name for p in (FIXTURES / "configs").iterdir() if p.is_dir()}
    no_class = {n for n in configs if json.loads((FIXTURES / "configs" / n / "config.json").read_text())
                .get("architectures", [""])[0] in NO_TRANSFORMERS_CLASS}
    assert configs - no_class <= names and len(configs) >= 21


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name.split(".json")[0])
def test_prediction_equals_oracle(path):
    o = _load(path)
    raw = json.loads((ROOT / o["config"]).read_text())
    config = from_dict(_as_transformers5(raw, o["dtype"]))
    fam = family_name(config)
    assert fam is not None, f"no rules for {config.model_type}"
    inv = predict_inventory(config, layout=TRANSFORMERS5.get(fam))
    want = {n: (tuple(s), dt) for n, s, dt in o["tensors"]}
    got = {t.name: (t.shape, t.dtype) for t in inv}
    assert len(inv) == len(got), "duplicate names in the prediction"
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, f"missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)})"
    diff = [(n, want[n], got[n]) for n in want if want[n] != got[n] and not _hub_dtype_rule(n, want[n], got[n])]
    assert not diff, f"{len(diff)} tensors differ, e.g. {diff[:3]}"


def test_dense_families_follow_save_order():
    """For dense families the prediction lists tensors in the order save_pretrained holds them."""
    for stem in ("meta-llama__Llama-3.1-8B", "google__gemma-2-2b", "microsoft__Phi-3-mini-4k-instruct",
                 "google-t5__t5-small", "Qwen__Qwen2.5-0.5B"):
        o = _load(ORACLE / f"{stem}.json")
        config = from_dict(json.loads((ROOT / o["config"]).read_text()))
        assert [t.name for t in predict_inventory(config)] == [n for n, _, _ in o["tensors"]], stem
