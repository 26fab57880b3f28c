"""Arguments shared by the subcommands that open a checkpoint."""

from __future__ import annotations

import sys


def add_source_arguments(p) -> None:
    p.add_argument("source", metavar="SOURCE",
                   help="local folder, .safetensors file, snapshot file, or Hub repo id (ORG/NAME[@REV] or URL)")
    p.add_argument("--revision", help="Hub branch, tag or commit (default: main)")
    p.add_argument("--token", help="Hub token (default: HF_TOKEN or the saved login)")
    p.add_argument("--offline", action="store_true", default=None,
                   help="never touch the network: Hub cache, then the bundled snapshot catalog")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--variant", metavar="NAME",
                   help="Diffusers weight variant to read (fp16, ...; default: the full-precision files)")


def open_from_args(args, *, strict: bool = True, tokenizer: bool = True):
    from ..api import open_checkpoint

    return open_checkpoint(args.source, revision=args.revision, token=args.token, offline=args.offline,
                           strict=strict, tokenizer=tokenizer, quiet=args.quiet or not sys.stderr.isatty(),
                           **({"variant": args.variant} if getattr(args, "variant", None) else {}))


def write(text: str) -> None:
    sys.stdout.write(text)
    if not text.endswith("\n"):
        sys.stdout.write("\n")


def add_output_argument(p) -> None:
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")


def emit(text: str, output: str | None) -> None:
    """Write ``text`` to ``output`` (a file path) or stdout; an unwritable path is one clear error."""
    if not output:
        write(text)
        return
    from ..errors import CkptError

    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as e:
        raise CkptError(f"cannot write ({e.strerror or e})", output) from None
