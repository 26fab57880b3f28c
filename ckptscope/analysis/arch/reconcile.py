"""Expected inventory vs real headers, tensor by tensor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

STATUSES = ("exact", "shape_mismatch", "dtype_mismatch", "unexpected", "missing", "packed")


@dataclass
class ReconItem:
    status: str  #: one of STATUSES
    name: str
    expected_shape: tuple[int, ...] | None = None
    actual_shape: tuple[int, ...] | None = None
    expected_dtype: str | None = None
    actual_dtype: str | None = None

    def to_dict(self) -> dict:
        d = {"status": self.status, "name": self.name}
        if self.expected_shape is not None:
            d["expected_shape"] = list(self.expected_shape)
            d["expected_dtype"] = self.expected_dtype
        if self.actual_shape is not None:
            d["actual_shape"] = list(self.actual_shape)
            d["actual_dtype"] = self.actual_dtype
        return d

    def describe(self) -> str:
        e = f"{self.expected_dtype} {list(self.expected_shape)}" if self.expected_shape is not None else ""
        a = f"{self.actual_dtype} {list(self.actual_shape)}" if self.actual_shape is not None else ""
        if self.status == "missing":
            return f"{self.name}: expected {e}, not in the headers"
        if self.status == "unexpected":
            return f"{self.name}: {a} in the headers, not expected from config.json"
        return f"{self.name}: expected {e}, headers have {a}"


@dataclass
class Reconciliation:
    items: list[ReconItem]
    counts: dict[str, int] = field(default_factory=dict)
    exact: bool = False

    def problems(self) -> list[ReconItem]:
        return [i for i in self.items if i.status not in ("exact", "packed")]

    def to_dict(self, limit: int = 50) -> dict:
        probs = self.problems()
        return {"exact": self.exact, "counts": dict(self.counts),
                "differences": [p.to_dict() for p in probs[:limit]],
                "differences_omitted": max(0, len(probs) - limit)}


def reconcile(expected: Iterable, actual: Iterable) -> Reconciliation:
    """Match every real tensor to an expected one by name; compare shape and dtype.

    ``expected`` and ``actual`` are sequences of objects with ``name``, ``dtype`` and ``shape``. A tensor whose
    shape and dtype both differ counts as a shape mismatch.
    """
    from ...kinds.packed import packed_status, side_of, stored_for

    act = {}
    for t in actual:
        act[t.name] = t
    items: list[ReconItem] = []
    seen = set()
    packed: set[str] = set()  #: expected weights stored packed (MLX, GPTQ/AWQ, compressed-tensors, bitsandbytes)
    for e in expected:
        seen.add(e.name)
        a = act.get(e.name)
        es = tuple(e.shape)
        if a is None:
            a = stored_for(e.name, act)
            if a is not None and packed_status(es, e.dtype, a, act):
                seen.add(a.name)
                packed.add(e.name)
                items.append(ReconItem("packed", e.name, es, tuple(a.shape), e.dtype, a.dtype))
                continue
            items.append(ReconItem("missing", e.name, es, None, e.dtype, None))
            continue
        as_ = tuple(a.shape)
        st = "exact" if (es == as_ and e.dtype == a.dtype) else ("shape_mismatch" if es != as_ else "dtype_mismatch")
        if st != "exact" and packed_status(es, e.dtype, a, act):
            st = "packed"
            packed.add(e.name)
        items.append(ReconItem(st, e.name, es, as_, e.dtype, a.dtype))
    for name, a in act.items():
        if name not in seen:
            if packed and side_of(name) in packed:
                continue  # a quantization side tensor of a packed weight (scales, biases, absmax...)
            items.append(ReconItem("unexpected", name, None, tuple(a.shape), None, a.dtype))
    counts = {s: 0 for s in STATUSES}
    for it in items:
        counts[it.status] += 1
    if not counts["packed"]:
        del counts["packed"]
    exact = bool(items) and counts["exact"] + counts.get("packed", 0) == len(items)
    return Reconciliation(items, counts, exact)
