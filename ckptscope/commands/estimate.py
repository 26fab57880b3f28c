"""`ckptscope estimate SOURCE`: memory to run or fine-tune a checkpoint, per GPU, and what fits."""

from __future__ import annotations

from .common import add_output_argument, add_source_arguments, emit, open_from_args

DESCRIPTION = """\
Memory to serve or fine-tune a checkpoint, from metadata alone: weights (exact from the safetensors headers,
predicted from config.json, or a chosen quantization) + KV cache (per layer: GQA/MQA, MLA latent, sliding
windows, cross-attention) + prefill activations + a stated runtime overhead, per GPU under tensor parallelism;
fits / does not fit, headroom, and the largest context that fits. Every assumption is printed.

exit codes: 0 done (with --gpus: it fits); 1 with --gpus: it does not fit; 2 the input could not be read or is invalid, nothing to read, the Hub unreachable or too slow
(--timeout), usage error; 3 internal error (a bug; --debug shows it).

examples:
  ckptscope estimate meta-llama/Llama-3.1-8B --context 131072 --gpus H100
  ckptscope estimate ./model --context 32768 --batch 8 --gpus 2x80GB --kv-dtype fp8
  ckptscope estimate ./model --gpus 24GiB --quant q4_k_m
  ckptscope estimate ./model --train lora --lora-rank 16 --context 4096 --gpus A100-80GB
  ckptscope estimate ./model --train full --zero 3 --gpus 8xH100 --checkpointing --json
  ckptscope estimate ./model --context 8192 --gpus H100 --format html --output memory.html
"""


def add_arguments(p) -> None:
    add_source_arguments(p)
    p.add_argument("--engine", choices=("transformers", "vllm", "sglang", "llama.cpp"),
                   help="engine profile: what it loads, its dtype, logits, KV storage and overhead (default "
                        "transformers; see ckptscope/analysis/memory/engines.py for every number's source)")
    p.add_argument("--dtype", help="runtime weight dtype: bfloat16, float16, float32 (default: what the engine does "
                                   "with this config, stated)")
    p.add_argument("--context", type=int, help="tokens per sequence, prompt + generated (default: max_position_embeddings)")
    p.add_argument("--batch", type=int, default=1, help="sequences served at once / micro-batch per GPU (default 1)")
    p.add_argument("--gpus", help="GPUs: preset (H100, H200, A100-40GB, L40S, RTX-4090, MI300X, B200, ...), a size "
                                  "(80GB, 24GiB), with a count (2x80GB, 8xH100) or a comma list")
    p.add_argument("--tp", type=int, help="tensor-parallel degree (default: all GPUs)")
    p.add_argument("--kv-dtype", default="auto",
                   help="KV cache dtype: auto (model dtype), bf16, fp16, fp8, int8/q8_0, q4_0, fp32")
    p.add_argument("--swa-policy", choices=("window", "full"),
                   help="sliding-window layers keep only the window or the full context (default: what the engine "
                        "holds after a prefill: transformers full, the others window)")
    p.add_argument("--mla", choices=("latent", "expanded"), default="latent",
                   help="MLA cache: compressed latent (default) or per-head K/V")
    p.add_argument("--moe-dispatch", choices=("transformers", "fused"),
                   help="MoE prefill buffers: transformers' grouped_mm token copies or fused-MoE kernels as in "
                        "vLLM/SGLang (default: the engine's)")
    p.add_argument("--encoder-tokens", type=int, help="encoder-decoder: input tokens (default: --context)")
    p.add_argument("--prefill-chunk", type=int,
                   help="tokens prefilled per forward pass (0 = the whole prompt at once; default: the engine's, "
                        "transformers 0, vLLM/SGLang 8192, llama.cpp 512)")
    p.add_argument("--overhead", help="runtime overhead per GPU outside the allocator, e.g. 2GiB (default: the "
                                      "engine's, +0.5 GiB with >1 GPU)")
    p.add_argument("--memory-fraction", type=float,
                   help="paged engines: share of the GPU the engine takes (vLLM --gpu-memory-utilization, SGLang "
                        "--mem-fraction-static; default: the engine's, 0.9 / 0.88)")
    p.add_argument("--no-vocab-parallel", action="store_true",
                   help="replicate embedding and LM head on every GPU instead of splitting them by vocabulary")
    t = p.add_argument_group("training")
    t.add_argument("--train", choices=("full", "lora", "qlora"), help="estimate fine-tuning memory instead of serving only")
    t.add_argument("--zero", type=int, choices=(0, 1, 2, 3), default=0, help="DeepSpeed ZeRO stage (default 0)")
    t.add_argument("--precision", choices=("bf16", "amp", "mixed"), default="bf16",
                   help="bf16 (default: bf16 weights, grads and AdamW state), amp (fp32 weights with autocast to "
                        "bf16) or mixed (bf16 weights with an fp32 master copy)")
    t.add_argument("--optimizer", choices=("adamw", "adamw-fused", "adamw-8bit", "adafactor", "sgd"),
                   default="adamw", help="optimizer (default adamw: torch.optim.AdamW defaults, foreach on CUDA)")
    t.add_argument("--lora-rank", type=int, default=16, help="LoRA rank (default 16)")
    t.add_argument("--lora-targets", default="all-linear",
                   help="comma list of module names (q_proj,v_proj,...; attn; mlp) or all-linear (default)")
    t.add_argument("--checkpointing", action="store_true", help="gradient checkpointing on")
    try:
        from . import quantopts  # written on the `gguf` branch
    except ImportError:
        quantopts = None
    if quantopts is not None:
        quantopts.add_arguments(p)
    else:
        p.add_argument("--quant", help="quantization scheme(s) for the weights (needs the quantization module)")
    p.add_argument("--format", choices=("text", "json", "html"), default="text",
                   help="output format (html: one self-contained page, stacked bars at several context lengths)")
    p.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    add_output_argument(p)
    p.add_argument("--context-sweep", action="store_true",
                   help="add the plan at several context lengths (1,024 .. max_position_embeddings) to the report "
                        "(always in html)")


