"""More decoder-only text families of the 2025-2026 open-weight landscape (transformers 5.23 classes).

Each is checked against transformers 5.23's meta-device build of a reference config (the config class defaults,
or a real config.json where one was found; fixtures/configs/transformers__<model_type>* and
fixtures/oracle/, compared by tests/test_arch_oracle.py and tests/test_arch_text_more.py):

- MLA decoders (DeepSeek attention: ``q_a_proj``/``q_b_proj`` or ``q_proj``, ``kv_a_proj_with_mqa``,
  ``kv_b_proj``; per-expert MoE with an F32 ``e_score_correction_bias``, shared experts, DeepSeek-layout MTP
  layers ``model.layers.<L+k>`` that Hub checkpoints carry and transformers does not build):
  ``deepseek_v32`` (DeepSeek-V3.2: every layer adds the DSA lightning indexer ``self_attn.indexer.{wq_b, wk,
  k_norm (LayerNorm, weight + bias), weights_proj}``; in the Hub's FP8 checkpoints wq_b and wk are FP8 with
  scale grids, weights_proj stays BF16 and k_norm is F32), ``glm_moe_dsa`` (GLM-5: the same indexer, absent on
  layers whose ``indexer_types`` entry is ``shared``), ``glm4_moe_lite`` (GLM-4.7-Flash: DeepSeek-V3 layout);
- ``kimi_linear``: Kimi Delta Attention layers (q/k/v projections with their own short convolutions, the
  low-rank forget gate f_a/f_b, beta ``b_proj``, low-rank output gate g_a/g_b, per-head ``A_log``, gated
  ``o_norm``) and MLA layers (``layer_types``), then a dense MLP (``mlp.``) or the MoE block
  (``block_sparse_moe.``: experts w1/w2/w3, gate + correction bias, shared experts);
- ``olmo_hybrid``: gated DeltaNet layers with separate q/k/v convolutions (key_dim, key_dim and value_dim
  channels: the model splits its conv output so; transformers 5 saves its fused conv cut into three equal parts,
  layout ``equal_conv_split``) and an output gate, Olmo-2 attention layers (full-width q/k norms, post-norms);
- ``bamba``: Mamba-2 layers with attention at ``attn_layer_indices``;
- ``falcon_mamba``: the Mamba-1 layout (its mixer's RMS norms carry no weights);
- ``longcat_flash``: two MLA + dense MLP sub-blocks per layer (``self_attn.{0,1}``, ``mlps.{0,1}``, norms
  ``.{0,1}``) and one MoE whose router also scores ``zero_expert_num`` zero-computation experts;
- ``dots1``, ``solar_open``: Qwen3 / Llama attention with DeepSeek-style MoE; ``afmoe`` (Arcee Trinity):
  gated attention (``self_attn.gate_proj``), four norms per layer, sliding/global layers, MoE with
  ``router.gate`` and ``expert_bias``; ``mimo_v2_flash`` (Xiaomi MiMo-V2-Flash): asymmetric head dims
  (``head_dim`` for q/k, ``v_head_dim`` for v), twice the KV heads and an ``attention_sink_bias`` on sliding
  layers, MoE from ``mlp_layer_types``.
"""

from __future__ import annotations

from ...classify import ATTENTION, EMBEDDING, EXPERTS, LM_HEAD, MLP, MTP, NORM, ROUTER, SHARED
from ..decoder import CustomFamily, Spec, SpecFamily, _as_mtp, attention, dense_mlp
from ..engine import PredictionError, glu_mlp, linear, norm
from ..mixers import mixer
from ..schedule import mixer_kinds, moe_flags

TF = "transformers 5.23 meta-device build (fixtures/oracle/transformers__{})"
A = ATTENTION


