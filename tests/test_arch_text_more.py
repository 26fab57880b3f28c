"""families/text_more.py beyond the oracle equality of tests/test_arch_oracle.py: the Hub layouts the oracle
switches off (MTP layers, DeepSeek-V3.2's FP8 indexer, Kimi-Linear's dense-layer names, OLMo-Hybrid's conv
split, LongCat-Flash's zero experts), the GLM-5 indexer schedule, the KV planner's per-sequence states and
per-layer caches, and the CLI on each config-only folder. No torch needed.

Expected values come from hand derivations written here, from quoted third-party descriptions of the real
checkpoints (named at each test), or from the committed transformers 5.23 inventories (fixtures/oracle/).
"""

from __future__ import annotations

import gzip
import json

import pytest

from ckptscope.analysis.arch import family_name, infer_layout, layer_kinds, predict_inventory
from ckptscope.analysis.memory.kv import kv_layout
from ckptscope.readers.config import from_dict

from tests.conftest import FIXTURES

CONFIGS = FIXTURES / "configs"
NEW = ["transformers__deepseek_v32", "transformers__glm_moe_dsa", "transformers__glm4_moe_lite",
       "transformers__kimi_linear", "transformers__kimi_linear__attn_config", "transformers__olmo_hybrid",
       "transformers__bamba", "transformers__falcon_mamba", "transformers__longcat_flash", "transformers__afmoe",
       "transformers__mimo_v2_flash", "transformers__dots1", "transformers__solar_open", "zai-org__GLM-4.7-Flash",
       "tiiuae__falcon-mamba-7b", "transformers__ministral3", "transformers__vaultgemma", "transformers__youtu",
       "transformers__granitemoe_swa", "transformers__hy_v3", "transformers__laguna",
       "transformers__laguna__channel_gate", "ibm-granite__granite-swash-2b", "transformers__lfm3",
       "transformers__cohere2_moe"]


def _cfg(stem: str, **edit) -> object:
    raw = json.loads((CONFIGS / stem / "config.json").read_text())
    for k, v in edit.items():
        if v is None:
            raw.pop(k, None)
        else:
            raw[k] = v
    return from_dict(raw)


def _oracle(stem: str) -> dict:
    p = FIXTURES / "oracle" / f"{stem}.json"
    if not p.exists():
        return json.loads(gzip.decompress((FIXTURES / "oracle" / f"{stem}.json.gz").read_bytes()))
    return json.loads(p.read_text())


@pytest.mark.parametrize("stem", NEW)
def test_every_new_fixture_has_rules_and_a_source(stem):
    c = _cfg(stem)
    assert family_name(c) == c.model_type
    assert predict_inventory(c)
    assert (CONFIGS / stem / "SOURCE.md").read_text().strip()


def test_glm47_flash_hub_layout_by_hand():
    """GLM-4.7-Flash's real config (num_nextn_predict_layers 1): the Hub checkpoint carries the DeepSeek-layout
    MTP layer model.layers.47 with its own embedding and head copies (as GLM-4.5); hand derivation of the total."""
    H, V, L, nh = 2048, 154880, 47, 20
    qr, kvr, nope, rope, vd = 768, 512, 192, 64, 256
    I, MI, E = 10240, 1536, 64
    attn = (H * qr + qr + qr * nh * (nope + rope) + H * (kvr + rope) + kvr + kvr * nh * (nope + vd)
            + nh * vd * H)
    moe = E * 3 * H * MI + E * H + E + 3 * H * MI  # routed, router + correction bias, one shared expert
    dense = 3 * H * I
    main = V * H + (attn + dense + 2 * H) + (L - 1) * (attn + moe + 2 * H) + H + V * H
    mtp = V * H + 2 * H + 2 * H * H + (attn + moe + 2 * H) + H + V * H
    inv = predict_inventory(_cfg("zai-org__GLM-4.7-Flash"))
    assert sum(t.numel for t in inv) == main + mtp
    names = {t.name for t in inv}
    assert {"model.layers.47.embed_tokens.weight", "model.layers.47.eh_proj.weight",
            "model.layers.47.shared_head.head.weight", "model.layers.47.mlp.experts.63.down_proj.weight"} <= names
    assert not any(n.startswith("model.layers.48.") for n in names)
    no_mtp = predict_inventory(_cfg("zai-org__GLM-4.7-Flash"), layout={"mtp": False})
    assert sum(t.numel for t in no_mtp) == main
    # the MTP layer is read off the names when headers exist (GLM-4.6-style: no copies)
    lay = infer_layout(_cfg("zai-org__GLM-4.7-Flash"), [n for n in names if "layers.47.embed_tokens" not in n
                                                          and "layers.47.shared_head.head" not in n])
    assert lay == {"mtp": True, "mtp_copies": False}


