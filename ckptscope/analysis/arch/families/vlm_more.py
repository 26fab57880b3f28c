"""More vision-language families: GLM-4.1V / GLM-4.6V-Flash (``glm4v``), GLM-4.5V / GLM-4.6V (``glm4v_moe``),
transformers' ``glm46v``, DeepSeek-VL and DeepSeek-VL-Hybrid (SigLIP + a SAM high-resolution branch), ERNIE 4.5 VL
(``ernie4_5_vl_moe``, Baidu's checkpoint layout: text and vision experts, a resampler projector), LFM2-VL (SigLIP 2
NaFlex tower + LFM2 decoder; the Hub's 4.x-written repos name the tower ``model.vision_tower.vision_model.*``).

Each is a :class:`~.composite.Composite`: the text decoder (a table spec) on ``text_config`` filled with the config
class defaults, plus a vision tower and a projector. Checked against transformers 5.23's meta-device build
(fixtures/oracle/transformers__<model_type>); the names are those transformers 5 saves, which are the Hub's for
these families (GLM-4.1V and GLM-4.5V were published with transformers 4.53+/4.55+ in the ``model.language_model`` /
``model.visual`` layout).
"""

from __future__ import annotations

from ....readers.config import from_dict
from ...classify import ATTENTION, EMBEDDING, EXPERTS, LM_HEAD, MLP, NORM, PROJECTOR, ROUTER, SHARED, VISION
from .. import towers, towers_more
from ..decoder import Spec
from ..engine import Dims, PredictionError, glu_mlp, gqa_attention, linear, norm, saved_by
from ..vision_towers import Cfg
from .composite import Composite, filled, pos, sub, text_part
from .vlm import LLAMA_7B, SIGLIP_CLASS

TF = "transformers 5.23 meta-device build (fixtures/oracle/transformers__{})"
GLM_NORMS = ("input_layernorm", "post_attention_layernorm", "post_self_attn_layernorm", "post_mlp_layernorm")

#: Glm4vTextConfig() / Glm4vMoeTextConfig() (transformers 5.23) for the fields the rules read
GLM4V_TEXT_DEFAULTS = {"vocab_size": 151552, "hidden_size": 4096, "intermediate_size": 13696, "num_hidden_layers": 40,
                       "num_attention_heads": 32, "num_key_value_heads": 2}
GLM4V_MOE_TEXT_DEFAULTS = {"vocab_size": 151424, "hidden_size": 4096, "intermediate_size": 10944,
                           "num_hidden_layers": 46, "num_attention_heads": 96, "num_key_value_heads": 8,
                           "attention_bias": True, "tie_word_embeddings": False, "moe_intermediate_size": 1408,
                           "n_routed_experts": 128, "num_experts_per_tok": 8, "n_shared_experts": 1,
                           "first_k_dense_replace": 1}

# GLM-4V's text attention always has q/k/v biases (Glm4vTextAttention: bias=True, whatever the config says)
GLM4V_TEXT = Spec(("glm4v_text",), (), TF.format("glm4v"), qkv_bias=True, mlp="fused", norms=GLM_NORMS)
GLM4V_MOE_TEXT = Spec(("glm4v_moe_text",), (), TF.format("glm4v_moe"), qkv_bias=("attention_bias", True),
                      qk_norm="head", qk_norm_on="use_qk_norm", moe="experts", router_bias="gate",
                      shared="shared_experts", mtp="deepseek")


def glm4v_vision_part(c, d, layout):
    yield from towers_more.glm4v_vision("model.visual.", c.vision_config)


def _glm46v_text(c, d, layout):
    """Glm46V takes any GLM-4V text config: the MoE one (GLM-4.6V) or the dense one (default, GLM-4.6V-Flash)."""
    if sub(c, "text_config").get("model_type") == "glm4v_moe_text":
        part = text_part(GLM4V_MOE_TEXT, ("text_config",), GLM4V_MOE_TEXT_DEFAULTS, "model.language_model.")
    else:
        part = text_part(GLM4V_TEXT, ("text_config",), GLM4V_TEXT_DEFAULTS, "model.language_model.")
    yield from part(c, d, layout)


