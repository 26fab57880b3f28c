#!/usr/bin/env python3
"""Measure the memory of PLAIN-DEFAULT transformers runs and write raw JSON (no ckptscope numbers in it).

Standalone: never imported by ckptscope. Each case builds a model with random weights from a real config in
fixtures/configs (optionally scaled), the way a plain script does:

- inference: ``AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)`` (what from_pretrained(dtype=bf16)
  allocates; attention implementation left to transformers' default), then ONE
  ``model(input_ids, use_cache=True)`` under ``torch.no_grad()`` (no logits_to_keep: logits for every position);
- training: the same model (bf16 weights for ``--precision bf16``, fp32 weights + ``torch.autocast(bfloat16)``
  for ``amp``), optionally PEFT LoRA, optionally ``gradient_checkpointing_enable()`` with its defaults, and
  ``torch.optim.AdamW(params)`` with its defaults (foreach on CUDA; on CPU foreach is forced, to run the same
  temporaries), two steps of ``loss = model(input_ids=ids, labels=ids).loss; loss.backward(); opt.step();
  opt.zero_grad(set_to_none=True)``.

Peaks: on CUDA ``torch.cuda.max_memory_allocated()`` (includes the cuBLAS workspaces); on CPU the peak of live
tensor-storage bytes seen by a TorchDispatchMode that tracks every storage an operator returns through a weak
reference (weights and buffers registered first). CPU figures are exact for what PyTorch allocates as tensors,
but SDPA picks its CPU kernel and nothing of cuBLAS is there.

    python tools/measure_memory.py out.json --device cpu --scale tiny          # seconds, any machine
    python tools/measure_memory.py out.json --device cuda                      # real sizes, one GPU
    python tools/validation_table.py out.json > docs/validation-measured.md    # table with ckptscope beside
"""

from __future__ import annotations

import argparse
import gc
import os
import json
import platform
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "fixtures" / "configs"

# name, config dir, overrides, mode, options. Depth cuts keep every width (the planner's terms are per layer).
CASES = [
    ("gpt2-1k", "openai-community__gpt2", {}, "infer", {"tokens": 1024}),
    ("qwen25-05b-4k", "Qwen__Qwen2.5-0.5B", {}, "infer", {"tokens": 4096}),
    ("llama32-1b-8k", "meta-llama__Llama-3.2-1B", {}, "infer", {"tokens": 8192}),
    ("gemma2-2b-4k", "google__gemma-2-2b", {}, "infer", {"tokens": 4096}),
    ("phi3-mini-4k", "microsoft__Phi-3-mini-4k-instruct", {}, "infer", {"tokens": 4096}),
    ("llama31-8b-8k", "meta-llama__Llama-3.1-8B", {}, "infer", {"tokens": 8192}),
    ("mistral-7b-8k", "mistralai__Mistral-7B-v0.1", {}, "infer", {"tokens": 8192}),
    ("qwen3-30b-a3b-8L-4k", "Qwen__Qwen3-30B-A3B", {"num_hidden_layers": 8}, "infer", {"tokens": 4096}),
    ("deepseek-v3-2L-2k", "deepseek-ai__DeepSeek-V3",
     {"num_hidden_layers": 2, "first_k_dense_replace": 1, "quantization_config": None}, "infer", {"tokens": 2048}),
    ("deepseek-v2-lite-4k", "deepseek-ai__DeepSeek-V2-Lite", {}, "infer", {"tokens": 4096}),
    ("llama32-1b-full-bf16", "meta-llama__Llama-3.2-1B", {}, "train", {"train": "full", "precision": "bf16"}),
    ("llama32-1b-full-bf16-ckpt", "meta-llama__Llama-3.2-1B", {}, "train",
     {"train": "full", "precision": "bf16", "checkpointing": True}),
    ("qwen25-05b-full-amp", "Qwen__Qwen2.5-0.5B", {}, "train", {"train": "full", "precision": "amp"}),
    ("gpt2-full-bf16", "openai-community__gpt2", {}, "train", {"train": "full", "precision": "bf16", "tokens": 1024}),
    ("llama31-8b-lora-attn", "meta-llama__Llama-3.1-8B", {}, "train",
     {"train": "lora", "precision": "bf16", "lora_targets": "q_proj,k_proj,v_proj,o_proj"}),
    ("llama31-8b-lora-attn-ckpt", "meta-llama__Llama-3.1-8B", {}, "train",
     {"train": "lora", "precision": "bf16", "lora_targets": "q_proj,k_proj,v_proj,o_proj", "checkpointing": True}),
    ("llama31-8b-lora-attn-amp", "meta-llama__Llama-3.1-8B", {}, "train",
     {"train": "lora", "precision": "amp", "lora_targets": "q_proj,k_proj,v_proj,o_proj"}),
    ("phi3-mini-lora-attn", "microsoft__Phi-3-mini-4k-instruct", {}, "train",
     {"train": "lora", "precision": "bf16", "lora_targets": "q_proj,k_proj,v_proj,o_proj,qkv_proj"}),
    # issue 14, round 3: optimizers other than AdamW, MoE and MLA training. The MoE / MLA training cases keep every
    # width (hidden, expert and head dims, top-k, vocabulary) but 16 experts, so that a CPU can hold them; SGD
    # (no state) keeps the step small: these two rows test the saved activations, not the optimizer.
    ("llama32-1b-full-bf16-adafactor", "meta-llama__Llama-3.2-1B", {}, "train",
     {"train": "full", "precision": "bf16", "optimizer": "adafactor"}),
    ("llama32-1b-full-bf16-sgd", "meta-llama__Llama-3.2-1B", {}, "train",
     {"train": "full", "precision": "bf16", "optimizer": "sgd"}),
    ("qwen25-05b-full-amp-adafactor", "Qwen__Qwen2.5-0.5B", {}, "train",
     {"train": "full", "precision": "amp", "optimizer": "adafactor"}),
    ("qwen3-30b-a3b-16e-full-bf16-sgd", "Qwen__Qwen3-30B-A3B", {"num_experts": 16}, "train",
     {"train": "full", "precision": "bf16", "optimizer": "sgd"}),
    ("deepseek-v2-lite-16e-full-bf16-sgd", "deepseek-ai__DeepSeek-V2-Lite", {"n_routed_experts": 16}, "train",
     {"train": "full", "precision": "bf16", "optimizer": "sgd"}),
    ("llama31-8b-lora-all-amp", "meta-llama__Llama-3.1-8B", {}, "train",
     {"train": "lora", "precision": "amp", "lora_targets": "all-linear"}),
]

