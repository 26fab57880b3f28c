"""The report stage for a GGUF checkpoint: ``sections["gguf"]`` (file type, container, bits per weight from the
tensor bytes, the key/values, every quantization of the source) with a one-line summary for the text output."""

from __future__ import annotations

from ...readers.gguf import ArraySummary

TOKENIZER_ARRAYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                    "tokenizer.ggml.scores")


def metadata_summary(kv: dict) -> dict:
    """The key/values with long arrays and strings shortened (what inspect prints and the JSON holds)."""
    meta = {}
    for k, v in kv.items():
        if isinstance(v, ArraySummary):
            meta[k] = f"[{v.etype} x {v.count:,}]"
        elif isinstance(v, str) and len(v) > 200:
            meta[k] = v[:200] + f"... ({len(v.encode()):,} bytes)"
        else:
            meta[k] = v
    return meta


def section(ck) -> dict:
    m = ck.gguf
    first = m.first
    params = sum(t.numel for t in m.tensors)
    tb = m.tensor_bytes
    by_type: dict[str, dict] = {}
    for t in m.tensors:
        d = by_type.setdefault(t.dtype, {"tensors": 0, "parameters": 0, "bytes": 0})
        d["tensors"] += 1
        d["parameters"] += t.numel
        d["bytes"] += t.nbytes
    files = []
    for p in m.parts:
        files.append({"file": p.file, "gguf_version": p.version, "file_size": p.file_size,
                      "expected_size": p.expected_size, "metadata_bytes": p.data_offset if p.tensors else p.header_bytes,
                      "kv_count": len(p.kv), "kv_bytes": sum(p.kv_bytes.values()),
                      "tokenizer_array_bytes": sum(p.kv_bytes.get(k, 0) for k in TOKENIZER_ARRAYS),
                      "tensors": len(p.tensors), "alignment": p.alignment, "truncated": p.truncated})
    sec = {
        "label": "GGUF",
        "file_type": m.file_type,
        "architecture": first.architecture,
        "name": first.kv.get("general.name"),
        "files": files,
        "split": len(m.parts) > 1,
        "parameters": params,
        "tensor_bytes": tb,
        "bpw": round(8.0 * tb / params, 4) if params else None,
        "bpw_note": "bits per weight = 8 x tensor data bytes / parameters (no metadata, no padding)",
        "by_type": dict(sorted(by_type.items(), key=lambda kv: -kv[1]["bytes"])),
        "expected_file_bytes": m.expected_size,
        "truncated": m.truncated,
        "vocab_only": m.vocab_only,
        "metadata": metadata_summary(first.kv),
    }
    if ck.gguf_variants:
        sec["variants"] = ck.gguf_variants
    bits = [m.file_type or "unknown file type", f"GGUF v{first.version}", first.architecture or "no architecture"]
    if m.vocab_only:
        bits.append("vocab-only (tokenizer file, no tensors)")
    else:
        bits.append(f"{sec['bpw']} bits/weight")
    if m.truncated:
        bits.append(f"TRUNCATED (the header describes {m.expected_size:,} bytes)")
    lines = [" · ".join(bits)]
    if ck.gguf_variants:
        lines.append(render_variants(ck.gguf_variants))
    sec["summary"] = "\n".join(lines)
    return sec


def render_variants(variants: list[dict]) -> str:
    from ...units import human_bytes, human_count

    rows = [f"{len(variants)} GGUF models here:"]
    rows.append(f"  {'quant':<12} {'file type':<10} {'files':>5} {'size':>12} {'parameters':>16} {'bpw':>7}  name")
    for v in variants:
        size = human_bytes(v["size"], both=False) if v.get("size") is not None else "?"
        if v.get("error"):
            rows.append(f"  {v.get('label') or '-':<12} {'-':<10} {len(v['files']):>5} {size:>12} "
                        f"{'unreadable':>16} {'-':>7}  {v['name']}: {v['error']}")
            continue
        params = v.get("parameters")
        rows.append(f"  {v.get('label') or '-':<12} {v.get('file_type') or '-':<10} {len(v['files']):>5} {size:>12} "
                    f"{(f'{params:,}' if params is not None else '-'):>16} "
                    f"{(v.get('bpw') if v.get('bpw') is not None else '-'):>7}  {v['name']}"
                    + (f" ({v['kind']})" if v.get("kind") != "model" else ""))
        _ = human_count
    return "\n".join(rows)


def report_stage(ck, report) -> None:
    if ck.gguf is None:
        return
    report.sections["gguf"] = section(ck)
    if ck.gguf.vocab_only:
        report.sections["gguf"]["tokenizer_file"] = True
