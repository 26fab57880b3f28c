"""KV cache from config.json, layer by layer; the context limit explained.

Each decoder layer is one of:

- ``full``: standard attention; keeps K and V for every token (MHA, GQA, MQA: ``num_key_value_heads`` heads of
  ``head_dim``); MLA keeps one latent of ``kv_lora_rank + qk_rope_head_dim`` values per token (default, what
  DeepSeek's engines, vLLM, SGLang, llama.cpp and current transformers cache) or, with ``mla="expanded"``, full
  per-head K (``qk_nope_head_dim + qk_rope_head_dim``) and V (``v_head_dim``) as older implementations did;
- ``sliding``: local attention over a window; the *policy* says what an engine keeps: ``window`` (only the last
  ``sliding_window`` tokens: vLLM, SGLang, llama.cpp's default SWA cache, transformers after the first decode step)
  or ``full`` (storage for the whole context: llama.cpp ``--swa-full``, engines without SWA support, and
  transformers right after a prefill, whose cached window is a view that keeps the whole prefill tensor alive);
- ``state``: linear attention / SSM layers: a fixed recurrent + convolution state per sequence, no per-token cache;
- ``cross``: encoder-decoder cross-attention: K/V of the encoder output, one per encoder token, per decoder layer;
- ``compressed``: one cached row per ``compress`` tokens (DeepSeek-V4's compressed-sparse and heavily compressed
  attention, next to their sliding window and a fixed ``state`` buffer: see families/deepseek_v4.py ``kv_rows``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...readers.config import ModelConfig

#: KV cache element formats: (bytes per block, values per block). Block formats carry their scales:
#: q8_0 = 32 int8 + one fp16 scale = 34 bytes per 32 values; q4_0 = 16 bytes of nibbles + fp16 scale = 18 per 32.
KV_DTYPES: dict[str, tuple[int, int]] = {
    "fp32": (4, 1),
    "bf16": (2, 1),
    "fp16": (2, 1),
    "fp8": (1, 1),
    "q8_0": (34, 32),
    "q4_0": (18, 32),
}
KV_ALIASES = {"float32": "fp32", "f32": "fp32", "bfloat16": "bf16", "float16": "fp16", "f16": "fp16", "half": "fp16",
              "fp8_e4m3": "fp8", "fp8_e5m2": "fp8", "f8": "fp8", "e4m3": "fp8", "int8": "q8_0", "q8": "q8_0",
              "int4": "q4_0", "q4": "q4_0"}
ST_TO_KV = {"BF16": "bf16", "F16": "fp16", "F32": "fp32"}

ENCODER_ONLY = {"bert", "roberta", "xlm-roberta", "distilbert", "electra", "deberta", "deberta-v2", "mpnet", "albert",
                "camembert", "modernbert", "nomic_bert", "xlm_roberta"}
FULL_TYPES = {"full_attention", "attention", "global", "global_attention", "full"}
SLIDING_TYPES = {"sliding_attention", "sliding", "local", "local_attention", "chunked_attention", "sliding_window"}
STATE_TYPES = {"linear_attention", "mamba", "mamba2", "ssm", "conv", "recurrent", "rwkv", "gated_deltanet",
               "hybrid_linear", "linear"}


def kv_dtype_name(name: str | None, config: ModelConfig | None = None) -> str:
    """Normalise ``--kv-dtype``; ``None``/``auto`` is the model's dtype (bf16 when unknown or not a float type)."""
    if name is None or name == "auto":
        return ST_TO_KV.get((config.dtype if config else None) or "", "bf16")
    k = name.strip().lower()
    k = KV_ALIASES.get(k, k)
    if k not in KV_DTYPES:
        from ...errors import CkptError

        raise CkptError(f"unknown KV cache dtype {name!r} (choose from {', '.join(KV_DTYPES)}, int8)", "--kv-dtype")
    return k


