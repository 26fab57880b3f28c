"""`ckptscope inspect SOURCE`: what is in a checkpoint."""

from __future__ import annotations

from .common import add_output_argument, add_source_arguments, emit, open_from_args

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
  ckptscope inspect ./my-model --format html --output report.html --quant q4_k_m,q8_0,fp8,int4,nf4
"""


def add_arguments(p) -> None:
    add_source_arguments(p)
    p.add_argument("--by", action="append", choices=("component", "dtype", "layer", "file"),
                   help="breakdown table(s) to show (repeatable; default: component and largest tensors)")
    p.add_argument("--format", choices=("text", "json", "markdown", "html"), default="text",
                   help="output format (html: one self-contained page with a treemap, no network)")
    p.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    add_output_argument(p)
    p.add_argument("--layout", action="store_true",
                   help="add the folded layout (component -> layer kind -> tensor) to the report (always in html)")
    p.add_argument("--quant", metavar="LIST",
                   help="add predicted quantized sizes to the report (as estimate --quant: q4_k_m,q8_0,fp8,int4,nf4...)")
    p.add_argument("--no-tokenizer", action="store_true", help="skip reading the tokenizer")


def run(args) -> int:
    from ..gcpause import held_off

    with held_off():
        return _run(args)


def _run(args) -> int:
    from ..api import build_report

    ck = open_from_args(args, tokenizer=not args.no_tokenizer)
    report = build_report(ck)
    if args.layout or args.format == "html":
        from ..analysis.layout import add_layout

        add_layout(ck, report)
    if getattr(args, "quant", None):
        from .quantopts import build_section

        report.sections["quantized"] = build_section(args, ck)
    out = getattr(args, "output", None)
    if args.format == "json":
        from ..format.jsonfmt import render as r_json

        emit(r_json(report), out)
    elif args.format == "markdown":
        from ..format.markdown import render as r_md

        emit(r_md(report), out)
    elif args.format == "html":
        from ..format.html import render as r_html

        emit(r_html("inspect", report), out)
    else:
        import sys

        from ..format.text import render as r_text

        emit(r_text(report, by=args.by, color=sys.stdout.isatty() and not out), out)
    return 0

