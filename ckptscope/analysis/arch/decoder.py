"""The generic decoder: one engine for every family whose layers are built from the same parts (attention or
state-space mixer, dense or MoE feed-forward, a few norms), described by a :class:`Spec` of table values.

A spec names the parts and their options; the engine yields tensors in the family format of ``engine.py``. Which
layer is MoE, attention or state-space is decided from the config's own keys by :mod:`.schedule`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..classify import ATTENTION, EMBEDDING, EXPERTS, LM_HEAD, MLP, MTP, NORM, OTHER, ROUTER, SHARED
from .engine import PredictionError, glu_mlp, linear, norm
from .schedule import layer_plan


@dataclass(frozen=True)
class Spec:
    """One family, as data. Option values are a bool, a config key (its truth value), or (key, default)."""

    model_types: tuple[str, ...]
    architectures: tuple[str, ...] = ()
    source: str = ""  #: what the rules were checked against
    tie: bool = False  #: transformers' default for tie_word_embeddings
    defaults: dict = field(default_factory=dict)  #: transformers' config defaults for the fields read here
    dtype: str = "F32"
    root: str = "model."  #: prefix of the decoder stack
    embed: str = "embed_tokens"
    final_norm: str = "norm"
    layers: str = "layers"
    head_bias: object = False
    # attention
    attn: str = "self_attn"
    qkv_bias: object = False
    o_bias: object = False
    qkv: str = "split"  #: split q/k/v, "fused" (one qkv_proj) or "mla" (DeepSeek latent attention)
    qk_norm: str | None = None  #: None | "head" (head_dim) | "full" (heads*head_dim) | "head2d" (heads, head_dim)
    qk_norm_on: object = True
    qk_names: tuple[str, str] = ("q_norm", "k_norm")
    o_name: str = "o_proj"
    q_gate: bool = False  #: q_proj also produces an output gate (Qwen3-Next): 2 x heads x head_dim rows
    # feed-forward
    mlp: str = "glu"  #: glu (gate/up/down) | fused (gate_up_proj/down_proj) | fc (c_fc/c_proj) | updown
    mlp_name: str = "mlp"
    mlp_bias: object = False
    dense_inter: str = "intermediate_size"  #: field of the dense MLP width
    # norms: names of the per-layer norms (width hidden_size), and whether they carry a bias
    norms: tuple[str, ...] = ("input_layernorm", "post_attention_layernorm")
    norm_bias: object = False
    parallel_norms: tuple[str, ...] | None = None  #: the norms when ``use_parallel_residual`` is true
    # MoE (None: dense family)
    moe: str | None = None  #: experts (mlp.experts.j.*, mlp.gate) | mixtral (block_sparse_moe w1/w2/w3) |
    #: fused (experts.gate_up_proj/down_proj 3-D) | llama4
    moe_name: str | None = None  #: module name of the MoE block (defaults to mlp_name)
    router: str = "gate"
    router_bias: str | None = None  #: e_score_correction_bias placement: "gate" (mlp.gate.e_score...) | "block" | None
    router_bias_dtype: str | None = "F32"
    router_dtype: str | None = None  #: None: the checkpoint dtype; "F32" where the model keeps the router in fp32
    shared: str | None = None  #: shared_expert (qwen: one, + shared_expert_gate) | shared_experts (deepseek)
    shared_inter: str | None = None  #: config key of the shared-expert width (else n_shared_experts x moe width)
    expert_names: tuple[str, str, str] = ("gate_proj", "up_proj", "down_proj")
    moe_inter: str = "moe_intermediate_size"
    hybrid: bool = False  #: layers may be recurrent mixers (schedule.mixer_kinds)
    recurrent: str | None = None  #: the recurrent mixer kind (mixers.py): gated_deltanet, mamba, mamba2
    mixer_name: str | None = None  #: module name of the recurrent mixer (default: mixers.py's)
    deltanet_split: bool = False  #: gated DeltaNet with in_proj_qkv / in_proj_z / in_proj_b / in_proj_a (Qwen3.5)
    #: instead of Qwen3-Next's in_proj_qkvz / in_proj_ba
    mamba_norms: bool = False  #: Jamba's dt/B/C layernorms inside the Mamba mixer
    mamba_rms_norm: bool = True  #: Mamba-2 gated norm present unless the config says mamba_rms_norm false
    extra: object = None  #: optional callable(d, s, layout) yielding extra tensors after the stack (MTP)
    mtp: str | None = None  #: MTP layers real checkpoints carry (transformers does not build them): "deepseek"
    #: (model.layers.<L+k>: embed_tokens, enorm, hnorm, eh_proj, a decoder layer, shared_head) | "qwen3_next" (mtp.*)


def opt(d, v) -> bool:
    """A spec option: a bool, a config key, or (key, default)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, tuple):
        x = d.get(v[0])
        return bool(v[1] if x is None else x)
    return bool(d.get(v)) if isinstance(v, str) else bool(v)


