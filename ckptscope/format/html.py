"""Self-contained HTML reports: one file, inline CSS and SVG, a few lines of plain JavaScript, no network.

``render(kind, data)`` turns what a command produced (``inspect``'s Report, ``estimate``'s plan, ``check``'s
result) into a page; each kind is one small page module registered in ``PAGES`` (``html_inspect``,
``html_estimate``, ``html_check``, ``html_diff``). Adding a command (``scan``) is one more module with
``render(data) -> (title, subtitle, body_html, json_dict[, extra_css])`` and one line in ``PAGES``.

Formatters only format: every number on a page is one the command's JSON has too (the page embeds that JSON in a
``<script type="application/json" id="ckptscope-data">`` block), printed with the text output's number formats.
Geometry (treemap tiling, bar lengths) is the only arithmetic here.
"""

from __future__ import annotations

import html as _html
import importlib
import json
from importlib import resources

from .. import __version__
from ..units import human_bytes, human_count

PAGES = {
    "inspect": "ckptscope.format.html_inspect",
    "estimate": "ckptscope.format.html_estimate",
    "check": "ckptscope.format.html_check",
    "diff": "ckptscope.format.html_diff",
}

#: Okabe-Ito (colour-blind safe), then two more distinguishable tones; CSS variables --c0 .. --c9
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999", "#7a5195",
           "#6b8e23"]


def esc(s) -> str:
    return _html.escape(str(s), quote=True)


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def tint(colour: str, f: float) -> str:
    """``colour`` mixed with white by ``f`` (0: itself, 1: white)."""
    r, g, b = _rgb(colour)
    return "#%02x%02x%02x" % tuple(round(v + (255 - v) * f) for v in (r, g, b))


def text_on(colour: str) -> str:
    """Black or white, whichever contrasts more with ``colour`` (WCAG relative luminance)."""
    def lin(v: int) -> float:
        v = v / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(v) for v in _rgb(colour))
    L = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if (L + 0.05) / 0.05 >= 1.05 / (L + 0.05) else "#ffffff"


def hb(n) -> str:
    """Bytes as the text tables print them (``653.91 GB``)."""
    return human_bytes(n, both=False) if isinstance(n, (int, float)) else "?"


def hb2(n) -> str:
    """Bytes with GiB, as the text summary prints them (``688.57 GB (641.29 GiB)``)."""
    return human_bytes(n) if isinstance(n, (int, float)) else "?"


def hc(n) -> str:
    return human_count(n) if isinstance(n, (int, float)) else "?"


def num(n) -> str:
    return f"{n:,}" if isinstance(n, int) else ("?" if n is None else str(n))


def pct(n, total) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def asset(name: str) -> str:
    return resources.files("ckptscope.format").joinpath("html_assets", name).read_text(encoding="utf-8")


def table(cols: list[str], rows: list[list[str]], caption: str | None = None, numeric_from: int = 1) -> str:
    """A plain table; cells are HTML already escaped by the caller. Columns from ``numeric_from`` align right."""
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    n = ' class="n"'
    out.append("<thead><tr>" + "".join(
        f'<th{n if i >= numeric_from else ""} scope="col">{esc(c)}</th>' for i, c in enumerate(cols))
        + "</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f'<td{n if i >= numeric_from else ""}>{c}</td>'
                                    for i, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def hbars(rows: list[tuple[str, float, str, str]], *, label_w: int = 230, width: int = 1000, bar_h: int = 22,
          ref: float | None = None, ref_label: str | None = None, aria: str = "bar chart") -> str:
    """Horizontal bars: (label, value, value text, colour). ``ref`` draws a dashed reference line."""
    mx = max([v for _, v, _, _ in rows] + ([ref] if ref else []) + [1])
    plot = width - label_w - 150
    h = len(rows) * (bar_h + 6) + 8 + (18 if ref else 0)
    out = [f'<svg viewBox="0 0 {width} {h}" role="img" aria-label="{esc(aria)}">']
    y = 4
    for label, v, vt, col in rows:
        w = max(0.0, plot * v / mx)
        out.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">{esc(label)}</text>'
                   f'<rect x="{label_w}" y="{y}" width="{w:.2f}" height="{bar_h}" fill="{col}" rx="2">'
                   f'<title>{esc(label)}: {esc(vt)}</title></rect>'
                   f'<text x="{label_w + w + 6:.2f}" y="{y + bar_h * 0.7:.1f}">{esc(vt)}</text>')
        y += bar_h + 6
    if ref:
        x = label_w + plot * ref / mx
        out.append(f'<line class="capline" x1="{x:.2f}" x2="{x:.2f}" y1="0" y2="{y}"/>'
                   f'<text x="{x:.2f}" y="{y + 13}" text-anchor="middle">{esc(ref_label or "")}</text>')
    out.append("</svg>")
    return "".join(out)


def legend(items: list[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(
        f'<span><span class="swatch" style="background:{c}"></span>{esc(t)}</span>' for t, c in items) + "</div>"


def page(title: str, subtitle: str, body: str, data: dict, kind: str, css: str = "") -> str:
    blob = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=_default)
    blob = blob.replace("</", "<\\/").replace("<!--", "<\\!--")
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f'<meta name="generator" content="ckptscope {esc(__version__)}">\n',
        f"<title>{esc(title)} \u2014 ckptscope {esc(kind)}</title>\n",
        "<style>\n", asset("report.css"), css, "\n</style>\n</head>\n<body>\n",
        f"<header><h1>{esc(title)}</h1><p class=\"sub\">{subtitle}</p></header>\n<main>\n",
        body,
        "\n</main>\n",
        f'<footer class="foot">Generated by ckptscope {esc(__version__)} ({esc(kind)}) from metadata alone '
        "(config.json, tokenizer and safetensors headers; no weight was read). The JSON this page was drawn from "
        "is embedded below (<code>script#ckptscope-data</code>).</footer>\n",
        f'<script type="application/json" id="ckptscope-data">{blob}</script>\n',
        "<script>\n", asset("report.js"), "</script>\n</body>\n</html>\n",
    ])


def _default(o):
    if isinstance(o, (set, tuple)):
        return list(o)
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return str(o)


def render(kind: str, data) -> str:
    """The page for ``kind`` ("inspect", "estimate", "check", ...) from that command's result."""
    mod = importlib.import_module(PAGES[kind])
    title, subtitle, body, blob, *css = mod.render(data)
    return page(title, subtitle, body, blob, kind, css[0] if css else "")