FAMILY_LIST = [
    Composite("glm4v", "Glm4vForConditionalGeneration",
              [glm4v_vision_part, text_part(GLM4V_TEXT, ("text_config",), GLM4V_TEXT_DEFAULTS,
                                            "model.language_model.")]),
    Composite("glm4v_moe", "Glm4vMoeForConditionalGeneration",
              [glm4v_vision_part, text_part(GLM4V_MOE_TEXT, ("text_config",), GLM4V_MOE_TEXT_DEFAULTS,
                                            "model.language_model.")]),
    Composite("glm46v", "Glm46VForConditionalGeneration", [glm4v_vision_part, _glm46v_text]),
]


# ---- DeepSeek-VL (transformers' deepseek_vl / deepseek_vl_hybrid) --------------------------------------------



def _ds_vision_prefix(layout) -> str:
    """transformers 5 saves the SigLIP tower as ``model.vision_model.*``; checkpoints converted under 4.x may hold
    ``model.vision_model.vision_model.*`` (read off the names when headers are there)."""
    return "model.vision_model.vision_model." if layout.get("vision_model") else "model.vision_model."


def _ds_siglip(c, d, layout):
    yield from towers.siglip(_ds_vision_prefix(layout), c.vision_config)


def _width(c, what, defaults):
    return pos({**defaults, **{k: v for k, v in (sub(c, what)).items() if v is not None}}.get("hidden_size"),
               what + ".hidden_size")


def _ds_aligner(c, d, layout):
    """DeepseekVLAligner: linear1 (vision width -> text width) and linear2, with biases."""
    vh, th = _width(c, "vision_config", SIGLIP_CLASS), _width(c, "text_config", LLAMA_7B)
    yield from linear("model.aligner.linear1", th, vh, PROJECTOR, True)
    yield from linear("model.aligner.linear2", th, th, PROJECTOR, True)


def _ds_hybrid_high_res(c, d, layout):
    """The high-resolution branch: a SAM encoder, a second neck, the conv projection (x2, x4 channels) and the
    scalar mixing weight ``high_res_vision_alpha``."""
    raw = sub(c, "high_res_vision_config")
    yield from towers_more.sam_vision("model.high_res_vision_model.vision_encoder.", raw)
    sc = Cfg(raw, towers_more.SAM_VISION, "high_res_vision_config")
    yield from towers_more.sam_neck("model.high_res_vision_neck.", sc)
    out = sc["output_channels"]
    yield "model.high_res_vision_proj.conv1.weight", (2 * out, out, 3, 3), VISION, None
    yield "model.high_res_vision_proj.conv2.weight", (4 * out, 2 * out, 3, 3), VISION, None
    yield "model.high_res_vision_alpha", (1,), VISION, None


