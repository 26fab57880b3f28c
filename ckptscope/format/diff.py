"""`ckptscope diff` output: text, Markdown (a PR comment) and GitHub Actions annotations. They draw the plain dict
``analysis.diff.diff()`` returns and compute nothing of their own; ``--json`` prints that dict."""

from __future__ import annotations

import json

from ..units import human_bytes, human_count

LIST_MAX = 100  #: entries of one kind printed in text and Markdown (the JSON has them all)


def _shape(s) -> str:
    return "[" + ", ".join(str(x) for x in s) + "]"


def _v(v) -> str:
    s = json.dumps(v, separators=(", ", ": "), default=str)
    return s if len(s) <= 80 else s[:77] + "..."


def _signed(n: int | None) -> str:
    return "?" if n is None else f"{n:+,}"


def _who(side: dict) -> str:
    rev = side.get("revision")
    rev = f" @ {rev[:12]}" if rev and side.get("kind") != "local" else ""
    return f"{side.get('name')}{rev} ({side.get('kind')}, {side.get('basis')})"


def _clean(s: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(s))


def _config_label(file: str | None) -> str:
    """``config.json`` for Hugging Face checkpoints; ``config (GGUF metadata)`` where the config was read from
    another container's metadata."""
    if not file or file.rsplit("/", 1)[-1] == "config.json":
        return "config.json"
    return "config (" + file.split("(", 1)[1] if "(" in file else "config"


def changes(d: dict) -> list[dict]:
    """Every difference as one item: ``{section, kind, name, text}`` (kind: added, removed, changed)."""
    out: list[dict] = []
    t = d["tensors"]
    for e in t["added"]:
        out.append({"section": "tensors", "kind": "added", "name": e["name"],
                    "text": f"tensor added: {e['name']} {e['dtype']} {_shape(e['shape'])} ({e['component']})"})
    for e in t["removed"]:
        out.append({"section": "tensors", "kind": "removed", "name": e["name"],
                    "text": f"tensor removed: {e['name']} {e['dtype']} {_shape(e['shape'])} ({e['component']})"})
    for e in t["changed"]:
        parts = []
        if "dtype" in e["changes"]:
            parts.append(f"dtype {e['a']['dtype']} -> {e['b']['dtype']}")
        if "shape" in e["changes"]:
            parts.append(f"shape {_shape(e['a']['shape'])} -> {_shape(e['b']['shape'])}")
        out.append({"section": "tensors", "kind": "changed", "name": e["name"],
                    "text": f"tensor changed: {e['name']} {', '.join(parts)}"})
    cfg = _config_label(d["config"].get("file"))
    for f in d["config"]["fields"]:
        if f["change"] == "changed":
            txt = f"{cfg} {f['field']}: {_v(f['a'])} -> {_v(f['b'])}"
        elif f["change"] == "added":
            txt = f"{cfg} {f['field']} added: {_v(f['b'])}"
        else:
            txt = f"{cfg} {f['field']} removed (was {_v(f['a'])})"
        if f.get("meaning"):
            txt += f" ({f['meaning']})"
        imp = f.get("implies_b") if f["change"] != "removed" else f.get("implies_a")
        if imp and imp != f.get("implies_a"):
            txt += f"; now: {imp}"
        out.append({"section": "config", "kind": f["change"], "name": f["field"], "text": txt})
    tk = d["tokenizer"]
    for c in tk.get("changes", []):
        if c["what"] == "tokenizer":  # read on one side only
            side, src = ("A", c["a"]) if c["a"] else ("B", c["b"])
            out.append({"section": "tokenizer", "kind": "removed" if side == "A" else "added", "name": "tokenizer",
                        "text": f"tokenizer only in {side} (from {src})"})
            continue
        out.append({"section": "tokenizer", "kind": "changed", "name": c["what"],
                    "text": f"tokenizer {c['what']}: {_v(c['a'])} -> {_v(c['b'])}"})
    for kind, lst in (("added", tk.get("added_tokens", {}).get("added", [])),
                      ("removed", tk.get("added_tokens", {}).get("removed", []))):
        for e in lst:
            sp = " (special)" if e["special"] else ""
            out.append({"section": "tokenizer", "kind": kind, "name": str(e["content"]),
                        "text": f"added token {kind}: id {e['id']} {_v(e['content'])}{sp}"})
    for s in tk.get("special_tokens", []):
        out.append({"section": "tokenizer", "kind": "changed", "name": s["role"],
                    "text": f"special token {s['role']}: {_v(s['a'])} (id {s['a_id']}) -> {_v(s['b'])} "
                            f"(id {s['b_id']})"})
    for c in d["quantization"]["changes"]:
        out.append({"section": "quantization", "kind": "changed", "name": c["what"],
                    "text": f"quantization {c['what']}: {_v(c['a'])} -> {_v(c['b'])}"})
    return out


