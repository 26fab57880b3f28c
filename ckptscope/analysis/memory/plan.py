"""The memory plan: weights + KV cache + activations + a stated runtime overhead, per GPU, for inference and
training, with every assumption written into the result."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from dataclasses import replace as _dc_replace

from ...errors import CkptError
from ...gpus import GPU, describe
from ...readers.config import ModelConfig
from . import compute as C
from . import runtime as R
from . import train as TR
from .engines import FIELDS, get_profile, parse_dtype, runtime_dtype
from .kv import (KV_DTYPES, ST_TO_KV, bytes_per_token, context_info, kv_cache_bytes, kv_dtype_name, kv_layout,
                 max_context)
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
    policy: str | None = None  #: sliding layers: window | full; None = what the engine holds after a prefill
    mla: str = "latent"
    encoder_tokens: int | None = None
    prefill_chunk: int | None = None  #: 0 = whole prompt in one forward pass; None = the engine's default
    overhead: int | None = None  #: per GPU; default the engine's (+ NCCL_OVERHEAD with tp > 1)
    engine: str | None = None  #: transformers (default) | vllm | sglang | llama.cpp (engines.py)
    dtype: str | None = None  #: runtime weight dtype (bfloat16, float16, float32); None = the engine's rule
    optimizer: str = "adamw"
    vocab_parallel: bool = True
    train: str | None = None  #: full | lora | qlora
    zero: int = 0
    precision: str = "mixed"
    lora_rank: int = 16
    lora_targets: str | None = None
    checkpointing: bool = False
    moe_dispatch: str | None = None  #: MoE prefill buffers: transformers (grouped_mm) | fused; None = engine's
    memory_fraction: float | None = None  #: paged engines: share of the GPU taken (vLLM gpu_memory_utilization)
    quant_bytes: dict[str, int] = field(default_factory=dict)  #: scheme -> total weight bytes


def _validate(o: Options) -> None:
    if o.context is not None and o.context < 1:
        raise CkptError(f"context must be >= 1, got {o.context}", "--context")
    if o.batch < 1:
        raise CkptError(f"batch must be >= 1, got {o.batch}", "--batch")
    if o.tp is not None and o.tp < 1:
        raise CkptError(f"tensor parallel degree must be >= 1, got {o.tp}", "--tp")
    if o.policy is not None and o.policy not in ("window", "full"):
        raise CkptError(f"sliding-window policy must be window or full, got {o.policy!r}", "--swa-policy")
    if o.mla not in ("latent", "expanded"):
        raise CkptError(f"MLA cache must be latent or expanded, got {o.mla!r}", "--mla")
    if o.zero not in (0, 1, 2, 3):
        raise CkptError(f"ZeRO stage must be 0..3, got {o.zero}", "--zero")
    if o.lora_rank < 1:
        raise CkptError(f"LoRA rank must be >= 1, got {o.lora_rank}", "--lora-rank")
    if o.moe_dispatch is not None and o.moe_dispatch not in C.MOE_DISPATCH:
        raise CkptError(f"MoE dispatch must be one of {', '.join(C.MOE_DISPATCH)}, got {o.moe_dispatch!r}",
                        "--moe-dispatch")
    if o.precision not in TR.PRECISIONS:
        raise CkptError(f"precision must be one of {', '.join(TR.PRECISIONS)}", "--precision")
    if o.optimizer not in TR.OPTIMIZERS:
        raise CkptError(f"optimizer must be one of {', '.join(TR.OPTIMIZERS)}", "--optimizer")
    if o.memory_fraction is not None and not 0 < o.memory_fraction <= 1:
        raise CkptError(f"memory fraction must be in (0, 1], got {o.memory_fraction}", "--memory-fraction")


def plan(ck=None, options: Options | None = None, *, config: ModelConfig | None = None, tensors=None,
         basis: str | None = None) -> dict:
    """The whole memory section. Pass a Checkpoint, or a config (and optionally a tensor list)."""
    o = options or Options()
    _validate(o)
    cfg = config if config is not None else (ck.config if ck is not None else None)
    if cfg is None:
        raise CkptError("the memory planner needs config.json (layers, heads, context)", "config.json")
    cfg = _family_defaults(cfg)
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

    gguf = getattr(ck, "gguf", None) is not None
    prof = get_profile(o.engine or ("llama.cpp" if gguf else None))
    moe_dispatch = o.moe_dispatch or prof["moe_dispatch"]
    default_why = (" (default for a GGUF file; --engine for others)" if gguf else
                   " (default; --engine vllm|sglang|llama.cpp for others)")
    assumptions.append(f"engine {prof['name']}" + (default_why if not o.engine else "") + f": {prof['title']}")
    loaded, skipped = R.loaded_tensors(tensors, cfg, prof)
    rdt, rdt_why = runtime_dtype(prof, cfg, loaded, parse_dtype(o.dtype))
    if o.train:
        rdt, rdt_why = _train_dtype(o, rdt, rdt_why)
    explicit = parse_dtype(o.dtype) is not None
    # a GGUF file is loaded as stored (llama.cpp keeps each tensor's ggml type; --dtype re-expresses the floats)
    run_t = loaded if gguf and not explicit else R.recast(loaded, cfg, rdt, dequantize=explicit)
    if gguf and not explicit:
        rdt_why += "; the GGUF's tensors are held in their stored ggml types"
    if explicit and any(t.dtype in R.FP8_CODES for t in loaded):
        assumptions.append(f"--dtype given: FP8 weights counted dequantized to {rdt} and their scales dropped (what "
                           "a model built from config.json or loaded with dequantize=True holds); leave --dtype "
                           "out to keep the checkpoint's FP8")
    abytes = 4 if rdt == "F32" else 2
    buf_bytes, buf_why = R.rotary_buffers(cfg) if prof.get("rotary_buffers") else (0, "")
    if prof.get("rotary_cos_sin_cache"):
        cs = R.cos_sin_cache_sizes(cfg, abytes)
        if cs:
            buf_bytes += sum(cs)
            buf_why = (f"rotary cos/sin cache{'s' if len(cs) > 1 else ''} [max_position_embeddings, rotary_dim] in "
                       f"the weight dtype: {sum(cs):,} bytes")
    assumptions.append(f"runtime weight dtype {rdt} ({rdt_why})")
    if buf_bytes:
        assumptions.append(f"non-persistent buffers counted with the weights: {buf_why}")
    kvd = kv_dtype_name(o.kv_dtype, cfg) if o.kv_dtype not in (None, "auto") else ST_TO_KV.get(rdt, "bf16")
    layout = kv_layout(cfg, mla=o.mla)
    mp = cfg.max_position_embeddings
    ctx = o.context or mp or 4096
    d = C.dims(cfg, act_bytes=abytes)
    # fused gate_up (Phi-3): its 2I output, SiLU(gate) and the product; NewGELU (GPT-2): x and three temporaries
    d.mlp_live = 4 if d.gpt2_block or any(t.name.endswith("gate_up_proj.weight") for t in run_t) else 3
    gmax = prof.get("gqa_max_head_dim")
    hd_k = (d.q // d.heads) if d.heads else 0
    d.kv_repeat = bool(gmax) and not d.mla and d.kv_heads != d.heads and hd_k > gmax
    if prof.get("attention_lse") and not (cfg.model_type in prof.get("eager_attention", ())):  # CUDA SDPA kernels
        qk_dim, v_dim = ((d.mla[1] + d.mla[2], d.mla[3]) if d.mla else (hd_k, hd_k))
        d.attn_accum = C.meff_accum_bytes(d.heads, qk_dim, v_dim)

    # ---- weights
    w = per_gpu_weights(run_t, cfg, tp, vocab_parallel=o.vocab_parallel)
    w["total"] += buf_bytes
    w["per_gpu"] += buf_bytes
    params = C.param_counts(run_t, cfg)
    stored = R.weight_bytes(tensors)
    weights = {"basis": basis, "bytes": w["total"], "parameters": params["total"], "per_gpu": w["per_gpu"],
               "tensor_parallel": tp, "dtype": rdt, "checkpoint_bytes": stored, "buffers": buf_bytes}
    summary = None
    if cfg.num_nextn_predict_layers or cfg.is_moe:
        from ..breakdown import summarize

        summary = summarize(tensors, cfg)["parameters"]
    if cfg.num_nextn_predict_layers:
        mtp = summary["mtp"]
        if mtp:
            weights["mtp_parameters"] = mtp
            if skipped["mtp"]:
                assumptions.append(f"{skipped['mtp']:,} parameters of multi-token-prediction layers left out: "
                                   f"{prof['name']} does not build them (they serve speculative decoding only)")
            else:
                assumptions.append(f"weights include {mtp:,} parameters of multi-token-prediction layers")
    if skipped["vision"]:
        assumptions.append(f"{skipped['vision']:,} vision/audio tower parameters left out: {prof['name']} loads "
                           "them separately")
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
    if o.policy is None:
        o = _dc_replace(o, policy=prof.get("sliding_kv_after_prefill", "window"))
    blk = prof["kv_block_tokens"] or 1
    kv_ctx = -(-ctx // blk) * blk  # paged / ring caches allocate whole blocks
    kv_at = kv_cache_bytes(layout, kv_ctx, o.batch, kvd, policy=o.policy, encoder_tokens=o.encoder_tokens)
    kv_gpu = kv_cache_bytes(layout, kv_ctx, o.batch, kvd, policy=o.policy, encoder_tokens=o.encoder_tokens, tp=tp)
    kv = {
        "attention": layout.attention, "kv_dtype": kvd,
        "kv_dtype_bytes_per_value": KV_DTYPES[kvd][0] / KV_DTYPES[kvd][1],
        "layers": layout.counts, "sliding_window": layout.sliding_window,
        "sliding_policy": o.policy if layout.sliding_window else None,
        "bytes_per_token": bytes_per_token(layout, kvd),
        "context": ctx, "batch": o.batch, "bytes": kv_at["total"], "by_kind": kv_at["by_kind"],
        "per_gpu": kv_gpu["total"], "notes": list(layout.notes), "storage": prof["kv_storage"],
        "block_tokens": blk,
    }
    if kv_ctx != ctx:
        kv["notes"].append(f"{prof['name']} stores the cache in blocks of {blk} tokens: {ctx:,} tokens take "
                           f"{kv_ctx:,} tokens of storage")
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
    pchunk = prof["prefill_chunk"] if o.prefill_chunk is None else o.prefill_chunk

    def chunk_of(n: int) -> int:
        return n if not pchunk else min(n, pchunk)

    chunk = chunk_of(ctx)
    eager = cfg.model_type in prof.get("eager_attention", ())

    def swa_mask(n: int) -> int:
        """transformers' SDPA path: sliding-window layers get an explicit boolean mask, batch x chunk x keys bytes,
        once the keys reach past the window (full-attention layers use is_causal and build none)."""
        w = layout.sliding_window
        if eager or not prof.get("explicit_sliding_mask") or not w or n <= w or not any(
                L.kind == "sliding" for L in layout.layers):
            return 0
        return o.batch * chunk_of(n) * n

    def swa_attn(n: int) -> int:
        """Inside a masked sliding layer's attention call only: ATen's float copy of the boolean mask and the K/V
        repeated to every query head (the GQA fast path is off once a mask is passed)."""
        if not swa_mask(n):
            return 0
        return o.batch * chunk_of(n) * n * abytes + o.batch * n * 2 * max(0, d.q - d.kv) * abytes // tp

    run_ab = prof.get("activation_bytes") or abytes  # ggml computes in fp32 whatever the weights are

    def moments(n: int) -> dict:
        c = chunk_of(n)
        layer = C.prefill_activation_bytes(d, c, o.batch, tp, act_bytes=run_ab, moe_dispatch=moe_dispatch,
                                           logits=False, attn_extra=swa_attn(n)) + swa_mask(n)
        if eager:
            kinds = {L.kind for L in layout.layers if L.kind in ("full", "sliding")}
            layer += C.eager_scores_bytes(d, cfg, c, n, o.batch, tp, abytes, max(1, len(kinds)))
        head = C.logits_bytes(d, cfg, c, o.batch, tp, run_ab, prof)
        out = {"layer": layer, "logits": head}
        sw = prof.get("sampler_warmup")
        if sw and d.vocab:
            # the logits are gathered to the whole vocabulary before sampling, on every tensor-parallel rank
            out["sampler_warmup"] = int(sw["seqs"] * d.vocab * sw["bytes_per_logit"])
        return out

    mom = moments(ctx)
    act = max(mom.values())
    peak_moment = max(mom, key=mom.get)
    tp_extra = prof.get("tp_overhead", NCCL_OVERHEAD)
    overhead = o.overhead if o.overhead is not None else prof["overhead"] + (tp_extra if tp > 1 else 0)
    workspace = prof["library_workspace"]
    graphs = prof["cuda_graph_bytes"]
    assumptions.append(f"runtime overhead {overhead / GiB:.2f} GiB per GPU (" + (
        "given" if o.overhead is not None else f"{prof['name']} profile: CUDA context, kernels, allocator slack" +
        (f" + {tp_extra / GiB:.2f} GiB communication buffers" if tp > 1 else "")) + ")")
    if workspace:
        assumptions.append(f"library workspace {workspace / 2**20:.0f} MiB: cuBLAS workspace of the thread that runs "
                           "the forward (allocated through the framework allocator, so it is in "
                           "torch.cuda.memory_allocated)")
    assumptions.append(f"prefill in chunks of {chunk:,} tokens" + (
        " (whole prompt at once)" if chunk == ctx else f" ({'--prefill-chunk' if o.prefill_chunk else prof['name'] + ' default'})")
        + "; " + C.PREFILL_FORMULA)
    assumptions.append(C.logits_formula(d, cfg, prof) + f"; peak of the forward pass at the {peak_moment} moment")
    if eager:
        assumptions.append(C.EAGER_FORMULA)
    if "sampler_warmup" in mom:
        sw = prof["sampler_warmup"]
        assumptions.append(f"sampler warm-up at start-up: {sw['seqs']:,} dummy sequences x vocab x "
                           f"{sw['bytes_per_logit']} bytes (fp32 logits + their sort: fp32 values, int64 indices) "
                           f"= {mom['sampler_warmup']:,} bytes, one of the forward-pass moments")
    if d.moe_layers:
        assumptions.append(C.moe_formula(d, moe_dispatch))
    if d.attn_accum:
        assumptions.append(C.MEFF_ACCUM)
    if swa_mask(ctx):
        assumptions.append(f"sliding-window layers: + a boolean attention mask of batch x chunk x keys, its float copy "
                           f"(ATen converts boolean masks) and the repeated K/V = {swa_mask(ctx):,} bytes during "
                           f"prefill (transformers' SDPA path builds the mask once the keys pass the "
                           f"{layout.sliding_window:,}-token window; flash-attention engines build none)")
    blk_b = prof.get("allocator_block") or 0
    rot_sizes = R.rotary_buffer_sizes(cfg) if prof.get("rotary_buffers") else []
    w_round = R.block_rounding(R.tensor_sizes(run_t) + rot_sizes, blk_b)
    if w_round:
        assumptions.append(f"allocator rounding {w_round:,} bytes: each weight and buffer tensor is a block rounded "
                           f"up to {blk_b} bytes, and max_memory_allocated counts the rounded size")
    inf = {"weights": w["per_gpu"], "kv_cache": kv_gpu["total"], "activations": act, "workspace": workspace,
           "cuda_graphs": graphs, "overhead": overhead, "allocator_rounding": w_round}
    inf["total"] = sum(inf.values())
    inference: dict = {"per_gpu": inf, "tensor_parallel": tp, "replicas": replicas, "peak_moment": peak_moment,
                       "moments": mom, "prefill_chunk": chunk}

    def extra(n: int) -> int:
        return max(moments(n).values())

    if o.gpus:
        cap = min(g.bytes for g in o.gpus)
        inference.update(_fit(inf["total"], cap, o.gpus))
        budget = cap - w["per_gpu"] - overhead - workspace - graphs
        frac = o.memory_fraction or prof["memory_fraction"]
        if frac:
            rule = prof.get("kv_pool_rule", "profile")
            pool = int(cap * frac) - w["per_gpu"] - overhead
            if rule == "profile":
                pool -= extra(ctx) + workspace
                what = "weights, the profile run's peak activations and non-torch memory"
            else:
                what = "weights and non-torch memory (activations and CUDA graphs use the rest of the GPU)"
            bpt = bytes_per_token(layout, kvd, tp)["all_layers"]
            grouping = _kv_groups(layout, kvd, tp) if prof.get("kv_layer_groups") == "uniform_page" else None
            if grouping:
                bpt = grouping["bytes_per_token"]
                assumptions.append(
                    f"{prof['name']} groups the {grouping['kinds']} attention layers into {grouping['groups']} KV groups "
                    f"of {grouping['group_size']} layers ({grouping['padding_layers']} padding layer(s)); each token "
                    f"of the pool costs {bpt:,} bytes (vllm/v1/core/kv_cache_utils.py; logged 'Add N padding "
                    "layers')")
            inference["kv_pool"] = {
                "bytes": max(0, pool), "memory_fraction": frac, "rule": rule, "bytes_per_token": bpt,
                "tokens": (max(0, pool) // bpt // blk * blk) if bpt else None,
                "note": (f"{prof['name']} takes {frac:.0%} of the GPU" +
                         (" (--memory-fraction)" if o.memory_fraction else "") +
                         f" and gives what is left after {what} to the KV cache; 'tokens' is the figure its "
                         "startup log prints (KV cache size in tokens)")}

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
            t = per + kv_gpu["total"] + act + overhead + workspace + graphs
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
        "engine": {"name": prof["name"], "title": prof["title"], "default": not o.engine,
                   "profile": {k: prof[k] for k in FIELDS if k in prof}, "sources": prof["sources"]},
        "assumptions": assumptions,
    }
    if o.gpus:
        out["gpus"] = {"spec": describe(o.gpus), "count": n_gpus, "bytes_each": [g.bytes for g in o.gpus]}
    moe = _moe(summary, cfg)
    if moe:
        out["moe"] = moe
    if o.train:
        out["training"] = _training(run_t, cfg, o, d, ctx, n_gpus or 1, assumptions, workspace, buf_bytes, prof,
                                    layout, rot_sizes)
        if o.gpus:
            out["training"].update(_fit(out["training"]["per_gpu"]["total"], min(g.bytes for g in o.gpus), o.gpus))
    return out


def _kv_groups(layout, kvd: str, tp: int) -> dict | None:
    """vLLM's hybrid KV-cache grouping (v0.19 kv_cache_utils, uniform page size): the attention layers of each
    kind (full, sliding) are cut into groups of one size -- the smallest kind's count, or the largest's when that
    is under 1.25 x the smallest -- the last group of a kind padded with empty layers; every block of the pool spans
    one group, and a token needs a block in every group, so a pool token costs (layers + padding) x the largest
    per-layer size. None when every attention layer is of one kind (one group, no padding)."""
    from math import ceil

    from .kv import tp_share

    per = {}
    for L in layout.layers:
        if L.kind in ("full", "sliding"):
            per.setdefault(L.kind, []).append(L.bytes_per_token(kvd) * tp_share(L, tp))
    if len(per) < 2:
        return None
    counts = {k: len(v) for k, v in per.items()}
    lo, hi = min(counts.values()), max(counts.values())
    g = hi if hi < lo * 1.25 else lo
    pad = sum((-n) % g for n in counts.values())
    groups = sum(ceil(n / g) for n in counts.values())
    biggest = max(max(v) for v in per.values())
    return {"group_size": g, "padding_layers": pad, "groups": groups, "kinds": "+".join(sorted(counts)),
            "bytes_per_token": int(round(biggest * groups * g))}


#: class defaults only the planner needs (context, rotary tables), from transformers 5.23 configuration_*.py
MEMORY_DEFAULTS = {"gemma3_text": {"max_position_embeddings": 131_072}, "gemma3": {"max_position_embeddings": 131_072}}


def _family_defaults(cfg: ModelConfig) -> ModelConfig:
    """The config with transformers' class defaults for the fields config.json leaves out (the same table the
    architecture rules use): Gemma-3's config.json, for one, names no heads, head_dim or vocabulary."""
    try:
        from ..arch import family_name, module_for, with_defaults

        key = family_name(cfg)
        fam = module_for(key)
        defaults = {**(getattr(fam, "DEFAULTS", None) or {}), **MEMORY_DEFAULTS.get(key or "", {})}
        return with_defaults(cfg, defaults) if fam is not None else cfg
    except Exception:  # noqa: BLE001 - defaults are a refinement; the planner works on the file as read
        return cfg


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