def _int(d, key, default=None) -> int:
    v = d.get(key)
    v = default if v is None else v
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v > 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {key}")
    return v


def attention(p: str, d, s: Spec, comp=ATTENTION, nrm=NORM):
    qb, ob = opt(d, s.qkv_bias), opt(d, s.o_bias)
    H, q, kv = d.H, d.nh * d.hd, d.kv * d.hd
    a = f"{p}.{s.attn}"
    if s.qkv == "mla":  # DeepSeek multi-head latent attention (low-rank q and compressed kv)
        from .families.text_more import mla

        yield from mla(a, d)
        return
    if s.qkv == "fused":
        yield from linear(a + ".qkv_proj", q + 2 * kv, H, comp, qb)
    else:
        yield from linear(a + ".q_proj", 2 * q if s.q_gate else q, H, comp, qb)
        yield from linear(a + ".k_proj", kv, H, comp, qb)
        yield from linear(a + ".v_proj", kv, H, comp, qb)
    yield from linear(f"{a}.{s.o_name}", H, q, comp, ob)
    if s.qk_norm and opt(d, s.qk_norm_on):
        qn, kn = s.qk_names
        if s.qk_norm == "head":
            yield from norm(f"{a}.{qn}", d.hd, nrm)
            yield from norm(f"{a}.{kn}", d.hd, nrm)
        elif s.qk_norm == "perhead":  # StableLM 2: one LayerNorm (no bias) per head
            for h in range(d.nh):
                yield f"{a}.q_layernorm.norms.{h}.weight", (d.hd,), nrm, None
            for h in range(d.kv):
                yield f"{a}.k_layernorm.norms.{h}.weight", (d.hd,), nrm, None
        elif s.qk_norm == "full":
            yield from norm(f"{a}.{qn}", q, nrm)
            yield from norm(f"{a}.{kn}", kv, nrm)
        else:  # head2d: one norm per head (Cohere)
            yield f"{a}.{qn}.weight", (d.nh, d.hd), nrm, None
            yield f"{a}.{kn}.weight", (d.kv, d.hd), nrm, None


def dense_mlp(p: str, d, s: Spec, width: int, comp=MLP, style: str | None = None):
    b = opt(d, s.mlp_bias)
    style = style or s.mlp
    m = f"{p}.{s.mlp_name}"
    if style == "glu":
        yield from glu_mlp(m, d.H, width, comp, b)
    elif style == "fused":
        yield from linear(m + ".gate_up_proj", 2 * width, d.H, comp, b)
        yield from linear(m + ".down_proj", d.H, width, comp, b)
    elif style == "fc":
        yield from linear(m + ".c_fc", width, d.H, comp, b)
        yield from linear(m + ".c_proj", d.H, width, comp, b)
    elif style == "updown":
        yield from linear(m + ".up_proj", width, d.H, comp, b)
        yield from linear(m + ".down_proj", d.H, width, comp, b)
    else:
        raise PredictionError(f"unknown MLP style {style}")


