"""Compare ckptscope's engine figures with third-party startup logs (fixtures/engine_logs/*.json).

Each record holds the log lines a public run printed (vLLM / SGLang), where they were published, the launch flags
and the model's config.json (a fixture in fixtures/configs/ with its own provenance). This script runs the planner
with the same engine, GPU total, memory fraction, tensor parallelism, dtype and KV dtype, and sets each logged
figure beside ckptscope's:

    weights      "Model loading took X GiB" / "weights memory: X GiB"  vs  inference.per_gpu.weights
    KV/token     "Available KV cache memory" / "GPU KV cache size" (or SGLang's K size / #tokens): the interval of
                 bytes per token the two rounded numbers allow  vs  kv_cache.bytes_per_token (per GPU)
    KV tokens    "GPU KV cache size: N tokens"  vs  inference.kv_pool.tokens
    activations  "torch peak memory increase"  vs  the largest forward-pass moment (inference.per_gpu.activations)
    non-torch    "non-torch forward increase memory"  vs  inference.per_gpu.overhead

No figure here was measured by this project: every logged number is someone else's run.

    python tools/engine_log_table.py            # Markdown table on stdout
    python tools/engine_log_table.py --doc docs/validation.md   # replace the engine-log section in place
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "fixtures" / "engine_logs"
CONFIGS = ROOT / "fixtures" / "configs"
GiB = 2**30
ROUND = 0.005 * GiB  #: every logged GiB figure is printed with two decimals: +-0.005 GiB
BEGIN = "<!-- engine-logs:begin -->"
END = "<!-- engine-logs:end -->"


def records() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(LOGS.glob("*.json"))]


def run_plan(rec: dict) -> dict:
    sys.path.insert(0, str(ROOT))
    from ckptscope.analysis.memory import Options, plan
    from ckptscope.gpus import GPU
    from ckptscope.readers.config import parse_config

    cfg = parse_config((ROOT / "fixtures" / (rec["config"] if "/" in rec["config"] else "configs/" + rec["config"]) / "config.json").read_bytes())
    f = rec["flags"]
    tp = f.get("tp", 1)
    total = rec.get("gpu", {}).get("total_gib")
    gpus = [GPU("logged", int(round(total * GiB)))] * tp if total else []
    kvd = f.get("kv_cache_dtype")
    o = Options(engine=rec["engine"], context=f.get("max_model_len") or 8192, tp=tp, gpus=gpus,
                dtype=None if f.get("dtype") in (None, "auto") else f["dtype"],
                kv_dtype=None if kvd in (None, "auto") else kvd, memory_fraction=f.get("memory_fraction"))
    return plan(config=cfg, options=o)


def bpt_interval(logged: dict) -> tuple[float, float] | None:
    """Bytes per token (per GPU) the logged, rounded figures allow."""
    n = logged.get("kv_tokens")
    if not n:
        return None
    if "k_size_gib" in logged:  # SGLang: K size = tokens x (bytes per token / 2)
        kv = (logged["k_size_gib"] + logged["v_size_gib"]) * GiB
        return (kv - 2 * ROUND) / n, (kv + 2 * ROUND) / n
    if "kv_available_gib" not in logged:
        return None
    a = logged["kv_available_gib"] * GiB
    # vLLM: tokens = floor(available / (16 x bytes per token)) x 16, the available memory rounded to 0.01 GiB
    return (a - ROUND) / (n + 16), (a + ROUND) / n


MiB = 2**20


def run_cli_estimate(rec: dict) -> dict:
    """llama.cpp records: the CLI with --quant (GGUF tensor bytes) and the engine profile, JSON out."""
    import os
    import subprocess

    f = rec["flags"]
    cfg = ROOT / "fixtures" / (rec["config"] if "/" in rec["config"] else "configs/" + rec["config"])
    cmd = [sys.executable, "-m", "ckptscope", "estimate", str(cfg), "--engine", "llama.cpp", "--context",
           str(f["n_ctx"]), "--prefill-chunk", str(f.get("n_ubatch", 512)), "--quant", f["quant"], "--json"]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def compare_llamacpp(rec: dict) -> dict:
    d = run_cli_estimate(rec)
    lg = rec["logged"]
    scheme = next(iter(d["quantization"]["schemes"].values()))
    data = scheme["data_bytes"]
    emb = scheme["by_component"].get("embedding", {}).get("bytes", 0)
    row: dict = {"id": rec["id"], "engine": rec["engine"], "model": rec["model"], "tp": 1,
                 "profile_matches_version": True, "llamacpp": True}
    row["kv_mib"] = (lg["kv_mib"], d["kv_cache"]["bytes"] / MiB)
    if "model_buffer_mib" in lg:
        row["model_buffer_mib"] = (lg["model_buffer_mib"], data / MiB)
    else:
        row["model_buffer_mib"] = (lg["model_buffer_cpu_mib"] + lg["model_buffer_gpu_mib"], data / MiB)
        row["model_buffer_split_mib"] = ((lg["model_buffer_cpu_mib"], lg["model_buffer_gpu_mib"]),
                                         (emb / MiB, (data - emb) / MiB))
    row["compute_buffer_mib"] = (lg["compute_buffer_mib"], d["inference"]["per_gpu"]["activations"] / MiB,
                                 d["inference"]["peak_moment"])
    types = {k.split("_", 1)[1]: v for k, v in lg.items() if k.startswith("tensors_")}
    if types:
        row["tensor_types"] = (types, {t: v["tensors"] for t, v in scheme["by_type"].items()})
    return row


def compare(rec: dict) -> dict:
    if rec["engine"] == "llama.cpp":
        return compare_llamacpp(rec)
    r = run_plan(rec)
    lg = rec["logged"]
    pg = r["inference"]["per_gpu"]
    row: dict = {"id": rec["id"], "engine": rec["engine"], "model": rec["model"], "tp": rec["flags"].get("tp", 1),
                 "profile_matches_version": rec.get("profile_matches_version", True)}
    if "weights_gib" in lg:
        row["weights"] = (lg["weights_gib"], pg["weights"] / GiB)
    iv = bpt_interval(lg)
    pool = r["inference"].get("kv_pool")
    # per GPU; a vLLM pool token also pays for the padding layers of its hybrid groups
    bpt = (pool or {}).get("bytes_per_token") or r["kv_cache"]["bytes_per_token"]["all_layers"] // row["tp"]
    row["bpt_ckptscope"] = bpt
    if iv:
        row["bpt_interval"] = iv
    if "kv_tokens" in lg and pool and rec["engine"] == "vllm" and "kv_available_gib" in lg:
        row["tokens"] = (lg["kv_tokens"], pool["tokens"])
        row["kv_pool_gib"] = (lg["kv_available_gib"], pool["bytes"] / GiB)
    if "torch_peak_increase_gib" in lg:
        row["activations"] = (lg["torch_peak_increase_gib"], pg["activations"] / GiB, r["inference"]["peak_moment"])
    if "non_torch_gib" in lg:
        row["non_torch"] = (lg["non_torch_gib"], pg["overhead"] / GiB)
    return row


def pct(pair) -> str:
    logged, ours = pair[0], pair[1]
    return f"{(ours - logged) / logged * 100:+.2f}%"


def table(rows: list[dict]) -> str:
    out = ["| record | engine | model | tp | weights logged / ckptscope | KV bytes/token allowed by the log / "
           "ckptscope | KV tokens logged / ckptscope | activation peak logged / ckptscope | non-torch logged / "
           "ckptscope |", "|---|---|---|---|---|---|---|---|---|"]
    for w in rows:
        c = [w["id"], w["engine"], w["model"], str(w["tp"])]
        c.append(f"{w['weights'][0]:.2f} / {w['weights'][1]:.3f} GiB ({pct(w['weights'])})" if "weights" in w
                 else "—")
        if "bpt_interval" in w:
            lo, hi = w["bpt_interval"]
            ok = lo <= w["bpt_ckptscope"] <= hi
            c.append(f"{lo:,.0f}–{hi:,.0f} / {w['bpt_ckptscope']:,} ({'inside' if ok else 'OUTSIDE'})")
        else:
            c.append(f"— / {w['bpt_ckptscope']:,}")
        c.append(f"{w['tokens'][0]:,} / {w['tokens'][1]:,} ({pct(w['tokens'])})" if "tokens" in w else "—")
        c.append(f"{w['activations'][0]:.2f} / {w['activations'][1]:.2f} GiB ({pct(w['activations'])}, "
                 f"{w['activations'][2]})" if "activations" in w else "—")
        c.append(f"{w['non_torch'][0]:.2f} / {w['non_torch'][1]:.2f} GiB" if "non_torch" in w else "—")
        if not w["profile_matches_version"]:  # an older engine release: its profile run differs from v0.19's
            c[-2] += " (older release, not asserted)"
            c[-1] += " (not asserted)"
        out.append("| " + " | ".join(c) + " |")
    return "\n".join(out)


def table_llamacpp(rows: list[dict]) -> str:
    out = ["| record | model | KV buffer logged / ckptscope | model buffers logged / ckptscope (GGUF tensor data) | "
           "compute buffer logged / ckptscope | tensor types logged / ckptscope |", "|---|---|---|---|---|---|"]
    for w in rows:
        mb = f"{w['model_buffer_mib'][0]:.2f} / {w['model_buffer_mib'][1]:.2f} MiB ({pct(w['model_buffer_mib'])})"
        if "model_buffer_split_mib" in w:
            (lc, lgp), (oc, og) = w["model_buffer_split_mib"]
            mb += f"; host (token embedding) {lc:.2f} / {oc:.2f}, GPU {lgp:.2f} / {og:.2f}"
        cb = w["compute_buffer_mib"]
        tt = "—"
        if "tensor_types" in w:
            lt, ot = w["tensor_types"]
            tt = ", ".join(f"{k} {lt[k]} / {ot.get(k, 0)}" for k in sorted(lt))
        out.append(f"| {w['id']} | {w['model']} | {w['kv_mib'][0]:.2f} / {w['kv_mib'][1]:.2f} MiB | {mb} | "
                   f"{cb[0]:.2f} / {cb[1]:.2f} MiB ({pct(cb)}, {cb[2]}) | {tt} |")
    return "\n".join(out)


def section(rows: list[dict], recs: list[dict]) -> str:
    src = {}
    for r in recs:
        s = r["source"]
        key = s.get("url") or (f"{s['repo']} {s['path']} @{s['commit'][:12]}" if s.get("repo") else
                               f"search-index file {s['index_id']} ({s['title']}; repository path not returned)")
        src.setdefault(key, []).append(r["id"])
    lines = [BEGIN, "", "## Engine startup logs from third parties (not our measurement)", "",
             "Every logged figure below was printed by someone else's run and published by them; this project "
             "measured none of it (no GPU was lent). The records, the quoted log lines and where each was "
             "published are in `fixtures/engine_logs/*.json`; each model's config.json is the fixture named in the "
             "record (`fixtures/configs/`, provenance in its PROVENANCE.json). Regenerate with "
             "`python tools/engine_log_table.py --doc docs/validation.md`; `tests/test_engine_logs.py` asserts "
             "the tolerances stated there.", "",
             "ckptscope runs with the record's engine, GPU total (79.19 GiB, the `total_memory` the vLLM log "
             "prints for an H100 80GB HBM3), memory fraction, tp, dtype and KV dtype; nothing else is set.", "",
             table([w for w in rows if not w.get("llamacpp")]), "",
             "llama.cpp records (`--engine llama.cpp --context n_ctx --prefill-chunk n_ubatch --quant <type>`; the "
             "model buffers are compared with the predicted GGUF tensor data, the compute buffer with the largest "
             "forward-pass moment):", "",
             table_llamacpp([w for w in rows if w.get("llamacpp")]), "",
             "Sources:", ""]
    for k, ids in src.items():
        lines.append(f"- {k}: {', '.join(ids)}")
    lines += ["", END]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--doc", help="replace the engine-log section of this Markdown file")
    a = ap.parse_args(argv)
    recs = records()
    rows = [compare(r) for r in recs]
    text = section(rows, recs)
    if not a.doc:
        print(text)
        return 0
    p = Path(a.doc)
    doc = p.read_text()
    if BEGIN in doc and END in doc:
        doc = doc[:doc.index(BEGIN)] + text + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    p.write_text(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