def test_deepseek_v32_fp8_indexer_as_the_hub_stores_it():
    """DeepSeek-V3.2's FP8 Hub checkpoint, as two inference engines document its weight names (code-search ids
    52431755613 and 68399240695, the same docstring): wq_b (8192, 1536) FP8 + scale_inv (64, 12) F32, wk
    (128, 7168) FP8 + scale_inv (1, 56), k_norm weight and bias (128,) F32, weights_proj (64, 7168) BF16."""
    c = _cfg("transformers__deepseek_v32", quantization_config={
        "quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128]})
    got = {t.name: (t.shape, t.dtype) for t in predict_inventory(c)}
    p = "model.layers.0.self_attn.indexer."
    assert {k[len(p):]: v for k, v in got.items() if k.startswith(p)} == {
        "wq_b.weight": ((8192, 1536), "F8_E4M3"), "wq_b.weight_scale_inv": ((64, 12), "F32"),
        "wk.weight": ((128, 7168), "F8_E4M3"), "wk.weight_scale_inv": ((1, 56), "F32"),
        "k_norm.weight": ((128,), "F32"), "k_norm.bias": ((128,), "F32"),
        "weights_proj.weight": ((64, 7168), "BF16")}
    assert got["model.layers.3.mlp.gate.e_score_correction_bias"] == ((256,), "F32")


def test_glm5_indexer_schedule_without_indexer_types():
    """GLM-5.x configs give the schedule as index_topk_freq 4 / index_skip_topk_offset 3: an exo test module
    (code-search id 67159551111) pins the layers that run their own indexer as (0, 1, 2, *range(6, 78, 4)), and a
    sglang weight listing (id 60942919614) names them "0,1,2,6,10,...,74,78", 78 being the MTP layer."""
    c = _cfg("transformers__glm_moe_dsa", indexer_types=None, num_hidden_layers=78, index_topk_freq=4,
             index_skip_topk_offset=3, num_nextn_predict_layers=1,
             mlp_layer_types=None)  # the class default dense prefix (first_k_dense_replace 3) then applies
    inv = predict_inventory(c)
    with_index = sorted({int(t.name.split(".")[2]) for t in inv if ".indexer.wk." in t.name})
    assert with_index == [0, 1, 2, *range(6, 78, 4), 78]
    # the same schedule written as indexer_types (the oracle fixture, transformers' own writer) gives the same
    # inventory as the freq/offset keys
    a = predict_inventory(_cfg("transformers__glm_moe_dsa"))
    b = predict_inventory(_cfg("transformers__glm_moe_dsa", indexer_types=None))
    assert [(t.name, t.shape) for t in a] == [(t.name, t.shape) for t in b]


def test_kimi_linear_dense_layer_names_hub_and_transformers():
    """Moonshot's remote code names the dense layers' MLP ``mlp.`` and the MoE ``block_sparse_moe.``
    (KimiDecoderLayer, quoted in several engines); transformers 5 renames every ``.mlp.`` to
    ``.block_sparse_moe.`` on save. Both are read back from the names."""
    c = _cfg("transformers__kimi_linear")
    hub = [t.name for t in predict_inventory(c)]
    assert "model.layers.0.mlp.gate_proj.weight" in hub and "model.layers.1.block_sparse_moe.experts.0.w1.weight" in hub
    o = _oracle("transformers__kimi_linear")
    lay = infer_layout(c, [n for n, _, _ in o["tensors"]])
    assert lay == {"hub_names": False}
    assert sorted(t.name for t in predict_inventory(c, layout=lay)) == sorted(n for n, _, _ in o["tensors"])
    assert infer_layout(c, hub) == {"hub_names": True}


def test_olmo_hybrid_convs_and_longcat_zero_experts_differ_from_transformers_as_documented():
    # OLMo-Hybrid: q/k/v short convolutions of key_dim (30 x 96), key_dim and value_dim (30 x 192) channels
    got = {t.name: t.shape for t in predict_inventory(_cfg("transformers__olmo_hybrid"))}
    assert got["model.layers.0.linear_attn.q_conv1d.weight"] == (2880, 1, 4)
    assert got["model.layers.0.linear_attn.v_conv1d.weight"] == (5760, 1, 4)
    # LongCat-Flash: 512 real experts per layer in the Hub layout; transformers 5 adds gate/up (no down) rows for
    # the 256 zero experts: exactly 2 layers x 256 x 2 tensors more
    c = _cfg("transformers__longcat_flash")
    hub = {t.name for t in predict_inventory(c, layout={"mtp": False})}
    o = {n for n, _, _ in _oracle("transformers__longcat_flash")["tensors"]}
    assert hub < o and len(o - hub) == 2 * 256 * 2
    assert all(".experts." in n and not n.endswith("down_proj.weight") for n in o - hub)


def _kv(stem, **edit):
    return kv_layout(_cfg(stem, **edit))


def test_kv_planner_states_of_the_new_recurrent_layers():
    # Kimi-Linear (9 layers: MLA at 4 and 8): 7 KDA states of 3 convs (32 x 128 channels, kernel 4) plus one
    # 128 x 128 state per head (32 heads); MLA layers cache the latent 512 + 64
    k = _kv("transformers__kimi_linear")
    assert k.counts == {"state": 7, "full": 2}
    st = [L for L in k.layers if L.kind == "state"]
    assert {L.state_bytes for L in st} == {(3 * 4096 * 4 + 32 * 128 * 128) * 2}
    assert {(L.k_values, L.v_values) for L in k.layers if L.kind == "full"} == {(576, 0)}
    # OLMo-Hybrid: conv over q, k (30 x 96) and v (30 x 192) with kernel 4; 30 states of 96 x 192
    o = _kv("transformers__olmo_hybrid")
    assert o.counts == {"state": 6, "full": 2}
    assert {L.state_bytes for L in o.layers if L.kind == "state"} == {((2 * 2880 + 5760) * 4 + 30 * 96 * 192) * 2}
    # Bamba-9B: attention at 9, 18, 27, Mamba-2 elsewhere
    b = _kv("transformers__bamba")
    assert [L.index for L in b.layers if L.kind == "full"] == [9, 18, 27] and b.counts["state"] == 29
    # Falcon-Mamba-7B: 64 Mamba-1 states, d_inner = intermediate_size 8192 (not expand 16 x hidden)
    f = _kv("tiiuae__falcon-mamba-7b")
    assert f.counts == {"state": 64}
    assert {L.state_bytes for L in f.layers} == {(8192 * 4 + 8192 * 16) * 2}
    assert layer_kinds(_cfg("tiiuae__falcon-mamba-7b"))["state"]["falcon_mamba"] == {"conv": (8192, 4),
                                                                                    "ssm": (8192, 16)}


def test_kv_planner_lfm3_conv_state():
    # LFM3 (6 layers: conv, conv, full, conv, sliding, conv): each conv layer keeps its last conv_L_cache (7)
    # inputs of the 2048 channels
    k = _kv("transformers__lfm3")
    assert k.counts == {"state": 4, "full": 1, "sliding": 1}
    assert {L.state_bytes for L in k.layers if L.kind == "state"} == {2048 * 7 * 2}


def test_kv_planner_per_layer_caches():
    # LongCat-Flash: two MLA sub-blocks per layer, each caches its latent
    lc = _kv("transformers__longcat_flash")
    assert lc.counts == {"full": 4} and {L.k_values for L in lc.layers} == {512 + 64}
    # MiMo-V2-Flash (7 layers: full at 0 and 5): 4 KV heads on full layers, 8 on sliding ones; K 192, V 128
    m = _kv("transformers__mimo_v2_flash")
    assert m.counts == {"full": 2, "sliding": 5}
    assert {(L.kind, L.k_values, L.v_values) for L in m.layers} == {("full", 4 * 192, 4 * 128),
                                                                     ("sliding", 8 * 192, 8 * 128)}


@pytest.mark.parametrize("stem", NEW)
def test_cli_on_config_only_folders(stem, run_cli):
    d = CONFIGS / stem
    code, out, err = run_cli("inspect", d)
    assert code == 0, err
    fam = json.loads((d / "config.json").read_text())["model_type"]
    assert "predicted from config.json alone" in out and f"{fam} rules predict" in out
    code, out, err = run_cli("estimate", d)
    assert code == 0, err
    assert "[predicted]" in out


def test_longcat_flash_mtp_layer_names_as_vllm_loads_them():
    """vLLM's longcat_flash_mtp.py (vllm-project/vllm@0bb55d60) renames every checkpoint name of LongCat-Flash's
    single MTP layer from a table: 17 weights, and a weight_scale_inv for the 9 Linear ones in FP8 releases."""
    table = {"model.mtp.embed_tokens.weight", "model.mtp.norm.weight"} | {
        "model.mtp.layers.0." + n for n in (
            "eh_proj.weight", "enorm.m.weight", "hnorm.m.weight", "input_layernorm.weight",
            "post_attention_layernorm.weight", "self_attn.kv_a_layernorm.weight", "self_attn.kv_a_proj_with_mqa.weight",
            "self_attn.kv_b_proj.weight", "self_attn.o_proj.weight", "self_attn.q_a_layernorm.weight",
            "self_attn.q_a_proj.weight", "self_attn.q_b_proj.weight", "transformer_layer.mlp.down_proj.weight",
            "transformer_layer.mlp.gate_proj.weight", "transformer_layer.mlp.up_proj.weight")}
    scales = {"model.mtp.layers.0." + n + ".weight_scale_inv" for n in (
        "eh_proj", "self_attn.kv_a_proj_with_mqa", "self_attn.kv_b_proj", "self_attn.o_proj", "self_attn.q_a_proj",
        "self_attn.q_b_proj", "transformer_layer.mlp.down_proj", "transformer_layer.mlp.gate_proj",
        "transformer_layer.mlp.up_proj")}
    bf16 = {t.name for t in predict_inventory(_cfg("transformers__longcat_flash")) if t.name.startswith("model.mtp.")}
    assert bf16 == table
    fp8 = _cfg("transformers__longcat_flash", quantization_config={"quant_method": "fp8", "weight_block_size": [128, 128]})
    assert {t.name for t in predict_inventory(fp8) if t.name.startswith("model.mtp.")} == table | scales
    assert infer_layout(_cfg("transformers__longcat_flash"), sorted(bf16)) == {"mtp": True}


def test_mimo_v2_flash_hub_style_config():
    """A config in the Hub's own keys (hybrid_layer_pattern 1 = sliding, moe_layer_freq 0 = dense, swa_* widths,
    num_nextn_predict_layers) describing the reference model gives the transformers-checked inventory plus the MTP
    layers laid out as vLLM's mimo_v2_mtp.py documents them (model.mtp.layers.i: enorm, hnorm, eh_proj,
    input_layernorm, self_attn q/k/v/o (+ attention_sink_bias), pre_mlp_layernorm, mlp, final_layernorm)."""
    base = predict_inventory(_cfg("transformers__mimo_v2_flash"))
    pat = [0, 1, 1, 1, 1, 0, 1]
    hub = _cfg("transformers__mimo_v2_flash", layer_types=None, mlp_layer_types=None, hybrid_layer_pattern=pat,
               moe_layer_freq=[0] + [1] * 6, swa_num_attention_heads=64, swa_num_key_value_heads=8,
               swa_head_dim=192, swa_v_head_dim=128, add_swa_attention_sink_bias=True,
               add_full_attention_sink_bias=False, num_nextn_predict_layers=3)
    inv = predict_inventory(hub)
    main = [(t.name, t.shape) for t in inv if not t.name.startswith("model.mtp.")]
    assert main == [(t.name, t.shape) for t in base]
    mtp = {t.name: t.shape for t in inv if t.name.startswith("model.mtp.layers.2.")}
    H = 4096
    assert mtp == {
        "model.mtp.layers.2.enorm.weight": (H,), "model.mtp.layers.2.hnorm.weight": (H,),
        "model.mtp.layers.2.eh_proj.weight": (H, 2 * H), "model.mtp.layers.2.input_layernorm.weight": (H,),
        "model.mtp.layers.2.self_attn.q_proj.weight": (64 * 192, H),
        "model.mtp.layers.2.self_attn.k_proj.weight": (8 * 192, H),
        "model.mtp.layers.2.self_attn.v_proj.weight": (8 * 128, H),
        "model.mtp.layers.2.self_attn.o_proj.weight": (H, 64 * 128),
        "model.mtp.layers.2.self_attn.attention_sink_bias": (64,),
        "model.mtp.layers.2.pre_mlp_layernorm.weight": (H,),
        "model.mtp.layers.2.mlp.gate_proj.weight": (16384, H), "model.mtp.layers.2.mlp.up_proj.weight": (16384, H),
        "model.mtp.layers.2.mlp.down_proj.weight": (H, 16384), "model.mtp.layers.2.final_layernorm.weight": (H,)}
    assert not any(t.name.startswith("model.mtp.layers.3.") for t in inv)


def test_granite_swash_2b_by_hand():
    """ibm-granite/granite-swash-2b (real config): Llama layout, tied head, one attention-sink logit per head in
    every layer; 6 full-attention layers (0, 4, ..., 20), the rest slide over 128 tokens."""
    V, H, L, nh, kv, hd, I = 100352, 2560, 24, 20, 4, 128, 8192
    layer = 2 * H * nh * hd + 2 * H * kv * hd + nh + 3 * H * I + 2 * H
    c = _cfg("ibm-granite__granite-swash-2b")
    inv = predict_inventory(c)
    assert sum(t.numel for t in inv) == V * H + L * layer + H
    assert "lm_head.weight" not in {t.name for t in inv}
    k = kv_layout(c)
    assert k.counts == {"full": 6, "sliding": 18} and k.sliding_window == 128
