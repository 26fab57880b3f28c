"""Where the bytes sit, folded for a picture: component -> layer kind -> tensor pattern.

``layout_section(tensors, config, basis=..., source_kind=...)`` returns the ``layout`` section of a Report (the
HTML report draws its treemap and per-layer bars from it; ``inspect --layout --json`` prints it):

- one entry per component (the same classification, parameter and byte counts as ``parameters.by_component`` /
  ``bytes.by_component``);
- inside it, *layer kinds*: layers whose tensors of that component are identical (same names after the layer
  number, dtypes and shapes) are folded into one group with their count and layer list ("layers 3-60, x58");
  tensors outside the layer stacks form one group of their own;
- inside a group, tensor *patterns*: names with every index replaced by ``*`` (``model.layers.*.mlp.experts.*.
  down_proj.weight``), with dtype, shape, how many tensors share it, parameters and bytes. At most
  ``MAX_PATTERNS`` per group; the rest are summed into ``omitted`` so the group totals stay exact.

It is computed from the same tensor records and the same ``classify``/``packing_factor`` rules as the breakdown,
so every sum equals the report's own figures. Bounded output: a few hundred entries even for 92k tensors.
"""

from __future__ import annotations

import math
import re

from .classify import COMPONENT_LABELS, COMPONENTS, EXPERTS, classify, packing_factor

MAX_PATTERNS = 12  #: tensor patterns listed per layer-kind group (the rest are summed as "omitted")

_NUM = re.compile(r"\.\d+(?=\.|$)")
_LEAD = re.compile(r"^\d+(?=\.)")


def pattern(name: str) -> str:
    """The name with every numeric path segment replaced by ``*`` (layer, expert, block indices)."""
    p = _NUM.sub(".*", name)
    return _LEAD.sub("*", p) if p[:1].isdigit() else p


def _layer_sort_key(layer: str) -> tuple:
    if "." in layer:
        stack, n = layer.split(".", 1)
        return (0 if stack == "encoder" else 1, stack, int(n) if n.isdigit() else 0)
    return (0, "", int(layer) if layer.isdigit() else 0)


def compact_ranges(layers: list[str]) -> str:
    """``["0","1","2","5"]`` -> ``"0-2, 5"``; encoder/decoder keys keep their stack prefix."""
    out: list[str] = []
    run: list = []  # [prefix, start, end]
    for key in sorted(layers, key=_layer_sort_key):
        prefix, _, num = key.rpartition(".")
        if not num.isdigit():
            out.append(key)
            continue
        n = int(num)
        if run and run[0] == prefix and n == run[2] + 1:
            run[2] = n
            continue
        if run:
            out.append(_fmt_run(run))
        run = [prefix, n, n]
    if run:
        out.append(_fmt_run(run))
    return ", ".join(out)


def _fmt_run(run: list) -> str:
    prefix, a, b = run
    p = f"{prefix}." if prefix else ""
    return f"{p}{a}" if a == b else f"{p}{a}\u2013{b}"


def layer_kind(components: dict, mtp: bool) -> str:
    """The kind the text output prints for a layer: ``MTP``, ``MoE`` or ``dense``."""
    return "MTP" if mtp else ("MoE" if EXPERTS in components else "dense")


def provenance(basis: str, source_kind: str | None) -> str:
    """Where the tensor list came from: ``read`` (headers), ``predicted`` (config.json) or ``catalog``."""
    if basis == "config":
        return "predicted"
    if source_kind == "catalog":
        return "catalog"
    return "read"


