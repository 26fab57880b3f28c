"""`ckptscope diff A B`: what changed between two checkpoints, from metadata alone. Exit 0 the same, 1 different,
2 error (like diff(1))."""

from __future__ import annotations

DESCRIPTION = """\
Compare two checkpoints from their metadata (config.json, tokenizer, safetensors headers; never the weights):
tensors added, removed and changed (dtype, shape), parameter and byte deltas by component and dtype, config.json
fields that changed and what each change means, tokenizer changes (vocabulary size, added and special tokens),
quantization changes. Unchanged things are not listed. Hub revisions are read header-only.

exit codes: 0 the same, 1 different, 2 error (either side could not be read).

examples:
  ckptscope diff ORG/NAME@main ./export            # before an upload: what will change on the Hub
  ckptscope diff ./before ./after --format markdown > comment.md
  ckptscope diff ORG/NAME@v1.0 ORG/NAME@main --json
  ckptscope diff old.ckpt.gz ./model --format github
"""

FORMATS = ("text", "json", "markdown", "github", "html")
FALLBACK_KINDS = ("catalog", "hub-cache")  #: sources that stand in for the Hub when it cannot be reached


def add_arguments(p) -> None:
    p.add_argument("a", metavar="A", help="folder, .safetensors file, snapshot file, or Hub repo (ORG/NAME[@REV])")
    p.add_argument("b", metavar="B", help="the same kinds of source as A")
    p.add_argument("--token", help="Hub token (default: HF_TOKEN or the saved login)")
    p.add_argument("--offline", action="store_true", default=None, help="never touch the network")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    p.add_argument("--no-tokenizer", action="store_true", help="do not read or compare the tokenizers")
    p.add_argument("--output", "-o", metavar="FILE", help="write the comparison to FILE instead of stdout")


def _load(spec: str, args):
    from ..api import build_report
    from ..checkpoint import load_checkpoint
    from ..sources import open_source

    from ..errors import SourceError

    source = open_source(spec, token=args.token, offline=args.offline, quiet=True)
    if source.kind in FALLBACK_KINDS and not args.offline:
        # the Hub could not be reached and the source fell back to a local copy: never compared silently
        why = source.notes[0].split(": ")[0] if source.notes else "the Hub could not be reached"
        raise SourceError(f"not read from the Hub ({why}); diff compares what the Hub holds now, or, with "
                          "--offline, the cached or bundled copy", spec)
    ck = load_checkpoint(source, strict=True, tokenizer=not args.no_tokenizer)
    return ck, build_report(ck)


def run(args) -> int:
    from ..analysis.diff import diff
    from ..errors import CkptError
    from ..format.diff import render
    from .common import write

    a, ra = _load(args.a, args)
    b, rb = _load(args.b, args)
    d = diff(a, ra, b, rb)
    for side, ck in (("A", a), ("B", b)):
        if ck.source.kind in FALLBACK_KINDS:  # only with --offline: say where the numbers came from
            d["notes"].append(f"{side}: " + "; ".join(ck.source.notes))
    text = render(d, args.format)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text if text.endswith("\n") else text + "\n")
        except OSError as e:
            raise CkptError(f"cannot write ({e.strerror or e})", args.output) from None
    else:
        write(text)
    return 0 if d["same"] else 1
