"""Recurrent token mixers (state-space and linear-attention layers): their tensors, and the state each keeps per
sequence (constant in the sequence length, unlike a KV cache).

- ``mamba``: Mamba-1 (``in_proj`` 2 x d_inner, depthwise ``conv1d``, ``x_proj`` to dt_rank + 2 x d_state,
  ``dt_proj``, ``A_log`` (d_inner, d_state), ``D``, ``out_proj``); Jamba adds dt/B/C layernorms;
- ``mamba2``: Mamba-2 (``in_proj`` to 2 x d_inner + 2 x groups x d_state + heads, ``conv1d`` over
  d_inner + 2 x groups x d_state, per-head ``A_log``/``D``/``dt_bias``, gated RMS ``norm`` of d_inner);
- ``gated_deltanet``: Qwen3-Next's gated DeltaNet (``in_proj_qkvz``, ``in_proj_ba``, ``conv1d``, per-value-head
  ``A_log``/``dt_bias``, head-wise ``norm``, ``out_proj``); Qwen3.5's (``Spec.deltanet_split``) has the same
  state and sizes with ``in_proj_qkv`` / ``in_proj_z`` / ``in_proj_b`` / ``in_proj_a`` in place of the two fused ones;
- ``short_conv``: LFM2's gated short convolution (tensors in ``families/liquid.py``): state only.
"""

from __future__ import annotations

import math

from ..classify import ATTENTION, NORM
from .engine import PredictionError, linear

A = ATTENTION  #: the token mixer's weights count with attention (it takes attention's place in the layer)


def _g(d, *keys, default=None):
    for k in keys:
        v = d.get(k)
        if v is not None:
            return v
    return default