TINY = {  # --scale tiny: same structure (GQA ratio, MLA, windows, experts, fused projections), small widths
    "hidden_size": 96, "n_embd": 96, "intermediate_size": 160, "moe_intermediate_size": 48,
    "num_attention_heads": 6, "n_head": 6, "num_key_value_heads": 2, "head_dim": 16,
    "vocab_size": 1200, "num_hidden_layers": 3, "n_layer": 3, "kv_lora_rank": 32, "q_lora_rank": 48,
    "qk_rope_head_dim": 8, "qk_nope_head_dim": 16, "v_head_dim": 16, "n_routed_experts": 8, "num_experts": 8,
    "num_experts_per_tok": 2, "n_group": 2, "topk_group": 1, "sliding_window": 64, "max_window_layers": 2,
    "n_positions": 4096, "max_position_embeddings": 4096,
}


def load_cfg(dirname: str, overrides: dict, scale: str) -> dict:
    d = json.loads((CONFIGS / dirname / "config.json").read_text())
    for k, v in overrides.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    if scale == "cut":
        for k in ("num_hidden_layers", "n_layer"):
            if k in d:
                d[k] = min(d[k], 2)
        if d.get("first_k_dense_replace") is not None:
            d["first_k_dense_replace"] = 1
        if isinstance(d.get("layer_types"), list):
            d["layer_types"] = d["layer_types"][:2]
    if scale == "tiny":
        for k, v in TINY.items():
            if k in d or (k == "head_dim" and "kv_lora_rank" not in d and d.get("model_type") != "gpt2"):
                d[k] = v
        if "kv_lora_rank" in d:
            d["num_key_value_heads"] = d["num_attention_heads"]
        if d.get("first_k_dense_replace") is not None:
            d["first_k_dense_replace"] = 1
        if isinstance(d.get("layer_types"), list):
            d["layer_types"] = d["layer_types"][: d["num_hidden_layers"]]
        if d.get("pad_token_id") is not None and d["pad_token_id"] >= d.get("vocab_size", 1 << 30):
            d["pad_token_id"] = 0
        if (d.get("rope_scaling") or {}).get("type") == "longrope":
            d.pop("rope_scaling")
    return d


# ------------------------------------------------------------------------------------------------ counting

