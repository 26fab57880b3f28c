"""Vision-language checkpoints built from a text family + a vision tower + a projector: LLaVA, LLaVA-NeXT,
LLaVA-OneVision, PaliGemma, Idefics3 / SmolVLM, InternVL (transformers' ``-hf`` layout).

``Towered`` is the shared shape (also used by ``audio.py``): the text decoder is an existing family under the
prefix these checkpoints use (``language_model.model.`` + ``language_model.lm_head``, or ``model.text_model.`` +
``lm_head``), and each tower / projector is a generator of its own. Defaults for the text, vision and top-level
fields a config.json leaves out are those of transformers 5.23's ``<Family>Config()`` (the sub-configs it builds).

Hub layout vs transformers 5: checkpoints written by transformers 4.x (the Hub's llava-hf, PaliGemma and
LLaVA-OneVision repos) name a CLIP/SigLIP tower ``vision_tower.vision_model.*``; transformers 5 saves it as
``vision_tower.*`` (``conversion_mapping.py``: ``PrefixChange(prefix_to_remove="vision_model")``). The rules predict
the Hub layout (layout ``vision_model``: True) and read the choice off real names when headers are present;
tests/test_arch_oracle.py compares the transformers-5 layout (``vision_model``: False) with the meta build.
"""

from __future__ import annotations

from ...classify import PROJECTOR, VISION
from .. import towers, vision_towers
from ..engine import PredictionError, linear, norm
from .defaults import DEFAULTS
from .multimodal import prefixed, text_dims


def _text_family(key):
    from . import FAMILIES

    return FAMILIES[key]


def _pos(v, what):
    if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {what}")
    return v


class Towered:
    """A text family under a prefix + towers/projectors; ``parts`` are callables ``(config, text_dims, layout)``
    yielding tensors in the engine's format."""

    DEFAULT_DTYPE = "F32"

    def __init__(self, key, arch, text_key, text_defaults, text_prefix, head_prefix, parts, tie=False, source="",
                 hub_layout=None):
        self.MODEL_TYPES = (key,)
        self.ARCHITECTURES = (arch,) if isinstance(arch, str) else tuple(arch)
        self.TIE_DEFAULT = tie
        self.DEFAULTS = text_defaults
        self.SOURCE = source or f"transformers 5.23 meta-device build (fixtures/oracle/*{key}*)"
        self.text_key, self.text_prefix, self.head_prefix, self.parts = text_key, text_prefix, head_prefix, parts
        self.hub_layout = hub_layout or {}

    def default_layout(self, c):
        return dict(self.hub_layout)

    def layout_from_names(self, c, names) -> dict:
        if "vision_model" in self.hub_layout:
            tower = [n for n in names if n.startswith("vision_tower.")]
            if tower:
                return {"vision_model": any(n.startswith("vision_tower.vision_model.") for n in tower)}
        return {}

    def tensors(self, d, layout):
        c = d.c
        fam = _text_family(self.text_key)
        td = text_dims(c, d, fam, self.text_key, self.TIE_DEFAULT)
        for part in self.parts:
            yield from part(c, td, layout)
        yield from prefixed(fam.tensors(td, layout), self.text_prefix, self.head_prefix)


def _tower_prefix(layout) -> str:
    return "vision_tower.vision_model." if layout.get("vision_model", True) else "vision_tower."


def _vdef(c, defaults):
    """The vision config over its defaults. ``defaults`` is (config absent, config given): a family config
    composes its own vision config when config.json has none (LLaVA: CLIP ViT-L/336), but builds the tower's
    config class from a given dict, whose missing fields then take that class's defaults (CLIPVisionConfig())."""
    absent, given = defaults
    raw = c.vision_config
    return {**(given if raw is not None else absent), **{k: v for k, v in (raw or {}).items() if v is not None}}


def _feature_layers(c) -> int:
    """LLaVA concatenates the features of every layer ``vision_feature_layer`` lists."""
    v = c.full.get("vision_feature_layer", -2)
    return len(v) if isinstance(v, list) and v else 1


# ---- defaults: transformers 5.23 <Family>Config() sub-configs (fields the rules read) -------------------------

LLAMA_7B = {"vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 32, "head_dim": 128, "attention_bias": False,
            "mlp_bias": False}
QWEN2_7B = {"vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 22016, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 32}
GEMMA_2B = {"vocab_size": 257152, "hidden_size": 2048, "intermediate_size": 16384, "num_hidden_layers": 18,
            "num_attention_heads": 8, "num_key_value_heads": 1, "head_dim": 256, "attention_bias": False}
#: CLIPVisionConfig() / SiglipVisionConfig(): the defaults of a vision_config dict that config.json gives
CLIP_CLASS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_channels": 3,
              "image_size": 224, "patch_size": 32}
