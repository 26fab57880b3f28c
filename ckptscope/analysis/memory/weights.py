"""Weights for the memory planner: the tensor inventory (headers, predicted, or an approximate fallback) and how
it splits across GPUs under tensor parallelism.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ...dtypes import nbytes as dt_nbytes
from ...readers.config import ModelConfig
from ..classify import (ATTENTION, BUFFER, EMBEDDING, EXPERTS, LM_HEAD, MLP, MTP, NORM, OTHER, POSITION, QUANT,
                        ROUTER, SHARED, TOWERS, classify)


@dataclass(frozen=True)
class Rec:
    """A tensor record (same duck type as TensorInfo) for predicted inventories."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return dt_nbytes(self.dtype, self.numel)


def classify_cached(name: str, config: ModelConfig | None):
    """classify() (memoised there)."""
    return classify(name, config)


def _nb(t) -> int:
    nb = getattr(t, "nbytes", None)
    if isinstance(nb, int):
        return nb
    return dt_nbytes(t.dtype, math.prod(t.shape))


def inventory(ck=None, config: ModelConfig | None = None) -> tuple[list, str]:
    """Tensors to plan with, and where they came from: ``headers``, ``predicted`` (the architecture rules) or
    ``approximate`` (this module's own fallback for standard decoder / T5 layouts)."""
    if ck is not None and getattr(ck, "tensors", None):
        return list(ck.tensors), "headers"
    cfg = config if config is not None else (ck.config if ck is not None else None)
    if cfg is None:
        return [], "none"
    try:
        from ..arch import predict_inventory  # written on the `arch` branch
    except ImportError:
        predict_inventory = None
    if predict_inventory is not None:
        try:
            inv = predict_inventory(cfg)
            tensors = list(getattr(inv, "tensors", inv) or [])
            if tensors:
                return tensors, "predicted"
        except Exception:  # noqa: BLE001 - an unknown family: fall back to the approximate layout below
            pass
    return fallback_inventory(cfg), "approximate"


# --------------------------------------------------------------------------------------- fallback inventory

NON_GATED = {"gpt2", "bert", "roberta", "xlm-roberta", "distilbert", "opt", "gpt_neox", "falcon", "phi", "gptj",
             "bloom", "t5", "mt5", "electra", "mpnet", "starcoder2", "gpt_bigcode"}
TIED_DEFAULT = {"gemma", "gemma2", "gemma3", "gemma3_text", "gpt2", "bert", "t5", "mt5", "roberta", "opt",
                "distilbert", "electra"}


def _tied(c: ModelConfig) -> bool:
    if c.tie_word_embeddings is not None:
        return c.tie_word_embeddings
    return (c.model_type or "") in TIED_DEFAULT


