"""config.json into a normalised :class:`ModelConfig`.

Field aliases of older families (GPT-2 ``n_embd``, T5 ``d_model``, BERT, ...) are resolved here so nothing
downstream needs to know them. Multimodal configs keep their text model in ``text`` fields and the towers in
``vision_config`` / ``audio_config``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..dtypes import config_dtype
from ..errors import CkptError

TEXT_KEYS = ("text_config", "language_config", "llm_config", "thinker_config")

ALIASES: dict[str, tuple[str, ...]] = {
    "hidden_size": ("hidden_size", "n_embd", "d_model", "dim", "model_dim", "n_embed"),
    "num_hidden_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers", "num_decoder_layers"),
    "num_attention_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads", "decoder_attention_heads"),
    "num_key_value_heads": ("num_key_value_heads", "n_head_kv", "num_kv_heads", "n_kv_heads", "multi_query_group_num"),
    "intermediate_size": ("intermediate_size", "n_inner", "d_ff", "ffn_dim", "ffn_hidden_size", "decoder_ffn_dim"),
    "vocab_size": ("vocab_size", "n_vocab", "padded_vocab_size"),
    "max_position_embeddings": ("max_position_embeddings", "n_positions", "n_ctx", "max_seq_len",
                                "seq_length", "max_sequence_length", "model_max_length"),
    "num_experts": ("n_routed_experts", "num_local_experts", "num_experts", "moe_num_experts", "n_experts"),
    "num_experts_per_tok": ("num_experts_per_tok", "experts_per_token", "num_experts_per_token",
                            "moe_top_k", "top_k", "n_experts_per_tok"),
    "rope_theta": ("rope_theta", "rotary_emb_base", "rope_base"),
}


def _first(d: dict, keys: tuple[str, ...]):
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return None


@dataclass
class ModelConfig:
    """config.json, normalised. ``raw`` is the dict the text fields came from; ``full`` the whole file."""

    raw: dict[str, Any]
    full: dict[str, Any]
    file: str = "config.json"
    model_type: str | None = None
    architectures: list[str] = field(default_factory=list)
    hidden_size: int | None = None
    num_hidden_layers: int | None = None
    num_attention_heads: int | None = None
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    intermediate_size: int | None = None
    vocab_size: int | None = None
    max_position_embeddings: int | None = None
    tie_word_embeddings: bool | None = None  #: None when the file does not say (family default applies)
    dtype: str | None = None  #: safetensors name of torch_dtype / dtype
    rope_theta: float | None = None
    rope_scaling: dict | None = None
    sliding_window: int | None = None
    layer_types: list[str] | None = None
    num_experts: int | None = None
    num_experts_per_tok: int | None = None
    n_shared_experts: int | None = None
    moe_intermediate_size: int | None = None
    first_k_dense_replace: int | None = None
    q_lora_rank: int | None = None
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    qk_nope_head_dim: int | None = None
    v_head_dim: int | None = None
    num_nextn_predict_layers: int = 0
    is_encoder_decoder: bool = False
    num_decoder_layers: int | None = None
    quantization_config: dict | None = None
    vision_config: dict | None = None
    audio_config: dict | None = None
    text_key: str | None = None  #: "text_config" etc. when the text model is nested

    def get(self, key: str, default: Any = None) -> Any:
        """A raw field of the text model, falling back to the top level."""
        if key in self.raw and self.raw[key] is not None:
            return self.raw[key]
        return self.full.get(key, default)

    @property
    def is_moe(self) -> bool:
        return bool(self.num_experts and self.num_experts > 1)

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank is not None

    @property
    def architecture(self) -> str:
        return self.architectures[0] if self.architectures else (self.model_type or "unknown")

    @property
    def quant_method(self) -> str | None:
        q = self.quantization_config
        return (q.get("quant_method") or q.get("quant_type")) if isinstance(q, dict) else None


def _int(v) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def from_dict(full: dict[str, Any], file: str = "config.json") -> ModelConfig:
    if not isinstance(full, dict):
        raise CkptError("config is not a JSON object", file)
    raw = full
    text_key = None
    for k in TEXT_KEYS:
        if isinstance(full.get(k), dict) and full[k]:
            raw, text_key = full[k], k
            break
    outer = raw  #: an omni model's thinker_config holds the text_config / vision_config / audio_config
    if raw is not full and isinstance(raw.get("text_config"), dict) and raw["text_config"]:
        raw, text_key = raw["text_config"], f"{text_key}.text_config"
    merged = dict(full)
    merged.update(raw) if raw is not full else None
    g = lambda key: _first(raw, ALIASES[key]) if _first(raw, ALIASES[key]) is not None else _first(full, ALIASES[key])  # noqa: E731

    c = ModelConfig(raw=raw, full=full, file=file, text_key=text_key)
    c.model_type = full.get("model_type") if isinstance(full.get("model_type"), str) else None
    archs = full.get("architectures") or raw.get("architectures") or []
    c.architectures = [a for a in archs if isinstance(a, str)] if isinstance(archs, list) else []
    c.hidden_size = _int(g("hidden_size"))
    c.num_hidden_layers = _int(g("num_hidden_layers")) if c.model_type not in ("t5", "mt5", "umt5") else _int(raw.get("num_layers"))
    c.num_attention_heads = _int(g("num_attention_heads"))
    kv = g("num_key_value_heads")
    if kv is None and (raw.get("multi_query") or full.get("multi_query")):
        kv = 1
    if kv is None and isinstance(raw.get("attn_config"), dict):  # DBRX: attn_config.kv_n_heads
        kv = raw["attn_config"].get("kv_n_heads")
    c.num_key_value_heads = _int(kv) if kv is not None else c.num_attention_heads
    hd = _first(raw, ("head_dim", "d_kv", "attention_head_dim", "kv_channels"))
    if _int(hd) is None and c.hidden_size and c.num_attention_heads:
        hd = c.hidden_size // c.num_attention_heads
    c.head_dim = _int(hd)
    inter = g("intermediate_size")
    if inter is None and c.model_type == "gpt2" and c.hidden_size:
        inter = 4 * c.hidden_size
    c.intermediate_size = _int(inter)
    c.vocab_size = _int(g("vocab_size"))
    c.max_position_embeddings = _int(g("max_position_embeddings"))
    tie = raw.get("tie_word_embeddings", full.get("tie_word_embeddings"))
    c.tie_word_embeddings = tie if isinstance(tie, bool) else None
    if raw is full:
        c.dtype = config_dtype(raw.get("torch_dtype") or raw.get("dtype"))
    else:  # nested: save_pretrained sets the dtype on the top-level config; a sub-config's may be stale
        c.dtype = config_dtype(full.get("torch_dtype") or full.get("dtype") or raw.get("torch_dtype")
                               or raw.get("dtype"))
    rt = g("rope_theta")
    rope_params = raw.get("rope_parameters") if isinstance(raw.get("rope_parameters"), dict) else None
    if rt is None and rope_params:
        rt = rope_params.get("rope_theta")
    c.rope_theta = float(rt) if isinstance(rt, (int, float)) and not isinstance(rt, bool) else None
    rs = raw.get("rope_scaling")
    if not isinstance(rs, dict) and rope_params and rope_params.get("rope_type") not in (None, "default"):
        rs = rope_params
    c.rope_scaling = rs if isinstance(rs, dict) else None
    sw = raw.get("sliding_window")
    if raw.get("use_sliding_window") is False and c.model_type in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe"):
        sw = None
    c.sliding_window = _int(sw)
    lt = raw.get("layer_types")
    c.layer_types = [str(x) for x in lt] if isinstance(lt, list) else None
    c.num_experts = _int(g("num_experts"))
    c.num_experts_per_tok = _int(g("num_experts_per_tok"))
    ffn = raw.get("ffn_config")  # DBRX describes its experts in ffn_config (moe_num_experts, moe_top_k)
    if isinstance(ffn, dict):
        if c.num_experts is None:
            c.num_experts = _int(ffn.get("moe_num_experts"))
        if c.num_experts_per_tok is None:
            c.num_experts_per_tok = _int(ffn.get("moe_top_k"))
    c.n_shared_experts = _int(raw.get("n_shared_experts"))
    c.moe_intermediate_size = _int(raw.get("moe_intermediate_size"))
    c.first_k_dense_replace = _int(raw.get("first_k_dense_replace"))
    for k in ("q_lora_rank", "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim"):
        setattr(c, k, _int(raw.get(k)))
    c.num_nextn_predict_layers = _int(raw.get("num_nextn_predict_layers")) or 0
    c.is_encoder_decoder = bool(full.get("is_encoder_decoder") or raw.get("is_encoder_decoder"))
    c.num_decoder_layers = _int(raw.get("num_decoder_layers"))
    if c.is_encoder_decoder and c.num_decoder_layers is None:
        c.num_decoder_layers = c.num_hidden_layers
    qc = full.get("quantization_config") or raw.get("quantization_config") or full.get("compression_config")
    c.quantization_config = qc if isinstance(qc, dict) else None
    for k in ("vision_config", "audio_config"):
        v = full.get(k)
        if not isinstance(v, dict) and outer is not full:
            v = outer.get(k)
        setattr(c, k, v if isinstance(v, dict) else None)
    return c


def parse_config(data: bytes | str, file: str = "config.json") -> ModelConfig:
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise CkptError(f"is not valid JSON ({str(e).split(':')[0]})", file) from None
    return from_dict(obj, file)
