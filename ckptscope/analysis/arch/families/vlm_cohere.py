"""Cohere's vision-language checkpoints (``cohere2_vision``: Command A Vision, and its MoE successor whose
``text_config`` is a ``cohere2_moe`` decoder): a SigLIP tower without pooling head unless the config asks for it,
a pixel-shuffle projector (``linear_1``: vision width x ``downsample_factor``^2 -> ``alignment_intermediate_size``,
SwiGLU halves it, ``linear_2`` to the text width; biases on both; no layer norm, unlike Aya Vision), and the
text decoder named by ``text_config.model_type`` under ``model.language_model.`` with ``lm_head`` at the top
(tied by default: Cohere2VisionConfig's ``tie_word_embeddings`` is True).

Checked against transformers 5.23's meta-device build (fixtures/oracle/transformers__cohere2_vision*: the
class defaults with fewer text layers, and a cohere2_moe text variant).
"""

from __future__ import annotations

from ...classify import PROJECTOR
from .. import towers
from ..engine import PredictionError, linear
from .defaults import DEFAULTS
from .multimodal import prefixed, text_dims
from .vlm import SIGLIP_CLASS, _pos, _vdef

#: Cohere2VisionConfig()'s vision sub-config (SiglipVisionConfig with these init kwargs; the rest class defaults)
COHERE2_VISION = ({**SIGLIP_CLASS, "hidden_size": 1152, "intermediate_size": 3072, "image_size": 512,
                   "num_hidden_layers": 27}, SIGLIP_CLASS)
TEXT_FAMILIES = ("cohere2", "cohere2_moe", "cohere")


class Cohere2Vision:
    MODEL_TYPES = ("cohere2_vision",)
    ARCHITECTURES = ("Cohere2VisionForConditionalGeneration",)
    TIE_DEFAULT = True
    DEFAULT_DTYPE = "F32"
    SOURCE = "transformers 5.23 meta-device build (fixtures/oracle/transformers__cohere2_vision*)"

    @property
    def DEFAULTS(self):  # the text decoder's defaults (cohere2's; a cohere2_moe text_config brings its own keys)
        return DEFAULTS["cohere2"]

    def default_layout(self, c):
        return {}

    def _text_key(self, c) -> str:
        mt = (c.full.get("text_config") or {}).get("model_type") or "cohere2"
        if mt not in TEXT_FAMILIES:
            raise PredictionError(f"text_config.model_type {mt!r} is not a Cohere decoder ckptscope knows")
        return mt

    def tensors(self, d, layout):
        from . import FAMILIES

        c = d.c
        key = self._text_key(c)
        fam = FAMILIES[key]
        td = text_dims(c, d, fam, key, self.TIE_DEFAULT)
        v = _vdef(c, COHERE2_VISION)
        yield from towers.siglip("model.vision_tower.", v)
        f = _pos(c.full.get("downsample_factor", 2), "downsample_factor")
        mid = _pos(c.full.get("alignment_intermediate_size", 36864), "alignment_intermediate_size")
        vh = _pos(v.get("hidden_size"), "vision_config.hidden_size")
        yield from linear("model.multi_modal_projector.linear_1", mid, vh * f * f, PROJECTOR, True)
        yield from linear("model.multi_modal_projector.linear_2", td.H, mid // 2, PROJECTOR, True)
        yield from prefixed(fam.tensors(td, layout), "model.language_model.", "")


FAMILY_LIST = [Cohere2Vision()]
