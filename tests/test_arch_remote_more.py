"""Remote-code families of families/remote_more.py (EXAONE 3, Ling/Bailing MoE, ChatGLM, Baichuan, Qwen v1), old
checkpoint quirks of families/classic.py, LFM2's short-conv state, and dispatch of Llama-type releases.

Expected values come from outside the rules: a real model.safetensors.index.json (Qwen v1), a real module printout
(EXAONE), or hand derivations written out here from each family's modeling code, on real configs
(fixtures/configs/<repo>/SOURCE.md says where each came from).
"""

from __future__ import annotations

import json

from ckptscope.analysis.arch import active_parameters, family_name, layer_kinds, predict_inventory, try_predict
from ckptscope.analysis.arch.reconcile import reconcile
from ckptscope.readers.config import from_dict

from tests.conftest import CONFIGS


def _cfg(name, f="config.json"):
    return json.loads((CONFIGS / name / f).read_text())


def _inv(raw, layout=None):
    inv, reason = try_predict(from_dict(raw), layout)
    assert inv is not None, reason
    return {t.name: t for t in inv}


def test_qwen_v1_equals_the_real_index():
    raw = _cfg("stvlynn__Qwen-7B-Chat-Cantonese")
    idx = _cfg("stvlynn__Qwen-7B-Chat-Cantonese", "index_summary.json")
    c = from_dict(raw)
    assert family_name(c) == "qwen"
    inv = _inv(raw)
    want = set(idx["top_level_keys"]) | {f"{idx['block_prefix']}{i}.{s}" for i in range(idx["blocks"])
                                         for s in idx["block_suffixes"]}
    assert len(want) == idx["num_keys"] == 259
    assert set(inv) == want
    assert all(t.dtype == "F16" for t in inv.values())  # torch_dtype float16
    assert sum(t.nbytes for t in inv.values()) == idx["total_size"] == 15_442_649_088
    # and by hand: c_attn 3H x H + bias, c_proj H x H, w1/w2 (I/2) x H, mlp.c_proj H x I/2, ln_1, ln_2
    H, I2, V = 4096, 22016 // 2, 151936
    layer = 3 * H * H + 3 * H + H * H + 3 * I2 * H + 2 * H
    assert 2 * (32 * layer + 2 * V * H + H) == 15_442_649_088
    assert inv["transformer.h.0.mlp.w1.weight"].shape == (I2, H)


def test_exaone3_module_tree_and_hand_total():
    raw = _cfg("LGAI-EXAONE__EXAONE-3.0-7.8B-Instruct")
    assert family_name(from_dict(raw)) == "exaone"
    inv = _inv(raw)
    # the printed module tree (SOURCE.md): Linear(in, out) is stored (out, in)
    printed = {
        "transformer.wte.weight": (102400, 4096),
        "transformer.h.0.attn.attention.k_proj.weight": (1024, 4096),
        "transformer.h.0.attn.attention.v_proj.weight": (1024, 4096),
        "transformer.h.0.attn.attention.q_proj.weight": (4096, 4096),
        "transformer.h.0.attn.attention.out_proj.weight": (4096, 4096),
        "transformer.h.31.mlp.c_fc_0.weight": (14336, 4096),
        "transformer.h.31.mlp.c_fc_1.weight": (14336, 4096),
        "transformer.h.31.mlp.c_proj.weight": (4096, 14336),
        "transformer.h.31.ln_1.weight": (4096,), "transformer.h.31.ln_2.weight": (4096,),
        "transformer.ln_f.weight": (4096,), "lm_head.weight": (102400, 4096),
    }
    for n, shape in printed.items():
        assert inv[n].shape == shape, n
    assert not any(n.endswith(".bias") for n in inv)  # every Linear prints bias=False, RMSNorms have none
    layer = 4096 * 4096 * 2 + 2 * 1024 * 4096 + 3 * 14336 * 4096 + 2 * 4096
    assert len(inv) == 3 + 9 * 32
    assert sum(t.numel for t in inv.values()) == 32 * layer + 2 * 102400 * 4096 + 4096 == 7_818_448_896