def row_bytes(values: int, kv_dtype: str) -> int:
    """Bytes to store one row of ``values`` in ``kv_dtype`` (block formats round up to whole blocks)."""
    b, n = KV_DTYPES[kv_dtype]
    return math.ceil(values / n) * b


@dataclass
class LayerKV:
    index: int
    kind: str  #: full | sliding | state | cross | compressed (a layer may have several rows: cross, DeepSeek-V4)
    k_values: int = 0  #: K values cached per token (all KV heads of the layer together)
    v_values: int = 0  #: V values per token (0 when V shares K's storage, as MLA's latent does)
    window: int | None = None
    state_bytes: int = 0  #: fixed per-sequence state of linear-attention / SSM layers
    kv_heads: int | None = None  #: heads the K/V split into under tensor parallelism (None: not split, e.g. MLA)
    note: str = ""
    compress: int = 1  #: tokens per cached row (compressed rows: one row per ``compress`` tokens, floor)

    def bytes_per_token(self, kv_dtype: str) -> int:
        return row_bytes(self.k_values, kv_dtype) + (row_bytes(self.v_values, kv_dtype) if self.v_values else 0)


@dataclass
class KVLayout:
    """What every decoder layer caches, from the config alone."""

    layers: list[LayerKV]
    attention: str  #: MHA / GQA / MQA / MLA (latent|expanded) / none
    notes: list[str] = field(default_factory=list)
    is_encoder_decoder: bool = False
    encoder_only: bool = False
    sliding_window: int | None = None
    mla: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for L in self.layers:
            out[L.kind] = out.get(L.kind, 0) + 1
        return out


# ------------------------------------------------------------------------------------------------- layer kinds

def layer_kinds(config: ModelConfig) -> tuple[list[str], list[str]]:
    """Kind of each decoder layer (``full``/``sliding``/``state``) and notes on how it was decided."""
    n = config.num_decoder_layers if config.is_encoder_decoder else config.num_hidden_layers
    n = n or 0
    notes: list[str] = []
    sw = config.sliding_window
    mt = (config.model_type or "").lower()
    lt = config.layer_types
    ak = _arch_kinds(config)
    if ak and ak["layers"] and any(k != "attention" for k in ak["layers"]) and not lt:
        kinds = []
        for k in ak["layers"]:
            if k == "attention*2":  # LongCat-Flash: two attention sub-blocks per layer, each with its own cache
                kinds += ["full", "full"]
            else:
                kinds.append({"attention": "full", "attention+mamba2": "full", "none": "none"}.get(k, "state"))
        notes.append("layer kinds from the architecture rules (" + ", ".join(
            f"{v} {k}" for k, v in ak["counts"].items()) + "); 'none' layers have no token mixer and no cache")
        return kinds, notes
    if lt:
        kinds = []
        for t in lt[:n]:
            t2 = t.lower()
            if t2 in SLIDING_TYPES:
                kinds.append("sliding" if _window(config) else "full")
            elif t2 in STATE_TYPES:
                kinds.append("state")
            else:
                kinds.append("full")
        kinds += ["full"] * (n - len(kinds))
        notes.append("layer kinds from config layer_types")
        shared = config.get("num_kv_shared_layers")
        if isinstance(shared, int) and not isinstance(shared, bool) and 0 < shared < len(kinds):
            kinds[-shared:] = ["none"] * shared  # Gemma 3n: the last layers reuse earlier layers' K/V
            notes.append(f"num_kv_shared_layers: the last {shared} layers reuse earlier layers' K/V (no cache)")
        return kinds, notes
    period = config.get("attn_layer_period")
    if isinstance(period, int) and period > 0 and mt in ("jamba",):
        off = config.get("attn_layer_offset") or 0
        kinds = ["full" if i % period == off else "state" for i in range(n)]
        notes.append(f"Jamba pattern: attention every {period} layers at offset {off}, Mamba elsewhere")
        return kinds, notes
    if mt in ("mamba", "mamba2", "falcon_mamba", "rwkv", "rwkv6", "rwkv7"):
        notes.append(f"{mt}: no attention layers, a fixed recurrent state per layer")
        return ["state"] * n, notes
    if not sw:
        if mt in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe") and config.raw.get("use_sliding_window") is False:
            notes.append("use_sliding_window is false: every layer keeps the full context")
        return ["full"] * n, notes
    if mt in ("gemma2",):
        notes.append("Gemma-2 pattern: even layers (0, 2, ...) slide, odd layers are global")
        return ["sliding" if (i + 1) % 2 else "full" for i in range(n)], notes
    pat = config.get("sliding_window_pattern") or config.get("_sliding_window_pattern")
    if mt in ("gemma3", "gemma3_text", "cohere2") or isinstance(pat, int):
        p = pat if isinstance(pat, int) and pat > 0 else (6 if mt.startswith("gemma3") else 4)
        notes.append(f"{mt} pattern: every {p}th layer is global, the others slide")
        return ["sliding" if (i + 1) % p else "full" for i in range(n)], notes
    if mt in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe"):
        mwl = config.get("max_window_layers")
        mwl = mwl if isinstance(mwl, int) else n
        notes.append(f"Qwen use_sliding_window: layers >= max_window_layers ({mwl}) slide")
        return ["sliding" if i >= mwl else "full" for i in range(n)], notes
    notes.append("sliding_window set with no per-layer pattern: every layer slides (as Mistral, Phi-3)")
    return ["sliding"] * n, notes


