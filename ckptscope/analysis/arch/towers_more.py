"""More vision towers and projectors (components ``vision_tower`` / ``projector``): GLM-4V, DeepSeek-VL's
aligner, DeepSeek-VL-Hybrid's SAM encoder.

Each reads its own config dict over transformers 5.23's config-class defaults (passed in by the family) and
yields tensors in the family format of ``engine.py`` under a prefix the family chooses.
"""

from __future__ import annotations

from ..classify import PROJECTOR, VISION
from .engine import glu_mlp, linear, norm
from .vision_towers import Cfg

V = VISION
P = PROJECTOR

#: Glm4vVisionConfig() (transformers 5.23; documents THUDM/GLM-4.1V-9B-Thinking); Glm4vMoeVisionConfig() is equal
GLM4V_VISION = {"depth": 24, "hidden_size": 1536, "intermediate_size": 13696, "image_size": 336, "patch_size": 14,
                "in_channels": 3, "out_hidden_size": 4096, "spatial_merge_size": 2, "temporal_patch_size": 2,
                "attention_bias": False}


def glm4v_vision(p: str, raw: dict | None):
    """GLM-4V's vision transformer (``Glm4vVisionModel``): learned positions for (image/patch)^2 patches, a 3-D
    conv patch embedding with bias, RMS-norm blocks (fused qkv, bias per ``attention_bias``; bias-free proj and a
    SwiGLU MLP of width ``out_hidden_size``), then post-conv norm, a strided conv ``downsample`` to the text width
    and the patch ``merger`` (projector: proj, LayerNorm, SwiGLU of width ``intermediate_size``)."""
    c = Cfg(raw, GLM4V_VISION)
    H, out, I = c["hidden_size"], c["out_hidden_size"], c["intermediate_size"]
    ch, ps, tp, m = c["in_channels"], c["patch_size"], c["temporal_patch_size"], c["spatial_merge_size"]
    yield p + "embeddings.position_embedding.weight", ((c["image_size"] // ps) ** 2, H), V, None
    yield p + "patch_embed.proj.weight", (H, ch, tp, ps, ps), V, None
    yield p + "patch_embed.proj.bias", (H,), V, None
    qkv_bias = bool(c.get("attention_bias", False))
    for i in range(c["depth"]):
        q = f"{p}blocks.{i}."
        yield from norm(q + "norm1", H, V)
        yield from norm(q + "norm2", H, V)
        yield from linear(q + "attn.qkv", 3 * H, H, V, qkv_bias)
        yield from linear(q + "attn.proj", H, H, V)
        yield from glu_mlp(q + "mlp", H, out, V)
    yield from linear(p + "merger.proj", out, out, P)
    yield from norm(p + "merger.post_projection_norm", out, P, True)
    yield from linear(p + "merger.gate_proj", I, out, P)
    yield from linear(p + "merger.up_proj", I, out, P)
    yield from linear(p + "merger.down_proj", out, I, P)
    yield from norm(p + "post_conv_layernorm", H, V)
    yield p + "downsample.weight", (out, H, m, m), V, None
    yield p + "downsample.bias", (out,), V, None
    yield from norm(p + "post_layernorm", H, V)


#: Qwen2_5OmniVisionEncoderConfig() (transformers 5.23)
QWEN_OMNI_VISION = {"depth": 32, "hidden_size": 3584, "intermediate_size": 3420, "in_channels": 3, "patch_size": 14,
                    "spatial_merge_size": 2, "temporal_patch_size": 2, "out_hidden_size": 3584}


def qwen2_5_omni_vision(p: str, raw: dict | None):
    """Qwen2.5-Omni's vision encoder: Qwen2.5-VL's (bias-free 3-D conv patches, RMS norms, SwiGLU MLP with
    biases), except that attention has separate ``q``/``k``/``v`` (with biases) instead of a fused ``qkv``; the
    ``merger`` (projector) is Qwen2.5-VL's (RMS ``ln_q``, mlp.0 / mlp.2 with biases)."""
    c = Cfg(raw, QWEN_OMNI_VISION)
    E, I, out = c["hidden_size"], c["intermediate_size"], c["out_hidden_size"]
    ch, ps, tp, m = c["in_channels"], c["patch_size"], c["temporal_patch_size"], c["spatial_merge_size"]
    Hm = E * m * m
    yield p + "patch_embed.proj.weight", (E, ch, tp, ps, ps), V, None
    for i in range(c["depth"]):
        q = f"{p}blocks.{i}."
        yield from norm(q + "norm1", E, V)
        yield from norm(q + "norm2", E, V)
        for w in ("q", "k", "v", "proj"):
            yield from linear(q + "attn." + w, E, E, V, True)
        yield from glu_mlp(q + "mlp", E, I, V, True)
    yield from norm(p + "merger.ln_q", E, P)
    yield from linear(p + "merger.mlp.0", Hm, Hm, P, True)
    yield from linear(p + "merger.mlp.2", out, Hm, P, True)


#: Qwen3OmniMoeVisionEncoderConfig() (transformers 5.23)
QWEN3_OMNI_VISION = {"depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "in_channels": 3, "patch_size": 16,
                     "spatial_merge_size": 2, "temporal_patch_size": 2, "out_hidden_size": 3584,
                     "num_position_embeddings": 2304, "deepstack_visual_indexes": [8, 16, 24]}


def qwen3_omni_vision(p: str, raw: dict | None):
    """Qwen3-Omni's vision encoder: Qwen3-VL's tower (3-D conv patches with bias, learned ``pos_embed``, LayerNorm
    blocks with fused qkv and a ``linear_fc1``/``linear_fc2`` MLP, biases everywhere); its ``merger`` normalises
    the tower width before merging (``ln_q`` over hidden_size) and one ``merger_list`` entry per deepstack index
    normalises the merged width; each has ``mlp.0`` / ``mlp.2`` with biases (projector)."""
    c = Cfg(raw, QWEN3_OMNI_VISION)
    E, I, out = c["hidden_size"], c["intermediate_size"], c["out_hidden_size"]
    ch, ps, tp, m = c["in_channels"], c["patch_size"], c["temporal_patch_size"], c["spatial_merge_size"]
    Hm = E * m * m
    yield p + "patch_embed.proj.weight", (E, ch, tp, ps, ps), V, None
    yield p + "patch_embed.proj.bias", (E,), V, None
    yield p + "pos_embed.weight", (c["num_position_embeddings"], E), V, None
    for i in range(c["depth"]):
        q = f"{p}blocks.{i}."
        yield from norm(q + "norm1", E, V, True)
        yield from norm(q + "norm2", E, V, True)
        yield from linear(q + "attn.qkv", 3 * E, E, V, True)
        yield from linear(q + "attn.proj", E, E, V, True)
        yield from linear(q + "mlp.linear_fc1", I, E, V, True)
        yield from linear(q + "mlp.linear_fc2", E, I, V, True)
    yield from norm(p + "merger.ln_q", E, P, True)
    yield from linear(p + "merger.mlp.0", Hm, Hm, P, True)
    yield from linear(p + "merger.mlp.2", out, Hm, P, True)
    idx = c.get("deepstack_visual_indexes") or []
    for k in range(len(idx) if isinstance(idx, list) and len(idx) <= 1000 else 0):
        q = f"{p}merger_list.{k}."
        yield from norm(q + "ln_q", Hm, P, True)
        yield from linear(q + "mlp.0", Hm, Hm, P, True)
        yield from linear(q + "mlp.2", out, Hm, P, True)


#: SamVisionConfig() as DeepseekVLHybridConfig composes it (transformers 5.23)
SAM_VISION = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "num_channels": 3,
              "image_size": 1024, "patch_size": 16, "mlp_dim": 3072, "output_channels": 256, "window_size": 14,
              "global_attn_indexes": [2, 5, 8, 11], "qkv_bias": True, "use_abs_pos": True, "use_rel_pos": True}


def sam_neck(p: str, c: Cfg):
    H, out = c["hidden_size"], c["output_channels"]
    yield p + "conv1.weight", (out, H, 1, 1), V, None
    yield from norm(p + "layer_norm1", out, V, True)
    yield p + "conv2.weight", (out, out, 3, 3), V, None
    yield from norm(p + "layer_norm2", out, V, True)


def sam_vision(p: str, raw: dict | None):
    """SAM's ViT image encoder (``SamVisionEncoder``): conv patches, absolute positions (1, n, n, H), layers with
    relative-position tables ((2 x window - 1) rows, or (2 x image/patch - 1) on the global-attention layers), a
    biased fused qkv, ``lin1``/``lin2`` MLP, and the conv ``neck`` to ``output_channels``."""
    c = Cfg(raw, SAM_VISION, "high_res_vision_config")
    H, heads, ch, ps = c["hidden_size"], c["num_attention_heads"], c["num_channels"], c["patch_size"]
    n = c["image_size"] // ps
    hd = H // heads
    glob = c.get("global_attn_indexes") or []
    glob = set(glob) if isinstance(glob, list) else set()
    yield p + "patch_embed.projection.weight", (H, ch, ps, ps), V, None
    yield p + "patch_embed.projection.bias", (H,), V, None
    if c.get("use_abs_pos", True):
        yield p + "pos_embed", (1, n, n, H), V, None
    for i in range(c["num_hidden_layers"]):
        q = f"{p}layers.{i}."
        yield from norm(q + "layer_norm1", H, V, True)
        if c.get("use_rel_pos", True):
            size = n if i in glob else c["window_size"]
            yield q + "attn.rel_pos_h", (2 * size - 1, hd), V, None
            yield q + "attn.rel_pos_w", (2 * size - 1, hd), V, None
        yield from linear(q + "attn.qkv", 3 * H, H, V, bool(c.get("qkv_bias", True)))
        yield from linear(q + "attn.proj", H, H, V, True)
        yield from norm(q + "layer_norm2", H, V, True)
        yield from linear(q + "mlp.lin1", c["mlp_dim"], H, V, True)
        yield from linear(q + "mlp.lin2", H, c["mlp_dim"], V, True)
    yield from sam_neck(p + "neck.", c)


#: Ernie4_5_VLMoeVisionConfig() (transformers 5.23)
ERNIE_VL_VISION = {"depth": 32, "hidden_size": 1280, "intermediate_size": 5120, "in_channels": 3, "patch_size": 14,
                   "spatial_merge_size": 2, "temporal_merge_size": 2}


def ernie_vl_vision(p: str, raw: dict | None):
    """ERNIE 4.5 VL's vision transformer (Baidu's layout): a bias-free linear patch embedding over channels x
    patch x patch, LayerNorm blocks with biased fused qkv / proj and fc1 / fc2, a final ``ln``."""
    c = Cfg(raw, ERNIE_VL_VISION)
    H, I, ch, ps = c["hidden_size"], c["intermediate_size"], c["in_channels"], c["patch_size"]
    yield p + "patch_embed.proj.weight", (H, ch * ps * ps), V, None
    for i in range(c["depth"]):
        q = f"{p}blocks.{i}."
        yield from norm(q + "norm1", H, V, True)
        yield from norm(q + "norm2", H, V, True)
        yield from linear(q + "attn.qkv", 3 * H, H, V, True)
        yield from linear(q + "attn.proj", H, H, V, True)
        yield from linear(q + "mlp.fc1", I, H, V, True)
        yield from linear(q + "mlp.fc2", H, I, V, True)
    yield from norm(p + "ln", H, V, True)


def ernie_vl_resampler(p: str, raw: dict | None, text_hidden: int):
    """The resampler (projector): spatial MLP over merge x merge patches, temporal MLP over
    ``temporal_merge_size`` frames (each Linear, GELU, Linear, LayerNorm), ``mlp`` to the text width, RMS
    ``after_norm``."""
    c = Cfg(raw, ERNIE_VL_VISION)
    m, t = c["spatial_merge_size"], c["temporal_merge_size"]
    S = c["hidden_size"] * m * m
    for name, din in (("spatial_linear", S), ("temporal_linear", S * t)):
        yield from linear(f"{p}{name}.0", S, din, P, True)
        yield from linear(f"{p}{name}.2", S, S, P, True)
        yield from norm(f"{p}{name}.3", S, P, True)
    yield from linear(p + "mlp", text_hidden, S, P, True)
    yield from norm(p + "after_norm", text_hidden, P)


#: Siglip2VisionConfig() (transformers 5.23): the NaFlex SigLIP 2 tower of LFM2-VL
SIGLIP2_VISION = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_channels": 3,
                  "patch_size": 16, "num_patches": 256, "vision_use_head": True}


