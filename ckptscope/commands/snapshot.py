"""`ckptscope snapshot SOURCE -o FILE`: everything inspect needs, in one small file."""

from __future__ import annotations

from .common import add_source_arguments

DESCRIPTION = """\
Write one small compressed file with everything `inspect` needs from a checkpoint: config files, a tokenizer
summary, every safetensors header, the file list with sizes, the revision, and when and where it was taken.
`ckptscope inspect FILE` reads it back with no network. The output is deterministic (sorted, one tensor per line
once decompressed), so snapshots can be committed, diffed (`zdiff a.ckpt.gz b.ckpt.gz`) and attached to bug
reports. A FILE ending in .json is written uncompressed.

exit codes: 0 written; 2 the input could not be read or is invalid, nothing to read, the Hub unreachable or too slow
(--timeout), usage error; 3 internal error (a bug; --debug shows it).

examples:
  ckptscope snapshot deepseek-ai/DeepSeek-V3 -o deepseek-v3.ckpt.gz
  ckptscope snapshot ./my-model -o my-model.ckpt.json
  ckptscope inspect deepseek-v3.ckpt.gz
"""


def add_arguments(p) -> None:
    add_source_arguments(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="snapshot file to write (.ckpt.gz or .json)")
    p.add_argument("--no-tokenizer", action="store_true", help="leave out the tokenizer summary")


def run(args) -> int:
    import sys

    from ..sources import snapshot
    from .common import open_from_args

    ck = open_from_args(args, tokenizer=not args.no_tokenizer)  # validated like inspect: corrupt input is refused
    snap = snapshot.from_checkpoint(ck)
    try:
        n = snapshot.write(snap, args.output)
    except OSError as e:
        from ..errors import CkptError

        raise CkptError(f"cannot write ({e.strerror or e})", args.output) from None
    rev = f" @ {ck.source.revision[:12]}" if ck.source.revision else ""
    print(f"wrote {args.output}: {len(ck.files)} files, {len(ck.headers)} headers, {len(ck.tensors):,} tensors, "
          f"{n:,} bytes ({ck.source.display}{rev})", file=sys.stderr)
    if ck.problems:
        print(f"note: {len(ck.problems)} problem(s) recorded in the snapshot (see `ckptscope inspect "
              f"{args.output}`)", file=sys.stderr)
    return 0
