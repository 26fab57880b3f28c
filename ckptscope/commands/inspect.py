"""`ckptscope inspect SOURCE`: what is in a checkpoint."""

from __future__ import annotations

from .common import add_source_arguments, open_from_args, write

DESCRIPTION = """\
Read config.json, the tokenizer and every safetensors header (never the weights) and report parameters and
bytes by component, dtype, layer and file. Where only config.json is present, the numbers are predicted.

exit codes: 0 done; 2 the input could not be read or is invalid, nothing to read, the Hub unreachable or too slow
(--timeout), usage error; 3 internal error (a bug; --debug shows it).

examples:
  ckptscope inspect ./my-model
  ckptscope inspect model.safetensors --by dtype --by layer
  ckptscope inspect deepseek-ai/DeepSeek-V3 --json
  ckptscope inspect ./my-model --format markdown >> README.md
"""


def add_arguments(p) -> None:
    add_source_arguments(p)
    p.add_argument("--by", action="append", choices=("component", "dtype", "layer", "file"),
                   help="breakdown table(s) to show (repeatable; default: component and largest tensors)")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="output format")
    p.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    p.add_argument("--no-tokenizer", action="store_true", help="skip reading the tokenizer")


def run(args) -> int:
    from ..api import build_report

    ck = open_from_args(args, tokenizer=not args.no_tokenizer)
    report = build_report(ck)
    if args.format == "json":
        from ..format.jsonfmt import render as r_json

        write(r_json(report))
    elif args.format == "markdown":
        from ..format.markdown import render as r_md

        write(r_md(report))
    else:
        import sys

        from ..format.text import render as r_text

        write(r_text(report, by=args.by, color=sys.stdout.isatty()))
    return 0