def _pos(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v > 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {what}")
    return v


def mamba_dims(d) -> dict:
    """Mamba-1 sizes: d_inner, d_state, d_conv, dt_rank."""
    H = d.H
    expand = _g(d, "mamba_expand", "expand", default=2)
    inner = d.get("intermediate_size") if d.mt == "mamba" else None
    inner = _pos(inner if inner else int(expand * H), "intermediate_size")
    N = _pos(_g(d, "mamba_d_state", "state_size", default=16), "state_size")
    K = _pos(_g(d, "mamba_d_conv", "conv_kernel", default=4), "conv_kernel")
    r = _g(d, "mamba_dt_rank", "time_step_rank", default="auto")
    r = math.ceil(H / 16) if r == "auto" else _pos(r, "time_step_rank")
    return {"inner": inner, "state": N, "conv": K, "dt_rank": r}


def mamba2_dims(d) -> dict:
    """Mamba-2 sizes: d_inner (d_ssm), heads, groups, d_state, d_conv."""
    H = d.H
    heads = _pos(_g(d, "mamba_n_heads", "mamba_num_heads", "num_heads", default=128), "mamba_n_heads")
    inner = _g(d, "mamba_d_ssm")
    if inner is None and d.mt == "nemotron_h":  # NemotronHMamba2Mixer: d_inner = mamba_num_heads x mamba_head_dim
        inner = heads * _pos(_g(d, "mamba_head_dim", default=64), "mamba_head_dim")  # (not expand x hidden)
    if inner is None:
        inner = int(_g(d, "mamba_expand", "expand", default=2) * H)
    groups = _pos(_g(d, "mamba_n_groups", "n_groups", default=1), "n_groups")
    N = _pos(_g(d, "mamba_d_state", "ssm_state_size", "state_size", default=128), "state_size")
    K = _pos(_g(d, "mamba_d_conv", "conv_kernel", default=4), "conv_kernel")
    return {"inner": _pos(inner, "d_inner"), "heads": heads, "groups": groups, "state": N, "conv": K}


def deltanet_dims(d) -> dict:
    nk = _pos(_g(d, "linear_num_key_heads", default=16), "linear_num_key_heads")
    nv = _pos(_g(d, "linear_num_value_heads", default=32), "linear_num_value_heads")
    dk = _pos(_g(d, "linear_key_head_dim", default=128), "linear_key_head_dim")
    dv = _pos(_g(d, "linear_value_head_dim", default=128), "linear_value_head_dim")
    K = _pos(_g(d, "linear_conv_kernel_dim", default=4), "linear_conv_kernel_dim")
    return {"nk": nk, "nv": nv, "dk": dk, "dv": dv, "conv": K}


def mixer(p: str, d, s, kind: str):
    """Tensors of one recurrent mixer of ``kind`` at layer prefix ``p`` (spec ``s`` names the module)."""
    name = getattr(s, "mixer_name", None) or {"mamba": "mamba", "mamba2": "mamba", "gated_deltanet": "linear_attn",
                                               "lightning": "self_attn"}[kind]
    m = f"{p}.{name}"
    H = d.H
    if kind == "lightning":  # MiniMax-Text-01 lightning attention: fused qkv, output gate, RMS norm, out_proj
        inner = d.nh * d.hd
        yield from linear(m + ".qkv_proj", 3 * inner, H, A)
        yield from linear(m + ".output_gate", inner, H, A)
        yield m + ".norm.weight", (inner,), NORM, None
        yield from linear(m + ".out_proj", H, inner, A)
        if getattr(d, "layout", {}).get("lightning_buffers"):  # transformers 5 registers the decays as buffers
            from ..classify import BUFFER

            bs = int(d.get("block_size") or 256)
            yield m + ".slope_rate", (d.nh, 1, 1), BUFFER, None
            yield m + ".query_decay", (d.nh, bs, 1), BUFFER, None
            yield m + ".key_decay", (d.nh, bs, 1), BUFFER, None
            yield m + ".diagonal_decay", (1, d.nh, bs, bs), BUFFER, None
        return
    if kind == "gated_deltanet":
        x = deltanet_dims(d)
        kd, vd = x["nk"] * x["dk"], x["nv"] * x["dv"]
        yield m + ".dt_bias", (x["nv"],), A, None
        yield m + ".A_log", (x["nv"],), A, None
        yield m + ".conv1d.weight", (2 * kd + vd, 1, x["conv"]), A, None
        if getattr(s, "deltanet_split", False):  # Qwen3.5: the four input projections kept apart
            yield m + ".norm.weight", (x["dv"],), NORM, None
            yield from linear(m + ".out_proj", H, vd, A)
            yield from linear(m + ".in_proj_qkv", 2 * kd + vd, H, A)
            yield from linear(m + ".in_proj_z", vd, H, A)
            yield from linear(m + ".in_proj_b", x["nv"], H, A)
            yield from linear(m + ".in_proj_a", x["nv"], H, A)
            return
        yield from linear(m + ".in_proj_qkvz", 2 * kd + 2 * vd, H, A)
        yield from linear(m + ".in_proj_ba", 2 * x["nv"], H, A)
        yield m + ".norm.weight", (x["dv"],), NORM, None
        yield from linear(m + ".out_proj", H, vd, A)
        return
    conv_bias = bool(_g(d, "mamba_conv_bias", "use_conv_bias", default=True))
    proj_bias = bool(_g(d, "mamba_proj_bias", "use_bias", default=False))
    if kind == "mamba":
        x = mamba_dims(d)
        I, N, r = x["inner"], x["state"], x["dt_rank"]
        yield m + ".A_log", (I, N), A, None
        yield m + ".D", (I,), A, None
        yield m + ".conv1d.weight", (I, 1, x["conv"]), A, None
        if conv_bias:
            yield m + ".conv1d.bias", (I,), A, None
        yield from linear(m + ".in_proj", 2 * I, H, A, proj_bias)
        yield from linear(m + ".x_proj", r + 2 * N, I, A)
        yield from linear(m + ".dt_proj", I, r, A, True)
        yield from linear(m + ".out_proj", H, I, A, proj_bias)
        if getattr(s, "mamba_norms", False):
            yield m + ".dt_layernorm.weight", (r,), NORM, None
            yield m + ".b_layernorm.weight", (N,), NORM, None
            yield m + ".c_layernorm.weight", (N,), NORM, None
        return
    x = mamba2_dims(d)
    I, nh, ng, N = x["inner"], x["heads"], x["groups"], x["state"]
    conv = I + 2 * ng * N
    yield m + ".dt_bias", (nh,), A, None
    yield m + ".A_log", (nh,), A, None
    yield m + ".D", (nh,), A, None
    yield m + ".conv1d.weight", (conv, 1, x["conv"]), A, None
    if conv_bias:
        yield m + ".conv1d.bias", (conv,), A, None
    yield from linear(m + ".in_proj", I + conv + nh, H, A, proj_bias)
    if bool(_g(d, "mamba_rms_norm", default=getattr(s, "mamba_rms_norm", True))):
        yield m + ".norm.weight", (I,), NORM, None
    yield from linear(m + ".out_proj", H, I, A, proj_bias)


def state_shapes(d, kind: str) -> dict:
    """The per-sequence state one layer of ``kind`` keeps: {"conv": (channels, kernel - 1 or kernel),
    "ssm"/"recurrent": shape}, in elements. Constant in the sequence length."""
    if kind == "lightning":  # one (head_dim x head_dim) key-value state per head
        return {"recurrent": (d.nh, d.hd, d.hd)}
    if kind == "short_conv":  # LFM2 gated short convolution: the last conv_L_cache inputs of H channels
        K = _pos(_g(d, "conv_L_cache", default=3), "conv_L_cache")
        return {"conv": (d.H, K)}
    if kind == "gated_deltanet":
        x = deltanet_dims(d)
        return {"conv": (2 * x["nk"] * x["dk"] + x["nv"] * x["dv"], x["conv"]),
                "recurrent": (x["nv"], x["dk"], x["dv"])}
    if kind == "mamba":
        x = mamba_dims(d)
        return {"conv": (x["inner"], x["conv"]), "ssm": (x["inner"], x["state"])}
    x = mamba2_dims(d)
    return {"conv": (x["inner"] + 2 * x["groups"] * x["state"], x["conv"]),
            "ssm": (x["heads"], x["inner"] // x["heads"], x["state"])}