def _ds_hybrid_aligner(c, d, layout):
    vh, th = _width(c, "vision_config", SIGLIP_CLASS), _width(c, "text_config", LLAMA_7B)
    out = Cfg(sub(c, "high_res_vision_config"), towers_more.SAM_VISION, "high_res_vision_config")["output_channels"]
    yield from linear("model.aligner.vision_proj", th // 2, vh, PROJECTOR, True)
    yield from linear("model.aligner.high_res_vision_proj", th // 2, 4 * out, PROJECTOR, True)
    yield from linear("model.aligner.proj", th, th, PROJECTOR, True)


class _DeepseekVL(Composite):
    def layout_from_names(self, c, names) -> dict:
        tower = [n for n in names if n.startswith("model.vision_model.")]
        return {"vision_model": any(n.startswith("model.vision_model.vision_model.") for n in tower)} if tower else {}


_ds_text = text_part("llama", ("text_config",), LLAMA_7B, "model.language_model.", tie_default=True)
FAMILY_LIST += [
    _DeepseekVL("deepseek_vl", "DeepseekVLForConditionalGeneration", [_ds_siglip, _ds_aligner, _ds_text], tie=True),
    _DeepseekVL("deepseek_vl_hybrid", "DeepseekVLHybridForConditionalGeneration",
                [_ds_siglip, _ds_hybrid_high_res, _ds_hybrid_aligner, _ds_text], tie=True),
]


# ---- ERNIE 4.5 VL (ernie4_5_vl_moe) ---------------------------------------------------------------------------


#: Ernie4_5_VLMoeTextConfig() (transformers 5.23)
ERNIE_VL_TEXT = {"vocab_size": 103424, "hidden_size": 2560, "intermediate_size": 12288, "num_hidden_layers": 28,
                 "num_attention_heads": 20, "num_key_value_heads": 4, "use_bias": False, "moe_num_experts": 64,
                 "moe_num_shared_experts": 2, "moe_intermediate_size": [1536, 512], "moe_k": 6,
                 "tie_word_embeddings": True}


def _pair(v, what):
    """ERNIE writes per-modality values as [text, vision] lists, or one number for both."""
    vals = v if isinstance(v, list) else [v, v]
    if len(vals) != 2:
        raise PredictionError(f"config.json gives no usable value for {what}")
    return [pos(x, what) for x in vals]


def _ernie_sparse(t: dict, L: int) -> list[bool]:
    types = t.get("mlp_layer_types")
    if isinstance(types, list) and len(types) == L:
        return [x == "sparse" for x in types]
    start = t.get("moe_layer_start_index", 1)
    end = t.get("moe_layer_end_index", L - 1)
    step = t.get("moe_layer_interval", 1)
    start, end = (_pair(x, "moe_layer_start/end_index")[0] if isinstance(x, list) else x for x in (start, end))
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end, step)) or step <= 0:
        raise PredictionError("config.json gives no usable MoE layer range")
    end = L - 1 if end < 0 else end
    return [start <= i <= end and (i - start) % step == 0 for i in range(L)]


def _ernie_vl_text(c, d, layout):
    """ERNIE 4.5 VL's decoder (Baidu's checkpoint layout, which transformers 5 converts on load): Llama attention
    (biases per ``use_bias``), dense MLP on the dense layers; a sparse layer holds ``moe_num_experts`` text experts
    then as many vision experts (experts.0..2E-1, widths ``moe_intermediate_size`` [text, vision]), shared experts
    of n_shared x text width, two F32 routers stored transposed (``gate.weight`` text, ``gate.weight_1`` vision,
    (H, E)) and ``moe_statics.e_score_correction_bias`` (2, E) in F32. Tied head by default."""
    t = _ernie_text_config(c)
    td = Dims(from_dict(t, c.file), True, "ernie4_5_vl_moe_text")
    top = c.full.get("tie_word_embeddings")
    td.tied = d.tied = top if isinstance(top, bool) else bool(t.get("tie_word_embeddings", True))
    td.need("H", "L", "nh", "kv", "hd", "V", "I")
    E = _pair(t.get("moe_num_experts"), "moe_num_experts")
    MI = _pair(t.get("moe_intermediate_size"), "moe_intermediate_size")
    n_sh = t.get("moe_num_shared_experts") or 0
    if isinstance(n_sh, bool) or not isinstance(n_sh, int) or n_sh < 0 or sum(E) * td.L > 400_000:
        raise PredictionError("config.json gives no usable MoE sizes")
    bias = bool(t.get("use_bias"))
    H = td.H
    yield "model.embed_tokens.weight", (td.V, H), EMBEDDING, None
    for i, sparse in enumerate(_ernie_sparse(t, td.L)):
        p = f"model.layers.{i}"
        yield from gqa_attention(p + ".self_attn", td, ATTENTION, bias, bias)
        if sparse:
            j = 0
            for n, w in zip(E, MI):
                for _ in range(n):
                    yield from glu_mlp(f"{p}.mlp.experts.{j}", H, w, EXPERTS, bias)
                    j += 1
            if n_sh:
                yield from glu_mlp(p + ".mlp.shared_experts", H, MI[0] * n_sh, SHARED, bias)
            yield p + ".mlp.moe_statics.e_score_correction_bias", (2, E[0]), ROUTER, "F32"
            yield p + ".mlp.gate.weight", (H, E[0]), ROUTER, "F32"
            yield p + ".mlp.gate.weight_1", (H, E[1]), ROUTER, "F32"
        else:
            yield from glu_mlp(p + ".mlp", H, td.I, MLP, bias)
        yield from norm(p + ".input_layernorm", H, NORM)
        yield from norm(p + ".post_attention_layernorm", H, NORM)
    yield from norm("model.norm", H, NORM)
    if not td.tied:
        yield from linear("lm_head", td.V, H, LM_HEAD, kind=None)


