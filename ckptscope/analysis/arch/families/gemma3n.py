"""Gemma 3n (``Gemma3nForConditionalGeneration``): a text model with AltUp, LAuReL, per-layer embeddings and KV
sharing, a USM conformer audio tower, a timm MobileNetV5 vision tower, and one embedder (projector) per tower.

Text model (``model.language_model.*``), per layer: q/k/v/o with per-head q/k norms (the v norm has no weight),
a gated MLP whose width is ``intermediate_size[i]`` (a list: MatFormer), Gemma's four norms, AltUp
(``altup_num_inputs`` = n streams: correction n x n, prediction n^2 x n, router n x H, output scale, router norm),
LAuReL (rank ``laurel_rank``), and the per-layer input gate/projection. Top level: ``embed_tokens``,
``embed_tokens_per_layer`` (vocab_size_per_layer_input x L*hidden_size_per_layer_input), its model projection and
norm, n-1 AltUp projections and n-1 unembed projections. Tied head by default.

KV sharing: the last ``num_kv_shared_layers`` layers reuse another layer's K/V. transformers 5 builds no k/v
projections or k norms for them (``Gemma3nTextAttention``), but lists exactly those names in
``_keys_to_ignore_on_load_unexpected`` because the Hub checkpoints, written by transformers 4.53, carry them.
The rules predict the Hub layout (layout option ``kv_shared_weights``, default True); the transformers-5 layout is
``{"kv_shared_weights": False}`` (what tests/test_arch_oracle.py compares against the meta build).

Embedders (``model.embed_vision`` / ``model.embed_audio``, component ``projector``): an embedding of the tower's
``vocab_size`` soft tokens, hard/soft RMS norms, a projection to the text hidden size (its post-norm has no weight).
"""

from __future__ import annotations

from ...classify import ATTENTION, EMBEDDING, LM_HEAD, MLP, NORM, OTHER, PROJECTOR
from .. import audio_towers, mobilenet
from ..engine import PredictionError, linear, norm

#: Gemma3nTextConfig() defaults (transformers 5.23; the class documents google/gemma-3n-E4B)
TEXT_DEFAULTS = {"vocab_size": 262400, "vocab_size_per_layer_input": 262144, "hidden_size": 2048,
                 "hidden_size_per_layer_input": 256, "intermediate_size": 16384, "num_hidden_layers": 35,
                 "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 256, "laurel_rank": 64,
                 "altup_num_inputs": 4, "num_kv_shared_layers": 15, "attention_bias": False}
EMBEDDER_VOCAB = 128  #: Gemma3nVisionConfig().vocab_size and Gemma3nAudioConfig().vocab_size


def _int(c, key, lo=1):
    v = c.get(key, TEXT_DEFAULTS.get(key))
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or v > 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {key}")
    return v


def _widths(c, L) -> list[int]:
    v = c.get("intermediate_size", TEXT_DEFAULTS["intermediate_size"])
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v] * L
    if not isinstance(v, list) or len(v) != L or not all(
            isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 10_000_000 for x in v):
        raise PredictionError("config.json gives no usable intermediate_size (an int, or one per layer)")
    return v


def text_tensors(c, p: str, tied: bool, kv_shared_weights: bool):
    H, L, V = _int(c, "hidden_size"), _int(c, "num_hidden_layers"), _int(c, "vocab_size")
    nh, kv, hd = _int(c, "num_attention_heads"), _int(c, "num_key_value_heads"), _int(c, "head_dim")
    ple, Vp = _int(c, "hidden_size_per_layer_input"), _int(c, "vocab_size_per_layer_input")
    n, rank = _int(c, "altup_num_inputs"), _int(c, "laurel_rank")
    shared = _int(c, "num_kv_shared_layers", 0)
    bias = bool(c.get("attention_bias", False))
    widths = _widths(c, L)
    first_shared = L - shared
    yield p + "embed_tokens.weight", (V, H), EMBEDDING, None
    for i in range(L):
        q = f"{p}layers.{i}."
        yield from linear(q + "self_attn.q_proj", nh * hd, H, ATTENTION, bias)
        yield from norm(q + "self_attn.q_norm", hd, NORM)
        if i < first_shared or kv_shared_weights:
            yield from linear(q + "self_attn.k_proj", kv * hd, H, ATTENTION, bias)
            yield from linear(q + "self_attn.v_proj", kv * hd, H, ATTENTION, bias)
            yield from norm(q + "self_attn.k_norm", hd, NORM)
        yield from linear(q + "self_attn.o_proj", H, nh * hd, ATTENTION, bias)
        yield from linear(q + "mlp.gate_proj", widths[i], H, MLP)
        yield from linear(q + "mlp.up_proj", widths[i], H, MLP)
        yield from linear(q + "mlp.down_proj", H, widths[i], MLP)
        for nm in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                   "post_feedforward_layernorm"):
            yield from norm(q + nm, H, NORM)
        yield q + "altup.correct_output_scale", (H,), OTHER, None
        yield q + "altup.correction_coefs.weight", (n, n), OTHER, None
        yield q + "altup.prediction_coefs.weight", (n * n, n), OTHER, None
        yield q + "altup.modality_router.weight", (n, H), OTHER, None
        yield from norm(q + "altup.router_norm", H, NORM)
        yield q + "laurel.linear_left.weight", (rank, H), OTHER, None
        yield q + "laurel.linear_right.weight", (H, rank), OTHER, None
        yield from norm(q + "laurel.post_laurel_norm", H, NORM)
        yield q + "per_layer_input_gate.weight", (ple, H), OTHER, None
        yield q + "per_layer_projection.weight", (H, ple), OTHER, None
        yield from norm(q + "post_per_layer_input_norm", H, NORM)
    yield from norm(p + "norm", H, NORM)
    yield p + "embed_tokens_per_layer.weight", (Vp, L * ple), EMBEDDING, None
    yield p + "per_layer_model_projection.weight", (L * ple, H), OTHER, None
    yield from norm(p + "per_layer_projection_norm", ple, NORM)
    for k in range(n - 1):
        yield f"{p}altup_projections.{k}.weight", (H, H), OTHER, None
    for k in range(n - 1):
        yield f"{p}altup_unembed_projections.{k}.weight", (H, H), OTHER, None
    if not tied:
        yield "lm_head.weight", (V, H), LM_HEAD, None