def _quant_section(args, ck):
    try:
        from . import quantopts
    except ImportError:
        if getattr(args, "quant", None):
            from ..errors import CkptError

            raise CkptError("quantized sizes are not available in this build (module ckptscope.commands.quantopts "
                            "is missing)", "--quant") from None
        return None, None
    section = quantopts.build_section(args, ck)
    return section, quantopts


def run(args) -> int:
    from ..analysis.memory import Options, plan
    from ..errors import CkptError
    from ..gpus import parse_gpus
    from ..units import parse_size

    overhead = None
    if args.overhead:
        try:
            overhead = parse_size(args.overhead)
        except ValueError:
            raise CkptError(f"cannot read size {args.overhead!r}", "--overhead") from None
    gpus = parse_gpus(args.gpus) if args.gpus else []
    ck = open_from_args(args, tokenizer=bool(getattr(args, "quant", None)))  # validated like inspect
    if ck.config is None:
        raise CkptError("no config.json: the memory planner needs layers, heads and context", ck.source.display)
    section, quantopts = _quant_section(args, ck)
    qbytes = {}
    if section:
        for name, s in (section.get("schemes") or {}).items():
            if isinstance(s, dict) and isinstance(s.get("bytes"), int):
                qbytes[name] = s["bytes"]
    opts = Options(engine=args.engine, dtype=args.dtype, optimizer=args.optimizer, context=args.context, batch=args.batch, kv_dtype=args.kv_dtype, gpus=gpus, tp=args.tp,
                   policy=args.swa_policy, mla=args.mla, encoder_tokens=args.encoder_tokens,
                   moe_dispatch=args.moe_dispatch,
                   prefill_chunk=None if args.prefill_chunk is None else max(0, args.prefill_chunk),
                   overhead=overhead, memory_fraction=args.memory_fraction,
                   vocab_parallel=not args.no_vocab_parallel, train=args.train, zero=args.zero,
                   precision=args.precision, lora_rank=args.lora_rank, lora_targets=args.lora_targets,
                   checkpointing=args.checkpointing, quant_bytes=qbytes)
    result = plan(ck, opts)
    result["source"] = ck.source.display
    from ..provenance import label

    if label(ck.source):
        result["provenance"] = label(ck.source)
        result["assumptions"].insert(0, f"every number here is {label(ck.source)}")
    if ck.has_weights:  # the same parameters.total as inspect and check (read, not predicted)
        from ..analysis.breakdown import summarize

        p = summarize(ck.tensors, ck.config)["parameters"]
        result["parameters"] = {"total": p["total"], "by_dtype": p["by_dtype"], "basis": "headers"}
    if ck.problems:
        result["assumptions"].append(f"{len(ck.problems)} problem(s) in the checkpoint's headers/index (first: "
                                     f"{ck.problems[0].file}: {ck.problems[0].message}); sizes are what the headers "
                                     "declare; run `ckptscope check`")
    if section:
        result["quantization"] = section
    out = getattr(args, "output", None)
    if args.format == "html" or getattr(args, "context_sweep", False):
        from ..analysis.memory.sweep import context_sweep, sweep_contexts

        ctx = (result.get("kv_cache") or {}).get("context") or args.context
        mp = (result.get("context") or {}).get("max_position_embeddings") or ck.config.max_position_embeddings
        result["context_sweep"] = context_sweep(lambda o: plan(ck, o), opts, sweep_contexts(ctx, mp))
    if args.format == "html":
        from ..format.html import render as r_html

        emit(r_html("estimate", result), out)
    elif args.format == "json":
        import json

        emit(json.dumps(result, indent=2, default=str), out)
    else:
        text = render_text(result)
        if section and quantopts is not None and hasattr(quantopts, "render_text"):
            text += "\n" + quantopts.render_text(section)
        emit(text, out)
    if gpus:
        fits = result.get("training", result["inference"]).get("fits", True)
        return 0 if fits else 1
    return 0


def _b(n) -> str:
    from ..units import human_bytes

    return human_bytes(n)