def _pos(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v > 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {what}")
    return v


def _n(d, *keys, default=None):
    for k in keys:
        v = d.get(k)
        if v is not None:
            return v
    return default


def _types(d, key: str, n: int) -> list[str] | None:
    v = d.get(key)
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        return [str(x) for x in v[:n]] + [v[-1]] * max(0, n - len(v))
    return None


def _moe_layers(d, first_dense: int = 0) -> list[bool]:
    """MoE layers from ``mlp_layer_types`` / ``first_k_dense_replace`` (schedule.moe_flags); a config with
    neither gets ``first_dense`` dense layers (the family's transformers default)."""
    freq = d.get("moe_layer_freq")
    if isinstance(freq, list) and freq and d.get("mlp_layer_types") is None:  # MiMo-V2 Hub: 0 dense, 1 MoE
        return [d.E > 0 and bool(freq[i] if i < len(freq) else freq[-1]) for i in range(d.L)]
    if d.get("mlp_layer_types") is None and d.get("first_k_dense_replace") is None and freq is None:
        return [d.E > 0 and i >= first_dense for i in range(d.L)]
    return moe_flags(d)


def _head(d, name="lm_head"):
    if not d.tied:
        yield from linear(name, d.V, d.H, LM_HEAD, kind=None)


def _mtp_n(d) -> int:
    n = d.get("num_nextn_predict_layers")
    return n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 64 else 0


# ---- MLA -----------------------------------------------------------------------------------------------------

def mla(p: str, d, q_lora=True):
    """DeepSeek multi-head latent attention at ``p`` (the ``self_attn`` module)."""
    c = d.c
    nope = _pos(c.qk_nope_head_dim, "qk_nope_head_dim")
    rope = _pos(c.qk_rope_head_dim, "qk_rope_head_dim")
    v = _pos(c.v_head_dim, "v_head_dim")
    kvr = _pos(c.kv_lora_rank, "kv_lora_rank")
    b = d.get("attention_bias") is True
    qr = c.q_lora_rank if q_lora else None
    if qr:
        yield from linear(p + ".q_a_proj", _pos(qr, "q_lora_rank"), d.H, A, b)
        yield from norm(p + ".q_a_layernorm", qr, NORM)
        yield from linear(p + ".q_b_proj", d.nh * (nope + rope), qr, A)
    else:
        yield from linear(p + ".q_proj", d.nh * (nope + rope), d.H, A)
    yield from linear(p + ".kv_a_proj_with_mqa", kvr + rope, d.H, A, b)
    yield from norm(p + ".kv_a_layernorm", kvr, NORM)
    yield from linear(p + ".kv_b_proj", d.nh * (nope + v), kvr, A)
    yield from linear(p + ".o_proj", d.H, d.nh * v, A, b)


def indexer(p: str, d, norm_dtype=None):
    """DSA lightning indexer (DeepSeek-V3.2, GLM-5): ``weights_proj`` is never quantized."""
    nh = _pos(d.get("index_n_heads"), "index_n_heads")
    hd = _pos(d.get("index_head_dim"), "index_head_dim")
    qr = _pos(d.c.q_lora_rank, "q_lora_rank")
    yield from linear(p + ".indexer.wq_b", nh * hd, qr, A)
    yield from linear(p + ".indexer.wk", hd, d.H, A)
    yield p + ".indexer.k_norm.weight", (hd,), A, norm_dtype
    yield p + ".indexer.k_norm.bias", (hd,), A, norm_dtype
    yield p + ".indexer.weights_proj.weight", (nh, d.H), A, None


def ds_moe(m: str, d, bias_dtype="F32", expert_names=("gate_proj", "up_proj", "down_proj")):
    """DeepSeek-style MoE at module ``m``: per-expert GLU experts, ``gate`` (+ correction bias), shared experts."""
    d.need("E", "MI")
    for j in range(d.E):
        yield from glu_mlp(f"{m}.experts.{j}", d.H, d.MI, EXPERTS, names=expert_names)
    yield m + ".gate.weight", (d.E, d.H), ROUTER, None
    yield m + ".gate.e_score_correction_bias", (d.E,), ROUTER, bias_dtype
    n = _n(d, "n_shared_experts", "num_shared_experts", default=0)
    if n:
        yield from glu_mlp(m + ".shared_experts", d.H, d.MI * _pos(n, "n_shared_experts"), SHARED)


def _indexer_types(d, n: int) -> list[bool]:
    """Which of the layers 0..n-1 run their own indexer (GLM-5 ``indexer_types``, else the
    ``index_topk_pattern`` / ``index_topk_freq`` + ``index_skip_topk_offset`` schedule of GlmMoeDsaConfig)."""
    t = d.get("indexer_types")
    if isinstance(t, list) and t:
        return [str(t[i] if i < len(t) else "full") != "shared" for i in range(n)]
    pat = d.get("index_topk_pattern")
    if isinstance(pat, str) and pat:
        return [(pat[i] if i < len(pat) else "F") != "S" for i in range(n)]
    freq = d.get("index_topk_freq")
    freq = freq if isinstance(freq, int) and not isinstance(freq, bool) and freq > 1 else 1
    off = d.get("index_skip_topk_offset")
    off = off if isinstance(off, int) and not isinstance(off, bool) else 2
    return [max(i - off + 1, 0) % freq == 0 for i in range(n)]


def _mla_layer(d, s, i: int, moe: bool, has_index: bool, layout):
    p = f"model.layers.{i}"
    yield from mla(p + ".self_attn", d)
    if has_index:
        yield from indexer(p + ".self_attn", d, "F32" if layout.get("indexer_norm_f32") else None)
    if moe:
        yield from ds_moe(p + ".mlp", d)
    else:
        d.need("I")
        yield from glu_mlp(p + ".mlp", d.H, d.I, MLP)
    yield from norm(p + ".input_layernorm", d.H, NORM)
    yield from norm(p + ".post_attention_layernorm", d.H, NORM)


def _mla_decoder(s, d, layout):
    """deepseek_v32, glm_moe_dsa, glm4_moe_lite (see the module doc)."""
    d.need("H", "L", "nh", "V")
    dsa = s.model_types[0] in ("deepseek_v32", "glm_moe_dsa")
    nmtp = _mtp_n(d) if layout.get("mtp", True) else 0
    idx = _indexer_types(d, d.L + nmtp) if s.model_types[0] == "glm_moe_dsa" else [dsa] * (d.L + nmtp)
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i, moe in enumerate(_moe_layers(d)):
        yield from _mla_layer(d, s, i, moe, idx[i], layout)
    yield from norm("model.norm", d.H, NORM)
    yield from _head(d)
    copies = layout.get("mtp_copies", True)
    for k in range(d.L, d.L + nmtp):  # DeepSeek-V3 layout MTP layers (always MoE)
        p = f"model.layers.{k}"
        if copies:
            yield p + ".embed_tokens.weight", (d.V, d.H), MTP, None
        yield from _as_mtp(norm(p + ".enorm", d.H, NORM))
        yield from _as_mtp(norm(p + ".hnorm", d.H, NORM))
        yield p + ".eh_proj.weight", (d.H, 2 * d.H), MTP, None
        yield from _as_mtp(_mla_layer(d, s, k, d.E > 0, idx[k], layout))
        yield from _as_mtp(norm(p + ".shared_head.norm", d.H, NORM))
        if copies:
            yield p + ".shared_head.head.weight", (d.V, d.H), MTP, None


class _Family(CustomFamily):
    """decoder.CustomFamily with a fixed default layout and, optionally, the memory planner's hooks: ``kinds(d)``
    (per-layer mixer kind), ``state(d, kind)`` (a recurrent kind's per-sequence state) and ``kv(d)`` (per-layer
    KV heads and head dims, where they vary), used by arch.layer_kinds."""

    def __init__(self, spec, fn, layout=None, kinds=None, state=None, names=None, kv=None):
        lay = dict(layout or {})
        super().__init__(spec, fn, (lambda c: dict(lay)) if lay else None, names)
        if kinds is not None:
            self.layer_kinds = kinds
        if state is not None:
            self.state_shapes = state
        if kv is not None:
            self.kv_shapes = kv


def _mtp_from_names(c, names) -> dict:
    """MTP layer present / with its own embedding and head copies, read off the real names."""
    L = c.num_hidden_layers
    p = f"model.layers.{L}."
    mtp = any(n.startswith(p) for n in names)
    out = {"mtp": mtp}
    if mtp:
        out["mtp_copies"] = any(n.startswith((p + "embed_tokens.", p + "shared_head.head.")) for n in names)
    return out


def _dsa_from_names(c, names) -> dict:
    out = _mtp_from_names(c, names)
    return out


# ---- Kimi Linear ---------------------------------------------------------------------------------------------

def kda_dims(d) -> dict:
    hd = _pos(_n(d, "linear_head_dim", default=(d.get("linear_attn_config") or {}).get("head_dim", 128)),
              "linear_head_dim")
    nh = _pos(_n(d, "linear_num_heads", default=(d.get("linear_attn_config") or {}).get("num_heads", 32)),
              "linear_num_heads")
    K = _pos(_n(d, "linear_conv_kernel_dim",
                default=(d.get("linear_attn_config") or {}).get("short_conv_kernel_size", 4)), "conv kernel")
    return {"hd": hd, "nh": nh, "conv": K}


def kimi_layer_types(d) -> list[str]:
    """``layer_types``, else ``linear_attn_config.full_attn_layers`` / ``kda_layers`` (1-based in Moonshot's
    config.json), else KimiLinearConfig's default (MLA at every layer i > 0 with i % 4 == 0)."""
    lt = _types(d, "layer_types", d.L)
    if lt:
        return ["linear_attention" if t == "linear_attention" else "full_attention" for t in lt]
    lac = d.get("linear_attn_config")
    if isinstance(lac, dict) and isinstance(lac.get("full_attn_layers"), list) and \
            isinstance(lac.get("kda_layers"), list):
        full = {x - 1 for x in lac["full_attn_layers"] if isinstance(x, int)}
        return ["full_attention" if i in full else "linear_attention" for i in range(d.L)]
    return ["full_attention" if i and i % 4 == 0 else "linear_attention" for i in range(d.L)]


def _kda(p, d):
    x = kda_dims(d)
    q = x["nh"] * x["hd"]
    yield from linear(p + ".q_proj", q, d.H, A)
    yield from linear(p + ".k_proj", q, d.H, A)
    yield from linear(p + ".v_proj", q, d.H, A)
    for t in "qkv":
        yield f"{p}.{t}_conv1d.weight", (q, 1, x["conv"]), A, None
    yield p + ".A_log", (1, 1, x["nh"], 1), A, None
    yield p + ".dt_bias", (q,), A, None
    yield from linear(p + ".f_a_proj", x["hd"], d.H, A)
    yield from linear(p + ".f_b_proj", q, x["hd"], A)
    yield from linear(p + ".b_proj", x["nh"], d.H, A)
    yield from linear(p + ".g_a_proj", x["hd"], d.H, A)
    yield from linear(p + ".g_b_proj", q, x["hd"], A)
    yield p + ".o_norm.weight", (x["hd"],), NORM, None
    yield from linear(p + ".o_proj", d.H, q, A)


def _kimi_linear(s, d, layout):
    d.need("H", "L", "nh", "V")
    dense = "mlp" if layout.get("hub_names", True) else "block_sparse_moe"  # transformers 5 renames on save
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i, (t, moe) in enumerate(zip(kimi_layer_types(d), _moe_layers(d, 1))):
        p = f"model.layers.{i}"
        if t == "linear_attention":
            yield from _kda(p + ".self_attn", d)
        else:
            yield from mla(p + ".self_attn", d)
        if moe:
            m = p + ".block_sparse_moe"
            d.need("E", "MI")
            for j in range(d.E):
                yield from glu_mlp(f"{m}.experts.{j}", d.H, d.MI, EXPERTS, names=("w1", "w3", "w2"))
            yield m + ".gate.weight", (d.E, d.H), ROUTER, None
            yield m + ".gate.e_score_correction_bias", (d.E,), ROUTER, None
            n = _n(d, "num_shared_experts", "n_shared_experts", default=0)
            if n:
                yield from glu_mlp(m + ".shared_experts", d.H, d.MI * _pos(n, "num_shared_experts"), SHARED)
        else:
            d.need("I")
            yield from glu_mlp(f"{p}.{dense}", d.H, d.I, MLP)
        yield from norm(p + ".input_layernorm", d.H, NORM)
        yield from norm(p + ".post_attention_layernorm", d.H, NORM)
    yield from norm("model.norm", d.H, NORM)
    yield from _head(d)


def _kimi_kinds(d):
    return ["kda" if t == "linear_attention" else "attention" for t in kimi_layer_types(d)]


def _kimi_state(d, kind):
    x = kda_dims(d)
    q = x["nh"] * x["hd"]
    return {"conv": (3 * q, x["conv"]), "recurrent": (x["nh"], x["hd"], x["hd"])}


def _kimi_names(c, names) -> dict:
    return {"hub_names": not any(".block_sparse_moe.gate_proj." in n for n in names)}


# ---- OLMo Hybrid ---------------------------------------------------------------------------------------------

def olmo_dims(d) -> dict:
    return {"nk": _pos(_n(d, "linear_num_key_heads", default=30), "linear_num_key_heads"),
            "nv": _pos(_n(d, "linear_num_value_heads", default=30), "linear_num_value_heads"),
            "dk": _pos(_n(d, "linear_key_head_dim", default=96), "linear_key_head_dim"),
            "dv": _pos(_n(d, "linear_value_head_dim", default=192), "linear_value_head_dim"),
            "conv": _pos(_n(d, "linear_conv_kernel_dim", default=4), "linear_conv_kernel_dim")}


def _olmo_types(d) -> list[str]:
    lt = _types(d, "layer_types", d.L)
    if lt:
        return ["linear_attention" if t == "linear_attention" else "full_attention" for t in lt]
    return ["full_attention" if (i + 1) % 4 == 0 else "linear_attention" for i in range(d.L)]


def _olmo_hybrid(s, d, layout):
    d.need("H", "L", "nh", "kv", "hd", "V", "I")
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i, t in enumerate(_olmo_types(d)):
        p = f"model.layers.{i}"
        if t == "linear_attention":
            x = olmo_dims(d)
            kd, vd = x["nk"] * x["dk"], x["nv"] * x["dv"]
            m = p + ".linear_attn"
            yield from norm(p + ".attention_layer_norm", d.H, NORM)
            yield from linear(m + ".q_proj", kd, d.H, A)
            yield from linear(m + ".k_proj", kd, d.H, A)
            yield from linear(m + ".v_proj", vd, d.H, A)
            yield from linear(m + ".g_proj", vd, d.H, A)
            yield from linear(m + ".a_proj", x["nv"], d.H, A)
            yield from linear(m + ".b_proj", x["nv"], d.H, A)
            convs = (kd, kd, vd)
            if layout.get("equal_conv_split"):  # transformers 5 saves its fused conv1d (2 kd + vd channels) cut
                convs = ((2 * kd + vd) // 3,) * 3  # into three equal parts (the reverse of a Concatenate)
            for t, n in zip("qkv", convs):
                yield f"{m}.{t}_conv1d.weight", (n, 1, x["conv"]), A, None
            yield m + ".A_log", (x["nv"],), A, "F32"
            yield m + ".dt_bias", (x["nv"],), A, None
            yield m + ".o_norm.weight", (x["dv"],), NORM, None
            yield from linear(m + ".o_proj", d.H, vd, A)
        else:
            yield from attention(p, d, s)
            yield from norm(p + ".post_feedforward_layernorm", d.H, NORM)
        yield from glu_mlp(p + ".mlp", d.H, d.I, MLP, bool(d.get("mlp_bias")))
        yield from norm(p + ".feedforward_layer_norm", d.H, NORM)
    yield from norm("model.norm", d.H, NORM)
    yield from _head(d)


def _olmo_kinds(d):
    return ["olmo_deltanet" if t == "linear_attention" else "attention" for t in _olmo_types(d)]


def _olmo_state(d, kind):
    x = olmo_dims(d)
    return {"conv": (2 * x["nk"] * x["dk"] + x["nv"] * x["dv"], x["conv"]),
            "recurrent": (x["nv"], x["dk"], x["dv"])}


# ---- Bamba, Falcon-Mamba -------------------------------------------------------------------------------------

def _bamba_types(d) -> list[str]:
    return mixer_kinds(d, "mamba2")  # attention at attn_layer_indices, Mamba-2 elsewhere


def _bamba(s, d, layout):
    d.need("H", "L", "V", "I")
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i, t in enumerate(_bamba_types(d)):
        p = f"model.layers.{i}"
        if t == "attention":
            d.need("nh", "kv", "hd")
            yield from attention(p, d, s)
        else:
            yield from mixer(p, d, s, "mamba2")
        yield from glu_mlp(p + ".feed_forward", d.H, d.I, MLP, bool(d.get("mlp_bias")))
        yield from norm(p + ".input_layernorm", d.H, NORM)
        yield from norm(p + ".pre_ff_layernorm", d.H, NORM)
    yield from norm("model.final_layernorm", d.H, NORM)
    yield from _head(d)


def _mamba1(d) -> dict:
    """Falcon-Mamba's Mamba-1 sizes: d_inner is ``intermediate_size`` (the released configs say expand 16 but
    intermediate_size 8192 = 2 x hidden: the model reads intermediate_size)."""
    H = d.H
    I = _n(d, "intermediate_size")
    I = _pos(I if I else int(_n(d, "expand", default=2) * H), "intermediate_size")
    N = _pos(_n(d, "state_size", default=16), "state_size")
    K = _pos(_n(d, "conv_kernel", default=4), "conv_kernel")
    r = _n(d, "time_step_rank", default="auto")
    r = -(-H // 16) if r == "auto" else _pos(r, "time_step_rank")
    return {"inner": I, "state": N, "conv": K, "dt_rank": r}


def _falcon_mamba(s, d, layout):
    d.need("H", "L", "V")
    x = _mamba1(d)
    I, N, r = x["inner"], x["state"], x["dt_rank"]
    pb, cb = bool(d.get("use_bias")), bool(_n(d, "use_conv_bias", default=True))
    yield "backbone.embeddings.weight", (d.V, d.H), EMBEDDING, None
    for i in range(d.L):
        p = f"backbone.layers.{i}"
        m = p + ".mixer"
        yield from norm(p + ".norm", d.H, NORM)
        yield m + ".A_log", (I, N), A, None
        yield m + ".D", (I,), A, None
        yield m + ".conv1d.weight", (I, 1, x["conv"]), A, None
        if cb:
            yield m + ".conv1d.bias", (I,), A, None
        yield from linear(m + ".in_proj", 2 * I, d.H, A, pb)
        yield from linear(m + ".x_proj", r + 2 * N, I, A)
        yield from linear(m + ".dt_proj", I, r, A, True)
        yield from linear(m + ".out_proj", d.H, I, A, pb)
    yield from norm("backbone.norm_f", d.H, NORM)
    yield from _head(d)


def _falcon_mamba_state(d, kind):
    x = _mamba1(d)
    return {"conv": (x["inner"], x["conv"]), "ssm": (x["inner"], x["state"])}


# ---- LongCat-Flash -------------------------------------------------------------------------------------------

def _longcat(s, d, layout):
    """LongCat-Flash: per layer two (MLA, dense MLP) sub-blocks with their own norms, one shortcut MoE whose
    router classifier scores n_routed_experts + zero_expert_num experts. Zero experts hold no weights in the Hub
    checkpoints (experts 0..n_routed_experts-1 only); transformers 5 sizes its fused gate_up_proj for all
    n_routed + zero experts and so saves gate/up (no down) for the zero ones too: layout ``zero_expert_weights``."""
    d.need("H", "L", "nh", "V", "E")
    I = _pos(_n(d, "ffn_hidden_size", "intermediate_size"), "ffn_hidden_size")
    MI = _pos(_n(d, "expert_ffn_hidden_size", "moe_intermediate_size"), "expert_ffn_hidden_size")
    Z = _n(d, "zero_expert_num", default=0) or 0
    R = d.E + int(Z)
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        for j in range(d.E):
            yield from glu_mlp(f"{p}.mlp.experts.{j}", d.H, MI, EXPERTS)
        for j in range(d.E, R if layout.get("zero_expert_weights") else d.E):  # transformers 5 only (below)
            yield from linear(f"{p}.mlp.experts.{j}.gate_proj", MI, d.H, EXPERTS)
            yield from linear(f"{p}.mlp.experts.{j}.up_proj", MI, d.H, EXPERTS)
        yield p + ".mlp.router.classifier.weight", (R, d.H), ROUTER, None
        if d.get("router_bias"):
            yield p + ".mlp.router.classifier.bias", (R,), ROUTER, None
        yield p + ".mlp.router.e_score_correction_bias", (R,), ROUTER, None
        for k in (0, 1):
            yield from mla(f"{p}.self_attn.{k}", d)
            yield from glu_mlp(f"{p}.mlps.{k}", d.H, I, MLP)
            yield from norm(f"{p}.input_layernorm.{k}", d.H, NORM)
            yield from norm(f"{p}.post_attention_layernorm.{k}", d.H, NORM)
    yield from norm("model.norm", d.H, NORM)
    yield from _head(d)
    if layout.get("mtp", True):  # one MTP layer (vLLM longcat_flash_mtp.py: its checkpoint-name table)
        m = "model.mtp.layers.0"
        yield "model.mtp.embed_tokens.weight", (d.V, d.H), MTP, None
        yield from _as_mtp(linear(m + ".eh_proj", d.H, 2 * d.H, MTP))
        yield from _as_mtp(norm(m + ".enorm.m", d.H, NORM))
        yield from _as_mtp(norm(m + ".hnorm.m", d.H, NORM))
        yield from _as_mtp(norm(m + ".input_layernorm", d.H, NORM))
        yield from _as_mtp(norm(m + ".post_attention_layernorm", d.H, NORM))
        yield from _as_mtp(mla(m + ".self_attn", d))
        yield from _as_mtp(glu_mlp(m + ".transformer_layer.mlp", d.H, I, MLP))
        yield from norm("model.mtp.norm", d.H, MTP)


def _mtp_dot_from_names(c, names) -> dict:
    return {"mtp": any(n.startswith("model.mtp.") for n in names)}


# ---- AFMoE (Arcee Trinity), MiMo-V2-Flash --------------------------------------------------------------------

def _afmoe(s, d, layout):
    d.need("H", "L", "nh", "kv", "hd", "V")
    nd = _n(d, "num_dense_layers", default=1)
    nd = nd if isinstance(nd, int) and not isinstance(nd, bool) and nd >= 0 else 1
    H = d.H
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from attention(p, d, s)
        yield from linear(p + ".self_attn.gate_proj", d.nh * d.hd, H, A)
        for n in ("input_layernorm", "post_attention_layernorm", "pre_mlp_layernorm", "post_mlp_layernorm"):
            yield from norm(f"{p}.{n}", H, NORM)
        if i < nd or not d.E:
            d.need("I")
            yield from glu_mlp(p + ".mlp", H, d.I, MLP)
            continue
        d.need("MI")
        m = p + ".mlp"
        yield m + ".expert_bias", (d.E,), ROUTER, None
        yield m + ".router.gate.weight", (d.E, H), ROUTER, None
        n = _n(d, "num_shared_experts", default=0)
        if n:
            yield from glu_mlp(m + ".shared_experts", H, d.MI * _pos(n, "num_shared_experts"), SHARED)
        for j in range(d.E):
            yield from glu_mlp(f"{m}.experts.{j}", H, d.MI, EXPERTS)
    yield from norm("model.norm", H, NORM)
    yield from _head(d)


def mimo_layer_types(d) -> list[str]:
    lt = _types(d, "layer_types", d.L)
    if lt:
        return lt
    pat = d.get("hybrid_layer_pattern")  # the Hub config: 1 = sliding-window layer, 0 = full attention
    if isinstance(pat, list) and pat and all(isinstance(x, int) for x in pat):
        return ["sliding_attention" if (pat[i] if i < len(pat) else 0) else "full_attention" for i in range(d.L)]
    return ["full_attention" if (i == 0 or not (i + 1) % 6) else "sliding_attention" for i in range(d.L)]


def mimo_attn_dims(d, swa: bool) -> tuple[int, int, int, int]:
    """(heads, KV heads, q/k head dim, v head dim) of a full or sliding layer: the Hub config's swa_* keys, else
    transformers' reading (the same heads and dims, twice the KV heads on sliding layers)."""
    vd = _pos(_n(d, "v_head_dim", default=d.hd), "v_head_dim")
    if not swa:
        return d.nh, d.kv, d.hd, vd
    return (_pos(_n(d, "swa_num_attention_heads", default=d.nh), "swa_num_attention_heads"),
            _pos(_n(d, "swa_num_key_value_heads", default=2 * d.kv), "swa_num_key_value_heads"),
            _pos(_n(d, "swa_head_dim", default=d.hd), "swa_head_dim"),
            _pos(_n(d, "swa_v_head_dim", default=vd), "swa_v_head_dim"))


def _mimo_attn(a, d, swa: bool, sink: bool):
    nh, kv, hd, vd = mimo_attn_dims(d, swa)
    b = bool(d.get("attention_bias"))
    yield from linear(a + ".q_proj", nh * hd, d.H, A, b)
    yield from linear(a + ".k_proj", kv * hd, d.H, A, b)
    yield from linear(a + ".v_proj", kv * vd, d.H, A, b)
    yield from linear(a + ".o_proj", d.H, nh * vd, A)
    if sink:
        yield a + ".attention_sink_bias", (nh,), A, None


def _mimo_v2(s, d, layout):
    """MiMo-V2-Flash. Hub checkpoints also carry ``num_nextn_predict_layers`` MTP layers ``model.mtp.layers.i``
    (vLLM mimo_v2_mtp.py): enorm, hnorm, eh_proj (H x 2H), input_layernorm, a sliding-window attention,
    pre_mlp_layernorm, a dense MLP of intermediate_size, final_layernorm; transformers ignores them."""
    d.need("H", "L", "nh", "kv", "hd", "V")
    H = d.H
    sw_sink = _n(d, "add_swa_attention_sink_bias", default=True)
    full_sink = bool(d.get("add_full_attention_sink_bias"))
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i, (t, moe) in enumerate(zip(mimo_layer_types(d), _moe_layers(d, 1))):
        p = f"model.layers.{i}"
        swa = t == "sliding_attention"
        yield from _mimo_attn(p + ".self_attn", d, swa, bool(sw_sink) if swa else full_sink)
        if moe:
            d.need("E", "MI")
            m = p + ".mlp"
            for j in range(d.E):
                yield from glu_mlp(f"{m}.experts.{j}", H, d.MI, EXPERTS)
            yield m + ".gate.weight", (d.E, H), ROUTER, None
            yield m + ".gate.e_score_correction_bias", (d.E,), ROUTER, None
        else:
            d.need("I")
            yield from glu_mlp(p + ".mlp", H, d.I, MLP)
        yield from norm(p + ".input_layernorm", H, NORM)
        yield from norm(p + ".post_attention_layernorm", H, NORM)
    yield from norm("model.norm", H, NORM)
    yield from _head(d)
    for k in range(_mtp_n(d) if layout.get("mtp", True) else 0):
        m = f"model.mtp.layers.{k}"
        yield from _as_mtp(norm(m + ".enorm", H, NORM))
        yield from _as_mtp(norm(m + ".hnorm", H, NORM))
        yield from _as_mtp(linear(m + ".eh_proj", H, 2 * H, MTP))
        yield from _as_mtp(norm(m + ".input_layernorm", H, NORM))
        yield from _as_mtp(_mimo_attn(m + ".self_attn", d, True, bool(sw_sink)))
        yield from _as_mtp(norm(m + ".pre_mlp_layernorm", H, NORM))
        d.need("I")
        yield from _as_mtp(glu_mlp(m + ".mlp", H, d.I, MLP))
        yield from _as_mtp(norm(m + ".final_layernorm", H, NORM))


def _mimo_kv(d):
    """Per layer (KV heads, K head dim, V head dim): sliding layers keep twice the KV heads; V is v_head_dim."""
    out = []
    for t in mimo_layer_types(d):
        _, kv, hd, vd = mimo_attn_dims(d, t == "sliding_attention")
        out.append((kv, hd, vd))
    return out


def _moe_spec_tensors(s, d, layout):
    """dots1 / solar_open: the generic decoder, with the dense prefix from first_k_dense_replace /
    mlp_layer_types (none when absent)."""
    from ..decoder import decoder_layer

    d.need("H", "L", "V", "nh", "kv", "hd")
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i, moe in enumerate(_moe_layers(d, 0)):
        yield from decoder_layer(d, s, i, "attention", "moe" if moe else "dense", layout)
    yield from norm("model.norm", d.H, NORM)
    yield from _head(d)


# ---- second batch: Granite SWA variants, HunYuan V3, Laguna -------------------------------------------------

def _sinks(a, d):
    yield a + ".sinks", (d.nh,), A, None  # one attention-sink logit per head (every layer)


def _granite_swa(s, d, layout):
    """Granite SWA (granite-swash): the Granite/Llama layout plus ``self_attn.sinks`` in every layer; dense MLP
    (granite_swa) or, for granitemoe_swa, a ``block_sparse_moe`` of fused 3-D experts and a ``router``."""
    d.need("H", "L", "nh", "kv", "hd", "V")
    yield "model.embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    moe = s.model_types[0] == "granitemoe_swa"
    for i in range(d.L):
        p = f"model.layers.{i}"
        yield from _sinks(p + ".self_attn", d)
        yield from attention(p, d, s)
        if moe:
            d.need("E", "I")
            m = p + ".block_sparse_moe"
            yield m + ".router.weight", (d.E, d.H), ROUTER, None
            yield m + ".experts.gate_up_proj", (d.E, 2 * d.I, d.H), EXPERTS, None
            yield m + ".experts.down_proj", (d.E, d.H, d.I), EXPERTS, None
        else:
            d.need("I")
            yield from dense_mlp(p, d, s, d.I)
        yield from norm(p + ".input_layernorm", d.H, NORM)
        yield from norm(p + ".post_attention_layernorm", d.H, NORM)
    yield from norm("model.norm", d.H, NORM)
    yield from _head(d)


def _hy_v3(s, d, layout):
    """HunYuan V3: q/k norms, ``mlp_layer_types`` (default: layer 0 dense), MoE with ``expert_bias``,
    ``router.gate``, per-expert GLU experts and ``shared_mlp`` (num_shared_experts x moe_intermediate_size)."""
    d.need("H", "L", "nh", "kv", "hd", "V")
    H = d.H
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i, moe in enumerate(_moe_layers(d, 1)):
        p = f"model.layers.{i}"
        yield from attention(p, d, s)
        if moe:
            d.need("MI")
            m = p + ".mlp"
            yield m + ".expert_bias", (d.E,), ROUTER, None
            yield m + ".router.gate.weight", (d.E, H), ROUTER, None
            for j in range(d.E):
                yield from glu_mlp(f"{m}.experts.{j}", H, d.MI, EXPERTS)
            n = _n(d, "num_shared_experts", default=0)
            if n:
                yield from glu_mlp(m + ".shared_mlp", H, d.MI * _pos(n, "num_shared_experts"), SHARED)
        else:
            d.need("I")
            yield from glu_mlp(p + ".mlp", H, d.I, MLP, bool(d.get("mlp_bias")))
        yield from norm(p + ".input_layernorm", H, NORM)
        yield from norm(p + ".post_attention_layernorm", H, NORM)
    yield from norm("model.norm", H, NORM)
    yield from _head(d)


def _laguna_heads(d) -> list[int]:
    h = d.get("num_attention_heads_per_layer")
    if isinstance(h, list) and h and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in h):
        return [h[i] if i < len(h) else h[-1] for i in range(d.L)]
    return [d.nh] * d.L


def _laguna(s, d, layout):
    """Laguna: per-layer query heads (``num_attention_heads_per_layer``), a softplus output gate ``g_proj``
    (one value per head when ``gating`` is true / "per-head", else per channel), q/k norms; MoE after the dense
    layer 0 (``mlp_layer_types``): ``gate``, the correction bias under ``experts``, one ``shared_expert``."""
    d.need("H", "L", "nh", "kv", "hd", "V")
    H, hd = d.H, d.hd
    g = d.get("gating", True)
    per_head = g is True or g == "per-head"
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i, (nh, moe) in enumerate(zip(_laguna_heads(d), _moe_layers(d, 1))):
        p = f"model.layers.{i}"
        a = p + ".self_attn"
        b = bool(d.get("attention_bias"))
        yield from linear(a + ".q_proj", nh * hd, H, A, b)
        yield from linear(a + ".k_proj", d.kv * hd, H, A, b)
        yield from linear(a + ".v_proj", d.kv * hd, H, A, b)
        yield from linear(a + ".o_proj", H, nh * hd, A, b)
        yield from norm(a + ".q_norm", hd, NORM)
        yield from norm(a + ".k_norm", hd, NORM)
        if g:
            yield from linear(a + ".g_proj", nh if per_head else nh * hd, H, A)
        if moe:
            d.need("MI")
            m = p + ".mlp"
            yield m + ".gate.weight", (d.E, H), ROUTER, None
            yield m + ".experts.e_score_correction_bias", (d.E,), ROUTER, None
            for j in range(d.E):
                yield from glu_mlp(f"{m}.experts.{j}", H, d.MI, EXPERTS)
            si = _n(d, "shared_expert_intermediate_size", default=0)
            if si:
                yield from glu_mlp(m + ".shared_expert", H, _pos(si, "shared_expert_intermediate_size"), SHARED)
        else:
            d.need("I")
            yield from glu_mlp(p + ".mlp", H, d.I, MLP)
        yield from norm(p + ".input_layernorm", H, NORM)
        yield from norm(p + ".post_attention_layernorm", H, NORM)
    yield from norm("model.norm", H, NORM)
    yield from _head(d)


def _lfm3_types(d) -> list[str]:
    lt = _types(d, "layer_types", d.L)
    if not lt:
        raise PredictionError("config.json gives no layer_types (LFM3 names each layer conv or attention)")
    return lt


def _lfm3(s, d, layout):
    """LFM3: gated short-convolution layers (``conv.conv`` (H, 1, conv_L_cache), ``conv.in_proj`` 3H x H,
    ``conv.out_proj``, biases with ``conv_bias``) or full / sliding attention layers (q/k norms over head_dim, a
    per-head output gate ``gate_proj`` with ``use_attention_gate``); SwiGLU ``feed_forward`` w1/w2/w3;
    ``operator_norm``/``ffn_norm`` plus the sandwich ``post_*`` norms; ``embedding_norm`` last, tied head."""
    d.need("H", "L", "nh", "kv", "hd", "I", "V")
    H, hd = d.H, d.hd
    K = _pos(_n(d, "conv_L_cache", default=7), "conv_L_cache")
    cb = bool(d.get("conv_bias", False))
    sandwich = bool(_n(d, "use_sandwich_norm", default=True))
    gate = bool(_n(d, "use_attention_gate", default=True))
    b = bool(d.get("attention_bias"))
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i, t in enumerate(_lfm3_types(d)):
        p = f"model.layers.{i}"
        if t == "conv":
            c = p + ".conv"
            yield c + ".conv.weight", (H, 1, K), A, None
            if cb:
                yield c + ".conv.bias", (H,), A, None
            yield from linear(c + ".in_proj", 3 * H, H, A, cb)
            yield from linear(c + ".out_proj", H, H, A, cb)
        else:
            a = p + ".self_attn"
            yield from linear(a + ".q_proj", d.nh * hd, H, A, b)
            yield from linear(a + ".k_proj", d.kv * hd, H, A, b)
            yield from linear(a + ".v_proj", d.kv * hd, H, A, b)
            yield from linear(a + ".o_proj", H, d.nh * hd, A, b)
            yield from norm(a + ".q_norm", hd, NORM)
            yield from norm(a + ".k_norm", hd, NORM)
            if gate:
                yield from linear(a + ".gate_proj", d.nh, H, A)
        yield from glu_mlp(p + ".feed_forward", H, d.I, MLP, names=("w1", "w3", "w2"))
        for n in ("operator_norm", "ffn_norm") + (("post_operator_norm", "post_ffn_norm") if sandwich else ()):
            yield from norm(f"{p}.{n}", H, NORM)
    yield from norm("model.embedding_norm", H, NORM)
    yield from _head(d)


def _cohere2_moe(s, d, layout):
    """Cohere2-MoE: Cohere 2 attention (parallel block, one ``input_layernorm``), ``mlp_layer_types`` (dense
    prefix of ``prefix_dense_intermediate_size``, else intermediate_size), MoE of per-expert GLU experts of
    intermediate_size, ``gate`` and num_shared_experts x intermediate_size ``shared_experts``; tied head."""
    d.need("H", "L", "nh", "kv", "hd", "V", "I")
    H = d.H
    pre = _n(d, "prefix_dense_intermediate_size", default=d.I) or d.I
    yield "model.embed_tokens.weight", (d.V, H), EMBEDDING, None
    for i, moe in enumerate(_moe_layers(d, 0)):
        p = f"model.layers.{i}"
        yield from attention(p, d, s)
        if moe:
            m = p + ".mlp"
            d.need("E")
            for j in range(d.E):
                yield from glu_mlp(f"{m}.experts.{j}", H, d.I, EXPERTS)
            yield m + ".gate.weight", (d.E, H), ROUTER, None
            n = _n(d, "num_shared_experts", default=0)
            if n:
                yield from glu_mlp(m + ".shared_experts", H, d.I * _pos(n, "num_shared_experts"), SHARED)
        else:
            yield from glu_mlp(p + ".mlp", H, _pos(pre, "prefix_dense_intermediate_size"), MLP)
        yield from norm(p + ".input_layernorm", H, NORM)
    yield from norm("model.norm", H, NORM)
    yield from _head(d)


MLA_DEF = dict(tie_word_embeddings=False, attention_bias=False)
FAMILY_LIST = [
    _Family(Spec(("deepseek_v32",), ("DeepseekV32ForCausalLM",), TF.format("deepseek_v32"), defaults={
        'vocab_size': 129280, 'hidden_size': 7168, 'intermediate_size': 18432, 'moe_intermediate_size': 2048,
        'num_hidden_layers': 61, 'num_attention_heads': 128, 'num_key_value_heads': 128, 'n_shared_experts': 1,
        'n_routed_experts': 256, 'num_experts_per_tok': 8, 'kv_lora_rank': 512, 'q_lora_rank': 1536,
        'qk_rope_head_dim': 64, 'v_head_dim': 128, 'qk_nope_head_dim': 128, 'first_k_dense_replace': 3,
        'index_head_dim': 128, 'index_n_heads': 64, **MLA_DEF}),
        _mla_decoder, layout={"mtp": True, "indexer_norm_f32": True}, names=_dsa_from_names),
    _Family(Spec(("glm_moe_dsa",), ("GlmMoeDsaForCausalLM",), TF.format("glm_moe_dsa"), defaults={
        'vocab_size': 154880, 'hidden_size': 6144, 'intermediate_size': 12288, 'moe_intermediate_size': 2048,
        'num_hidden_layers': 78, 'num_attention_heads': 64, 'num_key_value_heads': 64, 'n_shared_experts': 1,
        'n_routed_experts': 256, 'num_experts_per_tok': 8, 'kv_lora_rank': 512, 'q_lora_rank': 2048,
        'qk_rope_head_dim': 64, 'v_head_dim': 256, 'qk_nope_head_dim': 192, 'first_k_dense_replace': 3,
        'index_head_dim': 128, 'index_n_heads': 32, **MLA_DEF}),
        _mla_decoder, layout={"mtp": True}, names=_dsa_from_names),
    _Family(Spec(("glm4_moe_lite",), ("Glm4MoeLiteForCausalLM",), TF.format("glm4_moe_lite"), defaults={
        'vocab_size': 154880, 'hidden_size': 2048, 'intermediate_size': 10240, 'moe_intermediate_size': 1536,
        'num_hidden_layers': 47, 'num_attention_heads': 20, 'num_key_value_heads': 20, 'n_shared_experts': 1,
        'n_routed_experts': 64, 'num_experts_per_tok': 4, 'kv_lora_rank': 512, 'q_lora_rank': 768,
        'qk_rope_head_dim': 64, 'v_head_dim': 256, 'qk_nope_head_dim': 192, 'first_k_dense_replace': 1,
        **MLA_DEF}),
        _mla_decoder, layout={"mtp": True}, names=_mtp_from_names),
    _Family(Spec(("kimi_linear",), ("KimiLinearForCausalLM",), TF.format("kimi_linear"), defaults={
        'vocab_size': 163840, 'hidden_size': 2304, 'intermediate_size': 9216, 'moe_intermediate_size': 1024,
        'num_hidden_layers': 27, 'num_attention_heads': 32, 'num_key_value_heads': 32, 'num_shared_experts': 1,
        'num_experts': 256, 'num_experts_per_token': 8, 'kv_lora_rank': 512, 'qk_rope_head_dim': 64,
        'v_head_dim': 128, 'qk_nope_head_dim': 128, **MLA_DEF}),
        _kimi_linear, layout={"hub_names": True}, kinds=_kimi_kinds, state=_kimi_state, names=_kimi_names),
    _Family(Spec(("olmo_hybrid",), ("OlmoHybridForCausalLM",), TF.format("olmo_hybrid"), qk_norm="full",
                 defaults={'vocab_size': 100352, 'hidden_size': 3840, 'intermediate_size': 11008,
                           'num_hidden_layers': 32, 'num_attention_heads': 30, 'num_key_value_heads': 30,
                           'linear_num_key_heads': 30, 'linear_num_value_heads': 30, 'linear_key_head_dim': 96,
                           'linear_value_head_dim': 192, 'linear_conv_kernel_dim': 4, **MLA_DEF}),
        _olmo_hybrid, kinds=_olmo_kinds, state=_olmo_state),
    _Family(Spec(("bamba",), ("BambaForCausalLM",), TF.format("bamba"), qkv_bias="attention_bias",
                 o_bias="attention_bias", mixer_name="mamba", defaults={
                     'vocab_size': 128000, 'hidden_size': 4096, 'intermediate_size': 14336, 'num_hidden_layers': 32,
                     'num_attention_heads': 32, 'num_key_value_heads': 8, 'mamba_n_heads': 128, 'mamba_d_head': 64,
                     'mamba_n_groups': 1, 'mamba_d_state': 256, 'mamba_d_conv': 4, 'mamba_expand': 2,
                     'mamba_conv_bias': True, 'mamba_proj_bias': False, 'mlp_bias': False, **MLA_DEF}),
        _bamba, kinds=_bamba_types),
    _Family(Spec(("falcon_mamba",), ("FalconMambaForCausalLM",), TF.format("falcon_mamba"), tie=True, defaults={
        'vocab_size': 50280, 'hidden_size': 768, 'intermediate_size': 1536, 'num_hidden_layers': 32,
        'state_size': 16, 'expand': 2, 'conv_kernel': 4, 'use_bias': False, 'use_conv_bias': True,
        'time_step_rank': 48, 'tie_word_embeddings': True}),
        _falcon_mamba, kinds=lambda d: ["falcon_mamba"] * d.L, state=_falcon_mamba_state),
    _Family(Spec(("longcat_flash",), ("LongcatFlashForCausalLM",), TF.format("longcat_flash"), defaults={
        'vocab_size': 131072, 'hidden_size': 6144, 'num_layers': 28, 'num_attention_heads': 64,
        'num_key_value_heads': 64, 'ffn_hidden_size': 12288, 'q_lora_rank': 1536, 'kv_lora_rank': 512,
        'qk_nope_head_dim': 128, 'qk_rope_head_dim': 64, 'v_head_dim': 128, 'moe_topk': 12,
        'n_routed_experts': 512, 'zero_expert_num': 256, 'expert_ffn_hidden_size': 2048, **MLA_DEF}),
        _longcat, layout={"mtp": True}, kinds=lambda d: ["attention*2"] * d.L, names=_mtp_dot_from_names),
    _Family(Spec(("afmoe",), ("AfmoeForCausalLM",), TF.format("afmoe"), qk_norm="head", defaults={
        'vocab_size': 200192, 'hidden_size': 2048, 'intermediate_size': 6144, 'moe_intermediate_size': 1408,
        'num_hidden_layers': 32, 'num_dense_layers': 1, 'num_attention_heads': 16, 'num_key_value_heads': 16,
        'head_dim': 128, 'num_experts': 64, 'num_experts_per_tok': 6, 'num_shared_experts': 2, **MLA_DEF}),
        _afmoe),
    _Family(Spec(("mimo_v2_flash",), ("MiMoV2FlashForCausalLM",), TF.format("mimo_v2_flash"), defaults={
        'vocab_size': 152576, 'hidden_size': 4096, 'intermediate_size': 16384, 'num_hidden_layers': 48,
        'num_attention_heads': 64, 'num_key_value_heads': 4, 'moe_intermediate_size': 2048,
        'num_experts_per_tok': 8, 'n_routed_experts': 256, 'head_dim': 192, 'v_head_dim': 128, **MLA_DEF}),
        _mimo_v2, layout={"mtp": True}, kv=_mimo_kv, names=_mtp_dot_from_names),
    _Family(Spec(("dots1",), ("Dots1ForCausalLM",), TF.format("dots1"), qkv_bias="attention_bias",
                 o_bias="attention_bias", qk_norm="head", moe="experts", router_bias="gate",
                 router_bias_dtype=None, shared="shared_experts", defaults={
                     'vocab_size': 152064, 'hidden_size': 4608, 'intermediate_size': 10944,
                     'moe_intermediate_size': 1408, 'num_hidden_layers': 62, 'num_attention_heads': 32,
                     'num_key_value_heads': 32, 'first_k_dense_replace': 0, **MLA_DEF}),
        _moe_spec_tensors),
    _Family(Spec(("solar_open",), ("SolarOpenForCausalLM",), TF.format("solar_open"), qkv_bias="attention_bias",
                 o_bias="attention_bias", moe="experts", router_bias="gate", shared="shared_experts", defaults={
                     'vocab_size': 196608, 'hidden_size': 4096, 'num_hidden_layers': 48, 'num_attention_heads': 64,
                     'num_key_value_heads': 8, 'head_dim': 128, 'moe_intermediate_size': 1280,
                     'num_experts_per_tok': 8, 'n_shared_experts': 1, 'n_routed_experts': 128, **MLA_DEF}),
        _moe_spec_tensors),
    # second batch
    SpecFamily(Spec(("ministral3",), ("Ministral3ForCausalLM",), TF.format("ministral3"), defaults={
        'vocab_size': 131072, 'hidden_size': 4096, 'intermediate_size': 14336, 'num_hidden_layers': 34,
        'num_attention_heads': 32, 'num_key_value_heads': 8, 'head_dim': 128, 'tie_word_embeddings': False})),
    SpecFamily(Spec(("vaultgemma",), ("VaultGemmaForCausalLM",), TF.format("vaultgemma"), tie=True,
                    qkv_bias="attention_bias", o_bias="attention_bias",
                    norms=("input_layernorm", "pre_feedforward_layernorm"), defaults={
                        'vocab_size': 256000, 'hidden_size': 2304, 'intermediate_size': 9216, 'num_hidden_layers': 26,
                        'num_attention_heads': 8, 'num_key_value_heads': 4, 'head_dim': 256,
                        'tie_word_embeddings': True, 'attention_bias': False})),
    _Family(Spec(("youtu",), ("YoutuForCausalLM",), TF.format("youtu"), tie=True, defaults={
        'vocab_size': 128256, 'hidden_size': 2048, 'intermediate_size': 6144, 'num_hidden_layers': 32,
        'num_attention_heads': 16, 'num_key_value_heads': 16, 'kv_lora_rank': 512, 'q_lora_rank': 1536,
        'qk_rope_head_dim': 64, 'v_head_dim': 128, 'qk_nope_head_dim': 128, 'tie_word_embeddings': True,
        'attention_bias': False}),
        _mla_decoder, layout={"mtp": True}, names=_mtp_from_names),
    _Family(Spec(("granite_swa",), ("GraniteSWAForCausalLM",), TF.format("granite_swa"), tie=True,
                 qkv_bias="attention_bias", o_bias="attention_bias", mlp_bias="mlp_bias", defaults={
                     'vocab_size': 100352, 'hidden_size': 2560, 'intermediate_size': 8192, 'num_hidden_layers': 24,
                     'num_attention_heads': 20, 'num_key_value_heads': 4, 'tie_word_embeddings': True,
                     'attention_bias': False, 'mlp_bias': False}),
        _granite_swa),
    _Family(Spec(("granitemoe_swa",), ("GraniteMoeSWAForCausalLM",), TF.format("granitemoe_swa"),
                 qkv_bias="attention_bias", o_bias="attention_bias", defaults={
                     'vocab_size': 32000, 'hidden_size': 4096, 'intermediate_size': 11008, 'num_hidden_layers': 32,
                     'num_attention_heads': 32, 'num_key_value_heads': 32, 'num_local_experts': 8,
                     'num_experts_per_tok': 2, 'tie_word_embeddings': False, 'attention_bias': False}),
        _granite_swa),
    _Family(Spec(("hy_v3",), ("HYV3ForCausalLM",), TF.format("hy_v3"), qkv_bias="attention_bias",
                 o_bias="attention_bias", qk_norm="head", defaults={
                     'vocab_size': 120832, 'hidden_size': 4096, 'intermediate_size': 13312, 'num_hidden_layers': 80,
                     'num_attention_heads': 64, 'num_key_value_heads': 8, 'head_dim': 128, 'num_experts': 192,
                     'num_experts_per_tok': 8, 'num_shared_experts': 1, 'moe_intermediate_size': 1536,
                     'tie_word_embeddings': False, 'attention_bias': False, 'mlp_bias': False}),
        _hy_v3),
    _Family(Spec(("laguna",), ("LagunaForCausalLM",), TF.format("laguna"), defaults={
        'vocab_size': 100352, 'hidden_size': 2048, 'intermediate_size': 8192, 'num_hidden_layers': 40,
        'num_attention_heads': 48, 'num_key_value_heads': 8, 'head_dim': 128, 'num_experts': 256,
        'num_experts_per_tok': 8, 'moe_intermediate_size': 512, 'shared_expert_intermediate_size': 512,
        'tie_word_embeddings': False, 'attention_bias': False}),
        _laguna),
    _Family(Spec(("lfm3",), ("Lfm3ForCausalLM",), TF.format("lfm3"), tie=True, defaults={
        'vocab_size': 128000, 'hidden_size': 2048, 'intermediate_size': 7680, 'num_hidden_layers': 24,
        'num_attention_heads': 16, 'num_key_value_heads': 4, 'head_dim': 128, 'tie_word_embeddings': True,
        'conv_bias': False, 'conv_L_cache': 7}),
        _lfm3, kinds=lambda d: ["short_conv" if t == "conv" else "attention" for t in _lfm3_types(d)]),
    _Family(Spec(("cohere2_moe",), ("Cohere2MoeForCausalLM",), TF.format("cohere2_moe"), tie=True,
                 qkv_bias="attention_bias", o_bias="attention_bias", defaults={
                     'vocab_size': 256000, 'hidden_size': 8192, 'intermediate_size': 22528, 'num_hidden_layers': 40,
                     'num_attention_heads': 64, 'head_dim': 128, 'num_experts': 8, 'num_experts_per_tok': 2,
                     'num_shared_experts': 0, 'tie_word_embeddings': True, 'attention_bias': False}),
        _cohere2_moe),
]
MODEL_TYPES = ()
