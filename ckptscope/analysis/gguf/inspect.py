"""``ckptscope inspect FILE.gguf``: metadata, tensor types, parameters and bytes of a real GGUF file."""

from __future__ import annotations

import re

from .. import classify as C
from ...readers.gguf import ArraySummary, GGUFInfo
from .types import FTYPES_BY_ID

_COMP = [
    (re.compile(r"^token_embd\.|^per_layer_token_embd\.|^token_types\."), C.EMBEDDING),
    (re.compile(r"^position_embd\."), C.POSITION),
    (re.compile(r"^output\."), C.LM_HEAD),
    (re.compile(r"_norm\.|^output_norm|norm\.(weight|bias)$"), C.NORM),
    (re.compile(r"ffn_gate_inp|exp_probs_b"), C.ROUTER),
    (re.compile(r"_exps\."), C.EXPERTS),
    (re.compile(r"_shexp\."), C.SHARED),
    (re.compile(r"\.(attn_|cross_attn_)"), C.ATTENTION),
    (re.compile(r"\.ffn_"), C.MLP),
    (re.compile(r"^(v|mm|a)\.|^mmproj"), C.VISION),
]
TOKENIZER_ARRAYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                    "tokenizer.ggml.scores")


def component(name: str) -> str:
    for pat, comp in _COMP:
        if pat.search(name):
            return comp
    return C.OTHER


def _pad(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def summarize_gguf(info: GGUFInfo) -> dict:
    by_type: dict[str, dict] = {}
    by_comp: dict[str, dict] = {}
    params = data = 0
    unknown = []
    for t in info.tensors:
        n = t.numel
        nb = t.nbytes
        if nb is None:
            unknown.append(t.name)
            nb = 0
        params += n
        data += _pad(nb, info.alignment)
        ty = by_type.setdefault(t.type_name, {"tensors": 0, "parameters": 0, "bytes": 0})
        ty["tensors"] += 1
        ty["parameters"] += n
        ty["bytes"] += nb
        comp = component(t.name)
        c = by_comp.setdefault(comp, {"tensors": 0, "parameters": 0, "bytes": 0, "types": {}})
        c["tensors"] += 1
        c["parameters"] += n
        c["bytes"] += nb
        c["types"][t.type_name] = c["types"].get(t.type_name, 0) + 1
    meta = {}
    for k, v in info.kv.items():
        if isinstance(v, ArraySummary):
            meta[k] = f"[{v.etype} x {v.count:,}]"
        elif isinstance(v, str) and len(v) > 200:
            meta[k] = v[:200] + f"... ({len(v.encode()):,} bytes)"
        else:
            meta[k] = v
    ft = info.kv.get("general.file_type")
    tok = sum(info.kv_bytes.get(k, 0) for k in TOKENIZER_ARRAYS)
    return {
        "file": info.file,
        "file_size": info.file_size,
        "gguf_version": info.version,
        "architecture": info.architecture,
        "name": info.kv.get("general.name"),
        "file_type": FTYPES_BY_ID.get(ft, ft) if isinstance(ft, int) else None,
        "parameters": params,
        "tensors": len(info.tensors),
        "bytes": {"file": info.file_size, "expected_file": info.expected_size, "metadata": info.data_offset,
                  "kv": sum(info.kv_bytes.values()), "tokenizer_arrays": tok, "tensor_data": data},
        "bpw": round(8.0 * info.expected_size / params, 4) if params else None,
        "truncated": info.truncated,
        "alignment": info.alignment,
        "by_type": by_type,
        "by_component": by_comp,
        "metadata": meta,
        "unknown_types": unknown,
    }


def render_text(s: dict, tensors: list | None = None) -> str:
    from ...units import human_bytes, human_count

    b = s["bytes"]
    lines = [f"{s['file']}: GGUF v{s['gguf_version']}, {s['architecture']}, {s['name'] or ''}".rstrip(", "),
             f"  file type   {s['file_type']}",
             f"  parameters  {s['parameters']:,} ({human_count(s['parameters'])})",
             f"  tensors     {s['tensors']:,}",
             f"  file size   {human_bytes(b['file'] or 0)}" + (
                 f"  (TRUNCATED: the header describes {b['expected_file']:,} bytes)" if s["truncated"] else
                 f"  ({b['file']:,} bytes; header implies {b['expected_file']:,})"),
             f"  metadata    {b['metadata']:,} bytes (KVs {b['kv']:,}, tokenizer arrays {b['tokenizer_arrays']:,})",
             f"  bits/weight {s['bpw']}", "", "By type:"]
    for t, d in sorted(s["by_type"].items(), key=lambda kv: -kv[1]["bytes"]):
        lines.append(f"  {t:<8} {d['tensors']:>6} tensors  {human_count(d['parameters']):>9} params  "
                     f"{human_bytes(d['bytes'], both=False):>12}")
    lines += ["", "By component:"]
    for c, d in sorted(s["by_component"].items(), key=lambda kv: -kv[1]["bytes"]):
        mix = ", ".join(f"{t}x{n}" for t, n in sorted(d["types"].items()))
        lines.append(f"  {c:<18} {human_bytes(d['bytes'], both=False):>12}  {human_count(d['parameters']):>9} params  {mix}")
    lines += ["", "Metadata:"]
    for k, v in s["metadata"].items():
        lines.append(f"  {k} = {v}")
    if tensors:
        lines += ["", "Tensors:"]
        for t in tensors:
            lines.append(f"  {t.name:<44} {t.type_name:<8} {list(t.ne)}")
    return "\n".join(lines) + "\n"
