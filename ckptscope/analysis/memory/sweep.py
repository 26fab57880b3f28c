"""The memory plan at several context lengths, for the HTML report's context selector.

``sweep_contexts(requested, max_position)`` picks the lengths (powers of two from 1,024 up to the model's
``max_position_embeddings``, plus the requested one); ``context_sweep(plan_fn, options, contexts)`` runs the
planner once per length and keeps, for each, the per-GPU figures of every set-up (the checkpoint as stored, each
quantized scheme, training) with their fit against the GPUs. Every figure is the planner's own: nothing here
computes memory, it only calls ``plan`` with another ``context``.
"""

from __future__ import annotations

import dataclasses

MAX_POINTS = 10


def sweep_contexts(requested: int | None, max_position: int | None) -> list[int]:
    top = max(x for x in (requested, max_position, 4096) if x)
    pts = []
    c = 1024
    while c <= top and c <= (max_position or top):
        pts.append(c)
        c *= 2
    if len(pts) > MAX_POINTS - 2:  # keep the ends, thin the middle
        step = -(-len(pts) // (MAX_POINTS - 2))
        pts = pts[::step] + [pts[-1]]
    pts = set(pts)
    for extra in (requested, max_position):
        if extra:
            pts.add(int(extra))
    return sorted(pts)


def _setups(res: dict) -> list[dict]:
    inf = res.get("inference") or {}
    per = dict(inf.get("per_gpu") or {})
    out = [{"setup": "as stored", "per_gpu": per, **_fit(inf)}]
    for name, q in (inf.get("quantized") or {}).items():
        if not isinstance(q, dict):
            continue
        qp = q.get("per_gpu")
        if not isinstance(qp, dict):  # planner rows give the weights and the total; the rest is the same cache/overhead
            qp = {k: v for k, v in per.items() if k != "total"}
            qp["weights"] = q.get("weights_per_gpu")
            qp["total"] = q.get("total_per_gpu")
        out.append({"setup": f"{name} weights", "per_gpu": qp, **_fit(q)})
    tr = res.get("training")
    if isinstance(tr, dict) and isinstance(tr.get("per_gpu"), dict):
        out.append({"setup": f"training ({tr.get('mode', '?')})", "per_gpu": dict(tr["per_gpu"]), **_fit(tr)})
    return out


def _fit(d: dict) -> dict:
    return {k: d[k] for k in ("fits", "headroom", "capacity_per_gpu") if k in d}


def context_sweep(plan_fn, options, contexts: list[int]) -> dict:
    """``{"contexts": [...], "points": [{"context": n, "kv_cache_bytes": ..., "setups": [...]}, ...]}``."""
    points = []
    for n in contexts:
        res = plan_fn(dataclasses.replace(options, context=n))
        kv = res.get("kv_cache") or {}
        points.append({"context": n, "kv_cache_bytes": kv.get("bytes"), "setups": _setups(res)})
    return {"contexts": contexts, "points": points,
            "note": "the planner run once per context length with every other option unchanged"}
