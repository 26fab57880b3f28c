"""MobileNetV5 (timm), the vision tower of Gemma 3n (``vision_config.architecture: mobilenetv5_300m_enc``).

The tower is fixed by its timm architecture name, not by config numbers: each stage is a list of blocks in timm's
block notation (``er_r1_k3_s2_e4_c128`` = EdgeResidual, kernel 3, stride 2, expansion 4, 128 channels;
``uir_..._a3_k5`` = Universal Inverted Residual with a 3x3 depthwise conv at the start and a 5x5 one in the middle,
0 = none; ``mqa_..._h12_v2_d64`` = Mobile multi-query attention, 12 query heads, key/value stride 2, head size 64),
as published in timm's ``mobilenetv5.py`` (``_gen_mobilenet_v5``). Norms are RMS norms with a weight only
(``RmsNorm2d``); every conv is bias-free except the stem's. A Multi-Scale Fusion Adapter (``msfa``) fuses the last two
stages into ``hidden_size`` channels.
"""

from __future__ import annotations

from ..classify import VISION
from .engine import PredictionError

V = VISION

_UIR_640 = ["uir_r1_a5_k0_s1_e4_c640"] * 7
_MQA_640 = ["mqa_r1_k3_h12_v2_s1_d64_c640", "uir_r1_a0_k0_s1_e2_c640"] * 14
_MQA_1280 = ["mqa_r1_k3_h16_s1_d96_c1280", "uir_r1_a0_k0_s1_e2_c1280"] * 19

#: timm architecture name -> stages of block strings (timm 1.0 ``_gen_mobilenet_v5``, the non-"base" branch)
ARCH_DEFS: dict[str, list[list[str]]] = {
    "mobilenetv5_300m_enc": [
        ["er_r1_k3_s2_e4_c128", "er_r1_k3_s1_e4_c128", "er_r1_k3_s1_e4_c128"],
        ["uir_r1_a3_k5_s2_e6_c256", "uir_r1_a5_k0_s1_e4_c256", "uir_r1_a3_k0_s1_e4_c256",
         "uir_r1_a5_k0_s1_e4_c256", "uir_r1_a3_k0_s1_e4_c256"],
        ["uir_r1_a5_k5_s2_e6_c640", *_UIR_640, "uir_r1_a0_k0_s1_e1_c640", *_MQA_640],
        ["uir_r1_a5_k5_s2_e6_c1280", *_MQA_1280],
    ],
}
STEM = 64  #: stem channels (``stem_size=64``)
MSFA_EXPANSION = 2  #: the fusion adapter's FFN widens its input twice


def _divisible(v: float, d: int = 8) -> int:
    """timm's ``make_divisible``: round to a multiple of 8, never more than 10% down."""
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


def _opts(block: str) -> tuple[str, dict[str, int]]:
    kind, *parts = block.split("_")
    return kind, {p[0]: int(p[1:]) for p in parts}


def _conv(p: str, out_c: int, in_c: int, k: int, groups: int = 1):
    yield p + ".weight", (out_c, in_c // groups, k, k), V, None


def mobilenet_v5(p: str, raw: dict | None):
    raw = raw or {}
    arch = raw.get("architecture", "mobilenetv5_300m_enc")
    stages = ARCH_DEFS.get(arch)
    if stages is None:
        raise PredictionError(f"vision_config names timm architecture {arch!r}, which these rules do not know")
    out_hidden = raw.get("hidden_size", 2048)
    if isinstance(out_hidden, bool) or not isinstance(out_hidden, int) or not 0 < out_hidden <= 1_000_000:
        raise PredictionError("vision_config gives no usable value for hidden_size")
    yield from _conv(p + "conv_stem.conv", STEM, 3, 3)
    yield p + "conv_stem.conv.bias", (STEM,), V, None
    yield p + "conv_stem.bn.weight", (STEM,), V, None
    c_in = STEM
    stage_out = []
    for s, blocks in enumerate(stages):
        for b, block in enumerate(blocks):
            kind, o = _opts(block)
            q = f"{p}blocks.{s}.{b}."
            c_out = o["c"]
            if kind == "er":
                mid = _divisible(c_in * o["e"])
                yield from _conv(q + "conv_exp", mid, c_in, o["k"])
                yield q + "bn1.weight", (mid,), V, None
                yield from _conv(q + "conv_pwl", c_out, mid, 1)
                yield q + "bn2.weight", (c_out,), V, None
            elif kind == "uir":
                mid = _divisible(c_in * o["e"])
                if o["a"]:
                    yield from _conv(q + "dw_start.conv", c_in, c_in, o["a"], groups=c_in)
                    yield q + "dw_start.bn.weight", (c_in,), V, None
                yield from _conv(q + "pw_exp.conv", mid, c_in, 1)
                yield q + "pw_exp.bn.weight", (mid,), V, None
                if o["k"]:
                    yield from _conv(q + "dw_mid.conv", mid, mid, o["k"], groups=mid)
                    yield q + "dw_mid.bn.weight", (mid,), V, None
                yield from _conv(q + "pw_proj.conv", c_out, mid, 1)
                yield q + "pw_proj.bn.weight", (c_out,), V, None
                yield q + "layer_scale.gamma", (c_out,), V, None
            elif kind == "mqa":
                heads, dk = o["h"], o["d"]
                yield q + "norm.weight", (c_in,), V, None
                yield from _conv(q + "attn.query.proj", heads * dk, c_in, 1)
                for kv in ("key", "value"):
                    if o.get("v", 1) > 1:
                        yield from _conv(f"{q}attn.{kv}.down_conv", c_in, c_in, o["k"], groups=c_in)
                        yield f"{q}attn.{kv}.norm.weight", (c_in,), V, None
                    yield from _conv(f"{q}attn.{kv}.proj", dk, c_in, 1)
                yield from _conv(q + "attn.output.proj", c_out, heads * dk, 1)
                yield q + "layer_scale.gamma", (c_out,), V, None
            c_in = c_out
        stage_out.append(c_in)
    fused = sum(stage_out[-2:])
    mid = fused * MSFA_EXPANSION
    yield from _conv(p + "msfa.ffn.pw_exp.conv", mid, fused, 1)
    yield p + "msfa.ffn.pw_exp.bn.weight", (mid,), V, None
    yield from _conv(p + "msfa.ffn.pw_proj.conv", out_hidden, mid, 1)
    yield p + "msfa.ffn.pw_proj.bn.weight", (out_hidden,), V, None
    yield p + "msfa.norm.weight", (out_hidden,), V, None
