"""The scan engine: the inspect and check work of many Hub repos, concurrently, in one process.

- ``scan_repo(repo_id)`` opens one repo through the Hub source (metadata only: model info, small files, the
  safetensors headers), runs the checks and builds the report, and returns one compact record (plain data).
  Any failure becomes ``{"repo", "error"}``: one repo never stops the scan.
- ``Scanner.run(repos)`` feeds a bounded thread pool from a lazy iterator of ``(repo_id, sha)`` and hands each
  record to a sink as soon as it is finished (in completion order). At most ``2 x jobs`` repos are in flight and
  no record is kept after the sink has it, so memory does not grow with the number of repos.
- ``--resume``: ``ResumeIndex`` remembers, for each successful record already in the output, one 64-bit digest
  of ``repo@sha``; a repo whose listed commit (or, for ids from a file, the commit one model-info request
  reports) is there is skipped without opening it: no header is read again.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from ..errors import CkptError, SourceError

from . import DEFAULT_JOBS  # noqa: E402,F401 - re-exported
FLAGGED_SHOWN = 50  #: flagged repos named in the summary (the JSONL has them all)


@dataclass
class ScanOptions:
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    strict: bool = False
    token: str | None = None
    tokenizer: bool = True


# ------------------------------------------------------------------------------------------------ one repo

def _record(repo_id: str, source, ck, result, report) -> dict:
    rec: dict = {"repo": repo_id, "sha": source.revision}
    if report is not None:
        p, b = report.parameters, report.bytes
        arch = report.sections.get("architecture") or {}
        active = (arch.get("active") or {}).get("active") if isinstance(arch.get("active"), dict) else None
        rec["basis"] = report.basis  # "headers": read; "config": predicted from config.json
        rec["family"] = arch.get("family") or (report.model or {}).get("model_type")
        rec["parameters"] = {"total": p.get("total"), "by_dtype": p.get("by_dtype", {}), "active": active}
        rec["bytes"] = {"total": b.get("total"), "by_dtype": b.get("by_dtype", {})}
    summary = result.to_dict()["summary"]
    rec["check"] = {"summary": summary, "findings": [f.to_dict() for f in result.findings]}
    st = source.stats
    rec["read"] = {"requests": st.requests, "bytes": st.bytes}
    return rec


def scan_repo(repo_id: str, opts: ScanOptions) -> dict:
    """One repo's record: parameters, bytes, family and the check result, or ``error`` when it cannot be read."""
    from ..api import build_report
    from ..checkpoint import load_checkpoint
    from ..checks import CheckOptions, load_options, run_checks
    from ..sources.hub import HubSource

    t0 = time.monotonic()
    source = None
    try:
        source = HubSource.open(repo_id, token=opts.token, offline=False, quiet=True)
        if source.kind != "hub":  # the Hub was unreachable and the source fell back to a cache or the catalog
            raise SourceError(f"not read from the Hub (it could not be reached; a scan never uses the {source.kind} "
                              "copy)", repo_id)
        copts = load_options(source, CheckOptions(select=opts.select, extend_select=opts.extend_select,
                                                  ignore=opts.ignore, strict=opts.strict))
        ck = load_checkpoint(source, strict=False, tokenizer=opts.tokenizer)
        result = run_checks(ck, copts, source_name=repo_id)
        report = build_report(ck)
        rec = _record(repo_id, source, ck, result, report)
    except CkptError as e:  # "FILE: message", without the repo id the record already names
        err = e.message if e.file in (None, repo_id) or str(e.file).startswith(repo_id + "@") else str(e)
        rec = {"repo": repo_id, "sha": getattr(source, "revision", None), "error": err}
    except Exception as e:  # noqa: BLE001 - recorded; the scan goes on
        rec = {"repo": repo_id, "sha": getattr(source, "revision", None),
               "error": f"internal error: {type(e).__name__}: {str(e)[:200]}"}
    if rec.get("sha") is None:
        rec.pop("sha", None)
    rec["seconds"] = round(time.monotonic() - t0, 3)
    return rec


def current_sha(repo_id: str, token: str | None) -> str | None:
    """The repo's current commit from one model-info request (for ids from a file under --resume); None when
    it cannot be had (the repo is then scanned, and its record says why it failed)."""
    from ..sources.hub import HubEnv, _model_info

    try:
        info, _, _ = _model_info(repo_id, None, HubEnv.current(token))
        return info.sha
    except Exception:  # noqa: BLE001
        return None


# ------------------------------------------------------------------------------------------------ resume

