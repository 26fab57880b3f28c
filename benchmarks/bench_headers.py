"""Benchmark: read the headers of a 163-shard checkpoint laid out like DeepSeek-V3 (sparse files).

The tensor inventory is the architecture rules' prediction for the real DeepSeek-V3 config; tensors are laid
into 163 shards in save order, each shard a sparse file (8-byte length + header, then truncate to full size),
so the files have their real sizes (~688 GB in all) but take only their headers' worth of disk.

    python benchmarks/bench_headers.py [--shards 163] [--repeat 5] [--keep DIR]

Prints wall time and peak memory (tracemalloc and ru_maxrss) for: reading every header (LocalSource.read_headers),
the whole `load_checkpoint` and the full `inspect` report.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(dest: Path, shards: int) -> tuple[int, int]:
    from ckptscope.analysis.arch import predict_inventory
    from ckptscope.readers.config import parse_config

    cfg_path = ROOT / "fixtures/configs/deepseek-ai__DeepSeek-V3/config.json"
    (dest / "config.json").write_bytes(cfg_path.read_bytes())
    inv = predict_inventory(parse_config(cfg_path.read_bytes()))
    total = sum(t.nbytes for t in inv)
    budget = total / shards
    groups: list[list] = [[]]
    acc = 0
    for t in inv:
        if acc >= budget * len(groups) and len(groups) < shards:
            groups.append([])
        groups[-1].append(t)
        acc += t.nbytes
    wm = {}
    for i, g in enumerate(groups, 1):
        name = f"model-{i:05d}-of-{len(groups):06d}.safetensors"
        header, pos = {"__metadata__": {"format": "pt"}}, 0
        for t in g:
            header[t.name] = {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [pos, pos + t.nbytes]}
            pos += t.nbytes
            wm[t.name] = name
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
        with open(dest / name, "wb") as f:
            f.write(len(text).to_bytes(8, "little"))
            f.write(text)
            f.truncate(8 + len(text) + pos)
    (dest / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": wm}))
    return len(inv), len(groups)


def timed(fn, repeat: int):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shards", type=int, default=163)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", help="build the sparse checkpoint in this folder and keep it")
    a = ap.parse_args()
    d = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="ckptscope-bench-"))
    d.mkdir(parents=True, exist_ok=True)
    n_tensors, n_shards = build(d, a.shards)
    apparent = sum(p.stat().st_size for p in d.glob("*.safetensors"))
    on_disk = sum(p.stat().st_blocks * 512 for p in d.glob("*.safetensors"))
    header_bytes = 0
    from ckptscope.api import build_report
    from ckptscope.checkpoint import load_checkpoint
    from ckptscope.sources.local import LocalSource

    src = LocalSource(str(d))
    shards = sorted(p.name for p in d.glob("*.safetensors"))
    for p in shards:
        with open(d / p, "rb") as f:
            header_bytes += 8 + int.from_bytes(f.read(8), "little")
    t_h, m_h, _ = timed(lambda: LocalSource(str(d)).read_headers(shards), a.repeat)
    t_l, m_l, ck = timed(lambda: load_checkpoint(LocalSource(str(d)), tokenizer=False), a.repeat)
    t_r, m_r, _ = timed(lambda: build_report(load_checkpoint(LocalSource(str(d)), tokenizer=False)), a.repeat)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"checkpoint: {n_tensors:,} tensors in {n_shards} shards, {apparent / 1e9:,.1f} GB apparent, "
          f"{on_disk / 1e6:,.1f} MB on disk, {header_bytes / 1e6:,.2f} MB of headers")
    print(f"read all headers : {t_h * 1000:8.1f} ms  peak traced {m_h / 1e6:6.1f} MB")
    print(f"load_checkpoint  : {t_l * 1000:8.1f} ms  peak traced {m_l / 1e6:6.1f} MB")
    print(f"inspect report   : {t_r * 1000:8.1f} ms  peak traced {m_r / 1e6:6.1f} MB")
    print(f"process max RSS  : {rss:,.0f} MB (python + libraries included)")
    print(f"tensors read     : {len(ck.tensors):,}; source stats {src.stats}")


if __name__ == "__main__":
    main()
