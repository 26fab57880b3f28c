"""Make the README's screenshot: DeepSeek-V3's `inspect --format html` page in headless Chromium, network refused.

    python tools/html_screenshot.py [--out docs/inspect-deepseek-v3.png] [--folder DIR] [--scheme light|dark]

Builds the 163-shard sparse DeepSeek-V3 folder (benchmarks/bench_headers.py) unless --folder is given, writes the
report, opens it with tests/browser.py (the test harness: system Chromium via Playwright, every request other
than the file refused) and screenshots the top of the page. Fails if the page attempted a request or logged an
error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "inspect-deepseek-v3.png"))
    ap.add_argument("--folder", help="an existing checkpoint folder (default: build the sparse DeepSeek-V3 one)")
    ap.add_argument("--scheme", choices=("light", "dark"), default="light")
    ap.add_argument("--height", type=int, default=1160, help="screenshot height in CSS pixels (the page's top)")
    a = ap.parse_args()
    from browser import available, browser, visit

    why = available()
    if why:
        print(f"html_screenshot: {why}", file=sys.stderr)
        return 2
    from ckptscope.cli import main as cli

    with tempfile.TemporaryDirectory(prefix="ckptscope-shot-") as tmp:
        folder = Path(a.folder) if a.folder else Path(tmp) / "DeepSeek-V3"
        if not a.folder:
            import bench_headers

            folder.mkdir()
            bench_headers.build(folder, 163)
        html = Path(tmp) / "report.html"
        import os

        here = os.getcwd()
        os.chdir(folder.parent)  # the page's title is the folder as named: "DeepSeek-V3"
        try:
            if cli(["inspect", folder.name, "--format", "html", "--output", str(html), "-q"]) != 0:
                return 1
        finally:
            os.chdir(here)
        with browser() as b:
            v = visit(b, html, color_scheme=a.scheme, width=1100, height=a.height, full_page=False,
                      screenshot=Path(a.out))
            if v.requests or v.console_errors:
                print(f"html_screenshot: requests {v.requests}, errors {v.console_errors}", file=sys.stderr)
                return 1
        print(f"{a.out}: {Path(a.out).stat().st_size:,} bytes; report {html.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
