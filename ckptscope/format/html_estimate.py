"""The HTML page of ``estimate``: per-GPU memory of each set-up as stacked bars against the GPU's capacity, at the
context lengths the planner was run for (``context_sweep``, analysis.memory.sweep). The selector only shows one
pre-computed chart or another (radio buttons and CSS); no memory formula lives here or in JavaScript.

Tolerant of the planner's shape: any ``per_gpu`` key other than ``total`` becomes a segment."""

from __future__ import annotations

from .html import esc, hb, hb2, hc, legend, num, table

W = 1000
SEG_COLOURS = {"weights": "#0072B2", "kv_cache": "#E69F00", "activations": "#009E73", "overhead": "#999999"}
SPARE = ["#56B4E9", "#D55E00", "#CC79A7", "#F0E442", "#7a5195", "#6b8e23"]


def _label(k: str) -> str:
    return k.replace("_", " ").replace("kv cache", "KV cache")


def _segments(points: list[dict]) -> list[str]:
    keys: list[str] = []
    for pt in points:
        for s in pt.get("setups") or []:
            for k, v in (s.get("per_gpu") or {}).items():
                if k != "total" and isinstance(v, (int, float)) and k not in keys:
                    keys.append(k)
    order = [k for k in SEG_COLOURS if k in keys] + [k for k in keys if k not in SEG_COLOURS]
    return order


def _colour(k: str, keys: list[str]) -> str:
    if k in SEG_COLOURS:
        return SEG_COLOURS[k]
    extra = [x for x in keys if x not in SEG_COLOURS]
    return SPARE[extra.index(k) % len(SPARE)]


def _total(s: dict) -> int:
    pg = s.get("per_gpu") or {}
    t = pg.get("total")
    return t if isinstance(t, (int, float)) else sum(v for k, v in pg.items() if isinstance(v, (int, float)))


def _chart(pt: dict, keys: list[str], scale: float, cap: int | None, gpu: str) -> str:
    setups = pt.get("setups") or []
    label_w, bar_h = 190, 26
    plot = W - label_w - 170
    h = len(setups) * (bar_h + 10) + 30
    out = [f'<svg viewBox="0 0 {W} {h}" role="img" aria-label="memory per GPU at {pt["context"]:,} tokens">']
    y = 6
    for s in setups:
        out.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.68:.1f}" text-anchor="end">{esc(s["setup"])}</text>')
        x = label_w
        for k in keys:
            v = (s.get("per_gpu") or {}).get(k)
            if not isinstance(v, (int, float)) or v <= 0:
                continue
            w = plot * v / scale
            out.append(f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar_h}" fill="{_colour(k, keys)}">'
                       f"<title>{esc(s['setup'])}: {esc(_label(k))} {esc(hb2(v))}</title></rect>")
            x += w
        tot = _total(s)
        fit = ""
        if "fits" in s:
            fit = " \u2713 fits" if s["fits"] else " \u2717 does not fit"
        out.append(f'<text x="{x + 6:.2f}" y="{y + bar_h * 0.68:.1f}">{esc(hb(tot))}{esc(fit)}</text>')
        y += bar_h + 10
    if cap:
        cx = label_w + plot * cap / scale
        out.append(f'<line class="capline" x1="{cx:.2f}" x2="{cx:.2f}" y1="0" y2="{y}"/>'
                   f'<text x="{cx:.2f}" y="{y + 14}" text-anchor="middle">{esc(gpu)}: {esc(hb(cap))} per GPU</text>')
    out.append("</svg>")
    return "".join(out)


def _point_table(pt: dict, keys: list[str]) -> str:
    rows = []
    for s in pt.get("setups") or []:
        pg = s.get("per_gpu") or {}
        fit = ("fits, " + hb(s["headroom"]) + " headroom" if s.get("fits") else
               "does NOT fit, short by " + hb(-s["headroom"])) if "fits" in s and "headroom" in s else "-"
        rows.append([esc(s["setup"])] + [esc(hb(pg[k])) if isinstance(pg.get(k), (int, float)) else "-" for k in keys]
                    + [esc(hb(_total(s))), esc(fit)])
    return table(["set-up"] + [_label(k) for k in keys] + ["total per GPU", "on the GPU"], rows,
                 f"Per GPU at {pt['context']:,} tokens")


