"""Memory planner against values derived by hand from the real config.json numbers.

Every expected value is written as arithmetic on the config fields (quoted in the comments), never computed with
the code under test.
"""

from __future__ import annotations

import pytest

from ckptscope.analysis.memory import (Options, bytes_per_token, context_info, kv_cache_bytes, kv_layout, layer_kinds,
                                       max_context, plan, row_bytes)
from ckptscope.analysis.memory import compute as C
from ckptscope.analysis.memory.weights import fallback_inventory, per_gpu_weights, tp_role
from ckptscope.errors import CkptError
from ckptscope.gpus import parse_gpus
from ckptscope.readers.config import from_dict, parse_config

from conftest import CONFIGS

GiB = 2**30


def cfg(name: str):
    return parse_config((CONFIGS / name / "config.json").read_bytes())


# ------------------------------------------------------------------------------------------ Llama-3.1-8B (GQA)
# hidden_size 4096, num_attention_heads 32 -> head_dim 128, num_key_value_heads 8, num_hidden_layers 32,
# intermediate_size 14336, vocab_size 128256, max_position_embeddings 131072, untied.
LLAMA_LAYER_BF16 = 2 * 8 * 128 * 2  # K and V, 8 heads x 128 values, 2 bytes = 4096
LLAMA_TOKEN_BF16 = LLAMA_LAYER_BF16 * 32  # 131072


