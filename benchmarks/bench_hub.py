"""Hub header reading: ckptscope vs huggingface_hub.get_safetensors_metadata on the same stand-in.

A DeepSeek-V3-shaped repo (163 shards, 91,991 tensors from the real config) served by tests/hubstub.py on
127.0.0.1 with added latency per request. Counts requests and bytes as the server saw them.

    python benchmarks/bench_hub.py [--latency 0.05] [--repeat 3] [--in-process]

The stand-in runs in its own process by default, as a remote Hub would: its CPU does not compete with the
client's. Every run starts with cold caches.
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


def _serve(files, latency, sharded, conn) -> None:
    """The stand-in in a process of its own (as a remote Hub: its CPU is not the client's)."""
    with HubStub() as hub:
        hub.add(StubRepo(REPO, files))
        hub.faults.latency = latency
        hub.faults.sharded_metadata = sharded
        conn.send(hub.url)
        conn.recv()  # "stop"
        conn.send(list(hub.log))


def run(label, fn, files, latency, sharded, separate: bool):
    """One measured run against a fresh stand-in; returns requests/bytes as the server saw them and wall time."""
    if separate:
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(files, latency, sharded, child), daemon=True)
        proc.start()
        url = parent.recv()
        t = time.perf_counter()
        fn(url)
        dt = time.perf_counter() - t
        parent.send("stop")
        log = parent.recv()
        proc.join(5)
    else:
        with HubStub() as hub:
            hub.add(StubRepo(REPO, files))
            hub.faults.latency, hub.faults.sharded_metadata = latency, sharded
            t = time.perf_counter()
            fn(hub.url)
            dt = time.perf_counter() - t
            log = list(hub.log)
    shard = [e for e in log if e["path"].endswith(".safetensors")]
    return {"label": label, "requests": len(log), "bytes": sum(e["sent"] for e in log),
            "shard_requests": len(shard), "shard_bytes": sum(e["sent"] for e in shard), "seconds": round(dt, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each case; the table shows the fastest")
    ap.add_argument("--in-process", action="store_true",
                    help="serve the stand-in from this process (its CPU then competes with the client's)")
    a = ap.parse_args()
    files = build()
    header_bytes = sum(len(f.prefix) for n, f in files.items() if n.endswith(".safetensors"))
    n_shards = sum(n.endswith(".safetensors") for n in files)
    from huggingface_hub import HfApi, constants

    from ckptscope.api import open_checkpoint
    from ckptscope.sources.hub import HubSource

    tmp = tempfile.mkdtemp(prefix="bench-hub-")
    counter = [0]

    def fresh(url):
        counter[0] += 1
        os.environ["HF_ENDPOINT"] = url
        os.environ["HF_HOME"] = os.path.join(tmp, str(counter[0]))  # cold caches every run
        constants.HF_HUB_CACHE = os.path.join(tmp, str(counter[0]), "hub")

    def hf(url):
        fresh(url)
        HfApi(endpoint=url).get_safetensors_metadata(REPO, token=False)

    def headers_only(url):
        fresh(url)
        s = HubSource.open(REPO)
        s.read_headers(sorted(set(json.loads(s.read_file("model.safetensors.index.json"))["weight_map"].values())))

    def inspect(url):
        fresh(url)
        open_checkpoint(REPO, tokenizer=False)

    cases = [("huggingface_hub.get_safetensors_metadata", hf, False),
             ("ckptscope headers only (ranged; model info + index + headers)", headers_only, False),
             ("ckptscope load, ranged reads (no sharded-metadata endpoint)", inspect, False),
             ("ckptscope load, sharded-metadata endpoint", inspect, True)]
    rows = []
    for label, fn, sharded in cases:
        runs = [run(label, fn, files, a.latency, sharded, not a.in_process) for _ in range(a.repeat)]
        rows.append(min(runs, key=lambda r: r["seconds"]))
    where = "in this process" if a.in_process else "in its own process"
    print(f"repo: {REPO}-shaped, {n_shards} shards, header bytes {header_bytes:,}, latency {a.latency * 1000:.0f} ms, "
          f"stand-in {where}, best of {a.repeat}")
    print(f"{'':68} {'requests':>8} {'bytes':>12} {'shard req':>9} {'shard bytes':>12} {'x hdr':>6} {'s':>6}")
    for r in rows:
        print(f"{r['label']:68} {r['requests']:8} {r['bytes']:12,} {r['shard_requests']:9} {r['shard_bytes']:12,} "
              f"{r['shard_bytes'] / header_bytes:6.3f} {r['seconds']:6.2f}")


if __name__ == "__main__":
    main()
