"""Qwen3.5 (``qwen3_5`` dense, ``qwen3_5_moe`` MoE): Qwen3-Next's hybrid decoder (gated DeltaNet linear attention
on most layers, gated full attention with q/k norms every ``full_attention_interval``-th, ``layer_types`` when
given) and natively multimodal, with Qwen3-VL's vision tower without the deepstack mergers.

- ``Qwen3_5ForConditionalGeneration`` / ``Qwen3_5MoeForConditionalGeneration``: ``model.visual.*`` (the Qwen3-VL
  tower of ``towers.qwen_vl_vision``, no ``deepstack_merger_list``), the decoder under ``model.language_model.``,
  ``lm_head`` at the top (untied unless ``tie_word_embeddings``, as Qwen3.5-0.8B ... 4B say);
- ``Qwen3_5ForCausalLM`` / ``Qwen3_5MoeForCausalLM`` (``qwen3_5_text`` / ``qwen3_5_moe_text``): the decoder alone.

The DeltaNet keeps its four input projections apart (``in_proj_qkv``, ``in_proj_z``, ``in_proj_b``,
``in_proj_a``; ``Spec.deltanet_split``); the MoE is Qwen3-Next's (router ``gate``, ``shared_expert`` and its
``shared_expert_gate``) on every layer (the MoE config class has no ``decoder_sparse_step`` / ``mlp_only_layers``).

Layout (what a config cannot settle; ``layout_from_names`` reads it off real tensor names):

- ``mtp``: Hub checkpoints store ``mtp_num_hidden_layers`` MTP layer(s) as ``mtp.*`` (Qwen3-Next's layout:
  ``mtp.fc``, two pre-fc norms, a full-attention layer, ``mtp.norm``); transformers builds none;
- ``fused_experts`` (MoE): the Hub files hold the main stack's experts as 3-D ``mlp.experts.gate_up_proj``
  (E, 2 x moe width, H) and ``mlp.experts.down_proj`` (E, H, moe width), the MTP layer's experts one by one
  (``mtp.layers.0.mlp.experts.<j>.*``); transformers 5 saves a model it built itself with per-expert names
  (its qwen2_moe conversion reverted);
- ``lm_prefix`` (text-only classes): the decoder under ``model.language_model.`` (a text-only checkpoint re-saved
  from a multimodal one: transformers strips the prefix on load and puts it back on save) or ``model.`` (built
  from a text config).

Checked against transformers 5.23's meta build (fixtures/oracle/Qwen__Qwen3.5-0.8B,
AEON-7__Ornith-1.0-35B-AEON-Ultimate-Uncensored-BF16 (a Qwen3.5-35B-A3B fine-tune), transformers__qwen3_5_text,
transformers__qwen3_5_moe_text).
"""

from __future__ import annotations

from dataclasses import replace

from .. import towers
from ...classify import EMBEDDING, LM_HEAD, NORM
from ..decoder import CustomFamily, Spec, decoder_layer, mtp_layers
from ..engine import linear, norm
from ..schedule import mixer_kinds
from .defaults import DEFAULTS
from .multimodal import text_dims

TF = "transformers 5.23 meta-device build (fixtures/oracle/{})"
LM = "model.language_model."


def _spec(mt: str, arch: str, moe: bool, oracle: str) -> Spec:
    return Spec((mt,), (arch,), TF.format(oracle), qk_norm="head", q_gate=True, hybrid=True,
                recurrent="gated_deltanet", deltanet_split=True, mtp="qwen3_next",
                moe="experts" if moe else None, shared="shared_expert" if moe else None,
                shared_inter="shared_expert_intermediate_size" if moe else None)


QWEN3_5_TEXT = _spec("qwen3_5_text", "Qwen3_5ForCausalLM", False, "transformers__qwen3_5_text")
QWEN3_5_MOE_TEXT = _spec("qwen3_5_moe_text", "Qwen3_5MoeForCausalLM", True, "transformers__qwen3_5_moe_text")


