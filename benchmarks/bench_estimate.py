"""Wall time of the memory planner on config-only fixtures (predicted inventories). Not a test."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ckptscope.analysis.memory import Options, plan  # noqa: E402
from ckptscope.gpus import parse_gpus  # noqa: E402
from ckptscope.readers.config import parse_config  # noqa: E402

for name in ("meta-llama__Llama-3.1-8B", "google__gemma-2-9b", "deepseek-ai__DeepSeek-V3", "Qwen__Qwen3-235B-A22B"):
    c = parse_config((ROOT / "fixtures" / "configs" / name / "config.json").read_bytes())
    t = time.perf_counter()
    plan(config=c, options=Options(context=32768, gpus=parse_gpus("8xH100"), train="lora"))
    print(f"{name:<32} {time.perf_counter() - t:6.3f} s")