def _ernie_text_config(c) -> dict:
    """transformers 5 nests the text model in ``text_config``; Baidu's remote-code configs keep it at the top."""
    return filled(sub(c, "text_config") or c.full, ERNIE_VL_TEXT)


def _ernie_vl_vision(c, d, layout):
    yield from towers_more.ernie_vl_vision("model.vision_model.", c.vision_config)


def _ernie_vl_resampler(c, d, layout):
    th = pos(_ernie_text_config(c)["hidden_size"], "text_config.hidden_size")
    yield from towers_more.ernie_vl_resampler("model.resampler_model.", c.vision_config, th)


FAMILY_LIST.append(Composite("ernie4_5_vl_moe", "Ernie4_5_VLMoeForConditionalGeneration",
                             [_ernie_vl_text, _ernie_vl_resampler, _ernie_vl_vision], tie=True,
                             source="transformers 5.23 meta-device build + its save-time revert to Baidu's layout "
                                    "(fixtures/oracle/transformers__ernie4_5_vl_moe)"))


# ---- LFM2-VL (lfm2_vl) ------------------------------------------------------------------------------------------


def _lfm2_defaults():
    from . import FAMILIES

    return FAMILIES["lfm2"].DEFAULTS


def _lfm2_vl_vision(c, d, layout):
    """transformers 5 saves the SigLIP 2 tower as ``model.vision_tower.*``; 4.x (the Hub's LFM2-VL repos) as
    ``model.vision_tower.vision_model.*``."""
    p = "model.vision_tower.vision_model." if layout.get("vision_model") else "model.vision_tower."
    yield from towers_more.siglip2(p, c.vision_config)


def _lfm2_vl_projector(c, d, layout):
    """Pixel-unshuffle by ``downsample_factor``, an optional LayerNorm, linear_1 to ``projector_hidden_size`` and
    linear_2 to the text width (biases per ``projector_bias``)."""
    v = Cfg(c.vision_config, towers_more.SIGLIP2_VISION)
    f = pos(c.full.get("downsample_factor", 2), "downsample_factor")
    n = v["hidden_size"] * f * f
    mid = pos(c.full.get("projector_hidden_size", 2560), "projector_hidden_size")
    th = pos(filled(sub(c, "text_config"), _lfm2_defaults()).get("hidden_size"), "text_config.hidden_size")
    bias = c.full.get("projector_bias", True) is not False
    if c.full.get("projector_use_layernorm", True) is not False:
        yield from norm("model.multi_modal_projector.layer_norm", n, PROJECTOR, True)
    yield from linear("model.multi_modal_projector.linear_1", mid, n, PROJECTOR, bias)
    yield from linear("model.multi_modal_projector.linear_2", th, mid, PROJECTOR, bias)


def _lfm2_vl_text(c, d, layout):
    yield from text_part("lfm2", ("text_config",), _lfm2_defaults(), "model.language_model.", tie_default=True)(
        c, d, layout)


class _Lfm2Vl(Composite):
    def default_layout(self, c):
        v = saved_by(c)
        return {"vision_model": v is not None and v < (5, 0)}

    def layout_from_names(self, c, names) -> dict:
        tower = [n for n in names if n.startswith("model.vision_tower.")]
        if not tower:
            return {}
        return {"vision_model": any(n.startswith("model.vision_tower.vision_model.") for n in tower)}


FAMILY_LIST.append(_Lfm2Vl(("lfm2_vl", "lfm2-vl"), "Lfm2VlForConditionalGeneration",  # LiquidAI's configs: "lfm2-vl"
                           [_lfm2_vl_vision, _lfm2_vl_projector, _lfm2_vl_text], tie=True))