def siglip2(p: str, raw: dict | None):
    """SigLIP 2 (NaFlex): a Linear patch embedding over channels x patch x patch (with bias), ``num_patches``
    learned positions, SigLIP's encoder layers and post layernorm, the attention-pooling head when
    ``vision_use_head``."""
    from .vision_towers import encoder_layer

    c = Cfg(raw, SIGLIP2_VISION)
    H, I, ch, ps = c["hidden_size"], c["intermediate_size"], c["num_channels"], c["patch_size"]
    yield from linear(p + "embeddings.patch_embedding", H, ch * ps * ps, V, True)
    yield p + "embeddings.position_embedding.weight", (c["num_patches"], H), V, None
    for i in range(c["num_hidden_layers"]):
        yield from encoder_layer(f"{p}encoder.layers.{i}.", H, I)
    yield from norm(p + "post_layernorm", H, V, True)
    if c.get("vision_use_head", True):
        yield p + "head.probe", (1, 1, H), V, None
        yield p + "head.attention.in_proj_weight", (3 * H, H), V, None
        yield p + "head.attention.in_proj_bias", (3 * H,), V, None
        yield from linear(p + "head.attention.out_proj", H, H, V, True)
        yield from norm(p + "head.layernorm", H, V, True)
        yield from linear(p + "head.mlp.fc1", I, H, V, True)
        yield from linear(p + "head.mlp.fc2", H, I, V, True)
