"""Llama and its plain decoder kin: llama, mistral, qwen2, qwen3 (and the Llama-shaped R1 distills).

Per layer: self_attn q/k/v/o (GQA: k and v have num_key_value_heads heads; head_dim may be explicit and differ
from hidden/heads), qwen3's per-head q_norm/k_norm, a gated MLP (gate/up/down), two RMSNorms.
Biases: qwen2 always has q/k/v biases (no o bias); llama/qwen3 have q/k/v/o biases when ``attention_bias`` and
gate/up/down biases when ``mlp_bias``. ``lm_head`` is stored unless ``tie_word_embeddings``.

Llama checkpoints written by transformers 4.28 to 4.31 also store each layer's rotary buffer
``self_attn.rotary_emb.inv_freq`` (head_dim / 2 values): it became non-persistent in 4.32. Real repos:
fixtures/real_index/auraecosystem__llama-65b-hf (config 4.28.0.dev0: 80 buffers, fp16 like the weights) and
bjornerikkorum__RUTERGPT13B (config 4.31.0: 40 buffers, but kept in fp32 by its writer; the dtype a config cannot
tell, so the prediction uses the checkpoint dtype, as the official conversion stores them).
"""

from ...classify import ATTENTION, EMBEDDING, LM_HEAD, MLP, NORM
from ...classify import BUFFER
from ..engine import gqa_attention, glu_mlp, linear, norm, saved_by

MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")
TIE_DEFAULT = False
DEFAULT_DTYPE = "F32"


INV_FREQ_DROPPED = (4, 32)  #: first transformers version whose Llama checkpoints no longer hold inv_freq


def default_layout(c) -> dict:
    v = saved_by(c)
    return {"inv_freq": c.model_type == "llama" and v is not None and v < INV_FREQ_DROPPED}


def layout_from_names(c, names) -> dict:
    return {"inv_freq": any(n.endswith(".self_attn.rotary_emb.inv_freq") for n in names)}


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
        if layout.get("inv_freq"):
            yield p + ".self_attn.rotary_emb.inv_freq", (d.hd // 2,), BUFFER, None
    yield from norm("model.norm", d.H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, d.H, LM_HEAD, kind=None)