def _train_dtype(o: Options, rdt: str, why: str) -> tuple[str, str]:
    """Weights dtype a training run holds: amp keeps fp32 weights; bf16 / mixed keep 16-bit ones."""
    if o.precision == "amp":
        return "F32", "--precision amp: fp32 weights, autocast to bf16"
    if rdt == "F32":
        return "BF16", f"--precision {o.precision}: 16-bit weights (bf16)"
    return rdt, why


def _training(tensors, cfg: ModelConfig, o: Options, d: C.Dims, seq: int, n_gpus: int, assumptions: list,
              workspace: int, buffers: int, profile: dict, layout, buffer_sizes: list | None = None) -> dict:
    mode = o.train
    if mode not in ("full", "lora", "qlora"):
        raise CkptError(f"training mode must be full, lora or qlora, got {mode!r}", "--train")
    prec = TR.PRECISIONS[o.precision]
    params = C.param_counts(tensors, cfg)
    kinds = R.layer_linears(tensors, cfg)
    targets = C.lora_targets(o.lora_targets)
    sliding = None
    if profile.get("explicit_sliding_mask") and layout.sliding_window and cfg.model_type not in profile.get(
            "eager_attention", ()):
        sliding = (layout.counts.get("sliding", 0), layout.sliding_window)
    acts = C.train_activation_bytes(d, seq, o.batch, o.checkpointing, mode="full" if mode == "full" else "lora",
                                    lora_targets=targets, rank=o.lora_rank, kinds=kinds,
                                    amp=o.precision == "amp" and mode == "full",
                                    sliding=sliding, lse_bytes=profile.get("attention_lse") or 0,
                                    lora_amp=o.precision == "amp" and mode != "full")
    if sliding and seq > sliding[1]:
        assumptions.append(C.SWA_TRAIN_FORMULA)
    if profile.get("attention_lse"):
        assumptions.append(C.LSE_FORMULA.format(b=profile["attention_lse"]))
    if d.kv_repeat:
        assumptions.append(f"head_dim above {profile.get('gqa_max_head_dim')}: transformers repeats K/V to every "
                           "query head (use_gqa_in_sdpa is false), and SDPA saves the repeated copies")
    if o.precision == "amp":
        copies = C.autocast_weight_copies(tensors, cfg)
        acts["autocast_weight_copies"] = copies
        acts["total"] += copies
    overhead = o.overhead if o.overhead is not None else profile["overhead"] + (NCCL_OVERHEAD if n_gpus > 1 else 0)
    extra = 2 * workspace  # the caller's thread and autograd's device thread each get a cuBLAS workspace
    N = max(1, n_gpus)
    res: dict = {"mode": mode, "sequence_length": seq, "micro_batch_per_gpu": o.batch, "precision": o.precision,
                 "optimizer": o.optimizer, "gradient_checkpointing": o.checkpointing, "activations": acts,
                 "activation_formula": C.TRAIN_FORMULA}
    if mode == "full":
        P = params["total"]
        largest, fact = TR.tensor_stats([t for t in tensors if C.is_param(t.name, cfg)])
        st = C.full_ft_state(P, o.precision, o.zero, n_gpus)
        res["state"] = st
        W = sum(R.weight_bytes([t]) for t in tensors if C.is_param(t.name, cfg)) + buffers
        W += P * prec["master"]
        W = W / (N if o.zero >= 3 else 1)
        G = P * prec["grads"] / (N if o.zero >= 2 else 1)
        ob = TR.optimizer_bytes(P, largest, fact, prec["state_dtype"], o.optimizer)
        if prec["master"]:
            ob["temporary"] += 4 * P  # fp32 copy of the bf16 gradients for the master update
        S = ob["state"] / (N if o.zero >= 1 else 1)
        tmp = ob["temporary"] / (N if o.zero >= 1 else 1)
        per = {"weights": int(W), "gradients": int(G), "optimizer_state": int(S), "optimizer_temporaries": int(tmp)}
        assumptions.append(f"full fine-tuning, {prec['why']}; {TR.OPTIMIZERS[o.optimizer]} "
                           f"({ob['temporary_why']}); {st['zero_rule']} across {n_gpus} GPU(s)")
    else:
        ad = C.lora_adapter(tensors, cfg, o.lora_rank, targets)
        if not ad["parameters"]:
            raise CkptError(f"no weight matches the LoRA targets {o.lora_targets!r}", "--lora-targets")
        Nw = N if o.zero >= 3 else 1
        Pa = ad["parameters"]
        if mode == "lora":
            base = R.weight_bytes(tensors) + buffers
            base_why = f"frozen base weights in {'fp32' if o.precision == 'amp' else 'bf16'}"
        else:
            base = params["linear"] * C.NF4_BYTES + params["other"] * 2
            base_why = (f"QLoRA: linear layers in NF4 with double quantization ({C.NF4_BYTES:.4f} bytes per "
                        "parameter: 4-bit values, 8-bit absmax per 64, fp32 per 256 absmax), embeddings, norms and "
                        "LM head in bf16")
        ob = TR.optimizer_bytes(Pa, 0, Pa, 4, o.optimizer)
        S = ob["state"] / (N if o.zero >= 1 else 1)
        per = {"base_weights": int(base / Nw), "adapter_weights": 4 * Pa, "gradients": 4 * Pa,
               "optimizer_state": int(S), "optimizer_temporaries": int(ob["temporary"])}
        W = per["base_weights"] + per["adapter_weights"]
        G = per["gradients"]
        tmp = per["optimizer_temporaries"]
        res["adapter"] = ad
        res["adapter_bytes_single_gpu"] = Pa * C.ADAPTER_BYTES
        assumptions.append(f"{mode}: {base_why}; adapters r x (in + out) per targeted matrix from the tensor shapes, "
                           "in fp32 (PEFT casts adapters of a 16-bit base to fp32): weights 4 + gradients 4 + AdamW "
                           f"state 8 bytes per adapter parameter, + the step's temporaries ({ob['temporary_why']})")
        if ad["skipped_fused_3d"]:
            assumptions.append(f"{ad['skipped_fused_3d']} fused 3-D expert tensors not targeted (PEFT targets "
                               "nn.Linear modules)")
    bend = 0
    if mode == "full":
        from ..classify import EMBEDDING, LM_HEAD

        comps = [(C.classify_cached(t.name, cfg).component, t) for t in tensors]
        if not any(c == LM_HEAD for c, _ in comps):
            emb = [t for c, t in comps if c == EMBEDDING and len(t.shape) == 2]
            if emb:
                import math as _m

                bend = 2 * max(_m.prod(t.shape) for t in emb) * prec["grads"]
                assumptions.append(TR.TIED_NOTE)
    blk_b = profile.get("allocator_block") or 0
    ptens = [t for t in tensors if C.is_param(t.name, cfg)]
    rounding = {"weights": R.block_rounding(R.tensor_sizes(tensors) + list(buffer_sizes or ()), blk_b)}
    if mode == "full" and blk_b:
        sd = prec["state_dtype"]
        if prec["master"]:
            rounding["weights"] += R.block_rounding(R.tensor_sizes(ptens, prec["master"]), blk_b)
        rounding["gradients"] = R.block_rounding(R.tensor_sizes(ptens, prec["grads"]), blk_b)
        rounding["state"] = R.block_rounding(TR.state_tensor_sizes(ptens, sd, o.optimizer), blk_b)
        if o.optimizer == "adamw":  # one foreach sqrt(exp_avg_sq) tensor per parameter
            rounding["temporary"] = R.block_rounding(R.tensor_sizes(ptens, sd), blk_b)
    mo = TR.moments(int(W), int(G), int(S), int(tmp), acts["total"], extra, bend, rounding=rounding)
    per["activations"] = acts["total"]
    per["workspace"] = extra
    per["allocator_rounding"] = mo["rounding_at_peak"]
    per["overhead"] = overhead
    per["total"] = int(mo["peak"] + overhead)
    res["per_gpu"] = per
    res["moments"] = mo["moments"]
    res["peak_moment"] = mo["peak_moment"]
    assumptions.append("training peak = the larger of two moments of a plain loop (zero_grad(set_to_none=True): no "
                       "gradients exist before backward): backward start = weights + optimizer state + saved "
                       "activations + logits, optimizer step = weights + gradients + optimizer state + step "
                       f"temporaries; here the {mo['peak_moment']}")
    assumptions.append("training: " + C.TRAIN_FORMULA)
    if o.precision == "amp":
        assumptions.append(C.AMP_FORMULA)
        if mode != "full":
            assumptions.append(C.LORA_AMP)
    return res
