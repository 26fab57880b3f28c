"""IBM GraniteMoE (and GraniteMoeShared): Llama-style attention, and fused expert tensors in
``block_sparse_moe``: ``input_linear`` (experts, 2 x intermediate, H) holds gate and up of every expert,
``output_linear`` (experts, H, intermediate) the down projections, ``router.layer`` (experts x H).
GraniteMoeShared adds ``shared_mlp.input_linear`` (2 x shared_intermediate, H) and ``output_linear``.
An absent ``tie_word_embeddings`` means untied, as in transformers' GraniteMoe(Shared)Config (default False); the
granite-3.x MoE checkpoints say ``true`` explicitly and store no lm_head."""

from ...classify import ATTENTION, EMBEDDING, EXPERTS, LM_HEAD, NORM, ROUTER, SHARED
from ..engine import gqa_attention, linear, norm

MODEL_TYPES = ("granitemoe", "granitemoeshared")
TIE_DEFAULT = False
DEFAULT_DTYPE = "F32"


def tensors(d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V", "E")
    H, I, E = d.H, d.I, d.E
    bias = bool(d.get("attention_bias"))
    si = int(d.get("shared_intermediate_size") or 0) if d.mt == "granitemoeshared" else 0
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from gqa_attention(p + ".self_attn", d, ATTENTION, bias, bias)
        m = p + ".block_sparse_moe"
        yield m + ".input_linear.weight", (E, 2 * I, H), EXPERTS, None
        yield m + ".output_linear.weight", (E, H, I), EXPERTS, None
        yield m + ".router.layer.weight", (E, H), ROUTER, None
        if si:
            yield from linear(p + ".shared_mlp.input_linear", 2 * si, H, SHARED)
            yield from linear(p + ".shared_mlp.output_linear", H, si, SHARED)
        yield from norm(p + ".input_layernorm", H, NORM)
        yield from norm(p + ".post_attention_layernorm", H, NORM)
    yield from norm("model.norm", H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, H, LM_HEAD, kind=None)
