"""Phi-3: fused projections. ``qkv_proj`` is ((heads + 2 * kv_heads) * head_dim, H), ``gate_up_proj`` is
(2 * intermediate, H); ``o_proj`` is declared before ``qkv_proj`` so it comes first in save order."""

from ...classify import ATTENTION, EMBEDDING, LM_HEAD, MLP, NORM
from ..engine import linear, norm

MODEL_TYPES = ("phi3",)
TIE_DEFAULT = False
DEFAULT_DTYPE = "F32"


def tensors(d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V")
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    qkv = (d.nh + 2 * d.kv) * d.hd
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from linear(p + ".self_attn.o_proj", d.H, d.nh * d.hd, ATTENTION)
        yield from linear(p + ".self_attn.qkv_proj", qkv, d.H, ATTENTION)
        yield from linear(p + ".mlp.gate_up_proj", 2 * d.I, d.H, MLP)
        yield from linear(p + ".mlp.down_proj", d.H, d.I, MLP)
        yield from norm(p + ".input_layernorm", d.H, NORM)
        yield from norm(p + ".post_attention_layernorm", d.H, NORM)
    yield from norm("model.norm", d.H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, d.H, LM_HEAD, kind=None)