SIGLIP_CLASS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_channels": 3,
                "image_size": 224, "patch_size": 16, "vision_use_head": True}
#: (vision config the family composes when config.json has none, class defaults when it has one)
CLIP_L336 = ({"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_channels": 3,
              "image_size": 336, "patch_size": 14}, CLIP_CLASS)
SIGLIP_ONEVISION = ({"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 26, "num_channels": 3,
                     "image_size": 384, "patch_size": 14, "vision_use_head": False}, SIGLIP_CLASS)
SIGLIP_PALIGEMMA = ({"hidden_size": 1152, "intermediate_size": 4096, "num_hidden_layers": 27, "num_channels": 3,
                     "image_size": 224, "patch_size": 14, "vision_use_head": False}, SIGLIP_CLASS)
_IDEFICS3 = {"hidden_size": 1152, "intermediate_size": 3072, "num_hidden_layers": 12, "num_channels": 3,
             "image_size": 224, "patch_size": 32, "vision_use_head": False}  # Idefics3VisionConfig(): no head
IDEFICS3_VISION = (_IDEFICS3, _IDEFICS3)
_INTERNVIT = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_channels": 3,
              "image_size": 448, "patch_size": 14, "attention_bias": False, "use_qk_norm": False,
              "use_absolute_position_embeddings": True, "norm_type": "layer_norm", "use_mean_pooling": True,
              "use_mask_token": False}  # InternVLVisionConfig()
INTERNVIT_300M = (_INTERNVIT, _INTERNVIT)


# ---- parts ------------------------------------------------------------------------------------------------

def clip_part(defaults):
    def part(c, td, layout):
        yield from vision_towers.clip_vision(_tower_prefix(layout), _vdef(c, defaults), {})
    return part


def siglip_part(defaults, prefix=None):
    def part(c, td, layout):
        yield from towers.siglip(prefix or _tower_prefix(layout), _vdef(c, defaults))
    return part


def llava_projector(defaults, newline=False):
    """``multi_modal_projector.linear_1`` (vision features -> text) and ``linear_2``, biased unless
    ``multimodal_projector_bias`` is false; LLaVA-NeXT/OneVision add the ``image_newline`` vector."""
    def part(c, td, layout):
        vh = _pos(_vdef(c, defaults).get("hidden_size"), "vision_config.hidden_size")
        bias = c.full.get("multimodal_projector_bias", True) is not False
        H = td.H
        yield from linear("multi_modal_projector.linear_1", H, vh * _feature_layers(c), PROJECTOR, bias)
        yield from linear("multi_modal_projector.linear_2", H, H, PROJECTOR, bias)
        if newline:
            yield "image_newline", (H,), VISION, None
    return part


def paligemma_projector(c, td, layout):
    v = _vdef(c, SIGLIP_PALIGEMMA)
    out = v.get("projection_dim", c.full.get("projection_dim", 2048))
    yield from linear("multi_modal_projector.linear", _pos(out, "projection_dim"),
                      _pos(v.get("hidden_size"), "vision_config.hidden_size"), PROJECTOR, True)


def idefics3_connector(c, td, layout):
    v = _vdef(c, IDEFICS3_VISION)
    s = _pos(c.full.get("scale_factor", 2), "scale_factor")
    yield from linear("model.connector.modality_projection.proj", td.H,
                      _pos(v.get("hidden_size"), "vision_config.hidden_size") * s * s, PROJECTOR)


def internvit_part(c, td, layout):
    yield from vision_towers.internvit("vision_tower.", _vdef(c, INTERNVIT_300M), {})


def internvl_projector(c, td, layout):
    v = _vdef(c, INTERNVIT_300M)
    ratio = c.full.get("downsample_ratio", 0.5)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        raise PredictionError("config.json gives no usable value for downsample_ratio")
    n = _pos(v.get("hidden_size"), "vision_config.hidden_size") * int(1 / ratio) ** 2
    yield from norm("multi_modal_projector.layer_norm", n, PROJECTOR, True)
    yield from linear("multi_modal_projector.linear_1", td.H, n, PROJECTOR, True)
    yield from linear("multi_modal_projector.linear_2", td.H, td.H, PROJECTOR, True)


