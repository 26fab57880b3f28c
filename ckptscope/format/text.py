"""Human output for `inspect`: a short summary, then breakdown tables (rich)."""

from __future__ import annotations

import io

from ..analysis.classify import COMPONENT_LABELS
from ..report import Report
from ..units import human_bytes, human_count

BY_CHOICES = ("component", "dtype", "layer", "file")


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def summary_lines(r: Report) -> list[str]:
    p, b, m = r.parameters, r.bytes, r.model
    out = []
    src = r.source
    rev = f" @ {src['revision'][:12]}" if src.get("revision") else ""
    out.append(f"[bold]{src.get('name')}[/bold]{rev}  ({src.get('kind')})")
    if src.get("provenance_label"):
        out.append(f"[yellow]Source      {src['provenance_label']}[/yellow]")
    if m.get("architecture"):
        arch = f"{m['architecture']} ({m.get('model_type')})"
        from .facts import model_facts

        extra = model_facts(m, p)
        out.append(f"Model       {arch} · " + " · ".join(extra))
    else:
        out.append("Model       (no config.json)")
    if r.basis == "config":
        out.append("[yellow]Basis       predicted from config.json alone (no safetensors headers)[/yellow]")
    total, w = p.get("total", 0), p.get("weights", 0)
    out.append(f"Parameters  {human_count(total)} ({total:,}) in all tensors")  # == JSON parameters.total
    side = [f"{p['quant_side_elements']:,} quantization-scale elements" if p.get("quant_side_elements") else "",
            f"{p['buffer_elements']:,} buffer elements" if p.get("buffer_elements") else ""]
    side = [x for x in side if x]
    if side or p.get("mtp"):
        line = f"            = {human_count(w)} weights ({w:,})"
        if p.get("mtp"):
            line += f": {human_count(p['main'])} main + {human_count(p['mtp'])} MTP"
        out.append(line + "".join(f" + {x}" for x in side))
    act = p.get("active")
    if act:
        out.append(f"Active      {human_count(act['total'])} per token ({act['total']:,}; top-{act['experts_per_token']}"
                   f" of {act['experts']} experts; {human_count(act['non_embedding'])} without embedding and head)")
    if p.get("packed_logical"):
        st = p["stored_elements"]["total"]
        out.append(f"            packed low-bit weights: {p['packed_logical']:,} logical parameters; "
                   f"{st:,} stored elements in all")
    dt = ", ".join(f"{k} {human_count(v)}" for k, v in p.get("by_dtype", {}).items())
    if dt:
        out.append(f"By dtype    {dt}")
    nfiles = len(r.source.get("weights") or [])
    size = f"Size        {human_bytes(b.get('total', 0))} of tensor data"
    if nfiles:
        size += f" in {nfiles} file{'s' if nfiles != 1 else ''} ({b.get('files_total', 0):,} bytes with headers)"
    out.append(size + f" · {r.tensors.get('count', 0):,} tensors")
    return out


def terminal_width(default: int = 100) -> int:
    """COLUMNS when set, else the terminal's width, else ``default`` (output to a file or pipe)."""
    import os
    import shutil

    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return max(40, int(env))
    cols = shutil.get_terminal_size((default, 24)).columns
    return max(40, cols)


def _table(title: str, cols: list[str], rows: list[list[str]]):
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for i, c in enumerate(cols):
        # numbers never wrap nor get cut; names (first column) fold onto more lines when the terminal is narrow
        if i == 0:
            t.add_column(c, justify="left", overflow="fold", ratio=1)
        else:
            t.add_column(c, justify="right", no_wrap=True, overflow="fold")
    for row in rows:
        t.add_row(*row)
    return t


