"""Speech-output stacks of omni models (component ``speech_generator``): Qwen2.5-Omni's token2wav (a DiT that turns
codec tokens into a mel spectrogram, with an ECAPA-TDNN speaker encoder, and a BigVGAN vocoder).

Defaults are transformers 5.23's config classes (``Qwen2_5OmniDiTConfig()``, ``Qwen2_5OmniBigVGANConfig()``) for the
fields a config.json leaves out. ``Qwen2_5OmniForConditionalGeneration.enable_talker`` casts token2wav to float32
(``self.token2wav.float()``), so its tensors are F32 whatever the checkpoint dtype.
"""

from __future__ import annotations

from ..classify import SPEECH
from .engine import PredictionError
from .vision_towers import Cfg

S = SPEECH
F32 = "F32"

DIT = {"hidden_size": 1024, "num_hidden_layers": 22, "num_attention_heads": 16, "ff_mult": 2, "emb_dim": 512,
       "head_dim": 64, "num_embeds": 8193, "mel_dim": 80, "enc_emb_dim": 192, "enc_dim": 128,
       "enc_channels": [256, 256, 256, 256, 768], "enc_kernel_sizes": [5, 3, 3, 3, 1],
       "enc_dilations": [1, 2, 3, 4, 1], "enc_attention_channels": 64, "enc_res2net_scale": 2, "enc_se_channels": 64}
BIGVGAN = {"mel_dim": 80, "upsample_initial_channel": 1536, "resblock_kernel_sizes": [3, 7, 11],
           "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], "upsample_rates": [5, 3, 2, 2, 2, 2],
           "upsample_kernel_sizes": [11, 7, 4, 4, 4, 4]}


def _f(name, shape):
    return name, shape, S, F32


def _lin(p, out_f, in_f, bias=True):
    yield _f(p + ".weight", (out_f, in_f))
    if bias:
        yield _f(p + ".bias", (out_f,))


def _conv(p, out_c, in_c, k, bias=True):
    yield _f(p + ".weight", (out_c, in_c, k))
    if bias:
        yield _f(p + ".bias", (out_c,))


def _ints(c, key, n=None, lo=1, hi=1_000_000) -> list:
    v = c.get(key)
    if not isinstance(v, (list, tuple)) or not 0 < len(v) <= 64 or (n is not None and len(v) != n):
        raise PredictionError(f"token2wav config gives no usable value for {key}")
    for x in v:
        if isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi:
            raise PredictionError(f"token2wav config gives no usable value for {key}")
    return list(v)


