"""The HTML page of ``inspect``: treemap (component -> layer kind -> tensor), dtypes, bytes per layer, verdicts,
quantized sizes. It reads the Report only (``sections["layout"]`` from analysis.layout, ``sections["quantized"]``
from ``--quant``); the treemap tiling is the only arithmetic."""

from __future__ import annotations

from ..analysis.classify import COMPONENT_LABELS, COMPONENTS
from .html import PALETTE, esc, hb, hb2, hbars, hc, legend, num, pct, table, text_on, tint
from .treemap import squarify

W, H = 1000, 600  #: treemap viewBox
KIND_COLOURS = {"dense": "#0072B2", "MoE": "#E69F00", "MTP": "#CC79A7"}
SOURCE_WORDS = {"read": "read from the safetensors headers", "predicted": "predicted from config.json",
                "catalog": "bundled catalog (headers reconstructed from config.json)"}
#: fixed colours for the usual components (the rest take the remaining palette entries in order)
COMPONENT_COLOURS = {"moe_experts": "#E69F00", "attention": "#56B4E9", "mlp": "#009E73", "shared_experts": "#F0E442",
                     "embedding": "#0072B2", "lm_head": "#D55E00", "mtp": "#CC79A7", "quant_scales": "#999999",
                     "router": "#7a5195", "norm": "#6b8e23"}


def colours(components: list[str]) -> dict[str, str]:
    out, spare = {}, [c for c in PALETTE if c not in COMPONENT_COLOURS.values()] or PALETTE
    i = 0
    for c in components:
        if c in COMPONENT_COLOURS:
            out[c] = COMPONENT_COLOURS[c]
        else:
            out[c] = spare[i % len(spare)]
            i += 1
    return out


def render(report) -> tuple[str, str, str, dict]:
    d = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    src, m, p, b = d.get("source") or {}, d.get("model") or {}, d.get("parameters") or {}, d.get("bytes") or {}
    title = str(src.get("name") or "checkpoint")
    arch = f"{m.get('architecture')} ({m.get('model_type')})" if m.get("architecture") else "no config.json"
    basis = "predicted from config.json alone (no safetensors headers)" if d.get("basis") == "config" else \
        "read from the safetensors headers"
    subtitle = esc(f"{arch} \u00b7 {basis} \u00b7 source: {src.get('kind', '?')}")
    parts = [_facts(d), _treemap_section(d), _dtype_section(d), _layer_section(d), _verdicts(d), _quant_section(d),
             _findings(d)]
    return title, subtitle, "\n".join(x for x in parts if x), d


# ---------------------------------------------------------------------------------------------- summary facts

