"""What changed between two checkpoints: tensors, parameter and byte deltas, config.json fields, tokenizer and
quantization. Pure computation on two (Checkpoint, Report) pairs; the result is plain data (lists and dicts) that
the formatters in ``format/diff.py`` draw and ``--json`` prints as is. Unchanged things are not listed.

Every section compares only what both sides read: when one side has no safetensors headers, the tensor lists are
not compared (and the section says so) while the totals are still compared with each side's basis stated.
"""

from __future__ import annotations

from typing import Any

DIFF_SCHEMA_VERSION = 1


def _side(ck, report) -> dict:
    s = report.source
    return {"name": s.get("name"), "kind": s.get("kind"), "revision": s.get("revision"), "basis": report.basis,
            "requests": s.get("requests"), "bytes_read": s.get("bytes_read")}


# ----------------------------------------------------------------------------------------------- tensors

def _tensor_entry(t, config) -> dict:
    from .classify import classify

    return {"name": t.name, "dtype": t.dtype, "shape": list(t.shape), "component": classify(t.name, config).component,
            "file": t.file}


def diff_tensors(a, b) -> dict:
    """Tensors added (in B only), removed (in A only) and changed (dtype or shape), by name, sorted by name."""
    if not a.has_weights or not b.has_weights:
        missing = [n for n, ck in (("A", a), ("B", b)) if not ck.has_weights]
        return {"compared": False, "added": [], "removed": [], "changed": [],
                "note": f"{' and '.join(missing)} {'has' if len(missing) == 1 else 'have'} no safetensors headers: "
                        "tensor lists not compared"}
    ta, tb = a.tensor_map(), b.tensor_map()
    added = [_tensor_entry(tb[n], b.config) for n in sorted(tb.keys() - ta.keys())]
    removed = [_tensor_entry(ta[n], a.config) for n in sorted(ta.keys() - tb.keys())]
    changed = []
    for n in sorted(ta.keys() & tb.keys()):
        x, y = ta[n], tb[n]
        what = [k for k, u, v in (("dtype", x.dtype, y.dtype), ("shape", tuple(x.shape), tuple(y.shape))) if u != v]
        if what:
            changed.append({"name": n, "changes": what, "a": {"dtype": x.dtype, "shape": list(x.shape)},
                            "b": {"dtype": y.dtype, "shape": list(y.shape)},
                            "component": _tensor_entry(y, b.config)["component"]})
    return {"compared": True, "count": {"a": len(ta), "b": len(tb)}, "added": added, "removed": removed,
            "changed": changed}


# ----------------------------------------------------------------------------------------------- totals

def _delta(x: int | None, y: int | None) -> dict:
    return {"a": x, "b": y, "delta": (y - x) if x is not None and y is not None else None}


def _by_key(da: dict | None, db: dict | None) -> dict:
    da, db = da or {}, db or {}
    out = {}
    for k in sorted(da.keys() | db.keys()):
        x, y = da.get(k, 0), db.get(k, 0)
        if x != y:
            out[k] = _delta(x, y)
    return out


def diff_totals(ra, rb) -> dict:
    """Parameters and tensor-data bytes: totals, by component and by dtype (only the keys that moved)."""
    pa, pb, ba, bb = ra.parameters, rb.parameters, ra.bytes, rb.bytes
    return {
        "basis": {"a": ra.basis, "b": rb.basis},
        "parameters": {"total": _delta(pa.get("total"), pb.get("total")),
                       "by_component": _by_key(pa.get("by_component"), pb.get("by_component")),
                       "by_dtype": _by_key(pa.get("by_dtype"), pb.get("by_dtype"))},
        "bytes": {"total": _delta(ba.get("total"), bb.get("total")),
                  "by_component": _by_key(ba.get("by_component"), bb.get("by_component")),
                  "by_dtype": _by_key(ba.get("by_dtype"), bb.get("by_dtype"))},
    }


# ----------------------------------------------------------------------------------------------- config

_MISSING = object()


def _explained(config) -> dict[str, dict]:
    if config is None:
        return {}
    from .arch.fields import explain_config

    return {e["field"]: e for e in explain_config(config)}


def diff_config(a, b) -> dict:
    """config.json fields added, removed or changed, each with its meaning and what it implies on each side
    (the descriptions `ckptscope explain` prints)."""
    if a.config is None and b.config is None:
        return {"compared": False, "fields": [], "note": "no config.json on either side"}
    ea, eb = _explained(a.config), _explained(b.config)
    fields = []
    for key in list(ea) + [k for k in eb if k not in ea]:
        x, y = ea.get(key), eb.get(key)
        va = x["value"] if x else _MISSING
        vb = y["value"] if y else _MISSING
        if va == vb and type(va) is type(vb):
            continue
        e = y or x
        ent: dict[str, Any] = {"field": key, "change": "added" if x is None else "removed" if y is None else "changed",
                               "meaning": e["meaning"]}
        if x is not None:
            ent["a"] = va
            ent["implies_a"] = x["implies"]
        if y is not None:
            ent["b"] = vb
            ent["implies_b"] = y["implies"]
        fields.append(ent)
    out: dict[str, Any] = {"compared": True, "fields": fields,
                           "file": (b.config or a.config).file}  #: config.json, or e.g. "x.gguf (GGUF metadata)"
    if a.config is None or b.config is None:
        out["note"] = f"no config.json in {'A' if a.config is None else 'B'}"
    return out


