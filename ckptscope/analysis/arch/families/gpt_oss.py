"""OpenAI gpt-oss: attention with biases on q/k/v/o and per-head ``sinks``; a router with bias; fused experts
with biases. The Hub checkpoints store the expert weights in MXFP4 (``quant_method: mxfp4``): for each of
``gate_up_proj`` (experts, 2 x intermediate, H) and ``down_proj`` (experts, H, intermediate) a ``*_blocks`` U8
tensor (experts, rows, cols/32, 16) holding two 4-bit values per byte, and a ``*_scales`` U8 tensor
(experts, rows, cols/32) with one E8M0 exponent per 32 values. Everything else is BF16 (config.json names no
dtype). Unquantized, the experts are ``gate_up_proj`` (experts, H, 2 x intermediate) and ``down_proj``
(experts, intermediate, H)."""

from ...classify import ATTENTION, EMBEDDING, EXPERTS, LM_HEAD, NORM, QUANT, ROUTER
from ..engine import gqa_attention, linear, norm

MODEL_TYPES = ("gpt_oss",)
TIE_DEFAULT = False
DEFAULT_DTYPE = "BF16"


def _mxfp4(d) -> bool:
    qc = d.c.quantization_config or {}
    return str(qc.get("quant_method") or "").lower() == "mxfp4"


def tensors(d, layout):
    d.need("H", "L", "nh", "kv", "hd", "I", "V", "E")
    H, I, E = d.H, d.I, d.E
    mx = _mxfp4(d)
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield p + ".self_attn.sinks", (d.nh,), ATTENTION, None  # the module's own parameter: saved first
        yield from gqa_attention(p + ".self_attn", d, ATTENTION, True, True)
        yield from linear(p + ".mlp.router", E, H, ROUTER, True, kind=None)
        x = p + ".mlp.experts."
        if mx:
            yield x + "gate_up_proj_blocks", (E, 2 * I, H // 32, 16), EXPERTS, "U8"
            yield x + "gate_up_proj_scales", (E, 2 * I, H // 32), QUANT, "U8"
            yield x + "gate_up_proj_bias", (E, 2 * I), EXPERTS, None
            yield x + "down_proj_blocks", (E, H, I // 32, 16), EXPERTS, "U8"
            yield x + "down_proj_scales", (E, H, I // 32), QUANT, "U8"
            yield x + "down_proj_bias", (E, H), EXPERTS, None
        else:
            yield x + "gate_up_proj", (E, H, 2 * I), EXPERTS, None
            yield x + "gate_up_proj_bias", (E, 2 * I), EXPERTS, None
            yield x + "down_proj", (E, I, H), EXPERTS, None
            yield x + "down_proj_bias", (E, H), EXPERTS, None
        yield from norm(p + ".input_layernorm", H, NORM)
        yield from norm(p + ".post_attention_layernorm", H, NORM)
    yield from norm("model.norm", H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, H, LM_HEAD, kind=None)
