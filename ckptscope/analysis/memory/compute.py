"""Activations (inference prefill and training) and training state, each with the formula it uses.

Activation terms are derived from what the engine's code allocates (transformers 5.17-5.23 with PyTorch SDPA,
checked on an H100 with tools/gpu_validate.py; see docs/validation.md), counted in bytes per token.
Dimensions per layer: h = hidden_size, q = heads x head_dim, kv = KV heads x head_dim, I = the dense MLP width,
k = experts per token, Im = moe_intermediate_size, a = activation bytes (2 for bf16/fp16).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ...readers.config import ModelConfig
from ..classify import ATTENTION, BUFFER, EXPERTS, MLP, MTP, QUANT, SHARED, packing_factor
from .weights import classify_cached

#: MoE families whose transformers router hands fp32 routing weights to the experts (the router runs in fp32 and
#: the top-k weights are not cast back), read in transformers 5.17/5.23
FP32_ROUTING = {"deepseek_v2", "deepseek_v3", "mixtral"}
#: families whose router casts the top-k weights back to the activation dtype
ACT_ROUTING = {"qwen2_moe", "qwen3_moe", "qwen3_next", "qwen3_vl_moe", "qwen3_5_moe", "qwen3_5_moe_text", "olmoe",
               "gpt_oss"}
MOE_DISPATCH = ("transformers", "fused")
#: families with per-head RMSNorm on q and k (q_norm / k_norm), which save their own fp32 copies in training
QK_NORM = {"qwen3", "qwen3_moe", "olmo2", "olmoe", "gemma3", "gemma3_text"}
#: GPT-2 layout: LayerNorm, one c_attn projection, non-gated MLP with NewGELU (tanh approximation)
GPT2_BLOCK = {"gpt2"}
INDEX_BYTES = 8  #: int64 sort / permutation indices of the token-expert pairs


@dataclass
class Dims:
    h: int
    q: int
    kv: int
    layers: int  #: layers a token passes through (encoder + decoder for encoder-decoder models)
    dense_layers: int
    moe_layers: int
    I_dense: int
    I_moe: int  #: per token, active: top_k x moe_intermediate_size + shared experts
    vocab: int
    k: int = 0  #: experts per token
    Im: int = 0  #: one expert's intermediate width
    I_shared: int = 0  #: shared experts' total intermediate width
    experts: int = 0
    routing_bytes: int = 4  #: dtype of the routing weights the experts multiply by (fp32 unless known otherwise)
    routing_known: bool = False
    mla: tuple | None = None  #: (heads, qk_nope, qk_rope, v_head_dim) for multi-head latent attention
    qk_norm: bool = False
    gpt2_block: bool = False  #: LayerNorm + fused c_attn + non-gated tanh-GELU MLP (GPT-2 layout)
    dropout: bool = False  #: residual / embedding dropout active in training (resid_pdrop, embd_pdrop > 0)
    mlp_live: int = 3  #: MLP tensors of width I alive at once in a no-grad forward: 3, or 4 with a fused gate_up
    heads: int = 0
    kv_heads: int = 0
    kv_repeat: bool = False  #: GQA run with K/V expanded to every query head (head_dim above the engine's limit)
    attn_accum: int = 0  #: bytes per token of the memory-efficient kernel's fp32 output accumulator (MEFF_ACCUM)


def dims(c: ModelConfig, act_bytes: int = 2) -> Dims:
    h = c.hidden_size or 0
    H = c.num_attention_heads or 1
    hd = c.head_dim or (h // H if H else 0)
    mla = None
    if c.is_mla:
        q = H * ((c.qk_nope_head_dim or 0) + (c.qk_rope_head_dim or 0))
        kv = H * ((c.qk_nope_head_dim or 0) + (c.v_head_dim or 0))  # the expanded K/V computed during prefill
        mla = (H, c.qk_nope_head_dim or 0, c.qk_rope_head_dim or 0, c.v_head_dim or 0)
    else:
        q = H * hd
        kv = (c.num_key_value_heads or H) * hd
    n = c.num_hidden_layers or 0
    if c.is_encoder_decoder:
        n += c.num_decoder_layers or 0
    moe = 0
    if c.is_moe:
        first = c.first_k_dense_replace or 0
        freq = c.get("moe_layer_freq") or c.get("decoder_sparse_step") or 1
        only = set(c.get("mlp_only_layers") or [])
        moe = sum(1 for i in range(c.num_hidden_layers or 0) if i >= first and (i + 1) % freq == 0 and i not in only)
    Im = c.moe_intermediate_size or c.intermediate_size or 4 * h
    shared = (c.n_shared_experts or 0) * Im or (c.get("shared_expert_intermediate_size") or 0)
    k = (c.num_experts_per_tok or 1) if moe else 0
    I_moe = k * Im + shared if moe else 0
    mt = c.model_type or ""
    routing = act_bytes if mt in ACT_ROUTING else 4
    return Dims(h, q, kv, n, n - moe, moe, c.intermediate_size or 4 * h, I_moe, c.vocab_size or 0,
                k=k, Im=Im if moe else 0, I_shared=shared if moe else 0, experts=c.num_experts or 0,
                routing_bytes=routing, routing_known=mt in ACT_ROUTING or mt in FP32_ROUTING, mla=mla,
                qk_norm=mt in QK_NORM, heads=H, kv_heads=c.num_key_value_heads or H, gpt2_block=mt in GPT2_BLOCK,
                dropout=mt in GPT2_BLOCK and bool(c.get("resid_pdrop", 0.1)))


# ------------------------------------------------------------------------------------------------ prefill

PREFILL_FORMULA = (
    "prefill activations (no_grad forward, SDPA/flash attention: no T^2 score matrix) = T x (4 a h + max(layer "
    "terms)) + B x vocab x 4, T = batch x tokens processed at once (the prefill chunk), a = 2 bytes: 4 h = the "
    "embedding output (kept by the model's forward), the layer input (held by the caller), the residual and the "
    "normed input; dense MLP 3 a I / tp (SiLU(gate), up and their product alive together); attention a (4q + 2kv) "
    "/ tp (q, k, v, the rotated q and two rotary temporaries; MLA: a (3 H (nope+rope) + H (nope+v) + H v + H rope) "
    "/ tp: q, the concatenated query, the expanded K/V, the assembled keys, the output, the rotated part); "
    "plus last-token logits in fp32")

MOE_TRANSFORMERS = (
    "MoE layers, transformers grouped_mm dispatch (the default experts implementation of transformers 5.x, "
    "integrations/moe.py; --moe-dispatch transformers): every token is copied once per chosen expert (S = T x k "
    "token-expert pairs), so per token k x max(a (h + 4 Im / tp) [the gathered inputs, the gate_up output, "
    "SiLU(gate) and the product], a (3h + Im / tp) [down projection and its masked copy], h (2a + 2w) [gathered "
    "inputs, expert outputs, the weighted outputs and their un-permuted copy, w = routing-weight bytes]) + k x 3 x 8 "
    "bytes of int64 sort/permutation indices; w = {w} ({why})")
MOE_FUSED = ("MoE layers, fused dispatch (--moe-dispatch fused; vLLM/SGLang fused_moe style): per token k x a x "
             "(2 Im + Im + h) / tp for the three intermediate caches (gate_up output, activation, expert outputs) "
             "[not measured here]")


def _attn_prefill(d: Dims, tp: int) -> float:
    if d.mla:
        H, nope, rope, v = d.mla
        return (3 * H * (nope + rope) + H * (nope + v) + H * v + H * rope) / tp
    # kv_repeat: repeat_kv's K and V expanded to every query head, alive during the attention call
    return (4 * d.q + 2 * d.kv + (2 * d.q if d.kv_repeat else 0)) / tp


MEFF_ACCUM = ("memory-efficient SDPA kernel with a head dim above 128 (MLA's q/k 192 with v 128, or head_dim > 256): "
              "PyTorch's cutlass kernel (mem_eff_attention/kernel_forward.h) then runs the kMaxK = 65536 variant, "
              "whose kSingleValueIteration is false, so kNeedsOutputAccumulatorBuffer allocates an fp32 "
              "[batch, queries, heads, v_head_dim] output accumulator for the call: + 4 x heads x v_head_dim bytes "
              "per token inside the attention (derived from source)")


def meff_accum_bytes(heads: int, qk_dim: int, v_dim: int, flash_max: int = 256) -> int:
    """Bytes per query token of the memory-efficient kernel's fp32 output accumulator, or 0 when the call takes the
    flash kernel (equal q/k/v head dims <= 256: sdp_utils.cpp check_head_dim_size_flash) or the memory-efficient
    kernel keeps its output in registers (both head dims <= 128)."""
    if qk_dim == v_dim and qk_dim <= flash_max:
        return 0
    if max(qk_dim, v_dim) <= 128:
        return 0
    return 4 * heads * v_dim


def moe_prefill_bytes_per_token(d: Dims, tp: int = 1, act_bytes: int = 2, dispatch: str = "transformers") -> float:
    """Bytes per token live in one MoE layer's dispatch at its peak (beyond the 4 a h the model itself holds)."""
    if not d.moe_layers:
        return 0.0
    a, h, k, Im = act_bytes, d.h, d.k, d.Im
    shared = a * (h + 3 * d.I_shared / tp)  # after the routed experts: their output + the shared MLP
    if dispatch == "fused":
        return max(k * a * (3 * Im / tp + h), shared)
    w = d.routing_bytes
    pair = max(a * (h + 4 * Im / tp), a * (3 * h + Im / tp), h * (2 * a + 2 * w)) + 3 * INDEX_BYTES
    return max(k * pair, shared)


