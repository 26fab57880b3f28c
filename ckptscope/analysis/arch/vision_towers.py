"""More vision towers (component ``vision_tower``): CLIP (LLaVA, LLaVA-NeXT) and InternViT (InternVL).

Each reads its ``vision_config`` over the defaults the multimodal family passes (transformers 5.23's config
classes: a config.json leaves out the fields equal to them). SigLIP lives in ``towers.py``.
"""

from __future__ import annotations

from ..classify import VISION
from .engine import PredictionError, linear, norm

V = VISION


class Cfg:
    """A tower config over defaults; every number read is checked."""

    def __init__(self, raw: dict | None, defaults: dict, what: str = "vision_config"):
        self.raw = {**defaults, **{k: v for k, v in (raw or {}).items() if v is not None}}
        self.what = what

    def __getitem__(self, key):
        v = self.raw.get(key)
        if isinstance(v, (list, tuple)) and len(v) == 2 and v[0] == v[1]:  # (448, 448): square images/patches
            v = v[0]
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v > 1_000_000:
            raise PredictionError(f"{self.what} gives no usable value for {key}")
        return v

    def get(self, key, default=None):
        return self.raw.get(key, default)


def encoder_layer(q: str, H: int, I: int):
    """A CLIP/SigLIP encoder layer: q/k/v/out with biases, two layer norms, fc1/fc2 with biases."""
    for w in ("k_proj", "v_proj", "q_proj", "out_proj"):
        yield from linear(q + "self_attn." + w, H, H, V, True)
    yield from norm(q + "layer_norm1", H, V, True)
    yield from linear(q + "mlp.fc1", I, H, V, True)
    yield from linear(q + "mlp.fc2", H, I, V, True)
    yield from norm(q + "layer_norm2", H, V, True)


def clip_vision(p: str, raw: dict | None, defaults: dict):
    """CLIP's vision transformer: class token, bias-free conv patches, learned positions (patches + 1),
    ``pre_layrnorm`` (transformers' spelling), pre-norm layers, ``post_layernorm``."""
    c = Cfg(raw, defaults)
    H, I, ch, ps = c["hidden_size"], c["intermediate_size"], c["num_channels"], c["patch_size"]
    yield p + "embeddings.class_embedding", (H,), V, None
    yield p + "embeddings.patch_embedding.weight", (H, ch, ps, ps), V, None
    yield p + "embeddings.position_embedding.weight", ((c["image_size"] // ps) ** 2 + 1, H), V, None
    yield from norm(p + "pre_layrnorm", H, V, True)
    for i in range(c["num_hidden_layers"]):
        yield from encoder_layer(f"{p}encoder.layers.{i}.", H, I)
    yield from norm(p + "post_layernorm", H, V, True)


def internvit(p: str, raw: dict | None, defaults: dict):
    """InternVL's vision transformer (``InternVLVisionModel``): class token, conv patches with bias, absolute
    positions, layers with layer-scale ``lambda_1``/``lambda_2``, optional q/k RMS norms, layer or RMS norms."""
    c = Cfg(raw, defaults)
    H, I, ch, ps = c["hidden_size"], c["intermediate_size"], c["num_channels"], c["patch_size"]
    rms = c.get("norm_type", "layer_norm") == "rms_norm"
    yield p + "embeddings.cls_token", (1, 1, H), V, None
    if c.get("use_mask_token", False):
        yield p + "embeddings.mask_token", (1, 1, H), V, None
    yield p + "embeddings.patch_embeddings.projection.weight", (H, ch, ps, ps), V, None
    yield p + "embeddings.patch_embeddings.projection.bias", (H,), V, None
    if c.get("use_absolute_position_embeddings", True):
        yield p + "embeddings.position_embeddings", (1, (c["image_size"] // ps) ** 2 + 1, H), V, None
    bias = bool(c.get("attention_bias", False))
    for i in range(c["num_hidden_layers"]):
        q = f"{p}encoder.layer.{i}."
        for w in ("q_proj", "k_proj", "v_proj"):
            yield from linear(q + "attention." + w, H, H, V, bias)
        if c.get("use_qk_norm", False):
            yield from norm(q + "attention.q_norm", H, V)
            yield from norm(q + "attention.k_norm", H, V)
        yield from linear(q + "attention.projection_layer", H, H, V, True)
        yield q + "lambda_1", (H,), V, None
        yield q + "lambda_2", (H,), V, None
        yield from norm(q + "layernorm_before", H, V, not rms)
        yield from norm(q + "layernorm_after", H, V, not rms)
        yield from linear(q + "mlp.fc1", I, H, V, True)
        yield from linear(q + "mlp.fc2", H, I, V, True)
    if not c.get("use_mean_pooling", True):
        yield from norm(p + "layernorm", H, V, True)
