"""Time predict_inventory / inspect on the 21 real configs and print (model, tensors, predicted total, active).

    python benchmarks/arch_predict.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ckptscope.analysis.arch import active_parameters, predict_inventory  # noqa: E402
from ckptscope.api import inspect  # noqa: E402
from ckptscope.readers.config import parse_config  # noqa: E402


def main() -> None:
    print("| model | tensors | predicted total (weights) | MTP | active / token | active w/o input embedding | predict s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for d in sorted((ROOT / "fixtures" / "configs").iterdir()):
        if not d.is_dir():
            continue
        c = parse_config((d / "config.json").read_bytes())
        best = 1e9
        for _ in range(3):
            t = time.perf_counter()
            inv = predict_inventory(c)
            best = min(best, time.perf_counter() - t)
        a = active_parameters(inv, c)
        print(f"| {d.name.replace('__', '/')} | {len(inv):,} | {a['total']:,} | {a['mtp']:,} | {a['active']:,} | "
              f"{a['active_without_embedding']:,} | {best:.3f} |")
    t = time.perf_counter()
    inspect(str(ROOT / "fixtures" / "configs" / "deepseek-ai__DeepSeek-V3"))
    print(f"\nconfig-only inspect of DeepSeek-V3 (prediction + summarize + report stage): {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
