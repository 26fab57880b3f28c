"""Expected inventory vs real headers, tensor by tensor."""

from __future__ import annotations

import re
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
    quirk: str | None = None  #: the known checkpoint quirk that explains an unexpected tensor

    def to_dict(self) -> dict:
        d = {"status": self.status, "name": self.name}
        if self.expected_shape is not None:
            d["expected_shape"] = list(self.expected_shape)
            d["expected_dtype"] = self.expected_dtype
        if self.actual_shape is not None:
            d["actual_shape"] = list(self.actual_shape)
            d["actual_dtype"] = self.actual_dtype
        if self.quirk:
            d["quirk"] = self.quirk
        return d

    def describe(self) -> str:
        e = f"{self.expected_dtype} {list(self.expected_shape)}" if self.expected_shape is not None else ""
        a = f"{self.actual_dtype} {list(self.actual_shape)}" if self.actual_shape is not None else ""
        if self.status == "missing":
            return f"{self.name}: expected {e}, not in the headers"
        if self.status == "unexpected":
            return f"{self.name}: {a} in the headers, not expected from config.json"
        return f"{self.name}: expected {e}, headers have {a}"


#: Known checkpoint quirks a config.json cannot show: (kind, test on an unexpected tensor name, explanation)
QUIRKS = (
    ("stored_tied_head", re.compile(r"^(?:language_model\.)?(lm_head|output|embed_out)\.weight$"
                                    # encoders' tied decoders (BERT, RoBERTa/MPNet, DistilBERT, ELECTRA, ModernBERT)
                                    r"|^(?:cls\.predictions\.decoder|lm_head\.decoder)\.(?:weight|bias)$"
                                    r"|^(?:vocab_projector|generator_lm_head|decoder)\.weight$"),
     "the head is stored although config.json says the embeddings are tied (loaders tie it and ignore the copy)"),
    ("persisted_buffer", re.compile(r"(rotary_emb\.inv_freq|\.inv_freq|position_ids|\.attn\.(masked_)?bias"
                                     r"|\.attention\.(masked_)?bias)$"),
     "a buffer (rotary inv_freq, position ids, causal mask) saved by an older transformers; not a parameter"),
    ("scale_tensors", re.compile(r"(_scale_inv|_scale|_scales|\.scales|\.qzeros|\.g_idx|\.absmax|zero_point)$"),
     "quantization scale / zero-point tensors the config's quantization_config does not describe"),
)


def _quirks(items) -> list[dict]:
    out: dict[str, dict] = {}
    for it in items:
        if it.status != "unexpected":
            continue
        for kind, pat, why in QUIRKS:
            if pat.search(it.name):
                q = out.setdefault(kind, {"kind": kind, "explanation": why, "count": 0, "examples": []})
                q["count"] += 1
                if len(q["examples"]) < 3:
                    q["examples"].append(it.name)
                it.quirk = kind
                break
    return list(out.values())


@dataclass
class Reconciliation:
    items: list[ReconItem]  #: the tensors that differ (every status but "exact"), in expected order
    counts: dict[str, int] = field(default_factory=dict)
    exact: bool = False
    quirks: list[dict] = field(default_factory=list)  #: unexpected tensors explained by a known checkpoint quirk

    @property
    def exact_but_quirks(self) -> bool:
        """Every tensor matches, apart from unexpected tensors that are all known quirks."""
        return not self.exact and bool(self.items) and all(i.status == "unexpected" and i.quirk
                                                           for i in self.items)

    @property
    def total(self) -> int:
        """Tensors compared: expected ones plus unexpected real ones."""
        return sum(self.counts.values())

    def problems(self) -> list[ReconItem]:
        return self.items

    def to_dict(self, limit: int = 50) -> dict:
        probs = self.problems()
        return {"exact": self.exact, "counts": dict(self.counts), "quirks": self.quirks,
                "exact_but_quirks": self.exact_but_quirks,
                "differences": [p.to_dict() for p in probs[:limit]],
                "differences_omitted": max(0, len(probs) - limit)}


def _by_name(records: list) -> dict:
    """name -> (dtype, shape as a tuple), built by C-level passes (the common case: shapes are tuples already)."""
    shapes = [r.shape for r in records]
    if not all(type(sh) is tuple for sh in shapes):
        shapes = [tuple(sh) for sh in shapes]
    return dict(zip([r.name for r in records], zip([r.dtype for r in records], shapes)))


def reconcile(expected: Iterable, actual: Iterable) -> Reconciliation:
    """Match every real tensor to an expected one by name; compare shape and dtype.

    ``expected`` and ``actual`` are sequences of objects with ``name``, ``dtype`` and ``shape``. A tensor whose
    shape and dtype both differ counts as a shape mismatch. Two dictionaries compared in one C-level step decide
    the common case (everything matches); only a checkpoint that differs is walked tensor by tensor.
    """
    actual = actual if isinstance(actual, list) else list(actual)
    expected = expected if isinstance(expected, list) else list(expected)
    exp = _by_name(expected)
    act = _by_name(actual)
    counts = {s: 0 for s in STATUSES}
    if exp == act:
        counts["exact"] = len(exp)
        return Reconciliation([], counts, bool(exp))
    from ...kinds.packed import packed_status, side_of, stored_for

    objs = {a.name: a for a in actual}
    packed: set[str] = set()  #: expected weights stored packed (MLX, GPTQ/AWQ, compressed-tensors, bitsandbytes)
    consumed: set[str] = set()  #: stored names that hold a packed expected weight (X.qweight, X.weight_packed)
    items: list[ReconItem] = []
    for name, (ed, es) in exp.items():
        a = act.get(name)
        if a is None:
            alt = stored_for(name, objs)
            if alt is not None and packed_status(es, ed, alt, objs):
                packed.add(name)
                consumed.add(alt.name)
                continue
            items.append(ReconItem("missing", name, es, None, ed, None))
        elif (a[1] != es or a[0] != ed) and packed_status(es, ed, objs[name], objs):
            packed.add(name)
        elif a[1] != es:
            items.append(ReconItem("shape_mismatch", name, es, a[1], ed, a[0]))
        elif a[0] != ed:
            items.append(ReconItem("dtype_mismatch", name, es, a[1], ed, a[0]))
        else:
            counts["exact"] += 1
    for name, (ad, as_) in act.items():
        if name not in exp and name not in consumed:
            if packed and side_of(name) in packed:
                continue  # a quantization side tensor of a packed weight (scales, biases, absmax...)
            items.append(ReconItem("unexpected", name, None, as_, None, ad))
    counts["packed"] = len(packed)
    for it in items:
        counts[it.status] += 1
    if not counts["packed"]:
        del counts["packed"]
    exact = not items and counts["exact"] + counts.get("packed", 0) > 0
    return Reconciliation(items, counts, exact, _quirks(items) if not exact else [])
