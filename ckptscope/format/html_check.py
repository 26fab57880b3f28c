"""The HTML page of ``check``: the verdict first, then findings grouped by severity and rule, each with its path
and how to fix it; the rules that ran last. Reads the check result's ``to_dict()`` (the JSON output) only."""

from __future__ import annotations

from .html import esc, num, table

SEVERITY_ORDER = ("error", "warning", "info")


def render(result) -> tuple:
    d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    s = d.get("summary") or {}
    e, w, i = s.get("errors", 0), s.get("warnings", 0), s.get("info", 0)
    n_rules = s.get("rules_run", 0)
    code = s.get("exit_code")
    failed = code not in (0, None)
    title = str(d.get("source") or "check")
    if failed:
        verdict = (f"Failed: {e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''}, {i} info"
                   + (" [strict]" if d.get("strict") else ""))
    elif e or w or i:
        verdict = f"Passed with {w} warning{'s' if w != 1 else ''} and {i} info"
    else:
        verdict = f"All checks passed: {n_rules} rules"
    cls = "bad" if failed else ("warn" if (e or w) else "ok")
    body = [f'<section aria-labelledby="h-v"><h2 id="h-v">Verdict</h2><p class="verdict {cls}" id="verdict">'
            f"{esc(verdict)}</p><p class=\"sub\">exit code {esc(code)} \u00b7 {num(n_rules)} rules run on "
            f"{esc(title)}</p>"]
    sup = s.get("suppressed") or {}
    if sup:
        body.append('<p class="sub">Not shown (over the per-rule limit): '
                    + esc(", ".join(f"{k} \u00d7{v:,}" for k, v in sup.items())) + "</p>")
    body.append("</section>")
    fs = d.get("findings") or []
    if fs:
        body.append('<section aria-labelledby="h-f"><h2 id="h-f">Findings</h2>')
        order = {k: n for n, k in enumerate(SEVERITY_ORDER)}
        by_sev: dict[str, dict[str, list]] = {}
        for f in sorted(fs, key=lambda f: (order.get(f.get("severity"), 9), f.get("rule", ""))):
            by_sev.setdefault(f.get("severity", "?"), {}).setdefault(f.get("rule", "?"), []).append(f)
        rules = {r.get("id"): r for r in d.get("rules") or [] if isinstance(r, dict)}
        for sev, by_rule in by_sev.items():
            body.append(f'<h3 class="{esc(sev)}">{esc(sev)} ({sum(len(v) for v in by_rule.values())})</h3>')
            for rule, items in by_rule.items():
                summ = (rules.get(rule) or {}).get("summary", "")
                body.append(f'<h4><code>{esc(rule)}</code> {esc(summ)} ({len(items)})</h4><ul>')
                for f in items:
                    where = f.get("path") or f.get("file") or d.get("source") or ""
                    if f.get("tensor"):
                        where = f"{where}:{f['tensor']}"
                    fix = f'<br><span class="fix">fix: {esc(f["fix"])}</span>' if f.get("fix") else ""
                    body.append(f'<li class="finding"><span class="where">{esc(where)}</span><br>'
                                f"{esc(f.get('message', ''))}{fix}</li>")
                body.append("</ul>")
        body.append("</section>")
    rules = d.get("rules") or []
    if rules:
        rows = [[f"<code>{esc(r.get('id'))}</code>", esc(r.get("severity", "")), esc(r.get("summary", ""))]
                for r in rules if isinstance(r, dict)]
        body.append('<section aria-labelledby="h-r"><h2 id="h-r">Rules run</h2><details><summary>'
                    f"{len(rows)} rules</summary>" + table(["rule", "severity", "what it checks"], rows,
                                                            numeric_from=9) + "</details></section>")
    notes = d.get("notes") or []
    if notes:
        body.append('<section aria-labelledby="h-n"><h2 id="h-n">Notes</h2><ul class="notes">'
                    + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul></section>")
    subtitle = esc(f"ckptscope check \u00b7 {e} error(s), {w} warning(s), {i} info")
    return title, subtitle, "\n".join(body), d
