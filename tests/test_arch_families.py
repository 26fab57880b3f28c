"""Families transformers 5.23 cannot build (remote code), dispatch, and config-class defaults.

Expected values are hand derivations written out here from each family's modeling code (the arithmetic is in the
test, not computed by the rules), or the rules' own oracle-checked output for an equivalent config.
"""

from __future__ import annotations

import json

import pytest

from ckptscope.analysis.arch import active_parameters, family_name, predict_inventory, try_predict
from ckptscope.readers.config import from_dict

from tests.conftest import CONFIGS


def _cfg(name):
    return json.loads((CONFIGS / name / "config.json").read_text())


def _inv(raw):
    inv, reason = try_predict(from_dict(raw))
    assert inv is not None, reason
    return {t.name: t for t in inv}


def test_internlm2_5_7b_hand_derivation():
    inv = _inv(_cfg("internlm__internlm2_5-7b-chat"))
    V, H, L, I = 92544, 4096, 32, 14336
    qkv = (32 + 2 * 8) * 128  # fused wqkv: 32 query heads + 8 K + 8 V heads of 128
    layer = qkv * H + H * H + 3 * I * H + 2 * H  # wqkv, wo, w1/w3/w2, attention_norm + ffn_norm
    assert layer == 218_112_000
    total = 2 * V * H + L * layer + H  # tok_embeddings + untied output, layers, model.norm
    assert sum(t.numel for t in inv.values()) == total == 7_737_708_544
    assert inv["model.layers.0.attention.wqkv.weight"].shape == (6144, 4096)
    assert inv["output.weight"].shape == (V, H) and "model.layers.0.attention.wqkv.bias" not in inv  # "bias": false
    assert len(inv) == 3 + 7 * L


def test_nemotron_nas_block_configs_hand_derivation():
    inv = _inv(_cfg("github-trtllm__nemotron-nas-mini"))
    H, hd, V = 2048, 64, 32128
    I = 2816  # DeciLM: int(2 * 2.0 * 2048 / 3) = 2730, rounded up to a multiple of 256
    mlp = 3 * I * H + H  # gate/up/down + post_attention_layernorm

    def attn(group):
        kv = 32 // group
        return 2 * H * H + 2 * kv * hd * H + H  # q, o, k, v + input_layernorm

    seven = [attn(8) + mlp, attn(16) + mlp, (H * H + H) + mlp, mlp, attn(8) + (H * H + H), attn(4), attn(8) + mlp]
    total = 2 * V * H + 2 * sum(seven) + H
    assert sum(t.numel for t in inv.values()) == total
    assert inv["model.layers.1.self_attn.k_proj.weight"].shape == (2 * hd, H)  # 32 heads / 16 per group
    assert "model.layers.3.input_layernorm.weight" not in inv  # attention no_op: no norm either
    assert inv["model.layers.2.self_attn.linear_attn.weight"].shape == (H, H)
    assert inv["model.layers.4.mlp.linear_mlp.weight"].shape == (H, H)
    assert not any(n.startswith("model.layers.5.mlp") or n == "model.layers.5.post_attention_layernorm.weight"
                   for n in inv)


def test_mimo_mtp_layers_apart():
    raw = _cfg("github-infinilm__mimo-mtp-tiny")
    c = from_dict(raw)
    inv = predict_inventory(c)
    mtp = [t for t in inv if t.name.startswith("model.mtp_layers.0.")]
    assert len(mtp) == 16  # the released draft layout: 16 mtp_layers.0 tensors
    H, I, q, kv = 64, 128, 4 * 16, 2 * 16
    layer = (q * H + q) + 2 * (kv * H + kv) + H * q + 3 * I * H + 2 * H  # q/k/v with biases, o, MLP, 2 norms
    assert sum(t.numel for t in mtp) == layer + 2 * H + H * 2 * H + H  # + token/hidden norms, input_proj, final norm
    a = active_parameters(inv, c)
    assert a["mtp"] == sum(t.numel for t in mtp)
    assert a["total"] == 2 * 128 * H + 2 * layer + H  # embed + untied head + 2 layers + norm
    assert len(predict_inventory(c, {"mtp": False})) == len(inv) - 16


def test_dispatch_architectures_before_model_type():
    raw = _cfg("deepseek-ai__DeepSeek-V3")
    renamed = dict(raw, model_type="kimi_k2")  # Kimi-K2 publishes the DeepSeek-V3 class under its own model_type
    assert family_name(from_dict(renamed)) == "deepseek_v3"
    a, b = predict_inventory(from_dict(raw)), predict_inventory(from_dict(renamed))
    assert [(t.name, t.shape, t.dtype) for t in a] == [(t.name, t.shape, t.dtype) for t in b]
    llama = dict(_cfg("meta-llama__Llama-3.2-1B"), model_type="my_finetune")
    assert family_name(from_dict(llama)) == "llama"
    unknown_class = dict(_cfg("meta-llama__Llama-3.2-1B"), architectures=["MyLlama"])
    assert family_name(from_dict(unknown_class)) == "llama"  # then model_type
    assert family_name(from_dict({"model_type": "no_such_family", "architectures": ["NoSuchClass"]})) is None


def test_missing_fields_take_the_config_class_defaults():
    """config.json leaves out fields equal to the class defaults; the rules fill them from transformers' defaults:
    a Gemma 3 config stripped of the text fields that equal Gemma3TextConfig's defaults predicts the same."""
    raw = _cfg("transformers__gemma3")
    full = predict_inventory(from_dict(raw))
    stripped = json.loads(json.dumps(raw))
    for k in ("vocab_size", "num_attention_heads", "num_key_value_heads", "head_dim", "attention_bias"):
        stripped["text_config"].pop(k)
    stripped["vision_config"] = {k: v for k, v in raw["vision_config"].items()
                                 if k in ("model_type", "hidden_size", "num_hidden_layers")}  # SigLIP defaults
    got = predict_inventory(from_dict(stripped))
    assert [(t.name, t.shape) for t in got] == [(t.name, t.shape) for t in full]


@pytest.mark.parametrize("name", ["transformers__llama4", "transformers__gemma3", "transformers__qwen2_5_vl"])
def test_towers_are_their_own_component(name):
    inv = predict_inventory(from_dict(_cfg(name)))
    comps = {t.component for t in inv}
    assert "vision_tower" in comps
    vis = [t for t in inv if t.component == "vision_tower"]
    assert all(("vision" in t.name or "visual" in t.name or "multi_modal_projector" in t.name) for t in vis)


def test_stablelm2_per_head_norms_and_parallel_residual_against_meta_build():
    """StableLM 2 12B's options (qk_layernorm, use_parallel_residual, use_qkv_bias) on a small config, held
    against transformers' own meta-device build (skipped without torch)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    kw = dict(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=8,
              num_key_value_heads=2, vocab_size=1000, qk_layernorm=True, use_parallel_residual=True,
              use_qkv_bias=True)
    with torch.device("meta"):
        model = transformers.StableLmForCausalLM(transformers.StableLmConfig(**kw))
    want = {n: tuple(t.shape) for n, t in model.state_dict().items()}
    got = {t.name: t.shape for t in predict_inventory(from_dict({"architectures": ["StableLmForCausalLM"],
                                                                 "model_type": "stablelm", **kw}))}
    assert got == want
