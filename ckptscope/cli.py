"""The command line: parse arguments, call the library, pick a formatter, set the exit code.

Each subcommand lives in ``ckptscope/commands/<name>.py`` with ``add_arguments(parser)`` and ``run(args) -> int``;
those modules import nothing heavy at the top, so ``ckptscope --help`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__

COMMANDS = {
    "inspect": ("ckptscope.commands.inspect", "what is in a checkpoint: parameters and bytes by component, dtype, layer"),
    "estimate": ("ckptscope.commands.estimate", "memory to serve or fine-tune it: weights, KV cache, per GPU, what fits"),
    "explain": ("ckptscope.commands.explain", "each config.json field in plain words, with what it implies for this model"),
    "snapshot": ("ckptscope.commands.snapshot", "save a checkpoint's metadata to one small file for offline use"),
    "check": ("ckptscope.commands.check", "CI checks for a model repository: exit 1 when an error rule fires"),
    "diff": ("ckptscope.commands.diff", "what changed between two checkpoints: tensors, totals, config, tokenizer"),
    "scan": ("ckptscope.commands.scan", "inspect and check many Hub repos at once (an org, a list, a search): JSONL"),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ckptscope",
        description="Inspect Hugging Face checkpoints from metadata alone (config.json, tokenizer, safetensors "
                    "headers): exact parameters and bytes, quantized sizes, memory, and CI checks.",
    )
    p.add_argument("--version", action="version", version=f"ckptscope {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (modname, help_) in COMMANDS.items():
        mod = importlib.import_module(modname)
        sp = sub.add_parser(name, help=help_, description=getattr(mod, "DESCRIPTION", help_),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        mod.add_arguments(sp)
        sp.set_defaults(_module=modname)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from .errors import CkptError

    try:
        mod = importlib.import_module(args._module)
        return int(mod.run(args) or 0)
    except CkptError as e:
        print(f"ckptscope: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("ckptscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except MemoryError:
        print("ckptscope: error: out of memory", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - last resort: one line, no traceback unless asked
        if getattr(args, "debug", False):
            raise
        print(f"ckptscope: internal error: {type(e).__name__}: {e} (run with --debug for details)", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
