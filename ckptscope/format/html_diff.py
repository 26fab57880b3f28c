"""The HTML page of ``diff``: same or different first, then the totals (A, B, delta; deltas by component as bars)
and every change grouped by section. Reads the dict ``analysis.diff.diff()`` returns (the ``--json`` output)."""

from __future__ import annotations

from .diff import changes
from .html import esc, hb, hc, hbars, num, table


def _signed(n) -> str:
    return "?" if not isinstance(n, int) else f"{n:+,}"


def render(d: dict) -> tuple:
    a, b = d.get("a") or {}, d.get("b") or {}
    title = f"{a.get('name')} \u2192 {b.get('name')}"
    items = changes(d)
    same = bool(d.get("same"))
    verdict = "No differences" if same else f"{len(items):,} difference(s)"
    body = [f'<section aria-labelledby="h-v"><h2 id="h-v">Verdict</h2><p class="verdict {"ok" if same else "warn"}" '
            f'id="verdict">{esc(verdict)}</p>'
            + table(["side", "source", "kind", "basis"],
                    [[s, esc(x.get("name")), esc(x.get("kind")), esc(x.get("basis"))] for s, x in (("A", a), ("B", b))],
                    numeric_from=9) + "</section>"]
    tot = d.get("totals") or {}
    rows, bars = [], []
    for key, fmt in (("parameters", hc), ("bytes", hb)):
        s = tot.get(key) or {}
        t = s.get("total") or {}
        if t:
            rows.append([esc(key), esc(fmt(t.get("a"))) if t.get("a") is not None else "?",
                         esc(fmt(t.get("b"))) if t.get("b") is not None else "?", esc(_signed(t.get("delta")))])
        if key == "bytes":
            for comp, v in (s.get("by_component") or {}).items():
                dl = v.get("delta") if isinstance(v, dict) else None
                if isinstance(dl, int) and dl:
                    sign = "+" if dl > 0 else "\u2212"
                    bars.append((comp, abs(dl), f"{sign}{hb(abs(dl))}",
                                 "#0072B2" if dl > 0 else "#D55E00"))
    if rows:
        body.append('<section aria-labelledby="h-t"><h2 id="h-t">Totals</h2>'
                    + table(["", "A", "B", "delta"], rows))
        if bars:
            body.append("<figure>" + hbars(bars, label_w=200, aria="byte deltas by component")
                        + "<figcaption>Byte change by component (blue: more in B, vermilion: less).</figcaption>"
                          "</figure>")
        body.append("</section>")
    if items:
        body.append('<section aria-labelledby="h-c"><h2 id="h-c">Changes</h2>')
        by: dict[str, list] = {}
        for it in items:
            by.setdefault(it["section"], []).append(it)
        for sec, lst in by.items():
            body.append(f"<h3>{esc(sec)} ({num(len(lst))})</h3><ul>"
                        + "".join(f'<li class="{esc(it["kind"])}">{esc(it["text"])}</li>' for it in lst[:500])
                        + "</ul>" + (f'<p class="sub">{len(lst) - 500:,} more in the JSON.</p>' if len(lst) > 500 else ""))
        body.append("</section>")
    return title, esc(f"ckptscope diff \u00b7 {verdict}"), "\n".join(body), d
