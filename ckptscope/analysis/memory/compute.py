"""Activations (inference prefill and training) and training state, each with the formula it uses.

All formulas count *values* per token and multiply by the activation width (2 bytes for bf16/fp16).
Dimensions per layer: h = hidden_size, q = heads x head_dim, kv = KV heads x head_dim (MLA: the latent), I = the
MLP width a token passes through (dense: intermediate_size; MoE: top_k x moe_intermediate_size + shared experts).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ...readers.config import ModelConfig
from ..classify import ATTENTION, BUFFER, EXPERTS, MLP, MTP, QUANT, SHARED, packing_factor
from .weights import classify_cached


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


def dims(c: ModelConfig) -> Dims:
    h = c.hidden_size or 0
    H = c.num_attention_heads or 1
    hd = c.head_dim or (h // H if H else 0)
    if c.is_mla:
        q = H * ((c.qk_nope_head_dim or 0) + (c.qk_rope_head_dim or 0))
        kv = H * ((c.qk_nope_head_dim or 0) + (c.v_head_dim or 0))  # the expanded K/V computed during prefill
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
    I_moe = (c.num_experts_per_tok or 1) * Im + shared if moe else 0
    return Dims(h, q, kv, n, n - moe, moe, c.intermediate_size or 4 * h, I_moe, c.vocab_size or 0)


PREFILL_FORMULA = ("prefill activations = T x a x (3h + max(3 I / tp, (2q + 4kv) / tp)) + B x vocab x 4: "
                   "T = batch x tokens processed at once (the prefill chunk), a = 2 bytes; the live set of one layer "
                   "(residual, normed input, layer output, and either the MLP's gate, up and product or the "
                   "attention's q, k, v and output; SDPA/flash attention, no T^2 score matrix), plus last-token "
                   "logits in fp32")


def prefill_activation_bytes(d: Dims, tokens: int, batch: int, tp: int = 1, act_bytes: int = 2) -> int:
    T = tokens * batch
    I = max(d.I_dense if d.dense_layers else 0, d.I_moe)
    per_tok = 3 * d.h + max(3 * I / tp, (2 * d.q + 4 * d.kv) / tp)
    return int(T * act_bytes * per_tok + batch * d.vocab * 4)


TRAIN_FORMULA = ("training activations per layer per token = 4h + 3q + 3kv + 4I values (inputs of the two norms "
                 "and their outputs, q, k, v, rotated q/k, attention output, and the MLP's gate, up, activation and "
                 "product), x a = 2 bytes; with gradient checkpointing only each layer's input (h) is kept, plus one "
                 "layer recomputed at a time; logits add 10 bytes per token per vocabulary entry (bf16 logits, the "
                 "fp32 copy cross-entropy makes, and its fp32 gradient)")


def train_activation_bytes(d: Dims, seq: int, batch: int, checkpointing: bool, act_bytes: int = 2) -> dict:
    T = seq * batch

    def per_layer(I: int) -> int:
        return 4 * d.h + 3 * d.q + 3 * d.kv + 4 * I

    full = d.dense_layers * per_layer(d.I_dense) + d.moe_layers * per_layer(d.I_moe)
    if checkpointing:
        layers = d.layers * d.h + max(per_layer(d.I_dense), per_layer(d.I_moe) if d.moe_layers else 0)
    else:
        layers = full
    logits = T * d.vocab * 10
    return {"layers": int(T * act_bytes * layers), "logits": int(logits), "total": int(T * act_bytes * layers + logits)}


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
