"""Packed low-bit weights beyond GPTQ/AWQ, read off tensor names, shapes and config.json:

| scheme | stored weight | side tensors | logical shape |
|---|---|---|---|
| MLX (``quantization: {bits, group_size}`` in config.json) | ``X.weight`` U32 ``(out, in*bits/32)`` | ``X.scales``, ``X.biases`` ``(out, in/group)`` in the model dtype | ``(out, in)`` |
| bitsandbytes 4-bit | ``X.weight`` U8 ``(n/2, 1)`` | ``X.weight.absmax``, ``.quant_map``, ``.nested_absmax``, ``.nested_quant_map``, ``.quant_state.bitsandbytes__nf4`` | ``n`` elements |
| bitsandbytes 8-bit | ``X.weight`` I8 ``(out, in)`` | ``X.SCB`` (F32, out), ``X.weight_format`` | same |
| compressed-tensors pack-quantized | ``X.weight_packed`` I32 ``(out, in*bits/32)`` | ``X.weight_scale``, ``X.weight_zero_point``, ``X.weight_shape`` (I64 [2]) | ``(out, in)`` |

:func:`attach` records, per packed tensor, the logical parameters per stored element (``Checkpoint.packed_factors``);
:func:`packed_status` tells the architecture reconciliation whether a stored tensor is the packed form of the
expected one, and :func:`side_of` which tensors are quantization side tensors of an expected weight.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

MLX_BITS = (2, 3, 4, 5, 6, 8)
SIDE = re.compile(r"(\.scales|\.biases|\.qzeros|\.g_idx|\.SCB|\.weight_format|\.weight_scale|\.weight_zero_point"
                  r"|\.weight_shape|\.weight_global_scale|\.input_global_scale|\.input_scale|\.weight_scale_inv"
                  r"|\.absmax|\.quant_map|\.nested_absmax|\.nested_quant_map|\.quant_state\.[\w.]+)$")
BNB4_STATE = re.compile(r"\.weight\.quant_state\.bitsandbytes__(nf4|fp4)$")


def mlx_quantization(config) -> dict | None:
    """config.json's MLX ``quantization`` object ({"bits": 4, "group_size": 64, per-module overrides})."""
    if config is None:
        return None
    q = config.full.get("quantization")
    if isinstance(q, dict) and isinstance(q.get("bits"), int) and isinstance(q.get("group_size"), int):
        return q
    return None


def _mlx_params(q: dict, module: str) -> tuple[int, int] | None:
    """(bits, group_size) for one module: per-module entries override the defaults; False = not quantized."""
    ov = q.get(module)
    if ov is False:
        return None
    if isinstance(ov, dict) and isinstance(ov.get("bits"), int):
        return ov["bits"], int(ov.get("group_size") or q["group_size"])
    return q["bits"], q["group_size"]


def _ct_bits(config) -> int | None:
    qc = (config.quantization_config if config is not None else None) or {}
    groups = qc.get("config_groups")
    if isinstance(groups, dict):
        for g in groups.values():
            w = g.get("weights") if isinstance(g, dict) else None
            if isinstance(w, dict) and isinstance(w.get("num_bits"), int) and w["num_bits"] in (2, 4, 8):
                return w["num_bits"]
    return None


def _bnb4(name: str, names) -> bool:
    return (name + ".quant_state.bitsandbytes__nf4") in names or (name + ".quant_state.bitsandbytes__fp4") in names