def _arch_kinds(config: ModelConfig) -> dict | None:
    """Per-layer kinds and state shapes from the architecture rules (analysis.arch.layer_kinds), when they know
    the family; None otherwise."""
    try:
        from ..arch import layer_kinds as arch_layer_kinds

        return arch_layer_kinds(config)
    except Exception:  # noqa: BLE001 - no rules or an unusable config: the planner's own reading applies
        return None


def _arch_state_bytes(config: ModelConfig, dtype_bytes: int) -> tuple[int, str] | None:
    """Per-sequence state of one recurrent layer from the architecture rules' state shapes (conv + ssm)."""
    ak = _arch_kinds(config)
    if not ak or not ak.get("state"):
        return None
    kind, shapes = next(iter(ak["state"].items()))
    n = sum(math.prod(s) for s in shapes.values())
    return n * dtype_bytes, f"{kind} state (architecture rules): " + ", ".join(
        f"{k} {'x'.join(map(str, s))}" for k, s in shapes.items())


def _window(config: ModelConfig) -> int | None:
    return config.sliding_window or config.get("attention_chunk_size")


def _state_bytes(config: ModelConfig, dtype_bytes: int) -> tuple[int, str]:
    """Fixed per-sequence state of one linear-attention / SSM layer, in the model dtype."""
    g = config.get
    if g("linear_num_value_heads"):  # Qwen3-Next gated DeltaNet
        hk, hv = g("linear_num_key_heads") or g("linear_num_value_heads"), g("linear_num_value_heads")
        dk, dv = g("linear_key_head_dim") or 128, g("linear_value_head_dim") or 128
        conv = g("linear_conv_kernel_dim") or 4
        rec = hv * dk * dv
        conv_v = (2 * hk * dk + hv * dv) * conv
        return (rec + conv_v) * dtype_bytes, (f"gated DeltaNet state: {hv} heads x {dk} x {dv} recurrent + "
                                              f"({2 * hk * dk + hv * dv} channels x kernel {conv}) conv")
    h = config.hidden_size or 0
    d_state = g("mamba_d_state") or g("state_size") or g("ssm_state_size") or g("d_state") or 16
    d_conv = g("mamba_d_conv") or g("conv_kernel") or g("d_conv") or 4
    expand = g("mamba_expand") or g("expand") or 2
    d_inner = g("intermediate_size") if (config.model_type or "").startswith("mamba") and g("intermediate_size") else expand * h
    ngroups = g("n_groups") or g("mamba_n_groups") or 0
    if ngroups:  # Mamba-2: conv over x, B and C
        rec = d_inner * d_state
        conv_v = (d_inner + 2 * ngroups * d_state) * d_conv
        return (rec + conv_v) * dtype_bytes, f"Mamba-2 state: {d_inner} x d_state {d_state} + conv {d_conv}"
    rec = d_inner * d_state
    conv_v = d_inner * d_conv
    return (rec + conv_v) * dtype_bytes, f"Mamba state: d_inner {d_inner} x d_state {d_state} + conv {d_conv}"


