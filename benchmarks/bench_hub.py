"""Hub header reading: ckptscope vs huggingface_hub.get_safetensors_metadata on the same stand-in.

A DeepSeek-V3-shaped repo (163 shards, 91,991 tensors from the real config) served by tests/hubstub.py on
127.0.0.1 with added latency per request. Requests and bytes are counted as the server saw them.

    python benchmarks/bench_hub.py [--latency 0.02] [--repeat 5] [--json FILE]

Like for like: every case is timed twice.

- ``network``: from the call until the stand-in sent its last response (the server logs a CLOCK_MONOTONIC
  time per response; the stand-in runs in a forked process of its own, as a remote Hub would, and the clock is
  the machine's). For huggingface_hub this includes the JSON parsing its worker threads do between requests;
  for ckptscope it includes whatever it does before its last request (model info, listing, first-shard
  calibration).
- ``wall``: the whole call. ckptscope's wall also holds what huggingface_hub does not do at all: validating every
  header (offsets, dtypes, overlaps), classifying the tensors, cross-checking the index, writing the header cache.

The cases run interleaved (one round = each case once, in turn), after an untimed warm-up round (imports), with
cold caches every run; the table gives each case's best of N and its median. The load average is printed before and
after: the machine is shared, so only side-by-side ratios mean anything. The exact total (the sum of every
tensor's element count) is checked against the tensor list the stand-in serves.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
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
    return files, sum(math.prod(t[2]) for t in tensors)


def _serve(files, latency, sharded, conn) -> None:
    """The stand-in in a process of its own (as a remote Hub: its CPU is not the client's)."""
    with HubStub() as hub:
        hub.add(StubRepo(REPO, files))
        hub.faults.latency = latency
        hub.faults.sharded_metadata = sharded
        conn.send(hub.url)
        conn.recv()  # "stop"
        conn.send(list(hub.log))


def run(label, fn, files, latency, sharded):
    """One measured run against a fresh stand-in process: requests/bytes as the server saw them, times."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(files, latency, sharded, child), daemon=True)
    proc.start()
    url = parent.recv()
    t = time.monotonic()
    total = fn(url)
    dt = time.monotonic() - t
    parent.send("stop")
    log = parent.recv()
    proc.join(5)
    shard = [e for e in log if e["path"].endswith(".safetensors")]
    last = max(e["t"] for e in log) - t
    return {"label": label, "requests": len(log), "bytes": sum(e["sent"] for e in log),
            "shard_requests": len(shard), "shard_bytes": sum(e["sent"] for e in shard),
            "network": last, "wall": dt, "total": total}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--repeat", type=int, default=5, help="timed rounds; the table shows best and median")
    ap.add_argument("--only", default="", help="comma-separated case keys (hf,endpoint,ranged,headers)")
    ap.add_argument("--json", help="write the rows here")
    a = ap.parse_args()
    files, expected_total = build()
    header_bytes = sum(len(f.prefix) for n, f in files.items() if n.endswith(".safetensors"))
    n_shards = sum(n.endswith(".safetensors") for n in files)
    from huggingface_hub import HfApi, constants
    from huggingface_hub.utils import disable_progress_bars

    from ckptscope.api import open_checkpoint
    from ckptscope.sources.hub import HubSource

    disable_progress_bars()
    tmp = tempfile.mkdtemp(prefix="bench-hub-")
    counter = [0]

    def fresh(url):
        counter[0] += 1
        os.environ["HF_ENDPOINT"] = url
        os.environ["HF_HOME"] = os.path.join(tmp, str(counter[0]))  # cold caches every run
        constants.HF_HUB_CACHE = os.path.join(tmp, str(counter[0]), "hub")

    def hf(url):
        fresh(url)
        m = HfApi(endpoint=url).get_safetensors_metadata(REPO, token=False)
        return sum(math.prod(t.shape) for f in m.files_metadata.values() for t in f.tensors.values())

    def headers_only(url):
        fresh(url)
        s = HubSource.open(REPO)
        hs = s.read_headers(sorted(set(json.loads(s.read_file("model.safetensors.index.json"))["weight_map"].values())))
        return sum(math.prod(t.shape) for h in hs for t in h.tensors)

    def load(url):
        fresh(url)
        ck = open_checkpoint(REPO, tokenizer=False)
        return sum(math.prod(t.shape) for h in ck.headers for t in h.tensors)

    cases = {"hf": ("huggingface_hub.get_safetensors_metadata (ranged, 100 KB first read)", hf, False),
             "endpoint": ("ckptscope load, sharded-metadata endpoint", load, True),
             "ranged": ("ckptscope load, ranged reads (endpoint missing)", load, False),
             "headers": ("ckptscope HubSource.read_headers only, ranged", headers_only, False)}
    keys = [k for k in (a.only.split(",") if a.only else cases)]
    load0 = os.getloadavg()
    for k in keys:  # warm-up: imports, first connections
        run(k, cases[k][1], files, a.latency, cases[k][2])
    runs: dict[str, list] = {k: [] for k in keys}
    for _ in range(a.repeat):
        for k in keys:
            label, fn, sharded = cases[k]
            runs[k].append(run(label, fn, files, a.latency, sharded))
    load1 = os.getloadavg()
    print(f"repo: {REPO}-shaped, {n_shards} shards, {header_bytes:,} header bytes, expected total "
          f"{expected_total:,}; latency {a.latency * 1000:.0f} ms; stand-in in its own process; interleaved, "
          f"best of {a.repeat} (median)")
    print(f"load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, after {load1[0]:.2f} {load1[1]:.2f} "
          f"{load1[2]:.2f} ({os.cpu_count()} CPUs)")
    print(f"{'':66} {'req':>4} {'bytes':>11} {'x hdr':>6} {'total ok':>8} {'network s':>15} {'wall s':>15}")
    rows = []
    for k in keys:
        rs = runs[k]
        r = rs[0]
        net = [x["network"] for x in rs]
        wall = [x["wall"] for x in rs]
        ok = all(x["total"] == expected_total for x in rs)
        row = {"case": k, "label": r["label"], "requests": r["requests"], "bytes": r["bytes"],
               "shard_bytes": r["shard_bytes"], "network_best": min(net), "network_median": statistics.median(net),
               "wall_best": min(wall), "wall_median": statistics.median(wall), "total_exact": ok,
               "requests_all": sorted({x["requests"] for x in rs}), "bytes_all": sorted({x["bytes"] for x in rs})}
        rows.append(row)
        print(f"{r['label']:66} {r['requests']:4} {r['bytes']:11,} {r['bytes'] / header_bytes:6.3f} "
              f"{'yes' if ok else 'NO':>8} {min(net):6.2f} ({statistics.median(net):5.2f}) "
              f"{min(wall):6.2f} ({statistics.median(wall):5.2f})")
    base = next((r for r in rows if r["case"] == "hf"), None)
    if base:
        for r in rows:
            if r is not base:
                print(f"{r['case']:>9}: network {r['network_best'] / base['network_best']:.2f}x huggingface_hub's "
                      f"(best), {r['network_median'] / base['network_median']:.2f}x (median); bytes "
                      f"{r['bytes']:,} vs the 1.1x + 1 MB bound {int(1.1 * header_bytes + 2**20):,}")
    if a.json:
        Path(a.json).write_text(json.dumps({"load_before": load0, "load_after": load1, "latency": a.latency,
                                            "repeat": a.repeat, "header_bytes": header_bytes, "rows": rows},
                                           indent=1))


if __name__ == "__main__":
    main()