def fallback_inventory(c: ModelConfig) -> list[Rec]:
    """A plausible tensor list from config.json for standard layouts (llama-like dense/MoE/MLA, T5). Shapes
    follow transformers' modules; small extras (biases of some families, buffers) may be missed."""
    mt = (c.model_type or "").lower()
    h = c.hidden_size or 0
    V = c.vocab_size or 0
    dt = c.dtype if c.dtype in ("BF16", "F16", "F32") else "BF16"
    qm = (c.quant_method or "").lower()
    out: list[Rec] = []
    if mt in ("t5", "mt5", "umt5"):
        return _t5(c, dt)

    def lin(name: str, o: int, i: int, quantize: bool = True, expert: bool = False) -> None:
        if qm == "fp8" and quantize:
            out.append(Rec(name + ".weight", "F8_E4M3", (o, i)))
            bs = (c.quantization_config or {}).get("weight_block_size") or [128, 128]
            out.append(Rec(name + ".weight_scale_inv", "F32", (math.ceil(o / bs[0]), math.ceil(i / bs[1]))))
        elif qm == "mxfp4" and expert:
            out.append(Rec(name + "_blocks", "U8", (o, i // 2)))
            out.append(Rec(name + "_scales", "U8", (o, math.ceil(i / 32))))
        else:
            out.append(Rec(name + ".weight", dt, (o, i)))

    out.append(Rec("model.embed_tokens.weight", dt, (V, h)))
    if mt in ("gpt2", "bert", "opt", "roberta") and c.max_position_embeddings:
        out.append(Rec("model.embed_positions.weight", dt, (c.max_position_embeddings, h)))
    H = c.num_attention_heads or 1
    kvh = c.num_key_value_heads or H
    hd = c.head_dim or h // H
    I = c.intermediate_size or 4 * h
    gated = mt not in NON_GATED
    E = c.num_experts if c.is_moe else 0
    Im = c.moe_intermediate_size or I
    first_dense = c.first_k_dense_replace or 0
    freq = c.get("moe_layer_freq") or c.get("decoder_sparse_step") or 1
    mlp_only = set(c.get("mlp_only_layers") or [])
    shared_i = (c.n_shared_experts or 0) * Im or (c.get("shared_expert_intermediate_size") or 0)
    bias = bool(c.get("attention_bias")) or mt in ("qwen2", "qwen2_moe", "gpt2", "bert")
    for i in range(c.num_hidden_layers or 0):
        p = f"model.layers.{i}."
        out.append(Rec(p + "input_layernorm.weight", dt, (h,)))
        out.append(Rec(p + "post_attention_layernorm.weight", dt, (h,)))
        if mt in ("gemma2", "gemma3", "gemma3_text"):
            out.append(Rec(p + "pre_feedforward_layernorm.weight", dt, (h,)))
            out.append(Rec(p + "post_feedforward_layernorm.weight", dt, (h,)))
        a = p + "self_attn."
        if c.is_mla:
            nope, rope = c.qk_nope_head_dim or 0, c.qk_rope_head_dim or 0
            vd = c.v_head_dim or nope
            if c.q_lora_rank:
                lin(a + "q_a_proj", c.q_lora_rank, h)
                out.append(Rec(a + "q_a_layernorm.weight", dt, (c.q_lora_rank,)))
                lin(a + "q_b_proj", H * (nope + rope), c.q_lora_rank)
            else:
                lin(a + "q_proj", H * (nope + rope), h)
            lin(a + "kv_a_proj_with_mqa", c.kv_lora_rank + rope, h)
            out.append(Rec(a + "kv_a_layernorm.weight", dt, (c.kv_lora_rank,)))
            lin(a + "kv_b_proj", H * (nope + vd), c.kv_lora_rank)
            lin(a + "o_proj", h, H * vd)
        else:
            lin(a + "q_proj", H * hd, h)
            lin(a + "k_proj", kvh * hd, h)
            lin(a + "v_proj", kvh * hd, h)
            lin(a + "o_proj", h, H * hd)
            if bias:
                for nm, n in (("q_proj", H * hd), ("k_proj", kvh * hd), ("v_proj", kvh * hd)):
                    out.append(Rec(a + nm + ".bias", dt, (n,)))
        m = p + "mlp."
        is_moe = E and i >= first_dense and (i + 1) % freq == 0 and i not in mlp_only
        if is_moe:
            out.append(Rec(m + "gate.weight", dt, (E, h)))
            for e in range(E):
                q = f"{m}experts.{e}."
                lin(q + "gate_proj", Im, h, expert=True)
                lin(q + "up_proj", Im, h, expert=True)
                lin(q + "down_proj", h, Im, expert=True)
            if shared_i:
                lin(m + "shared_experts.gate_proj", shared_i, h)
                lin(m + "shared_experts.up_proj", shared_i, h)
                lin(m + "shared_experts.down_proj", h, shared_i)
        else:
            if gated:
                lin(m + "gate_proj", I, h)
                lin(m + "up_proj", I, h)
            else:
                lin(m + "fc1", I, h)
            lin(m + "down_proj" if gated else m + "fc2", h, I)
    out.append(Rec("model.norm.weight", dt, (h,)))
    if not _tied(c):
        out.append(Rec("lm_head.weight", dt, (V, h)))
    return out


def _t5(c: ModelConfig, dt: str) -> list[Rec]:
    d = c.hidden_size or 0
    inner = (c.num_attention_heads or 1) * (c.head_dim or 64)
    dff = c.intermediate_size or 4 * d
    gated = str(c.get("feed_forward_proj") or "relu").startswith("gated")
    buckets = c.get("relative_attention_num_buckets") or 32
    H = c.num_attention_heads or 1
    out = [Rec("shared.weight", dt, (c.vocab_size or 0, d))]

    def attn(p: str) -> None:
        for n in ("q", "k", "v"):
            out.append(Rec(f"{p}.{n}.weight", dt, (inner, d)))
        out.append(Rec(f"{p}.o.weight", dt, (d, inner)))

    def ff(p: str) -> None:
        if gated:
            out.append(Rec(f"{p}.DenseReluDense.wi_0.weight", dt, (dff, d)))
            out.append(Rec(f"{p}.DenseReluDense.wi_1.weight", dt, (dff, d)))
        else:
            out.append(Rec(f"{p}.DenseReluDense.wi.weight", dt, (dff, d)))
        out.append(Rec(f"{p}.DenseReluDense.wo.weight", dt, (d, dff)))
        out.append(Rec(f"{p}.layer_norm.weight", dt, (d,)))

    for stack, n in (("encoder", c.num_hidden_layers or 0), ("decoder", c.num_decoder_layers or 0)):
        for i in range(n):
            p = f"{stack}.block.{i}.layer"
            attn(f"{p}.0.SelfAttention")
            if i == 0:
                out.append(Rec(f"{p}.0.SelfAttention.relative_attention_bias.weight", dt, (buckets, H)))
            out.append(Rec(f"{p}.0.layer_norm.weight", dt, (d,)))
            if stack == "decoder":
                attn(f"{p}.1.EncDecAttention")
                out.append(Rec(f"{p}.1.layer_norm.weight", dt, (d,)))
            ff(f"{p}.{2 if stack == 'decoder' else 1}")
        out.append(Rec(f"{stack}.final_layer_norm.weight", dt, (d,)))
    if not _tied(c):
        out.append(Rec("lm_head.weight", dt, (c.vocab_size or 0, d)))
    return out


# --------------------------------------------------------------------------------------- tensor parallelism

KV_PROJ = re.compile(r"(\.k_proj\.|\.v_proj\.|\.key\.|\.value\.|\.k\.|\.v\.|\.wk\.|\.wv\.)")
MLA_REPLICATED = re.compile(r"(q_a_proj|kv_a_proj_with_mqa|_layernorm|q_norm|k_norm)")
SPLIT = {ATTENTION, MLP, EXPERTS, SHARED, QUANT}
REPLICATED = {NORM, ROUTER, POSITION, BUFFER, OTHER, *TOWERS}


def tp_role(name: str, config: ModelConfig | None, *, vocab_parallel: bool = True) -> str:
    """``split`` (divided by tp), ``kv`` (split by KV heads, replicated when fewer than tp) or ``replicated``."""
    pl = classify_cached(name, config)
    comp = pl.component
    if comp == MTP:
        from ..classify import component_of

        comp = component_of(name.replace("mtp", "x"))  # an MTP layer splits like any other layer
        comp = comp if comp != OTHER else MLP
    if comp in (EMBEDDING, LM_HEAD):
        return "split" if vocab_parallel else "replicated"
    if comp == ATTENTION:
        if MLA_REPLICATED.search(name) or name.endswith(".sinks"):
            return "replicated"
        if KV_PROJ.search(name):
            return "kv"
        return "split"
    if comp in SPLIT:
        if name.endswith(".bias") and ".o_proj" in name or ".down_proj.bias" in name:
            return "replicated"
        return "split"
    return "replicated"


def per_gpu_weights(tensors, config: ModelConfig | None, tp: int, *, vocab_parallel: bool = True) -> dict:
    """Bytes each GPU holds under tensor parallelism ``tp``, by role, with the total."""
    roles = {"split": 0, "kv": 0, "replicated": 0}
    for t in tensors:
        roles[tp_role(t.name, config, vocab_parallel=vocab_parallel)] += _nb(t)
    total = sum(roles.values())
    kvh = (config.num_key_value_heads if config else None) or 0
    if tp <= 1:
        per = total
        kv_share = 1.0
    else:
        kv_share = (max(1, math.ceil(kvh / tp)) / kvh) if kvh else 1.0 / tp
        per = roles["split"] / tp + roles["kv"] * kv_share + roles["replicated"]
    return {"total": total, "per_gpu": int(math.ceil(per)), "by_role": roles, "kv_share": kv_share}
