#!/usr/bin/env python3
"""Measure real memory with PyTorch + transformers and compare it with ckptscope's estimates.

Standalone: never imported by ckptscope (it imports ckptscope for the estimates). For each case it builds a model
with random weights from a real config in fixtures/configs (scaled down in depth where the full model would not
fit in ~70 GB), then measures with torch.cuda.memory_allocated / max_memory_allocated:

- weights: allocated after building the model;
- KV cache after a prefill of N tokens (use_cache=True, logits_to_keep=1), summed over the storages the cache
  tensors keep alive (a sliding layer's window that is a view of the whole prefill tensor counts in full), and
  again after one decode step;
- peak during the prefill;
- training: steady state after two optimizer steps (weights + gradients + optimizer state) and the peak of the
  second step (which adds activations), for full fine-tuning and LoRA (peft, when installed).

and writes a markdown table with ckptscope's estimate beside each figure.

    python tools/gpu_validate.py docs/validation-table.md                       # CUDA, real sizes
    python tools/gpu_validate.py /tmp/t.md --device cpu --dry-run               # tiny configs, CPU, seconds
    python tools/gpu_validate.py out.md --cases llama31-8b,gemma2-9b --tokens 4096

On CPU only the KV cache and weight sizes are measured (from tensor storages); peaks need CUDA.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CONFIGS = ROOT / "fixtures" / "configs"
GiB = 2**30

# name, config dir, overrides applied to config.json, mode, options
CASES = [
    ("llama31-8b", "meta-llama__Llama-3.1-8B", {}, "infer", {}),
    ("mistral-7b-swa", "mistralai__Mistral-7B-v0.1", {}, "infer", {}),
    ("gemma2-9b-hybrid", "google__gemma-2-9b", {"torch_dtype": "bfloat16"}, "infer", {}),
    ("qwen2-7b", "Qwen__Qwen2-7B", {}, "infer", {}),
    ("deepseek-v3-2L", "deepseek-ai__DeepSeek-V3",
     {"num_hidden_layers": 2, "first_k_dense_replace": 1, "quantization_config": None, "auto_map": None,
      "num_nextn_predict_layers": 0},  # transformers builds no MTP layer
     "infer", {"tokens": 4096}),
    ("qwen3-30b-a3b-8L", "Qwen__Qwen3-30B-A3B", {"num_hidden_layers": 8}, "infer", {}),
    ("t5-small", "google-t5__t5-small", {"torch_dtype": "bfloat16"}, "seq2seq", {"tokens": 128, "encoder_tokens": 512}),
    ("llama32-1b-full", "meta-llama__Llama-3.2-1B", {}, "train", {"train": "full", "tokens": 2048}),
    ("llama32-1b-full-ckpt", "meta-llama__Llama-3.2-1B", {}, "train",
     {"train": "full", "tokens": 2048, "checkpointing": True}),
    ("qwen3-30b-a3b-4L-full", "Qwen__Qwen3-30B-A3B", {"num_hidden_layers": 4}, "train",
     {"train": "full", "tokens": 2048}),
    ("llama31-8b-lora", "meta-llama__Llama-3.1-8B", {}, "train", {"train": "lora", "tokens": 2048}),
    ("llama31-8b-lora-ckpt", "meta-llama__Llama-3.1-8B", {}, "train",
     {"train": "lora", "tokens": 2048, "checkpointing": True}),
]

TINY = {  # dry-run shrink: keep the structure (GQA ratio, MLA, windows, experts), cut every size
    "hidden_size": 64, "d_model": 64, "intermediate_size": 128, "d_ff": 128, "moe_intermediate_size": 32,
    "num_attention_heads": 4, "num_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "d_kv": 16,
    "vocab_size": 512, "num_hidden_layers": 4, "num_layers": 2, "num_decoder_layers": 2,
    "kv_lora_rank": 32, "q_lora_rank": 48, "qk_rope_head_dim": 8, "qk_nope_head_dim": 16, "v_head_dim": 16,
    "n_routed_experts": 8, "num_experts": 8, "num_local_experts": 8, "num_experts_per_tok": 2, "n_group": 2,
    "topk_group": 1, "sliding_window": 16, "sliding_window_size": 16, "max_window_layers": 2,
}


def load_cfg(dirname: str, overrides: dict, tiny: bool) -> dict:
    d = json.loads((CONFIGS / dirname / "config.json").read_text())
    for k, v in overrides.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    if tiny:
        for k, v in TINY.items():
            if k in d or (k == "head_dim" and "kv_lora_rank" not in d and "d_kv" not in d):
                d[k] = v
        if "kv_lora_rank" in d:
            d["num_key_value_heads"] = d["num_attention_heads"]
        if d.get("model_type") == "qwen2":
            d["max_window_layers"] = 2
        if d.get("first_k_dense_replace") is not None:
            d["first_k_dense_replace"] = 1
        if isinstance(d.get("layer_types"), list):
            d["layer_types"] = d["layer_types"][: d.get("num_hidden_layers", 4)]
    return d


# --------------------------------------------------------------------------------------------- measuring

def cache_storage_bytes(obj) -> tuple[int, int]:
    """(bytes of the unique storages, logical bytes of the tensors) held by a cache object, walked generically."""
    import torch

    seen_obj: set[int] = set()
    storages: dict[int, int] = {}
    logical = 0

    def walk(o, depth: int) -> None:
        nonlocal logical
        if depth > 8 or id(o) in seen_obj:
            return
        seen_obj.add(id(o))
        if isinstance(o, torch.Tensor):
            if o.numel() == 0:
                return
            st = o.untyped_storage()
            storages[st.data_ptr()] = st.nbytes()
            logical += o.numel() * o.element_size()
            return
        if isinstance(o, torch.nn.Module):
            return
        if isinstance(o, dict):
            for v in o.values():
                walk(v, depth + 1)
        elif isinstance(o, (list, tuple)):
            for v in o:
                walk(v, depth + 1)
        elif hasattr(o, "__dict__"):
            for v in vars(o).values():
                walk(v, depth + 1)

    walk(obj, 0)
    return sum(storages.values()), logical


class Mem:
    def __init__(self, device: str):
        import torch

        self.cuda = device.startswith("cuda")
        self.torch = torch
        self.base = self.alloc() if self.cuda else 0

    def alloc(self) -> int:
        return self.torch.cuda.memory_allocated() if self.cuda else 0

    def reset_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()
            self.torch.cuda.reset_peak_memory_stats()

    def peak(self) -> int | None:
        if not self.cuda:
            return None
        self.torch.cuda.synchronize()
        return self.torch.cuda.max_memory_allocated() - self.base


def build_model(cfg_dict: dict, kind: str, device: str):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    d = dict(cfg_dict)
    mt = d.pop("model_type")
    for k in ("architectures", "transformers_version", "auto_map", "torch_dtype", "dtype"):
        d.pop(k, None)
    config = transformers.CONFIG_MAPPING[mt](**d)
    cls = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForCausalLM
    torch.manual_seed(0)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            try:
                model = cls.from_config(config, attn_implementation="sdpa")
                attn = "sdpa"
            except ValueError:  # e.g. Gemma-2 (logit soft-capping): eager attention, N x N scores materialised
                model = cls.from_config(config, attn_implementation="eager")
                attn = "eager"
    finally:
        torch.set_default_dtype(prev)
    model.to(dtype=torch.bfloat16)
    model._validate_attn = attn
    experts = getattr(model.config, "_experts_implementation", None)
    if experts and any(type(m).__name__.endswith("Experts") for m in model.modules()):
        model._validate_attn = f"{attn}; experts {experts}"
    return model


def weight_bytes(model) -> int:
    n = 0
    seen = set()
    for t in list(model.parameters()) + list(model.buffers()):
        if t.data_ptr() in seen:
            continue
        seen.add(t.data_ptr())
        n += t.numel() * t.element_size()
    return n


# --------------------------------------------------------------------------------------------- estimates

def estimate(cfg_dict: dict, opts: dict):
    from ckptscope.analysis.memory import Options, plan
    from ckptscope.readers.config import from_dict

    c = from_dict(copy.deepcopy(cfg_dict))
    o = Options(context=opts["tokens"], batch=opts.get("batch", 1), kv_dtype="bf16", prefill_chunk=0,
                overhead=0, policy=opts.get("policy", "window"), mla=opts.get("mla", "latent"),
                encoder_tokens=opts.get("encoder_tokens"), train=opts.get("train"), precision="bf16",
                checkpointing=opts.get("checkpointing", False), lora_rank=16)
    return plan(config=c, options=o)


# --------------------------------------------------------------------------------------------- cases

def run_infer(name, cfg_dict, kind, opts, device, rows, log):
    import torch

    N, B = opts["tokens"], opts.get("batch", 1)
    mem = Mem(device)
    model = build_model(cfg_dict, kind, device).eval()
    w_meas = (mem.alloc() - mem.base) if mem.cuda else weight_bytes(model)
    gen = torch.Generator(device="cpu").manual_seed(0)
    V = cfg_dict.get("vocab_size", 1000)
    ids = torch.randint(0, V, (B, N), generator=gen).to(device)
    mem.reset_peak()
    with torch.no_grad():
        if kind == "seq2seq":
            enc = opts["encoder_tokens"]
            enc_ids = torch.randint(0, V, (B, enc), generator=gen).to(device)
            out = model(input_ids=enc_ids, decoder_input_ids=ids, use_cache=True)
        else:
            out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    peak = mem.peak()
    cache = out.past_key_values
    del out
    kv_store, kv_logical = cache_storage_bytes(cache)
    after = (mem.alloc() - mem.base) if mem.cuda else None
    with torch.no_grad():
        nxt = ids[:, -1:]
        if kind == "seq2seq":
            out2 = model(input_ids=None, encoder_outputs=(torch.zeros(B, opts["encoder_tokens"], cfg_dict.get(
                "d_model", 64), device=device, dtype=torch.bfloat16),), decoder_input_ids=nxt,
                         past_key_values=cache, use_cache=True)
        else:
            out2 = model(input_ids=nxt, past_key_values=cache, use_cache=True, logits_to_keep=1)
    cache2 = out2.past_key_values
    del out2
    kv2_store, _ = cache_storage_bytes(cache2)

    e_full = estimate(cfg_dict, {**opts, "policy": "full"})
    e_win = estimate(cfg_dict, {**opts, "tokens": N + 1, "policy": "window"})
    e_exp = estimate(cfg_dict, {**opts, "policy": "full", "mla": "expanded"}) if cfg_dict.get("kv_lora_rank") else None
    est_w = e_full["weights"]["bytes"]
    est_kv = e_full["kv_cache"]["bytes"]
    est_act = e_full["inference"]["per_gpu"]["activations"]
    tag = f"{N} tok x {B}" + (f" (enc {opts['encoder_tokens']})" if kind == "seq2seq" else "")
    rows.append((name, tag, "weights", w_meas, est_w, f"{e_full['weights']['basis']}; attention {model._validate_attn}"))
    rows.append((name, tag, "KV cache after prefill (storage)", kv_store, est_kv,
                 f"policy full; logical {kv_logical:,}"))
    if e_exp:
        rows.append((name, tag, "KV if MLA were expanded", kv_store, e_exp["kv_cache"]["bytes"], "--mla expanded"))
    rows.append((name, tag, "KV cache after 1 decode step", kv2_store, e_win["kv_cache"]["bytes"],
                 "policy window, N+1 tokens"))
    if peak is not None:
        rows.append((name, tag, "peak during prefill", peak, est_w + est_kv + est_act,
                     f"weights + KV + activations {est_act:,}"))
        rows.append((name, tag, "prefill transient (peak - after)", peak - after, est_act, "activation formula"))
    log(f"{name}: weights {w_meas / GiB:.3f} GiB, kv {kv_store / GiB:.3f} GiB, kv2 {kv2_store / GiB:.3f} GiB, "
        f"peak {peak / GiB if peak else float('nan'):.3f} GiB")
    del model, cache, cache2


def run_train(name, cfg_dict, kind, opts, device, rows, log):
    import torch

    N, B = opts["tokens"], opts.get("batch", 1)
    mem = Mem(device)
    model = build_model(cfg_dict, kind, device)
    model_attn = model._validate_attn
    w_meas = (mem.alloc() - mem.base) if mem.cuda else weight_bytes(model)
    if opts["train"] == "lora":
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError:
            rows.append((name, "", "skipped", None, None, "peft not installed"))
            return
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear"))
    model.train()
    if opts.get("checkpointing"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if hasattr(model, "enable_input_require_grads"):
            model.enable_input_require_grads()
    if hasattr(model, "config"):
        model.config.use_cache = False
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5, foreach=False, fused=False)
    V = cfg_dict.get("vocab_size", 1000)
    ids = torch.randint(0, V, (B, N), generator=torch.Generator().manual_seed(0)).to(device)
    steady = peak = None
    for step in range(2):
        mem.reset_peak()
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        opt.step()
        if step == 1:
            peak = mem.peak()
            steady = (mem.alloc() - mem.base) if mem.cuda else None
        opt.zero_grad(set_to_none=False)
        del loss
    if not mem.cuda:  # CPU: states from the optimizer and gradient tensors
        steady = weight_bytes(model) + sum(p.grad.numel() * p.grad.element_size() for p in params) + sum(
            t.numel() * t.element_size() for s in opt.state.values() for t in s.values() if torch.is_tensor(t))
    e = estimate(cfg_dict, opts)
    tr = e["training"]["per_gpu"]
    est_state = sum(v for k, v in tr.items() if k not in ("activations", "overhead", "total"))
    tag = f"seq {N} x {B}" + (", ckpt" if opts.get("checkpointing") else "")
    rows.append((name, tag, "weights (base model)", w_meas, e["weights"]["bytes"],
                 f"{e['weights']['basis']}; attention {model_attn}"))
    rows.append((name, tag, "after step: weights+grads+optimizer", steady, est_state,
                 "bf16 full FT 8 B/param" if opts["train"] == "full" else "LoRA: base bf16 + adapter 16 B/param"))
    if peak is not None:
        rows.append((name, tag, "peak of step 2", peak, est_state + tr["activations"],
                     f"+ activations {tr['activations']:,}"))
        rows.append((name, tag, "activations (peak - steady)", peak - steady, tr["activations"],
                     f"formula; peak phase: {e['training']['activations']['peak_phase']}"))
    log(f"{name}: weights {w_meas / GiB:.3f} GiB, steady {steady / GiB if steady else 0:.3f} GiB, "
        f"peak {peak / GiB if peak else float('nan'):.3f} GiB")
    del model, opt, params


# --------------------------------------------------------------------------------------------- main

def fmt(n) -> str:
    if n is None:
        return "n/a"
    return f"{n / GiB:.3f} GiB" if abs(n) >= 2**24 else f"{n / 2**20:.2f} MiB"


def write_table(args, argv, rows, errors, t0, final=False) -> None:
    import platform as _pf

    import torch
    import transformers

    dev = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else _pf.processor() or "cpu"
    lines = [f"Measured with torch {torch.__version__}, transformers {transformers.__version__} on {dev}"
             f"{' (dry run: tiny configs)' if args.dry_run else ''}; {time.time() - t0:.0f} s"
             f"{'' if final else ' (incomplete: still running)'}.",
             f"Command: `python tools/gpu_validate.py {' '.join(argv if argv is not None else sys.argv[1:])}`", "",
             "| case | tokens | quantity | measured | ckptscope | diff | note |", "|---|---|---|---|---|---|---|"]
    for name, tag, what, meas, est, note in rows:
        diff = f"{(est - meas) / meas * 100:+.1f}%" if meas and est is not None else ""
        lines.append(f"| {name} | {tag} | {what} | {fmt(meas)} | {fmt(est)} | {diff} | {note} |")
    if errors:
        lines += ["", "Failed cases:"] + [f"- {e}" for e in errors]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    if final:
        print("\n".join(lines))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="markdown file to write the table to")
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    ap.add_argument("--dry-run", action="store_true", help="tiny versions of every config (seconds, any device)")
    ap.add_argument("--cases", help="comma list of case names (default: all)")
    ap.add_argument("--tokens", type=int, help="override the prompt length of inference cases (default 8192)")
    args = ap.parse_args(argv)

    import torch
    import transformers

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA not available; use --device cpu --dry-run", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = True
    wanted = set(args.cases.split(",")) if args.cases else None
    rows: list = []
    errors: list[str] = []
    t0 = time.time()

    def log(msg: str) -> None:
        print(f"[{time.time() - t0:6.1f}s] {msg}", flush=True)

    for name, dirname, overrides, kind, opts in CASES:
        if wanted and name not in wanted:
            continue
        o = dict(opts)
        o.setdefault("tokens", 8192)
        if args.tokens and kind != "train":
            o["tokens"] = args.tokens
        if args.dry_run:
            o["tokens"] = min(o["tokens"], 48 if kind != "seq2seq" else 12)
            if "encoder_tokens" in o:
                o["encoder_tokens"] = 20
        cfg_dict = load_cfg(dirname, overrides, args.dry_run)
        try:
            (run_train if kind == "train" else run_infer)(name, cfg_dict, kind, o, args.device, rows, log)
        except Exception as e:  # noqa: BLE001 - one failing case must not stop the others
            errors.append(f"{name}: {type(e).__name__}: {e}")
            log(f"{name} FAILED: {type(e).__name__}: {e}")
            traceback.print_exc()
        gc.collect()
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
        write_table(args, argv, rows, errors, t0)

    write_table(args, argv, rows, errors, t0, final=True)
    return 1 if errors and not rows else 0


if __name__ == "__main__":
    raise SystemExit(main())