def live_bytes_mode():
    import torch
    from torch.multiprocessing.reductions import StorageWeakRef
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class LiveBytes(TorchDispatchMode):
        """Peak of live tensor-storage bytes: every storage an operator returns is tracked by a weak reference."""

        def __init__(self):
            super().__init__()
            self.live: dict[int, tuple] = {}
            self.cur = 0
            self.peak = 0
            self.debug = bool(os.environ.get("MEASURE_DEBUG"))
            self.info: dict[int, tuple] = {}
            self.at_peak: list = []

        def register(self, tensors) -> None:
            for t in tensors:
                self._add(t)
            self.peak = max(self.peak, self.cur)

        def _add(self, t, func=None) -> None:
            st = t.untyped_storage()
            w = StorageWeakRef(st)
            if w.cdata not in self.live:
                self.live[w.cdata] = (w, st.nbytes())
                self.cur += st.nbytes()
                if self.debug:
                    self.info[w.cdata] = (str(func), tuple(t.shape), str(t.dtype))

        def sweep(self) -> None:
            for k in [k for k, (w, _) in self.live.items() if w.expired()]:
                self.cur -= self.live.pop(k)[1]

        def reset_peak(self) -> None:
            self.sweep()
            self.peak = self.cur

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            self.sweep()
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor) and t.device.type != "meta":
                    self._add(t, func)
            if self.debug and self.cur > getattr(self, "gmax", 0):
                self.gmax = self.cur
                self.at_peak = sorted(((n, self.info.get(k, ("weight",))) for k, (w, n) in self.live.items()
                                       if k in self.info), reverse=True)[:40]
            self.peak = max(self.peak, self.cur)
            return out

    return LiveBytes


class Meter:
    """Peak allocated bytes on CUDA (max_memory_allocated) or CPU (LiveBytes), from an empty allocator."""

    def __init__(self, device: str):
        import torch

        self.torch = torch
        self.cuda = device.startswith("cuda")
        self.mode = None if self.cuda else live_bytes_mode()()

    def __enter__(self):
        if self.mode is not None:
            self.mode.__enter__()
        return self

    def __exit__(self, *a):
        if self.mode is not None:
            self.mode.__exit__(*a)

    def register(self, model) -> None:
        if self.mode is not None:
            self.mode.register(list(model.parameters()) + list(model.buffers()))

    def now(self) -> int:
        if self.cuda:
            return self.torch.cuda.memory_allocated()
        self.mode.sweep()
        return self.mode.cur

    def peak(self) -> int:
        if self.cuda:
            self.torch.cuda.synchronize()
            return self.torch.cuda.max_memory_allocated()
        self.mode.sweep()
        return self.mode.peak

    def reset_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()
            self.torch.cuda.reset_peak_memory_stats()
        else:
            self.mode.reset_peak()


def build(cfg_dict: dict, dtype, device: str):
    import torch
    import transformers

    d = dict(cfg_dict)
    mt = d.pop("model_type")
    for k in ("architectures", "transformers_version", "auto_map", "torch_dtype", "dtype"):
        d.pop(k, None)
    config = transformers.CONFIG_MAPPING[mt](**d)
    torch.manual_seed(0)
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model


