"""Omni models: one checkpoint holding a thinker (text decoder + vision tower + audio tower), a talker (a decoder
that writes speech codec tokens) and a vocoder. Qwen2.5-Omni (``qwen2_5_omni``): ``thinker.*`` (Qwen2 text under
``thinker.model`` + ``thinker.lm_head``, ``thinker.visual`` Qwen2.5-VL-style tower with split q/k/v,
``thinker.audio_tower`` Whisper-style encoder with ``ln_post``/``proj``/``audio_bos_eos_token``), ``talker.*`` (a
Qwen2 decoder whose embedding is ``embedding_size`` wide, ``thinker_to_talker_proj``, ``codec_head``) and
``token2wav.*`` (DiT + BigVGAN, F32). Qwen3-Omni (``qwen3_omni_moe``): a Qwen3-VL-style tower with ``merger_list``,
a conv2d-subsampled audio encoder, a Qwen3-MoE thinker; a MoE talker with a dense code predictor; ``code2wav``.

Components: the text decoder as usual, ``vision_tower`` / ``projector`` / ``audio_tower`` for the thinker's towers,
``speech_generator`` for talker and vocoder. Checked against transformers 5.23's meta-device build
(fixtures/oracle/transformers__qwen2_5_omni); the Hub's Qwen2.5-Omni configs name the class ``Qwen2_5OmniModel``.
"""

from __future__ import annotations

from ...classify import AUDIO, SPEECH
from .. import audio_towers, speech, towers_more
from ..decoder import Spec
from ..engine import PredictionError, linear, norm
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


# ---- Qwen3-Omni (MoE) ----------------------------------------------------------------------------------------


#: Qwen3OmniMoeTextConfig() / Qwen3OmniMoeAudioEncoderConfig() / talker configs (transformers 5.23) for the fields
#: read; real configs state them all (fixtures/configs/github-report__qwen3-omni-30b-a3b-instruct)
Q3O_TEXT = {"vocab_size": 3584, "hidden_size": 2048, "intermediate_size": 18944, "num_hidden_layers": 28,
            "num_attention_heads": 28, "num_key_value_heads": 4, "moe_intermediate_size": 768, "num_experts": 128,
            "num_experts_per_tok": 8, "decoder_sparse_step": 1}
Q3O_AUDIO = {"d_model": 1280, "encoder_layers": 32, "encoder_ffn_dim": 5120, "num_mel_bins": 128, "output_dim": 3584,
             "downsample_hidden_size": 480}
Q3O_TALKER_TEXT = {"vocab_size": 3072, "hidden_size": 1024, "intermediate_size": 2048, "num_hidden_layers": 20,
                   "num_attention_heads": 16, "num_key_value_heads": 2, "moe_intermediate_size": 384,
                   "num_experts": 128, "num_experts_per_tok": 8, "decoder_sparse_step": 1}
