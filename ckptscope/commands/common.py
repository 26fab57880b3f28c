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
    p.add_argument("--catalog", action="store_true",
                   help="a Hub repo id from ckptscope's bundled catalog, no network (numbers reconstructed from the "
                        "real config.json, not read from the Hub; every output says so)")
    add_network_arguments(p)
    p.add_argument("--variant", metavar="NAME",
                   help="Diffusers weight variant to read (fp16, ...; default: the full-precision files)")


def _seconds(s: str) -> float:
    import argparse

    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {s!r}") from None
    if not 0 < v <= 86400:
        raise argparse.ArgumentTypeError(f"must be between 0 and 86400 seconds, not {s}")
    return v


def add_network_arguments(p) -> None:
    p.add_argument("--quiet", "-q", action="store_true", help="no progress indicator and no retry lines")
    p.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                   help="give up on the Hub after SECONDS in all (default: CKPTSCOPE_TIMEOUT or 60); each request "
                        "waits at most HF_HUB_DOWNLOAD_TIMEOUT / HF_HUB_ETAG_TIMEOUT (default 20 s)")


def open_from_args(args, *, strict: bool = True, tokenizer: bool = True):
    from ..api import open_checkpoint

    return open_checkpoint(args.source, revision=args.revision, token=args.token, offline=args.offline,
                           strict=strict, tokenizer=tokenizer, quiet=args.quiet or not sys.stderr.isatty(),
                           catalog=getattr(args, "catalog", False), timeout=getattr(args, "timeout", None),
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
