"""Counts and bytes: per dtype, per component, per layer, per file; total vs active for MoE.

Works on any sequence of tensor records with ``name``, ``dtype``, ``shape`` and ``nbytes`` — the real headers
or an inventory predicted from config.json — so both are summarised the same way.
"""

from __future__ import annotations

import heapq
import math
import operator
from collections import Counter, defaultdict
from itertools import repeat
from typing import Iterable, Protocol

from ..readers.config import ModelConfig
from .classify import (BUFFER, COMPONENTS, EMBEDDING, EXPERTS, LM_HEAD, MTP, POSITION, QUANT, SPEECH, classify_many,
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


_PACKABLE = frozenset({"I32", "U32", "I8", "U8"})  #: packing_factor is 1 for every other stored dtype
_FACTS = operator.attrgetter("layer", "component", "base", "is_mtp")  #: what the sums below need of a placement


def summarize(tensors: Iterable[TensorLike], config: ModelConfig | None, factors: dict | None = None) -> dict:
    """All the counts a Report needs. Parameters are logical (packed weights unpacked); elements are stored.

    ``factors`` (tensor name -> logical parameters per stored element) overrides the name/config rule for packed
    weights whose packing is read off their side tensors' shapes (MLX, see ckptscope.kinds.packed).

    The tensors are counted by (layer, component, dtype, shape, packing factor) in C-level passes (list
    comprehensions and a Counter over zipped columns); a 100k-tensor checkpoint has a few thousand such groups, and
    every sum below is taken once per group.
    """
    tensors = tensors if isinstance(tensors, list) else list(tensors)
    mtp_start = config.num_hidden_layers if config and config.num_nextn_predict_layers else None
    names = [t.name for t in tensors]
    dts = [t.dtype for t in tensors]
    shapes = [t.shape for t in tensors]
    facts = list(map(_FACTS, classify_many(names, config, mtp_start)))
    if factors or not _PACKABLE.isdisjoint(dts):
        pack_cache: dict[tuple[str, str], int] = {}
        fs = []
        for name, dt in zip(names, dts):
            f = factors.get(name) if factors else None
            if f is None and dt in _PACKABLE:
                key = (name[name.rfind("."):], dt)
                f = pack_cache.get(key)
                if f is None:
                    f = pack_cache[key] = packing_factor(name, dt, config)
            fs.append(1 if f is None else f)
    else:
        fs = repeat(1)
    groups = Counter(zip(facts, dts, shapes, fs))
    nbytes1: dict[tuple, int] = {}  #: (dtype, shape) -> bytes of one tensor (one dtype and shape: one size)
    wanted = len(set(zip(dts, shapes)))
    for t in tensors:
        k = (t.dtype, t.shape)
        if k not in nbytes1:
            nbytes1[k] = t.nbytes
            if len(nbytes1) == wanted:
                break

    p_dtype: dict[str, int] = defaultdict(int)
    e_dtype: dict[str, int] = defaultdict(int)
    b_dtype: dict[str, int] = defaultdict(int)
    p_comp: dict[str, int] = defaultdict(int)
    b_comp: dict[str, int] = defaultdict(int)
    layers: dict[str, dict] = {}
    count = len(tensors)
    count_dtype: dict[str, int] = defaultdict(int)
    mtp_params = 0
    mtp_comp: dict[str, int] = defaultdict(int)
    routed = 0
    packed = 0
    prod = math.prod
    for ((layer, comp, base, is_mtp), dt, shape, f), n in groups.items():
        numel = prod(shape)
        each = numel * f if type(f) is int else int(numel * f)  # MLX 3/5/6-bit: 32/bits is a fraction
        params = each * n
        nb = nbytes1[(dt, shape)] * n
        if f != 1:
            packed += params
        e_dtype[dt] += numel * n
        p_dtype[dt] += params
        b_dtype[dt] += nb
        count_dtype[dt] += n
        p_comp[comp] += params
        b_comp[comp] += nb
        if is_mtp and comp != QUANT:
            mtp_params += params
            sub = base or comp
            mtp_comp[sub if sub != MTP else "other"] += params
        if comp == EXPERTS and not is_mtp:
            routed += params
        if layer is not None:
            L = layers.get(layer)
            if L is None:
                L = layers[layer] = {"layer": layer, "parameters": 0, "bytes": 0, "tensors": 0,
                                     "components": defaultdict(int), "mtp": is_mtp}
            L["parameters"] += params
            L["bytes"] += nb
            L["tensors"] += n
            L["components"][comp] += params
    largest = _largest(tensors, nbytes1)

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
    if routed and config and config.num_experts and config.num_experts_per_tok:
        E, k = config.num_experts, config.num_experts_per_tok
        speech = p_comp.get(SPEECH, 0)  # an omni model's talker + vocoder: run per audio frame, not per token
        active = weights - mtp_params - routed + routed * k // E - speech
        emb = params["embedding"]
        params["active"] = {
            "total": active,
            "non_embedding": active - emb - params["lm_head"],
            "routed_experts_total": routed,
            "routed_experts_active": routed * k // E,
            "experts": E,
            "experts_per_token": k,
            "note": ("active = all non-expert weights (embedding and LM head included) + top-k of the routed "
                     "experts in each MoE layer; MTP layers excluded"
                     + ("; the speech generator (talker + vocoder) excluded" if speech else "")),
        }
    tensors_out = {
        "count": count,
        "by_dtype": _sorted_dict(dict(count_dtype)),
        "largest": largest,
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


def _largest(tensors: list, nbytes1: dict, n: int = 10) -> list[dict]:
    """The ``n`` largest tensors by bytes (ties by name). Only tensors at least as big as the n-th largest distinct
    size are looked at (a cut that keeps every candidate: fewer than n distinct sizes lie above it)."""
    sizes = sorted(set(nbytes1.values()), reverse=True)
    thr = sizes[min(n, len(sizes)) - 1] if sizes else 0
    top = heapq.nsmallest(n, (t for t in tensors if t.nbytes >= thr), key=lambda t: (-t.nbytes, t.name))
    return [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape), "bytes": t.nbytes} for t in top]
