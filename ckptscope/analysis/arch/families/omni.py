"""Omni models: one checkpoint holding a thinker (text decoder + vision tower + audio tower), a talker (a decoder
that writes speech codec tokens) and a vocoder. Qwen2.5-Omni (``qwen2_5_omni``): ``thinker.*`` (Qwen2 text under
``thinker.model`` + ``thinker.lm_head``, ``thinker.visual`` Qwen2.5-VL-style tower with split q/k/v,
``thinker.audio_tower`` Whisper-style encoder with ``ln_post``/``proj``/``audio_bos_eos_token``), ``talker.*`` (a
Qwen2 decoder whose embedding is ``embedding_size`` wide, ``thinker_to_talker_proj``, ``codec_head``) and
``token2wav.*`` (DiT + BigVGAN, F32).

Components: the text decoder as usual, ``vision_tower`` / ``projector`` / ``audio_tower`` for the thinker's towers,
``speech_generator`` for talker and vocoder. Checked against transformers 5.23's meta-device build
(fixtures/oracle/transformers__qwen2_5_omni); the Hub's Qwen2.5-Omni configs name the class ``Qwen2_5OmniModel``.
"""

from __future__ import annotations

from ...classify import AUDIO, SPEECH
from .. import audio_towers, speech, towers_more
from ..engine import linear, norm
from .composite import Composite, filled, pos, sub, text_part

#: Qwen2_5OmniTextConfig() / Qwen2_5OmniTalkerConfig() / Qwen2_5OmniAudioEncoderConfig() (transformers 5.23)
OMNI_TEXT = {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
             "num_attention_heads": 28, "num_key_value_heads": 4}
OMNI_TALKER = {"vocab_size": 8448, "embedding_size": 3584, "hidden_size": 3584, "intermediate_size": 18944,
               "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4, "head_dim": 128}
OMNI_AUDIO = {"d_model": 1280, "encoder_layers": 32, "encoder_ffn_dim": 5120, "num_mel_bins": 128,
              "output_dim": 3584}


def _vision(c, d, layout):
    yield from towers_more.qwen2_5_omni_vision("thinker.visual.", sub(c, "thinker_config", "vision_config"))


def _audio(c, d, layout):
    """Qwen2_5OmniAudioEncoder: Whisper's convs and layers (no stored positions: they are sinusoidal buffers that
    are not saved), then ``ln_post``, ``proj`` to ``output_dim`` and a 2-row ``audio_bos_eos_token`` table."""
    a = filled(sub(c, "thinker_config", "audio_config"), OMNI_AUDIO)
    D, mel, out = pos(a["d_model"], "audio_config.d_model"), pos(a["num_mel_bins"], "audio_config.num_mel_bins"), \
        pos(a["output_dim"], "audio_config.output_dim")
    p = "thinker.audio_tower."
    yield p + "conv1.weight", (D, mel, 3), AUDIO, None
    yield p + "conv1.bias", (D,), AUDIO, None
    yield p + "conv2.weight", (D, D, 3), AUDIO, None
    yield p + "conv2.bias", (D,), AUDIO, None
    yield p + "audio_bos_eos_token.weight", (2, out), AUDIO, None
    ffn = pos(a["encoder_ffn_dim"], "audio_config.encoder_ffn_dim")
    for i in range(pos(a["encoder_layers"], "audio_config.encoder_layers")):
        yield from audio_towers.whisper_layer(f"{p}layers.{i}.", D, ffn, AUDIO)
    yield from norm(p + "ln_post", D, AUDIO, True)
    yield from linear(p + "proj", out, D, AUDIO, True)


_thinker_text = text_part("qwen2", ("thinker_config", "text_config"), OMNI_TEXT, "thinker.model.", "thinker.lm_head",
                          tie_at=("thinker_config",))
_talker_stack = text_part("qwen2", ("talker_config",), OMNI_TALKER, "talker.model.", None, main=False, comp=SPEECH)


def _talker(c, d, layout):
    """The talker: a Qwen2 decoder (no lm_head) whose codec embedding is ``embedding_size`` wide (the thinker's
    width), ``thinker_to_talker_proj`` down to its own width, and ``codec_head``."""
    if c.full.get("enable_audio_output") is False:  # transformers then builds no talker and no token2wav
        return
    t = filled(sub(c, "talker_config"), OMNI_TALKER)
    H, E, V = (pos(t[k], "talker_config." + k) for k in ("hidden_size", "embedding_size", "vocab_size"))
    yield from linear("talker.thinker_to_talker_proj", H, E, SPEECH, True)
    for name, shape, comp, kind in _talker_stack(c, d, layout):
        if name == "talker.model.embed_tokens.weight":
            shape = (V, E)
        yield name, shape, comp, kind
    yield from linear("talker.codec_head", V, H, SPEECH)


def _token2wav(c, d, layout):
    if c.full.get("enable_audio_output") is False:
        return
    yield from speech.dit("token2wav.code2wav_dit_model.", sub(c, "token2wav_config", "dit_config"))
    yield from speech.bigvgan("token2wav.code2wav_bigvgan_model.", sub(c, "token2wav_config", "bigvgan_config"))


FAMILY_LIST = [
    Composite("qwen2_5_omni", ("Qwen2_5OmniForConditionalGeneration", "Qwen2_5OmniModel"),
              [_vision, _audio, _thinker_text, _talker, _token2wav]),
]
