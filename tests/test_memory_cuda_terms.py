"""CUDA-side terms of the transformers profile, each against a hand derivation from the PyTorch 2.13 /
transformers 5.23 source it cites (no GPU was lent: these are derived, the CPU harness cannot show them).

- CUDACachingAllocator block rounding (c10/cuda/CUDACachingAllocator.cpp: round_size() to kMinBlockSize = 512,
  stats.allocated_bytes += block->size);
- the fp32 log-sum-exp the fused SDPA kernel saves for backward (flash: softmax_lse [batch, heads, queries]);
- repeat_kv when transformers cannot use SDPA's enable_gqa (integrations/sdpa_attention.py use_gqa_in_sdpa);
- Adafactor's state and per-parameter step temporaries (transformers/optimization.py Adafactor.step);
- SGD defaults: no state, foreach add_ in place (torch/optim/sgd.py _multi_tensor_sgd);
- Nemotron-NAS / DeciLM per-layer KV heads (block_configs[i].attention.n_heads_in_group, no_op layers);
- the cuBLAS workspace (CublasHandlePool.cpp parseChosenWorkspaceSize: 4096 KiB x 8 on sm90, one per thread).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ckptscope.analysis.memory import Options, plan
from ckptscope.analysis.memory.engines import PROFILES
from ckptscope.readers.config import from_dict

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "fixtures" / "configs"
MiB = 2**20


def cfg(name: str, **over):
    d = json.loads((CONFIGS / name / "config.json").read_text())
    d.update(over)
    return from_dict(d)


def r512(n: int) -> int:
    """Bytes CUDACachingAllocator adds to an n-byte request (round up to a multiple of 512)."""
    return -n % 512


def test_allocator_rounding_qwen25_05b_inference():
    # Qwen2.5-0.5B: h 896, 24 layers, 14 heads x 64, 2 KV heads, biases on q/k/v, tied embedding, bf16.
    # Sizes that are not multiples of 512 bytes: q bias 896 x 2 = 1792 (+256), k and v bias 128 x 2 = 256 (+256
    # each), each RMSNorm weight 1792 (+256; 2 per layer + the final one), the two rotary buffers 32 x 4 = 128 (+384
    # each). Embedding 151936 x 896 x 2, projections and MLP (4864 x 896 x 2) are multiples of 512.
    assert r512(896 * 2) == 256 and r512(128 * 2) == 256 and r512(32 * 4) == 384
    expected = 24 * (3 * 256) + (24 * 2 + 1) * 256 + 2 * 384
    assert expected == 31_744
    r = plan(config=cfg("Qwen__Qwen2.5-0.5B"), options=Options(engine="transformers", dtype="bfloat16", context=1024,
                                                                prefill_chunk=0, overhead=0))
    pg = r["inference"]["per_gpu"]
    assert pg["allocator_rounding"] == expected
    assert pg["total"] == sum(v for k, v in pg.items() if k != "total")
    assert any("allocator rounding" in a for a in r["assumptions"])


def test_training_saves_fused_attention_logsumexp():
    # Llama-3.2-1B full bf16: h = q = 2048, kv = 8 x 64 = 512, I = 8192, 32 heads. Per layer per token autograd saves
    # 8h (fp32 norm inputs) + 2 (4h + 2q + 2kv + 4I) (TRAIN_FORMULA) + the flash kernel's fp32 softmax_lse, one
    # float per head per query position: 4 x 32.
    h, q, kv, I, H = 2048, 2048, 512, 8192, 32
    expected = 8 * h + 2 * (4 * h + 2 * q + 2 * kv + 4 * I) + 4 * H
    assert expected == 108_672
    r = plan(config=cfg("meta-llama__Llama-3.2-1B"),
             options=Options(engine="transformers", train="full", precision="bf16", context=2048, overhead=0))
    assert r["training"]["activations"]["per_layer_bytes_per_token"] == expected
    assert PROFILES["transformers"]["attention_lse"] == 4


def test_sdpa_source_passes_is_causal_and_gqa_without_mask():
    """The reading behind attention_lse / gqa_max_head_dim, checked against the installed transformers source."""
    tf = pytest.importorskip("transformers")
    src = (Path(tf.__file__).parent / "integrations" / "sdpa_attention.py").read_text()
    # no mask + equal K/V head dims <= 256 -> enable_gqa (flash handles GQA natively, no repeat_kv copies)
    assert "return attention_mask is None and key.shape[-1] == value.shape[-1] <= 256" in src
    # is_causal is used exactly when no mask is passed: the flash kernel, no score matrix
    assert "is_causal = q_length > 1 and attention_mask is None and is_causal" in src
    assert PROFILES["transformers"]["gqa_max_head_dim"] == 256


def test_repeat_kv_above_head_dim_256():
    # Llama-3.2-1B with head_dim 512 (8 KV heads, 32 query heads): use_gqa_in_sdpa is false, so repeat_kv expands
    # K and V to 32 heads during the attention call: + 2 x q values per token (q = 32 x 512) in the prefill's
    # attention term a (4q + 2kv + 2q), and in training SDPA saves the expanded copies: + 2 (q - kv) a.
    base = cfg("meta-llama__Llama-3.2-1B")
    big = cfg("meta-llama__Llama-3.2-1B", head_dim=512)
    T = 1024
    o = dict(engine="transformers", dtype="bfloat16", context=T, prefill_chunk=0, overhead=0)
    q, kv, a, h = 32 * 512, 8 * 512, 2, 2048
    layer = plan(config=big, options=Options(**o))["inference"]["moments"]["layer"]
    # head_dim 512 > 256 also rules out flash: the memory-efficient kernel's fp32 output accumulator (MEFF_ACCUM),
    # 4 x 32 heads x 512 per token. The attention term is the larger of attention and MLP (3 a I = 49,152 B/token)
    # here: 2 (6q + 2kv) + 65,536 = 278,528
    assert layer == T * (4 * a * h + a * (4 * q + 2 * kv + 2 * q) + 4 * 32 * 512)
    tr = plan(config=big, options=Options(engine="transformers", train="full", precision="bf16", context=T,
                                          overhead=0))["training"]
    tr0 = plan(config=base, options=Options(engine="transformers", train="full", precision="bf16", context=T,
                                            overhead=0))["training"]
    per, per0 = tr["activations"]["per_layer_bytes_per_token"], tr0["activations"]["per_layer_bytes_per_token"]
    # head_dim 64 -> 512 widens q and kv in the saved tensors (2 a (q + kv) more) and adds the repeated copies
    assert per - per0 == a * 2 * ((q - 2048) + (kv - 512)) + 2 * (q - kv) * a


def test_adafactor_state_and_step_temporaries():
    # Llama-3.2-1B, bf16 parameters. transformers Adafactor (defaults: factored second moment, no first moment):
    # state fp32 rows (shape[:-1]) + columns (shape[-1]) per matrix, full fp32 per vector:
    # embedding 128256 + 2048; per layer q 2048 + 2048, k 512 + 2048, v 512 + 2048, o 2048 + 2048,
    # gate / up 8192 + 2048 each, down 2048 + 8192, two norms 2048 each; final norm 2048; head tied.
    per_layer = 4096 + 2560 + 2560 + 4096 + 3 * 10240 + 2 * 2048
    factored = 128256 + 2048 + 16 * per_layer + 2048
    assert factored == 902_400
    # step: per parameter grad.float() + p.float() + grad**2 + (grad**2 + eps) alive together = 16 bytes x the
    # largest parameter (the embedding, 128256 x 2048)
    largest = 128256 * 2048
    r = plan(config=cfg("meta-llama__Llama-3.2-1B"),
             options=Options(engine="transformers", train="full", precision="bf16", optimizer="adafactor",
                             context=2048, overhead=0))
    pg = r["training"]["per_gpu"]
    assert pg["optimizer_state"] == 4 * factored
    assert pg["optimizer_temporaries"] == 16 * largest
    # the same parameter in fp32 (amp) is not copied: grad**2 and the sum, 8 bytes per value
    ra = plan(config=cfg("meta-llama__Llama-3.2-1B"),
              options=Options(engine="transformers", train="full", precision="amp", optimizer="adafactor",
                              context=2048, overhead=0))
    assert ra["training"]["per_gpu"]["optimizer_temporaries"] == 8 * largest


def test_adafactor_source_reading():
    tf = pytest.importorskip("transformers")
    src = (Path(tf.__file__).parent / "optimization.py").read_text()
    step = src[src.index("class Adafactor"):src.index("class AdafactorSchedule")]
    for line in ("grad = grad.float()", "p_data_fp32 = p_data_fp32.float()", 'update = (grad**2) + group["eps"][0]',
                 "p_data_fp32.add_(-update)", 'state["exp_avg_sq_row"] = torch.zeros(grad_shape[:-1]).to(grad)'):
        assert line in step, line


def test_sgd_defaults_keep_no_state():
    torch = pytest.importorskip("torch")
    src = Path(torch.optim.__file__).parent.joinpath("sgd.py").read_text()
    # momentum 0 by default: no momentum_buffer, and the foreach update is in place
    assert re.search(r"momentum: float = 0", src)
    assert "torch._foreach_add_(device_params, device_grads, alpha=-lr)" in src
    r = plan(config=cfg("meta-llama__Llama-3.2-1B"),
             options=Options(engine="transformers", train="full", precision="bf16", optimizer="sgd", context=2048,
                             overhead=0))
    pg = r["training"]["per_gpu"]
    assert pg["optimizer_state"] == 0 and pg["optimizer_temporaries"] == 0


def test_nemotron_nas_per_layer_kv_heads():
    # fixtures/configs/github-trtllm__nemotron-nas-mini: 32 heads of 64, 14 blocks; n_heads_in_group per block
    # 8, 16, linear, no_op, 8, 4, 8, 8, 16, linear, no_op, 8, 4, 8 -> KV heads 32 // g: 4, 2, -, -, 4, 8, 4, 4, 2,
    # -, -, 4, 8, 4 = 44 KV heads over 10 attention layers; K and V, bf16, 2048 tokens
    heads = [4, 2, 0, 0, 4, 8, 4, 4, 2, 0, 0, 4, 8, 4]
    expected = sum(heads) * 64 * 2 * 2 * 2048
    assert expected == 23_068_672
    r = plan(config=cfg("github-trtllm__nemotron-nas-mini"),
             options=Options(engine="transformers", dtype="bfloat16", context=2048, prefill_chunk=0, overhead=0))
    kv = r["kv_cache"]
    assert kv["bytes"] == expected
    assert kv["layers"] == {"full": 10}
    assert kv["attention"] == "GQA (per-layer KV heads)"
    assert not any(n.startswith("MHA: 32 KV heads") for n in kv["notes"])
    # the same config with one uniform 32-head count would be 7.3x as large
    assert kv["bytes"] * 320 // 44 == 10 * 32 * 64 * 4 * 2048


def test_cublas_workspace_one_per_thread_on_sm90():
    # CublasHandlePool.cpp parseChosenWorkspaceSize: `use32mb ? 4096 * 8 * 1024 : ...` for major 9 (Hopper),
    # allocated through CUDACachingAllocator, one per thread (thread_local workspace map); cuBLASLt shares it
    # (TORCH_CUBLASLT_UNIFIED_WORKSPACE unset = unified). Inference: one thread; training: + autograd's thread.
    ws = 4096 * 8 * 1024
    assert PROFILES["transformers"]["library_workspace"] == ws == 32 * MiB
    c = cfg("meta-llama__Llama-3.2-1B")
    r = plan(config=c, options=Options(engine="transformers", dtype="bfloat16", context=1024, prefill_chunk=0,
                                       overhead=0))
    assert r["inference"]["per_gpu"]["workspace"] == ws
    t = plan(config=c, options=Options(engine="transformers", train="full", precision="bf16", context=1024,
                                       overhead=0))
    assert t["training"]["per_gpu"]["workspace"] == 2 * ws


def test_caching_allocator_warmup_does_not_raise_the_peak():
    # transformers 5.23 modeling_utils.get_total_byte_count: the warmup tensor holds the summed parameter bytes of
    # the state dict, tied weights once; GPT-2 (tied LM head, no buffers in 5.x): 124,439,808 bf16 values = the
    # weights themselves, so max(warmup, weights + forward) = weights + forward.
    tf = pytest.importorskip("transformers")
    src = (Path(tf.__file__).parent / "modeling_utils.py").read_text()
    assert "if param_name in tied_param_names:" in src
    assert "_ = torch.empty(int(byte_count // 2), dtype=torch.float16, device=device, requires_grad=False)" in src
    warmup = 2 * 124_439_808
    r = plan(config=cfg("openai-community__gpt2"),
             options=Options(engine="transformers", dtype="bfloat16", context=1024, prefill_chunk=0, overhead=0))
    assert r["inference"]["per_gpu"]["weights"] == warmup
    assert r["inference"]["per_gpu"]["total"] > warmup


def test_gpu_validation_script_exits_clearly_without_cuda(tmp_path):
    """tools/gpu_validation.sh is for a later session with a GPU; here (no CUDA) it must say so and measure
    nothing, with exit code 3."""
    import shutil
    import subprocess

    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the script would run for minutes")
    if not shutil.which("bash"):
        pytest.skip("no bash")
    out = tmp_path / "out"
    p = subprocess.run(["bash", str(ROOT / "tools" / "gpu_validation.sh")], cwd=ROOT, capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "OUT": str(out), "PYTHON": __import__("sys").executable},
                       timeout=120)
    assert p.returncode == 3
    assert "no python with torch (CUDA available) and transformers found" in p.stderr
    assert not list(out.glob("*.json"))


def test_logits_stay_in_activation_dtype_without_labels():
    """A plain forward keeps bf16 logits for every position; the loss path upcasts once and shifts the labels
    (transformers 5.23 modeling_llama.py / loss_utils.py), which is what the planner's logit terms assume:
    inference [tokens, vocab] x 2 bytes; training 12 bytes per token per vocabulary entry at backward start."""
    tf = pytest.importorskip("transformers")
    root = Path(tf.__file__).parent
    llama = (root / "models" / "llama" / "modeling_llama.py").read_text()
    assert "logits_to_keep: int | torch.Tensor = 0," in llama
    fwd = llama[llama.index("hidden_states = slice_logits_to_keep(hidden_states, logits_to_keep)"):]
    assert fwd.split("\n")[1].strip() == "logits = self.lm_head(hidden_states)"
    loss = (root / "loss" / "loss_utils.py").read_text()
    body = loss[loss.index("def ForCausalLMLoss"):loss.index("def ForMaskedLMLoss")]
    assert "logits = logits.float()" in body and "labels = nn.functional.pad(labels, (0, 1), value=ignore_index)" in body
    T, V = 1024, 128256
    r = plan(config=cfg("meta-llama__Llama-3.2-1B"),
             options=Options(engine="transformers", dtype="bfloat16", context=T, prefill_chunk=0, overhead=0))
    # logits bf16 for every position + the last hidden state (bf16, h = 2048)
    assert r["inference"]["moments"]["logits"] == T * (V * 2 + 2 * 2048)


def test_memory_efficient_kernel_output_accumulator():
    """PyTorch's cutlass memory-efficient kernel (mem_eff_attention/kernel_forward.h): kSingleValueIteration =
    kMaxK <= kKeysPerBlock; the sm80 variants are (64 keys, kMaxK 64), (128, 128) and (128, 65536); a head dim above
    128 takes the last, which needs an fp32 output accumulator [batch, queries, heads, v_head_dim]. Flash (equal
    head dims <= 256) never needs it."""
    from ckptscope.analysis.memory.compute import meff_accum_bytes

    assert meff_accum_bytes(32, 128, 128) == 0  # Llama: flash
    assert meff_accum_bytes(8, 256, 256) == 0  # Gemma-3 head_dim 256: still flash
    assert meff_accum_bytes(128, 192, 128) == 4 * 128 * 128  # DeepSeek-V3 MLA: 64 KiB per token
    assert meff_accum_bytes(16, 192, 128) == 4 * 16 * 128  # DeepSeek-V2-Lite
    assert meff_accum_bytes(8, 512, 512) == 4 * 8 * 512
    # DeepSeek-V3 at 8k tokens: 8192 x 65,536 = 512 MiB inside the attention call, below the MoE dispatch term
    # (top-8 x (h (2a + 2w) = 7168 x 12) + 3 x 8 index bytes per pair = 688,512 B/token), so the peak is unchanged
    r = plan(config=cfg("deepseek-ai__DeepSeek-V3"),
             options=Options(engine="transformers", dtype="bfloat16", context=8192, prefill_chunk=0, overhead=0))
    assert any("output accumulator" in x for x in r["assumptions"])
    h, T = 7168, 8192
    assert r["inference"]["moments"]["layer"] == T * (4 * 2 * h + 8 * (h * (2 * 2 + 2 * 4) + 3 * 8))