def render(result: dict) -> tuple:
    r = dict(result)
    m = r.get("model") or {}
    title = str(r.get("source") or m.get("architecture") or "estimate")
    w = r.get("weights") or {}
    inf = r.get("inference") or {}
    gpus = r.get("gpus") or {}
    gpu = gpus.get("spec") or ""
    sweep = r.get("context_sweep") or {}
    points = sweep.get("points") or []
    kv = r.get("kv_cache") or {}
    req = kv.get("context")
    subtitle = esc(f"{m.get('architecture')} \u00b7 memory per GPU \u00b7 tensor parallel {inf.get('tensor_parallel', 1)}"
                   + (f" \u00b7 on {gpu}" if gpu else " \u00b7 no GPU given (add --gpus to compare with one)"))
    facts = [("Weights", f"{esc(hb2(w.get('bytes')))} \u00b7 {esc(hc(w.get('parameters')))} parameters "
                         f"[{esc(w.get('basis'))}]"),
             ("KV cache", f"{esc(kv.get('kv_dtype'))}, {esc(kv.get('attention'))}: "
                          f"{num((kv.get('bytes_per_token') or {}).get('all_layers'))} B/token; "
                          f"{num(req)} tokens \u00d7 batch {esc(kv.get('batch'))} = {esc(hb2(kv.get('bytes')))}")]
    if "fits" in inf:
        h = inf.get("headroom", 0)
        facts.append(("Verdict", f'<span class="{"ok" if inf["fits"] else "bad"}"><b>'
                      + (f"fits on {esc(gpu)}, {esc(hb2(h))} headroom" if inf["fits"] else
                         f"does NOT fit on {esc(gpu)}, short by {esc(hb2(-h))}") + "</b></span>"))
        mc = inf.get("max_context") or {}
        if mc.get("tokens"):
            facts.append(("Largest context", f"{num(mc['tokens'])} tokens ({esc(mc.get('note', ''))})"))
    body = ['<section aria-labelledby="h-sum"><h2 id="h-sum">Summary</h2><dl class="facts">'
            + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in facts) + "</dl></section>"]
    css = ""
    if not points:  # no sweep: the single plan
        points = [{"context": req or 0, "kv_cache_bytes": kv.get("bytes"),
                   "setups": [{"setup": "as stored", "per_gpu": inf.get("per_gpu") or {},
                               **{k: inf[k] for k in ("fits", "headroom", "capacity_per_gpu") if k in inf}}]}]
    keys = _segments(points)
    cap = inf.get("capacity_per_gpu") or next(
        (s.get("capacity_per_gpu") for pt in points for s in pt.get("setups") or [] if s.get("capacity_per_gpu")), None)
    scale = max([_total(s) for pt in points for s in pt.get("setups") or []] + [cap or 0, 1]) * 1.02
    default = next((i for i, pt in enumerate(points) if pt["context"] == req), len(points) - 1)
    sel, blocks, rules = [], [], []
    for i, pt in enumerate(points):
        checked = " checked" if i == default else ""
        sel.append(f'<input type="radio" name="ctx" id="ctx-{i}"{checked}><label for="ctx-{i}"> '
                   f'{pt["context"]:,}</label>')
        cls = "ctx def" if i == default else "ctx"
        blocks.append(f'<div class="{cls} ctx-{i}"><h3>{pt["context"]:,} tokens per sequence'
                      + (" (requested)" if i == default else "") + "</h3><figure>"
                      + _chart(pt, keys, scale, cap, gpu) + "</figure>" + _point_table(pt, keys) + "</div>")
        if i != default:
            rules.append(f"#ctx-{i}:checked ~ .ctxs .ctx.def {{ display: none; }}")
        rules.append(f"#ctx-{i}:checked ~ .ctxs .ctx-{i} {{ display: block; }}")
    css = "\n".join(rules)
    body.append('<section aria-labelledby="h-mem"><h2 id="h-mem">Memory per GPU</h2>'
                '<p class="sub">Stacked: ' + ", ".join(_label(k) for k in keys) + ". Each context length below was "
                "computed by the planner (the selector only shows another pre-computed chart).</p>"
                + legend([(_label(k), _colour(k, keys)) for k in keys])
                + '<div class="switch" role="radiogroup" aria-label="context length">'
                  '<span>context (tokens):</span></div>'
                + "".join(sel) + '<div class="ctxs">' + "".join(blocks) + "</div></section>")
    if len(points) > 1:
        names = [s["setup"] for s in points[0].get("setups") or []]
        rows = []
        for pt in points:
            by = {s["setup"]: s for s in pt.get("setups") or []}
            cells = [num(pt["context"]), esc(hb(pt.get("kv_cache_bytes")))]
            for n in names:
                s = by.get(n)
                if s is None:
                    cells.append("-")
                    continue
                mark = "" if "fits" not in s else (" \u2713" if s["fits"] else " \u2717")
                cells.append(esc(hb(_total(s)) + mark))
            rows.append(cells)
        body.append('<section aria-labelledby="h-all"><h2 id="h-all">All context lengths</h2>'
                    + table(["context", "KV cache (all GPUs)"] + [f"{n}: per GPU" for n in names], rows,
                            "Total per GPU (\u2713 fits, \u2717 does not)") + "</section>")
    notes = list(r.get("assumptions") or []) + list(kv.get("notes") or [])
    if notes:
        body.append('<section aria-labelledby="h-as"><h2 id="h-as">Assumptions</h2><ul class="notes">'
                    + "".join(f"<li>{esc(a)}</li>" for a in notes) + "</ul></section>")
    return title, subtitle, "\n".join(body), r, css
