"""`ckptscope scan --author` vs a sequential loop of `ckptscope check` subprocesses over the same repos.

120 tiny repos under one author (tests/scan_corpus.py: clean Llamas and six broken ones) served by the Hub
stand-in (tests/hubstub.py) in its own process, with added latency per request (50 ms by default). Both sides
start from cold caches (a fresh HF_HOME each run) and run as a user would: `ckptscope ...` processes.

    python benchmarks/bench_scan.py [--latency 0.05] [--repos 120] [--jobs 16] [--loop-sample N]

--loop-sample N times the check loop over the first N repos only and scales it to all of them (the loop is the
slow side: about a second a repo). Prints one JSON object: both wall times, the ratio, requests as the server
saw them, the scan's peak memory (max RSS), and whether the scan found exactly the broken repos.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hubstub import HubStub  # noqa: E402
from scan_corpus import AUTHOR, build_repos  # noqa: E402


def _serve(repos, latency, conn) -> None:
    with HubStub() as hub:
        for r in repos:
            hub.add(r)
        hub.faults.latency = latency
        conn.send(hub.url)
        while True:
            msg = conn.recv()
            if msg == "log":
                conn.send(list(hub.log))
                hub.reset_log()
            else:
                return


def _env(url: str, home: str) -> dict:
    env = dict(os.environ)
    env.update(HF_ENDPOINT=url, HF_HOME=home, PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
               HF_HUB_DISABLE_PROGRESS_BARS="1")
    for k in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_CACHE", "CKPTSCOPE_CACHE"):
        env.pop(k, None)
    return env


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--repos", type=int, default=120)
    ap.add_argument("--jobs", type=int, default=16)
    ap.add_argument("--loop-sample", type=int, default=0, help="time the check loop on N repos and scale")
    a = ap.parse_args()

    repos, expect = build_repos(a.repos)
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(repos, a.latency, child), daemon=True)
    proc.start()
    url = parent.recv()
    out: dict = {"repos": a.repos, "latency_s": a.latency, "jobs": a.jobs}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # 1. the scan
            jsonl = Path(tmp) / "scan.jsonl"
            t = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "ckptscope", "scan", "--author", AUTHOR, "--jobs", str(a.jobs),
                                "--output", str(jsonl), "--quiet"], env=_env(url, f"{tmp}/home-scan"),
                               capture_output=True, text=True)
            out["scan_s"] = round(time.perf_counter() - t, 2)
            import resource

            out["scan_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
            out["scan_exit"] = p.returncode
            parent.send("log")
            out["scan_requests"] = len(parent.recv())
            recs = [json.loads(x) for x in jsonl.read_text().splitlines()]
            got = {r["repo"] for r in recs if "error" in r or r["check"]["summary"]["errors"]}
            out["scan_records"] = len(recs)
            out["scan_flags_exact"] = got == {r for r, e in expect.items() if e["flag"]}

            # 2. --resume: nothing changed
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "ckptscope", "scan", "--author", AUTHOR, "--output", str(jsonl),
                            "--resume", "--quiet"], env=_env(url, f"{tmp}/home-scan"), capture_output=True)
            out["resume_s"] = round(time.perf_counter() - t, 2)
            parent.send("log")
            log = parent.recv()
            out["resume_requests"] = len(log)
            out["resume_header_reads"] = sum(e["path"].endswith(".safetensors") for e in log)

            # 3. the loop of check subprocesses, one repo after the other
            ids = sorted(expect)
            sample = ids[: a.loop_sample] if a.loop_sample else ids
            flagged = set()
            t = time.perf_counter()
            for rid in sample:
                p = subprocess.run([sys.executable, "-m", "ckptscope", "check", rid, "--quiet"],
                                   env=_env(url, f"{tmp}/home-loop"), capture_output=True)
                if p.returncode:
                    flagged.add(rid)
            dt = time.perf_counter() - t
            parent.send("log")
            out["loop_requests"] = len(parent.recv())
            out["loop_repos_timed"] = len(sample)
            out["loop_s"] = round(dt * len(ids) / len(sample), 2)
            out["loop_s_per_repo"] = round(dt / len(sample), 3)
            out["loop_flags_agree"] = flagged == {r for r in sample if expect[r]["flag"]}
            out["ratio_loop_over_scan"] = round(out["loop_s"] / out["scan_s"], 1)
    finally:
        parent.send("stop")
        proc.join(5)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
