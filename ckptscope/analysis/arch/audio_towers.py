"""Audio encoders of multimodal checkpoints, from ``audio_config`` (component ``audio_tower``).

- Gemma 3n's USM conformer (``Gemma3nAudioEncoder``): a two-conv subsampler, then conformer blocks (FFN,
  chunked relative-position attention, light conv, FFN), RMS norms with a weight only, no biases.
- The Whisper encoder (Whisper, Qwen2-Audio, Voxtral): two 1-D convs, learned positions, pre-norm layers with
  biases except on ``k_proj``, a final layer norm.

Defaults are transformers 5.23's config classes (``Gemma3nAudioConfig()``, ``WhisperConfig()``) for the fields a
config.json leaves out.
"""

from __future__ import annotations

from ..classify import AUDIO
from .engine import PredictionError, linear, norm

A = AUDIO

DEFAULTS = {
    "gemma3n": {"hidden_size": 1536, "input_feat_size": 128, "conf_num_hidden_layers": 12,
                "conf_num_attention_heads": 8, "conf_conv_kernel_size": 5, "sscp_conv_channel_size": [128, 32],
                "sscp_conv_kernel_size": [[3, 3], [3, 3]], "sscp_conv_stride_size": [[2, 2], [2, 2]]},
    # WhisperConfig(), Qwen2AudioEncoderConfig(), VoxtralEncoderConfig() (d_model/encoder_layers/encoder_ffn_dim are
    # aliases of hidden_size/num_hidden_layers/intermediate_size in the last two: either spelling may be saved)
    "whisper": {"d_model": 384, "encoder_layers": 4, "encoder_ffn_dim": 1536, "num_mel_bins": 80,
                "max_source_positions": 1500},
    "qwen2_audio_encoder": {"d_model": 1280, "encoder_layers": 32, "encoder_ffn_dim": 5120, "num_mel_bins": 128,
                            "max_source_positions": 1500},
    "voxtral_encoder": {"d_model": 1280, "encoder_layers": 32, "encoder_ffn_dim": 5120, "num_mel_bins": 128,
                        "max_source_positions": 1500},
}


class ACfg:
    """An audio config with defaults; every number read is checked."""

    def __init__(self, raw: dict | None, kind: str):
        self.given = {k for k, v in (raw or {}).items() if v is not None}
        self.raw = {**DEFAULTS[kind], **{k: v for k, v in (raw or {}).items() if v is not None}}

    def __getitem__(self, key):
        v = self.raw.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v > 1_000_000:
            raise PredictionError(f"audio_config gives no usable value for {key}")
        return v

    def _alias(self, key, alias):
        return self[alias] if self.raw.get(alias) is not None and key not in self.given else self[key]

    def width(self):
        return self._alias("d_model", "hidden_size")

    def layers(self):
        return self._alias("encoder_layers", "num_hidden_layers")

    def ffn(self):
        return self._alias("encoder_ffn_dim", "intermediate_size")

    def pair(self, key, i) -> tuple[int, int]:
        v = self.raw.get(key)
        try:
            a, b = v[i]
        except (TypeError, ValueError, IndexError):
            raise PredictionError(f"audio_config gives no usable value for {key}") from None
        if not all(isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 1024 for x in (a, b)):
            raise PredictionError(f"audio_config gives no usable value for {key}")
        return a, b


def _rms(name, n):
    yield name + ".weight", (n,), A, None


