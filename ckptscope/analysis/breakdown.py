"""Counts and bytes: per dtype, per component, per layer, per file; total vs active for MoE.

Works on any sequence of tensor records with ``name``, ``dtype``, ``shape`` and ``nbytes`` — the real headers
or an inventory predicted from config.json — so both are summarised the same way.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from typing import Iterable, Protocol

from ..readers.config import ModelConfig
from .classify import (BUFFER, COMPONENTS, EMBEDDING, EXPERTS, LM_HEAD, MTP, POSITION, QUANT, classify,
                       packing_factor)


class TensorLike(Protocol):
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int: ...


def _sorted_dict(d: dict, order=None) -> dict:
    if order:
        return {k: d[k] for k in order if k in d and d[k]}
    return dict(sorted(d.items(), key=lambda kv: -kv[1]))


def _layer_key(layer: str) -> tuple:
    if "." in layer:
        stack, n = layer.split(".", 1)
        return (0 if stack == "encoder" else 1, int(n))
    return (0, int(layer))


def summarize(tensors: Iterable[TensorLike], config: ModelConfig | None, factors: dict | None = None) -> dict:
    """All the counts a Report needs. Parameters are logical (packed weights unpacked); elements are stored.

    ``factors`` (tensor name -> logical parameters per stored element) overrides the name/config rule for packed
    weights whose packing is read off their side tensors' shapes (MLX, see ckptscope.kinds.packed)."""
    p_dtype: dict[str, int] = defaultdict(int)
    e_dtype: dict[str, int] = defaultdict(int)
    b_dtype: dict[str, int] = defaultdict(int)
    p_comp: dict[str, int] = defaultdict(int)
    b_comp: dict[str, int] = defaultdict(int)
    layers: dict[str, dict] = {}
    count = 0
    count_dtype: dict[str, int] = defaultdict(int)
    mtp_params = 0
    mtp_comp: dict[str, int] = defaultdict(int)
    routed_by_layer: dict[str, int] = defaultdict(int)
    experts_seen: dict[str, set] = defaultdict(set)
    largest: list[tuple[int, str, str, tuple]] = []  # a min-heap of the 10 biggest
    pack_cache: dict[tuple[str, str], int] = {}
    packed = 0
    mtp_start = config.num_hidden_layers if config and config.num_nextn_predict_layers else None
    sizes: dict[tuple, int] = {}  #: (dtype, shape) -> elements, computed once per distinct shape
    prod = math.prod
    for t in tensors:
        count += 1
        dt, shape, name = t.dtype, t.shape, t.name
        numel = sizes.get((dt, shape))
        if numel is None:
            numel = sizes[(dt, shape)] = prod(shape)
        nb = t.nbytes
        pl = classify(name, config, mtp_start)
        key = (name[name.rfind("."):], dt)
        f = factors.get(name) if factors else None
        if f is None:
            f = pack_cache.get(key)
        if f is None:
            f = pack_cache[key] = packing_factor(name, dt, config)
        params = numel * f if type(f) is int else int(numel * f)  # MLX 3/5/6-bit: 32/bits is a fraction
        if f != 1:
            packed += params
        e_dtype[dt] += numel
        p_dtype[dt] += params
        b_dtype[dt] += nb
        count_dtype[dt] += 1
        comp = pl.component
        p_comp[comp] += params
        b_comp[comp] += nb
        if pl.is_mtp:
            if comp != QUANT:
                mtp_params += params
                mtp_comp[_mtp_sub(name)] += params
        layer = pl.layer
        if comp == EXPERTS and not pl.is_mtp:
            routed_by_layer[layer or "?"] += params
            if pl.expert is not None:
                experts_seen[layer or "?"].add(pl.expert)
        if layer is not None:
            L = layers.get(layer)
            if L is None:
                L = layers[layer] = {"layer": layer, "parameters": 0, "bytes": 0, "tensors": 0,
                                     "components": defaultdict(int), "mtp": pl.is_mtp}
            L["parameters"] += params
            L["bytes"] += nb
            L["tensors"] += 1
            L["components"][comp] += params
        if len(largest) < 10:
            heapq.heappush(largest, (nb, name, dt, tuple(shape)))
        elif nb > largest[0][0]:
            heapq.heapreplace(largest, (nb, name, dt, tuple(shape)))

    total = sum(p_dtype.values())
    quant = p_comp.get(QUANT, 0)
    buffers = p_comp.get(BUFFER, 0)
    weights = total - quant - buffers
    by_layer = []
    for key in sorted(layers, key=_layer_key):
        L = layers[key]
        L["components"] = _sorted_dict(dict(L["components"]), COMPONENTS)
        by_layer.append(L)
    dense_layers = sum(1 for L in by_layer if not L["mtp"] and EXPERTS not in L["components"])
    moe_layers = sum(1 for L in by_layer if not L["mtp"] and EXPERTS in L["components"])
    params = {
        "total": total,
        "weights": weights,
        "by_dtype": _sorted_dict(dict(p_dtype)),
        "by_component": _sorted_dict(dict(p_comp), COMPONENTS),
        "stored_elements": {"total": sum(e_dtype.values()), "by_dtype": _sorted_dict(dict(e_dtype))},
        "quant_side_elements": quant,
        "buffer_elements": buffers,
        "packed_logical": packed,
        "main": weights - mtp_params,
        "mtp": mtp_params,
        "embedding": p_comp.get(EMBEDDING, 0) + p_comp.get(POSITION, 0),
        "lm_head": p_comp.get(LM_HEAD, 0),
        "layers": {"dense": dense_layers, "moe": moe_layers, "mtp": sum(1 for L in by_layer if L["mtp"])},
    }
    routed = sum(routed_by_layer.values())
    if routed and config and config.num_experts and config.num_experts_per_tok:
        E, k = config.num_experts, config.num_experts_per_tok
        active = weights - mtp_params - routed + routed * k // E
        emb = params["embedding"]
        params["active"] = {
            "total": active,
            "non_embedding": active - emb - params["lm_head"],
            "routed_experts_total": routed,
            "routed_experts_active": routed * k // E,
            "experts": E,
            "experts_per_token": k,
            "note": ("active = all non-expert weights (embedding and LM head included) + top-k of the routed "
                     "experts in each MoE layer; MTP layers excluded"),
        }
    tensors_out = {
        "count": count,
        "by_dtype": _sorted_dict(dict(count_dtype)),
        "largest": [{"name": n, "dtype": d, "shape": list(s), "bytes": b} for b, n, d, s in sorted(largest, reverse=True)],
    }
    if mtp_params:
        params["mtp_by_component"] = _sorted_dict(dict(mtp_comp))
    return {
        "parameters": params,
        "bytes": {"total": sum(b_dtype.values()), "by_dtype": _sorted_dict(dict(b_dtype)),
                  "by_component": _sorted_dict(dict(b_comp), COMPONENTS)},
        "tensors": tensors_out,
        "by_layer": by_layer,
    }


def _mtp_sub(name: str) -> str:
    """Component inside an MTP layer (its own embedding copy, attention, experts, head...)."""
    from .classify import component_of

    c = component_of(name)
    return c if c != MTP else "other"
