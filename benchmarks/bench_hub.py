"""Hub header reading: ckptscope vs huggingface_hub.get_safetensors_metadata on the same stand-in.

A DeepSeek-V3-shaped repo (163 shards, 91,991 tensors from the real config) served by tests/hubstub.py on
127.0.0.1 with added latency per request. Counts requests and bytes as the server saw them.

    python benchmarks/bench_hub.py [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hubstub import HubStub, StubRepo, deepseek_v3_tensors, files_from_dir, sharded_files, shard_tensors  # noqa

REPO = "deepseek-ai/DeepSeek-V3"


def build():
    cfg_dir = ROOT / "fixtures" / "configs" / "deepseek-ai__DeepSeek-V3"
    tensors = deepseek_v3_tensors(json.loads((cfg_dir / "config.json").read_text()))
    lo, hi = 10**9, 10**10  # max shard size giving 163 shards, as the real repo has
    while lo < hi:
        mid = (lo + hi) // 2
        if len(shard_tensors(tensors, mid)) <= 163:
            hi = mid
        else:
            lo = mid + 1
    files = sharded_files(shard_tensors(tensors, lo))
    files.update(files_from_dir(cfg_dir, {"config.json"}))
    return files


def run(hub, label, fn):
    hub.reset_log()
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    shard = [e for e in hub.log if e["path"].endswith(".safetensors")]
    return {"label": label, "requests": hub.requests, "bytes": hub.bytes_sent, "shard_requests": len(shard),
            "shard_bytes": sum(e["sent"] for e in shard), "seconds": round(dt, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.05)
    a = ap.parse_args()
    files = build()
    header_bytes = sum(len(f.prefix) for n, f in files.items() if n.endswith(".safetensors"))
    n_shards = sum(n.endswith(".safetensors") for n in files)
    rows = []
    with HubStub() as hub, tempfile.TemporaryDirectory() as tmp:
        hub.add(StubRepo(REPO, files))
        os.environ["HF_ENDPOINT"] = hub.url
        hub.faults.latency = a.latency
        from huggingface_hub import HfApi, constants

        from ckptscope.api import open_checkpoint
        from ckptscope.sources.hub import HubSource

        def hf():
            HfApi(endpoint=hub.url).get_safetensors_metadata(REPO, token=False)

        def fresh(name):
            os.environ["HF_HOME"] = os.path.join(tmp, name)

        constants.HF_HUB_CACHE = os.path.join(tmp, "hf-baseline")
        rows.append(run(hub, "huggingface_hub.get_safetensors_metadata", hf))
        hub.faults.sharded_metadata = False
        fresh("a")
        rows.append(run(hub, "ckptscope headers only (ranged; model info + index + headers)",
                        lambda: (s := HubSource.open(REPO)).read_headers(
                            sorted(json.loads(s.read_file("model.safetensors.index.json"))["weight_map"].values()
                                   and {v for v in json.loads(s.read_file("model.safetensors.index.json"))
                                        ["weight_map"].values()}))))
        fresh("b")
        rows.append(run(hub, "ckptscope inspect, ranged reads (no sharded-metadata endpoint)",
                        lambda: open_checkpoint(REPO, tokenizer=False)))
        hub.faults.sharded_metadata = True
        fresh("c")
        rows.append(run(hub, "ckptscope inspect, sharded-metadata endpoint",
                        lambda: open_checkpoint(REPO, tokenizer=False)))
    print(f"repo: {REPO}-shaped, {n_shards} shards, header bytes {header_bytes:,}, latency {a.latency * 1000:.0f} ms")
    print(f"{'':68} {'requests':>8} {'bytes':>12} {'shard req':>9} {'shard bytes':>12} {'x hdr':>6} {'s':>6}")
    for r in rows:
        print(f"{r['label']:68} {r['requests']:8} {r['bytes']:12,} {r['shard_requests']:9} {r['shard_bytes']:12,} "
              f"{r['shard_bytes'] / header_bytes:6.3f} {r['seconds']:6.2f}")


if __name__ == "__main__":
    main()
