"""The memory plan: weights + KV cache + activations + a stated runtime overhead, per GPU, for inference and
training, with every assumption written into the result."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...errors import CkptError
from ...gpus import GPU, describe
from ...readers.config import ModelConfig
from . import compute as C
from .kv import (KV_DTYPES, bytes_per_token, context_info, kv_cache_bytes, kv_dtype_name, kv_layout, max_context)
from .weights import inventory, per_gpu_weights

GiB = 2**30
RUNTIME_OVERHEAD = 1 * GiB  #: CUDA context (~0.5 GiB on Hopper) + cuBLAS/attention workspaces + allocator slack
NCCL_OVERHEAD = GiB // 2  #: communication buffers once more than one GPU works on one model
DEFAULT_CHUNK = 8192


@dataclass
class Options:
    context: int | None = None  #: tokens per sequence (prompt + generated); default max_position_embeddings
    batch: int = 1
    kv_dtype: str | None = None  #: None/auto: the model dtype
    gpus: list[GPU] = field(default_factory=list)
    tp: int | None = None  #: default: all GPUs
    policy: str = "window"  #: sliding layers: window | full
    mla: str = "latent"
    encoder_tokens: int | None = None
    prefill_chunk: int = DEFAULT_CHUNK  #: 0 = whole prompt in one forward pass
    overhead: int | None = None  #: per GPU; default RUNTIME_OVERHEAD (+ NCCL_OVERHEAD with tp > 1)
    vocab_parallel: bool = True
    train: str | None = None  #: full | lora | qlora
    zero: int = 0
    precision: str = "mixed"
    lora_rank: int = 16
    lora_targets: str | None = None
    checkpointing: bool = False
    moe_dispatch: str = "transformers"  #: MoE prefill buffers: transformers (grouped_mm) | fused
    quant_bytes: dict[str, int] = field(default_factory=dict)  #: scheme -> total weight bytes


def _validate(o: Options) -> None:
    if o.context is not None and o.context < 1:
        raise CkptError(f"context must be >= 1, got {o.context}", "--context")
    if o.batch < 1:
        raise CkptError(f"batch must be >= 1, got {o.batch}", "--batch")
    if o.tp is not None and o.tp < 1:
        raise CkptError(f"tensor parallel degree must be >= 1, got {o.tp}", "--tp")
    if o.policy not in ("window", "full"):
        raise CkptError(f"sliding-window policy must be window or full, got {o.policy!r}", "--swa-policy")
    if o.mla not in ("latent", "expanded"):
        raise CkptError(f"MLA cache must be latent or expanded, got {o.mla!r}", "--mla")
    if o.zero not in (0, 1, 2, 3):
        raise CkptError(f"ZeRO stage must be 0..3, got {o.zero}", "--zero")
    if o.lora_rank < 1:
        raise CkptError(f"LoRA rank must be >= 1, got {o.lora_rank}", "--lora-rank")
    if o.moe_dispatch not in C.MOE_DISPATCH:
        raise CkptError(f"MoE dispatch must be one of {', '.join(C.MOE_DISPATCH)}, got {o.moe_dispatch!r}",
                        "--moe-dispatch")
    if o.precision not in C.FULL_FT:
        raise CkptError(f"precision must be one of {', '.join(C.FULL_FT)}", "--precision")


def plan(ck=None, options: Options | None = None, *, config: ModelConfig | None = None, tensors=None,
         basis: str | None = None) -> dict:
    """The whole memory section. Pass a Checkpoint, or a config (and optionally a tensor list)."""
    o = options or Options()
    _validate(o)
    cfg = config if config is not None else (ck.config if ck is not None else None)
    if cfg is None:
        raise CkptError("the memory planner needs config.json (layers, heads, context)", "config.json")
    if tensors is None:
        tensors, basis = inventory(ck, cfg)
    basis = basis or "given"
    assumptions: list[str] = []
    n_gpus = len(o.gpus)
    tp = o.tp or (n_gpus if n_gpus else 1)
    if n_gpus and tp > n_gpus:
        raise CkptError(f"--tp {tp} needs at least {tp} GPUs, --gpus gives {n_gpus}", "--tp")
    if n_gpus and n_gpus % tp:
        raise CkptError(f"{n_gpus} GPUs do not divide into tensor-parallel groups of {tp}", "--tp")
    replicas = n_gpus // tp if n_gpus else 1

    kvd = kv_dtype_name(o.kv_dtype, cfg)
    layout = kv_layout(cfg, mla=o.mla)
    mp = cfg.max_position_embeddings
    ctx = o.context or mp or 4096
    d = C.dims(cfg)

    # ---- weights
    w = per_gpu_weights(tensors, cfg, tp, vocab_parallel=o.vocab_parallel)
    params = C.param_counts(tensors, cfg)
    weights = {"basis": basis, "bytes": w["total"], "parameters": params["total"], "per_gpu": w["per_gpu"],
               "tensor_parallel": tp}
    summary = None
    if cfg.num_nextn_predict_layers or cfg.is_moe:
        from ..breakdown import summarize

        summary = summarize(tensors, cfg)["parameters"]
    if cfg.num_nextn_predict_layers:
        mtp = summary["mtp"]
        if mtp:
            weights["mtp_parameters"] = mtp
            assumptions.append(f"weights include {mtp:,} parameters of multi-token-prediction layers, which engines "
                               "load only for speculative decoding")
    if basis == "approximate":
        assumptions.append("weights: no safetensors headers and no architecture rules for this family: tensor list "
                           "approximated from config.json (standard decoder / T5 layouts)")
    elif basis == "predicted":
        assumptions.append("weights: predicted from config.json by the architecture rules (no headers read)")
    else:
        assumptions.append("weights: exact bytes from the safetensors headers")
    if tp > 1:
        weights["split"] = {
            "split_by_tp": w["by_role"]["split"], "kv_projections": w["by_role"]["kv"],
            "replicated": w["by_role"]["replicated"],
            "rule": ("split across the tp GPUs: attention query/output projections by attention heads, K/V "
                     "projections by KV heads (each GPU keeps at least one: replicated when KV heads < tp), MLP and "
                     "expert matrices by their intermediate dimension, " +
                     ("embedding and LM head by vocabulary (vocab-parallel, as vLLM, SGLang, TensorRT-LLM and "
                      "Megatron do)" if o.vocab_parallel else "embedding and LM head replicated (--no-vocab-parallel)")
                     + "; replicated on every GPU: norms, router, position tables, MLA's down-projections "
                       "(q_a_proj, kv_a_proj_with_mqa) and their norms"),
        }

    # ---- KV cache
    kv_at = kv_cache_bytes(layout, ctx, o.batch, kvd, policy=o.policy, encoder_tokens=o.encoder_tokens)
    kv_gpu = kv_cache_bytes(layout, ctx, o.batch, kvd, policy=o.policy, encoder_tokens=o.encoder_tokens, tp=tp)
    kv = {
        "attention": layout.attention, "kv_dtype": kvd,
        "kv_dtype_bytes_per_value": KV_DTYPES[kvd][0] / KV_DTYPES[kvd][1],
        "layers": layout.counts, "sliding_window": layout.sliding_window,
        "sliding_policy": o.policy if layout.sliding_window else None,
        "bytes_per_token": bytes_per_token(layout, kvd),
        "context": ctx, "batch": o.batch, "bytes": kv_at["total"], "by_kind": kv_at["by_kind"],
        "per_gpu": kv_gpu["total"], "notes": list(layout.notes),
    }
    if cfg.is_encoder_decoder:
        kv["encoder_tokens"] = o.encoder_tokens or ctx
    if mp:
        kv["at_max_position_embeddings"] = {
            "context": mp, "bytes": kv_cache_bytes(layout, mp, o.batch, kvd, policy=o.policy)["total"]}
    if layout.sliding_window:
        kv["notes"].append("sliding layers: 'window' keeps the last sliding_window tokens (vLLM, SGLang, llama.cpp "
                           "SWA cache; transformers keeps sliding_window - 1 once decoding starts); 'full' keeps "
                           "every token (llama.cpp --swa-full, and transformers right after a prefill, whose "
                           "cached window is a view of the whole prefill tensor)")
    if kvd in ("q8_0", "q4_0"):
        kv["notes"].append(f"{kvd}: blocks of 32 values with one fp16 scale each "
                           f"({KV_DTYPES[kvd][0]} bytes per 32 values), each token's row rounded up to whole blocks")
    if mp and ctx > mp:
        assumptions.append(f"WARNING: context {ctx:,} exceeds max_position_embeddings {mp:,}: the model was not "
                           "trained for it (memory shown anyway)")
    assumptions.append(f"KV cache dtype {kvd}; context {ctx:,} tokens per sequence (prompt + generated), batch "
                       f"{o.batch}")

    # ---- inference, per GPU
    chunk = ctx if not o.prefill_chunk else min(ctx, o.prefill_chunk)

    def swa_mask(n: int) -> int:
        """transformers' SDPA path: sliding-window layers get an explicit boolean mask, batch x chunk x keys bytes,
        once the keys reach past the window (full-attention layers use is_causal and build none)."""
        c = n if not o.prefill_chunk else min(n, o.prefill_chunk)
        w = layout.sliding_window
        if not w or n <= w or not any(L.kind == "sliding" for L in layout.layers):
            return 0
        return o.batch * c * n

    act = C.prefill_activation_bytes(d, chunk, o.batch, tp, moe_dispatch=o.moe_dispatch) + swa_mask(ctx)
    overhead = o.overhead if o.overhead is not None else RUNTIME_OVERHEAD + (NCCL_OVERHEAD if tp > 1 else 0)
    assumptions.append(f"runtime overhead {overhead / GiB:.2f} GiB per GPU (" + (
        "given" if o.overhead is not None else "CUDA context and library workspaces 1 GiB" +
        (" + 0.5 GiB communication buffers" if tp > 1 else "")) + ")")
    assumptions.append(f"prefill in chunks of {chunk:,} tokens" + (
        " (whole prompt at once)" if chunk == ctx else " (--prefill-chunk; engines default to a few thousand)")
        + "; " + C.PREFILL_FORMULA)
    if d.moe_layers:
        assumptions.append(C.moe_formula(d, o.moe_dispatch))
    if swa_mask(ctx):
        assumptions.append(f"sliding-window layers: + a boolean attention mask of batch x chunk x keys = "
                           f"{swa_mask(ctx):,} bytes during prefill (transformers' SDPA path builds it once the "
                           f"keys pass the {layout.sliding_window:,}-token window; flash-attention engines build none)")
    inf = {"weights": w["per_gpu"], "kv_cache": kv_gpu["total"], "activations": act, "overhead": overhead}
    inf["total"] = sum(inf.values())
    inference: dict = {"per_gpu": inf, "tensor_parallel": tp, "replicas": replicas}
    def extra(n: int) -> int:
        return C.prefill_activation_bytes(d, n if not o.prefill_chunk else min(n, o.prefill_chunk), o.batch, tp,
                                          moe_dispatch=o.moe_dispatch) + swa_mask(n)

    if o.gpus:
        cap = min(g.bytes for g in o.gpus)
        inference.update(_fit(inf["total"], cap, o.gpus))
        budget = cap - w["per_gpu"] - overhead

        mc = max_context(layout, budget, o.batch, kvd, policy=o.policy, tp=tp, extra=extra, limit=1 << 34)
        inference["max_context"] = {
            "tokens": mc, "within_model_limit": min(mc, mp) if mp else mc,
            "note": (f"largest context per sequence (batch {o.batch}) whose KV cache and prefill activations fit "
                     f"in {cap / GiB:.2f} GiB after {w['per_gpu'] / GiB:.2f} GiB of weights and "
                     f"{overhead / GiB:.2f} GiB overhead" + (
                         f"; the model's own limit is {mp:,}" if mp and mc > mp else ""))}
        if mc >= 1 << 34:
            inference["max_context"]["tokens"] = None
            inference["max_context"]["note"] = ("no cache that grows with the context (encoder-only, or sliding/state "
                                                "layers only): memory does not limit the context")
    # ---- quantized weights
    if o.quant_bytes:
        frac = (w["per_gpu"] / w["total"]) if w["total"] else 1.0
        rows = {}
        for name, qb in o.quant_bytes.items():
            per = int(math.ceil(qb * frac))
            t = per + kv_gpu["total"] + act + overhead
            row = {"weights_bytes": qb, "weights_per_gpu": per, "total_per_gpu": t}
            if o.gpus:
                cap = min(g.bytes for g in o.gpus)
                row.update(_fit(t, cap, o.gpus))
                mcq = max_context(layout, cap - per - overhead, o.batch, kvd, policy=o.policy, tp=tp, extra=extra,
                                  limit=1 << 34)
                row["max_context"] = None if mcq >= 1 << 34 else mcq
            rows[name] = row
        inference["quantized"] = rows
        if tp > 1:
            assumptions.append("quantized weights split across GPUs in the same proportion as the unquantized ones")

    out = {
        "model": {"architecture": cfg.architecture, "model_type": cfg.model_type},
        "weights": weights,
        "kv_cache": kv,
        "context": context_info(cfg),
        "inference": inference,
        "assumptions": assumptions,
    }
    if o.gpus:
        out["gpus"] = {"spec": describe(o.gpus), "count": n_gpus, "bytes_each": [g.bytes for g in o.gpus]}
    moe = _moe(summary, cfg)
    if moe:
        out["moe"] = moe
    if o.train:
        out["training"] = _training(tensors, cfg, o, d, ctx, n_gpus or 1, assumptions)
        if o.gpus:
            out["training"].update(_fit(out["training"]["per_gpu"]["total"], min(g.bytes for g in o.gpus), o.gpus))
    return out


def _fit(total: int, cap: int, gpus: list[GPU]) -> dict:
    return {"capacity_per_gpu": cap, "fits": total <= cap, "headroom": cap - total,
            "headroom_fraction": round((cap - total) / cap, 4) if cap else None}


def _moe(s: dict | None, cfg: ModelConfig) -> dict | None:
    if not cfg.is_moe or not s:
        return None
    act = s.get("active")
    if not act:
        return None
    return {"experts": act["experts"], "experts_per_token": act["experts_per_token"],
            "parameters_in_memory": s["main"], "parameters_active_per_token": act["total"],
            "mtp_parameters": s["mtp"],
            "forward_flops_per_token": 2 * act["total"],
            "note": ("memory holds every expert; each token computes with only its top-k experts. Size GPUs by "
                     "parameters_in_memory, compute and speed by parameters_active_per_token (about 2 FLOPs per "
                     "active parameter per token forward)")}


def _training(tensors, cfg: ModelConfig, o: Options, d: C.Dims, seq: int, n_gpus: int, assumptions: list) -> dict:
    mode = o.train
    if mode not in ("full", "lora", "qlora"):
        raise CkptError(f"training mode must be full, lora or qlora, got {mode!r}", "--train")
    params = C.param_counts(tensors, cfg)
    acts = C.train_activation_bytes(d, seq, o.batch, o.checkpointing, mode="full" if mode == "full" else "lora",
                                    lora_targets=C.lora_targets(o.lora_targets), rank=o.lora_rank)
    overhead = o.overhead if o.overhead is not None else RUNTIME_OVERHEAD + (NCCL_OVERHEAD if n_gpus > 1 else 0)
    res: dict = {"mode": mode, "sequence_length": seq, "micro_batch_per_gpu": o.batch,
                 "gradient_checkpointing": o.checkpointing, "activations": acts, "activation_formula": C.TRAIN_FORMULA}
    if mode == "full":
        st = C.full_ft_state(params["total"], o.precision, o.zero, n_gpus)
        res["state"] = st
        per = {"weights": st["weights"], "gradients": st["gradients"], "optimizer": st["optimizer"]}
        assumptions.append(f"full fine-tuning: {st['bytes_per_param']} bytes per parameter ({st['why']}); "
                           f"{st['zero_rule']} across {n_gpus} GPU(s)")
    else:
        targets = C.lora_targets(o.lora_targets)
        ad = C.lora_adapter(tensors, cfg, o.lora_rank, targets)
        if not ad["parameters"]:
            raise CkptError(f"no weight matches the LoRA targets {o.lora_targets!r}", "--lora-targets")
        N = n_gpus if o.zero >= 3 else 1
        if mode == "lora":
            base = params["total"] * 2
            base_why = "frozen base weights in bf16 (2 bytes per parameter)"
        else:
            base = params["linear"] * C.NF4_BYTES + params["other"] * 2
            base_why = (f"QLoRA: linear layers in NF4 with double quantization ({C.NF4_BYTES:.4f} bytes per "
                        "parameter: 4-bit values, 8-bit absmax per 64, fp32 per 256 absmax), embeddings, norms and "
                        "LM head in bf16")
        adapter = ad["parameters"] * C.ADAPTER_BYTES
        ad_opt = ad["parameters"] * 12 / (n_gpus if o.zero >= 1 else 1)
        ad_w = ad["parameters"] * 4
        per = {"base_weights": int(base / N), "adapter_weights": ad_w, "adapter_gradients": ad_w,
               "adapter_optimizer": int(ad_opt)}
        res["adapter"] = ad
        res["adapter_bytes_single_gpu"] = adapter
        assumptions.append(f"{mode}: {base_why}; adapters r x (in + out) per targeted matrix from the tensor shapes, "
                           f"kept in fp32 with fp32 gradients and Adam (16 bytes per adapter parameter, PEFT's "
                           f"default of fp32 adapters); optimizer state only for the adapter")
        if ad["skipped_fused_3d"]:
            assumptions.append(f"{ad['skipped_fused_3d']} fused 3-D expert tensors not targeted (PEFT targets "
                               "nn.Linear modules)")
    per["activations"] = acts["total"]
    per["overhead"] = overhead
    per["total"] = int(sum(per.values()))
    res["per_gpu"] = per
    assumptions.append("training: " + C.TRAIN_FORMULA)
    return res
