"""T5 encoder-decoder: one ``shared`` embedding (the encoder's and decoder's embed_tokens are tied to it and not
stored; ``lm_head`` too unless ``tie_word_embeddings`` is false, as in T5 v1.1), bias-free q/k/v/o projections
(inner = num_heads * d_kv), relative position bias (num_buckets x heads) in the first block of each stack only,
RMS-style layer norms without bias, ``DenseReluDense`` wi/wo (gated ``wi_0``/``wi_1`` for gated-gelu).
The decoder block adds cross-attention (``EncDecAttention``) as layer 1 and moves the FFN to layer 2.
"""

from ...classify import ATTENTION, EMBEDDING, LM_HEAD, MLP, NORM, POSITION
from ..engine import linear, norm

MODEL_TYPES = ("t5", "mt5", "umt5")
TIE_DEFAULT = True
DEFAULT_DTYPE = "F32"


def _attn(p, d, inner, rel):
    for w in ("q", "k", "v"):
        yield from linear(f"{p}.{w}", inner, d.H, ATTENTION)
    yield from linear(p + ".o", d.H, inner, ATTENTION)
    if rel:
        yield p + ".relative_attention_bias.weight", (int(d.get("relative_attention_num_buckets") or 32), d.nh), \
            POSITION, None


def _ff(p, d):
    gated = str(d.get("feed_forward_proj") or "relu").startswith("gated-")
    for w in (("wi_0", "wi_1") if gated else ("wi",)):
        yield from linear(f"{p}.DenseReluDense.{w}", d.I, d.H, MLP)
    yield from linear(p + ".DenseReluDense.wo", d.H, d.I, MLP)
    yield from norm(p + ".layer_norm", d.H, NORM)


def tensors(d, layout):
    d.need("H", "L", "nh", "hd", "I", "V")
    inner = d.nh * d.hd
    per_layer_rel = d.mt == "umt5"  # UMT5 has a relative bias in every block
    yield "shared.weight", (d.V, d.H), EMBEDDING, None
    encoder_only = "T5EncoderModel" in d.c.architectures  # e.g. the text_encoder_2 of SD3 / Flux pipelines
    stacks = (("encoder", d.L),) if encoder_only else (("encoder", d.L), ("decoder", d.c.num_decoder_layers or d.L))
    for stack, n in stacks:
        for i in range(n):
            p = f"{stack}.block.{i}.layer"
            yield from _attn(p + ".0.SelfAttention", d, inner, i == 0 or per_layer_rel)
            yield from norm(p + ".0.layer_norm", d.H, NORM)
            if stack == "decoder":
                yield from _attn(p + ".1.EncDecAttention", d, inner, False)
                yield from norm(p + ".1.layer_norm", d.H, NORM)
            yield from _ff(f"{p}.{2 if stack == 'decoder' else 1}", d)
        yield from norm(f"{stack}.final_layer_norm", d.H, NORM)
    if not d.tied and not encoder_only:
        yield from linear("lm_head", d.V, d.H, LM_HEAD, kind=None)