def test_ling_lite_hand_derivation_total_and_active():
    raw = _cfg("inclusionAI__Ling-lite-1.5")
    c = from_dict(raw)
    assert family_name(c) == "bailing_moe"
    inv = _inv(raw)
    H, V, L, E, MI, hd = 2048, 126464, 28, 64, 1408, 128
    attn = (16 + 2 * 4) * hd * H + H * 16 * hd  # fused query_key_value, dense
    routed = 3 * MI * H
    shared = 3 * (2 * MI) * H  # num_shared_experts 2 x moe_intermediate_size
    layer = attn + E * H + E * routed + shared + 2 * H  # + gate, + 2 norms
    total = L * layer + 2 * V * H + H
    assert sum(t.numel for t in inv.values()) == total == 16_801_974_272  # Ling-lite: 16.8B total
    act = L * (attn + E * H + 6 * routed + shared + 2 * H) + 2 * V * H + H
    assert active_parameters(list(inv.values()), c)["active"] == act == 2_753_153_024  # 2.75B activated
    assert inv["model.layers.0.attention.query_key_value.weight"].shape == (3072, H)
    assert inv["model.layers.0.mlp.shared_experts.gate_proj.weight"].shape == (2 * MI, H)
    assert "model.layers.0.mlp.gate.expert_bias" not in inv and "model.layers.0.mlp.gate_proj.weight" not in inv