Q3O_CODE_PREDICTOR = {"vocab_size": 2048, "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 5,
                      "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "num_code_groups": 32}

#: the talker's decoder: Qwen3 attention (q/k norms), MoE with a Qwen2-MoE shared expert + gate, codec embedding
TALKER_MOE = Spec(("qwen3_omni_moe_talker_text",), (), "transformers 5.23 meta-device build "
                  "(fixtures/oracle/github-report__qwen3-omni-30b-a3b-instruct)", embed="codec_embedding",
                  qk_norm="head", moe="experts", moe_inter="moe_intermediate_size", shared="shared_expert",
                  shared_inter="shared_expert_intermediate_size")
CODE_PREDICTOR = Spec(("qwen3_omni_moe_talker_code_predictor",), (), TALKER_MOE.source, qk_norm="head")


def _q3_vision(c, d, layout):
    yield from towers_more.qwen3_omni_vision("thinker.visual.", sub(c, "thinker_config", "vision_config"))


def _half(n: int) -> int:
    return (n - 1) // 2 + 1  # Conv2d(kernel 3, stride 2, padding 1)


def _q3_audio(c, d, layout):
    """Qwen3OmniMoeAudioEncoder: three stride-2 3x3 convs of ``downsample_hidden_size`` channels over (time, mel),
    ``conv_out`` from channels x remaining mel bins to d_model (no bias), Whisper layers with a k_proj bias,
    ``ln_post``, then ``proj1`` / ``proj2`` to ``output_dim``. Positions are sinusoids, not stored."""
    a = filled(sub(c, "thinker_config", "audio_config"), Q3O_AUDIO)
    D, mel, out, ds = (pos(a[k], "audio_config." + k) for k in ("d_model", "num_mel_bins", "output_dim",
                                                                "downsample_hidden_size"))
    ffn = pos(a["encoder_ffn_dim"], "audio_config.encoder_ffn_dim")
    p = "thinker.audio_tower."
    f = mel
    for i, cin in enumerate((1, ds, ds)):
        yield f"{p}conv2d{i + 1}.weight", (ds, cin, 3, 3), AUDIO, None
        yield f"{p}conv2d{i + 1}.bias", (ds,), AUDIO, None
        f = _half(f)
    yield from linear(p + "conv_out", D, ds * f, AUDIO)
    for i in range(pos(a["encoder_layers"], "audio_config.encoder_layers")):
        for name, shape, comp, kind in audio_towers.whisper_layer(f"{p}layers.{i}.", D, ffn, AUDIO):
            yield name, shape, comp, kind
            if name.endswith("self_attn.k_proj.weight"):
                yield name[:-6] + "bias", (D,), AUDIO, None
    yield from norm(p + "ln_post", D, AUDIO, True)
    yield from linear(p + "proj1", D, D, AUDIO, True)
    yield from linear(p + "proj2", out, D, AUDIO, True)


_q3_thinker_text = text_part("qwen3_moe", ("thinker_config", "text_config"), Q3O_TEXT, "thinker.model.",
                             "thinker.lm_head", tie_at=("thinker_config",))
_q3_talker_stack = text_part(TALKER_MOE, ("talker_config", "text_config"), Q3O_TALKER_TEXT, "talker.model.", None,
                             main=False, comp=SPEECH)
_q3_predictor_stack = text_part(CODE_PREDICTOR, ("talker_config", "code_predictor_config"), Q3O_CODE_PREDICTOR,
                                "talker.code_predictor.model.", None, main=False, comp=SPEECH)


def _resize_mlp(p, width, out):
    yield from linear(p + ".linear_fc1", width, width, SPEECH, True)
    yield from linear(p + ".linear_fc2", out, width, SPEECH, True)


def _q3_talker(c, d, layout):
    """The talker: a MoE decoder over codec tokens (``codec_embedding``, ``codec_head``), text and hidden
    projections from the thinker's width, and the code predictor: a dense Qwen3 decoder with one codec embedding
    and one head per extra code group (``num_code_groups`` - 1)."""
    if c.full.get("enable_audio_output") is False:
        return
    t = filled(sub(c, "talker_config", "text_config"), Q3O_TALKER_TEXT)
    talker = sub(c, "talker_config")
    H, V = pos(t["hidden_size"], "talker text_config.hidden_size"), pos(t["vocab_size"], "talker vocab_size")
    th = pos(talker.get("thinker_hidden_size", 2048), "talker_config.thinker_hidden_size")
    yield from _q3_talker_stack(c, d, layout)
    yield from linear("talker.codec_head", V, H, SPEECH)
    yield from _resize_mlp("talker.text_projection", th, H)
    yield from _resize_mlp("talker.hidden_projection", th, H)
    cp = filled(sub(c, "talker_config", "code_predictor_config"), Q3O_CODE_PREDICTOR)
    groups = pos(talker.get("num_code_groups", cp["num_code_groups"]), "talker_config.num_code_groups")
    if groups > 4096:
        raise PredictionError("talker_config.num_code_groups is out of range")
    cH, cV = pos(cp["hidden_size"], "code_predictor hidden_size"), pos(cp["vocab_size"], "code_predictor vocab_size")
    for name, shape, comp, kind in _q3_predictor_stack(c, d, layout):
        if name == "talker.code_predictor.model.embed_tokens.weight":
            for j in range(groups - 1):
                yield f"talker.code_predictor.model.codec_embedding.{j}.weight", (cV, cH), SPEECH, None
            continue
        yield name, shape, comp, kind
    for j in range(groups - 1):
        yield f"talker.code_predictor.lm_head.{j}.weight", (cV, cH), SPEECH, None


def _q3_code2wav(c, d, layout):
    if c.full.get("enable_audio_output") is False:
        return
    yield from speech.code2wav("code2wav.", sub(c, "code2wav_config"))


FAMILY_LIST.append(
    Composite("qwen3_omni_moe", "Qwen3OmniMoeForConditionalGeneration",
              [_q3_vision, _q3_audio, _q3_thinker_text, _q3_talker, _q3_code2wav],
              source="transformers 5.23 meta-device build of the real Qwen3-Omni-30B-A3B-Instruct config "
                     "(fixtures/oracle/github-report__qwen3-omni-30b-a3b-instruct), equal to the real checkpoint's "
                     "28,010 tensors / 35,259,818,545 parameters"))
