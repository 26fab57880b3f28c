"""Which layer is which: the config keys that place MoE feed-forwards and state-space / linear-attention mixers.

Every mechanism the open-weight families use is read here, once, so that a family description (and the
generic fallback) only says which one it uses:

- MoE placement: ``mlp_layer_types`` (EXAONE-MoE: dense/sparse per layer), ``moe_layers`` (explicit list), ``interleave_moe_layer_step`` (Llama 4: layers step-1, 2*step-1,
  ...), ``mlp_only_layers`` + ``decoder_sparse_step`` (Qwen-MoE, Qwen3-Next: sparse when (i+1) % step == 0),
  ``first_k_dense_replace`` + ``moe_layer_freq`` (DeepSeek, GLM-4.5: dense prefix, then every freq-th),
  ``moe_layer_start_index`` / ``moe_layer_end_index`` / ``moe_layer_interval`` (ERNIE 4.5),
  ``expert_layer_period`` / ``expert_layer_offset`` (Jamba);
- mixer kind: ``layer_types`` (``full_attention``/``sliding_attention``/``chunked_attention`` are attention;
  ``linear_attention`` is the family's recurrent mixer; ``mamba``/``attention`` for Granite 4), Jamba's
  ``attn_layer_period``/``attn_layer_offset``, Nemotron-H's ``hybrid_override_pattern`` / ``layers_block_type``
  (``M`` Mamba-2, ``*`` attention, ``-`` MLP, ``E`` MoE: one block per layer).
"""

from __future__ import annotations

ATTENTION_TYPES = {"full_attention", "sliding_attention", "chunked_attention", "attention", "global", "local",
                   "sliding", "full", "global_attention", "local_attention", "hybrid"}
PATTERN = {"M": ("mamba2", "none"), "*": ("attention", "none"), "-": ("none", "dense"), "E": ("none", "moe"),
           "mamba": ("mamba2", "none"), "attention": ("attention", "none"), "mlp": ("none", "dense"),
           "moe": ("none", "moe"), "linear_attention": ("mamba2", "none"), "full_attention": ("attention", "none")}


def _ints(v) -> list[int] | None:
    if isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return v
    return None


def moe_flags(d) -> list[bool]:
    """For each of the ``num_hidden_layers`` layers: does it hold experts?"""
    L, E, g = d.L, d.E, d.get
    if not E or E <= 0:
        return [False] * L
    mlt = g("mlp_layer_types")  # EXAONE-MoE: "dense" / "sparse" per layer (before first_k_dense_replace)
    if isinstance(mlt, list) and mlt:
        return [i < len(mlt) and str(mlt[i]) == "sparse" for i in range(L)]
    explicit = _ints(g("moe_layers"))
    if explicit is not None:
        s = set(explicit)
        return [i in s for i in range(L)]
    step = g("interleave_moe_layer_step")
    if isinstance(step, int) and not isinstance(step, bool):
        return [step > 0 and (i + 1) % step == 0 for i in range(L)]
    if g("moe_layer_interval") is not None or g("moe_layer_start_index") is not None:
        iv = int(g("moe_layer_interval") or 1)
        start = int(g("moe_layer_start_index") or 0)
        end = g("moe_layer_end_index")
        end = L - 1 if end is None or end == -1 else int(end)
        return [(i + 1) % iv == 0 and start <= i <= end for i in range(L)]
    if g("expert_layer_period") is not None:
        per, off = int(g("expert_layer_period") or 1), int(g("expert_layer_offset") or 0)
        return [i % per == off for i in range(L)]
    if g("first_k_dense_replace") is not None or g("moe_layer_freq") is not None:
        k = int(g("first_k_dense_replace") or 0)
        freq = g("moe_layer_freq")
        freq = freq if isinstance(freq, int) and not isinstance(freq, bool) and freq > 0 else 1
        return [i >= k and i % freq == 0 for i in range(L)]
    only = set(_ints(g("mlp_only_layers")) or [])
    sstep = g("decoder_sparse_step")
    sstep = sstep if isinstance(sstep, int) and not isinstance(sstep, bool) and sstep > 0 else 1
    return [i not in only and (i + 1) % sstep == 0 for i in range(L)]


def mixer_kinds(d, recurrent: str = "linear_attention") -> list[str]:
    """For each layer: ``attention`` or the family's recurrent mixer (``recurrent``)."""
    L, g = d.L, d.get
    lt = g("layer_types") or g("layers_block_type")
    if isinstance(lt, list) and lt:
        out = []
        for t in lt[:L]:
            t = str(t)
            out.append("attention" if t in ATTENTION_TYPES else recurrent)
        return out + ["attention"] * (L - len(out))
    ali = _ints(g("attn_layer_indices"))  # Bamba: the attention layers by index, the rest recurrent
    if ali is not None:
        s = set(ali)
        return ["attention" if i in s else recurrent for i in range(L)]
    atl = _ints(g("attn_type_list"))  # MiniMax-Text-01: 1 = softmax attention, 0 = lightning attention
    if atl is not None:
        out = ["attention" if x == 1 else recurrent for x in atl[:L]]
        return out + ["attention"] * (L - len(out))
    fai = g("full_attention_interval")  # Qwen3-Next before layer_types: every fai-th layer is attention
    if isinstance(fai, int) and not isinstance(fai, bool) and fai > 0:
        return ["attention" if (i + 1) % fai == 0 else recurrent for i in range(L)]
    per = g("attn_layer_period")
    if isinstance(per, int) and per > 0:
        off = int(g("attn_layer_offset") or 0)
        return ["attention" if i % per == off else recurrent for i in range(L)]
    return ["attention"] * L


def block_pattern(d) -> list[tuple[str, str]] | None:
    """Nemotron-H style: one block per layer, (mixer, ffn) from ``hybrid_override_pattern`` or
    ``layers_block_type``; None when the config has neither."""
    pat = d.get("hybrid_override_pattern")
    if isinstance(pat, str) and pat:
        return [PATTERN.get(ch, ("attention", "none")) for ch in pat]
    lt = d.get("layers_block_type")
    if isinstance(lt, list) and lt and all(str(x) in PATTERN for x in lt):
        return [PATTERN[str(x)] for x in lt]
    return None


def layer_plan(d, s) -> list[tuple[str, str]]:
    """(mixer, ffn) of every layer for a Spec family: mixer ``attention`` or a recurrent kind, ffn ``dense``,
    ``moe`` or ``none``."""
    moe = moe_flags(d) if s.moe else [False] * d.L
    rec = getattr(s, "recurrent", None) or "linear_attention"
    mix = mixer_kinds(d, rec) if getattr(s, "hybrid", False) else ["attention"] * d.L
    return [(m, "moe" if e else "dense") for m, e in zip(mix, moe)]


def layer_summary(plan: list[tuple[str, str]]) -> dict[str, int]:
    """Counts of (mixer, ffn) kinds, e.g. {"attention+moe": 12, "linear_attention+moe": 36}."""
    out: dict[str, int] = {}
    for m, f in plan:
        k = f"{m}+{f}"
        out[k] = out.get(k, 0) + 1
    return out
