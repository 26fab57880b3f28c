"""Vision towers and projectors of multimodal checkpoints, from ``vision_config`` (components ``vision_tower`` and
``projector``).

Each tower reads its own config dict with transformers' defaults for the fields a config.json leaves out, and
yields tensors in the family format of ``engine.py`` under a prefix the multimodal family chooses.
"""

from __future__ import annotations

from ..classify import PROJECTOR, VISION
from .engine import PredictionError, glu_mlp, linear, norm

V = VISION
P = PROJECTOR

#: transformers 5.23 vision-config defaults (configuration_<family>.py) for the fields read here
DEFAULTS = {
    "siglip": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_channels": 3,
               "image_size": 224, "patch_size": 16, "vision_use_head": True},
    "llama4": {"hidden_size": 768, "intermediate_size": 5632, "num_hidden_layers": 34, "num_channels": 3,
               "image_size": 448, "patch_size": 14, "vision_output_dim": 7680, "projector_input_dim": 4096,
               "projector_output_dim": 4096},
    "qwen2_vl": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "hidden_size": 3584, "in_channels": 3,
                 "patch_size": 14, "temporal_patch_size": 2, "spatial_merge_size": 2},
    "qwen2_5_vl": {"depth": 32, "hidden_size": 3584, "intermediate_size": 3420, "out_hidden_size": 3584,
                   "in_channels": 3, "patch_size": 14, "temporal_patch_size": 2, "spatial_merge_size": 2},
    "qwen3_vl": {"depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "out_hidden_size": 3584,
                 "in_channels": 3, "patch_size": 16, "temporal_patch_size": 2, "spatial_merge_size": 2,
                 "num_position_embeddings": 2304, "deepstack_visual_indexes": [8, 16, 24]},
    "pixtral": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
                "num_channels": 3, "patch_size": 14},
}


class VCfg:
    """A vision config with defaults; every number read is checked."""

    def __init__(self, raw: dict | None, kind: str):
        self.raw = {**DEFAULTS[kind], **{k: v for k, v in (raw or {}).items() if v is not None}}

    def __getitem__(self, key):
        v = self.raw.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v > 1_000_000:
            raise PredictionError(f"vision_config gives no usable value for {key}")
        return v

    def get(self, key, default=None):
        return self.raw.get(key, default)


def _ln(name, n):
    yield from norm(name, n, V, True)