def _totals_lines(d: dict) -> list[str]:
    lines = []
    tot = d["totals"]
    for key, fmt in (("parameters", human_count), ("bytes", human_bytes)):
        s = tot[key]
        t = s["total"]
        if not (t["delta"] or s["by_component"] or s["by_dtype"]):
            continue
        a = "?" if t["a"] is None else fmt(t["a"])
        b = "?" if t["b"] is None else fmt(t["b"])
        lines.append(f"{key}: {a} -> {b} ({_signed(t['delta'])})")
        for by in ("by_component", "by_dtype"):
            if s[by]:
                lines.append(f"  {by.replace('_', ' ')}: " +
                             ", ".join(f"{k} {_signed(v['delta'])}" for k, v in s[by].items()))
    return lines


def _listed(items: list[dict]) -> tuple[list[dict], int]:
    return items[:LIST_MAX], max(0, len(items) - LIST_MAX)


def render_text(d: dict) -> str:
    lines = [f"A: {_who(d['a'])}", f"B: {_who(d['b'])}", ""]
    items = changes(d)
    if d["same"]:
        lines.append("No differences: tensors, parameters, bytes, config.json, tokenizer and quantization agree.")
    else:
        t = d["tensors"]
        if t["compared"]:
            lines.append(f"tensors: {t['count']['a']:,} -> {t['count']['b']:,} (+{len(t['added'])} added, "
                         f"-{len(t['removed'])} removed, ~{len(t['changed'])} changed)")
        by_section: dict[str, list[dict]] = {}
        for it in items:
            by_section.setdefault(it["section"], []).append(it)
        for section in ("tensors", "config", "tokenizer", "quantization"):
            its = by_section.get(section)
            if not its:
                continue
            shown, more = _listed(its)
            for it in shown:
                mark = {"added": "+", "removed": "-", "changed": "~"}[it["kind"]]
                lines.append(f"  {mark} {_clean(it['text'])}")
            if more:
                lines.append(f"  ... and {more:,} more {section} differences (--json lists them all)")
        lines.extend(_totals_lines(d))
    for n in d["notes"]:
        lines.append(f"note: {n}")
    return "\n".join(lines) + "\n"


def _md(s: str) -> str:
    return _clean(s).replace("|", "\\|").replace("`", "'")


def render_markdown(d: dict) -> str:
    a, b = d["a"], d["b"]
    out = [f"### ckptscope diff: `{_md(a['name'])}` → `{_md(b['name'])}`", ""]
    if d["same"]:
        out.append("No differences: tensors, parameters, bytes, config.json, tokenizer and quantization agree.")
    else:
        items = changes(d)
        t = d["tensors"]
        if t["compared"]:
            out.append(f"**Tensors**: {t['count']['a']:,} → {t['count']['b']:,} (+{len(t['added'])} added, "
                       f"−{len(t['removed'])} removed, ~{len(t['changed'])} changed)")
            out.append("")
        tot = d["totals"]
        rows = []
        for key, fmt in (("parameters", human_count), ("bytes", human_bytes)):
            s = tot[key]
            if s["total"]["delta"]:
                rows.append(f"| {key} | total | {fmt(s['total']['a'])} | {fmt(s['total']['b'])} | "
                            f"{_signed(s['total']['delta'])} |")
            for by in ("by_component", "by_dtype"):
                for k, v in s[by].items():
                    rows.append(f"| {key} | {_md(k)} | {v['a']:,} | {v['b']:,} | {_signed(v['delta'])} |")
        if rows:
            out += ["| | | A | B | Δ |", "|---|---|--:|--:|--:|", *rows, ""]
        if items:
            shown, more = _listed(items)
            out += ["| | section | change |", "|---|---|---|"]
            for it in shown:
                mark = {"added": "➕", "removed": "➖", "changed": "✏️"}[it["kind"]]
                out.append(f"| {mark} | {it['section']} | {_md(it['text'])} |")
            if more:
                out.append(f"| | | … and {more:,} more (`--json` lists them all) |")
            out.append("")
    for n in d["notes"]:
        out.append(f"> {_md(n)}")
    out.append("")
    out.append(f"<sub>A: {_md(_who(a))} · B: {_md(_who(b))} · metadata only, no weights read</sub>")
    return "\n".join(out) + "\n"


def render_github(d: dict) -> str:
    """One ``::notice`` per difference (a removed tensor or a dtype/shape change is a ``::warning``), then a
    summary line. Workflow-command data is escaped the way GitHub requires."""
    from .github import _data, _prop

    lines = []
    for it in changes(d):
        level = "warning" if it["section"] == "tensors" and it["kind"] in ("removed", "changed") else "notice"
        title = _prop(f"ckptscope diff: {it['section']} {it['kind']}")
        lines.append(f"::{level} title={title}::{_data(it['text'])}")
    n = len(lines)
    lines.append(f"ckptscope diff {d['a']['name']} {d['b']['name']}: " +
                 ("no differences" if d["same"] else f"{n} difference(s)"))
    return "\n".join(lines) + "\n"


def render(d: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(d, indent=2, ensure_ascii=False, default=str)
    if fmt == "markdown":
        return render_markdown(d)
    if fmt == "github":
        return render_github(d)
    if fmt == "html":
        from .html import render as render_html

        return render_html("diff", d)
    return render_text(d)
