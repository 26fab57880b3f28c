"""Gemma 4 (``Gemma4ForConditionalGeneration``, model_type gemma4; ``Gemma4ForCausalLM``, gemma4_text).

Text model (``model.language_model.*``, or ``model.*`` for the causal LM), per layer: a ``layer_scalar`` buffer
(1,), q/k/v/o with per-head q/k norms (the v norm has no weight), a gated MLP, Gemma's four norms and, where
``hidden_size_per_layer_input`` is non-zero (E2B/E4B), the per-layer-input gate/projection/norm. Layer shapes
differ by attention kind: ``full_attention`` layers use ``global_head_dim`` (512 unless given) and, when
``attention_k_eq_v``, ``num_global_key_value_heads`` K/V heads and no ``v_proj`` (V is read from K). A config
written by transformers 5.23 states the same thing as ``per_layer_config`` (``{"04": {"head_dim": 512}, ...}``).
MoE (``enable_moe_block``, 26B-A4B): every layer keeps the dense MLP and adds ``router`` (proj (E, H), scale (H),
per_expert_scale (E)), fused ``experts`` (gate_up_proj (E, 2*moe_intermediate_size, H), down_proj (E, H, MI)) and
three more norms. ``use_double_wide_mlp`` (E2B) doubles the MLP width of the KV-shared layers. Top level:
``embed_tokens``, ``norm``, and with per-layer inputs ``embed_tokens_per_layer`` (vocab_size_per_layer_input x
L*hidden_size_per_layer_input), its model projection and norm. Tied head by default.

KV sharing (``num_kv_shared_layers``): the last layers reuse the K/V of the last earlier layer of their attention
kind. transformers 5 builds no k/v projections or k norm for them but lists exactly those names in
``_keys_to_ignore_on_load_unexpected``; the Hub's E2B/E4B files carry them (layout ``kv_shared_weights``, default
True, as for Gemma 3n; ``{"kv_shared_weights": False}`` is what transformers 5 writes).

Vision tower (``model.vision_tower.*``, when ``vision_config`` is given): a linear patch embedder (3 x patch^2 ->
hidden) with a (2, position_embedding_size, hidden) position table, pre/post-norm encoder layers whose linears are
``Gemma4ClippableLinear`` (``<name>.linear.weight``, plus four scalar clip bounds ``input_min/input_max/
output_min/output_max`` when ``use_clipped_linears``), q/k norms, and ``std_bias``/``std_scale`` when
``standardize``. Audio tower (``model.audio_tower.*``, when ``audio_config`` is given): a two-conv subsampler, USM
conformer layers (two FFNs, chunked attention with relative keys and per_dim_scale, light conv), an output
projection with bias. Each tower has an embedder (``model.embed_vision`` / ``model.embed_audio``): one projection
to the text width (its pre-norm has no weight).

Checked against transformers 5.23's meta-device build (fixtures/oracle/google__gemma-4-* and
transformers__gemma4_text). gemma4_assistant (the MTP drafter) and gemma4_unified have no rules here.
"""

from __future__ import annotations

from ...classify import ATTENTION, AUDIO, EMBEDDING, EXPERTS, LM_HEAD, MLP, NORM, OTHER, PROJECTOR, ROUTER, VISION
from ..engine import PredictionError, linear, norm
from .defaults import DEFAULTS as _CLASS_DEFAULTS
from .multimodal import text_dims

#: Gemma4TextConfig() defaults (transformers 5.23) for the fields read here; ``global_head_dim`` is an init
#: argument of the class (512 unless given), not a field
TEXT_DEFAULTS = {**_CLASS_DEFAULTS["gemma4_text"], "global_head_dim": 512}
#: Gemma4VisionConfig() / Gemma4AudioConfig() defaults
VISION_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 16, "num_attention_heads": 12,
                   "num_key_value_heads": 12, "head_dim": 64, "patch_size": 16, "position_embedding_size": 10240,
                   "use_clipped_linears": False, "standardize": False}
AUDIO_DEFAULTS = {"hidden_size": 1024, "num_hidden_layers": 12, "num_attention_heads": 8,
                  "subsampling_conv_channels": [128, 32], "conv_kernel_size": 5, "use_clipped_linears": True,
                  "output_proj_dims": 1536}
CLIP_BOUNDS = ("input_min", "input_max", "output_min", "output_max")


def _num(v, key, lo=1):
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or v > 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {key}")
    return v


class _Cfg:
    """A (sub-)config dict with defaults; every number read is checked."""

    def __init__(self, raw: dict | None, defaults: dict, where: str):
        self.raw = {**defaults, **{k: v for k, v in (raw or {}).items() if v is not None}}
        self.where = where

    def int(self, key, lo=1):
        return _num(self.raw.get(key), f"{self.where}{key}", lo)

    def flag(self, key) -> bool:
        return bool(self.raw.get(key))