def moe_formula(d: Dims, dispatch: str = "transformers") -> str:
    if dispatch == "fused":
        return MOE_FUSED
    why = ("this family's router keeps the top-k weights in fp32, so the weighted expert outputs are fp32"
           if d.routing_bytes == 4 and d.routing_known else
           "this family's router casts the top-k weights to the activation dtype" if d.routing_known else
           "family not read: fp32 routing weights assumed, the larger case")
    return MOE_TRANSFORMERS.format(w=d.routing_bytes, why=why)


def prefill_activation_bytes(d: Dims, tokens: int, batch: int, tp: int = 1, act_bytes: int = 2,
                             moe_dispatch: str = "transformers", logits: bool = True, attn_extra: int = 0) -> int:
    """Activations inside the decoder layers at their peak (+ last-token fp32 logits when ``logits``);
    ``attn_extra``: bytes alive only inside the attention call (masked sliding layers)."""
    T = tokens * batch
    a = act_bytes
    terms = [a * _attn_prefill(d, tp) + d.attn_accum / tp + (attn_extra / T if T else 0)]
    if d.dense_layers:
        terms.append(a * d.mlp_live * d.I_dense / tp)
    if d.moe_layers:
        terms.append(moe_prefill_bytes_per_token(d, tp, a, moe_dispatch or "transformers"))
    per_tok = 4 * a * d.h + max(terms)
    return int(T * per_tok + (batch * d.vocab * 4 if logits else 0))


