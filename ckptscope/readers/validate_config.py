"""Every config.json field that sizes something, checked once, before any work: type, sign, a stated upper bound,
and the consistency the families require.

Why: the architecture rules build one tensor record per layer (and per expert), the planner and the explainer
loop over layers, the GGUF estimate pads the vocabulary. A number an attacker writes in config.json must never
size a structure, so out-of-bounds values stop the command here (``inspect``/``estimate``/``explain`` exit 2 with
one line naming the file, the field and the value; ``check`` reports rule CF020).

The bounds (``BOUNDS``) are generous for every real model (largest public values in the comments, mid-2026) and
keep the largest predicted inventory within ``MAX_PREDICTED_TENSORS`` records:
``num_hidden_layers x max(1, experts) <= MAX_LAYER_EXPERTS``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: field -> (minimum, maximum) for integer fields that size something (every alias the reader knows)
K, M = 1 << 10, 1 << 20
MAX_LAYERS = 4 * K  # largest real: 126 (Llama-3.1-405B)
MAX_EXPERTS = 16 * K  # largest real: 512 (Qwen3-Next), 384 (Kimi K2)
MAX_LAYER_EXPERTS = 128 * K  # layers x experts; largest real ~24.6k (Qwen3-Next 48 x 512)
MAX_PREDICTED_TENSORS = 3 * MAX_LAYER_EXPERTS * 3  # 3 matrices per expert, x3 with FP8 scale grids: ~1.2M
MAX_WIDTH = 1 * M  # hidden / intermediate sizes; largest real 53,248 (Llama-405B FFN)
MAX_HEADS = 16 * K  # largest real 128
MAX_HEAD_DIM = 64 * K  # largest real 512
MAX_VOCAB = 4 * M  # largest real 262,144 (Gemma 3); 16x that
MAX_POSITIONS = 1 << 40  # largest real 10M (Llama 4 Scout)
MAX_NEXTN = 64  # largest real 1 (DeepSeek-V3)

BOUNDS: dict[str, tuple[int, int]] = {}


def _b(names, lo: int, hi: int) -> None:
    for n in names:
        BOUNDS[n] = (lo, hi)


_b(("num_hidden_layers", "n_layer", "num_layers", "n_layers", "num_decoder_layers", "encoder_layers",
    "decoder_layers", "num_encoder_layers"), 0, MAX_LAYERS)
_b(("hidden_size", "n_embd", "d_model", "dim", "model_dim", "n_embed"), 1, MAX_WIDTH)
_b(("intermediate_size", "n_inner", "d_ff", "ffn_dim", "ffn_hidden_size", "decoder_ffn_dim", "encoder_ffn_dim",
    "moe_intermediate_size", "shared_expert_intermediate_size", "shared_intermediate_size",
    "q_lora_rank", "kv_lora_rank"), 0, MAX_WIDTH)
_b(("num_attention_heads", "n_head", "num_heads", "n_heads", "decoder_attention_heads",
    "encoder_attention_heads"), 1, MAX_HEADS)
_b(("num_key_value_heads", "n_head_kv", "num_kv_heads", "n_kv_heads", "multi_query_group_num"), 1, MAX_HEADS)
_b(("head_dim", "d_kv", "attention_head_dim", "kv_channels", "qk_rope_head_dim", "qk_nope_head_dim",
    "v_head_dim"), 0, MAX_HEAD_DIM)
_b(("vocab_size", "n_vocab", "padded_vocab_size"), 1, MAX_VOCAB)
_b(("type_vocab_size",), 0, MAX_VOCAB)
_b(("max_position_embeddings", "n_positions", "n_ctx", "max_seq_len", "seq_length", "max_sequence_length",
    "original_max_position_embeddings", "sliding_window", "max_window_layers", "attention_chunk_size"),
   0, MAX_POSITIONS)
_b(("n_routed_experts", "num_local_experts", "num_experts", "moe_num_experts", "n_experts"), 0, MAX_EXPERTS)
_b(("num_experts_per_tok", "experts_per_token", "num_experts_per_token", "moe_top_k", "n_experts_per_tok",
    "n_shared_experts", "num_shared_experts", "n_group", "topk_group"), 0, MAX_EXPERTS)
_b(("first_k_dense_replace",), 0, MAX_LAYERS)
_b(("moe_layer_freq", "decoder_sparse_step", "interleave_moe_layer_step"), 1, MAX_LAYERS)
_b(("num_nextn_predict_layers",), 0, MAX_NEXTN)
_b(("num_labels",), 0, 1 * M)

#: sizing fields that may also be a list of one value per layer (each entry bounded like the field); ERNIE 4.5 VL
#: gives its MoE sizes as [text, vision] lists
PER_LAYER_LISTS = ("intermediate_size", "moe_intermediate_size", "moe_num_experts")
#: list fields whose entries are layer numbers or one entry per layer
LAYER_LISTS = ("layer_types", "mlp_only_layers", "no_rope_layers")


@dataclass(frozen=True)
class ConfigIssue:
    field: str  #: the field's path, e.g. ``text_config.num_hidden_layers``
    value: object
    reason: str

    def message(self) -> str:
        return f"{self.field} = {_show(self.value)}: {self.reason}"


def _show(v) -> str:
    t = repr(v)
    return t if len(t) <= 40 else t[:37] + "..."


def _check_int(path: str, v, lo: int, hi: int, out: list[ConfigIssue]) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        out.append(ConfigIssue(path, v, f"must be an integer, not {type(v).__name__}"))
        return None
    if isinstance(v, float):
        if not v.is_integer():
            out.append(ConfigIssue(path, v, "must be a whole number"))
            return None
        v = int(v)
    if v < lo:
        out.append(ConfigIssue(path, v, f"must be >= {lo}"))
        return None
    if v > hi:
        out.append(ConfigIssue(path, v, f"exceeds ckptscope's bound of {hi:,} for this field"))
        return None
    return v


def validate_dict(d: dict, prefix: str = "") -> tuple[list[ConfigIssue], dict[str, int]]:
    """Type, sign and bound of every sizing field of one config dict; the valid values by field name."""
    out: list[ConfigIssue] = []
    vals: dict[str, int] = {}
    for k, (lo, hi) in BOUNDS.items():
        if k in d:
            if k in PER_LAYER_LISTS and isinstance(d[k], list):  # one width per layer (Gemma 3n's MatFormer)
                if len(d[k]) > MAX_LAYERS:
                    out.append(ConfigIssue(prefix + k, f"<list of {len(d[k]):,}>",
                                           f"has more than {MAX_LAYERS:,} entries"))
                    continue
                got = [_check_int(f"{prefix}{k}[{i}]", x, lo, hi, out) for i, x in enumerate(d[k])]
                if got and None not in got:
                    vals[k] = max(got)
                continue
            v = _check_int(prefix + k, d[k], lo, hi, out)
            if v is not None:
                vals[k] = v
    for k in LAYER_LISTS:
        v = d.get(k)
        if v is None:
            continue
        if not isinstance(v, list):
            out.append(ConfigIssue(prefix + k, v, "must be a list"))
        elif len(v) > MAX_LAYERS + MAX_NEXTN:
            out.append(ConfigIssue(prefix + k, f"<list of {len(v):,}>", f"has more than {MAX_LAYERS:,} entries"))
        elif k != "layer_types" and not all(type(x) is int and 0 <= x <= MAX_LAYERS for x in v):
            out.append(ConfigIssue(prefix + k, v, f"entries must be layer numbers 0..{MAX_LAYERS:,}"))
        elif k == "layer_types" and not all(isinstance(x, str) for x in v):
            out.append(ConfigIssue(prefix + k, v, "entries must be strings"))
    return out, vals


def _first(vals: dict[str, int], names: tuple[str, ...]) -> tuple[str, int] | None:
    for n in names:
        if n in vals:
            return n, vals[n]
    return None


def validate_config(full: dict) -> list[ConfigIssue]:
    """Every problem with the sizing fields of a whole config.json (top level and the nested text config)."""
    if not isinstance(full, dict):
        return []
    from .config import TEXT_KEYS

    issues, top = validate_dict(full)
    groups = [("", top, full)]
    for tk in TEXT_KEYS:
        sub = full.get(tk)
        if isinstance(sub, dict):
            more, vals = validate_dict(sub, tk + ".")
            issues += more
            groups.append((tk + ".", vals, sub))
            break
    if issues:
        return issues
    for prefix, vals, d in groups:
        issues += _consistency(prefix, vals, d, full.get("model_type"))
    return issues


#: families whose head size is hidden_size // num_attention_heads when no head_dim is given (others, e.g.
#: glm4_moe, have their own default head_dim)
DERIVED_HEAD_DIM = ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "gpt2", "bert", "roberta", "phi3")


def _consistency(p: str, v: dict[str, int], d: dict, top_type=None) -> list[ConfigIssue]:
    out: list[ConfigIssue] = []
    heads = _first(v, ("num_attention_heads", "n_head", "num_heads", "n_heads"))
    kv = _first(v, ("num_key_value_heads", "n_head_kv", "num_kv_heads", "n_kv_heads"))
    hidden = _first(v, ("hidden_size", "n_embd", "d_model", "n_embed"))
    head_dim = _first(v, ("head_dim", "d_kv", "attention_head_dim", "kv_channels"))
    layers = _first(v, ("num_hidden_layers", "n_layer", "num_layers", "n_layers"))
    experts = _first(v, ("n_routed_experts", "num_local_experts", "num_experts", "moe_num_experts", "n_experts"))
    topk = _first(v, ("num_experts_per_tok", "experts_per_token", "num_experts_per_token", "moe_top_k",
                      "n_experts_per_tok"))
    if heads and kv and heads[1] % kv[1]:
        out.append(ConfigIssue(p + kv[0], kv[1], f"must divide {heads[0]} = {heads[1]} (grouped-query attention)"))
    if (heads and hidden and head_dim is None and d.get("model_type", top_type) in DERIVED_HEAD_DIM
            and hidden[1] % heads[1]):
        out.append(ConfigIssue(p + hidden[0], hidden[1], f"is not a multiple of {heads[0]} = {heads[1]} and no "
                                                         "head_dim is given"))
    if experts and topk and experts[1] and topk[1] > experts[1]:
        out.append(ConfigIssue(p + topk[0], topk[1], f"is more than {experts[0]} = {experts[1]}"))
    nl = layers[1] if layers else 0
    ne = experts[1] if experts else 0
    if nl * max(1, ne) > MAX_LAYER_EXPERTS:
        out.append(ConfigIssue(p + (experts[0] if ne > 1 else layers[0]), ne if ne > 1 else nl,
                               f"{nl:,} layers x {max(1, ne):,} experts exceeds ckptscope's bound of "
                               f"{MAX_LAYER_EXPERTS:,} expert-layers"))
    return out
