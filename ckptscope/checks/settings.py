"""Per-repository settings: ``.ckptscope.toml`` (top level) or ``[tool.ckptscope]`` in ``pyproject.toml``.

Keys (all optional)::

    select = ["ST", "IX"]        # replaces the default rule set ("ALL" = every rule, default-off ones included)
    extend-select = ["TK006"]    # added to it
    ignore = ["IX008"]
    strict = true                # warnings fail the check
    [severity]                   # per-rule overrides ([tool.ckptscope.severity] in pyproject.toml)
    CF001 = "error"

Command-line ``--select`` replaces the file's ``select``; ``--ignore`` and ``--extend-select`` add to the file's.
"""

from __future__ import annotations

import sys

from ..errors import CkptError
from .registry import RULES, SEVERITIES, expand

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FILES = (".ckptscope.toml", "pyproject.toml")


def _list(v, key: str, file: str) -> list[str]:
    if isinstance(v, str):
        v = [x for x in v.split(",")]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise CkptError(f"'{key}' must be a list of rule ids", file)
    try:
        expand(v)
    except KeyError as e:
        raise CkptError(f"'{key}' names unknown rule {e.args[0]!r}", file) from None
    return [x.strip() for x in v if x.strip()]


def parse_settings(data: bytes, file: str) -> dict:
    """The ckptscope table of a settings file as ``{select, extend_select, ignore, strict, severity}``."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CkptError(f"is not valid TOML ({e})", file) from None
    table = doc if file.endswith(".ckptscope.toml") else doc.get("tool", {}).get("ckptscope")
    if not isinstance(table, dict):
        return {}
    out: dict = {}
    for key in table:
        if key not in ("select", "extend-select", "ignore", "strict", "severity"):
            raise CkptError(f"unknown setting {key!r} (select, extend-select, ignore, strict, severity)", file)
    for key in ("select", "extend-select", "ignore"):
        if key in table:
            out[key.replace("-", "_")] = _list(table[key], key, file)
    if "strict" in table:
        if not isinstance(table["strict"], bool):
            raise CkptError("'strict' must be true or false", file)
        out["strict"] = table["strict"]
    sev = table.get("severity", {})
    if not isinstance(sev, dict):
        raise CkptError("'severity' must be a table of RULE = \"error\"|\"warning\"|\"info\"", file)
    for k, v in sev.items():
        if k.upper() not in RULES:
            raise CkptError(f"'severity' names unknown rule {k!r}", file)
        if v not in SEVERITIES:
            raise CkptError(f"severity of {k} must be one of {', '.join(SEVERITIES)}, not {v!r}", file)
    if sev:
        out["severity"] = {k.upper(): v for k, v in sev.items()}
    return out


def read_settings(source, cli=None):
    """Options for a run: the repository's settings file (first of ``FILES`` that has a ckptscope table),
    overridden by the command line's."""
    from . import CheckOptions

    cli = cli or CheckOptions()
    files = source.list_files()
    found: dict = {}
    for name in FILES:
        if name in files:
            found = parse_settings(source.read_file(name), name)
            if found:
                break
    found, refused = protect_pk(found)
    return CheckOptions(
        select=cli.select if cli.select else found.get("select"),
        extend_select=list(found.get("extend_select", [])) + list(cli.extend_select),
        ignore=list(found.get("ignore", [])) + list(cli.ignore),
        strict=bool(cli.strict or found.get("strict", False)),
        severity={**found.get("severity", {}), **cli.severity},
        allow_globals=list(cli.allow_globals),
        refused=refused,
    )


def protect_pk(found: dict) -> tuple[dict, list[str]]:
    """The scanned repository cannot switch off its own security check: PK rules it ignores, leaves out of its
    ``select`` or downgrades in ``[severity]`` are restored (upgrades are kept). Returns (settings, what was
    refused)."""
    pk = {r for r in RULES if r.startswith("PK") and RULES[r].default}
    rank = {s: i for i, s in enumerate(SEVERITIES)}  # error 0 < warning 1 < info 2
    out, refused = dict(found), []
    if "ignore" in out:
        keep = []
        for item in out["ignore"]:
            hit = expand([item]) & pk
            if hit:
                refused.append(f"ignore {item}")
                keep += sorted(expand([item]) - pk)
            else:
                keep.append(item)
        out["ignore"] = keep
    if out.get("select") is not None:
        missing = pk - expand(out["select"])
        if missing:
            refused.append(f"select without {', '.join(sorted(missing))}")
            out["select"] = list(out["select"]) + sorted(missing)
    sev = dict(out.get("severity", {}))
    for k, v in list(sev.items()):
        if k in RULES and k.startswith("PK") and rank[v] > rank[RULES[k].severity]:
            refused.append(f"severity {k} = {v!r}")
            del sev[k]
    if "severity" in out:
        out["severity"] = sev
    return out, refused
