"""A predicted GGUF file (``estimate_gguf``) against a real one, tensor by tensor: names, ggml types, shapes and
data bytes; the differences listed, the totals side by side."""

from __future__ import annotations

MAX_LISTED = 200


def compare(est, model, source: str) -> dict:
    """``est``: a GGUFEstimate; ``model``: readers.gguf_model.GGUFModel (the real file's header)."""
    real = {t.name: t for t in model.tensors}
    pred = {t.name: t for t in est.tensors}
    diffs = []
    same = 0
    for name, p in pred.items():
        r = real.get(name)
        if r is None:
            continue
        r_ne = tuple(reversed(r.shape))
        d = {}
        if p.type != r.dtype:
            d["type"] = [p.ggml_name, _ggml(r.dtype)]
        if tuple(p.ne) != r_ne:
            d["ne"] = [list(p.ne), list(r_ne)]
        if p.nbytes != r.nbytes:
            d["bytes"] = [p.nbytes, r.nbytes]
        if d:
            diffs.append({"name": name, **d})
        else:
            same += 1
    only_pred = sorted(set(pred) - set(real))
    only_real = sorted(set(real) - set(pred))
    pb = sum(t.nbytes for t in est.tensors)
    rb = model.tensor_bytes
    out = {
        "file": source,
        "file_type": model.file_type,
        "predicted_ftype": est.ftype,
        "tensors": {"predicted": len(pred), "file": len(real), "same": same, "different": len(diffs),
                    "only_predicted": len(only_pred), "only_file": len(only_real)},
        "tensor_bytes": {"predicted": pb, "file": rb, "difference": pb - rb},
        "file_bytes": {"predicted": est.total_bytes, "file": model.expected_size,
                       "difference": est.total_bytes - model.expected_size},
        "parameters": {"predicted": est.parameters, "file": sum(t.numel for t in model.tensors)},
        "exact": not diffs and not only_pred and not only_real,
        "differences": diffs[:MAX_LISTED],
        "only_predicted": only_pred[:MAX_LISTED],
        "only_file": only_real[:MAX_LISTED],
    }
    return out


def _ggml(name: str) -> str:
    from .types import TYPES

    t = TYPES.get(name)
    return t.ggml_name if t else name


def render_text(c: dict) -> str:
    t, b, f = c["tensors"], c["tensor_bytes"], c["file_bytes"]
    lines = [f"Compared with {c['file']} ({c['file_type']}; predicted {c['predicted_ftype']}): "
             + ("every tensor matches (name, type, shape, bytes)" if c["exact"] else
                f"{t['same']:,} tensors match, {t['different']:,} differ, {t['only_predicted']:,} only predicted, "
                f"{t['only_file']:,} only in the file"),
             f"  tensor data  predicted {b['predicted']:,} B, file {b['file']:,} B ({b['difference']:+,})",
             f"  whole file   predicted {f['predicted']:,} B, file {f['file']:,} B ({f['difference']:+,})"]
    for d in c["differences"]:
        parts = []
        if "type" in d:
            parts.append(f"type {d['type'][0]} predicted, {d['type'][1]} in the file")
        if "ne" in d:
            parts.append(f"shape {d['ne'][0]} predicted, {d['ne'][1]} in the file")
        if "bytes" in d and "type" not in d:
            parts.append(f"bytes {d['bytes'][0]:,} predicted, {d['bytes'][1]:,} in the file")
        lines.append(f"  {d['name']}: " + "; ".join(parts))
    for n in c["only_predicted"]:
        lines.append(f"  {n}: predicted, not in the file")
    for n in c["only_file"]:
        lines.append(f"  {n}: in the file, not predicted")
    return "\n".join(lines) + "\n"