def dit(p: str, raw: dict | None):
    """``Qwen2_5OmniToken2WavDiTModel``: timestep MLP, codec embedding, input projection with the ECAPA-TDNN speaker
    encoder, DiT blocks (AdaLN-zero modulation, q/k/v/out with biases, a GELU MLP), final AdaLN and ``proj_out``."""
    c = Cfg(raw, DIT, "token2wav dit_config")
    H, mel, heads, hd = c["hidden_size"], c["mel_dim"], c["num_attention_heads"], c["head_dim"]
    inner, ff = heads * hd, H * c["ff_mult"]
    yield from _lin(p + "time_embed.time_mlp.0", H, 256)  # SinusPositionEmbedding: 256 frequencies
    yield from _lin(p + "time_embed.time_mlp.2", H, H)
    yield _f(p + "text_embed.codec_embed.weight", (c["num_embeds"] + 1, c["emb_dim"]))
    yield from _lin(p + "input_embed.proj", H, mel + c["enc_dim"] + c["enc_emb_dim"] + c["emb_dim"])
    ch = _ints(c, "enc_channels")
    ks = _ints(c, "enc_kernel_sizes", len(ch))
    _ints(c, "enc_dilations", len(ch))
    scale, se, att = c["enc_res2net_scale"], c["enc_se_channels"], c["enc_attention_channels"]
    if len(ch) < 2 or any(x % scale for x in ch[1:-1]):
        raise PredictionError("token2wav dit_config: enc_channels do not fit enc_res2net_scale")
    q = p + "input_embed.spk_encoder."
    yield from _conv(q + "blocks.0.conv", ch[0], mel, ks[0])
    for i in range(1, len(ch) - 1):
        b = f"{q}blocks.{i}."
        yield from _conv(b + "tdnn1.conv", ch[i], ch[i - 1], 1)
        for j in range(scale - 1):
            yield from _conv(f"{b}res2net_block.blocks.{j}.conv", ch[i] // scale, ch[i] // scale, ks[i])
        yield from _conv(b + "tdnn2.conv", ch[i], ch[i], 1)
        yield from _conv(b + "se_block.conv1", se, ch[i], 1)
        yield from _conv(b + "se_block.conv2", ch[i], se, 1)
    yield from _conv(q + "mfa.conv", ch[-1], ch[-1], ks[-1])
    yield from _conv(q + "asp.tdnn.conv", att, 3 * ch[-1], 1)
    yield from _conv(q + "asp.conv", ch[-1], att, 1)
    yield from _conv(q + "fc", c["enc_dim"], 2 * ch[-1], 1)
    for i in range(c["num_hidden_layers"]):
        b = f"{p}transformer_blocks.{i}."
        yield from _lin(b + "attn_norm.linear", 6 * H, H)
        for w in ("to_q", "to_k", "to_v"):
            yield from _lin(b + "attn." + w, inner, H)
        yield from _lin(b + "attn.to_out.0", H, inner)
        yield from _lin(b + "ff.ff.0", ff, H)
        yield from _lin(b + "ff.ff.3", H, ff)
    yield from _lin(p + "norm_out.linear", 2 * H, H)
    yield from _lin(p + "proj_out", mel, H)


def _snake(p, ch):
    yield _f(p + ".act.alpha", (ch,))
    yield _f(p + ".act.beta", (ch,))


def bigvgan(p: str, raw: dict | None):
    """``Qwen2_5OmniToken2WavBigVGANModel``: conv_pre, transposed-conv upsamplers halving the channels, per
    upsampler one AMP block per resblock kernel (dilated conv pairs, each with an anti-aliased SnakeBeta), a final
    SnakeBeta and a bias-free conv_post."""
    c = Cfg(raw, BIGVGAN, "token2wav bigvgan_config")
    C0, mel = c["upsample_initial_channel"], c["mel_dim"]
    rates = _ints(c, "upsample_rates")
    kernels = _ints(c, "upsample_kernel_sizes", len(rates))
    rk = _ints(c, "resblock_kernel_sizes")
    dil = c.get("resblock_dilation_sizes")
    if not isinstance(dil, (list, tuple)) or len(dil) != len(rk) or not all(
            isinstance(d, (list, tuple)) and 0 < len(d) <= 16 for d in dil):
        raise PredictionError("token2wav bigvgan_config gives no usable value for resblock_dilation_sizes")
    if C0 >> len(rates) <= 0:
        raise PredictionError("token2wav bigvgan_config: more upsamplers than channel halvings")
    yield from _conv(p + "conv_pre", C0, mel, 7)
    for i, k in enumerate(kernels):
        cin, cout = C0 >> i, C0 >> (i + 1)
        yield _f(f"{p}ups.{i}.0.weight", (cin, cout, k))
        yield _f(f"{p}ups.{i}.0.bias", (cout,))
    r = 0
    for i in range(len(rates)):
        ch = C0 >> (i + 1)
        for k, d in zip(rk, dil):
            b = f"{p}resblocks.{r}."
            for j in range(len(d)):
                yield from _conv(f"{b}convs1.{j}", ch, ch, k)
            for j in range(len(d)):
                yield from _conv(f"{b}convs2.{j}", ch, ch, k)
            for j in range(2 * len(d)):
                yield from _snake(f"{b}activations.{j}", ch)
            r += 1
    last = C0 >> len(rates)
    yield from _snake(p + "activation_post", last)
    yield from _conv(p + "conv_post", 1, last, 7, bias=False)



#: Qwen3OmniMoeCode2WavConfig() (transformers 5.23)
CODE2WAV = {"codebook_size": 2048, "hidden_size": 1024, "num_attention_heads": 16, "num_key_value_heads": 16,
            "intermediate_size": 3072, "num_hidden_layers": 8, "num_quantizers": 16, "upsample_rates": [8, 5, 4, 3],
            "upsampling_ratios": [2, 2], "decoder_dim": 1536}


def _snake2(p, ch, dtype=None):
    yield p + "alpha", (ch,), S, dtype
    yield p + "beta", (ch,), S, dtype


def _c(p, out_c, in_c, k, bias=True):
    yield p + ".weight", (out_c, in_c, k), S, None
    if bias:
        yield p + ".bias", (out_c,), S, None


def code2wav(p: str, raw: dict | None):
    """``Qwen3OmniMoeCode2Wav``: one embedding table for all quantizers (codebook_size x num_quantizers rows), a
    pre-transformer (bias-free q/k/v/o, SwiGLU, RMS norms, per-branch layer scales), ConvNeXt upsamplers (a
    transposed conv per ratio, then depthwise conv, LayerNorm, pointwise MLP and ``gamma``), and the decoder: a
    conv to ``decoder_dim``, one block per upsample rate (SnakeBeta, transposed conv halving the channels, three
    dilated residual units), a final SnakeBeta and a 1-channel conv. In the checkpoint dtype."""
    c = Cfg(raw, CODE2WAV, "code2wav_config")
    H, I, heads = c["hidden_size"], c["intermediate_size"], c["num_attention_heads"]
    kv = c["num_key_value_heads"]
    hd = c["head_dim"] if c.get("head_dim") is not None else H // heads
    yield p + "code_embedding.weight", (c["codebook_size"] * c["num_quantizers"], H), S, None
    for i in range(c["num_hidden_layers"]):
        q = f"{p}pre_transformer.layers.{i}."
        yield q + "self_attn.q_proj.weight", (heads * hd, H), S, None
        yield q + "self_attn.k_proj.weight", (kv * hd, H), S, None
        yield q + "self_attn.v_proj.weight", (kv * hd, H), S, None
        yield q + "self_attn.o_proj.weight", (H, heads * hd), S, None
        yield q + "mlp.gate_proj.weight", (I, H), S, None
        yield q + "mlp.up_proj.weight", (I, H), S, None
        yield q + "mlp.down_proj.weight", (H, I), S, None
        yield q + "input_layernorm.weight", (H,), S, None
        yield q + "post_attention_layernorm.weight", (H,), S, None
        yield q + "self_attn_layer_scale.scale", (H,), S, None
        yield q + "mlp_layer_scale.scale", (H,), S, None
    yield p + "pre_transformer.norm.weight", (H,), S, None
    for i, r in enumerate(_ints(c, "upsampling_ratios")):
        q = f"{p}upsample.{i}."
        yield from _c(q + "0.conv", H, H, r)  # ConvTranspose1d(H, H, r): weight (in, out, k)
        yield from _c(q + "1.dwconv.conv", H, 1, 7)
        yield q + "1.gamma", (H,), S, None
        yield q + "1.norm.weight", (H,), S, None
        yield q + "1.norm.bias", (H,), S, None
        for w, shape in (("1.pwconv1", (4 * H, H)), ("1.pwconv2", (H, 4 * H))):  # Linear layers
            yield q + w + ".weight", shape, S, None
            yield q + w + ".bias", (shape[0],), S, None
    D = c["decoder_dim"]
    rates = _ints(c, "upsample_rates")
    if D >> len(rates) <= 0:
        raise PredictionError("code2wav_config: more upsample rates than channel halvings")
    yield from _c(p + "decoder.0.conv", D, H, 7)
    for i, r in enumerate(rates):
        q = f"{p}decoder.{i + 1}.block."
        cin, cout = D >> i, D >> (i + 1)
        yield from _snake2(q + "0.", cin)
        yield q + "1.conv.weight", (cin, cout, 2 * r), S, None
        yield q + "1.conv.bias", (cout,), S, None
        for j in range(3):  # residual units with dilations 1, 3, 9
            u = f"{q}{j + 2}."
            yield from _snake2(u + "act1.", cout)
            yield from _c(u + "conv1.conv", cout, cout, 7)
            yield from _snake2(u + "act2.", cout)
            yield from _c(u + "conv2.conv", cout, cout, 1)
    last = D >> len(rates)
    n = len(rates) + 1
    yield from _snake2(f"{p}decoder.{n}.", last)
    yield from _c(f"{p}decoder.{n + 1}.conv", 1, last, 7)