def siglip(p: str, raw: dict | None):
    """SigLIP vision transformer (Gemma 3, PaliGemma): conv patch embedding, learned positions, pre-norm layers
    with biases everywhere, post layernorm, and the attention-pooling head when ``vision_use_head``."""
    c = VCfg(raw, "siglip")
    H, I, ch, ps = c["hidden_size"], c["intermediate_size"], c["num_channels"], c["patch_size"]
    n_pos = (c["image_size"] // ps) ** 2
    yield p + "embeddings.patch_embedding.weight", (H, ch, ps, ps), V, None
    yield p + "embeddings.patch_embedding.bias", (H,), V, None
    yield p + "embeddings.position_embedding.weight", (n_pos, H), V, None
    for i in range(c["num_hidden_layers"]):
        q = f"{p}encoder.layers.{i}."
        for w in ("q_proj", "k_proj", "v_proj", "out_proj"):
            yield from linear(q + "self_attn." + w, H, H, V, True)
        yield from _ln(q + "layer_norm1", H)
        yield from _ln(q + "layer_norm2", H)
        yield from linear(q + "mlp.fc1", I, H, V, True)
        yield from linear(q + "mlp.fc2", H, I, V, True)
    yield from _ln(p + "post_layernorm", H)
    if c.get("vision_use_head", True):
        yield p + "head.probe", (1, 1, H), V, None
        yield p + "head.attention.in_proj_weight", (3 * H, H), V, None
        yield p + "head.attention.in_proj_bias", (3 * H,), V, None
        yield from linear(p + "head.attention.out_proj", H, H, V, True)
        yield from _ln(p + "head.layernorm", H)
        yield from linear(p + "head.mlp.fc1", I, H, V, True)
        yield from linear(p + "head.mlp.fc2", H, I, V, True)


def gemma3_projector(p: str, raw: dict | None, text_hidden: int):
    c = VCfg(raw, "siglip")
    yield p + "mm_input_projection_weight", (c["hidden_size"], text_hidden), P, None
    yield p + "mm_soft_emb_norm.weight", (c["hidden_size"],), P, None


def llama4_vision(p: str, raw: dict | None):
    """Llama 4 vision encoder: unfold patch embedding (a Linear over channels x patch x patch), class token,
    learned positions (patches + 1), pre/post layernorms, layers with biases, the pixel-shuffle adapter MLP."""
    c = VCfg(raw, "llama4")
    H, I, ps, ch = c["hidden_size"], c["intermediate_size"], c["patch_size"], c["num_channels"]
    yield p + "class_embedding", (H,), V, None
    yield p + "positional_embedding_vlm", ((c["image_size"] // ps) ** 2 + 1, H), V, None
    yield p + "patch_embedding.linear.weight", (H, ch * ps * ps), V, None
    yield from _ln(p + "layernorm_pre", H)
    yield from _ln(p + "layernorm_post", H)
    for i in range(c["num_hidden_layers"]):
        q = f"{p}model.layers.{i}."
        for w in ("q_proj", "k_proj", "v_proj", "o_proj"):
            yield from linear(q + "self_attn." + w, H, H, V, True)
        yield from linear(q + "mlp.fc1", I, H, V, True)
        yield from linear(q + "mlp.fc2", H, I, V, True)
        yield from _ln(q + "input_layernorm", H)
        yield from _ln(q + "post_attention_layernorm", H)
    yield from linear(p + "vision_adapter.mlp.fc1", c["projector_input_dim"], I, V)
    yield from linear(p + "vision_adapter.mlp.fc2", c["projector_output_dim"], c["projector_output_dim"], V)


def llama4_projector(p: str, raw: dict | None, text_hidden: int):
    c = VCfg(raw, "llama4")
    yield from linear(p + "linear_1", text_hidden, c["vision_output_dim"], P)


def qwen_vl_vision(p: str, raw: dict | None, kind: str):
    """Qwen2-VL / Qwen2.5-VL / Qwen3-VL vision transformers and their patch mergers."""
    c = VCfg(raw, kind)
    ch, ps, tp, m = c["in_channels"], c["patch_size"], c["temporal_patch_size"], c["spatial_merge_size"]
    if kind == "qwen2_vl":
        E, I, out = c["embed_dim"], c["embed_dim"] * c["mlp_ratio"], c["hidden_size"]
    else:
        E, I, out = c["hidden_size"], c["intermediate_size"], c["out_hidden_size"]
    Hm = E * m * m
    yield p + "patch_embed.proj.weight", (E, ch, tp, ps, ps), V, None
    if kind == "qwen3_vl":
        yield p + "patch_embed.proj.bias", (E,), V, None
        yield p + "pos_embed.weight", (c["num_position_embeddings"], E), V, None
    for i in range(c["depth"]):
        q = f"{p}blocks.{i}."
        if kind == "qwen2_5_vl":
            yield from norm(q + "norm1", E, V)
            yield from norm(q + "norm2", E, V)
        else:
            yield from _ln(q + "norm1", E)
            yield from _ln(q + "norm2", E)
        yield from linear(q + "attn.qkv", 3 * E, E, V, True)
        yield from linear(q + "attn.proj", E, E, V, True)
        if kind == "qwen2_5_vl":
            yield from glu_mlp(q + "mlp", E, I, V, True)
        elif kind == "qwen3_vl":
            yield from linear(q + "mlp.linear_fc1", I, E, V, True)
            yield from linear(q + "mlp.linear_fc2", E, I, V, True)
        else:
            yield from linear(q + "mlp.fc1", I, E, V, True)
            yield from linear(q + "mlp.fc2", E, I, V, True)
    if kind == "qwen3_vl":
        yield from norm(p + "merger.norm", E, P, True)
        yield from linear(p + "merger.linear_fc1", Hm, Hm, P, True)
        yield from linear(p + "merger.linear_fc2", out, Hm, P, True)
        idx = c.get("deepstack_visual_indexes") or []
        for k in range(len(idx) if isinstance(idx, list) else 0):
            q = f"{p}deepstack_merger_list.{k}."
            yield from norm(q + "norm", Hm, P, True)
            yield from linear(q + "linear_fc1", Hm, Hm, P, True)
            yield from linear(q + "linear_fc2", out, Hm, P, True)
        return
    if kind == "qwen2_5_vl":
        yield from norm(p + "merger.ln_q", E, P)
    else:
        yield from norm(p + "merger.ln_q", E, P, True)
    yield from linear(p + "merger.mlp.0", Hm, Hm, P, True)
    yield from linear(p + "merger.mlp.2", out, Hm, P, True)


def pixtral(p: str, raw: dict | None):
    """Pixtral vision encoder (Mistral 3): conv patches without bias, RMS norms, bias-free attention and gated
    MLP."""
    c = VCfg(raw, "pixtral")
    H, I, ch, ps = c["hidden_size"], c["intermediate_size"], c["num_channels"], c["patch_size"]
    yield p + "patch_conv.weight", (H, ch, ps, ps), V, None
    yield from norm(p + "ln_pre", H, V)
    for i in range(c["num_hidden_layers"]):
        q = f"{p}transformer.layers.{i}."
        for w in ("q_proj", "k_proj", "v_proj", "o_proj"):
            yield from linear(q + "attention." + w, H, H, V)
        yield from norm(q + "attention_norm", H, V)
        yield from glu_mlp(q + "feed_forward", H, I, V)
        yield from norm(q + "ffn_norm", H, V)


def mistral3_projector(p: str, raw: dict | None, text_hidden: int, merge: int, bias: bool):
    c = VCfg(raw, "pixtral")
    H = c["hidden_size"]
    yield from norm(p + "norm", H, P)
    yield from linear(p + "patch_merger.merging_layer", H, H * merge * merge, P)
    yield from linear(p + "linear_1", text_hidden, H, P, bias)
    yield from linear(p + "linear_2", text_hidden, text_hidden, P, bias)
