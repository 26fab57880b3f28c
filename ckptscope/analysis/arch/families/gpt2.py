"""GPT-2: Conv1D layout (weights stored (in, out), the transpose of nn.Linear), learned positions ``wpe``,
LayerNorms with biases, tied LM head (not stored).

What real checkpoints carry besides the parameters:
- the original 2019 conversions (config.json without ``transformers_version``: gpt2, gpt2-medium, ...) store
  the base GPT2Model, without the ``transformer.`` prefix, plus each layer's causal-mask buffer
  ``h.N.attn.bias`` (1, 1, n_positions, n_positions) in F32;
- checkpoints saved by transformers < 4.31 also keep ``attn.bias`` (BOOL) and the scalar ``attn.masked_bias``;
- later ones store neither buffer.
"""

from ...classify import ATTENTION, BUFFER, EMBEDDING, LM_HEAD, MLP, NORM, POSITION
from ..engine import BUFFERS_DROPPED, saved_by

MODEL_TYPES = ("gpt2",)
TIE_DEFAULT = True
DEFAULT_DTYPE = "F32"


def default_layout(c) -> dict:
    v = saved_by(c)
    base = (c.architectures or ["GPT2LMHeadModel"])[0] == "GPT2Model"
    if v is None:
        return {"prefix": False, "attn_bias": "F32", "masked_bias": False}
    old = v < BUFFERS_DROPPED
    return {"prefix": not base, "attn_bias": "BOOL" if old else None, "masked_bias": old}


def layout_from_names(c, names) -> dict:
    lay = default_layout(c)
    lay["prefix"] = any(n.startswith("transformer.") for n in names)
    if not any(n.endswith(".attn.bias") for n in names):
        lay["attn_bias"] = None
    elif lay["attn_bias"] is None:
        lay["attn_bias"] = "BOOL"
    lay["masked_bias"] = any(n.endswith(".attn.masked_bias") for n in names)
    return lay


def tensors(d, layout):
    d.need("H", "L", "I", "V", "P")
    t = "transformer." if layout.get("prefix") else ""
    H, P = d.H, d.P
    yield t + "wte.weight", (d.V, H), EMBEDDING, None
    yield t + "wpe.weight", (P, H), POSITION, None
    for i in range(d.L):
        p = f"{t}h.{i}"
        yield p + ".ln_1.weight", (H,), NORM, None
        yield p + ".ln_1.bias", (H,), NORM, None
        if layout.get("attn_bias"):
            yield p + ".attn.bias", (1, 1, P, P), BUFFER, layout["attn_bias"]
        if layout.get("masked_bias"):
            yield p + ".attn.masked_bias", (), BUFFER, "F32"
        yield p + ".attn.c_attn.weight", (H, 3 * H), ATTENTION, None
        yield p + ".attn.c_attn.bias", (3 * H,), ATTENTION, None
        yield p + ".attn.c_proj.weight", (H, H), ATTENTION, None
        yield p + ".attn.c_proj.bias", (H,), ATTENTION, None
        yield p + ".ln_2.weight", (H,), NORM, None
        yield p + ".ln_2.bias", (H,), NORM, None
        yield p + ".mlp.c_fc.weight", (H, d.I), MLP, None
        yield p + ".mlp.c_fc.bias", (d.I,), MLP, None
        yield p + ".mlp.c_proj.weight", (d.I, H), MLP, None
        yield p + ".mlp.c_proj.bias", (H,), MLP, None
    yield t + "ln_f.weight", (H,), NORM, None
    yield t + "ln_f.bias", (H,), NORM, None
    if not d.tied and layout.get("prefix"):
        yield "lm_head.weight", (d.V, H), LM_HEAD, None
