"""`ckptscope check SOURCE`: CI checks for a model repository. Exit 0 no error, 1 an error rule fired, 2 the
check could not run."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Check a model repository the way a CI gate should: safetensors integrity, index vs shards, metadata files,
pickles (scanned statically, never loaded), config vs tensors, tokenizer vs embedding. Reads metadata only.

exit codes: 0 no error, 1 an error rule fired (warnings too with --strict), 2 the check could not run (the
input could not be read, nothing to read, the Hub unreachable or too slow, usage error), 3 internal error.
Settings: [tool.ckptscope] in the repository's pyproject.toml, or .ckptscope.toml (select, extend-select,
ignore, strict, severity).

examples:
  ckptscope check ./my-model
  ckptscope check ./my-model --strict --ignore IX008
  ckptscope check ./my-model --format sarif --output ckptscope.sarif
  ckptscope check ./my-model --format html --output ckptscope.html   # one page, no network; keep as a CI artifact
  ckptscope check --list-rules
"""

FORMATS = ("text", "json", "github", "sarif", "junit", "html")


def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def add_arguments(p) -> None:
    p.add_argument("source", metavar="SOURCE", nargs="?",
                   help="local folder, .safetensors file, snapshot file, or Hub repo id (ORG/NAME[@REV])")
    p.add_argument("--revision", help="Hub branch, tag or commit (default: main)")
    p.add_argument("--token", help="Hub token (default: HF_TOKEN or the saved login)")
    p.add_argument("--offline", action="store_true", default=None, help="never touch the network")
    p.add_argument("--catalog", action="store_true",
                   help="check the bundled catalog's snapshot of a Hub repo id, no network (reconstructed, not "
                        "read from the Hub; every output says so)")
    from .common import add_network_arguments

    add_network_arguments(p)
    p.add_argument("--variant", metavar="NAME", help="Diffusers weight variant to count (default: full precision); "
                                                       "every variant is still compared")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    p.add_argument("--select", type=_csv, metavar="RULE,...",
                   help="rules to run instead of the default set (ids or prefixes like ST; ALL for every rule)")
    p.add_argument("--extend-select", type=_csv, default=[], metavar="RULE,...", help="rules to add to the set")
    p.add_argument("--ignore", type=_csv, default=[], metavar="RULE,...", help="rules not to run")
    p.add_argument("--strict", action="store_true", help="warnings fail the check too")
    p.add_argument("--allow-global", action="append", default=[], metavar="MODULE.NAME",
                   help="accept this pickle global (repeatable; listed in the output as PK006); only the command "
                        "line can do this, never the repository's settings")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--list-rules", action="store_true", help="print every rule and exit")


def render_text(result) -> str:
    from ..checks.registry import RULES

    lines = [f"note: every finding below is on data {result.provenance}"] if result.provenance else []
    for f in result.findings:
        loc = result.path(f) or result.source
        if f.tensor:
            loc += f":{_clean(f.tensor)}"
        fix = RULES[f.rule].fix if f.rule in RULES else ""
        lines.append(f"{loc}: {f.rule} {f.severity}: {_clean(f.message)}" + (f" [fix: {fix}]" if fix else ""))
    e, w, i = result.count("error"), result.count("warning"), result.count("info")
    if not result.findings:
        lines.append(f"All checks passed: {len(result.rules_run)} rules on {result.source}"
                     + (f" ({result.provenance})" if result.provenance else ""))
    else:
        plural = lambda n, s: f"{n} {s}{'s' if n != 1 else ''}"  # noqa: E731
        lines.append(f"Found {plural(e, 'error')}, {plural(w, 'warning')}, {i} info "
                     f"({len(result.rules_run)} rules on {result.source})" + (" [strict]" if result.strict else ""))
    return "\n".join(lines) + "\n"


def _clean(s: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def list_rules() -> str:
    from ..checks.registry import RULES

    out = []
    for r in RULES.values():
        flag = "" if r.default else "  (off by default)"
        out.append(f"{r.id}  {r.severity:<7}  {r.summary}{flag}")
    return "\n".join(out) + "\n"


def run(args) -> int:
    from ..gcpause import held_off

    with held_off():
        return _run(args)


def _run(args) -> int:
    import os
    import sys

    from ..errors import CkptError
    from .common import write

    if args.list_rules:
        write(list_rules())
        return 0
    if not args.source:
        raise CkptError("SOURCE is required (a folder, .safetensors file or Hub repo id)")
    from ..checks import CheckOptions, load_for_check, load_options, run_checks
    from ..checks.registry import expand
    from ..sources import open_source

    for key in ("select", "extend_select", "ignore"):
        try:
            expand(getattr(args, key))
        except KeyError as e:
            raise CkptError(f"--{key.replace('_', '-')}: unknown rule {e.args[0]!r} (see --list-rules)") from None
    source = open_source(args.source, revision=args.revision, token=args.token, offline=args.offline,
                         quiet=args.quiet or not sys.stderr.isatty(), catalog=args.catalog, timeout=args.timeout,
                         pickles=True)
    opts = load_options(source, CheckOptions(select=args.select, extend_select=args.extend_select,
                                             ignore=args.ignore, strict=args.strict,
                                             allow_globals=[g for a in args.allow_global for g in _csv(a)]))
    ck = load_for_check(source, variant=args.variant)
    result = run_checks(ck, opts, source_name=args.source)
    if source.kind == "local":
        spec = os.path.normpath(args.source)
        result.root = os.path.dirname(spec) if os.path.isfile(spec) else spec
    if args.format == "json" and ck.has_weights:
        from ..checks.summary import summary_of

        p = summary_of(ck)["parameters"]
        result.parameters = {"total": p["total"], "by_dtype": p["by_dtype"]}
    text = _render(result, args.format)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            raise CkptError(f"cannot write ({e.strerror or e})", args.output) from None
        if args.format != "text":
            write(render_text(result))
    else:
        write(text)
    return result.exit_code


def _render(result, fmt: str) -> str:
    if fmt == "json":
        import json

        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    if fmt == "github":
        from ..format.github import render
    elif fmt == "sarif":
        from ..format.sarif import render
    elif fmt == "junit":
        from ..format.junit import render
    elif fmt == "html":
        from ..format.html import render as r_html

        return r_html("check", result)
    else:
        render = render_text
    return render(result)


_ = argparse  # keep the import light: argparse only
