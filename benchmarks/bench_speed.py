"""Speed against the floor: ckptscope's commands beside a bare process that only reads and json-parses the headers.

Cases (each a fresh process, best of N, run side by side so machine load hits both alike):

- a local DeepSeek-V3 layout: 163 sparse shards (91,991 tensors from the real config, real header sizes) with the
  real DeepSeek-V3 tokenizer files: `inspect --json` and `check` vs the bare header parse;
- one legal header of 1,000,000 tensors: `inspect --json` time and peak RSS vs the header's size.

    python benchmarks/bench_speed.py [--repeat 3] [--tensors 1000000] [--keep DIR]

Remote reads are measured by benchmarks/bench_hub.py (--latency 0.02 for the issue's 20 ms stand-in).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR = r"""
import json, os, sys
d = sys.argv[1]
n = 0
for f in sorted(os.listdir(d)):
    if f.endswith(".safetensors"):
        with open(os.path.join(d, f), "rb") as fh:
            k = int.from_bytes(fh.read(8), "little")
            n += len(json.loads(fh.read(k))) - 1
print(n)
"""

# Runs a command and reports its wall time and peak RSS (the child's own, from wait4).
TIMER = r"""
import os, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
print(time.perf_counter() - t, ru.ru_maxrss * 1024, os.waitstatus_to_exitcode(status))
"""


def measure(cmd: list[str], env: dict) -> tuple[float, int, int]:
    out = subprocess.run([sys.executable, "-c", TIMER, *cmd], capture_output=True, text=True, env=env, check=True)
    wall, rss, code = out.stdout.split()
    return float(wall), int(rss), int(code)


def build_deepseek(d: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_headers import build

    build(d, 163)
    for f in (ROOT / "fixtures/tokenizers/deepseek_v3").iterdir():
        shutil.copy(f, d / f.name)


def build_million(d: Path, n: int) -> int:
    """One safetensors file whose header lists ``n`` 1-element F32 tensors (legal, ~60 bytes each)."""
    header = {"__metadata__": {"format": "pt"}}
    for i in range(n):
        header[f"model.layers.{i // 1000}.block.{i % 1000}.weight"] = {"dtype": "F32", "shape": [1],
                                                                      "data_offsets": [4 * i, 4 * i + 4]}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(d / "model.safetensors", "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        f.truncate(8 + len(text) + 4 * n)
    return 8 + len(text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tensors", type=int, default=1_000_000)
    ap.add_argument("--keep", help="build the cases under this folder and keep them")
    a = ap.parse_args()
    base = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="ckptscope-speed-"))
    ds, big = base / "deepseek-v3", base / "million"
    for d in (ds, big):
        d.mkdir(parents=True, exist_ok=True)
    if not any(ds.glob("*.safetensors")):
        build_deepseek(ds)
    big_header = build_million(big, a.tensors) if not (big / "model.safetensors").exists() else \
        8 + int.from_bytes(open(big / "model.safetensors", "rb").read(8), "little")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), COLUMNS="120")
    py = sys.executable
    # An installed ckptscope has its bytecode compiled (pip does it). A checkout run with PYTHONDONTWRITEBYTECODE
    # set (as on the shared CI machine) would compile ~100 modules from source in every timed process instead.
    subprocess.run([py, "-m", "compileall", "-q", str(ROOT / "ckptscope")], check=False, stdout=subprocess.DEVNULL)
    cases = {
        "floor: read + json-parse 163 headers": [py, "-c", FLOOR, str(ds)],
        "ckptscope inspect --json": [py, "-m", "ckptscope", "inspect", str(ds), "--json"],
        "ckptscope check": [py, "-m", "ckptscope", "check", str(ds)],
        "ckptscope --help": [py, "-m", "ckptscope", "--help"],
        f"floor: json-parse the {a.tensors:,}-tensor header": [py, "-c", FLOOR, str(big)],
        f"ckptscope inspect --json, {a.tensors:,} tensors": [py, "-m", "ckptscope", "inspect", str(big), "--json"],
    }
    best: dict[str, tuple[float, int, int]] = {}
    for _ in range(a.repeat):  # interleaved: every case once per round
        for label, cmd in cases.items():
            r = measure(cmd, env)
            if label not in best or r[0] < best[label][0]:
                best[label] = r
    hdr = sum(8 + int.from_bytes(open(p, "rb").read(8), "little") for p in ds.glob("*.safetensors"))
    print(f"DeepSeek-V3 layout: 163 shards, {hdr / 1e6:.2f} MB of headers; million: {big_header / 1e6:.1f} MB header; "
          f"best of {a.repeat}, {time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.2f}")
    floor = best["floor: read + json-parse 163 headers"][0]
    floor_big = best[f"floor: json-parse the {a.tensors:,}-tensor header"][0]
    for label, (wall, rss, code) in best.items():
        ref = floor_big if "tensors" in label and "163" not in label else floor
        print(f"  {label:48} {wall:7.3f} s  {wall / ref:5.1f}x floor  RSS {rss / 1e6:7.1f} MB  exit {code}")
    print(f"  million-tensor RSS / header bytes: "
          f"{best[f'ckptscope inspect --json, {a.tensors:,} tensors'][1] / big_header:.2f}x")
    if not a.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