def _text_cfg(c) -> _Cfg:
    return _Cfg(c.raw, TEXT_DEFAULTS, "")


def layer_types(t: _Cfg) -> list[str]:
    """Gemma4TextConfig.__post_init__: 5 sliding layers then 1 full unless ``layer_types`` says; the last layer is
    always full."""
    L = t.int("num_hidden_layers")
    lt = t.raw.get("layer_types")
    if isinstance(lt, list) and len(lt) == L and all(isinstance(x, str) for x in lt):
        out = list(lt)
    else:
        out = ["sliding_attention" if (i + 1) % 6 else "full_attention" for i in range(L)]
    if out:
        out[-1] = "full_attention"
    return out


def layer_attention(t: _Cfg) -> list[tuple[int, int]]:
    """(K/V heads, head_dim) of each layer: ``per_layer_config`` when given (transformers 5.23's own writing),
    else full-attention layers take ``global_head_dim`` and, with ``attention_k_eq_v``,
    ``num_global_key_value_heads``."""
    kinds = layer_types(t)
    kv, hd = t.int("num_key_value_heads"), t.int("head_dim")
    plc = t.raw.get("per_layer_config")
    out = [(kv, hd)] * len(kinds)
    if isinstance(plc, dict):
        for k, ov in plc.items():
            try:
                i = int(k)
            except (TypeError, ValueError):
                continue
            if 0 <= i < len(out) and isinstance(ov, dict):
                out[i] = (_num(ov.get("num_key_value_heads", kv), "per_layer_config num_key_value_heads"),
                          _num(ov.get("head_dim", hd), "per_layer_config head_dim"))
        return out
    ghd = t.int("global_head_dim")
    gkv = t.raw.get("num_global_key_value_heads") if t.flag("attention_k_eq_v") else None
    gkv = _num(gkv, "num_global_key_value_heads") if gkv is not None else kv
    return [(gkv, ghd) if k == "full_attention" else (kv, hd) for k in kinds]


def kv_shared_from(t: _Cfg) -> int:
    """Index of the first layer that reuses another layer's K/V (L when none does)."""
    L = t.int("num_hidden_layers")
    shared = t.int("num_kv_shared_layers", 0)
    if shared >= L:
        raise PredictionError("num_kv_shared_layers leaves no layer to compute K/V")
    return L - shared


def text_tensors(c, p: str, tied: bool, kv_shared_weights: bool):
    t = _text_cfg(c)
    H, L, V = t.int("hidden_size"), t.int("num_hidden_layers"), t.int("vocab_size")
    nh, I = t.int("num_attention_heads"), t.int("intermediate_size")
    ple = t.int("hidden_size_per_layer_input", 0)
    bias = t.flag("attention_bias")
    kinds, att = layer_types(t), layer_attention(t)
    first_shared = kv_shared_from(t)
    k_eq_v = t.flag("attention_k_eq_v")
    moe = t.flag("enable_moe_block")
    if moe:
        E, MI = t.int("num_experts"), t.int("moe_intermediate_size")
    yield p + "embed_tokens.weight", (V, H), EMBEDDING, None
    for i in range(L):
        q = f"{p}layers.{i}."
        kv, hd = att[i]
        shared = i >= first_shared
        yield q + "layer_scalar", (1,), OTHER, None
        yield from linear(q + "self_attn.q_proj", nh * hd, H, ATTENTION, bias)
        yield from norm(q + "self_attn.q_norm", hd, NORM)
        if not shared or kv_shared_weights:
            yield from norm(q + "self_attn.k_norm", hd, NORM)
            yield from linear(q + "self_attn.k_proj", kv * hd, H, ATTENTION, bias)
            if not (k_eq_v and kinds[i] != "sliding_attention"):
                yield from linear(q + "self_attn.v_proj", kv * hd, H, ATTENTION, bias)
        yield from linear(q + "self_attn.o_proj", H, nh * hd, ATTENTION, bias)
        w = I * 2 if shared and t.flag("use_double_wide_mlp") else I
        yield from linear(q + "mlp.gate_proj", w, H, MLP)
        yield from linear(q + "mlp.up_proj", w, H, MLP)
        yield from linear(q + "mlp.down_proj", H, w, MLP)
        for nm in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                   "post_feedforward_layernorm"):
            yield from norm(q + nm, H, NORM)
        if ple:
            yield from linear(q + "per_layer_input_gate", ple, H, OTHER)
            yield from linear(q + "per_layer_projection", H, ple, OTHER)
            yield from norm(q + "post_per_layer_input_norm", H, NORM)
        if moe:
            yield q + "router.scale", (H,), ROUTER, None
            yield q + "router.per_expert_scale", (E,), ROUTER, None
            yield q + "router.proj.weight", (E, H), ROUTER, None
            yield q + "experts.gate_up_proj", (E, 2 * MI, H), EXPERTS, None
            yield q + "experts.down_proj", (E, H, MI), EXPERTS, None
            for nm in ("post_feedforward_layernorm_1", "post_feedforward_layernorm_2", "pre_feedforward_layernorm_2"):
                yield from norm(q + nm, H, NORM)
    yield from norm(p + "norm", H, NORM)
    if ple:
        yield p + "embed_tokens_per_layer.weight", (t.int("vocab_size_per_layer_input"), L * ple), EMBEDDING, None
        yield from linear(p + "per_layer_model_projection", L * ple, H, OTHER)
        yield from norm(p + "per_layer_projection_norm", ple, NORM)
    if not tied:
        yield "lm_head.weight", (V, H), LM_HEAD, None


