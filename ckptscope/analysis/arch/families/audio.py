"""Audio checkpoints: Whisper (encoder-decoder), and audio-language models built from a Whisper-style encoder +
projector + text family: Qwen2-Audio, Voxtral. The Whisper encoder is ``audio_towers.whisper_encoder``.

Whisper (``WhisperForConditionalGeneration``): ``model.encoder.*`` (component ``audio_tower``) and a decoder
``model.decoder.*`` (token + learned position embeddings, self- and cross-attention layers, biases except on
``k_proj``); the output projection ``proj_out`` is tied to the token embedding unless tie_word_embeddings is false.

Qwen2-Audio: ``audio_tower.*`` (a Whisper encoder; its average pooling has no weights), ``multi_modal_projector.linear``
(audio d_model -> text hidden, with bias), a Qwen2 text model under ``language_model.``.
Voxtral: the same encoder, ``multi_modal_projector.linear_1`` from the encoder's ``intermediate_size`` (four frames
stacked) and ``linear_2``, both bias-free, a Llama text model under ``language_model.``.
"""

from __future__ import annotations

from ...classify import ATTENTION, AUDIO, EMBEDDING, LM_HEAD, MLP, NORM, POSITION, PROJECTOR
from .. import audio_towers
from ..engine import PredictionError, linear, norm
from .vlm import QWEN2_7B, Towered

#: WhisperConfig() defaults (transformers 5.23) for the fields read here
WHISPER = {"vocab_size": 51865, "d_model": 384, "encoder_layers": 4, "decoder_layers": 4, "encoder_ffn_dim": 1536,
           "decoder_ffn_dim": 1536, "num_mel_bins": 80, "max_source_positions": 1500, "max_target_positions": 448}
#: VoxtralConfig() text defaults (a Llama: transformers 5.23 VoxtralConfig().text_config)
VOXTRAL_TEXT = {"vocab_size": 131072, "hidden_size": 3072, "intermediate_size": 8192, "num_hidden_layers": 30,
                "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "attention_bias": False,
                "mlp_bias": False}


def _w(c, key):
    v = c.full.get(key, WHISPER[key])
    if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {key}")
    return v


class Whisper:
    MODEL_TYPES = ("whisper",)
    ARCHITECTURES = ("WhisperForConditionalGeneration",)
    TIE_DEFAULT = True
    DEFAULT_DTYPE = "F32"
    DEFAULTS: dict = {}
    SOURCE = "transformers 5.23 meta-device build (fixtures/oracle/*whisper*)"

    def tensors(self, d, layout):
        c = d.c
        full = {**WHISPER, **{k: v for k, v in c.full.items() if v is not None}}
        yield from audio_towers.whisper_encoder("model.encoder.", full, "whisper")
        D, ffn, V = _w(c, "d_model"), _w(c, "decoder_ffn_dim"), _w(c, "vocab_size")
        yield "model.decoder.embed_tokens.weight", (V, D), EMBEDDING, None
        yield "model.decoder.embed_positions.weight", (_w(c, "max_target_positions"), D), POSITION, None
        for i in range(_w(c, "decoder_layers")):
            q = f"model.decoder.layers.{i}."
            for name, shape, comp, kind in audio_towers.whisper_layer(q, D, ffn, ATTENTION, cross=True):
                if ".fc" in name:
                    comp = MLP
                elif "layer_norm" in name:
                    comp = NORM
                yield name, shape, comp, kind
        yield from norm("model.decoder.layer_norm", D, NORM, True)
        tie = c.full.get("tie_word_embeddings")
        d.tied = tie if isinstance(tie, bool) else True
        if not d.tied:
            yield from linear("proj_out", V, D, LM_HEAD, kind=None)


def _audio(c):
    return c.audio_config or {}


def qwen2_audio_tower(c, td, layout):
    yield from audio_towers.whisper_encoder("audio_tower.", _audio(c), "qwen2_audio_encoder")


def qwen2_audio_projector(c, td, layout):
    a = audio_towers.ACfg(_audio(c), "qwen2_audio_encoder")
    yield from linear("multi_modal_projector.linear", td.H, a.width(), PROJECTOR, True)


def voxtral_tower(c, td, layout):
    yield from audio_towers.whisper_encoder("audio_tower.", _audio(c), "voxtral_encoder")


def voxtral_projector(c, td, layout):
    a = audio_towers.ACfg(_audio(c), "voxtral_encoder")
    yield from linear("multi_modal_projector.linear_1", td.H, a.ffn(), PROJECTOR)
    yield from linear("multi_modal_projector.linear_2", td.H, td.H, PROJECTOR)


_ = AUDIO
FAMILY_LIST = [
    Whisper(),
    Towered("qwen2_audio", "Qwen2AudioForConditionalGeneration", "qwen2", QWEN2_7B, "language_model.model.",
            "language_model.", [qwen2_audio_tower, qwen2_audio_projector]),
    Towered("voxtral", "VoxtralForConditionalGeneration", "llama", VOXTRAL_TEXT, "language_model.model.",
            "language_model.", [voxtral_tower, voxtral_projector]),
]
