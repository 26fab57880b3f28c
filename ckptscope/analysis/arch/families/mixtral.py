"""Mixtral: Llama attention + ``block_sparse_moe`` in every layer: a router ``gate`` (experts x H) and, per
expert, w1 (gate, I x H), w2 (down, H x I), w3 (up, I x H). The layout real Hub checkpoints use."""

from ...classify import ATTENTION, EMBEDDING, EXPERTS, LM_HEAD, NORM, ROUTER
from ..engine import gqa_attention, linear, norm

MODEL_TYPES = ("mixtral",)
TIE_DEFAULT = False
DEFAULT_DTYPE = "F32"


def tensors(d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V", "E")
    H, I = d.H, d.I
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from gqa_attention(p + ".self_attn", d, ATTENTION)
        yield from linear(p + ".block_sparse_moe.gate", d.E, H, ROUTER, kind=None)
        for j in range(d.E):
            e = f"{p}.block_sparse_moe.experts.{j}"
            yield from linear(e + ".w1", I, H, EXPERTS)
            yield from linear(e + ".w2", H, I, EXPERTS)
            yield from linear(e + ".w3", I, H, EXPERTS)
        yield from norm(p + ".input_layernorm", H, NORM)
        yield from norm(p + ".post_attention_layernorm", H, NORM)
    yield from norm("model.norm", H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, H, LM_HEAD, kind=None)
