"""The fallback when no rules apply (approximate estimate; transformers meta build with the optional extra),
the Hub's counting per quantization format, checkpoint quirks in the reconciliation, and per-layer kinds for the
memory planner."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ckptscope.analysis.arch import estimate_inventory, layer_kinds, predict_inventory, reconcile
from ckptscope.analysis.arch.fallback import APPROX, approximate, meta_build
from ckptscope.analysis.arch.stage import hub_total
from ckptscope.readers.config import from_dict

from tests.conftest import CONFIGS, FIXTURES


def _cfg(name):
    return json.loads((CONFIGS / name / "config.json").read_text())


def _unknown(raw):
    """The same config under a family name no rules (and no transformers class) know."""
    raw = json.loads(json.dumps(raw))
    raw["architectures"], raw["model_type"] = ["SomeNewForCausalLM"], "some_new"
    return raw


@pytest.mark.parametrize("name", ["meta-llama__Llama-3.1-8B", "Qwen__Qwen3-30B-A3B", "deepseek-ai__DeepSeek-V3",
                                  "transformers__qwen3_next", "transformers__glm4_moe", "transformers__jamba",
                                  "github-trtllm__nemotron-nas-mini", "transformers__qwen2_5_vl",
                                  # two-matrix GELU / ReLU / squared-ReLU / xIELU feed-forwards with LayerNorm biases
                                  "transformers__gpt_neox", "EleutherAI__pythia-6.9b-deduped", "transformers__phi",
                                  "microsoft__phi-2", "transformers__starcoder2", "transformers__nemotron",
                                  "transformers__arcee", "transformers__apertus", "transformers__gptj",
                                  "transformers__gpt_bigcode", "transformers__dbrx",  # n_inner null, ffn_config
                                  # attention-free Mamba stacks; attention by index; leading dense layers; MLA
                                  "tiiuae__falcon-mamba-7b", "transformers__mamba", "transformers__mamba2",
                                  "transformers__bamba", "transformers__afmoe"])
def test_approximate_within_5_percent_of_the_oracle_checked_rules(name):
    raw = _cfg(name)
    exact = sum(t.numel for t in predict_inventory(from_dict(raw)))  # the rules, checked against transformers
    c = from_dict(_unknown(raw))
    assert predict_inventory(c) is None
    inv, basis, why = estimate_inventory(c, allow_meta=False)
    assert basis == APPROX and "approximate" in APPROX
    got = sum(t.numel for t in inv)
    assert abs(got - exact) / exact < 0.05, (got, exact)


def test_approximate_honours_interleaved_moe_and_untied_head():
    raw = _unknown(_cfg("transformers__llama4")["text_config"])
    raw["interleave_moe_layer_step"] = 2  # Maverick-style: MoE on every other layer
    raw.pop("moe_layers")  # (transformers also writes the list it derives; a hand-written config may not)
    raw.pop("tie_word_embeddings")
    names = {t.name for t in approximate(from_dict(raw))}
    assert "lm_head.weight" in names  # absent tie_word_embeddings: untied
    assert any(n.startswith("model.layers.1.mlp.experts.") for n in names)
    assert not any(n.startswith("model.layers.0.mlp.experts.") for n in names)


def test_approximate_reads_the_feed_forward_kind_from_the_config():
    raw = _unknown(_cfg("meta-llama__Llama-3.2-1B"))  # SiLU + RMSNorm: gated
    names = {t.name for t in approximate(from_dict(raw))}
    assert "model.layers.0.mlp.gate_proj.weight" in names
    plain = dict(raw, hidden_act="gelu", layer_norm_eps=1e-5)  # GELU + LayerNorm (GPT-NeoX, Phi): up/down + biases
    for k in ("rms_norm_eps", "attention_bias", "mlp_bias"):  # (no bias key: LayerNorm-era default, biases)
        plain.pop(k)
    inv = {t.name: t.shape for t in approximate(from_dict(plain))}
    assert "model.layers.0.mlp.gate_proj.weight" not in inv and "model.layers.0.mlp.up_proj.bias" in inv
    assert inv["model.layers.0.input_layernorm.bias"] == (raw["hidden_size"],)
    explicit = dict(plain, gated_mlp=True)  # an explicit key wins over the heuristic
    assert "model.layers.0.mlp.gate_proj.weight" in {t.name for t in approximate(from_dict(explicit))}


def test_approximate_pattern_only_layer_count_and_ffn_only_blocks():
    raw = _unknown(_cfg("transformers__nemotron_h"))
    assert "num_hidden_layers" not in raw  # (transformers derives it from layers_block_type)
    names = [t.name for t in approximate(from_dict(raw))]
    pattern = raw["layers_block_type"]
    for i, kind in enumerate(pattern):
        has_attn = any(n.startswith(f"model.layers.{i}.self_attn.") for n in names)
        assert has_attn == (kind == "full_attention"), (i, kind)
    assert not any(n.startswith(f"model.layers.{len(pattern)}.") for n in names)


def test_absurd_config_gets_no_estimate():
    raw = _unknown(_cfg("meta-llama__Llama-3.2-1B"))
    raw["num_hidden_layers"] = 10**12
    inv, basis, why = estimate_inventory(from_dict(raw))
    assert inv is None and basis is None and why


def test_meta_build_equals_the_oracle():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    rec = json.loads((FIXTURES / "oracle" / "transformers__olmo2.json").read_text())
    inv = meta_build(from_dict(_cfg("transformers__olmo2")))
    assert [(t.name, list(t.shape), t.dtype) for t in inv] == [tuple(x) for x in rec["tensors"]]


def test_config_only_unknown_family_is_labelled(run_cli, tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(_unknown(_cfg("meta-llama__Llama-3.2-1B"))))
    code, out, err = run_cli("inspect", d, "--json")
    assert code == 0, err
    arch = json.loads(out)["architecture"]
    assert arch["basis"] == "approximate" and "APPROXIMATE" in arch["summary"]
    assert arch["predicted"]["hub_total"] == 1_235_814_400  # Llama-3.2-1B, tied in its config


def test_hub_total_mxfp4_leaves_scales_out():
    inv = predict_inventory(from_dict(_cfg("openai__gpt-oss-120b")))
    total, rule = hub_total(inv, from_dict(_cfg("openai__gpt-oss-120b")))
    assert total == 116_829_156_672  # gpt-oss model card: 116.83B; *_blocks x 2 values, *_scales not counted
    assert "scales" in rule
    v3 = predict_inventory(from_dict(_cfg("deepseek-ai__DeepSeek-V3")))
    assert hub_total(v3)[0] == sum(t.numel for t in v3)  # FP8: scale grids are counted like any tensor


def test_reconcile_names_checkpoint_quirks():
    c = from_dict(_cfg("meta-llama__Llama-3.2-1B"))  # tie_word_embeddings true
    inv = predict_inventory(c)
    real = [SimpleNamespace(name=t.name, shape=t.shape, dtype=t.dtype) for t in inv]
    real.append(SimpleNamespace(name="lm_head.weight", shape=(128256, 2048), dtype="BF16"))
    real.append(SimpleNamespace(name="model.layers.0.self_attn.rotary_emb.inv_freq", shape=(32,), dtype="F32"))
    r = reconcile(inv, real)
    assert not r.exact and r.exact_but_quirks
    assert {q["kind"] for q in r.quirks} == {"stored_tied_head", "persisted_buffer"}
    real.append(SimpleNamespace(name="model.layers.0.mystery", shape=(3,), dtype="F32"))
    assert not reconcile(inv, real).exact_but_quirks


def test_layer_kinds_and_state_for_the_planner():
    from ckptscope.analysis.memory.kv import kv_cache_bytes, kv_layout

    c = from_dict(_cfg("transformers__nemotron_h"))  # layers_block_type: mamba, moe, attention, mlp
    k = layer_kinds(c)
    assert k["layers"] == ["mamba2", "none", "attention", "none"]
    # Mamba-2: conv over d_inner 8192 + 2 x 8 groups x d_state 128 = 10240 channels x kernel 4; ssm 128 heads x
    # head_dim 64 x d_state 128
    assert k["state"]["mamba2"] == {"conv": (10240, 4), "ssm": (128, 64, 128)}
    L = kv_layout(c)
    b = kv_cache_bytes(L, 1000)["by_kind"]
    assert b["state"] == (10240 * 4 + 128 * 64 * 128) * 2  # one Mamba-2 layer, BF16, independent of context
    assert b["full"] == 2 * 8 * 128 * 2 * 1000  # one attention layer: K+V, 8 KV heads x 128, BF16, 1000 tokens
    q = layer_kinds(from_dict(_cfg("transformers__qwen3_next")))
    assert q["counts"] == {"gated_deltanet": 36, "attention": 12}
