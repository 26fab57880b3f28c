"""`ckptscope check --format github`: GitHub Actions workflow commands (annotations on the PR's files)."""

from __future__ import annotations

from ..checks.registry import RULES

LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(s: str) -> str:
    return _data(s).replace(":", "%3A").replace(",", "%2C")


def render(result) -> str:
    lines = []
    if result.provenance:
        lines.append(f"::warning title={_prop('ckptscope provenance')}::{_data(result.source + ': ' + result.provenance)}")
    for f in result.findings:
        props = []
        path = result.path(f)
        if path:
            props.append(f"file={_prop(path)}")
        props.append(f"title={_prop('ckptscope ' + f.rule)}")
        where = f"{f.tensor}: " if f.tensor else ""
        fix = RULES[f.rule].fix if f.rule in RULES else ""
        msg = f"{where}{f.message}" + (f" (fix: {fix})" if fix else "")
        lines.append(f"::{LEVEL[f.severity]} {','.join(props)}::{_data(msg)}")
    e, w, i = result.count("error"), result.count("warning"), result.count("info")
    lines.append(f"ckptscope check {result.source}: {e} error(s), {w} warning(s), {i} info"
                 + (f" ({result.provenance})" if result.provenance else ""))
    return "\n".join(lines) + "\n"