def test_llama_gqa_bytes_per_token_and_context():
    L = kv_layout(cfg("meta-llama__Llama-3.1-8B"))
    assert L.attention == "GQA"
    assert L.counts == {"full": 32}
    assert bytes_per_token(L, "bf16")["all_layers"] == 131072 == LLAMA_TOKEN_BF16
    assert bytes_per_token(L, "fp8")["all_layers"] == 8 * 128 * 2 * 32
    # q8_0: a token's K row is 8 x 128 = 1024 values = 32 blocks of 34 bytes; same for V
    assert bytes_per_token(L, "q8_0")["all_layers"] == (1024 // 32) * 34 * 2 * 32 == 69632
    # q4_0: 32 blocks of 18 bytes
    assert bytes_per_token(L, "q4_0")["all_layers"] == (1024 // 32) * 18 * 2 * 32 == 36864
    assert kv_cache_bytes(L, 8192, 4, "bf16")["total"] == 131072 * 8192 * 4 == 4_294_967_296
    assert kv_cache_bytes(L, 131072, 1, "bf16")["total"] == 131072 * 131072 == 16 * GiB


def test_llama_tensor_parallel_kv_share():
    L = kv_layout(cfg("meta-llama__Llama-3.1-8B"))
    # tp 2: 4 of the 8 KV heads per GPU
    assert bytes_per_token(L, "bf16", tp=2)["all_layers"] == 131072 // 2
    # tp 16 > 8 KV heads: each GPU keeps one head (replicated twice): 1/8 of the cache
    assert bytes_per_token(L, "bf16", tp=16)["all_layers"] == 131072 // 8


def test_llama_max_context_fits_budget():
    L = kv_layout(cfg("meta-llama__Llama-3.1-8B"))
    # 16 GiB of cache / 131072 bytes per token = 131072 tokens exactly
    assert max_context(L, 16 * GiB, 1, "bf16") == 16 * GiB // 131072 == 131072
    assert max_context(L, 16 * GiB, 4, "bf16") == 131072 // 4
    assert max_context(L, 100, 1, "bf16") == 0


def test_llama_parameters_and_weights():
    c = cfg("meta-llama__Llama-3.1-8B")
    inv = fallback_inventory(c)
    per_layer = (4096 * 4096 * 2  # q_proj, o_proj
                 + 1024 * 4096 * 2  # k_proj, v_proj (8 x 128 = 1024 rows)
                 + 3 * 4096 * 14336  # gate, up, down
                 + 2 * 4096)  # two RMSNorms
    expected = 32 * per_layer + 2 * 128256 * 4096 + 4096  # + embedding, LM head, final norm
    assert expected == 8_030_261_248  # the published parameter count
    assert C.param_counts(inv, c)["total"] == expected
    assert sum(t.nbytes for t in inv) == 2 * expected  # bfloat16


def test_llama_tp_weights_split_and_replicated():
    c = cfg("meta-llama__Llama-3.1-8B")
    inv = fallback_inventory(c)
    assert tp_role("model.layers.0.self_attn.q_proj.weight", c) == "split"
    assert tp_role("model.layers.0.self_attn.k_proj.weight", c) == "kv"
    assert tp_role("model.layers.0.mlp.down_proj.weight", c) == "split"
    assert tp_role("model.layers.0.input_layernorm.weight", c) == "replicated"
    assert tp_role("model.embed_tokens.weight", c) == "split"
    assert tp_role("model.embed_tokens.weight", c, vocab_parallel=False) == "replicated"
    w = per_gpu_weights(inv, c, 2)
    norms = 2 * (32 * 2 * 4096 + 4096)
    kvw = 2 * 32 * 2 * 1024 * 4096
    split = 2 * 8_030_261_248 - norms - kvw
    assert w["by_role"] == {"split": split, "kv": kvw, "replicated": norms}
    assert w["per_gpu"] == split // 2 + kvw // 2 + norms


def test_lora_adapter_from_shapes():
    c = cfg("meta-llama__Llama-3.1-8B")
    inv = fallback_inventory(c)
    r = 16
    per_layer = (r * (4096 + 4096) * 2  # q, o
                 + r * (4096 + 1024) * 2  # k, v
                 + r * (4096 + 14336) * 3)  # gate, up, down
    assert C.lora_adapter(inv, c, r, None)["parameters"] == 32 * per_layer == 41_943_040
    qv = C.lora_adapter(inv, c, r, C.lora_targets("q_proj,v_proj"))
    assert qv["parameters"] == 32 * (r * (4096 + 4096) + r * (4096 + 1024)) == 6_815_744
    assert qv["modules"] == {"q_proj": 32, "v_proj": 32}


def test_full_finetune_zero_stages():
    P = 8_030_261_248
    st = C.full_ft_state(P, "mixed", 0, 1)
    assert st["total"] == 16 * P and st["bytes_per_param"] == 16
    # ZeRO-1 on 4 GPUs: weights 2 + grads 2 + optimizer 12 / 4
    assert C.full_ft_state(P, "mixed", 1, 4)["total"] == 2 * P + 2 * P + 12 * P // 4
    # ZeRO-2: grads sharded too
    assert C.full_ft_state(P, "mixed", 2, 4)["total"] == 2 * P + (2 * P + 12 * P) // 4
    # ZeRO-3 on 8: everything / 8
    assert C.full_ft_state(P, "mixed", 3, 8)["total"] == 16 * P // 8
    assert C.full_ft_state(P, "bf16", 0, 1)["total"] == 8 * P


def test_training_activation_formula_full():
    d = C.dims(cfg("meta-llama__Llama-3.1-8B"))
    # bytes per layer per token, bf16 (a = 2): two RMSNorms each save an fp32 copy of their input (4h) and the bf16
    # normalised value (2h); q/k/v and gate/up save the two normed outputs (2h each); SDPA saves rotated q, k, v
    # and its output (2q + 2kv, x 2 bytes); the MLP saves gate, SiLU(gate), up and the product (4I x 2 bytes)
    per_layer = 2 * (4 * 4096 + 2 * 4096) + 2 * 2 * 4096 + 2 * (2 * 4096 + 2 * 1024) + 2 * 4 * 14336
    assert per_layer == 16 * 4096 + 4 * 4096 + 4 * 1024 + 8 * 14336 == 200704
    a = C.train_activation_bytes(d, 2048, 1, checkpointing=False)
    assert a["layers"] == 2048 * 32 * per_layer
    # 12 bytes per vocabulary entry at the start of backward (fp32 log-softmax, its gradient, the backward's
    # result) + the final norm (fp32 copy 4h, bf16 value 2h, LM-head input 2h)
    assert a["logits"] == 2048 * (128256 * 12 + 8 * 4096)
    # checkpointing: each layer's input (2h) + the larger of the logits phase and one recomputed layer
    b = C.train_activation_bytes(d, 2048, 1, checkpointing=True)
    assert b["total"] == 2048 * 32 * 2 * 4096 + max(2048 * (128256 * 12 + 8 * 4096), 2048 * per_layer)
    assert b["peak_phase"] == "logits"


def test_training_activation_formula_lora():
    d = C.dims(cfg("meta-llama__Llama-3.1-8B"))
    # LoRA all-linear r=16, fp32 adapters: the frozen base linears save nothing; PEFT's fp32 copy of each adapted
    # layer's input (q, k, v, gate, up: 4h each; o: 4q; down: 4I) and the fp32 rank-16 A output (4 x 16) of each
    # of the 7 adapters; the norms save their fp32 copies only (2 x 4h); SDPA 2 x (2q + 2kv); MLP gate, SiLU, up
    per_layer = (2 * 4 * 4096 + 5 * 4 * 4096 + 4 * 4096 + 4 * 14336 + 7 * 4 * 16
                 + 2 * (2 * 4096 + 2 * 1024) + 2 * 3 * 14336)
    assert per_layer == 295360
    a = C.train_activation_bytes(d, 2048, 1, checkpointing=False, mode="lora", lora_targets=None, rank=16)
    assert a["layers"] == 2048 * 32 * per_layer
    assert a["logits"] == 2048 * (128256 * 12 + 4 * 4096)  # frozen final norm and LM head: only the fp32 copy
    # q_proj and v_proj only: two fp32 input copies, no o/down copies, two A outputs
    qv = C.train_activation_bytes(d, 2048, 1, checkpointing=False, mode="lora", lora_targets=["q_proj", "v_proj"])
    assert qv["layers"] == 2048 * 32 * (2 * 4 * 4096 + 2 * 4 * 4096 + 2 * 4 * 16 + 2 * (2 * 4096 + 2 * 1024)
                                         + 2 * 3 * 14336)


def test_training_qk_norm_and_moe_dispatch():
    # Qwen3-30B-A3B: hidden 2048, 32 heads x 128 = 4096, 4 KV heads x 128 = 512, 128 experts, top-8,
    # moe_intermediate_size 768, every layer MoE; q_norm/k_norm; the router casts top-k weights to bf16 (2 bytes)
    d = C.dims(cfg("Qwen__Qwen3-30B-A3B"))
    attn = 2 * (4 * 2048 + 2 * 2048) + 2 * 2 * 2048 + 2 * (2 * 4096 + 2 * 512) + (4 + 2) * (4096 + 512)
    # per token-expert pair: gathered input (2h), gate_up output (4 Im), SiLU (2 Im), product (2 Im), expert
    # output (2h), routing weight (2), two int64 index tensors (16); router softmax in fp32 (4 x 128)
    moe = 8 * (2 * 2048 + 2 * 4 * 768 + 2 * 2048 + 2 + 16) + 4 * 128
    a = C.train_activation_bytes(d, 2048, 1, checkpointing=False)
    assert a["layers"] == 2048 * 48 * (attn + moe)


def test_prefill_dense():
    d = C.dims(cfg("meta-llama__Llama-3.1-8B"))
    # 4 hidden-size tensors (embedding output, layer input, residual, normed input) + the MLP's 3 x 14336 (bf16),
    # larger than attention's 4q + 2kv = 4 x 4096 + 2 x 1024; last-token logits in fp32
    assert C.prefill_activation_bytes(d, 8192, 1) == 8192 * 2 * (4 * 4096 + 3 * 14336) + 128256 * 4


def test_prefill_moe_transformers_dispatch():
    # Qwen3-30B-A3B, bf16 routing weights: per token-expert pair max(2 (h + 4 Im), 2 (3h + Im), h (2 + 2) x 2)
    # = max(2 x 5120, 2 x 6912, 16384) = 16384 bytes, + 3 int64 indices (24)
    d = C.dims(cfg("Qwen__Qwen3-30B-A3B"))
    assert C.prefill_activation_bytes(d, 8192, 1) == 8192 * (2 * 4 * 2048 + 8 * (16384 + 24)) + 151936 * 4
    # fused dispatch: 8 x 2 x (3 x 768 + 2048)
    assert C.prefill_activation_bytes(d, 8192, 1, moe_dispatch="fused") == (
        8192 * (2 * 4 * 2048 + 8 * 2 * (3 * 768 + 2048)) + 151936 * 4)
    # DeepSeek-V3: hidden 7168, top-8 of 256, moe_intermediate_size 2048, fp32 routing weights (4 bytes):
    # the weighted outputs and their un-permuted copy are fp32: h (2 + 2 + 4 + 4) = 12 x 7168 per pair
    v3 = C.dims(cfg("deepseek-ai__DeepSeek-V3"))
    pair = max(2 * (7168 + 4 * 2048), 2 * (3 * 7168 + 2048), 7168 * 12) + 24
    assert pair == 86040
    assert C.prefill_activation_bytes(v3, 4096, 1) == 4096 * (2 * 4 * 7168 + 8 * pair) + 129280 * 4


def test_plan_states_moe_dispatch():
    r = plan(config=cfg("Qwen__Qwen3-30B-A3B"), options=Options(context=4096))
    assert any("grouped_mm" in a and "w = 2" in a for a in r["assumptions"])
    r = plan(config=cfg("deepseek-ai__DeepSeek-V3"), options=Options(context=4096, moe_dispatch="fused"))
    assert any("fused" in a for a in r["assumptions"])
    with pytest.raises(CkptError):
        plan(config=cfg("Qwen__Qwen3-30B-A3B"), options=Options(moe_dispatch="magic"))


# ------------------------------------------------------------------------------------------ DeepSeek-V3 (MLA)
# kv_lora_rank 512, qk_rope_head_dim 64, qk_nope_head_dim 128, v_head_dim 128, num_attention_heads 128,
# num_hidden_layers 61 (+1 MTP layer, not counted), max_position_embeddings 163840, YaRN factor 40 from 4096.

def test_deepseek_mla_latent_default():
    L = kv_layout(cfg("deepseek-ai__DeepSeek-V3"))
    assert L.attention == "MLA (latent)"
    assert bytes_per_token(L, "bf16")["all_layers"] == (512 + 64) * 2 * 61 == 70272
    # the latent has no heads: every tensor-parallel GPU keeps all of it
    assert bytes_per_token(L, "bf16", tp=8)["all_layers"] == 70272
    assert kv_cache_bytes(L, 163840, 1, "bf16")["total"] == 70272 * 163840
    assert any("multi-token-prediction" in n for n in L.notes)


def test_deepseek_mla_expanded():
    L = kv_layout(cfg("deepseek-ai__DeepSeek-V3"), mla="expanded")
    k = 128 * (128 + 64)
    v = 128 * 128
    assert bytes_per_token(L, "bf16")["all_layers"] == (k + v) * 2 * 61 == 4_997_120
    assert bytes_per_token(L, "bf16", tp=8)["all_layers"] == (k + v) * 2 * 61 // 8


def test_deepseek_context_yarn():
    ci = context_info(cfg("deepseek-ai__DeepSeek-V3"))
    assert ci["max_position_embeddings"] == 163840
    assert ci["rope_scaling"] == {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096}
    assert any("4,096" in s and "163,840" in s for s in ci["explanation"])


def test_deepseek_moe_memory_vs_compute():
    c = cfg("deepseek-ai__DeepSeek-V3")
    r = plan(config=c, options=Options(context=4096, gpus=parse_gpus("8xH200")))
    moe = r["moe"]
    assert moe["experts"] == 256 and moe["experts_per_token"] == 8
    # routed experts: 58 MoE layers (61 - first_k_dense_replace 3) x 256 experts x 3 x 7168 x 2048
    routed = 58 * 256 * 3 * 7168 * 2048
    assert moe["parameters_in_memory"] - moe["parameters_active_per_token"] == routed - routed * 8 // 256
    assert moe["forward_flops_per_token"] == 2 * moe["parameters_active_per_token"]
    # FP8 checkpoint (quantization_config): ~1 byte per expert parameter
    assert 600e9 < r["weights"]["bytes"] < 720e9


# ------------------------------------------------------------------------------------------ Gemma-2-9B (sliding)
# num_hidden_layers 42, layer i slides when i is even (transformers' Gemma2Config), sliding_window 4096,
# num_key_value_heads 8, head_dim 256.
GEMMA_LAYER_BF16 = 2 * 8 * 256 * 2  # 8192 bytes per token per layer


def test_gemma2_alternating_window():
    c = cfg("google__gemma-2-9b")
    kinds, _ = layer_kinds(c)
    assert kinds[:4] == ["sliding", "full", "sliding", "full"] and kinds.count("sliding") == 21
    L = kv_layout(c)
    assert bytes_per_token(L, "bf16") == {"all_layers": 42 * GEMMA_LAYER_BF16, "beyond_window": 21 * GEMMA_LAYER_BF16}
    # 8192 tokens: 21 global layers hold 8192, 21 sliding layers hold 4096
    win = 21 * GEMMA_LAYER_BF16 * 8192 + 21 * GEMMA_LAYER_BF16 * 4096
    assert kv_cache_bytes(L, 8192, 1, "bf16")["total"] == win == 2_113_929_216
    assert kv_cache_bytes(L, 8192, 1, "bf16", policy="full")["total"] == 42 * GEMMA_LAYER_BF16 * 8192
    # below the window both policies agree
    assert kv_cache_bytes(L, 2048, 1, "bf16")["total"] == 42 * GEMMA_LAYER_BF16 * 2048
    # the inverse: the budget of 8192 tokens gives back 8192
    assert max_context(L, win, 1, "bf16") == 8192
    assert max_context(L, win, 1, "bf16", policy="full") == win // (42 * GEMMA_LAYER_BF16)


def test_mistral_all_window_and_qwen2_no_window():
    L = kv_layout(cfg("mistralai__Mistral-7B-v0.1"))  # sliding_window 4096, 32 layers, 8 KV heads x 128
    assert L.counts == {"sliding": 32}
    assert kv_cache_bytes(L, 32768, 1, "bf16")["total"] == 32 * 2 * 8 * 128 * 2 * 4096
    q = kv_layout(cfg("Qwen__Qwen2-7B"))  # use_sliding_window false; 28 layers, 4 KV heads x 128
    assert q.counts == {"full": 28}
    assert bytes_per_token(q, "bf16")["all_layers"] == 28 * 2 * 4 * 128 * 2


def test_qwen2_max_window_layers_when_enabled():
    raw = {"model_type": "qwen2", "hidden_size": 3584, "num_attention_heads": 28, "num_key_value_heads": 4,
           "num_hidden_layers": 28, "sliding_window": 4096, "use_sliding_window": True, "max_window_layers": 21}
    kinds, _ = layer_kinds(from_dict(raw))
    assert kinds == ["full"] * 21 + ["sliding"] * 7


def test_gpt_oss_layer_types():
    L = kv_layout(cfg("openai__gpt-oss-120b"))  # explicit layer_types alternating, window 128, 8 KV x 64
    assert L.counts == {"sliding": 18, "full": 18}
    per = 2 * 8 * 64 * 2
    assert kv_cache_bytes(L, 131072, 1, "bf16")["total"] == 18 * per * 131072 + 18 * per * 128


# ------------------------------------------------------------------------------------------ T5 (encoder-decoder)
# t5-small: d_model 512, num_heads 8, d_kv 64, num_layers 6, num_decoder_layers 6 (= num_layers), d_ff 2048.

def test_t5_self_and_cross_attention():
    L = kv_layout(cfg("google-t5__t5-small"))
    assert L.is_encoder_decoder and L.counts == {"full": 6, "cross": 6}
    per = 2 * 8 * 64 * 4  # K and V in fp32
    got = kv_cache_bytes(L, 128, 2, "fp32", encoder_tokens=512)
    assert got["by_kind"] == {"full": 6 * per * 128 * 2, "cross": 6 * per * 512 * 2}
    assert got["total"] == 31_457_280


def test_t5_parameters():
    c = cfg("google-t5__t5-small")
    enc_block = 4 * 512 * 512 + 2 * 512 * 2048 + 2 * 512
    dec_block = 8 * 512 * 512 + 2 * 512 * 2048 + 3 * 512
    expected = 32128 * 512 + 6 * enc_block + 6 * dec_block + 2 * (32 * 8) + 2 * 512  # + rel. bias, final norms
    assert expected == 60_506_624
    assert C.param_counts(fallback_inventory(c), c)["total"] == expected


# ------------------------------------------------------------------------------------------ Mixtral, misc

def test_mixtral_active_parameters():
    r = plan(config=cfg("mistralai__Mixtral-8x7B-v0.1"), options=Options(context=4096))
    experts = 32 * 8 * 3 * 4096 * 14336
    other = (2 * 32000 * 4096 + 32 * (2 * 4096 * 4096 + 2 * 1024 * 4096) + 32 * 2 * 4096 + 4096
             + 32 * 8 * 4096)  # embed + head, attention, norms, router
    assert r["moe"]["parameters_in_memory"] == experts + other == 46_702_792_704
    assert r["moe"]["parameters_active_per_token"] == other + experts * 2 // 8 == 12_879_925_248


def test_state_layers_fixed_size():
    raw = {"model_type": "jamba", "hidden_size": 256, "num_attention_heads": 8, "num_key_value_heads": 2,
           "num_hidden_layers": 8, "attn_layer_period": 4, "attn_layer_offset": 2, "mamba_d_state": 16,
           "mamba_d_conv": 4, "mamba_expand": 2}
    L = kv_layout(from_dict(raw))
    assert L.counts == {"state": 6, "full": 2}
    state = (2 * 256 * 16 + 2 * 256 * 4) * 2  # d_inner x d_state + d_inner x d_conv, bf16
    small = kv_cache_bytes(L, 10, 3, "bf16")
    big = kv_cache_bytes(L, 1000, 3, "bf16")
    assert small["by_kind"]["state"] == big["by_kind"]["state"] == 6 * state * 3
    assert big["by_kind"]["full"] == 2 * 2 * 2 * 32 * 2 * 1000 * 3


def test_row_bytes_blocks_round_up():
    assert row_bytes(33, "q8_0") == 2 * 34
    assert row_bytes(576, "q4_0") == 18 * 18
    assert row_bytes(10, "fp8") == 10


def test_plan_fit_and_headroom():
    c = cfg("meta-llama__Llama-3.1-8B")
    r = plan(config=c, options=Options(context=65536, gpus=parse_gpus("L4")))
    inf = r["inference"]
    pg = inf["per_gpu"]
    # bf16 parameters + transformers' rotary buffers inv_freq and original_inv_freq: 2 x 64 fp32 values (head_dim 128)
    assert pg["weights"] == 2 * 8_030_261_248 + 2 * 64 * 4
    assert pg["kv_cache"] == 131072 * 65536  # 8 GiB: with 14.96 GiB of weights it overflows 22.5 GiB
    assert pg["workspace"] == 32 * 2**20  # cuBLAS workspace on sm90 (CublasHandlePool.cpp: 4096 KiB x 8)
    # CUDACachingAllocator rounds each block up to 512 bytes: every Llama-3.1-8B weight is a multiple of 512 bytes,
    # the two 256-byte rotary buffers take 512 each
    assert pg["allocator_rounding"] == 2 * (512 - 256)
    assert pg["total"] == (pg["weights"] + pg["kv_cache"] + pg["activations"] + pg["workspace"] + pg["cuda_graphs"]
                           + pg["overhead"] + pg["allocator_rounding"])
    assert inf["capacity_per_gpu"] == 23034 * 2**20
    assert inf["fits"] is False and inf["headroom"] == inf["capacity_per_gpu"] - pg["total"]
    r2 = plan(config=c, options=Options(context=65536, gpus=parse_gpus("2xL4")))
    assert r2["inference"]["fits"] is True and r2["inference"]["tensor_parallel"] == 2
    assert r2["inference"]["per_gpu"]["kv_cache"] == 131072 * 65536 // 2
    assert r2["inference"]["max_context"]["tokens"] > 65536
    assert any("tensor" in a or "split" in a for a in [r2["weights"]["split"]["rule"]])


def test_plan_rejects_bad_options():
    c = cfg("meta-llama__Llama-3.1-8B")
    with pytest.raises(CkptError):
        plan(config=c, options=Options(context=0))
    with pytest.raises(CkptError):
        plan(config=c, options=Options(gpus=parse_gpus("3xH100"), tp=2))
    with pytest.raises(CkptError):
        plan(config=c, options=Options(train="lora", lora_targets="nonexistent_proj"))
