"""The ``--quant`` options and their report section, shared by ``estimate`` (and anything else that wants them).

``add_arguments(parser)`` adds --quant, --gguf-types, --gguf-rules, --imatrix; ``build_section(args, ck)``
returns a JSON-able dict (``section["schemes"][name]["bytes"]`` is the predicted weight-file size);
``render_text(section)`` formats it. Top-level imports stay light (argparse only).
"""

from __future__ import annotations

QUANT_HELP = ("comma-separated schemes: llama.cpp GGUF file types (q4_k_m, q8_0, q4_0, iq4_xs, mxfp4_moe, f16 ...) "
              "and fp8, fp8-channel, int8, int4 (= int4-gptq), int4-awq, nf4, fp4, mxfp4; "
              "append :G for a group size, e.g. int4-gptq:32")


def add_arguments(p) -> None:
    p.add_argument("--quant", metavar="LIST", help=QUANT_HELP)
    p.add_argument("--gguf-types", action="store_true",
                   help="list the ggml type chosen for every GGUF tensor (llama.cpp's names)")
    p.add_argument("--gguf-rules", choices=("legacy", "head"), default="legacy",
                   help="llama.cpp quantization rules: legacy (Apr 2024 - Mar 2026 files, default) or head (2026)")
    p.add_argument("--imatrix", action="store_true", help="assume an importance matrix was used (changes some types)")
    p.add_argument("--compare", metavar="GGUF",
                   help="compare the predicted GGUF with a real one tensor by tensor: a .gguf file, a folder, "
                        "ORG/NAME:TAG or a resolve URL (--quant defaults to the file's type)")


def _parse_list(text: str) -> list[tuple[str, int | None]]:
    out = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, _, g = item.partition(":")
        out.append((name, int(g) if g.isdigit() else None))
    return out


def _inventory(ck):
    """Real tensors when the checkpoint has headers, else the architecture rules' prediction (also for a GGUF
    checkpoint, whose llama.cpp tensors are not the Hugging Face ones: predicted from its GGUF metadata)."""
    if ck.tensors and getattr(ck, "gguf", None) is None:
        return ck.tensors, "headers"
    if ck.config is None:
        return None, None
    try:
        from ..analysis.arch import predict_inventory
    except ImportError:
        return None, None
    inv = predict_inventory(ck.config)
    basis = "gguf-metadata" if getattr(ck, "gguf", None) is not None else "config"
    return (inv, basis) if inv else (None, None)


def _open_compare(args):
    """The GGUF model named by --compare (None when not given)."""
    spec = getattr(args, "compare", None)
    if not spec:
        return None
    from ..api import open_checkpoint
    from ..errors import CkptError

    ck = open_checkpoint(spec, token=getattr(args, "token", None), offline=getattr(args, "offline", None),
                         tokenizer=False)
    if getattr(ck, "gguf", None) is None:
        raise CkptError("is not a GGUF file or repo", "--compare " + spec)
    return ck.gguf


def build_section(args, ck) -> dict | None:
    """Predicted sizes for each scheme of ``args.quant`` (None when --quant was not given)."""
    text = getattr(args, "quant", None)
    target = _open_compare(args)
    if not text and target is not None and target.file_type:
        text = target.file_type
    if not text:
        return None
    from ..analysis.gguf import estimate_gguf, normalize_ftype
    from ..analysis.quant import estimate_scheme, normalize_scheme
    from ..errors import CkptError
    from ..units import GB, GiB

    tensors, basis = _inventory(ck)
    if tensors is None:
        raise CkptError("cannot predict quantized sizes: no safetensors headers and no architecture rules for "
                        f"{ck.config.architecture if ck.config else 'this checkpoint (no config.json)'}")
    rules = getattr(args, "gguf_rules", "legacy") or "legacy"
    imatrix = bool(getattr(args, "imatrix", False))
    schemes: dict[str, dict] = {}
    for name, g in _parse_list(text):
        ft = normalize_ftype(name)
        sc = normalize_scheme(name)
        if ft is None and sc is None:
            raise CkptError(f"--quant: unknown scheme {name!r} ({QUANT_HELP})")
        if ft is not None and sc is None:
            if ck.config is None:
                raise CkptError("GGUF sizes need config.json")
            e = estimate_gguf(tensors, ck.config, ft, rules=rules, imatrix=imatrix, tokenizer=ck.tokenizer)
            d = e.to_dict(with_tensors=bool(getattr(args, "gguf_types", False)))
            d.update(kind="gguf", label=f"GGUF {ft}")
            if target is not None and (target.file_type == ft or not any(
                    normalize_ftype(n) == target.file_type for n, _ in _parse_list(text))):
                from ..analysis.gguf.compare import compare

                d["compare"] = compare(e, target, args.compare)
            key = ft
        else:
            e = estimate_scheme(tensors, ck.config, sc, group_size=g)
            d = e.to_dict()
            d.update(kind="safetensors")
            key = sc if g is None else f"{sc}:{g}"
        d["GB"] = round(d["bytes"] / GB, 3)
        d["GiB"] = round(d["bytes"] / GiB, 3)
        schemes[key] = d
    return {"basis": basis, "rules": rules, "imatrix": imatrix, "schemes": schemes}


def render_text(section: dict) -> str:
    from ..units import human_bytes, human_count

    if not section:
        return ""
    lines = [f"Quantized sizes (from {section['basis']}; GB = 10^9 B, GiB = 2^30 B)"]
    w = max(len(k) for k in section["schemes"]) if section["schemes"] else 6
    for name, d in section["schemes"].items():
        lines.append(f"  {name:<{w}}  {human_bytes(d['bytes']):>26}  {d['bpw']:6.3f} bpw  "
                     f"{human_count(d['parameters'])} params")
    for name, d in section["schemes"].items():
        lines.append("")
        lines.append(f"{name}: {d.get('label', name)}")
        for comp, c in sorted(d["by_component"].items(), key=lambda kv: -kv[1]["bytes"]):
            mix = ""
            if "types" in c:
                mix = "  " + ", ".join(f"{t}x{n}" for t, n in sorted(c["types"].items()))
            lines.append(f"  {comp:<18} {human_bytes(c['bytes'], both=False):>12}  "
                         f"{human_count(c['parameters']):>9} params{mix}")
        if d.get("kind") == "gguf":
            m = d["metadata"]
            lines.append(f"  {'metadata':<18} {human_bytes(d['metadata_bytes'], both=False):>12}  "
                         f"{m['n_kv']} KVs, tokenizer arrays {human_bytes(m['tokenizer_arrays'], both=False)}, "
                         f"{d['n_tensors']} tensor infos")
            if d.get("dropped"):
                lines.append("  dropped by the converter: " + "; ".join(f"{n} x {r}" for r, n in d["dropped"].items()))
        for a in d.get("assumptions", []):
            lines.append(f"  - {a}")
        if d.get("compare"):
            from ..analysis.gguf.compare import render_text as r_cmp

            lines.append(r_cmp(d["compare"]).rstrip("\n"))
        if d.get("tensors"):
            lines.append(f"  {'tensor':<44} {'type':<8} {'ne':<28} bytes")
            for t in d["tensors"]:
                fb = f" (fallback from {t['fallback_from']})" if t.get("fallback_from") else ""
                lines.append(f"  {t['name']:<44} {t['type']:<8} {str(t['ne']):<28} {t['bytes']:,}{fb}")
    return "\n".join(lines) + "\n"