def moe_block(p: str, d, s: Spec):
    E, H = d.E, d.H
    MI = _int(d, s.moe_inter) if s.moe != "mixtral" or d.get(s.moe_inter) else _int(d, "intermediate_size")
    m = f"{p}.{s.moe_name or s.mlp_name}"
    if s.moe == "llama4":
        yield m + ".experts.gate_up_proj", (E, H, 2 * MI), EXPERTS, None
        yield m + ".experts.down_proj", (E, MI, H), EXPERTS, None
        yield m + ".router.weight", (E, H), ROUTER, None
        yield from glu_mlp(m + ".shared_expert", H, MI, SHARED)
        return
    yield f"{m}.{s.router}.weight", (E, H), ROUTER, s.router_dtype
    if s.router_bias == "statics":  # ERNIE 4.5: moe_statics.e_score_correction_bias (1, experts)
        yield m + ".moe_statics.e_score_correction_bias", (1, E), ROUTER, s.router_bias_dtype
    elif s.router_bias and d.get("topk_method", "noaux_tc") in ("noaux_tc", None):
        where = f"{m}.{s.router}" if s.router_bias == "gate" else m
        yield where + ".e_score_correction_bias", (E,), ROUTER, s.router_bias_dtype
    if s.moe == "fused":
        yield m + ".experts.gate_up_proj", (E, 2 * MI, H), EXPERTS, None
        yield m + ".experts.down_proj", (E, H, MI), EXPERTS, None
    elif s.moe == "mixtral":
        for j in range(E):
            e = f"{m}.experts.{j}"
            yield from linear(e + ".w1", MI, H, EXPERTS)
            yield from linear(e + ".w2", H, MI, EXPERTS)
            yield from linear(e + ".w3", MI, H, EXPERTS)
    else:
        for j in range(E):
            yield from glu_mlp(f"{m}.experts.{j}", H, MI, EXPERTS, names=s.expert_names)
    if s.shared:
        if s.shared_inter:
            si = d.get(s.shared_inter)
        else:
            n = d.get("n_shared_experts") or d.get("num_shared_experts") or d.get("moe_num_shared_experts") or 0
            si = MI * int(n) if n else 0
        if si:
            yield from glu_mlp(f"{m}.{s.shared}", H, int(si), SHARED, names=s.expert_names)
            if s.shared == "shared_expert":
                yield from linear(m + ".shared_expert_gate", 1, H, ROUTER, kind=None)


def decoder_layer(d, s: Spec, i: int, mixer: str, ffn: str, layout):
    p = f"{s.root}{s.layers}.{i}"
    if mixer == "attention":
        yield from attention(p, d, s)
    elif mixer != "none":  # (a Nemotron-H style block may be a feed-forward alone)
        from .mixers import mixer as _mixer

        yield from _mixer(p, d, s, mixer)
    if ffn == "moe":
        yield from moe_block(p, d, s)
    elif ffn == "dense":
        yield from dense_mlp(p, d, s, _int(d, s.dense_inter, d.I))
    nb = opt(d, s.norm_bias)
    for n in (s.parallel_norms if s.parallel_norms is not None and d.get("use_parallel_residual") else s.norms):
        yield from norm(f"{p}.{n}", d.H, NORM, nb)


def tensors(s: Spec, d, layout, plan: list[tuple[str, str]] | None = None):
    """The whole stack; ``plan`` ((mixer, ffn) per layer) overrides the spec's own schedule."""
    d.layout = layout
    d.need("H", "L", "V")
    if s.model_types[0] not in ("mamba", "mamba2"):
        d.need("nh", "kv", "hd")
    yield f"{s.root}{s.embed}.weight", (d.V, d.H), EMBEDDING, None
    for i, (mixer, ffn) in enumerate(plan if plan is not None else layer_plan(d, s)):
        yield from decoder_layer(d, s, i, mixer, ffn, layout)
    yield from norm(f"{s.root}{s.final_norm}", d.H, NORM, opt(d, s.norm_bias))
    if not d.tied:
        yield from linear("lm_head", d.V, d.H, LM_HEAD, opt(d, s.head_bias), kind=None)
    if s.mtp and layout.get("mtp", True):
        yield from mtp_layers(s, d, layout.get("mtp_copies", True))
    if s.extra is not None:
        yield from s.extra(d, s, layout)


def _as_mtp(gen):
    from ..classify import MTP, QUANT

    for name, shape, comp, kind in gen:
        yield name, shape, comp if comp == QUANT else MTP, kind


def mtp_count(d, s) -> int:
    n = d.get("mtp_num_hidden_layers") if s.mtp == "qwen3_next" else d.get("num_nextn_predict_layers")
    return n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 64 else 0