def render_text(r: dict) -> str:
    from ..units import human_count

    L: list[str] = []
    m = r["model"]
    w = r["weights"]
    kv = r["kv_cache"]
    inf = r["inference"]
    L.append(f"{r.get('source', '')}  ({m['architecture']})")
    if r.get("provenance"):
        L.append(f"source     {r['provenance']}")
    basis = f"{w['basis']}, reconstructed from the catalog" if r.get("provenance") else w["basis"]
    L.append(f"weights    {_b(w['bytes'])}  {human_count(w['parameters'])} parameters  [{basis}]")
    L.append(f"attention  {kv['attention']}; layers {', '.join(f'{k} {v}' for k, v in kv['layers'].items()) or 'none'}")
    bpt = kv["bytes_per_token"]
    L.append(f"KV cache   {kv['kv_dtype']}: {bpt['all_layers']:,} B/token"
             + (f" ({bpt['beyond_window']:,} B/token beyond the window)" if bpt["beyond_window"] != bpt["all_layers"]
                else "")
             + f"; {kv['context']:,} tokens x batch {kv['batch']} = {_b(kv['bytes'])}")
    if "at_max_position_embeddings" in kv:
        a = kv["at_max_position_embeddings"]
        L.append(f"           at max_position_embeddings ({a['context']:,}): {_b(a['bytes'])}")
    for line in r["context"]["explanation"]:
        L.append(f"context    {line}")
    if "moe" in r:
        mo = r["moe"]
        L.append(f"MoE        {mo['experts']} experts, {mo['experts_per_token']} per token: memory for "
                 f"{human_count(mo['parameters_in_memory'])} parameters, compute for "
                 f"{human_count(mo['parameters_active_per_token'])} per token")
    pg = inf["per_gpu"]
    L.append("")
    L.append(f"serving, per GPU (tensor parallel {inf['tensor_parallel']}" +
             (f", {inf['replicas']} replicas" if inf["replicas"] > 1 else "") + ")")
    for k in ("weights", "kv_cache", "activations", "workspace", "cuda_graphs", "overhead", "total"):
        if k in pg and (pg[k] or k in ("weights", "kv_cache", "activations", "overhead", "total")):
            L.append(f"  {k.replace('_', ' '):<12} {_b(pg[k])}")
    if inf.get("peak_moment"):
        L.append(f"  peak at the {inf['peak_moment']} moment of the forward pass")
    if inf.get("kv_pool"):
        kp = inf["kv_pool"]
        L.append(f"  KV pool {_b(kp['bytes'])} = {kp['tokens']:,} tokens of KV cache" if kp["tokens"] is not None
                 else f"  KV pool {_b(kp['bytes'])}")
    if "fits" in inf:
        L.append(f"  on {r['gpus']['spec']}: " + _fitline(inf))
        mc = inf.get("max_context")
        if mc and mc["tokens"] is None:
            L.append(f"  largest context that fits: {mc['note']}")
        elif mc:
            L.append(f"  largest context that fits: {mc['tokens']:,} tokens" + (
                f" (model limit {r['context']['max_position_embeddings']:,})"
                if r["context"].get("max_position_embeddings") and mc["tokens"] > r["context"]["max_position_embeddings"]
                else ""))
    for name, q in (inf.get("quantized") or {}).items():
        L.append(f"  with {name} weights: {_b(q['weights_per_gpu'])} weights, total {_b(q['total_per_gpu'])}"
                 + (f" -> {_fitline(q)}" if "fits" in q else "")
                 + (f"; largest context {q['max_context']:,} tokens" if q.get("max_context") else ""))
    if "weights" in w and "split" in w:
        L.append(f"  split: {w['split']['rule']}")
    tr = r.get("training")
    if tr:
        L.append("")
        L.append(f"training ({tr['mode']}, seq {tr['sequence_length']:,}, micro-batch {tr['micro_batch_per_gpu']}, "
                 f"checkpointing {'on' if tr['gradient_checkpointing'] else 'off'}), per GPU")
        for k, v in tr["per_gpu"].items():
            if isinstance(v, (int, float)):
                L.append(f"  {k.replace('_', ' '):<22} {_b(v)}")
        if tr.get("peak_moment"):
            L.append(f"  peak at the {tr['peak_moment']} moment: " + ", ".join(
                f"{k} {_b(v)}" for k, v in tr["moments"].items()))
        if "adapter" in tr:
            ad = tr["adapter"]
            L.append(f"  adapter: rank {ad['rank']}, {human_count(ad['parameters'])} parameters in "
                     f"{sum(ad['modules'].values())} matrices ({', '.join(ad['modules'])})")
        if "fits" in tr:
            L.append(f"  on {r['gpus']['spec']}: " + _fitline(tr))
    L.append("")
    L.append("assumptions:")
    for a in r["assumptions"]:
        L.append(f"  - {a}")
    for n in kv["notes"]:
        L.append(f"  - {n}")
    return "\n".join(L)


def _fitline(d: dict) -> str:
    h = d["headroom"]
    return (f"fits, {_b(h)} headroom" if d["fits"] else f"does NOT fit, short by {_b(-h)}")
