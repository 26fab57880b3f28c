"""The engine that turns a family description into an expected tensor inventory.

A family (``families/<name>.py``) is a small readable description: which ``model_type`` values it covers, its
defaults (dtype when config.json names none, whether embeddings are tied) and a generator ``tensors(d, layout)``
that yields ``(name, shape, component, kind)`` in save order, layer by layer. ``kind`` is ``None`` for an
ordinary tensor in the checkpoint dtype, ``LIN`` for a Linear weight that weight-only quantization may replace
(FP8 block quantization adds its ``weight_scale_inv`` grid), or an explicit safetensors dtype ("F32", "U8", "I64").
The engine does the rest: dtypes, quantization side-tensors, limits against absurd configs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...dtypes import nbytes as _nbytes
from ...readers.config import ModelConfig
from ..classify import QUANT

LIN = "lin"  #: a Linear weight: quantizable by weight-only schemes (FP8 blocks)

MAX_TENSORS = 500_000  #: refuse to predict more than this many tensors (an absurd or hostile config);
#: DeepSeek-V3 has 91,991


@dataclass(slots=True)  # not frozen: a frozen __init__ costs 4x, and ~100k are built per checkpoint
class ExpectedTensor:
    """One tensor a checkpoint of this config should hold."""

    name: str
    dtype: str  #: safetensors dtype name
    shape: tuple[int, ...]
    component: str  #: one of ckptscope.analysis.classify's component constants
    note: str | None = None  #: why it is there when that is not obvious (buffer, quantization grid, MTP copy)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return _nbytes(self.dtype, math.prod(self.shape))


class PredictionError(ValueError):
    """The config lacks a field the family needs, or its numbers are out of any sane range."""


class Dims:
    """The dimensions a family description reads, with the config field each comes from."""

    def __init__(self, c: ModelConfig, tie_default: bool, mt: str | None = None):
        self.c = c
        self.mt = mt or c.model_type  #: the family key the rules were dispatched to (may differ from model_type)
        self.H = c.hidden_size  #: hidden_size / n_embd / d_model
        self.L = c.num_hidden_layers  #: num_hidden_layers / n_layer / num_layers
        self.nh = c.num_attention_heads
        self.kv = c.num_key_value_heads or c.num_attention_heads
        self.hd = c.head_dim
        self.I = c.intermediate_size
        self.V = c.vocab_size
        self.P = c.max_position_embeddings
        self.E = c.num_experts or 0
        self.top_k = c.num_experts_per_tok or 0
        self.MI = c.moe_intermediate_size
        self.tied = c.tie_word_embeddings if c.tie_word_embeddings is not None else tie_default
        self.layout: dict = {}  #: the layout options of this prediction (set by the family)

    def get(self, key: str, default=None):
        return self.c.get(key, default)

    def need(self, *names: str) -> None:
        """Raise PredictionError unless every named dimension is a positive integer below sane bounds."""
        for n in names:
            v = getattr(self, n)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise PredictionError(f"config.json gives no usable value for {n}")
            if v > 10_000_000:
                raise PredictionError(f"config.json value {v:,} for {n} is out of range")


def fp8_block(c: ModelConfig) -> tuple[int, int] | None:
    """(rows, cols) of the FP8 block-quantization grid when the config says so (DeepSeek-V3 style)."""
    qc = c.quantization_config or {}
    if str(qc.get("quant_method") or "").lower() != "fp8":
        return None
    bs = qc.get("weight_block_size")
    if isinstance(bs, list) and len(bs) == 2 and all(isinstance(x, int) and x > 0 for x in bs):
        return bs[0], bs[1]
    return None


def build(family, c: ModelConfig, layout: dict, key: str | None = None) -> list[ExpectedTensor]:
    d = Dims(c, getattr(family, "TIE_DEFAULT", False), key)
    layers = (d.L or 0) + (c.num_decoder_layers or 0) + (c.num_nextn_predict_layers or 0)
    if layers * (8 * d.E + 40) > MAX_TENSORS:  # upper bound on tensors per layer, checked before building
        raise PredictionError(f"config.json describes {layers:,} layers of {max(d.E, 1):,} expert(s): more than "
                              f"{MAX_TENSORS:,} tensors")
    dtype = getattr(family, "FORCE_DTYPE", None) or c.dtype or getattr(family, "DEFAULT_DTYPE", "F32")
    block = fp8_block(c)
    skip_q = getattr(family, "fp8_keeps", None)
    out: list[ExpectedTensor] = []
    app = out.append
    ET = ExpectedTensor
    for name, shape, comp, kind in family.tensors(d, layout):
        if kind is None:
            app(ET(name, dtype, shape, comp))
        elif kind == LIN:
            if block is not None and not (skip_q and skip_q(name)):
                app(ET(name, "F8_E4M3", shape, comp))
                grid = (-(-shape[0] // block[0]), -(-shape[1] // block[1]))
                app(ET(name + "_scale_inv", "F32", grid, QUANT, "FP8 block scales"))
            else:
                app(ET(name, dtype, shape, comp))
        else:
            app(ET(name, kind, shape, comp))
        if len(out) > MAX_TENSORS:
            raise PredictionError(f"config.json describes more than {MAX_TENSORS:,} tensors")
    return out


# ---- building blocks shared by the family descriptions -----------------------------------------------------

def linear(p: str, out_f: int, in_f: int, comp: str, bias: bool = False, kind=LIN):
    """An nn.Linear: weight (out, in) then bias (out)."""
    yield p + ".weight", (out_f, in_f), comp, kind
    if bias:
        yield p + ".bias", (out_f,), comp, None


def glu_mlp(p: str, H: int, I: int, comp: str, bias: bool = False,
            names: tuple[str, str, str] = ("gate_proj", "up_proj", "down_proj")):
    """Gated MLP: gate (I, H), up (I, H), down (H, I)."""
    g, u, dn = names
    yield from linear(f"{p}.{g}", I, H, comp, bias)
    yield from linear(f"{p}.{u}", I, H, comp, bias)
    yield from linear(f"{p}.{dn}", H, I, comp, bias)


def gqa_attention(p: str, d: Dims, comp: str, qkv_bias: bool = False, o_bias: bool = False):
    """q (heads*head_dim, H), k and v (kv_heads*head_dim, H), o (H, heads*head_dim)."""
    H, q, kv = d.H, d.nh * d.hd, d.kv * d.hd
    yield from linear(p + ".q_proj", q, H, comp, qkv_bias)
    yield from linear(p + ".k_proj", kv, H, comp, qkv_bias)
    yield from linear(p + ".v_proj", kv, H, comp, qkv_bias)
    yield from linear(p + ".o_proj", H, q, comp, o_bias)


def norm(name: str, n: int, comp: str, bias: bool = False):
    yield name + ".weight", (n,), comp, None
    if bias:
        yield name + ".bias", (n,), comp, None


def saved_by(c: ModelConfig) -> tuple[int, int] | None:
    """(major, minor) of the transformers version that wrote config.json, or None when it does not say."""
    v = c.full.get("transformers_version")
    if not isinstance(v, str):
        return None
    parts = v.split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)
    except (ValueError, IndexError):
        return None


#: transformers 4.31 (PR #24505) made position_ids / causal-mask buffers non-persistent: checkpoints written
#: before it carry them in the weights file.
BUFFERS_DROPPED = (4, 31)
