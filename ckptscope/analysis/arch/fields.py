"""config.json fields in plain words, and what each implies for this particular model (``ckptscope explain``).

``FIELDS`` maps a field name to (meaning, implication). The implication is a function of the normalised
ModelConfig, the raw value and a few derived facts; it returns a sentence, or None when it has nothing to add.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from ...dtypes import DTYPE_BITS, config_dtype
from ...readers.config import ModelConfig
from ...units import human_bytes, human_count


class Facts:
    """What the explanations draw on: the config and, where rules exist, the predicted inventory."""

    def __init__(self, c: ModelConfig):
        from . import active_parameters, family_name, try_predict

        self.c = c
        self.family = family_name(c)
        self.inv, self.reason = try_predict(c)
        self.act = active_parameters(self.inv, c) if self.inv else None
        self.total = self.act["total"] if self.act else None
        self.dtype = c.dtype or "BF16"
        self.bytes_per = DTYPE_BITS.get(self.dtype, 16) / 8

    def kv_bytes_per_token(self, width: float = 2.0) -> int | None:
        """K and V cache entries for one token across all layers, at ``width`` bytes each (BF16 = 2)."""
        c = self.c
        L = c.num_hidden_layers
        if not L:
            return None
        if c.is_mla and c.kv_lora_rank and c.qk_rope_head_dim is not None:
            return int(L * (c.kv_lora_rank + c.qk_rope_head_dim) * width)
        if c.num_key_value_heads and c.head_dim:
            return int(2 * L * c.num_key_value_heads * c.head_dim * width)
        return None

    def pct(self, n: int) -> str:
        return f"{100 * n / self.total:.1f}% of the {human_count(self.total)} parameters" if self.total else ""


def _i(v) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _ctx(f: Facts, v) -> str | None:
    c = f.c
    n = _i(v) or c.max_position_embeddings
    if not n:
        return None
    s = (f"the model handles at most {n:,} tokens at once, prompt and generated tokens together "
         f"(about {int(n * 0.75):,} English words)")
    kv = f.kv_bytes_per_token()
    if kv:
        s += f"; a full {n:,}-token KV cache in BF16 takes {human_bytes(kv * n)} per sequence"
    return s


def _kv_heads(f: Facts, v) -> str | None:
    c = f.c
    h, kv = c.num_attention_heads, _i(v)
    if not (h and kv):
        return None
    if kv == h:
        kind = "plain multi-head attention: every query head has its own K/V head"
    elif kv == 1:
        kind = "multi-query attention: one K/V head shared by all query heads"
    else:
        kind = f"grouped-query attention: {h // kv} query heads share each K/V head"
    per = f.kv_bytes_per_token()
    if per and not c.is_mla:
        kind += (f"; the KV cache stores 2 x {c.num_hidden_layers} layers x {kv} heads x {c.head_dim} = "
                 f"{per // 2:,} values per token ({human_bytes(per)} in BF16)")
    if c.is_mla:
        kind += "; with MLA the cache holds the compressed latent instead (see kv_lora_rank)"
    return kind


def _vocab(f: Facts, v) -> str | None:
    c = f.c
    V, H = _i(v), c.hidden_size
    if not (V and H):
        return None
    s = f"the embedding matrix has {V:,} rows x {H:,} = {V * H:,} parameters"
    tied = c.tie_word_embeddings
    if tied is False:
        s += f", and the untied LM head as many again ({f.pct(2 * V * H)} together)" if f.total else \
            ", and the untied LM head as many again"
    elif f.total:
        s += f" ({f.pct(V * H)})"
    return s + "; the tokenizer's ids must stay below it (rows beyond the tokenizer are padding)"


def _tie(f: Facts, v) -> str | None:
    c = f.c
    if not (c.vocab_size and c.hidden_size):
        return None
    n = c.vocab_size * c.hidden_size
    if v is True:
        return (f"one shared matrix serves as input embedding and output head: {n:,} parameters stored once "
                f"(no lm_head.weight in the checkpoint)")
    return f"input embedding and output head are separate matrices: {n:,} parameters each, both stored"


def _dtype(f: Facts, v) -> str | None:
    st = config_dtype(v) if isinstance(v, str) else None
    if not st:
        return None
    w = DTYPE_BITS[st] // 8
    if f.c.quant_method:
        s = (f"tensors left unquantized are {st} ({w} bytes per value); the quantized weights follow "
             f"quantization_config ({f.c.quant_method})")
    else:
        s = f"weights are stored as {st} ({w} bytes per value)"
    if f.inv:
        s += f"; the whole checkpoint is {human_bytes(sum(t.nbytes for t in f.inv))}"
    return s


def _rope_scaling(f: Facts, v) -> str | None:
    if not isinstance(v, dict):
        return "no RoPE scaling: the context limit is max_position_embeddings as trained" if v is None else None
    t = v.get("rope_type") or v.get("type")
    fac = v.get("factor")
    orig = v.get("original_max_position_embeddings")
    s = f"{t} RoPE scaling"
    mx = f.c.max_position_embeddings
    if fac and orig and mx:
        s += f" (factor {fac}) extends the {int(orig):,}-token training context to the configured {mx:,} tokens"
    elif fac:
        s += f" by a factor {fac}"
    return s + "; quality beyond the original length depends on the long-context training"


def _experts(f: Facts, v) -> str | None:
    c = f.c
    if not f.act or not f.act.get("experts"):
        return None
    a = f.act
    return (f"{a['experts']} routed experts per MoE layer hold {human_count(a['routed_experts'])} parameters; "
            f"only {a['experts_per_token']} run per token, so {human_count(a['active'])} of "
            f"{human_count(a['total'])} parameters are active per token")


def _topk(f: Facts, v) -> str | None:
    c = f.c
    k, E = _i(v), c.num_experts
    if not (k and E):
        return None
    return f"each token goes through {k} of the {E} experts ({100 * k / E:.1f}% of the expert weights)"


def _shared(f: Facts, v) -> str | None:
    if not _i(v):
        return None
    return f"{v} expert(s) in every MoE layer run for every token, on top of the routed ones (counted as active)"


def _layers(f: Facts, v) -> str | None:
    c = f.c
    n = _i(v)
    if not n:
        return None
    s = f"{n} transformer blocks; compute, KV cache and most parameters grow linearly with it"
    if f.total and f.inv:
        per = [t for t in f.inv if ".layers.1." in t.name or ".h.1." in t.name or ".layer.1." in t.name]
        if per:
            s += f" (a layer like block 1 holds {human_count(sum(t.numel for t in per))} parameters)"
    return s


def _hidden(f: Facts, v) -> str | None:
    n = _i(v)
    return f"each token is a vector of {n:,} numbers between layers; every weight matrix has this as one side" \
        if n else None


def _heads(f: Facts, v) -> str | None:
    c = f.c
    n = _i(v)
    if not (n and c.hidden_size):
        return None
    hd = c.head_dim
    if c.is_mla:
        return (f"{n} heads; with MLA each query/key head has {(c.qk_nope_head_dim or 0) + (c.qk_rope_head_dim or 0)}"
                f" dimensions ({c.qk_nope_head_dim} + {c.qk_rope_head_dim} RoPE) and each value head {c.v_head_dim}")
    s = f"{n} query heads of dimension {hd}"
    if hd and hd * n != c.hidden_size:
        s += f" (heads x head_dim = {hd * n:,}, not the hidden size {c.hidden_size:,}: the projections are not square)"
    return s


def _inter(f: Facts, v) -> str | None:
    c = f.c
    n = _i(v)
    if not (n and c.hidden_size):
        return None
    mats = 2 if c.model_type in ("gpt2", "bert", "t5") else 3
    s = f"the MLP widens each token to {n:,} ({n / c.hidden_size:.2f} x hidden); {mats} matrices of " \
        f"{c.hidden_size:,} x {n:,} = {mats * n * c.hidden_size:,} parameters per dense MLP"
    if c.is_moe and c.model_type not in ("mixtral", "granitemoe", "granitemoeshared", "gpt_oss"):
        s += " (used by the dense layers only; experts use moe_intermediate_size)"
    return s


def _sliding(f: Facts, v) -> str | None:
    n = _i(v)
    c = f.c
    if not n:
        return None
    if c.sliding_window is None:
        return "set, but disabled (use_sliding_window is false): every layer attends to the whole context"
    lt = c.layer_types
    if lt:
        k = sum(1 for t in lt if "sliding" in t)
        return (f"{k} of {len(lt)} layers attend only to the last {n:,} tokens; their KV cache stops growing "
                f"there if the engine supports it")
    return f"layers attend only to the last {n:,} tokens (where the engine implements it this caps their KV cache)"


def _mla_kv(f: Facts, v) -> str | None:
    c = f.c
    if not _i(v):
        return None
    per = f.kv_bytes_per_token()
    s = (f"multi-head latent attention: keys and values are compressed to a {v}-wide latent (+ "
         f"{c.qk_rope_head_dim} RoPE dims) per token and layer")
    if per:
        plain = c.num_hidden_layers * c.num_attention_heads * ((c.qk_nope_head_dim or 0) +
                                                              (c.qk_rope_head_dim or 0) + (c.v_head_dim or 0)) * 2
        s += f": {human_bytes(per)} of cache per token in BF16, versus {human_bytes(plain)} for full K/V heads"
    return s


def _q_lora(f: Facts, v) -> str | None:
    if v is None:
        return "no low-rank query compression: a single q_proj matrix"
    return f"queries go through a {v}-wide bottleneck (q_a_proj then q_b_proj), saving parameters"


def _mtp(f: Facts, v) -> str | None:
    if not _i(v) or not f.act:
        return None
    return (f"{v} extra next-token-prediction layer(s) stored after the last decoder layer "
            f"({human_count(f.act['mtp'])} parameters, shown apart from the main model; used for speculative "
            f"decoding, ignored by plain inference)")


def _quant(f: Facts, v) -> str | None:
    if not isinstance(v, dict):
        return None
    m = v.get("quant_method")
    if m == "fp8":
        bs = v.get("weight_block_size")
        return (f"weights are FP8 (e4m3) with one F32 scale per {bs[0]}x{bs[1]} block ({'weight_scale_inv'} "
                f"tensors); embeddings, norms, router and head stay BF16") if bs else "weights are FP8"
    if m == "mxfp4":
        return ("expert weights are MXFP4: 4-bit values packed two per byte (*_blocks) with one 8-bit "
                "exponent per 32 values (*_scales); the rest stays BF16")
    return f"{m} quantization: weight tensors are stored in a compressed form with side tensors (scales, zeros)"


def _first_k(f: Facts, v) -> str | None:
    n = _i(v)
    return f"the first {n} layer(s) use a dense MLP instead of experts" if n is not None else None


def _moe_inter(f: Facts, v) -> str | None:
    n = _i(v)
    c = f.c
    if not (n and c.hidden_size):
        return None
    return f"each expert is a gated MLP of width {n:,}: 3 x {c.hidden_size:,} x {n:,} = {3 * n * c.hidden_size:,} " \
           f"parameters"


def _theta(f: Facts, v) -> str | None:
    return (f"RoPE base {v:,}: larger bases rotate slower and suit longer contexts"
            if isinstance(v, (int, float)) else None)


def _training(f: Facts, v) -> str | None:
    return "used in training only; no effect on size or inference"


def _eps(f: Facts, v) -> str | None:
    return "numerical guard in the normalisation layers; no effect on size"


def _token_id(f: Facts, v) -> str | None:
    return "id of a special token the generation code uses; it must be below vocab_size" if v is not None else None


def _version(f: Facts, v) -> str | None:
    return "the transformers version that wrote this file (older versions stored extra buffers in the weights)"


def _layer_types(f: Facts, v) -> str | None:
    if not isinstance(v, list):
        return None
    from collections import Counter

    cnt = Counter(map(str, v))
    return ", ".join(f"{n} {k}" for k, n in cnt.items()) + " layers"


def _softcap(f: Facts, v) -> str | None:
    return f"logits are squashed with tanh to stay within +-{v}" if v else None


def _nothing(f: Facts, v) -> str | None:
    return None


Expl = tuple[str, Callable[[Facts, Any], "str | None"]]

FIELDS: dict[str, Expl] = {
    "architectures": ("the model class transformers builds from this file", lambda f, v: (
        f"ckptscope has architecture rules for it ({f.family}): every tensor can be predicted"
        if f.family else f"{f.reason}")),
    "model_type": ("the model family", _nothing),
    "hidden_size": ("width of the residual stream", _hidden),
    "n_embd": ("width of the residual stream (GPT-2 name for hidden_size)", _hidden),
    "d_model": ("width of the residual stream (T5 name for hidden_size)", _hidden),
    "num_hidden_layers": ("number of transformer blocks", _layers),
    "n_layer": ("number of transformer blocks (GPT-2 name)", _layers),
    "num_layers": ("number of transformer blocks (encoder blocks for T5)", _layers),
    "num_decoder_layers": ("number of decoder blocks (encoder-decoder models)", _nothing),
    "num_attention_heads": ("number of query heads per attention layer", _heads),
    "n_head": ("number of attention heads (GPT-2 name)", _heads),
    "num_heads": ("number of attention heads (T5 name)", _heads),
    "num_key_value_heads": ("number of key/value heads", _kv_heads),
    "head_dim": ("dimension of each attention head", lambda f, v: (
        f"set explicitly; hidden/heads would give {f.c.hidden_size // f.c.num_attention_heads}"
        if f.c.hidden_size and f.c.num_attention_heads and v != f.c.hidden_size // f.c.num_attention_heads
        else "equals hidden_size / num_attention_heads")),
    "d_kv": ("dimension of each attention head (T5)", _nothing),
    "intermediate_size": ("width of the feed-forward (MLP) layer", _inter),
    "n_inner": ("width of the MLP (GPT-2; null means 4 x n_embd)", _nothing),
    "d_ff": ("width of the feed-forward layer (T5)", _inter),
    "vocab_size": ("number of rows in the token embedding (and LM head)", _vocab),
    "max_position_embeddings": ("longest sequence the model is configured for", _ctx),
    "n_positions": ("longest sequence (GPT-2): rows of the learned position embedding", _ctx),
    "n_ctx": ("context length (GPT-2, same as n_positions)", _nothing),
    "original_max_position_embeddings": ("context length before RoPE scaling", _nothing),
    "initial_context_length": ("context length the model was first trained at", _nothing),
    "rope_theta": ("base frequency of rotary position embeddings (RoPE)", _theta),
    "rope_scaling": ("how RoPE positions are stretched to extend the context", _rope_scaling),
    "rope_parameters": ("RoPE settings (base and scaling)", _nothing),
    "tie_word_embeddings": ("whether the output head reuses the input embedding matrix", _tie),
    "torch_dtype": ("the dtype the weights were saved in", _dtype),
    "dtype": ("the dtype the weights were saved in", _dtype),
    "sliding_window": ("attention window of sliding-window layers", _sliding),
    "use_sliding_window": ("whether sliding-window attention is on", _nothing),
    "max_window_layers": ("layers from which sliding windows would apply (Qwen)", _nothing),
    "layer_types": ("attention type of each layer", _layer_types),
    "rms_norm_eps": ("epsilon of the RMSNorm layers", _eps),
    "layer_norm_eps": ("epsilon of the LayerNorm layers", _eps),
    "layer_norm_epsilon": ("epsilon of the LayerNorm layers", _eps),
    "hidden_act": ("activation function of the MLP", lambda f, v: (
        "SiLU in a gated MLP (SwiGLU): gate, up and down matrices" if v == "silu" else None)),
    "hidden_activation": ("activation function of the MLP", _nothing),
    "activation_function": ("activation function of the MLP", _nothing),
    "attention_bias": ("whether the attention projections have bias vectors", lambda f, v: (
        "adds one bias vector per projection" if v else "no bias vectors in the attention projections")),
    "mlp_bias": ("whether the MLP projections have bias vectors", _nothing),
    "num_local_experts": ("number of experts in each MoE layer", _experts),
    "num_experts": ("number of experts in each MoE layer", _experts),
    "n_routed_experts": ("number of routed experts in each MoE layer", _experts),
    "num_experts_per_tok": ("experts each token is routed to", _topk),
    "experts_per_token": ("experts each token is routed to", _topk),
    "n_shared_experts": ("experts every token always goes through", _shared),
    "moe_intermediate_size": ("width of each expert's MLP", _moe_inter),
    "shared_expert_intermediate_size": ("width of the shared expert's MLP", _nothing),
    "first_k_dense_replace": ("number of leading layers that stay dense", _first_k),
    "moe_layer_freq": ("every n-th layer (after the dense ones) is MoE", _nothing),
    "decoder_sparse_step": ("every n-th layer is MoE", _nothing),
    "mlp_only_layers": ("layers kept dense", _nothing),
    "norm_topk_prob": ("whether the top-k router weights are renormalised to sum to 1", _nothing),
    "routed_scaling_factor": ("multiplier on the routed experts' output", _nothing),
    "scoring_func": ("how router scores are computed (softmax or sigmoid)", _nothing),
    "topk_method": ("how experts are picked (noaux_tc: bias-corrected, no auxiliary loss)", _nothing),
    "n_group": ("expert groups for group-limited routing", _nothing),
    "topk_group": ("groups a token may pick experts from", _nothing),
    "q_lora_rank": ("rank of the query compression (MLA)", _q_lora),
    "kv_lora_rank": ("rank of the key/value latent (MLA)", _mla_kv),
    "qk_rope_head_dim": ("per-head dimensions that carry RoPE (MLA)", _nothing),
    "qk_nope_head_dim": ("per-head dimensions without RoPE (MLA)", _nothing),
    "v_head_dim": ("dimension of each value head (MLA)", _nothing),
    "num_nextn_predict_layers": ("multi-token-prediction (MTP) layers", _mtp),
    "quantization_config": ("how the stored weights are quantized", _quant),
    "is_encoder_decoder": ("encoder-decoder model (T5 style)", _nothing),
    "relative_attention_num_buckets": ("position buckets of T5's relative attention bias", _nothing),
    "feed_forward_proj": ("T5 MLP kind (relu or gated-gelu)", _nothing),
    "type_vocab_size": ("number of segment (token type) embeddings (BERT)", _nothing),
    "position_embedding_type": ("kind of position embedding", _nothing),
    "attn_logit_softcapping": ("cap on attention scores", _softcap),
    "final_logit_softcapping": ("cap on output logits", _softcap),
    "query_pre_attn_scalar": ("scale applied to queries before attention", _nothing),
    "partial_rotary_factor": ("fraction of each head that gets RoPE", _nothing),
    "swiglu_limit": ("clamp on the SwiGLU activations", _nothing),
    "bos_token_id": ("beginning-of-sequence token id", _token_id),
    "eos_token_id": ("end-of-sequence token id(s)", _token_id),
    "pad_token_id": ("padding token id", _token_id),
    "decoder_start_token_id": ("first token fed to the decoder", _token_id),
    "use_cache": ("whether generation keeps a KV cache by default", _nothing),
    "transformers_version": ("transformers version that wrote config.json", _version),
    "initializer_range": ("std of the weight initialisation", _training),
}
for _k in ("attention_dropout", "hidden_dropout", "dropout", "attn_pdrop", "embd_pdrop", "resid_pdrop",
           "hidden_dropout_prob", "attention_probs_dropout_prob", "dropout_rate", "router_aux_loss_coef",
           "aux_loss_alpha", "seq_aux", "output_router_logits", "router_jitter_noise", "initializer_factor",
           "gradient_checkpointing", "summary_activation", "summary_first_dropout", "summary_proj_to_labels",
           "summary_type", "summary_use_proj", "pretraining_tp"):
    FIELDS.setdefault(_k, ("training setting", _training))


def explain_config(c: ModelConfig) -> list[dict]:
    """One entry per config.json field (file order; nested text_config fields after their parent)."""
    f = Facts(c)
    out = []

    def one(key, value, prefix=""):
        meaning, imp = FIELDS.get(key, (None, _nothing))
        try:
            implied = imp(f, value)
        except (TypeError, ValueError, ZeroDivisionError, KeyError):
            implied = None
        out.append({"field": prefix + key, "value": value, "meaning": meaning, "implies": implied})

    for k, v in c.full.items():
        if isinstance(v, dict) and k in ("text_config", "language_config", "llm_config", "thinker_config"):
            for k2, v2 in v.items():
                one(k2, v2, k + ".")
        else:
            one(k, v)
    return out


def short(v: Any, width: int = 60) -> str:
    s = json.dumps(v, separators=(", ", ": "))
    return s if len(s) <= width else s[: width - 3] + "..."