def layout_section(tensors, config, *, basis: str = "headers", source_kind: str | None = None) -> dict:
    mtp_start = config.num_hidden_layers if config is not None and config.num_nextn_predict_layers else None
    # (component, layer or None) -> {(pattern, dtype, shape): [tensors, parameters, bytes]}
    cells: dict[tuple[str, str | None], dict[tuple, list]] = {}
    layer_comps: dict[str, set] = {}
    layer_mtp: dict[str, bool] = {}
    pack: dict[tuple[str, str], int] = {}
    nsub = _NUM.sub
    for t in tensors:
        name = t.name
        pl = classify(name, config, mtp_start)
        pat = nsub(".*", name)
        if pat[:1].isdigit():
            pat = _LEAD.sub("*", pat)
        shape = tuple(t.shape)
        numel = math.prod(shape)
        key = (name[name.rfind("."):], t.dtype)
        f = pack.get(key)
        if f is None:
            f = pack[key] = packing_factor(name, t.dtype, config)
        cell = cells.setdefault((pl.component, pl.layer), {})
        acc = cell.get((pat, t.dtype, shape))
        if acc is None:
            acc = cell[(pat, t.dtype, shape)] = [0, 0, 0]
        acc[0] += 1
        acc[1] += numel * f
        acc[2] += t.nbytes
        if pl.layer is not None:
            layer_comps.setdefault(pl.layer, set()).add(pl.component)
            layer_mtp[pl.layer] = layer_mtp.get(pl.layer, False) or pl.is_mtp
    kinds = {L: layer_kind(layer_comps[L], layer_mtp[L]) for L in sorted(layer_comps, key=_layer_sort_key)}

    comps: dict[str, dict] = {}
    for (comp, layer), cell in cells.items():
        c = comps.setdefault(comp, {"component": comp, "label": COMPONENT_LABELS.get(comp, comp),
                                    "parameters": 0, "bytes": 0, "tensors": 0, "_groups": {}})
        sig = tuple(sorted((k[0], k[1], k[2], v[0]) for k, v in cell.items())) if layer is not None else None
        g = c["_groups"].setdefault(sig, {"layers": [], "cells": {}})
        g["layers"].append(layer)
        for k, v in cell.items():
            acc = g["cells"].setdefault(k, [0, 0, 0])
            acc[0] += v[0]
            acc[1] += v[1]
            acc[2] += v[2]
            c["tensors"] += v[0]
            c["parameters"] += v[1]
            c["bytes"] += v[2]

    out = []
    for comp in sorted(comps, key=lambda k: (COMPONENTS.index(k) if k in COMPONENTS else len(COMPONENTS), k)):
        c = comps.pop(comp)
        groups = []
        for sig, g in c.pop("_groups").items():
            groups.append(_group(sig, g, kinds))
        groups.sort(key=lambda g: (-g["bytes"], -g["parameters"], g["layers"]))
        c["groups"] = groups
        out.append(c)
    return {
        "label": "Layout",
        "source": provenance(basis, source_kind),
        "components": out,
        "layer_kinds": kinds,
        "max_patterns": MAX_PATTERNS,
        "note": ("identical layers are folded into one group per component (same tensor names after the layer "
                 "number, dtypes and shapes); tensor names with every index replaced by *"),
    }


def _group(sig, g: dict, kinds: dict[str, str]) -> dict:
    layers = [L for L in g["layers"] if L is not None]
    items = sorted(g["cells"].items(), key=lambda kv: (-kv[1][2], -kv[1][1], kv[0][0]))
    pats = [{"name": k[0], "dtype": k[1], "shape": list(k[2]), "count": v[0], "parameters": v[1], "bytes": v[2]}
            for k, v in items[:MAX_PATTERNS]]
    rest = items[MAX_PATTERNS:]
    d = {
        "kind": (("/".join(sorted({kinds.get(L, "?") for L in layers})) if layers else "outside layers")),
        "layers": compact_ranges(layers) if layers else "",
        "count": len(layers) if layers else 1,
        "tensors": sum(v[0] for _, v in items),
        "parameters": sum(v[1] for _, v in items),
        "bytes": sum(v[2] for _, v in items),
        "patterns": pats,
    }
    if rest:
        d["omitted"] = {"patterns": len(rest), "tensors": sum(v[0] for _, v in rest),
                        "parameters": sum(v[1] for _, v in rest), "bytes": sum(v[2] for _, v in rest)}
    return d


def add_layout(ck, report) -> None:
    """Add ``sections["layout"]`` to an inspect Report (the tensors it counted: headers, or the prediction)."""
    tensors = ck.tensors if ck.has_weights else None
    if tensors is None:
        tensors = []
        if ck.config is not None:
            try:
                from .arch import predict_inventory

                tensors = predict_inventory(ck.config) or []
            except ImportError:
                tensors = []
    report.sections["layout"] = layout_section(tensors, ck.config, basis=report.basis,
                                               source_kind=report.source.get("kind"))