def kv_layout(config: ModelConfig, *, mla: str = "latent", state_dtype_bytes: int = 2) -> KVLayout:
    """Per-layer cache layout for ``config``. ``mla``: ``latent`` (default) or ``expanded``."""
    mt = (config.model_type or "").lower()
    arch = config.architecture
    if mt in ENCODER_ONLY or (not config.is_encoder_decoder and arch.endswith(("ForMaskedLM", "ForSequenceClassification",
                                                                               "ForTokenClassification"))
                              and mt in ENCODER_ONLY):
        return KVLayout([], "none", ["encoder-only model: it attends to the whole input at once and keeps no KV cache"],
                        encoder_only=True)
    rows = (_arch_kinds(config) or {}).get("kv_rows")
    if rows:
        return _rows_layout(config, rows, state_dtype_bytes)
    kinds, notes = layer_kinds(config)
    heads = config.num_attention_heads or 0
    kvh = config.num_key_value_heads or heads
    hd = config.head_dim or ((config.hidden_size or 0) // heads if heads else 0)
    window = _window(config)
    layers: list[LayerKV] = []
    if config.is_mla:
        rope = config.qk_rope_head_dim or 0
        if mla == "expanded":
            nope = config.qk_nope_head_dim or 0
            vd = config.v_head_dim or nope
            kv_k, kv_v, split = heads * (nope + rope), heads * vd, heads
            attention = "MLA (expanded per-head K/V)"
            notes.append(f"MLA expanded: K = {heads} heads x ({nope} + {rope}), V = {heads} heads x {vd} per token "
                         "per layer (older implementations)")
        else:
            kv_k, kv_v, split = config.kv_lora_rank + rope, 0, None
            attention = "MLA (latent)"
            notes.append(f"MLA latent: kv_lora_rank {config.kv_lora_rank} + qk_rope_head_dim {rope} = {kv_k} values "
                         "per token per layer, shared by all heads (DeepSeek's engines, vLLM, SGLang, llama.cpp and "
                         "current transformers cache this; --mla expanded gives per-head K/V)")
    else:
        kv_k = kv_v = kvh * hd
        split = kvh
        attention = "MHA" if kvh == heads else ("MQA" if kvh == 1 else "GQA")
        notes.append(f"{attention}: {kvh} KV heads x head_dim {hd} for K and again for V, per token per layer")
    sb, snote = (0, "")
    if "state" in kinds or (_arch_kinds(config) or {}).get("counts", {}).get("attention+mamba2"):
        sb, snote = _arch_state_bytes(config, state_dtype_bytes) or _state_bytes(config, state_dtype_bytes)
    hybrid_par = bool((_arch_kinds(config) or {}).get("counts", {}).get("attention+mamba2"))
    per_heads = per_layer_kv_heads(config) if not config.is_mla else None
    shapes = (_arch_kinds(config) or {}).get("kv_shapes") if not config.is_mla and not per_heads else None
    if shapes:  # per-layer (KV heads, K head dim, V head dim) from the architecture rules (MiMo-V2-Flash)
        notes[:] = [n for n in notes if not n.startswith(f"{attention}: ")]
        notes.append("per-layer K/V from the architecture rules: " + ", ".join(sorted(
            {f"{h} KV heads x (K {kd} + V {vd})" for h, kd, vd in (x for x in shapes if x)})))
    if per_heads:
        notes[:] = [n for n in notes if not n.startswith(f"{attention}: ")]  # the uniform-heads reading
        shown = sorted({h for h in per_heads if h})
        notes.append("per-layer KV heads from block_configs[i].attention.n_heads_in_group (num_attention_heads / "
                     f"n_heads_in_group): {', '.join(map(str, shown))} KV heads x head_dim {hd}; no_op and "
                     "replace_with_linear attention layers keep no cache")
        attention = "GQA (per-layer KV heads)"
    for i, kind in enumerate(kinds):
        if kind == "none":
            continue
        if hybrid_par:  # Falcon-H1: attention and Mamba-2 side by side: both caches in every layer
            layers.append(LayerKV(i, "state", state_bytes=sb, note=snote))
        if kind == "state":
            layers.append(LayerKV(i, "state", state_bytes=sb, note=snote))
        elif shapes and i < len(shapes) and shapes[i]:
            h, kd, vd = shapes[i]
            layers.append(LayerKV(i, kind, h * kd, h * vd, window if kind == "sliding" else None, kv_heads=h))
        elif per_heads and i < len(per_heads):
            if not per_heads[i]:
                continue
            n = per_heads[i] * hd
            layers.append(LayerKV(i, kind, n, n, window if kind == "sliding" else None, kv_heads=per_heads[i]))
        else:
            layers.append(LayerKV(i, kind, kv_k, kv_v, window if kind == "sliding" else None, kv_heads=split))
    if config.is_encoder_decoder:
        for i in range(len(kinds)):
            layers.append(LayerKV(i, "cross", kv_k, kv_v, kv_heads=split,
                                  note="cross-attention K/V of the encoder output"))
        notes.append("encoder-decoder: decoder self-attention caches decoder tokens; each decoder layer also caches "
                     "cross-attention K/V for every encoder token; the encoder itself keeps no cache")
    if config.num_nextn_predict_layers:
        notes.append(f"{config.num_nextn_predict_layers} multi-token-prediction layer(s) not counted: they cache only "
                     "when used for speculative decoding (add one layer's worth each)")
    return KVLayout(layers, attention, notes, is_encoder_decoder=config.is_encoder_decoder,
                    sliding_window=window if "sliding" in kinds else None, mla=mla if config.is_mla else None)


def _rows_layout(config: ModelConfig, rows: list, state_dtype_bytes: int) -> KVLayout:
    """The layout from the architecture rules' own per-layer rows (DeepSeek-V4: sliding window + compressed rows +
    compressor buffer per layer; one KV head, K = V, replicated under tensor parallelism)."""
    layers: list[LayerKV] = []
    window = None
    for i, per in enumerate(rows):
        for r in per:
            if r["kind"] == "state":
                layers.append(LayerKV(i, "state", state_bytes=r["state_values"] * state_dtype_bytes, kv_heads=1,
                                      note=r.get("note", "")))
                continue
            w = r.get("window")
            window = w if w else window
            layers.append(LayerKV(i, r["kind"], r["values"], 0, w, kv_heads=1, note=r.get("note", ""),
                                  compress=r.get("compress", 1)))
    per_kind: dict[str, set] = {}
    for L in layers:
        per_kind.setdefault(L.kind, set()).add(L.note)
    notes = ["DeepSeek-V4 shared-KV MQA: one KV head whose K and V are one tensor (counted once); every layer keeps "
             "a sliding window, compressed layers add rows for older tokens (architecture rules, kv_rows)"]
    notes += [n for k in ("sliding", "compressed", "state") for n in sorted(per_kind.get(k, ())) if n]
    notes.append("the single KV head and the compressors are replicated on every tensor-parallel GPU")
    if config.num_nextn_predict_layers:
        notes.append(f"{config.num_nextn_predict_layers} multi-token-prediction layer(s) not counted: they cache only "
                     "when used for speculative decoding (add one sliding-window layer's worth each)")
    return KVLayout(layers, "MQA (shared K=V) + compressed", notes, sliding_window=window)


def per_layer_kv_heads(config: ModelConfig) -> list[int] | None:
    """KV heads of each decoder layer when they differ by layer: Nemotron-NAS / DeciLM ``block_configs`` (the same
    blocks the architecture rules in analysis/arch/families/remote.py build the weights from): an attention block
    has num_attention_heads // n_heads_in_group K/V heads; a ``no_op`` or ``replace_with_linear`` block has no
    attention and no cache (0). None for every other config (one KV-head count for all layers)."""
    blocks = config.get("block_configs")
    if not isinstance(blocks, list) or not blocks or len(blocks) > 100_000:
        return None
    heads = config.num_attention_heads or 0
    out = []
    for b in blocks:
        att = (b.get("attention") if isinstance(b, dict) else None) or {}
        if not isinstance(att, dict) or att.get("no_op") or att.get("replace_with_linear"):
            out.append(0)
            continue
        g = att.get("n_heads_in_group")
        if not isinstance(g, int) or isinstance(g, bool) or g <= 0 or not heads or heads % g:
            return None  # unusable block: the planner's uniform reading applies
        out.append(heads // g)
    return out


# ------------------------------------------------------------------------------------------------- sizes

def tp_share(layer: LayerKV, tp: int) -> float:
    """Fraction of a layer's cache one GPU holds under tensor parallelism of degree ``tp``.

    K/V heads split across GPUs; with fewer KV heads than GPUs each GPU keeps one head (replicated). MLA's latent
    has no heads and is replicated on every GPU (vLLM/SGLang without data-parallel attention).
    """
    if tp <= 1:
        return 1.0
    if layer.kind == "state" and layer.kv_heads is None:
        return 1.0 / tp  # linear-attention / SSM heads split like attention heads
    if not layer.kv_heads:
        return 1.0
    per_gpu = max(1, math.ceil(layer.kv_heads / tp))
    return per_gpu / layer.kv_heads


def kv_cache_bytes(layout: KVLayout, context: int, batch: int = 1, kv_dtype: str = "bf16", *,
                   policy: str = "window", encoder_tokens: int | None = None, tp: int = 1) -> dict:
    """KV cache bytes for ``batch`` sequences of ``context`` tokens (decoder tokens for encoder-decoder models).

    ``policy`` applies to sliding layers: ``window`` keeps min(context, window) tokens, ``full`` keeps all.
    ``encoder_tokens`` (encoder-decoder only) defaults to ``context``. ``tp`` gives the per-GPU share.
    """
    enc = context if encoder_tokens is None else encoder_tokens
    by_kind: dict[str, int] = {}
    per_layer = []
    total = 0
    for L in layout.layers:
        if L.kind == "state":
            b = L.state_bytes * batch
        else:
            if L.kind == "cross":
                toks = enc
            elif L.kind == "sliding" and policy == "window" and L.window:
                toks = min(context, L.window)
            else:
                toks = context
            toks //= max(1, L.compress)
            b = L.bytes_per_token(kv_dtype) * toks * batch
        b = int(round(b * tp_share(L, tp)))
        by_kind[L.kind] = by_kind.get(L.kind, 0) + b
        per_layer.append(b)
        total += b
    return {"total": total, "by_kind": by_kind, "per_layer": per_layer}


def bytes_per_token(layout: KVLayout, kv_dtype: str = "bf16", tp: int = 1) -> dict:
    """Cache bytes added per token (one sequence): all layers, and the growth beyond the sliding windows."""
    allp = 0
    grow = 0
    for L in layout.layers:
        if L.kind == "state":
            continue
        b = L.bytes_per_token(kv_dtype) * tp_share(L, tp) / max(1, L.compress)
        allp += b
        if L.kind != "sliding":
            grow += b
    return {"all_layers": int(round(allp)), "beyond_window": int(round(grow))}


def max_context(layout: KVLayout, budget: int, batch: int = 1, kv_dtype: str = "bf16", *, policy: str = "window",
                tp: int = 1, extra=None, limit: int = 1 << 40) -> int:
    """Largest context N whose cache (plus ``extra(N)`` bytes, e.g. prefill activations) fits in ``budget``.

    The cache is non-decreasing in N, so a binary search finds it. Returns ``limit`` when even that fits
    (only state/sliding layers: the cache stops growing) and 0 when one token does not fit.
    """
    def need(n: int) -> int:
        return kv_cache_bytes(layout, n, batch, kv_dtype, policy=policy, tp=tp)["total"] + (extra(n) if extra else 0)

    if budget <= 0 or need(1) > budget:
        return 0
    if need(limit) <= budget:
        return limit
    lo, hi = 1, limit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if need(mid) <= budget:
            lo = mid
        else:
            hi = mid
    return lo


# ------------------------------------------------------------------------------------------------- context

def context_info(config: ModelConfig) -> dict:
    """The context limit and where it comes from: max_position_embeddings, rope scaling, sliding window."""
    mp = config.max_position_embeddings
    out: dict = {"max_position_embeddings": mp}
    lines = []
    if config.is_encoder_decoder:
        lines.append("encoder-decoder: the input goes to the encoder; generated tokens go to the decoder, whose "
                     "self-attention cache grows with them while the cross-attention cache stays at the input length")
        if (config.model_type or "") in ("t5", "mt5", "umt5"):
            lines.append("T5 uses relative position buckets, so n_positions is a training convention, not a hard "
                         "limit; memory and quality set the real one")
    elif (config.model_type or "").lower() in ENCODER_ONLY:
        if mp:
            lines.append(f"encoder-only: one input of up to {mp:,} tokens (max_position_embeddings), nothing generated")
    elif mp:
        gen = 1024 if mp > 4096 else mp // 4
        lines.append(f"prompt + generated tokens share one window of {mp:,} positions (max_position_embeddings): "
                     f"a {mp - gen:,}-token prompt leaves room for {gen:,} new tokens")
    rs = config.rope_scaling
    if rs:
        rtype = rs.get("rope_type") or rs.get("type")
        factor = rs.get("factor")
        orig = rs.get("original_max_position_embeddings") or config.get("original_max_position_embeddings")
        out["rope_scaling"] = {"type": rtype, "factor": factor, "original_max_position_embeddings": orig}
        if rtype == "yarn":
            ext = int(orig * factor) if orig and factor else None
            lines.append(f"YaRN rope scaling: trained at {orig:,} positions, stretched by factor {factor} to "
                         f"{ext:,}" + ("" if ext == mp or ext is None else f" (max_position_embeddings says {mp:,})")
                         if orig and factor else f"YaRN rope scaling, factor {factor}")
            lines.append("engines that apply YaRN statically rescale every position, short prompts included")
        elif rtype == "llama3":
            lines.append(f"llama3 rope scaling: frequencies rescaled from an original {orig:,}-token context by "
                         f"factor {factor}; the usable limit is max_position_embeddings" if orig else
                         f"llama3 rope scaling, factor {factor}")
        elif rtype in ("linear", "dynamic", "longrope", "su"):
            lines.append(f"{rtype} rope scaling, factor {factor}" + (f", original {orig:,}" if orig else ""))
        elif rtype:
            lines.append(f"rope scaling {rtype}" + (f", factor {factor}" if factor else ""))
    else:
        out["rope_scaling"] = None
    if config.sliding_window:
        out["sliding_window"] = config.sliding_window
        if mp and config.sliding_window >= mp:
            lines.append(f"sliding_window {config.sliding_window:,} >= max_position_embeddings: no effect on memory")
        else:
            lines.append(f"sliding-window layers attend to the last {config.sliding_window:,} tokens only")
    out["explanation"] = lines
    return out
