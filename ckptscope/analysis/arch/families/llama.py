"""Llama and its plain decoder kin: llama, mistral, qwen2, qwen3 (and the Llama-shaped R1 distills).

Per layer: self_attn q/k/v/o (GQA: k and v have num_key_value_heads heads; head_dim may be explicit and differ
from hidden/heads), qwen3's per-head q_norm/k_norm, a gated MLP (gate/up/down), two RMSNorms.
Biases: qwen2 always has q/k/v biases (no o bias); llama/qwen3 have q/k/v/o biases when ``attention_bias`` and
gate/up/down biases when ``mlp_bias``. ``lm_head`` is stored unless ``tie_word_embeddings``.
"""

from ...classify import ATTENTION, EMBEDDING, LM_HEAD, MLP, NORM
from ..engine import gqa_attention, glu_mlp, linear, norm

MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")
TIE_DEFAULT = False
DEFAULT_DTYPE = "F32"


def tensors(d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V")
    mt = d.mt
    qkv_bias = mt == "qwen2" or bool(d.get("attention_bias"))
    o_bias = mt != "qwen2" and bool(d.get("attention_bias"))
    mlp_bias = bool(d.get("mlp_bias"))
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from gqa_attention(p + ".self_attn", d, ATTENTION, qkv_bias, o_bias)
        if mt == "qwen3":
            yield from norm(p + ".self_attn.q_norm", d.hd, NORM)
            yield from norm(p + ".self_attn.k_norm", d.hd, NORM)
        yield from glu_mlp(p + ".mlp", d.H, d.I, MLP, mlp_bias)
        yield from norm(p + ".input_layernorm", d.H, NORM)
        yield from norm(p + ".post_attention_layernorm", d.H, NORM)
    yield from norm("model.norm", d.H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, d.H, LM_HEAD, kind=None)