def _clippable(p: str, out_f: int, in_f: int, comp: str, clipped: bool):
    """Gemma4ClippableLinear: the scalar clip bounds (buffers, saved) then ``linear.weight``."""
    if clipped:
        for b in CLIP_BOUNDS:
            yield f"{p}.{b}", (), comp, None
    yield from linear(p + ".linear", out_f, in_f, comp)


def vision_tower(p: str, raw: dict | None):
    v = _Cfg(raw, VISION_DEFAULTS, "vision_config.")
    H, I, ps = v.int("hidden_size"), v.int("intermediate_size"), v.int("patch_size")
    nh, kv, hd = v.int("num_attention_heads"), v.int("num_key_value_heads"), v.int("head_dim")
    clip = v.flag("use_clipped_linears")
    if v.flag("standardize"):
        yield p + "std_bias", (H,), VISION, None
        yield p + "std_scale", (H,), VISION, None
    yield p + "patch_embedder.position_embedding_table", (2, v.int("position_embedding_size"), H), VISION, None
    yield from linear(p + "patch_embedder.input_proj", H, 3 * ps * ps, VISION)
    for i in range(v.int("num_hidden_layers")):
        q = f"{p}encoder.layers.{i}."
        yield from _clippable(q + "self_attn.q_proj", nh * hd, H, VISION, clip)
        yield from _clippable(q + "self_attn.k_proj", kv * hd, H, VISION, clip)
        yield from _clippable(q + "self_attn.v_proj", kv * hd, H, VISION, clip)
        yield from _clippable(q + "self_attn.o_proj", H, nh * hd, VISION, clip)
        yield from norm(q + "self_attn.q_norm", hd, VISION)
        yield from norm(q + "self_attn.k_norm", hd, VISION)
        yield from _clippable(q + "mlp.gate_proj", I, H, VISION, clip)
        yield from _clippable(q + "mlp.up_proj", I, H, VISION, clip)
        yield from _clippable(q + "mlp.down_proj", H, I, VISION, clip)
        for nm in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                   "post_feedforward_layernorm"):
            yield from norm(q + nm, H, VISION)