def test_ling_2_dispatch_qk_norm_expert_bias_and_mtp():
    # Ling-2.0 publishes BailingMoeV2ForCausalLM under model_type bailing_moe: the class decides
    raw = {"architectures": ["BailingMoeV2ForCausalLM"], "model_type": "bailing_moe", "num_hidden_layers": 2,
           "hidden_size": 64, "intermediate_size": 160, "moe_intermediate_size": 32,
           "moe_shared_expert_intermediate_size": 48, "num_shared_experts": 1, "num_experts": 4,
           "num_experts_per_tok": 2, "first_k_dense_replace": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
           "head_dim": 16, "use_qk_norm": True, "moe_router_enable_expert_bias": True, "router_dtype": "fp32",
           "num_nextn_predict_layers": 1, "vocab_size": 100, "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
    c = from_dict(raw)
    assert family_name(c) == "bailing_moe_v2"
    inv = _inv(raw)
    assert inv["model.layers.0.mlp.gate_proj.weight"].shape == (160, 64)  # first_k_dense_replace: dense layer 0
    assert inv["model.layers.1.mlp.gate.weight"].dtype == "F32" and inv["model.layers.1.mlp.gate.expert_bias"].shape == (4,)
    assert inv["model.layers.1.attention.query_layernorm.weight"].shape == (16,)
    assert inv["model.layers.1.mlp.shared_experts.up_proj.weight"].shape == (48, 64)
    mtp = {n for n in inv if n.startswith("model.layers.2.")}
    assert {"model.layers.2.enorm.weight", "model.layers.2.hnorm.weight", "model.layers.2.eh_proj.weight",
            "model.layers.2.final_layernorm.weight", "model.layers.2.mlp.gate.weight"} <= mtp
    assert inv["model.layers.2.eh_proj.weight"].shape == (64, 128)
    assert len(predict_inventory(c, {"mtp": False})) == len(inv) - len(mtp)


def test_chatglm2_hand_derivation():
    raw = _cfg("THUDM__chatglm2-6b")
    assert family_name(from_dict(raw)) == "chatglm"
    inv = _inv(raw)
    H, F, V, L, kvc = 4096, 13696, 65024, 28, 128
    qkv = (32 + 2 * 2) * kvc  # 32 query heads + 2 K + 2 V groups (multi_query_group_num) of kv_channels
    layer = qkv * H + qkv + H * 32 * kvc + 2 * F * H + H * F + 2 * H  # qkv (+bias), dense, h_to_4h, 4h_to_h, 2 norms
    assert sum(t.numel for t in inv.values()) == L * layer + 2 * V * H + H + 32 == 6_243_584_032
    assert inv["transformer.rotary_pos_emb.inv_freq"].shape == (32,)  # kv_channels / 4, persisted buffer
    assert inv["transformer.encoder.layers.0.mlp.dense_h_to_4h.weight"].shape == (2 * F, H)
    assert inv["transformer.output_layer.weight"].shape == (V, H)


def test_baichuan2_w_pack_hand_derivation():
    # Baichuan2-7B's published sizes (vocab 125696, hidden 4096, 32 layers, 32 heads, intermediate 11008)
    raw = {"architectures": ["BaichuanForCausalLM"], "model_type": "baichuan", "vocab_size": 125696,
           "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
           "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
    inv = _inv(raw)
    H, I, V = 4096, 11008, 125696
    assert inv["model.layers.0.self_attn.W_pack.weight"].shape == (3 * H, H)
    assert sum(t.numel for t in inv.values()) == 32 * (4 * H * H + 3 * I * H + 2 * H) + 2 * V * H + H \
        == 7_505_973_248


def test_old_pythia_buffers_are_predicted_and_named():
    # a Pythia-style config written by transformers 4.24: the checkpoint persists the mask and rotary buffers
    raw = {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": 64,
           "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 256, "vocab_size": 100,
           "max_position_embeddings": 32, "rotary_pct": 0.25, "torch_dtype": "float16",
           "transformers_version": "4.24.0"}
    c = from_dict(raw)
    inv = _inv(raw)
    assert inv["gpt_neox.layers.0.attention.bias"].shape == (1, 1, 32, 32)
    assert inv["gpt_neox.layers.0.attention.bias"].dtype == "BOOL"
    assert inv["gpt_neox.layers.1.attention.rotary_emb.inv_freq"].shape == (2,)  # int(16 x 0.25) = 4 dims, 2 freqs
    # headers without the buffers: the rules read the layout off the names; with them but rules off: a quirk
    lay = {"buffers": False}
    plain = predict_inventory(c, lay)
    assert len(plain) == len(inv) - 3 * 2
    r = reconcile(plain, list(inv.values()))
    assert r.exact_but_quirks and {q["kind"] for q in r.quirks} == {"persisted_buffer"}
    assert sum(q["count"] for q in r.quirks) == 6


def test_lfm2_conv_layers_keep_a_constant_state():
    raw = _cfg("transformers__lfm2")
    lk = layer_kinds(from_dict(raw))
    assert lk["counts"] == {"short_conv": 10, "attention": 6}  # full_attn_idxs [2, 5, 8, 10, 12, 14] of 16
    assert lk["state"]["short_conv"] == {"conv": (2560, 3)}  # hidden_size x conv_L_cache
    from ckptscope.analysis.memory.kv import kv_layout

    kv = kv_layout(from_dict(raw))
    assert kv.counts == {"state": 10, "full": 6}
    assert {L.state_bytes for L in kv.layers if L.kind == "state"} == {2560 * 3 * 2}


def test_llama_type_releases_resolve():
    # deepseek-llm v1 and Yi publish LlamaForCausalLM / model_type llama
    for arch in (["LlamaForCausalLM"],):
        assert family_name(from_dict({"architectures": arch, "model_type": "llama"})) == "llama"
    # Falcon's original remote-code configs: RefinedWebModel (7B: multi-query), RefinedWeb (40B: new decoder)
    old7 = {"architectures": ["RWForCausalLM"], "model_type": "RefinedWebModel", "hidden_size": 4544, "n_head": 71,
            "n_layer": 2, "multi_query": True, "parallel_attn": True, "bias": False, "vocab_size": 65024}
    inv = _inv(old7)
    assert inv["transformer.h.0.self_attention.query_key_value.weight"].shape == (4544 + 2 * 64, 4544)
    assert "transformer.h.0.input_layernorm.weight" in inv and "transformer.h.0.ln_attn.weight" not in inv
    old40 = {"architectures": ["RWForCausalLM"], "model_type": "RefinedWeb", "hidden_size": 8192, "n_head": 128,
             "n_head_kv": 8, "n_layer": 2, "parallel_attn": True, "bias": False, "vocab_size": 65024}
    inv = _inv(old40)
    assert inv["transformer.h.0.self_attention.query_key_value.weight"].shape == ((128 + 2 * 8) * 64, 8192)
    assert "transformer.h.0.ln_mlp.weight" in inv


def test_lfm2_1_2b_hand_derivation():
    # LiquidAI/LFM2-1.2B (real config): 10 short-conv layers, 6 attention layers (full_attn_idxs), tied head
    inv = _inv(_cfg("LiquidAI__LFM2-1.2B"))
    H, V, kv = 2048, 65536, 8 * 64
    I = 8192  # block_auto_adjust_ff_dim: int(2 x 12288 / 3) = 8192, x 1.0, already a multiple of 256
    conv = H * 3 + 3 * H * H + H * H  # depthwise conv (H, 1, 3), in_proj 3H x H, out_proj
    attn = 2 * H * H + 2 * kv * H + 2 * 64  # q, out_proj, k, v, q/k layernorms (head_dim)
    ffn_norms = 3 * I * H + 2 * H  # w1/w3/w2, operator_norm + ffn_norm
    total = 10 * (conv + ffn_norms) + 6 * (attn + ffn_norms) + V * H + H  # + embed_tokens, embedding_norm
    assert sum(t.numel for t in inv.values()) == total == 1_170_340_608
    assert inv["model.layers.0.conv.conv.weight"].shape == (H, 1, 3) and "lm_head.weight" not in inv


def test_pythia_and_bloom_published_totals():
    # Pythia paper (Biderman et al. 2023, Table 1): pythia-6.9b has 6,857,302,016 parameters in total
    inv = _inv(_cfg("EleutherAI__pythia-6.9b-deduped"))
    assert sum(t.numel for t in inv.values() if t.component != "buffer") == 6_857_302_016
    # by hand as well: 32 x (qkv 3H^2+3H, dense H^2+H, 4H MLP 8H^2+5H, 2 LayerNorms 4H) + embed_in/embed_out + final LN
    H = 4096
    assert 32 * (12 * H * H + 13 * H) + 2 * 50432 * H + 2 * H == 6_857_302_016
    # bigscience/bloom-560m: 24 x (12H^2 + 13H) + word embeddings (tied) + embedding LN + ln_f
    inv = _inv(_cfg("bigscience__bloom-560m"))
    H = 1024
    assert sum(t.numel for t in inv.values()) == 24 * (12 * H * H + 13 * H) + 250880 * H + 4 * H == 559_214_592


def test_bloom_and_opt_base_model_layout_from_names():
    from ckptscope.analysis.arch import infer_layout

    c = from_dict(_cfg("bigscience__bloom-560m"))
    lay = infer_layout(c, ["word_embeddings.weight", "h.0.input_layernorm.bias", "ln_f.weight"])
    assert lay == {"prefix": False}
    names = [t.name for t in predict_inventory(c, lay)]
    assert names[0] == "word_embeddings.weight" and "h.23.mlp.dense_4h_to_h.bias" in names
    c = from_dict(_cfg("facebook__opt-350m"))
    lay = infer_layout(c, ["decoder.embed_tokens.weight", "decoder.layers.0.fc1.weight"])
    inv = {t.name: t for t in predict_inventory(c, lay)}
    assert inv["decoder.project_in.weight"].shape == (1024, 512)  # word_embed_proj_dim 512 -> hidden 1024
    assert "decoder.final_layer_norm.weight" not in inv  # do_layer_norm_before false: no final LayerNorm