def breakdown_table(r: Report, by: str):
    p, b = r.parameters, r.bytes
    tot_p, tot_b = p.get("total", 0), b.get("total", 0)
    if by == "component":
        rows = []
        for comp, n in p.get("by_component", {}).items():
            nb = b.get("by_component", {}).get(comp, 0)
            rows.append([COMPONENT_LABELS.get(comp, comp), f"{n:,}", _pct(n, tot_p), human_bytes(nb, both=False),
                         _pct(nb, tot_b)])
        return _table("By component", ["component", "parameters", "%", "bytes", "%"], rows)
    if by == "dtype":
        rows = []
        for dt, n in p.get("by_dtype", {}).items():
            nb = b.get("by_dtype", {}).get(dt, 0)
            rows.append([dt, f"{n:,}", _pct(n, tot_p), f"{r.tensors['by_dtype'].get(dt, 0):,}",
                         human_bytes(nb, both=False), _pct(nb, tot_b)])
        return _table("By dtype", ["dtype", "parameters", "%", "tensors", "bytes", "%"], rows)
    if by == "layer":
        rows = []
        for L in r.by_layer:
            kind = "MTP" if L.get("mtp") else ("MoE" if "moe_experts" in L["components"] else "dense")
            rows.append([L["layer"], kind, f"{L['tensors']:,}", f"{L['parameters']:,}", human_bytes(L["bytes"], both=False)])
        return _table("By layer", ["layer", "kind", "tensors", "parameters", "bytes"], rows)
    if by == "file":
        rows = []
        for f in r.files:
            if f.get("kind") == "safetensors":
                rows.append([f["name"], f"{f['tensors']:,}", f"{f['size']:,}" if f["size"] is not None else "?",
                             f"{f['header_bytes']:,}"])
        return _table("By file", ["file", "tensors", "bytes", "header bytes"], rows)
    raise ValueError(by)


MIN_NAME_COLUMN = 16  #: narrower than this for the names, a table is printed as one block per row instead


def fit(table, width: int):
    """``table`` when its number columns leave room for the names at ``width``; otherwise the same rows as
    plain lines (name, then each number with its column header), so no number and no name is ever cut."""
    cols = table.columns
    need = sum(max([len(str(c.header))] + [len(str(x)) for x in c._cells]) + 3 for c in cols[1:])
    if width - need >= MIN_NAME_COLUMN or not cols:
        return table
    from rich.text import Text

    lines = [str(table.title or "")]
    for i in range(len(cols[0]._cells)):
        lines.append(str(cols[0]._cells[i]))
        lines.append("   " + "  ".join(f"{c.header} {c._cells[i]}" for c in cols[1:]))
    return Text("\n".join(lines), overflow="fold")


def modules_table(r: Report):
    """Diffusers components / Sentence Transformers modules with their own counts (repo kinds)."""
    rows = []
    tot = r.parameters.get("total", 0)
    for name, m in r.sections["modules"].items():
        if not isinstance(m, dict) or (m.get("class") is None and not m.get("parameters")):
            continue
        n = m.get("parameters")
        weights = {"missing": "NO WEIGHTS", "pickle": "pickle (not read)"}.get(m.get("weights"), "")
        rows.append([name, str(m.get("class") or ""), f"{n:,}" if n is not None else weights or "?",
                     _pct(n, tot) if n else "", human_bytes(m["bytes"], both=False) if m.get("bytes") else "",
                     ", ".join(m.get("dtypes") or {}), m.get("variant") or ""])
    return _table("By module", ["module", "class", "parameters", "%", "bytes", "dtypes", "variant"], rows)


def largest_table(r: Report, n: int = 5):
    rows = [[t["name"], t["dtype"], "x".join(map(str, t["shape"])), human_bytes(t["bytes"], both=False)]
            for t in r.tensors.get("largest", [])[:n]]
    return _table("Largest tensors", ["tensor", "dtype", "shape", "bytes"], rows)


def render(r: Report, by: list[str] | None = None, color: bool = False, width: int | None = None) -> str:
    from rich.console import Console

    width = width or terminal_width()
    buf = io.StringIO()
    con = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False)
    for line in summary_lines(r):
        con.print(line)
    for extra in _extra_sections(r):
        con.print(extra)
    if r.sections.get("modules"):
        con.print()
        con.print(modules_table(r))
    if r.tensors.get("count"):
        for b in by or ["component"]:
            con.print()
            con.print(fit(breakdown_table(r, b), width))
        if not by:
            con.print()
            con.print(fit(largest_table(r), width))
    if r.findings:
        con.print()
        for f in r.findings:
            loc = f.file or ""
            con.print(f"{f.severity}[{f.rule}] {loc}: {f.message}")
    for note in r.notes:
        con.print(f"[dim]note: {note}[/dim]")
    return buf.getvalue()


def _extra_sections(r: Report) -> list[str]:
    """One-line summaries contributed by later stages (reconciliation, tokenizer check, ...)."""
    out = []
    for key, sec in r.sections.items():
        if isinstance(sec, dict) and sec.get("summary"):
            label = sec.get("label", key)
            out.append(f"{label:<11} {sec['summary']}")
    return out