def aya_projector(c, td, layout):
    """Aya Vision: pixel-shuffle by ``downsample_factor``, a layer norm, then a SwiGLU MLP
    (``linear_1`` to ``alignment_intermediate_size``, ``linear_2`` from half of it), biases throughout."""
    v = _vdef(c, AYA_VISION)
    f = _pos(c.full.get("downsample_factor", 2), "downsample_factor")
    n = _pos(v.get("hidden_size"), "vision_config.hidden_size") * f * f
    mid = _pos(c.full.get("alignment_intermediate_size", td.H), "alignment_intermediate_size")
    yield from norm("multi_modal_projector.layernorm", n, PROJECTOR, True)
    yield from linear("multi_modal_projector.linear_1", mid, n, PROJECTOR, True)
    yield from linear("multi_modal_projector.linear_2", td.H, mid // 2, PROJECTOR, True)


#: AyaVisionConfig(): a SigLIP without head (its default of 14 heads does not divide 1152: not buildable as is)
AYA_VISION = ({"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 26, "num_channels": 3,
               "image_size": 384, "patch_size": 14, "vision_use_head": False}, SIGLIP_CLASS)

_SRC = "transformers 5.23 meta-device build (fixtures/oracle/{}); Hub layout: vision_tower.vision_model.*"
HUB4 = {"vision_model": True}

FAMILY_LIST = [
    Towered("llava", "LlavaForConditionalGeneration", "llama", LLAMA_7B, "language_model.model.", "language_model.",
            [clip_part(CLIP_L336), llava_projector(CLIP_L336)], hub_layout=HUB4),
    Towered("llava_next", "LlavaNextForConditionalGeneration", "llama", LLAMA_7B, "language_model.model.",
            "language_model.", [clip_part(CLIP_L336), llava_projector(CLIP_L336, newline=True)], hub_layout=HUB4),
    Towered("llava_onevision", "LlavaOnevisionForConditionalGeneration", "qwen2", QWEN2_7B, "language_model.model.",
            "language_model.", [siglip_part(SIGLIP_ONEVISION), llava_projector(SIGLIP_ONEVISION, newline=True)],
            hub_layout=HUB4),
    Towered("paligemma", "PaliGemmaForConditionalGeneration", "gemma", GEMMA_2B, "language_model.model.",
            "language_model.", [siglip_part(SIGLIP_PALIGEMMA), paligemma_projector], tie=True, hub_layout=HUB4),
    Towered("idefics3", "Idefics3ForConditionalGeneration", "llama", LLAMA_7B, "model.text_model.", "",
            [siglip_part(IDEFICS3_VISION, "model.vision_model."), idefics3_connector]),
    Towered("smolvlm", "SmolVLMForConditionalGeneration", "llama", LLAMA_7B, "model.text_model.", "",
            [siglip_part(IDEFICS3_VISION, "model.vision_model."), idefics3_connector]),
    Towered("internvl", "InternVLForConditionalGeneration", "qwen2", QWEN2_7B, "language_model.model.",
            "language_model.", [internvit_part, internvl_projector], tie=True),
    Towered("aya_vision", "AyaVisionForConditionalGeneration", "cohere2", DEFAULTS["cohere2"],
            "language_model.model.", "language_model.", [siglip_part(AYA_VISION), aya_projector], tie=True,
            hub_layout=HUB4),
]


# ---- Mllama (Llama 3.2 Vision) ----------------------------------------------------------------------------

#: MllamaTextConfig() / MllamaVisionConfig() defaults (transformers 5.23; the classes document Llama-3.2-11B-Vision)
MLLAMA_TEXT = {"vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 40,
               "num_attention_heads": 32, "num_key_value_heads": 8,
               "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38]}
MLLAMA_VISION = {"hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32, "num_global_layers": 8,
                 "num_channels": 3, "image_size": 448, "patch_size": 14, "max_num_tiles": 4,
                 "vision_output_dim": 7680,
                 "supported_aspect_ratios": [[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [3, 1], [4, 1]]}


def _mllama_vision_layer(q, H, I, gated):
    for w in ("q_proj", "k_proj", "v_proj", "o_proj"):
        yield from linear(q + "self_attn." + w, H, H, VISION)
    yield from linear(q + "mlp.fc1", I, H, VISION, True)
    yield from linear(q + "mlp.fc2", H, I, VISION, True)
    yield from norm(q + "input_layernorm", H, VISION, True)
    yield from norm(q + "post_attention_layernorm", H, VISION, True)
    if gated:
        yield q + "gate_attn", (1,), VISION, None
        yield q + "gate_ffn", (1,), VISION, None


def mllama_vision(p: str, raw: dict | None):
    """Mllama's vision model: class token, gated learned positions plus per-aspect-ratio tile embeddings
    (``len(supported_aspect_ratios) + 1`` rows), pre/post tile position embeddings, a local transformer of
    ``num_hidden_layers`` and a gated global transformer of ``num_global_layers``."""
    c = vision_towers.Cfg(raw, MLLAMA_VISION)
    H, I, ch, ps = c["hidden_size"], c["intermediate_size"], c["num_channels"], c["patch_size"]
    tiles = c["max_num_tiles"]
    ratios = c.get("supported_aspect_ratios")
    if not isinstance(ratios, list) or not 0 < len(ratios) <= 10_000:
        raise PredictionError("vision_config gives no usable supported_aspect_ratios")
    n = (c["image_size"] // ps) ** 2 + 1
    rows = len(ratios) + 1
    yield p + "class_embedding", (H,), VISION, None
    yield p + "gated_positional_embedding.embedding", (n, H), VISION, None
    yield p + "gated_positional_embedding.gate", (1,), VISION, None
    yield p + "gated_positional_embedding.tile_embedding.weight", (rows, tiles * n * H), VISION, None
    yield p + "patch_embedding.weight", (H, ch, ps, ps), VISION, None
    for t in ("pre", "post"):
        yield f"{p}{t}_tile_positional_embedding.embedding.weight", (rows, tiles * H), VISION, None
        yield f"{p}{t}_tile_positional_embedding.gate", (1,), VISION, None
    yield from norm(p + "layernorm_pre", H, VISION, True)
    yield from norm(p + "layernorm_post", H, VISION, True)
    for i in range(c["num_hidden_layers"]):
        yield from _mllama_vision_layer(f"{p}transformer.layers.{i}.", H, I, False)
    for i in range(c["num_global_layers"]):
        yield from _mllama_vision_layer(f"{p}global_transformer.layers.{i}.", H, I, True)


class Mllama:
    """Llama 3.2 Vision (``MllamaForConditionalGeneration``): the text model's ``cross_attention_layers`` replace
    self-attention by gated cross-attention to the image (q/k norms per head, two scalar gates); the token
    embedding has 8 extra rows (``vocab_size + 8``: the image tokens); the projector maps ``vision_output_dim``
    (the final plus intermediate-layer features) to the text width, with a bias."""

    MODEL_TYPES = ("mllama",)
    ARCHITECTURES = ("MllamaForConditionalGeneration",)
    TIE_DEFAULT = False
    DEFAULT_DTYPE = "F32"
    DEFAULTS = MLLAMA_TEXT
    SOURCE = "transformers 5.23 meta-device build (fixtures/oracle/*mllama*)"

    def tensors(self, d, layout):
        from ...classify import ATTENTION, EMBEDDING, LM_HEAD, MLP, NORM
        from ..engine import glu_mlp, gqa_attention

        c = d.c
        vraw = c.vision_config
        yield from mllama_vision("vision_model.", vraw)
        v = vision_towers.Cfg(vraw, MLLAMA_VISION)
        d.need("H", "L", "nh", "kv", "hd", "I", "V")
        yield from linear("multi_modal_projector", d.H, v["vision_output_dim"], PROJECTOR, True)
        cross = c.get("cross_attention_layers")
        if not isinstance(cross, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in cross):
            raise PredictionError("text_config gives no usable cross_attention_layers")
        cross = set(cross)
        p = "language_model.model."
        yield p + "embed_tokens.weight", (d.V + 8, d.H), EMBEDDING, None
        for i in range(d.L):
            q = f"{p}layers.{i}."
            if i in cross:
                yield from gqa_attention(q + "cross_attn", d, ATTENTION)
                yield from norm(q + "cross_attn.q_norm", d.hd, NORM)
                yield from norm(q + "cross_attn.k_norm", d.hd, NORM)
                yield q + "cross_attn_attn_gate", (1,), ATTENTION, None
                yield q + "cross_attn_mlp_gate", (1,), MLP, None
            else:
                yield from gqa_attention(q + "self_attn", d, ATTENTION)
            yield from glu_mlp(q + "mlp", d.H, d.I, MLP)
            yield from norm(q + "input_layernorm", d.H, NORM)
            yield from norm(q + "post_attention_layernorm", d.H, NORM)
        yield from norm(p + "norm", d.H, NORM)
        top = c.full.get("tie_word_embeddings")
        d.tied = top if isinstance(top, bool) else bool(c.raw.get("tie_word_embeddings", False))
        if not d.tied:
            yield from linear("language_model.lm_head", d.V, d.H, LM_HEAD, kind=None)


FAMILY_LIST.append(Mllama())
