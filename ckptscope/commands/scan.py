"""`ckptscope scan`: inspect and check many Hub repos concurrently, one JSONL record per repo."""

from __future__ import annotations

DESCRIPTION = """\
Scan many Hub repos in one process: for each, read the metadata (config.json, tokenizer, safetensors headers;
never the weights), run the `check` rules and count parameters and bytes, --jobs repos at a time. Repos come from
a Hub listing (--author ORG, --search TEXT, both) or a file of ids (--from FILE, one ORG/NAME a line). A repo
that cannot be read is recorded with its error and the scan goes on.

--output F writes one compact JSON record per repo as it finishes:
  {"repo", "sha", "basis", "family", "parameters": {"total", "by_dtype", "active"}, "bytes": {"total",
   "by_dtype"}, "check": {"summary", "findings"}, "read": {"requests", "bytes"}, "seconds"}
  or {"repo", "sha"?, "error", "seconds"} when the repo could not be read.
--resume appends to F and skips the repos F already holds at the same commit (the commit comes from the listing,
or one model-info request per id from a file): their headers are not read again. When a repo appears twice in
F (it changed between runs), the last line is the current one.

exit codes: 0 every repo clean (no error finding, none failed), 1 some repo has an error finding (warnings too
with --strict) or could not be read, 2 usage error or the listing itself failed.

examples:
  ckptscope scan --author my-org --output my-org.jsonl
  ckptscope scan --author my-org --output my-org.jsonl --resume      # nightly: only what changed
  ckptscope scan --from repos.txt --jobs 32 --output audit.jsonl --select PK,ST,IX
  ckptscope scan --search llama --limit 200 --output -               # records on stdout, summary on stderr
"""


def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def add_arguments(p) -> None:
    from ..batch import DEFAULT_JOBS

    src = p.add_argument_group("which repos")
    src.add_argument("--author", metavar="ORG", help="every model of a user or organisation")
    src.add_argument("--search", metavar="TEXT", help="models whose id contains TEXT (with --author: within it)")
    src.add_argument("--from", dest="from_file", metavar="FILE", help="repo ids, one ORG/NAME a line (# comments)")
    src.add_argument("--limit", type=int, metavar="N", help="at most N repos")
    p.add_argument("--jobs", "-j", type=int, default=DEFAULT_JOBS, metavar="N",
                   help=f"repos read at once (default: {DEFAULT_JOBS})")
    p.add_argument("--output", "-o", metavar="FILE", help="write the JSONL records to FILE ('-': stdout)")
    p.add_argument("--resume", action="store_true", help="append to --output, skipping repos it has at the same commit")
    p.add_argument("--token", help="Hub token (default: HF_TOKEN or the saved login)")
    p.add_argument("--no-tokenizer", action="store_true", help="skip the tokenizer files and rules")
    p.add_argument("--select", type=_csv, metavar="RULE,...", help="rules to run instead of the default set")
    p.add_argument("--extend-select", type=_csv, default=[], metavar="RULE,...", help="rules to add to the set")
    p.add_argument("--ignore", type=_csv, default=[], metavar="RULE,...", help="rules not to run")
    p.add_argument("--strict", action="store_true", help="warnings count as errors")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _usage(args) -> None:
    from ..checks.registry import expand
    from ..errors import CkptError

    if args.from_file and (args.author or args.search):
        raise CkptError("--from cannot be combined with --author/--search")
    if not (args.from_file or args.author or args.search):
        raise CkptError("say which repos: --author ORG, --search TEXT or --from FILE")
    if args.jobs < 1 or args.jobs > 256:
        raise CkptError(f"--jobs must be between 1 and 256 (got {args.jobs})")
    if args.limit is not None and args.limit < 1:
        raise CkptError(f"--limit must be at least 1 (got {args.limit})")
    if args.resume and (not args.output or args.output == "-"):
        raise CkptError("--resume needs --output FILE (the records of the earlier run)")
    for key in ("select", "extend_select", "ignore"):
        try:
            expand(getattr(args, key))
        except KeyError as e:
            raise CkptError(f"--{key.replace('_', '-')}: unknown rule {e.args[0]!r} (see check --list-rules)") from None


def run(args) -> int:
    import json
    import sys

    from ..batch import listing
    from ..batch.engine import ResumeIndex, ScanOptions, Scanner
    from ..errors import CkptError
    from ..format.scan import render_summary

    _usage(args)
    resume = ResumeIndex.load(args.output) if args.resume else None
    if args.from_file:
        repos = listing.from_file(args.from_file, args.limit)
    else:
        repos = listing.from_hub(args.author, args.search, args.token, args.limit)
    out = None
    if args.output == "-":
        out = sys.stdout
    elif args.output:
        try:
            out = open(args.output, "a" if args.resume else "w", encoding="utf-8")
        except OSError as e:
            raise CkptError(f"cannot write ({e.strerror or e})", args.output) from None

    def sink(rec: dict) -> None:
        if out is not None:
            out.write(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n")
            out.flush()

    opts = ScanOptions(select=args.select, extend_select=args.extend_select, ignore=args.ignore,
                       strict=args.strict, token=args.token, tokenizer=not args.no_tokenizer)
    scanner = Scanner(opts, jobs=args.jobs, resume=resume)
    bar = None
    if not args.quiet and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        bar = Progress(SpinnerColumn(), TextColumn("scan"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=Console(stderr=True), transient=True)
    try:
        if bar is not None:
            with bar:
                task = bar.add_task("scan", total=args.limit)
                summary = scanner.run(repos, sink, lambda n: bar.update(task, completed=n))
        else:
            summary = scanner.run(repos, sink)
    finally:
        if out is not None and out is not sys.stdout:
            out.close()
    text = render_summary(summary, color=False)
    stream = sys.stderr if out is sys.stdout else sys.stdout
    stream.write(text)
    return summary.exit_code
