"""Engine profiles, runtime dtype and PyTorch training moments, against hand derivations from the engines' source
(each expected value is worked out in the test, not taken from the planner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ckptscope.analysis.memory import Options, plan
from ckptscope.analysis.memory.engines import FIELDS, PROFILES
from ckptscope.readers.config import from_dict

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "fixtures" / "configs"
MiB = 2**20
WS = 32 * MiB  # cuBLAS workspace on sm90: CublasHandlePool.cpp 4096 KiB x 8


def cfg(name: str, **over):
    d = json.loads((CONFIGS / name / "config.json").read_text())
    d.update(over)
    return from_dict(d)


# GPT-2 small: wte 50257 x 768 + wpe 1024 x 768 + 12 x (2 LayerNorms 2 x 2 x 768 + c_attn 768 x 2304 + 2304 +
# attn c_proj 768 x 768 + 768 + c_fc 768 x 3072 + 3072 + mlp c_proj 3072 x 768 + 768) + ln_f 2 x 768, head tied
GPT2_PARAMS = 50257 * 768 + 1024 * 768 + 12 * (4 * 768 + 768 * 2304 + 2304 + 768 * 768 + 768 + 768 * 3072 + 3072
                                               + 3072 * 768 + 768) + 2 * 768


def test_gpt2_params_hand_count():
    assert GPT2_PARAMS == 124_439_808  # the published GPT-2 small size


def test_every_profile_has_every_field_and_sources():
    for name, p in PROFILES.items():
        missing = [k for k in FIELDS if k not in p and k not in (
            "eager_attention", "rotary_buffers", "explicit_sliding_mask")]
        assert not missing, (name, missing)
        fields_with_sources = {s.split(":")[0].split(" / ")[0].strip() for s in p["sources"]}
        assert "loads_mtp" in fields_with_sources and "logits" in fields_with_sources, name


def test_planner_never_branches_on_engine_names():
    src = (ROOT / "ckptscope" / "analysis" / "memory" / "plan.py").read_text()
    for name in PROFILES:
        assert f'== "{name}"' not in src and f"== '{name}'" not in src


def test_gpt2_runtime_dtype_and_unloaded_mask_buffers():
    c = cfg("openai-community__gpt2")
    # --dtype bfloat16: every parameter in 2 bytes; transformers 5.x loads no attn.bias causal-mask buffers
    r = plan(config=c, options=Options(engine="transformers", dtype="bfloat16", context=1024, prefill_chunk=0,
                                       overhead=0))
    assert r["weights"]["bytes"] == 2 * GPT2_PARAMS
    # default: GPT-2's config has no dtype; the checkpoint is fp32 and transformers' dtype="auto" keeps it
    r = plan(config=c, options=Options(context=1024, prefill_chunk=0, overhead=0))
    assert r["weights"]["bytes"] == 4 * GPT2_PARAMS and r["weights"]["dtype"] == "F32"
    # vLLM turns an fp32 config into bf16
    r = plan(config=c, options=Options(engine="vllm", context=1024, overhead=0))
    assert r["weights"]["bytes"] == 2 * GPT2_PARAMS


def test_gpt2_inference_peak_is_all_position_logits():
    c = cfg("openai-community__gpt2")
    r = plan(config=c, options=Options(engine="transformers", dtype="bfloat16", context=1024, prefill_chunk=0,
                                       overhead=0))
    inf = r["inference"]
    kv = 12 * 2 * 768 * 2 * 1024  # 12 layers x (K + V) x 768 values x bf16 x 1024 tokens
    logits = 1024 * 50257 * 2 + 1024 * 768 * 2  # bf16 logits for every position + the last hidden state
    assert inf["peak_moment"] == "logits"
    assert inf["per_gpu"]["total"] == 2 * GPT2_PARAMS + kv + logits + WS


def test_deepseek_v3_mtp_layer_not_built_by_transformers():
    c = cfg("deepseek-ai__DeepSeek-V3", num_hidden_layers=2, first_k_dense_replace=1, quantization_config=None)
    r = plan(config=c, options=Options(engine="transformers", dtype="bfloat16", context=1024, prefill_chunk=0,
                                       overhead=0))
    h, V, E, Im, I = 7168, 129280, 256, 2048, 18432
    H, nope, rope, vd, ql, kl = 128, 128, 64, 128, 1536, 512
    attn = (h * ql + ql + ql * H * (nope + rope) + h * (kl + rope) + kl + kl * H * (nope + vd) + H * vd * h)
    dense = attn + 3 * h * I + 2 * h
    moe = attn + E * 3 * h * Im + 3 * h * Im + E * h + E + 2 * h  # routed + 1 shared expert, router, bias, norms
    params = 2 * V * h + h + dense + moe
    assert r["weights"]["parameters"] == params
    assert any("multi-token-prediction" in a and "left out" in a for a in r["assumptions"])


def test_llama_training_moments_bf16_foreach_adamw():
    c = cfg("meta-llama__Llama-3.2-1B")
    P = 1_235_814_400  # Llama-3.2-1B, tied embeddings
    buf = 2 * 32 * 4  # inv_freq + original_inv_freq, head_dim 64
    # CUDACachingAllocator blocks are multiples of 512 bytes: every Llama-3.2-1B weight, gradient and AdamW state
    # tensor already is one; the two 128-byte rotary buffers take a 512-byte block each
    rnd = 2 * (512 - 128)
    r = plan(config=c, options=Options(engine="transformers", train="full", precision="bf16", context=2048,
                                       overhead=0))
    tr = r["training"]
    assert tr["per_gpu"]["weights"] == 2 * P + buf
    assert tr["per_gpu"]["optimizer_state"] == 4 * P  # exp_avg + exp_avg_sq in bf16 (zeros_like the parameter)
    assert tr["per_gpu"]["optimizer_temporaries"] == 2 * P  # _foreach_sqrt(exp_avg_sq), one per parameter
    # optimizer step: weights + bf16 gradients + state + temporaries, two cuBLAS workspaces (caller + autograd)
    assert tr["moments"]["optimizer step"] == 2 * P + buf + 2 * P + 4 * P + 2 * P + 2 * WS + rnd
    # backward start: no gradients (zero_grad(set_to_none=True)), activations instead
    assert tr["moments"]["backward start"] == 2 * P + buf + 4 * P + tr["activations"]["total"] + 2 * WS + rnd
    # backward end (tied embedding, measured on CPU): every gradient + the embedding's own [vocab, hidden] gradient
    # and its sum with the LM head's, bf16
    assert tr["moments"]["backward end"] == 2 * P + buf + 2 * P + 4 * P + 2 * 128256 * 2048 * 2 + 2 * WS + rnd
    assert tr["per_gpu"]["allocator_rounding"] == rnd
    assert tr["per_gpu"]["total"] == max(tr["moments"].values())
    # at 2,048 tokens the saved activations (12 B x 128,256 logits per token alone: 3.15 GB) outweigh gradients +
    # foreach temporaries (4 P = 4.9 GB) minus nothing: backward start is the peak
    assert tr["peak_moment"] == "backward start"
    assert tr["activations"]["logits"] >= 2048 * 128256 * 12


def test_lora_adam_state_is_8_bytes_per_adapter_parameter():
    c = cfg("meta-llama__Llama-3.1-8B")
    r = plan(config=c, options=Options(train="lora", lora_targets="q_proj,k_proj,v_proj,o_proj", context=2048,
                                       overhead=0))
    tr = r["training"]
    Pa = 32 * 16 * ((4096 + 4096) + (4096 + 1024) * 2 + (4096 + 4096))
    assert tr["adapter"]["parameters"] == Pa
    assert tr["per_gpu"]["optimizer_state"] == 8 * Pa and tr["per_gpu"]["gradients"] == 4 * Pa


def test_phi3_fused_projections_are_lora_targets_with_their_own_width():
    c = cfg("microsoft__Phi-3-mini-4k-instruct")
    r = plan(config=c, options=Options(train="lora", lora_targets="qkv_proj,o_proj", context=1024, overhead=0))
    tr = r["training"]
    h, q = 3072, 3072
    qkv_out = 3 * 3072
    assert tr["adapter"]["parameters"] == 32 * 16 * ((h + qkv_out) + (q + h))
    assert tr["adapter"]["modules"] == {"qkv_proj": 32, "o_proj": 32}


def test_amp_keeps_fp32_weights_and_state():
    c = cfg("Qwen__Qwen2.5-0.5B")
    r = plan(config=c, options=Options(train="full", precision="amp", context=1024, overhead=0))
    tr = r["training"]
    P = r["weights"]["parameters"]
    assert r["weights"]["dtype"] == "F32"
    assert tr["per_gpu"]["optimizer_state"] == 8 * P and tr["per_gpu"]["gradients"] == 4 * P


def test_vllm_kv_pool_tokens_is_what_fits_in_the_memory_fraction():
    from ckptscope.gpus import parse_gpus

    c = cfg("meta-llama__Llama-3.1-8B")
    r = plan(config=c, options=Options(engine="vllm", context=8192, gpus=parse_gpus("H100")))
    pool = r["inference"]["kv_pool"]
    cap = parse_gpus("H100")[0].bytes
    pg = r["inference"]["per_gpu"]
    # vLLM v0.19 gpu_worker.determine_available_memory: fraction x total - (weights + torch peak increase +
    # non-torch); CUDA graphs are captured afterwards, outside the pool (fixtures/engine_logs, docs/validation.md)
    expected = int(cap * 0.9) - pg["weights"] - pg["activations"] - pg["workspace"] - pg["overhead"]
    assert pool["bytes"] == expected
    assert pool["tokens"] == expected // 131072 // 16 * 16  # 128 KiB per token (32 layers x 2 x 8 x 128 x 2 B)
    assert r["kv_cache"]["storage"] == "paged"


def test_estimate_cli_engine_and_dtype(run_cli):
    code, out, err = run_cli("estimate", CONFIGS / "openai-community__gpt2", "--engine", "transformers", "--dtype",
                             "bfloat16", "--context", "1024", "--prefill-chunk", "0", "--overhead", "0", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["engine"]["name"] == "transformers" and d["engine"]["sources"]
    assert d["inference"]["per_gpu"]["weights"] == 2 * GPT2_PARAMS
    code, out, err = run_cli("estimate", CONFIGS / "openai-community__gpt2", "--dtype", "int3")
    assert code == 2 and "int3" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("engine", ["vllm", "sglang", "llama.cpp"])
def test_other_engines_run(run_cli, engine):
    code, out, err = run_cli("estimate", CONFIGS / "meta-llama__Llama-3.2-1B", "--engine", engine, "--context",
                             "4096", "--gpus", "H100")
    assert code == 0, err
    assert f"engine {engine}" in out


def test_fp8_checkpoint_with_explicit_dtype_is_counted_dequantized():
    c = cfg("deepseek-ai__DeepSeek-V3")
    keep = plan(config=c, options=Options(context=1024, prefill_chunk=0, overhead=0))
    bf16 = plan(config=c, options=Options(dtype="bfloat16", context=1024, prefill_chunk=0, overhead=0))
    P = bf16["weights"]["parameters"]
    assert P == keep["weights"]["parameters"]
    # every parameter in 2 bytes, the fp32 e_score_correction_bias too, scales dropped; + rotary buffers
    # (qk_rope_head_dim 64: 2 x 32 fp32 values)
    assert bf16["weights"]["bytes"] == 2 * P + 2 * 32 * 4
    assert keep["weights"]["bytes"] < 0.55 * bf16["weights"]["bytes"]  # FP8 kept: about 1 byte per weight