def attach(ck) -> None:
    """Fill ``ck.packed_factors`` and ``ck.kind_info["packed"]`` (scheme, bits, group size) from the tensors."""
    tensors = ck.all_tensors()
    if not tensors:
        return
    by = {t.name: t for t in tensors}
    q = mlx_quantization(ck.config)
    factors: dict[str, object] = {}
    scheme = None
    bits_seen: set[int] = set()
    for t in tensors:
        n = t.name
        if q is not None and t.dtype == "U32" and n.endswith(".weight"):
            base = n[: -len(".weight")]
            sc = by.get(base + ".scales")
            p = _mlx_params(q, base)
            if sc is None or p is None or not t.shape or not sc.shape:
                continue
            bits, group = p
            in_f = sc.shape[-1] * group
            if in_f and (t.shape[-1] * 32) % in_f == 0 and (t.shape[-1] * 32) // in_f in MLX_BITS:
                bits = (t.shape[-1] * 32) // in_f  # what the shapes say (mixed-precision repos)
            f = Fraction(32, bits)
            factors[n] = int(f) if f.denominator == 1 else f
            bits_seen.add(bits)
            scheme = "mlx"
        elif t.dtype == "U8" and n.endswith(".weight") and _bnb4(n, by):
            factors[n] = 2
            scheme = scheme or "bitsandbytes-4bit"
            bits_seen.add(4)
        elif n.endswith(".weight_packed") and t.dtype in ("I32", "U32"):
            b = _ct_bits(ck.config) or 4
            factors[n] = 32 // b
            scheme = scheme or "compressed-tensors"
            bits_seen.add(b)
        elif t.dtype == "I8" and n.endswith(".weight") and n[: -len(".weight")] + ".SCB" in by:
            scheme = scheme or "bitsandbytes-8bit"
            bits_seen.add(8)
    ck.packed_factors = factors
    if scheme:
        d = {"scheme": scheme, "bits": sorted(bits_seen), "packed_tensors": len(factors)}
        if q is not None:
            d["group_size"] = q["group_size"]
        ck.kind_info["packed"] = d
        if ck.kind == "mlx":
            ck.kind_info.setdefault("summary", f"MLX {'/'.join(map(str, d['bits']))}-bit, group size "
                                               f"{q['group_size']}: {len(factors):,} U32-packed weights counted as "
                                               "their unpacked parameters; scales and biases are side tensors")


def report_stage(ck, report) -> None:
    """Name the packed scheme in the quantization section (logical parameters are the report's total)."""
    pk = ck.kind_info.get("packed")
    if not pk:
        return
    sec = report.sections.get("quantization")
    if isinstance(sec, dict):
        sch = sec.get("scheme") or {}
        if sch.get("method") in (None, "unknown"):
            sch["method"] = pk["scheme"]
        sch.setdefault("bits", pk["bits"][0] if len(pk["bits"]) == 1 else pk["bits"])
        if "group_size" in pk:
            sch.setdefault("group_size", pk["group_size"])
        sec["scheme"] = sch
        sec["packed"] = pk


# ---- reconciliation -----------------------------------------------------------------------------------------

ALIASES = (".qweight", ".weight_packed")  #: stored names of a packed ``.weight``


def stored_for(expected_name: str, act: dict):
    """The stored tensor that holds an expected weight: itself, or its packed alias (``X.qweight``...)."""
    a = act.get(expected_name)
    if a is not None or not expected_name.endswith(".weight"):
        return a
    base = expected_name[: -len(".weight")]
    for suf in ALIASES:
        a = act.get(base + suf)
        if a is not None:
            return a
    return None


def packed_status(exp_shape: tuple, exp_dtype: str, a, act: dict) -> bool:
    """Whether stored tensor ``a`` is a packed form of an expected (out, in) weight."""
    es, as_ = tuple(exp_shape), tuple(a.shape)
    if len(es) < 1:
        return False
    n = a.name
    base = n.rsplit(".", 1)[0]
    if a.dtype == "U32" and n.endswith(".weight") and (base + ".scales") in act and len(as_) == len(es):
        sc = act[base + ".scales"]
        if as_[:-1] != es[:-1] or not sc.shape or tuple(sc.shape[:-1]) != es[:-1]:
            return False
        in_f = es[-1]
        if (as_[-1] * 32) % in_f or (as_[-1] * 32) // in_f not in MLX_BITS:
            return False
        return sc.shape[-1] > 0 and in_f % sc.shape[-1] == 0  # one scale per group
    if n.endswith(".weight_packed") and a.dtype in ("I32", "U32") and len(as_) == len(es) == 2:
        return as_[0] == es[0] and any(as_[1] * (32 // b) == es[1] for b in (2, 4, 8))
    if n.endswith(".qweight") and a.dtype in ("I32", "U32") and len(as_) == len(es) == 2:
        out_f, in_f = es
        return (as_ == (in_f * 4 // 32, out_f) or as_ == (in_f, out_f * 4 // 32)
                or any(as_ == (in_f * b // 32, out_f) for b in (2, 3, 8)))
    if a.dtype == "U8" and n.endswith(".weight") and _bnb4(n, act):
        return math.prod(as_) * 2 == math.prod(es)
    if a.dtype == "I8" and n.endswith(".weight") and (base + ".SCB") in act:
        return as_ == es
    return False


def side_of(name: str) -> str | None:
    """The weight a quantization side tensor belongs to (``X.weight``), or None for an ordinary tensor."""
    m = SIDE.search(name)
    if not m:
        return None
    base = name[: m.start()]
    return base if base.endswith(".weight") else base + ".weight"
