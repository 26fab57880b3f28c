"""How long `ckptscope check` takes on a repository laid out like DeepSeek-V3 (163 sparse shards built from the
architecture rules' predicted inventory of the real config), and how fast the pickle scanner walks a large
state-dict pickle. Run: python benchmarks/check_bench.py"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from check_corpus.build import state_dict_pickle, torch_zip, write_st  # noqa: E402
from ckptscope.analysis.arch import predict_inventory  # noqa: E402
from ckptscope.checkpoint import load_checkpoint  # noqa: E402
from ckptscope.checks import CheckOptions, run_checks  # noqa: E402
from ckptscope.security import scan_path  # noqa: E402
from ckptscope.readers.config import parse_config  # noqa: E402
from ckptscope.sources.local import LocalSource  # noqa: E402


def deepseek_repo(d: Path, shards: int = 163) -> tuple[int, int]:
    cfg_bytes = (ROOT / "fixtures/configs/deepseek-ai__DeepSeek-V3/config.json").read_bytes()
    (d / "config.json").write_bytes(cfg_bytes)
    inv = predict_inventory(parse_config(cfg_bytes))
    total = sum(t.nbytes for t in inv)
    per = total / shards
    groups: list[list] = [[] for _ in range(shards)]
    acc = 0
    for t in inv:
        groups[min(shards - 1, int(acc / per))].append(t)
        acc += t.nbytes
    wm = {}
    for i, g in enumerate(groups):
        f = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        write_st(d / f, {t.name: (t.dtype, list(t.shape)) for t in g})
        wm.update({t.name: f for t in g})
    (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": wm}))
    return len(inv), total


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        n, total = deepseek_repo(d)
        print(f"built DeepSeek-V3 layout: {n:,} tensors, {total / 1e9:,.1f} GB in 163 sparse shards "
              f"({time.perf_counter() - t0:.1f} s)")
        t0 = time.perf_counter()
        ck = load_checkpoint(LocalSource(str(d)), strict=False)
        t1 = time.perf_counter()
        res = run_checks(ck, CheckOptions(select=["ALL"]))
        t2 = time.perf_counter()
        print(f"check: read headers {t1 - t0:.2f} s + rules {t2 - t1:.2f} s ({len(res.rules_run)} rules, reconciliation "
              f"of {len(ck.tensors):,} tensors included); findings {[(f.rule, f.severity) for f in res.findings][:5]}")

        names = [f"model.layers.{i // 100}.mlp.experts.{i % 100}.w{i % 3}.weight" for i in range(100_000)]
        p = torch_zip(d / "pytorch_model.bin", state_dict_pickle(names))
        t0 = time.perf_counter()
        r = scan_path(str(p))
        dt = time.perf_counter() - t0
        print(f"pickle scan: {len(names):,}-tensor state dict, data.pkl {p.stat().st_size / 2**20:.1f} MiB: {dt:.2f} s, "
              f"globals {list(r.imports)}, problems {r.problems}")
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