def _text(s: Spec, d, layout):
    """The decoder (+ head, + MTP): every layer's mixer from ``layer_types`` / ``full_attention_interval``, a
    dense MLP or the MoE block on every layer."""
    d.layout = layout
    d.need("H", "L", "V", "nh", "kv", "hd")
    moe = s.moe is not None
    if moe:
        d.need("E")
    root = LM if layout.get("lm_prefix", True) else "model."
    main = replace(s, root=root, moe="fused" if moe and layout.get("fused_experts", True) else s.moe)
    yield root + "embed_tokens.weight", (d.V, d.H), EMBEDDING, None
    for i, mix in enumerate(mixer_kinds(d, "gated_deltanet")):
        yield from decoder_layer(d, main, i, mix, "moe" if moe else "dense", layout)
    yield from norm(root + "norm", d.H, NORM)
    if not d.tied:
        yield from linear("lm_head", d.V, d.H, LM_HEAD, kind=None)
    if layout.get("mtp", True):
        yield from mtp_layers(s, d)  # the MTP layer's experts stay per-expert in the Hub files


def default_layout(c) -> dict:
    return {"mtp": True, "fused_experts": True, "lm_prefix": True}


def layout_from_names(c, names) -> dict:
    names = list(names)
    return {"mtp": any(n.startswith("mtp.") for n in names),
            "fused_experts": any(".mlp.experts.gate_up_proj" in n for n in names if not n.startswith("mtp.")),
            "lm_prefix": any(n.startswith(LM) for n in names) or not names}


def layer_kinds(d) -> list[str]:
    return mixer_kinds(d, "gated_deltanet")


class _Text(CustomFamily):
    def __init__(self, spec):
        super().__init__(spec, _text, default_layout, layout_from_names)
        self.layer_kinds = layer_kinds


class Qwen35Multimodal:
    """Vision tower + the Qwen3.5 decoder under ``model.language_model.``, ``lm_head`` at the top."""

    TIE_DEFAULT = False  # Qwen3_5Config / Qwen3_5MoeConfig: tie_word_embeddings False
    DEFAULT_DTYPE = "F32"

    def __init__(self, key: str, arch: str, text: Spec, oracle: str):
        self.MODEL_TYPES = (key,)
        self.ARCHITECTURES = (arch,)
        self.SOURCE = TF.format(oracle)
        self.text = text
        self.DEFAULTS = DEFAULTS[text.model_types[0]]

    def default_layout(self, c):
        return default_layout(c)

    def layout_from_names(self, c, names):
        return {**layout_from_names(c, names), "lm_prefix": True}

    def layer_kinds(self, d):
        return layer_kinds(d)

    def tensors(self, d, layout):
        c = d.c
        td = text_dims(c, d, self, self.text.model_types[0], self.TIE_DEFAULT)
        # Qwen3_5VisionConfig drops Qwen3-VL's deepstack_visual_indexes (and the model its mergers), whatever the
        # config.json says (Hub configs carry "deepstack_visual_indexes": [])
        v = {**(c.vision_config or {}), "deepstack_visual_indexes": []}
        yield from towers.qwen_vl_vision("model.visual.", v, "qwen3_vl")
        yield from _text(self.text, td, {**layout, "lm_prefix": True})


FAMILY_LIST = [
    _Text(QWEN3_5_TEXT),
    _Text(QWEN3_5_MOE_TEXT),
    Qwen35Multimodal("qwen3_5", "Qwen3_5ForConditionalGeneration", QWEN3_5_TEXT, "Qwen__Qwen3.5-0.8B"),
    Qwen35Multimodal("qwen3_5_moe", "Qwen3_5MoeForConditionalGeneration", QWEN3_5_MOE_TEXT,
                     "AEON-7__Ornith-1.0-35B-AEON-Ultimate-Uncensored-BF16"),
]