def _embedder(p: str, raw: dict | None, tower_hidden: int, text_hidden: int):
    vocab = (raw or {}).get("vocab_size", EMBEDDER_VOCAB)
    if isinstance(vocab, bool) or not isinstance(vocab, int) or not 0 < vocab <= 10_000_000:
        raise PredictionError("the tower config gives no usable vocab_size")
    yield p + "embedding.weight", (vocab, tower_hidden), PROJECTOR, None
    yield from norm(p + "hard_embedding_norm", tower_hidden, PROJECTOR)
    yield from norm(p + "soft_embedding_norm", tower_hidden, PROJECTOR)
    yield from linear(p + "embedding_projection", text_hidden, tower_hidden, PROJECTOR)


class Gemma3n:
    MODEL_TYPES = ("gemma3n",)
    ARCHITECTURES = ("Gemma3nForConditionalGeneration",)
    TIE_DEFAULT = True
    DEFAULT_DTYPE = "F32"
    DEFAULTS: dict = {}
    SOURCE = ("transformers 5.23 meta-device build with timm 1.0.31 (fixtures/oracle/transformers__gemma3n); "
              "MobileNetV5 block table from timm's mobilenetv5.py")

    def default_layout(self, c):
        return {"kv_shared_weights": True}

    def layout_from_names(self, c, names) -> dict:
        """A checkpoint re-saved by transformers 5 drops the K/V weights of the KV-shared layers."""
        L = c.get("num_hidden_layers", TEXT_DEFAULTS["num_hidden_layers"])
        if isinstance(L, int) and any(n.startswith("model.language_model.layers.") for n in names):
            last = f"model.language_model.layers.{L - 1}.self_attn.k_proj.weight"
            shared = c.get("num_kv_shared_layers", TEXT_DEFAULTS["num_kv_shared_layers"])
            if isinstance(shared, int) and shared > 0:
                return {"kv_shared_weights": last in set(names)}
        return {}

    def tensors(self, d, layout):
        c = d.c
        top = c.full.get("tie_word_embeddings")
        inner = c.raw.get("tie_word_embeddings") if c.raw is not c.full else None
        tied = top if isinstance(top, bool) else inner if isinstance(inner, bool) else True
        d.tied = tied
        yield from text_tensors(c, "model.language_model.", tied, layout.get("kv_shared_weights", True))
        H = _int(c, "hidden_size")
        vraw = c.vision_config or {}
        yield from mobilenet.mobilenet_v5("model.vision_tower.timm_model.", vraw)
        araw = c.audio_config or {}
        yield from audio_towers.gemma3n_audio("model.audio_tower.", araw)
        vh = vraw.get("hidden_size", 2048)
        ah = audio_towers.ACfg(araw, "gemma3n")["hidden_size"]
        yield from _embedder("model.embed_vision.", vraw, vh, H)
        yield from _embedder("model.embed_audio.", araw, ah, H)


class Gemma3nText(Gemma3n):
    """The text model alone (``Gemma3nForCausalLM``, ``model_type`` gemma3n_text): ``model.*`` + ``lm_head``."""

    MODEL_TYPES = ("gemma3n_text",)
    ARCHITECTURES = ("Gemma3nForCausalLM",)
    SOURCE = "transformers 5.23 meta-device build (fixtures/oracle/transformers__gemma3n_text)"

    def layout_from_names(self, c, names) -> dict:
        L = c.get("num_hidden_layers", TEXT_DEFAULTS["num_hidden_layers"])
        shared = c.get("num_kv_shared_layers", TEXT_DEFAULTS["num_kv_shared_layers"])
        if isinstance(L, int) and isinstance(shared, int) and shared > 0 and any(
                n.startswith("model.layers.") for n in names):
            return {"kv_shared_weights": f"model.layers.{L - 1}.self_attn.k_proj.weight" in set(names)}
        return {}

    def tensors(self, d, layout):
        c = d.c
        tie = c.get("tie_word_embeddings")
        d.tied = tie if isinstance(tie, bool) else True
        yield from text_tensors(c, "model.", d.tied, layout.get("kv_shared_weights", True))


FAMILY_LIST = [Gemma3n(), Gemma3nText()]