EAGER_FORMULA = ("eager attention (the family has no SDPA path in this engine): per layer the scores of heads x "
                 "queries x keys are materialised; inside softmax(dtype=float32) the masked bf16 scores, their fp32 "
                 "copy (ATen softmax converts first; only fp16 on CUDA takes the half_to_float path) and the fp32 "
                 "result are alive together (a + 4 + 4 bytes per score), plus one 4-D mask (queries x keys x a) per "
                 "attention kind (full / sliding) built once per forward, and the K/V repeated to every query head "
                 "(2 x heads x head_dim x keys x a)")


def eager_scores_bytes(d: Dims, c: ModelConfig, queries: int, keys: int, batch: int, tp: int, a: int,
                       n_masks: int = 1) -> int:
    """Eager attention's transient at softmax time (modeling_gemma2.py eager_attention_forward; measured on CPU
    with tools/measure_memory.py, which shows the bf16 scores, the fp32 copy and the fp32 softmax together)."""
    H = max(1, d.heads // tp) if d.heads else 1
    hd = d.q // d.heads if d.heads else 0
    scores = batch * H * queries * keys * (a + 4 + 4)
    mask = n_masks * batch * queries * keys * a
    rep = 2 * batch * H * hd * keys * a if d.kv_heads != d.heads else 0
    return int(scores + mask + rep)


def logits_bytes(d: Dims, c: ModelConfig, tokens: int, batch: int, tp: int, a: int, profile: dict) -> int:
    """The end of the forward pass: the LM head's output plus the last hidden state it was computed from.

    ``profile['logits'] == 'all'``: [batch x tokens, vocab] in the activation dtype (transformers' CausalLM
    forward, logits_to_keep=0); final_logit_softcapping (Gemma-2/3) divides, tanh's and multiplies them, so two
    such tensors are alive at once. ``'last'``: one fp32 row per sequence."""
    V = d.vocab / (tp if tp > 1 else 1)
    if profile["logits"] == "all":
        lb = a if profile["logit_bytes"] == "act" else profile["logit_bytes"]
        copies = profile.get("softcap_copies", 2) if c.get("final_logit_softcapping") else 1
        return int(batch * tokens * (V * lb * copies + a * d.h))
    return int(batch * (V * profile["logit_bytes"] + a * d.h) + batch * tokens * a * d.h)


def logits_formula(d: Dims, c: ModelConfig, profile: dict) -> str:
    if profile["logits"] == "all" and profile.get("activation_bytes"):
        return ("worst-case ubatch graph: logits for every position of the ubatch, fp32, + the fp32 hidden state "
                "(the compute buffer the engine reserves)")
    if profile["logits"] == "all":
        soft = " x 2 (final_logit_softcapping: the capped copy is made while the raw logits are alive)" if c.get(
            "final_logit_softcapping") else ""
        return ("logits for every position: batch x tokens x vocab in the activation dtype" + soft +
                ", + the last hidden state (a plain model(input_ids) call; generate() keeps only the last)")
    return "logits for the last position of each sequence only, fp32"


# ------------------------------------------------------------------------------------------------ training

LOGIT_BYTES = 12  #: per token per vocabulary entry at the start of backward (see TRAIN_FORMULA)
ADAPTER_ACT_BYTES = 4  #: PEFT casts each adapted layer's input to the adapter dtype (fp32) and saves that copy

TRAIN_FORMULA = (
    "training activations = what autograd saves for backward (transformers + PyTorch SDPA, bf16, a = 2), per layer "
    "per token: full fine-tuning 8h + a (4h + 2q + 2kv + 4I) bytes (each RMSNorm saves its fp32 input copy 4h and "
    "its bf16 normalised value, each normed output is saved by the next projections, SDPA saves rotated q, k, v and "
    "its output, the MLP saves gate, SiLU(gate), up and the product); LoRA (frozen bf16 base, fp32 adapters, "
    "dropout 0): the base linears save nothing, each adapted linear saves the fp32 copy of its input that PEFT "
    "makes (4 bytes x its input width: 4h for q/k/v/gate/up, 4q for o, 4I for down) and its rank-r fp32 A output "
    "(4r), the norms save only their fp32 input copies (8h), SDPA a (2q + 2kv), the MLP a 3I; MoE layers replace "
    "the MLP by the grouped_mm dispatch tensors: full fine-tuning k x (a (2h + 4Im) + w + 16) + 4 x experts "
    "(gathered inputs, gate_up output, SiLU, product, expert outputs, routing weights, indices, router softmax), "
    "the same under LoRA (PEFT's ParamWrapper adapts the 3-D expert weights, so autograd keeps them); plus shared "
    "experts as a dense MLP; q_norm/k_norm families (Qwen3, OLMo-2, Gemma-3) add (4 + a)(q + kv), LoRA 4 (q + kv). "
    "Logits: 12 bytes per token per vocabulary entry at the start of backward (fp32 log-softmax output saved by "
    "cross-entropy, its fp32 gradient, and log_softmax backward's fp32 result; the forward's bf16 logits + fp32 copy + "
    "log-softmax is 10), plus the final norm. Without checkpointing: all layers + logits. With gradient "
    "checkpointing each layer keeps only its input (a h), and the peak is the larger of the logits phase and one "
    "recomputed layer (backward transients of that layer not counted)")


def _lora_set(targets: list[str] | None) -> set[str]:
    names = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    return names if targets is None else names & set(targets)


def _lora_linear_bytes(linears, targets: list[str] | None, rank: int, amp: bool = False) -> float:
    """PEFT's saved tensors per token for the adapted linears of one layer: the fp32 copy of each adapted layer's
    input (PEFT casts x to the adapter dtype) and the rank-r fp32 output of lora_A (dropout 0). Under amp (LORA_AMP)
    the input is already fp32, so PEFT copies nothing; autocast's bf16 cast of it (saved by lora_A's matmul) and
    lora_A's bf16 output are saved instead: 2 bytes each."""
    F = 2 if amp else ADAPTER_ACT_BYTES
    return sum(F * (L.inp + rank) for L in linears if targets is None or L.name in targets)


LORA_AMP = ("LoRA under amp (fp32 base under torch.autocast): peft/tuners/lora/layer.py Linear.forward calls "
            "_cast_input_dtype(x, lora_A.weight.dtype), a no-op when x is already fp32 (tuners_utils.py: `x.dtype == "
            "dtype: return x`), so each adapted linear saves autocast's bf16 cast of its input (lora_A's matmul needs "
            "it for the adapter gradient) and lora_A's bf16 output: 2 x (input width + r) bytes per token, not the "
            "bf16 run's 4 x (input width + r) (measured on CPU: this was the +8-16% at tiny width)")


def train_layer_bytes(d: Dims, mode: str = "full", moe: bool = False, lora_targets: list[str] | None = None,
                      rank: int = 16, act_bytes: int = 2, linears=None, lora_amp: bool = False) -> float:
    """Bytes per token autograd saves in one decoder layer (dense MLP, or MoE when ``moe``)."""
    a, h, q, kv = act_bytes, d.h, d.q, d.kv
    if mode == "full" and d.gpt2_block:
        # derived, then checked on CPU with tools/measure_memory.py (attn_pdrop 0, 2 and 4 layers): two LayerNorms
        # save their input and normed output (4 a h) and fp32 mean + rstd (16); c_attn's output holds q, k, v
        # (3 a h) and SDPA's output is saved by c_proj (a h), + 2 a h the CPU run showed on top (residual adds /
        # split views kept alive); NewGELU saves x, tanh(.), 0.5 x, 1 + tanh(.) and c_proj its result (5 a I);
        # each nn.Dropout on a residual branch keeps its mask and scaled output (2 x a h) when resid_pdrop > 0
        return a * 10 * h + 32 + 5 * a * d.I_dense + (2 * a * h if d.dropout else 0)
    if mode == "full":
        per = 8 * h + a * (4 * h + 2 * q + 2 * kv) + ((4 + a) * (q + kv) if d.qk_norm else 0)
        if moe:
            per += d.k * (a * (2 * h + 4 * d.Im) + d.routing_bytes + 2 * INDEX_BYTES) + 4 * d.experts
            per += a * 4 * d.I_shared
        else:
            per += a * 4 * d.I_dense
        return per
    t = _lora_set(lora_targets)
    F = 2 if lora_amp else ADAPTER_ACT_BYTES
    per = 8 * h + a * (2 * q + 2 * kv) + (4 * (q + kv) if d.qk_norm else 0)
    if linears is not None:  # the layer's real linear modules (fused qkv_proj / gate_up_proj included)
        per += _lora_linear_bytes(linears, lora_targets, rank, lora_amp)
        per += a * 3 * (d.I_shared if moe else d.I_dense) if (not moe or d.I_shared) else 0
        if moe:
            per += d.k * (a * (2 * h + 4 * d.Im) + d.routing_bytes + 2 * INDEX_BYTES) + 4 * d.experts
        return per
    per += F * (h * len(t & {"q_proj", "k_proj", "v_proj"}) + q * ("o_proj" in t))
    attn_adapters = len(t & {"q_proj", "k_proj", "v_proj", "o_proj"})
    per += F * rank * attn_adapters

    def mlp(I: int) -> float:
        mt = t & {"gate_proj", "up_proj", "down_proj"}
        return a * 3 * I + F * (h * len(mt & {"gate_proj", "up_proj"}) + I * ("down_proj" in mt)) + F * rank * len(mt)

    if moe:
        # PEFT >= 0.17 adapts the 3-D expert parameters too (ParamWrapper): the dispatch saves what full FT saves
        per += d.k * (a * (2 * h + 4 * d.Im) + d.routing_bytes + 2 * INDEX_BYTES) + 4 * d.experts
        if d.I_shared:
            per += mlp(d.I_shared)
    else:
        per += mlp(d.I_dense)
    return per


LSE_FORMULA = ("fused attention (flash on sm90 for causal GQA/MHA, memory-efficient for MLA's unequal head dims; "
               "CPU's flash kernel alike) saves its fp32 log-sum-exp for backward: + {b} bytes x heads per token "
               "per layer")


def train_activation_bytes(d: Dims, seq: int, batch: int, checkpointing: bool, act_bytes: int = 2,
                           mode: str = "full", lora_targets: list[str] | None = None, rank: int = 16,
                           kinds=None, amp: bool = False, sliding: tuple[int, int] | None = None,
                           lse_bytes: int = 0, lora_amp: bool = False) -> dict:
    """``amp``: fp32 weights under autocast (AMP_FORMULA); ``sliding``: (sliding layers, window) of a model run
    through transformers' SDPA path, whose masked layers save more once seq > window (SWA_TRAIN_FORMULA);
    ``lse_bytes``: bytes per head per token the attention kernel saves for backward (LSE_FORMULA)."""
    T = seq * batch
    a = act_bytes

    def lin(kind: str):
        if not kinds:
            return None
        ks = [k for k in kinds if k.kind == kind]
        return max(ks, key=lambda k: k.count).linears if ks else None

    dense = train_layer_bytes(d, mode, False, lora_targets, rank, a, lin("dense"), lora_amp) if d.dense_layers else 0
    moe = train_layer_bytes(d, mode, True, lora_targets, rank, a, lin("moe"), lora_amp) if d.moe_layers else 0
    attn_saved = lse_bytes * d.heads + (2 * (d.q - d.kv) * a if d.kv_repeat else 0)
    dense = dense + attn_saved if dense else 0
    moe = moe + attn_saved if moe else 0
    final_norm = 4 * d.h + (2 * a * d.h if mode == "full" else 0)  # fp32 copy (+ bf16 value, LM-head input)
    if d.gpt2_block and mode == "full":  # ln_f saves its input, mean/rstd and output; embedding dropout its mask
        final_norm = 2 * a * d.h + 8 + (2 * a * d.h if d.dropout else 0)
    if amp:
        dense = dense + AMP_LAYER[0] * d.h + AMP_LAYER[1] if dense else 0
        moe = moe + AMP_LAYER[0] * d.h + AMP_LAYER[1] if moe else 0
        final_norm += AMP_REST * d.h
    swa_layer = 0
    n_sl = 0
    if sliding and sliding[0] and seq > sliding[1]:
        n_sl = sliding[0]
        swa_layer = batch * seq * seq * a + T * 2 * max(0, d.q - d.kv) * a  # float mask + repeat_kv copies
    logits = T * (d.vocab * LOGIT_BYTES + final_norm)
    if checkpointing:
        inputs = T * d.layers * (4 if amp else a) * d.h
        layer = T * max(dense, moe) + swa_layer
        layers = inputs + max(0, layer - logits)  # the logits phase and a recomputed layer are not alive together
        phase = "logits" if logits >= layer else "recomputed layer"
    else:
        layers = T * (d.dense_layers * dense + d.moe_layers * moe) + n_sl * swa_layer
        phase = "logits (start of backward)"
    return {"layers": int(layers), "logits": int(logits), "total": int(layers + logits), "peak_phase": phase,
            "per_layer_bytes_per_token": {"dense": dense, "moe": moe} if d.moe_layers else dense}


AMP_LAYER = (10.25, 8)  #: amp: extra bytes per token per layer = 10.25 h + 8 (measured, see AMP_FORMULA)
AMP_REST = 2  #: amp: extra bytes per token per hidden unit outside the layers (the fp32 embedding output)
AMP_FORMULA = ("amp (fp32 weights under torch.autocast(bfloat16)): autocast casts each fp32 weight a matmul uses to "
               "bf16 and keeps the copy (its cast cache, for leaf weights that need gradients, and the matmul's saved "
               "tensors, for every weight) until that layer's backward: + 2 bytes per linear-weight parameter "
               "(LM head included) at the start of backward; the residual stream stays fp32 (the embedding lookup "
               "is not autocast), so the norms save fp32 inputs and fp32 normalised values and the rotary "
               "embedding runs in fp32: + 10.25 h + 8 bytes per token per layer and + 2 h outside the layers "
               "over the bf16 terms. These two coefficients are MEASURED (tools/measure_memory.py on CPU, Qwen2 "
               "layout with h = heads x head_dim, three widths: the gap did not depend on the MLP width), not read "
               "from the source; with checkpointing each layer keeps its fp32 input (4 h). LoRA under amp: the bf16 LoRA "
               "terms + the cast copies of the frozen weights (the matmuls save them for the input gradient); "
               "measured +0.8% at real Llama-3.1-8B width (2 layers), but +7% at tiny width (not explained)")
SWA_TRAIN_FORMULA = ("sliding-window layers through transformers' SDPA path, seq > window: an explicit mask replaces "
                     "is_causal; ATen turns the boolean mask into a float one (seq x seq x a) that the attention "
                     "kernel saves for backward in every sliding layer, and the GQA fast path is off, so the K/V "
                     "repeated to every query head (repeat_kv) are saved instead of the originals (+ 2 (q - kv) a "
                     "per token)")


def autocast_weight_copies(tensors, config: ModelConfig | None) -> int:
    """bf16 copies autocast makes of the fp32 matmul weights (2-D linear weights and the LM head; the embedding
    lookup is not autocast), alive at the start of backward."""
    n = 0
    for t in tensors:
        comp = classify_cached(t.name, config).component
        if len(t.shape) >= 2 and comp in (ATTENTION, MLP, EXPERTS, SHARED, "lm_head") and "norm" not in t.name:
            n += math.prod(t.shape)
    tied = not any(classify_cached(t.name, config).component == "lm_head" for t in tensors)
    if tied:
        emb = [t for t in tensors if classify_cached(t.name, config).component == "embedding" and len(t.shape) == 2]
        if emb:
            n += math.prod(max(emb, key=lambda t: math.prod(t.shape)).shape)
    return 2 * n


def is_param(name: str, config: ModelConfig | None) -> bool:
    """A trainable parameter (not a quantization side-tensor or a buffer)."""
    return classify_cached(name, config).component not in (QUANT, BUFFER)


# ----------------------------------------------------------------------------------------------- parameters

def param_counts(tensors, config: ModelConfig | None) -> dict:
    """Trainable parameters (logical, quant side-tensors and buffers excluded), by coarse role."""
    out = {"total": 0, "linear": 0, "other": 0}
    for t in tensors:
        pl = classify_cached(t.name, config)
        if pl.component in (QUANT, BUFFER):
            continue
        n = math.prod(t.shape) * packing_factor(t.name, t.dtype, config)
        out["total"] += n
        comp = pl.component
        if comp in (ATTENTION, MLP, EXPERTS, SHARED, MTP) and len(t.shape) >= 2 and "norm" not in t.name:
            out["linear"] += n
        else:
            out["other"] += n
    return out


FULL_FT = {
    "mixed": {"weights": 2, "gradients": 2, "master_weights": 4, "adam_m": 4, "adam_v": 4,
              "why": "mixed precision: bf16 weights (2) + bf16 gradients (2) + fp32 master copy (4) + Adam first "
                     "and second moments in fp32 (4 + 4) = 16 bytes per parameter (ZeRO paper's 2 + 2 + 12); an "
                     "fp32 model under autocast (HF Trainer default) is the same 16: fp32 weights 4 + fp32 grads 4 + "
                     "Adam 8"},
    "amp": {"weights": 4, "gradients": 4, "master_weights": 0, "adam_m": 4, "adam_v": 4,
            "why": "fp32 weights under autocast: fp32 weights 4 + fp32 gradients 4 + AdamW moments in fp32 4 + 4"},
    "bf16": {"weights": 2, "gradients": 2, "master_weights": 0, "adam_m": 2, "adam_v": 2,
             "why": "pure bf16: bf16 weights (2) + bf16 gradients (2) + Adam moments stored in bf16 (2 + 2) = 8 "
                    "bytes per parameter, no fp32 master copy (torch AdamW keeps states in the parameter dtype)"},
}
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)  # 4-bit values + 8-bit absmax per 64 + fp32 per 256 blocks (double quant)
ADAPTER_BYTES = 16  # fp32 adapter weights 4 + fp32 grads 4 + Adam 8