def audio_tower(p: str, raw: dict | None):
    a = _Cfg(raw, AUDIO_DEFAULTS, "audio_config.")
    H, nh = a.int("hidden_size"), a.int("num_attention_heads")
    ch = a.raw.get("subsampling_conv_channels")
    if not isinstance(ch, list) or len(ch) != 2:
        raise PredictionError("audio_config gives no usable subsampling_conv_channels (two channel counts)")
    c0, c1 = (_num(x, "audio_config.subsampling_conv_channels") for x in ch)
    clip, k = a.flag("use_clipped_linears"), a.int("conv_kernel_size")
    hd = H // nh
    s = p + "subsample_conv_projection."
    yield s + "layer0.conv.weight", (c0, 1, 3, 3), AUDIO, None
    yield s + "layer0.norm.weight", (c0,), AUDIO, None
    yield s + "layer1.conv.weight", (c1, c0, 3, 3), AUDIO, None
    yield s + "layer1.norm.weight", (c1,), AUDIO, None
    yield from linear(s + "input_proj_linear", H, (c0 // 4) * c1, AUDIO)
    for i in range(a.int("num_hidden_layers")):
        q = f"{p}layers.{i}."
        for ff in ("feed_forward1", "feed_forward2"):
            yield from _clippable(f"{q}{ff}.ffw_layer_1", 4 * H, H, AUDIO, clip)
            yield from _clippable(f"{q}{ff}.ffw_layer_2", H, 4 * H, AUDIO, clip)
            yield from norm(f"{q}{ff}.pre_layer_norm", H, AUDIO)
            yield from norm(f"{q}{ff}.post_layer_norm", H, AUDIO)
        yield q + "self_attn.per_dim_scale", (hd,), AUDIO, None
        for nm in ("q_proj", "k_proj", "v_proj"):
            yield from _clippable(q + "self_attn." + nm, nh * hd, H, AUDIO, clip)
        yield from _clippable(q + "self_attn.post", H, H, AUDIO, clip)
        yield from linear(q + "self_attn.relative_k_proj", nh * hd, H, AUDIO)
        yield from _clippable(q + "lconv1d.linear_start", 2 * H, H, AUDIO, clip)
        yield from _clippable(q + "lconv1d.linear_end", H, H, AUDIO, clip)
        yield q + "lconv1d.depthwise_conv1d.weight", (H, 1, k), AUDIO, None
        yield from norm(q + "lconv1d.pre_layer_norm", H, AUDIO)
        yield from norm(q + "lconv1d.conv_norm", H, AUDIO)
        for nm in ("norm_pre_attn", "norm_post_attn", "norm_out"):
            yield from norm(q + nm, H, AUDIO)
    yield from linear(p + "output_proj", a.int("output_proj_dims"), H, AUDIO, True)


def _shared_layout(c, names, prefix: str) -> dict:
    """Whether the KV-shared layers' K/V weights are stored (Hub files) or dropped (transformers 5 re-saves)."""
    t = _text_cfg(c)
    try:
        first = kv_shared_from(t)
        L = t.int("num_hidden_layers")
    except PredictionError:
        return {}
    if first >= L or not any(n.startswith(prefix + "layers.") for n in names):
        return {}
    return {"kv_shared_weights": f"{prefix}layers.{L - 1}.self_attn.k_proj.weight" in set(names)}


class Gemma4:
    MODEL_TYPES = ("gemma4",)
    ARCHITECTURES = ("Gemma4ForConditionalGeneration",)
    TIE_DEFAULT = True
    DEFAULT_DTYPE = "F32"
    DEFAULTS = _CLASS_DEFAULTS["gemma4_text"]
    SOURCE = ("transformers 5.23 meta-device build (fixtures/oracle/google__gemma-4-*: E2B, E4B with vision + "
              "audio, 31B dense and 26B-A4B MoE with vision)")

    def default_layout(self, c):
        return {"kv_shared_weights": True}

    def layout_from_names(self, c, names) -> dict:
        return _shared_layout(c, names, "model.language_model.")

    def layer_kinds(self, d):
        return ["attention"] * (d.L or 0)

    def kv_shapes(self, d):
        """(K/V heads, K head dim, V head dim) per layer for the memory planner: full-attention layers differ
        (global_head_dim, num_global_key_value_heads). V is cached apart from K even when ``attention_k_eq_v``."""
        return [(kv, hd, hd) for kv, hd in layer_attention(_text_cfg(d.c))]

    def tensors(self, d, layout):
        c = d.c
        td = text_dims(c, d, self, "gemma4_text", self.TIE_DEFAULT)
        H = _text_cfg(c).int("hidden_size")
        if c.vision_config is not None:
            yield from vision_tower("model.vision_tower.", c.vision_config)
        yield from text_tensors(c, "model.language_model.", td.tied, layout.get("kv_shared_weights", True))
        if c.audio_config is not None:
            yield from audio_tower("model.audio_tower.", c.audio_config)
        if c.vision_config is not None:
            vh = _Cfg(c.vision_config, VISION_DEFAULTS, "vision_config.").int("hidden_size")
            yield from linear("model.embed_vision.embedding_projection", H, vh, PROJECTOR)
        if c.audio_config is not None:
            ah = _Cfg(c.audio_config, AUDIO_DEFAULTS, "audio_config.").int("output_proj_dims")
            yield from linear("model.embed_audio.embedding_projection", H, ah, PROJECTOR)


class Gemma4Text(Gemma4):
    """The text model alone (``Gemma4ForCausalLM``, model_type gemma4_text): ``model.*`` + ``lm_head``."""

    MODEL_TYPES = ("gemma4_text",)
    ARCHITECTURES = ("Gemma4ForCausalLM",)
    SOURCE = "transformers 5.23 meta-device build (fixtures/oracle/transformers__gemma4_text)"

    def layout_from_names(self, c, names) -> dict:
        return _shared_layout(c, names, "model.")

    def tensors(self, d, layout):
        tie = d.c.get("tie_word_embeddings")
        d.tied = tie if isinstance(tie, bool) else True
        yield from text_tensors(d.c, "model.", d.tied, layout.get("kv_shared_weights", True))


FAMILY_LIST = [Gemma4(), Gemma4Text()]