def _digest(repo: str, sha: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{repo}@{sha}".encode(), digest_size=8).digest(), "little")


class ResumeIndex:
    """``repo@sha`` of the successful records already in an output file, as 64-bit digests (flagged or not)."""

    def __init__(self) -> None:
        self.clean: set[int] = set()
        self.flagged: set[int] = set()

    @classmethod
    def load(cls, path: str) -> "ResumeIndex":
        idx = cls()
        try:
            fh = open(path, encoding="utf-8")
        except FileNotFoundError:
            return idx
        except OSError as e:
            raise CkptError(f"cannot read ({e.strerror or e})", path) from None
        with fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut short by an interrupted run: that repo is scanned again
                if not isinstance(rec, dict) or "error" in rec or not rec.get("repo") or not rec.get("sha"):
                    continue
                d = _digest(rec["repo"], rec["sha"])
                if is_flagged(rec):
                    idx.flagged.add(d)
                    idx.clean.discard(d)
                else:
                    idx.clean.add(d)
                    idx.flagged.discard(d)
        return idx

    def lookup(self, repo: str, sha: str | None) -> bool | None:
        """None: not done at this commit; else whether that record was flagged."""
        if not sha:
            return None
        d = _digest(repo, sha)
        if d in self.flagged:
            return True
        if d in self.clean:
            return False
        return None

    def __len__(self) -> int:
        return len(self.clean) + len(self.flagged)


def is_flagged(rec: dict) -> bool:
    """A repo that failed or has an error finding (warnings count only under --strict, as in `check`)."""
    if "error" in rec:
        return True
    return bool(((rec.get("check") or {}).get("summary") or {}).get("errors"))


# ------------------------------------------------------------------------------------------------ the run

@dataclass
class ScanSummary:
    scanned: int = 0
    skipped: int = 0  #: --resume: already in the output at the same commit
    skipped_flagged: int = 0
    clean: int = 0  #: no error and no warning
    warnings: int = 0  #: warnings but no error
    errors: int = 0  #: an error finding
    failed: int = 0  #: could not be read
    rules: Counter = field(default_factory=Counter)  #: repos in which each rule fired
    flagged: list[tuple[str, str]] = field(default_factory=list)  #: (repo, why), the first FLAGGED_SHOWN
    parameters: int = 0
    bytes: int = 0
    requests: int = 0
    bytes_read: int = 0
    seconds: float = 0.0

    def add(self, rec: dict) -> None:
        self.scanned += 1
        read = rec.get("read") or {}
        self.requests += read.get("requests", 0)
        self.bytes_read += read.get("bytes", 0)
        if "error" in rec:
            self.failed += 1
            why = rec["error"]
        else:
            s = rec["check"]["summary"]
            self.parameters += (rec.get("parameters") or {}).get("total") or 0
            self.bytes += (rec.get("bytes") or {}).get("total") or 0
            for r in {f["rule"] for f in rec["check"]["findings"]}:
                self.rules[r] += 1
            if s["errors"]:
                self.errors += 1
                why = ", ".join(sorted({f["rule"] for f in rec["check"]["findings"] if f["severity"] == "error"}))
            elif s["warnings"]:
                self.warnings += 1
                return
            else:
                self.clean += 1
                return
        if len(self.flagged) < FLAGGED_SHOWN:
            self.flagged.append((rec["repo"], why))

    @property
    def flagged_total(self) -> int:
        return self.errors + self.failed + self.skipped_flagged

    @property
    def exit_code(self) -> int:
        return 1 if self.flagged_total else 0

    def to_dict(self) -> dict:
        return {"scanned": self.scanned, "skipped": self.skipped, "skipped_flagged": self.skipped_flagged,
                "clean": self.clean, "warnings": self.warnings, "errors": self.errors, "failed": self.failed,
                "rules": dict(self.rules.most_common()), "flagged": [list(x) for x in self.flagged],
                "parameters": self.parameters, "bytes": self.bytes, "requests": self.requests,
                "bytes_read": self.bytes_read, "seconds": round(self.seconds, 3), "exit_code": self.exit_code}


class Scanner:
    """Run ``scan_repo`` over an iterator of ``(repo_id, sha)`` with ``jobs`` threads; ``sink(record)`` is called
    on the calling thread for every finished repo, ``progress(n_done)`` after each."""

    def __init__(self, opts: ScanOptions, jobs: int = DEFAULT_JOBS, resume: ResumeIndex | None = None,
                 work: Callable[[str, ScanOptions], dict] = scan_repo) -> None:
        self.opts = opts
        self.jobs = max(1, jobs)
        self.resume = resume
        self.work = work
        self.summary = ScanSummary()
        self._stop = threading.Event()

    def _task(self, repo: str, sha: str | None) -> dict | None:
        if self._stop.is_set():
            return None
        if self.resume is not None and sha is None:
            sha = current_sha(repo, self.opts.token)
            hit = self.resume.lookup(repo, sha)
            if hit is not None:
                return {"repo": repo, "sha": sha, "_skipped": hit}
        return self.work(repo, self.opts)

    def run(self, repos: Iterable[tuple[str, str | None]], sink: Callable[[dict], None],
            progress: Callable[[int], None] | None = None) -> ScanSummary:
        t0 = time.monotonic()
        it: Iterator = iter(repos)
        s = self.summary
        done = 0

        def skipped(flagged: bool) -> None:
            nonlocal done
            s.skipped += 1
            s.skipped_flagged += bool(flagged)
            done += 1
            if progress:
                progress(done)

        ex = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="ckptscope-scan")
        pending: set = set()
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < 2 * self.jobs:
                    try:
                        repo, sha = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    hit = self.resume.lookup(repo, sha) if self.resume is not None else None
                    if hit is not None:
                        skipped(hit)
                        continue
                    pending.add(ex.submit(self._task, repo, sha))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    rec = fut.result()
                    if rec is None:
                        continue
                    if "_skipped" in rec:
                        skipped(rec["_skipped"])
                        continue
                    s.add(rec)
                    sink(rec)
                    done += 1
                    if progress:
                        progress(done)
        except BaseException:
            self._stop.set()
            for f in pending:
                f.cancel()
            raise
        finally:
            ex.shutdown(wait=True, cancel_futures=True)
            s.seconds = time.monotonic() - t0
        return s
