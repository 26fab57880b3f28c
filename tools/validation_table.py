#!/usr/bin/env python3
"""Render a markdown validation table from the raw JSON of tools/measure_memory.py, with ckptscope's estimate
(default flags of the documented interface: --engine transformers --dtype bfloat16 --prefill-chunk 0
--overhead 0, and --train/--precision/--lora-*/--checkpointing as the case ran) beside every measured peak.

    python tools/validation_table.py raw.json [raw2.json ...] > table.md

CPU measurements have no cuBLAS: the estimate's library workspace is left out of the compared figure there
(and the table says so); on CUDA the whole estimate is compared.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def estimate(case: dict) -> dict:
    from ckptscope.analysis.memory import Options, plan
    from ckptscope.readers.config import from_dict

    c = from_dict(copy.deepcopy(case["config"]))
    o = case["options"]
    opts = Options(engine="transformers", dtype="bfloat16", context=case["tokens"], batch=case.get("batch", 1),
                   prefill_chunk=0, overhead=0)
    if case["mode"] == "train":
        opts.dtype = "bfloat16" if o.get("precision", "bf16") == "bf16" else None
        opts.train = o["train"]
        opts.precision = o.get("precision", "bf16")
        opts.lora_rank = o.get("rank", 16)
        opts.lora_targets = o.get("lora_targets")
        opts.checkpointing = bool(o.get("checkpointing"))
        opts.optimizer = o.get("optimizer", "adamw")
    return plan(config=c, options=opts)


def rows(doc: dict) -> list[tuple]:
    out = []
    cpu = not str(doc.get("device", "")).startswith("cuda")
    for case in doc["cases"]:
        e = estimate(case)
        sec = e["training"] if case["mode"] == "train" else e["inference"]
        # CPU: no cuBLAS and no CUDACachingAllocator, so neither its workspace nor its 512-byte block rounding
        est = sec["per_gpu"]["total"] - ((sec["per_gpu"]["workspace"] + sec["per_gpu"].get("allocator_rounding", 0))
                                         if cpu else 0)
        moment = sec.get("peak_moment", "")
        meas = case["peak"]
        what = (f"{case['options'].get('train')} {case['options'].get('precision', 'bf16')}"
                + (" ckpt" if case["options"].get("checkpointing") else "")
                + (f" {case['options']['lora_targets']}" if case["options"].get("lora_targets") else "")
                + (f" {case['options']['optimizer']}" if case["options"].get("optimizer") else "")
                if case["mode"] == "train" else "forward, use_cache")
        measured_phase = ""
        if case.get("phases"):
            measured_phase = max(case["phases"], key=case["phases"].get)
        out.append((case["case"], case["tokens"], what, meas, est, moment, measured_phase,
                    case.get("attn_implementation", "")))
    return out


def fmt(n: int) -> str:
    return f"{n / 2**30:.3f} GiB" if n >= 2**26 else f"{n / 2**20:.2f} MiB"


def render(docs: list[dict]) -> str:
    L = []
    for doc in docs:
        L.append(f"Measured with torch {doc['torch']}, transformers {doc['transformers']}, peft {doc.get('peft')} on "
                 f"{doc['device_name']} ({doc['device']}, scale {doc['scale']}); {doc.get('seconds', '?')} s. "
                 f"Command: `{doc['command']}`")
        if doc.get("scale") != "real":
            L.append(f"Scale {doc['scale']}: case names name the real set-up; what ran is shrunk "
                     "(tiny: small widths; cut: real widths and vocabulary, 2 layers) and the tokens column is "
                     "the prompt / sequence length that ran.")
        if not str(doc["device"]).startswith("cuda"):
            L.append("CPU: peak of live tensor storages (TorchDispatchMode + storage weak references); the estimate "
                     "is compared without its cuBLAS workspace and its 512-byte allocator rounding, which only "
                     "CUDA has.")
        L.append("")
        L.append("| case | tokens | run | measured peak | ckptscope | diff | estimated peak moment | measured peak phase "
                 "| attention |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        within = 0
        rs = rows(doc)
        for name, tok, what, meas, est, mom, ph, attn in rs:
            diff = (est - meas) / meas * 100 if meas else 0.0
            within += abs(diff) <= 3
            L.append(f"| {name} | {tok} | {what} | {fmt(meas)} | {fmt(est)} | {diff:+.1f}% | {mom} | {ph} | {attn} |")
        L.append("")
        L.append(f"Within 3%: {within} of {len(rs)}.")
        if doc.get("failed"):
            L.append("")
            L.append("Failed cases: " + "; ".join(doc["failed"]))
        L.append("")
    return "\n".join(L)


BEGIN, END = "<!-- measured:begin (tools/validation_table.py) -->", "<!-- measured:end -->"


def main(argv=None) -> int:
    args = list(argv if argv is not None else sys.argv[1:])
    doc_path = None
    if "--doc" in args:
        i = args.index("--doc")
        doc_path = Path(args[i + 1])
        del args[i:i + 2]
    if not args:
        print("usage: validation_table.py RAW.json [...] [--doc docs/validation.md]", file=sys.stderr)
        return 2
    docs = [json.loads(Path(a).read_text()) for a in args]
    table = render(docs)
    if doc_path is None:
        sys.stdout.write(table)
        return 0
    text = doc_path.read_text()
    if BEGIN not in text or END not in text:
        print(f"{doc_path}: no {BEGIN} ... {END} markers to replace", file=sys.stderr)
        return 2
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc_path.write_text(head + BEGIN + "\n" + f"(generated from {', '.join(args)})\n\n" + table + END + tail)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