def full_ft_state(params: int, precision: str, zero: int, n_gpus: int) -> dict:
    b = FULL_FT[precision]
    N = max(1, n_gpus)
    opt = b["master_weights"] + b["adam_m"] + b["adam_v"]
    w = params * b["weights"] / (N if zero >= 3 else 1)
    g = params * b["gradients"] / (N if zero >= 2 else 1)
    o = params * opt / (N if zero >= 1 else 1)
    return {"weights": int(w), "gradients": int(g), "optimizer": int(o), "total": int(w + g + o),
            "bytes_per_param": b["weights"] + b["gradients"] + opt, "why": b["why"],
            "zero": zero, "gpus": N,
            "zero_rule": {0: "no sharding: every GPU holds everything",
                          1: "ZeRO-1: optimizer states (master + moments) / N",
                          2: "ZeRO-2: optimizer states and gradients / N",
                          3: "ZeRO-3: optimizer states, gradients and weights / N"}[min(zero, 3)]}


ALL_LINEAR = "all-linear"
TARGET_ALIASES = {"attn": ["q_proj", "k_proj", "v_proj", "o_proj"], "mlp": ["gate_proj", "up_proj", "down_proj"]}


def lora_targets(spec: str | None) -> list[str] | None:
    """``None`` means all linear layers (PEFT's ``all-linear``: every Linear except the LM head)."""
    if not spec or spec == ALL_LINEAR:
        return None
    out = []
    for s in spec.split(","):
        s = s.strip()
        out.extend(TARGET_ALIASES.get(s, [s]) if s else [])
    return out


def lora_adapter(tensors, config: ModelConfig | None, rank: int, targets: list[str] | None) -> dict:
    """Adapter parameters r x (in + out) for every targeted 2-D weight [out, in], from the real shapes."""
    total = 0
    matched: dict[str, int] = {}
    skipped_3d = 0
    for t in tensors:
        if not t.name.endswith(".weight") and not t.name.endswith("_blocks"):
            continue
        pl = classify_cached(t.name, config)
        if pl.component not in (ATTENTION, MLP, EXPERTS, SHARED):
            continue
        base = re.sub(r"(\.weight|_blocks)$", "", t.name)
        short = base.rsplit(".", 1)[-1]
        if targets is not None and short not in targets:
            continue
        if len(t.shape) == 3:
            skipped_3d += 1
            continue
        if len(t.shape) != 2:
            continue
        out_f, in_f = t.shape[0], t.shape[1] * packing_factor(t.name, t.dtype, config)
        n = rank * (in_f + out_f)
        total += n
        matched[short] = matched.get(short, 0) + 1
    return {"parameters": total, "modules": matched, "skipped_fused_3d": skipped_3d, "rank": rank,
            "targets": targets or ALL_LINEAR}