def run_case(name, cfg_dict, mode, opts, device) -> dict:
    import torch

    N = opts.get("tokens", 2048 if mode == "train" else 4096)
    V = cfg_dict.get("vocab_size", 1000)
    ids = torch.randint(0, V, (1, N), generator=torch.Generator().manual_seed(0)).to(device)
    rec = {"case": name, "mode": mode, "tokens": N, "batch": 1, "options": opts}
    precision = opts.get("precision", "bf16")
    wdtype = torch.float32 if precision == "amp" else torch.bfloat16
    if device.startswith("cuda"):
        # every case starts like a fresh process: the cuBLAS workspaces an earlier case left cached in the
        # allocator are dropped, so this case's first matmul allocates (and counts) its own
        gc.collect()
        if hasattr(torch._C, "_cuda_clearCublasWorkspaces"):
            torch._C._cuda_clearCublasWorkspaces()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() if device.startswith("cuda") else 0
    with Meter(device) as m:
        model = build(cfg_dict, wdtype, device)
        m.register(model)
        rec["attn_implementation"] = model.config._attn_implementation
        rec["weights"] = m.now() - base
        if mode == "infer":
            model.eval()
            m.reset_peak()
            with torch.no_grad():
                out = model(input_ids=ids, use_cache=True)
            rec["peak"] = m.peak() - base
            rec["after"] = m.now() - base
            if m.mode is not None and m.mode.debug:
                rec["at_peak"] = [[n, *i] for n, i in m.mode.at_peak]
            rec["logits_dtype"] = str(out.logits.dtype)
            del out
        else:
            if opts["train"] == "lora":
                from peft import LoraConfig, get_peft_model

                targets = opts.get("lora_targets", "all-linear")
                model = get_peft_model(model, LoraConfig(r=opts.get("rank", 16), lora_alpha=32,
                                                         target_modules=targets if targets == "all-linear"
                                                         else targets.split(",")))
            model.train()
            if opts.get("checkpointing"):
                model.gradient_checkpointing_enable()
            params = [p for p in model.parameters() if p.requires_grad]
            kw = {} if device.startswith("cuda") else {"foreach": True}  # CUDA default is foreach
            optimizer = opts.get("optimizer", "adamw")
            if optimizer == "adafactor":  # transformers' Adafactor with its defaults (relative step, no lr)
                from transformers.optimization import Adafactor

                opt = Adafactor(params)
            elif optimizer == "sgd":  # torch.optim.SGD defaults (momentum 0)
                opt = torch.optim.SGD(params, **kw)
            else:
                opt = torch.optim.AdamW(params, **kw)
            phases = {}
            for step in range(2):
                m.reset_peak()
                with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16,
                                    enabled=precision == "amp"):
                    loss = model(input_ids=ids, labels=ids).loss
                phases[f"forward{step + 1}"] = m.peak() - base
                m.reset_peak()
                loss.backward()
                del loss
                phases[f"backward{step + 1}"] = m.peak() - base
                m.reset_peak()
                opt.step()
                phases[f"step{step + 1}"] = m.peak() - base
                opt.zero_grad(set_to_none=True)
            rec["phases"] = phases
            if m.mode is not None and m.mode.debug:
                rec["at_peak"] = [[n, *i] for n, i in m.mode.at_peak]
            rec["peak"] = max(phases.values())
            rec["trainable_parameters"] = sum(p.numel() for p in params)
            del opt, params
        del model
    gc.collect()
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="raw JSON to write")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--scale", choices=("real", "cut", "tiny"), default="real",
                    help="real sizes; cut: real widths and vocabulary, 2 layers (CPU-affordable); tiny: small widths")
    ap.add_argument("--cases", help="comma list of case names (default all)")
    ap.add_argument("--tokens", type=int, help="override every case's token count")
    args = ap.parse_args(argv)
    import torch
    import transformers

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA not available; use --device cpu --scale tiny", file=sys.stderr)
        return 2
    wanted = set(args.cases.split(",")) if args.cases else None
    doc = {"torch": torch.__version__, "transformers": transformers.__version__, "device": args.device,
           "cuda": torch.version.cuda, "capability": list(torch.cuda.get_device_capability(0))
           if args.device.startswith("cuda") else None,
           "device_name": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor()
           or "cpu", "scale": args.scale, "command": " ".join(sys.argv), "cases": [], "failed": []}
    try:
        import peft

        doc["peft"] = peft.__version__
    except ImportError:
        doc["peft"] = None
    t0 = time.time()
    for name, dirname, overrides, mode, opts in CASES:
        if wanted and name not in wanted:
            continue
        o = dict(opts)
        if args.tokens:
            o["tokens"] = args.tokens
        cfg = load_cfg(dirname, overrides, args.scale)
        if not args.device.startswith("cuda") and mode == "train" and cfg.get("attn_pdrop"):
            # CPU only: SDPA with dropout_p > 0 falls back to the math kernel on CPU (scores materialised); CUDA's
            # flash kernel applies dropout in place and saves only its RNG state, so CPU runs it at attn_pdrop 0
            cfg["attn_pdrop"] = 0.0
        try:
            r = run_case(name, cfg, mode, o, args.device)
            r["config_dir"] = dirname
            r["config"] = cfg
            doc["cases"].append(r)
            print(f"[{time.time() - t0:6.1f}s] {name}: peak {r['peak']:,}", flush=True)
        except Exception as e:  # noqa: BLE001 - one failing case must not stop the others
            doc["failed"].append(f"{name}: {type(e).__name__}: {e}")
            traceback.print_exc()
        doc["seconds"] = round(time.time() - t0, 1)
        Path(args.out).write_text(json.dumps(doc, indent=1))
    return 0 if doc["cases"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