def gemma3n_audio(p: str, raw: dict | None):
    """Gemma 3n's USM audio encoder (``model.audio_tower.*``)."""
    c = ACfg(raw, "gemma3n")
    H, nh, ks = c["hidden_size"], c["conf_num_attention_heads"], c["conf_conv_kernel_size"]
    ch = c.raw.get("sscp_conv_channel_size")
    if not (isinstance(ch, (list, tuple)) and len(ch) == 2 and all(isinstance(x, int) and 0 < x <= 65536 for x in ch)):
        raise PredictionError("audio_config gives no usable value for sscp_conv_channel_size")
    f = c["input_feat_size"]
    c_prev = 1
    for i in range(2):
        kh, kw = c.pair("sscp_conv_kernel_size", i)
        _, sw = c.pair("sscp_conv_stride_size", i)
        yield f"{p}subsample_conv_projection.conv_{i}.conv.weight", (ch[i], c_prev, kh, kw), A, None
        yield from _rms(f"{p}subsample_conv_projection.conv_{i}.norm", ch[i])
        f = (f + 2 - kw) // sw + 1  # the frequency axis is padded by 1 on each side
        c_prev = ch[i]
    if f <= 0:
        raise PredictionError("audio_config subsampling leaves no frequency bins")
    yield from linear(p + "subsample_conv_projection.input_proj_linear", H, c_prev * f, A)
    hd = H // nh
    for i in range(c["conf_num_hidden_layers"]):
        q = f"{p}conformer.{i}."
        yield from _ffw(q + "ffw_layer_start.", H)
        yield from _rms(q + "attention.pre_attn_norm", H)
        yield q + "attention.attn.per_dim_scale", (hd,), A, None
        yield from linear(q + "attention.attn.relative_position_embedding.pos_proj", nh * hd, H, A)
        for w in ("q_proj", "k_proj", "v_proj"):
            yield from linear(q + "attention.attn." + w, nh * hd, H, A)
        yield from linear(q + "attention.post", H, H, A)
        yield from _rms(q + "attention.post_norm", H)
        yield from _rms(q + "lconv1d.pre_layer_norm", H)
        yield from linear(q + "lconv1d.linear_start", 2 * H, H, A)
        yield q + "lconv1d.depthwise_conv1d.weight", (H, 1, ks), A, None
        yield from _rms(q + "lconv1d.conv_norm", H)
        yield from linear(q + "lconv1d.linear_end", H, H, A)
        yield from _ffw(q + "ffw_layer_end.", H)
        yield from _rms(q + "norm", H)


def _ffw(q, H):
    yield from _rms(q + "pre_layer_norm", H)
    yield from linear(q + "ffw_layer_1", 4 * H, H, A)
    yield from linear(q + "ffw_layer_2", H, 4 * H, A)
    yield from _rms(q + "post_layer_norm", H)


def whisper_layer(q: str, d: int, ffn: int, comp: str, cross: bool = False):
    """One Whisper encoder/decoder layer: attention (k_proj without bias), layer norms, fc1/fc2."""
    for att in ("self_attn", "encoder_attn") if cross else ("self_attn",):
        yield from linear(f"{q}{att}.k_proj", d, d, comp)
        yield from linear(f"{q}{att}.v_proj", d, d, comp, True)
        yield from linear(f"{q}{att}.q_proj", d, d, comp, True)
        yield from linear(f"{q}{att}.out_proj", d, d, comp, True)
        yield from norm(f"{q}{att}_layer_norm", d, comp, True)
    yield from linear(q + "fc1", ffn, d, comp, True)
    yield from linear(q + "fc2", d, ffn, comp, True)
    yield from norm(q + "final_layer_norm", d, comp, True)


def whisper_encoder(p: str, raw: dict | None, kind: str = "whisper", comp: str = A):
    """The Whisper encoder under prefix ``p`` (``model.encoder.`` in Whisper, ``audio_tower.`` in Qwen2-Audio
    and Voxtral); ``kind`` picks the defaults. Voxtral keeps its position table in F32 whatever the checkpoint
    dtype (``VoxtralEncoder._keep_in_fp32_modules_strict = ["embed_positions"]``)."""
    c = ACfg(raw, kind)
    d, L, ffn, mel = c.width(), c.layers(), c.ffn(), c["num_mel_bins"]
    yield p + "conv1.weight", (d, mel, 3), comp, None
    yield p + "conv1.bias", (d,), comp, None
    yield p + "conv2.weight", (d, d, 3), comp, None
    yield p + "conv2.bias", (d,), comp, None
    pos_dtype = "F32" if kind == "voxtral_encoder" else None
    yield p + "embed_positions.weight", (c["max_source_positions"], d), comp, pos_dtype
    for i in range(L):
        yield from whisper_layer(f"{p}layers.{i}.", d, ffn, comp)
    yield from norm(p + "layer_norm", d, comp, True)