def _facts(d: dict) -> str:
    p, b, m, t = d.get("parameters") or {}, d.get("bytes") or {}, d.get("model") or {}, d.get("tensors") or {}
    rows = []
    tot = p.get("total")
    rows.append(("Parameters (total)", f'<span class="total" id="parameters-total">{num(tot)}</span> '
                 f"({esc(hc(tot))}) <span class=\"sub\">JSON <code>parameters.total</code>: every stored element "
                 "counted as parameters, scales included</span>"))
    w = p.get("weights")
    line = f"{num(w)} ({esc(hc(w))})"
    if p.get("mtp"):
        line += f" = {esc(hc(p.get('main')))} main + {esc(hc(p['mtp']))} MTP"
    rows.append(("Weights", line))
    act = p.get("active")
    if isinstance(act, dict) and act.get("total") is not None:
        rows.append(("Active per token", f"{num(act['total'])} ({esc(hc(act['total']))}; top-"
                     f"{esc(act.get('experts_per_token'))} of {esc(act.get('experts'))} experts)"))
    if p.get("quant_side_elements"):
        rows.append(("Scale/zero elements", f"{num(p['quant_side_elements'])} (quantization side tensors, not weights)"))
    rows.append(("Tensor data", f"{esc(hb2(b.get('total', 0)))} \u00b7 {num(b.get('total', 0))} bytes"))
    nfiles = len((d.get("source") or {}).get("weights") or [])
    if nfiles:
        rows.append(("Files", f"{nfiles} safetensors file{'s' if nfiles != 1 else ''}, "
                     f"{num(b.get('files_total', 0))} bytes with headers"))
    rows.append(("Tensors", num(t.get("count", 0))))
    if m.get("architecture"):
        from .facts import model_facts

        extra = model_facts(m, p)
        rows.append(("Model", esc(" \u00b7 ".join(extra))))
    return ('<section aria-labelledby="h-sum"><h2 id="h-sum">Summary</h2><dl class="facts">'
            + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl></section>")


# ---------------------------------------------------------------------------------------------- treemap

def _treemap_section(d: dict) -> str:
    lay = d.get("layout")
    if not isinstance(lay, dict) or not lay.get("components"):
        return ""
    comps = lay["components"]
    col = colours([c["component"] for c in comps])
    src = SOURCE_WORDS.get(lay.get("source"), str(lay.get("source")))
    views = []
    for metric, cls in (("bytes", "v-bytes"), ("parameters", "v-params")):
        views.append(f'<div class="view {cls}">' + _treemap_svg(comps, metric, col, src) + "</div>")
    b, p = d.get("bytes") or {}, d.get("parameters") or {}
    tb, tp = b.get("total", 0), p.get("total", 0)
    rows = []
    for c in comps:
        rows.append([f'<span class="swatch" style="background:{col[c["component"]]}"></span>{esc(c["label"])}',
                     num(c["parameters"]), pct(c["parameters"], tp), esc(hb(c["bytes"])), pct(c["bytes"], tb),
                     num(c["tensors"])])
    groups = []
    for c in comps:
        for g in c["groups"]:
            where = f"layers {g['layers']} (\u00d7{g['count']})" if g["layers"] else "outside the layers"
            groups.append([esc(c["label"]), esc(g["kind"]), esc(where), num(g["tensors"]), num(g["parameters"]),
                           esc(hb(g["bytes"]))])
    return (
        '<section aria-labelledby="h-map"><h2 id="h-map">Where the bytes go</h2>'
        f'<p class="sub">Area is proportional to bytes (or parameters). Component, then layer kind (identical layers '
        f"folded, with their count), then tensor pattern (names with indices as <code>*</code>). Numbers {esc(src)}. "
        "Hover or tap a cell for its details.</p>"
        '<input type="radio" name="metric" id="m-bytes" checked><label for="m-bytes"> bytes</label> '
        '<input type="radio" name="metric" id="m-params"><label for="m-params"> parameters</label>'
        '<div class="views"><figure data-panel="tm-panel">' + "".join(views) +
        '<figcaption>Treemap of the checkpoint. Text alternative: the tables below.</figcaption></figure></div>'
        '<div class="panel noprint" id="tm-panel" aria-live="polite">Hover or tap a cell.</div>'
        + table(["component", "parameters", "%", "bytes", "%", "tensors"], rows, "By component")
        + "<details><summary>Layer kinds (identical layers folded)</summary>"
        + table(["component", "kind", "layers", "tensors", "parameters", "bytes"], groups, numeric_from=3)
        + "</details></section>")


def _where(g: dict) -> str:
    """``MoE layers 3-60 (x58)``, ``layer 61``, or ``outside the layers``."""
    if not g.get("layers"):
        return "outside the layers"
    n = g.get("count", 1)
    return f"{g['kind']} layer{'s' if n > 1 else ''} {g['layers']}" + (f" (\u00d7{n})" if n > 1 else "")


def _detail(title: str, lines: list[str]) -> str:
    return "\n".join([title] + lines)


def _cell(cls: str, x: float, y: float, w: float, h: float, fill: str, info: str, extra: str = "",
          opacity: float | None = None) -> str:
    label = info.split("\n", 1)[0]
    op = f' fill-opacity="{opacity:.2f}"' if opacity is not None else ""
    return (f'<rect class="cell {cls}" x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" fill="{fill}"{op}'
            f' tabindex="0" aria-label="{esc(info.replace(chr(10), "; "))}" data-d="{esc(info)}"{extra}>'
            f"<title>{esc(info)}</title></rect>") if w > 0 and h > 0 else (
        f'<rect class="cell {cls}" x="{x:.2f}" y="{y:.2f}" width="0" height="0" fill="{fill}"'
        f' aria-label="{esc(label)}" data-d="{esc(info)}"{extra}><title>{esc(info)}</title></rect>')


def _fit_text(s: str, w: float, px: float = 7.0) -> str | None:
    n = int(w // px)
    if n < 4:
        return None
    return s if len(s) <= n else s[: max(1, n - 1)] + "\u2026"


def _treemap_svg(comps: list[dict], metric: str, col: dict, src: str) -> str:
    total = sum(c[metric] for c in comps) or 1
    unit = hb if metric == "bytes" else hc
    rects = squarify([c[metric] for c in comps], 0, 0, W, H)
    out = [f'<svg viewBox="0 0 {W} {H}" role="group" aria-label="treemap of {metric} by component" '
           f'data-metric="{metric}" data-total="{total}">']
    labels = []
    for c, (x, y, w, h) in zip(comps, rects):
        fill = col[c["component"]]
        ink = text_on(fill)
        info = _detail(c["label"], [f"{num(c['tensors'])} tensors \u00b7 {len(c['groups'])} layer kind(s)",
                                    f"parameters {num(c['parameters'])} ({hc(c['parameters'])})",
                                    f"bytes {num(c['bytes'])} ({hb(c['bytes'])})",
                                    f"{pct(c[metric], total)} of all {metric}", f"source: {src}"])
        out.append(f'<g class="comp" data-component="{esc(c["component"])}" data-value="{c[metric]}">')
        out.append(_cell("comp", x, y, w, h, fill, info))
        head = 18 if (h > 46 and w > 70) else 0
        ix, iy, iw, ih = x + 2, y + 2 + head, w - 4, h - 4 - head
        if iw > 6 and ih > 6 and c[metric]:
            grects = squarify([g[metric] for g in c["groups"]], ix, iy, iw, ih)
            for g, (gx, gy, gw, gh) in zip(c["groups"], grects):
                where = _where(g)
                gi = _detail(f"{c['label']}: {where}",
                             [f"{num(g['tensors'])} tensors", f"parameters {num(g['parameters'])} ({hc(g['parameters'])})",
                              f"bytes {num(g['bytes'])} ({hb(g['bytes'])})",
                              (f"per layer {hb(g['bytes'] // g['count'])}" if g["count"] > 1 else "one copy"),
                              f"source: {src}"])
                out.append(_cell("grp", gx, gy, gw, gh, tint(fill, 0.15), gi))
                ghead = 15 if (gh > 60 and gw > 90) else 0
                if gw > 24 and gh > 24 + ghead:
                    items = list(g["patterns"])
                    vals = [t[metric] for t in items]
                    om = g.get("omitted")
                    if om:
                        vals.append(om[metric])
                    prects = squarify(vals, gx + 1, gy + 1 + ghead, gw - 2, gh - 2 - ghead)
                    for k, (px, py, pw, ph) in enumerate(prects):
                        if k < len(items):
                            t = items[k]
                            ti = _detail(t["name"], [f"{t['dtype']} \u00b7 shape {'x'.join(map(str, t['shape'])) or 'scalar'}"
                                                     f" \u00b7 \u00d7{num(t['count'])} tensor(s)",
                                                     f"parameters {num(t['parameters'])} ({hc(t['parameters'])})",
                                                     f"bytes {num(t['bytes'])} ({hb(t['bytes'])})",
                                                     f"in {c['label']}, {where}", f"source: {src}"])
                            tl = t["name"].rsplit(".", 2)
                            short = (".".join(tl[-2:]) if len(tl) > 1 else t["name"]) + (
                                f" \u00d7{t['count']:,}" if t["count"] > 1 else "")
                        else:
                            ti = _detail(f"{om['patterns']} more tensor patterns",
                                         [f"{num(om['tensors'])} tensors", f"parameters {num(om['parameters'])}",
                                          f"bytes {num(om['bytes'])} ({hb(om['bytes'])})", f"source: {src}"])
                            short = f"+{om['patterns']} more"
                        pfill = tint(fill, (0.0, 0.22, 0.4)[k % 3])
                        out.append(_cell("t", px, py, pw, ph, pfill, ti))
                        if pw > 70 and ph > 30:
                            s = _fit_text(short, pw - 6, 6.2)
                            if s:
                                pink = text_on(pfill)
                                labels.append(f'<text class="lbl2" x="{px + 4:.2f}" y="{py + ph - 6:.2f}" '
                                              f'style="fill:{pink}">{esc(s)}</text>')
                if ghead:
                    s = _fit_text(where, gw - 6, 6.2)
                    if s:
                        labels.append(f'<text class="lbl2" x="{gx + 4:.2f}" y="{gy + 12:.2f}" '
                                      f'style="fill:{text_on(tint(fill, 0.15))}">{esc(s)}</text>')
        out.append("</g>")
        if head:
            s = _fit_text(f"{c['label']} \u00b7 {unit(c[metric])} \u00b7 {pct(c[metric], total)}", w - 8, 7.4)
            if s:
                labels.append(f'<text class="lbl" data-for="{esc(c["component"])}" x="{x + 5:.2f}" y="{y + 15:.2f}" '
                              f'style="fill:{ink}">{esc(s)}</text>')
    out.extend(labels)
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------------------------------------- dtype, layers

def _dtype_section(d: dict) -> str:
    p, b, t = d.get("parameters") or {}, d.get("bytes") or {}, d.get("tensors") or {}
    bd = b.get("by_dtype") or {}
    if not bd:
        return ""
    tb, tp = b.get("total", 0), p.get("total", 0)
    bars = [(dt, nb, f"{hb(nb)} \u00b7 {pct(nb, tb)}", PALETTE[i % len(PALETTE)]) for i, (dt, nb) in enumerate(bd.items())]
    rows = [[esc(dt), num((p.get("by_dtype") or {}).get(dt, 0)), pct((p.get("by_dtype") or {}).get(dt, 0), tp),
             num((t.get("by_dtype") or {}).get(dt, 0)), esc(hb(nb)), pct(nb, tb)] for dt, nb in bd.items()]
    return ('<section aria-labelledby="h-dt"><h2 id="h-dt">By dtype</h2><figure>'
            + hbars(bars, label_w=120, aria="bytes by dtype") + "<figcaption>Bytes by dtype.</figcaption></figure>"
            + table(["dtype", "parameters", "%", "tensors", "bytes", "%"], rows) + "</section>")


def _layer_section(d: dict) -> str:
    layers = d.get("by_layer") or []
    if not layers:
        return ""
    kinds = (d.get("layout") or {}).get("layer_kinds") or {}
    vals = [L.get("bytes", 0) for L in layers]
    mx = max(vals) or 1
    n = len(layers)
    left, bottom, top = 70, 24, 8
    ph = 220
    bw = (W - left - 10) / n
    out = [f'<svg viewBox="0 0 {W} {ph + bottom + top}" role="img" aria-label="bytes per layer index">']
    for frac in (0.5, 1.0):
        y = top + ph * (1 - frac)
        out.append(f'<line class="axis" x1="{left}" x2="{W - 10}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(hb(mx * frac))}</text>')
    step = max(1, n // 20)
    for i, L in enumerate(layers):
        k = _kind(L, kinds)
        h = ph * L.get("bytes", 0) / mx
        x = left + i * bw
        out.append(f'<rect x="{x + bw * 0.1:.2f}" y="{top + ph - h:.2f}" width="{bw * 0.8:.2f}" height="{h:.2f}" '
                   f'fill="{KIND_COLOURS.get(k, "#999999")}"><title>layer {esc(L["layer"])} ({esc(k)}): '
                   f'{esc(hb(L.get("bytes", 0)))}, {num(L.get("tensors", 0))} tensors</title></rect>')
        if i % step == 0:
            out.append(f'<text x="{x + bw / 2:.2f}" y="{top + ph + 16}" text-anchor="middle">{esc(L["layer"])}</text>')
    out.append("</svg>")
    present = []
    for L in layers:
        k = _kind(L, kinds)
        if k not in present:
            present.append(k)
    rows = []
    for L in layers:
        k = _kind(L, kinds)
        rows.append([esc(L["layer"]), esc(k), num(L.get("tensors", 0)), num(L.get("parameters", 0)),
                     esc(hb(L.get("bytes", 0)))])
    return ('<section aria-labelledby="h-ly"><h2 id="h-ly">Bytes per layer</h2><figure>'
            + legend([(k, KIND_COLOURS.get(k, "#999999")) for k in present]) + "".join(out)
            + "<figcaption>Bytes of each layer, by layer index.</figcaption></figure>"
            + "<details><summary>Table: by layer</summary>"
            + table(["layer", "kind", "tensors", "parameters", "bytes"], rows, numeric_from=2)
            + "</details></section>")


def _kind(L: dict, kinds: dict) -> str:
    """The layer's kind from the layout section (analysis.layout.layer_kind when the section is absent)."""
    from ..analysis.layout import layer_kind

    return kinds.get(L["layer"]) or layer_kind(L.get("components") or {}, bool(L.get("mtp")))


# ---------------------------------------------------------------------------------------------- verdicts, quant

def _verdicts(d: dict) -> str:
    rows = []
    for key, sec in d.items():
        if key in ("layout",) or not isinstance(sec, dict) or not sec.get("summary"):
            continue
        st = sec.get("status")
        badge = f'<span class="badge {_status_class(st)}">{esc(st)}</span> ' if st else ""
        rows.append(f"<tr><th scope=\"row\">{esc(sec.get('label', key))}</th><td>{badge}{esc(sec['summary'])}</td></tr>")
    if not rows:
        return ""
    return ('<section aria-labelledby="h-vd"><h2 id="h-vd">Reconciliation and tokenizer</h2><table><tbody>'
            + "".join(rows) + "</tbody></table></section>")


def _status_class(st) -> str:
    s = str(st).lower()
    if s in ("exact", "ok", "consistent", "match", "pass", "passed"):
        return "ok"
    if s in ("error", "mismatch", "fail", "failed", "missing"):
        return "bad"
    return "warn"


def _quant_section(d: dict) -> str:
    b = d.get("bytes") or {}
    q = d.get("quantized")
    stored = b.get("total", 0)
    if not isinstance(q, dict) or not q.get("schemes"):
        return ('<section aria-labelledby="h-q"><h2 id="h-q">Quantized sizes</h2><p class="sub">As stored: '
                f"{esc(hb2(stored))} of tensor data. Add <code>--quant q4_k_m,q8_0,fp8,int4,nf4</code> to draw "
                "the predicted size of each scheme here.</p></section>")
    bars = [("as stored", stored, f"{hb(stored)} (tensor data)", "#999999")]
    rows = [["as stored", "safetensors tensor data, headers excluded", esc(hb(stored)), num(stored), "-"]]
    for i, (name, s) in enumerate(q["schemes"].items()):
        if not isinstance(s, dict) or not isinstance(s.get("bytes"), int):
            continue
        kind = s.get("kind", "")
        what = "whole GGUF file" if kind == "gguf" else "safetensors tensor data"
        bars.append((name, s["bytes"], f"{hb(s['bytes'])} \u00b7 {s.get('bpw', 0):.3f} bpw",
                     PALETTE[i % len(PALETTE)]))
        rows.append([esc(name), esc(f"{s.get('label', name)}; {what}"), esc(hb(s["bytes"])), num(s["bytes"]),
                     esc(f"{s.get('bpw', 0):.3f}")])
    return ('<section aria-labelledby="h-q"><h2 id="h-q">Quantized sizes</h2>'
            f'<p class="sub">Predicted from {esc(q.get("basis", "?"))}; GGUF rules {esc(q.get("rules", "?"))}'
            f'{", imatrix" if q.get("imatrix") else ""}. GB = 10^9 bytes.</p><figure>'
            + hbars(bars, label_w=140, aria="quantized sizes") + "<figcaption>Size of each scheme next to the "
            "checkpoint as stored.</figcaption></figure>"
            + table(["scheme", "what", "size", "bytes", "bpw"], rows, numeric_from=2) + "</section>")


def _findings(d: dict) -> str:
    out = []
    fs = d.get("findings") or []
    if fs:
        out.append('<section aria-labelledby="h-f"><h2 id="h-f">Findings</h2><ul>')
        for f in fs:
            out.append(f'<li><span class="{esc(f.get("severity"))}">{esc(f.get("severity"))}[{esc(f.get("rule"))}]'
                       f'</span> <code>{esc(f.get("file") or "")}</code>: {esc(f.get("message"))}</li>')
        out.append("</ul></section>")
    notes = d.get("notes") or []
    if notes:
        out.append('<section aria-labelledby="h-n"><h2 id="h-n">Notes</h2><ul class="notes">'
                   + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul></section>")
    return "".join(out)


_ = (COMPONENT_LABELS, COMPONENTS)
