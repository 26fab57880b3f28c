"""Benchmark: what the HTML report costs on top of `inspect`, on the 163-shard sparse DeepSeek-V3 folder.

    python benchmarks/bench_html.py [--repeat 5] [--folder DIR]

Prints the best-of-N wall time of the inspect report (load + build_report), of the JSON formatter, and of the
HTML extras (analysis.layout + format.html), and the sizes of the JSON and HTML outputs. Target: HTML under 1 MB
and under 0.5 s on top of inspect.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


def best(fn, repeat: int):
    t_best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--folder")
    a = ap.parse_args()
    import bench_headers
    from ckptscope.analysis.layout import add_layout
    from ckptscope.api import build_report
    from ckptscope.checkpoint import load_checkpoint
    from ckptscope.format.html import render as r_html
    from ckptscope.format.jsonfmt import render as r_json
    from ckptscope.sources.local import LocalSource

    d = Path(a.folder) if a.folder else Path(tempfile.mkdtemp(prefix="ckptscope-bench-html-"))
    if not any(d.glob("*.safetensors")):
        bench_headers.build(d, 163)
    ck = load_checkpoint(LocalSource(str(d)))
    t_rep, rep = best(lambda: build_report(ck), a.repeat)
    t_json, js = best(lambda: r_json(rep), a.repeat)

    def html():
        r = build_report(ck)
        t = time.perf_counter()
        add_layout(ck, r)
        t1 = time.perf_counter()
        page = r_html("inspect", r)
        return t1 - t, time.perf_counter() - t1, page

    runs = [html() for _ in range(a.repeat)]
    t_lay = min(x[0] for x in runs)
    t_fmt = min(x[1] for x in runs)
    page = runs[-1][2]
    print(f"checkpoint        : {len(ck.tensors):,} tensors, {len(ck.headers)} shards")
    print(f"inspect report    : {t_rep * 1000:8.1f} ms (build_report on the loaded checkpoint)")
    print(f"json formatter    : {t_json * 1000:8.1f} ms, {len(js.encode()):,} bytes")
    print(f"html: layout      : {t_lay * 1000:8.1f} ms (analysis.layout)")
    print(f"html: formatter   : {t_fmt * 1000:8.1f} ms, {len(page.encode()):,} bytes")
    print(f"html on top       : {(t_lay + t_fmt) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