def mtp_layers(s: Spec, d, copies: bool = True):
    """The multi-token-prediction layers Hub checkpoints store after the main stack. ``copies``: whether a
    DeepSeek-layout MTP layer stores its own embed_tokens and shared_head.head (DeepSeek-V3, GLM-4.5/4.7 do;
    GLM-4.6's Hub checkpoint does not: its total is GLM-4.5's less 2 x vocab x hidden)."""
    n = mtp_count(d, s)
    H, V = d.H, d.V
    if s.mtp == "qwen3_next":  # Qwen3-Next: mtp.fc (H x 2H), two pre-norms, full-attention MoE layer(s), norm
        if not n:
            return
        yield from _as_mtp(linear("mtp.fc", H, 2 * H, MTP))
        yield from _as_mtp(norm("mtp.pre_fc_norm_embedding", H, NORM))
        yield from _as_mtp(norm("mtp.pre_fc_norm_hidden", H, NORM))
        ms = Spec(s.model_types, root="mtp.", qk_norm=s.qk_norm, q_gate=s.q_gate, moe=s.moe, shared=s.shared,
                  shared_inter=s.shared_inter)
        for k in range(n):
            yield from _as_mtp(decoder_layer(d, ms, k, "attention", "moe" if d.E else "dense", {}))
        yield from _as_mtp(norm("mtp.norm", H, NORM))
        return
    for k in range(d.L, d.L + n):  # DeepSeek-V3 layout (GLM-4.5 uses it too)
        p = f"{s.root}{s.layers}.{k}"
        if copies:
            yield p + ".embed_tokens.weight", (V, H), MTP, None
        yield from _as_mtp(norm(p + ".enorm", H, NORM))
        yield from _as_mtp(norm(p + ".hnorm", H, NORM))
        yield p + ".eh_proj.weight", (H, 2 * H), MTP, None
        yield from _as_mtp(decoder_layer(d, s, k, "attention", "moe" if s.moe and d.E else "dense", {}))
        yield from _as_mtp(norm(p + ".shared_head.norm", H, NORM))
        if copies:
            yield p + ".shared_head.head.weight", (V, H), MTP, None


class SpecFamily:
    """A :class:`Spec` seen through the family-module interface the engine uses."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.MODEL_TYPES = spec.model_types
        self.ARCHITECTURES = spec.architectures
        self.TIE_DEFAULT = spec.tie
        self.DEFAULT_DTYPE = spec.dtype
        if spec.defaults:
            self.DEFAULTS = spec.defaults
        else:
            from .families.defaults import DEFAULTS

            self.DEFAULTS = DEFAULTS.get(spec.model_types[0], {})
        self.SOURCE = spec.source

    def tensors(self, d, layout):
        return tensors(self.spec, d, layout)

    def default_layout(self, c) -> dict:
        return {"mtp": True} if self.spec.mtp else {}

    def layout_from_names(self, c, names) -> dict:
        s = self.spec
        if not s.mtp:
            return {}
        if s.mtp == "qwen3_next":
            return {"mtp": any(n.startswith("mtp.") for n in names)}
        L = c.num_hidden_layers
        p = f"{s.root}{s.layers}.{L}."
        mtp = any(n.startswith(p) for n in names)
        out = {"mtp": mtp}
        if mtp:  # the MTP layer's own copies of the embedding and head may be left out (GLM-4.6)
            out["mtp_copies"] = any(n.startswith(p + "embed_tokens.") or n.startswith(p + "shared_head.head.")
                                    for n in names)
        return out


__all__ = ["Spec", "SpecFamily", "attention", "dense_mlp", "moe_block", "opt", "OTHER"]


class CustomFamily(SpecFamily):
    """A family written as a generator ``fn(spec, d, layout)`` yielding (name, shape, component, kind), with
    optional ``default_layout(config)`` and ``layout_from_names(config, names)`` functions."""

    def __init__(self, spec, fn, default_layout=None, layout_from_names=None):
        super().__init__(spec)
        self._fn = fn
        if default_layout is not None:
            self.default_layout = default_layout
        if layout_from_names is not None:
            self.layout_from_names = layout_from_names

    def tensors(self, d, layout):
        return self._fn(self.spec, d, layout)
