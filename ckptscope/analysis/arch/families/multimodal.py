"""Multimodal checkpoints: a text decoder (an existing family, under the prefix these checkpoints use) plus a
vision tower and projector from ``vision_config`` (``towers.py``). Checked against transformers 5.23's meta build
of each config (fixtures/oracle/transformers__<model_type>), whose save-time names are the Hub's.

Llama 4's text model is also a family of its own (``llama4_text``, Llama4ForCausalLM): MoE on the layers that
``interleave_moe_layer_step`` / ``moe_layers`` name (fused ``experts.gate_up_proj`` (E, H, 2I) and ``down_proj``
(E, I, H), a ``router`` and one ``shared_expert``), dense ``feed_forward`` of ``intermediate_size_mlp`` elsewhere;
its q/k norm has no weights.
"""

from __future__ import annotations

from .. import towers
from ..decoder import Spec, SpecFamily
from ..engine import Dims, saved_by
from .defaults import DEFAULTS

LLAMA4_TEXT = Spec(("llama4_text",), ("Llama4ForCausalLM",), "transformers 5.23 meta-device build "
                   "(fixtures/oracle/transformers__llama4, text part)", mlp_name="feed_forward",
                   dense_inter="intermediate_size_mlp", moe="llama4", moe_inter="intermediate_size")
QWEN3_VL_MOE_TEXT = Spec(("qwen3_vl_moe_text",), (), "transformers 5.23 meta-device build "
                         "(fixtures/oracle/transformers__qwen3_vl_moe, text part)", qk_norm="head", moe="fused")


def _text_family(key):
    from . import FAMILIES

    return FAMILIES[key]


def text_dims(c, d, fam, text_key, tie_default):
    """The text decoder's Dims inside a multimodal config; the top-level ``tie_word_embeddings`` wins over the
    text config's, then the family's default. Sets ``d.tied`` to the same answer."""
    td = Dims(c, getattr(fam, "TIE_DEFAULT", False), text_key)
    top = c.full.get("tie_word_embeddings")
    inner = c.raw.get("tie_word_embeddings") if c.raw is not c.full else None
    td.tied = top if isinstance(top, bool) else inner if isinstance(inner, bool) else tie_default
    d.tied = td.tied
    return td


def prefixed(tensors, text_prefix, head_prefix):
    """A text family's tensors renamed under a multimodal checkpoint's prefixes (``model.`` -> text_prefix,
    ``lm_head`` -> head_prefix + ``lm_head``)."""
    for name, shape, comp, kind in tensors:
        if name.startswith("model."):
            name = text_prefix + name[6:]
        elif name.startswith("lm_head"):
            name = head_prefix + name
        yield name, shape, comp, kind


class Multimodal:
    """A text family under a prefix + a vision tower + a projector."""

    def __init__(self, key, arch, text_key, text_defaults, text_prefix, head_prefix, vision, projector=None,
                 tie=False, source="", text_spec=None):
        self.MODEL_TYPES = (key,)
        self.ARCHITECTURES = (arch,)
        self.TIE_DEFAULT = tie
        self.DEFAULT_DTYPE = "F32"
        self.DEFAULTS = DEFAULTS.get(text_defaults, {})
        self.SOURCE = source or f"transformers 5.23 meta-device build (fixtures/oracle/transformers__{key})"
        self.text_key, self.text_prefix, self.head_prefix = text_key, text_prefix, head_prefix
        self.vision, self.projector, self.text_spec = vision, projector, text_spec

    def tensors(self, d, layout):
        c = d.c
        fam = SpecFamily(self.text_spec) if self.text_spec else _text_family(self.text_key)
        td = text_dims(c, d, fam, self.text_key, self.TIE_DEFAULT)
        vraw = c.vision_config
        alt = layout.get("vision_prefix")
        for name, shape, comp, kind in self.vision(vraw):
            if alt and name.startswith(alt[0]):
                name = alt[1] + name[len(alt[0]):]
            yield name, shape, comp, kind
        if self.projector:
            yield from self.projector(vraw, td)
        yield from prefixed(fam.tensors(td, layout), self.text_prefix, self.head_prefix)


_SIGLIP_4X = {"vision_prefix": ("vision_tower.", "vision_tower.vision_model.")}


def _gemma3_layout(c, names) -> dict:
    """Gemma 3 checkpoints saved by transformers 4.x name the SigLIP tower ``vision_tower.vision_model.*``."""
    if any(n.startswith("vision_tower.vision_model.") for n in names):
        return dict(_SIGLIP_4X)
    return {"vision_prefix": None} if names else {}


def _gemma3_default(c) -> dict:
    """Config only: a config.json written by transformers 4.x comes with the 4.x tower names (real Hub repos:
    google/gemma-3-*, medgemma; fixtures/real_index/Ibtasam-98__medgemma-27b-it)."""
    v = saved_by(c)
    return dict(_SIGLIP_4X) if v is not None and v < (5, 0) else {}


def _merge(c):
    v = c.full.get("spatial_merge_size")
    return v if isinstance(v, int) and v > 0 else 2


FAMILY_LIST = [
    SpecFamily(LLAMA4_TEXT),
    Multimodal("gemma3", "Gemma3ForConditionalGeneration", "gemma3_text", "gemma3_text", "language_model.model.",
               "language_model.", lambda v: towers.siglip("vision_tower.", v),
               lambda v, td: towers.gemma3_projector("multi_modal_projector.", v, td.H), tie=True),
    Multimodal("llama4", "Llama4ForConditionalGeneration", "llama4_text", "llama4_text", "language_model.model.",
               "language_model.", lambda v: towers.llama4_vision("vision_model.", v),
               lambda v, td: towers.llama4_projector("multi_modal_projector.", v, td.H), text_spec=LLAMA4_TEXT),
    Multimodal("qwen2_vl", "Qwen2VLForConditionalGeneration", "qwen2", "qwen2_vl_text", "model.", "",
               lambda v: towers.qwen_vl_vision("visual.", v, "qwen2_vl")),
    Multimodal("qwen2_5_vl", "Qwen2_5_VLForConditionalGeneration", "qwen2", "qwen2_5_vl_text", "model.", "",
               lambda v: towers.qwen_vl_vision("visual.", v, "qwen2_5_vl")),
    Multimodal("qwen3_vl", "Qwen3VLForConditionalGeneration", "qwen3", "qwen3_vl_text", "model.language_model.", "",
               lambda v: towers.qwen_vl_vision("model.visual.", v, "qwen3_vl")),
    Multimodal("qwen3_vl_moe", "Qwen3VLMoeForConditionalGeneration", "qwen3_vl_moe_text", "qwen3_vl_moe_text",
               "model.language_model.", "", lambda v: towers.qwen_vl_vision("model.visual.", v, "qwen3_vl"),
               text_spec=QWEN3_VL_MOE_TEXT),
]


class _Mistral3(Multimodal):
    def tensors(self, d, layout):
        c = d.c
        bias = bool(c.full.get("multimodal_projector_bias", False))
        self.projector = lambda v, td: towers.mistral3_projector("multi_modal_projector.", v, td.H, _merge(c), bias)
        yield from super().tensors(d, layout)


FAMILY_LIST[1].layout_from_names = _gemma3_layout
FAMILY_LIST[1].default_layout = _gemma3_default

FAMILY_LIST.append(_Mistral3("mistral3", "Mistral3ForConditionalGeneration", "mistral", "mistral3", "language_model.model.",
                             "language_model.", lambda v: towers.pixtral("vision_tower.", v)))
