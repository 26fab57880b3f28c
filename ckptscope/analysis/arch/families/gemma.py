"""Gemma text models: gemma, gemma2, gemma3_text.

Like Llama (q/k/v/o, gated MLP) but head_dim is explicit and usually != hidden/heads, embeddings are tied by
default, gemma2/gemma3 add pre/post feed-forward norms around the MLP, and gemma3 adds per-head q_norm/k_norm.
"""

from ...classify import ATTENTION, EMBEDDING, LM_HEAD, MLP, NORM
from ..engine import gqa_attention, glu_mlp, linear, norm

MODEL_TYPES = ("gemma", "gemma2", "gemma3_text")
TIE_DEFAULT = True
DEFAULT_DTYPE = "F32"


def tensors(d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V")
    mt = d.mt
    bias = bool(d.get("attention_bias"))
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from gqa_attention(p + ".self_attn", d, ATTENTION, bias, bias)
        if mt == "gemma3_text":
            yield from norm(p + ".self_attn.q_norm", d.hd, NORM)
            yield from norm(p + ".self_attn.k_norm", d.hd, NORM)
        yield from glu_mlp(p + ".mlp", d.H, d.I, MLP)
        yield from norm(p + ".input_layernorm", d.H, NORM)
        yield from norm(p + ".post_attention_layernorm", d.H, NORM)
        if mt != "gemma":
            yield from norm(p + ".pre_feedforward_layernorm", d.H, NORM)
            yield from norm(p + ".post_feedforward_layernorm", d.H, NORM)
    yield from norm("model.norm", d.H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, d.H, LM_HEAD, kind=None)