# ----------------------------------------------------------------------------------------------- tokenizer

def diff_tokenizer(a, b) -> dict:
    """Vocabulary size, highest id, added tokens (by id and content) and special tokens."""
    ta, tb = a.tokenizer, b.tokenizer
    if ta is None and tb is None:
        return {"compared": False, "changes": []}
    if ta is None or tb is None:
        return {"compared": False, "changes": [{"what": "tokenizer", "a": ta.source if ta else None,
                                               "b": tb.source if tb else None}],
                "note": f"no tokenizer read in {'A' if ta is None else 'B'}"}
    changes = []
    for key in ("model_type", "vocab_size", "base_vocab_size", "max_id", "num_merges"):
        x, y = getattr(ta, key), getattr(tb, key)
        if x != y:
            changes.append({"what": key, "a": x, "b": y})
    at = {(d.get("id"), d.get("content")): d for d in ta.added_tokens}
    bt = {(d.get("id"), d.get("content")): d for d in tb.added_tokens}
    added = [{"id": k[0], "content": k[1], "special": bool(bt[k].get("special"))}
             for k in sorted(bt.keys() - at.keys(), key=_tok_key)]
    removed = [{"id": k[0], "content": k[1], "special": bool(at[k].get("special"))}
               for k in sorted(at.keys() - bt.keys(), key=_tok_key)]
    special = []
    for role in sorted(ta.special_tokens.keys() | tb.special_tokens.keys()):
        x = (ta.special_tokens.get(role), ta.special_token_ids.get(role))
        y = (tb.special_tokens.get(role), tb.special_token_ids.get(role))
        if x != y:
            special.append({"role": role, "a": x[0], "a_id": x[1], "b": y[0], "b_id": y[1]})
    return {"compared": True, "changes": changes, "added_tokens": {"added": added, "removed": removed},
            "special_tokens": special}


def _tok_key(k):
    return (k[0] if isinstance(k[0], int) else -1, str(k[1]))


# ----------------------------------------------------------------------------------------------- quantization

QUANT_KEYS = ("scheme", "bits_per_parameter", "stored_bytes", "logical_parameters", "side_tensor_bytes")


def diff_quantization(ra, rb) -> dict:
    """The detected quantization scheme (analysis.quant) and its figures, when either side is quantized."""
    qa, qb = ra.sections.get("quantization"), rb.sections.get("quantization")
    if qa is None and qb is None:
        return {"changes": []}
    changes = []
    for key in QUANT_KEYS:
        x = qa.get(key) if qa else None
        y = qb.get(key) if qb else None
        if x != y:
            changes.append({"what": key, "a": x, "b": y})
    return {"a": (qa or {}).get("scheme"), "b": (qb or {}).get("scheme"), "changes": changes}


# ----------------------------------------------------------------------------------------------- all

def diff(a, ra, b, rb) -> dict:
    """The whole comparison of checkpoint A (with its Report) against B. ``same`` is True when nothing differs
    in any section (tensors, totals, config, tokenizer, quantization)."""
    tensors = diff_tensors(a, b)
    totals = diff_totals(ra, rb)
    config = diff_config(a, b)
    tok = diff_tokenizer(a, b)
    quant = diff_quantization(ra, rb)
    moved = any(totals[k]["total"]["delta"] or totals[k]["by_component"] or totals[k]["by_dtype"]
                for k in ("parameters", "bytes"))
    same = not (tensors["added"] or tensors["removed"] or tensors["changed"] or moved or config["fields"]
                or tok["changes"] or tok.get("added_tokens", {}).get("added") or
                tok.get("added_tokens", {}).get("removed") or tok.get("special_tokens") or quant["changes"])
    notes = [n for n in (tensors.get("note"), config.get("note"), tok.get("note")) if n]
    if ra.basis != rb.basis:
        notes.append(f"A's numbers are {_basis_words(ra.basis)}, B's {_basis_words(rb.basis)}")
    return {
        "schema_version": DIFF_SCHEMA_VERSION,
        "same": same,
        "a": _side(a, ra),
        "b": _side(b, rb),
        "tensors": tensors,
        "totals": totals,
        "config": config,
        "tokenizer": tok,
        "quantization": quant,
        "notes": notes,
    }


def _basis_words(basis: str) -> str:
    return "read from safetensors headers" if basis == "headers" else "predicted from config.json"
