"""ckptscope's pickle scanner beside picklescan and ModelAudit on the generated corpus (tests/pickle_corpus.py).

Each file is a gate decision: a tool "fails" a file when it exits non-zero on it (picklescan: 1 infected, 2 scan
error; ModelAudit: 1 issues, 2 error; ckptscope: ScanResult.failed()). Prints per technique: malicious files
failed / total, benign files flagged / total, and the slowest scan. The peers run from their own venv:

    python3 -m venv .peers && .peers/bin/pip install picklescan modelaudit
    python benchmarks/pickle_compare.py [--peers .peers] [--only ckptscope] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pickle_corpus import write  # noqa: E402

from ckptscope.security import scan_path  # noqa: E402


def run_ckptscope(path: Path) -> tuple[bool, float]:
    t = time.perf_counter()
    res = scan_path(str(path), path.name)
    return res.failed(), time.perf_counter() - t


def run_peer(cmd: list[str], env: dict) -> tuple[bool | None, float]:
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=120, env=env)
    except subprocess.TimeoutExpired:
        return True, time.perf_counter() - t
    return r.returncode != 0, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers", default=str(ROOT / ".peers"), help="venv with picklescan and modelaudit")
    ap.add_argument("--only", action="append", help="ckptscope, picklescan, modelaudit")
    ap.add_argument("--json", help="write the per-file results here")
    args = ap.parse_args()
    tools = args.only or ["ckptscope", "picklescan", "modelaudit"]
    peers = Path(args.peers) / "bin"
    env = {**os.environ, "PROMPTFOO_DISABLE_TELEMETRY": "1", "NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = write(Path(tmp))
        rows = [(kind, s, p) for kind, items in corpus.items() for s, p in items]

        def one(row):
            kind, s, p = row
            out = {"kind": kind, "name": s.name, "technique": s.technique, "ref": s.ref}
            for tool in tools:
                if tool == "ckptscope":
                    out[tool] = run_ckptscope(p)
                elif tool == "picklescan":
                    out[tool] = run_peer([str(peers / "picklescan"), "-p", str(p)], env)
                elif tool == "modelaudit":
                    out[tool] = run_peer([str(peers / "modelaudit"), "scan", "--no-cache", "-q", "-f", "json",
                                          str(p)], env)
            return out

        with ThreadPoolExecutor(max_workers=2) as ex:
            results = list(ex.map(one, rows))
    table: dict = defaultdict(lambda: defaultdict(lambda: [0, 0, 0.0]))
    for r in results:
        key = (r["kind"], r["technique"])
        for tool in tools:
            failed, dt = r[tool]
            cell = table[key][tool]
            cell[0] += bool(failed)
            cell[1] += 1
            cell[2] = max(cell[2], dt)
    head = f"{'set':<10} {'technique':<34} " + " ".join(f"{t:>18}" for t in tools)
    print(head)
    print("-" * len(head))
    totals = defaultdict(lambda: defaultdict(lambda: [0, 0, 0.0]))
    for (kind, tech), cells in sorted(table.items()):
        print(f"{kind:<10} {tech:<34} " + " ".join(f"{cells[t][0]:>3}/{cells[t][1]:<3} {cells[t][2]:>6.2f}s    "
                                                   for t in tools))
        for t in tools:
            tot = totals[kind][t]
            tot[0] += cells[t][0]
            tot[1] += cells[t][1]
            tot[2] = max(tot[2], cells[t][2])
    print("-" * len(head))
    for kind in ("malicious", "benign"):
        verb = "failed" if kind == "malicious" else "flagged"
        print(f"{kind:<10} {'ALL (' + verb + ' / total, slowest)':<34} "
              + " ".join(f"{totals[kind][t][0]:>3}/{totals[kind][t][1]:<3} {totals[kind][t][2]:>6.2f}s    "
                         for t in tools))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
