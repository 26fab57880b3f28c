"""HF -> GGUF names for the families whose llama.cpp converter class is a thin layer over gguf-py's
``TensorNameMap`` (GPT-NeoX, BLOOM, Falcon, Phi-2, StarCoder, OLMo, LFM2, EXAONE 3, Bailing/Ling, Qwen v1,
ChatGLM, Baichuan, Apertus, Arcee), and which Hugging Face architectures the converter has no text class for.

What the converter does (``conversion/<module>.py`` @ ggml-org/llama.cpp 7bca1fd / 051139f / 32e9e04, read for
this module): each class renames a few names (``filter_tensors`` / ``modify_tensors``), stacks per-expert weights,
splits a few fused projections, and then calls ``map_tensor_name``, i.e. gguf-py's ``TensorNameMap`` for its
``model_arch``. The name table is taken from the installed ``gguf`` package (``tensor_mapping.py``) so it is the
converter's own; the per-class steps are written out below, one entry per class.

Support comes from ``conversion/__init__.py`` ``TEXT_MODEL_MAP`` (@ 00bdaa1): a Hugging Face architecture that is
not a key there makes ``convert_hf_to_gguf.py`` stop with "Architecture ... not supported", so no GGUF file (and no
size) exists for it. :func:`check_supported` raises :class:`UnsupportedArchitecture` for those.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ...errors import CkptError
from ...readers.config import ModelConfig
from .. import classify as C

#: ``conversion/__init__.py`` TEXT_MODEL_MAP keys @ 00bdaa105cb03380daf899b4fc9f026555745269: the Hugging Face
#: architectures ``convert_hf_to_gguf.py`` converts to a text GGUF.
TEXT_ARCHITECTURES = frozenset("""
AfmoeForCausalLM ApertusForCausalLM ArceeForCausalLM ArcticForCausalLM AudioFlamingo3ForConditionalGeneration
BaiChuanForCausalLM BaichuanForCausalLM BailingMoeForCausalLM BailingMoeV2ForCausalLM BambaForCausalLM BertForMaskedLM
BertForSequenceClassification BertModel BitnetForCausalLM BloomForCausalLM BloomModel CamembertModel
ChameleonForCausalLM ChameleonForConditionalGeneration ChatGLMForConditionalGeneration ChatGLMModel
CodeShellForCausalLM CogVLMForCausalLM Cohere2MoeForCausalLM Cohere2ForCausalLM CohereForCausalLM DbrxForCausalLM
DeciLMForCausalLM DeepseekForCausalLM DeepseekOCRForCausalLM DeepseekV2ForCausalLM DeepseekV3ForCausalLM
DeepseekV32ForCausalLM DistilBertForMaskedLM DistilBertForSequenceClassification DistilBertModel Dots1ForCausalLM
DotsOCRForCausalLM DreamModel Ernie4_5ForCausalLM Ernie4_5_ForCausalLM Ernie4_5_MoeForCausalLM EuroBertModel
Exaone4_5_ForConditionalGeneration Exaone4ForCausalLM ExaoneForCausalLM ExaoneMoEForCausalLM FalconForCausalLM
FalconH1ForCausalLM FalconMambaForCausalLM GPT2LMHeadModel GPTBigCodeForCausalLM GPTNeoXForCausalLM
GPTRefactForCausalLM Gemma2ForCausalLM Gemma3ForCausalLM Gemma3ForConditionalGeneration Gemma3TextModel
Gemma3nForCausalLM Gemma3nForConditionalGeneration Gemma4AssistantForCausalLM Gemma4ForConditionalGeneration
Gemma4ForCausalLM DiffusionGemma4ModelForBlockDiffusion DiffusionGemmaForBlockDiffusion
Gemma4UnifiedForConditionalGeneration Gemma4UnifiedAssistantForCausalLM GemmaForCausalLM Glm4ForCausalLM
Glm4MoeForCausalLM Glm4MoeLiteForCausalLM Glm4vForConditionalGeneration Glm4vMoeForConditionalGeneration
GlmForCausalLM GlmMoeDsaForCausalLM GlmOcrForConditionalGeneration GptOssForCausalLM GraniteForCausalLM
GraniteMoeForCausalLM GraniteMoeHybridForCausalLM GraniteMoeSharedForCausalLM GraniteSpeechForConditionalGeneration
GraniteSpeechPlusForConditionalGeneration Grok1ForCausalLM GrokForCausalLM GroveMoeForCausalLM
HunYuanDenseV1ForCausalLM HunYuanMoEV1ForCausalLM HunYuanVLForConditionalGeneration IQuestCoderForCausalLM
InternLM2ForCausalLM InternLM3ForCausalLM JAISLMHeadModel Jais2ForCausalLM JambaForCausalLM
JanusForConditionalGeneration JinaBertForMaskedLM JinaBertModel JinaEmbeddingsV5Model KORMoForCausalLM
KimiK25ForConditionalGeneration KimiLinearForCausalLM KimiLinearModel KimiVLForConditionalGeneration LFM2ForCausalLM
LLaDAMoEModel LLaDAMoEModelLM LLaDAModelLM LLaMAForCausalLM Lfm25AudioTokenizer Lfm2BidirectionalModel
Lfm2ForCausalLM Lfm2Model Lfm2MoeForCausalLM Llama4ForCausalLM Llama4ForConditionalGeneration LlamaBidirectionalModel
LlamaForCausalLM LlamaModel Eagle3DraftModel Eagle3Speculator Eagle3LlamaForCausalLM LlamaForCausalLMEagle3
LlavaForConditionalGeneration LlavaStableLMEpochForCausalLM MPTForCausalLM MT5ForConditionalGeneration
MaincoderForCausalLM Mamba2ForCausalLM MambaForCausalLM MambaLMHeadModel MellumForCausalLM MiMoV2FlashForCausalLM
MiMoV2ForCausalLM MiniCPM3ForCausalLM MiniCPMForCausalLM MiniCPMV4_6ForConditionalGeneration MiniMaxM2ForCausalLM
Ministral3ForCausalLM Mistral3ForConditionalGeneration MistralForCausalLM MixtralForCausalLM ModernBertForMaskedLM
ModernBertForSequenceClassification ModernBertModel NemotronForCausalLM NemotronHForCausalLM NeoBERT
NeoBERTForSequenceClassification NeoBERTLMHead NomicBertModel OLMoForCausalLM Olmo2ForCausalLM Olmo3ForCausalLM
OlmoForCausalLM OlmoeForCausalLM OpenELMForCausalLM OrionForCausalLM PLMForCausalLM PLaMo2ForCausalLM
PLaMo3ForCausalLM PaddleOCRVLForConditionalGeneration PanguEmbeddedForCausalLM Phi3ForCausalLM Phi4ForCausalLMV
PhiForCausalLM PhiMoEForCausalLM Plamo2ForCausalLM Plamo3ForCausalLM PlamoForCausalLM QWenLMHeadModel
Qwen2AudioForConditionalGeneration Qwen2ForCausalLM Qwen2Model Qwen2MoeForCausalLM Qwen2VLForConditionalGeneration
Qwen2VLModel Qwen2_5OmniModel Qwen2_5_VLForConditionalGeneration Qwen3ASRForConditionalGeneration Qwen3ForCausalLM
Qwen3Model Qwen3MoeForCausalLM Qwen3NextForCausalLM Qwen3OmniMoeForConditionalGeneration
Qwen3VLForConditionalGeneration Qwen3VLMoeForConditionalGeneration Qwen3_5ForCausalLM Qwen3_5ForConditionalGeneration
Qwen3_5MoeForCausalLM Qwen3_5MoeForConditionalGeneration RND1 RWForCausalLM RWKV6Qwen2ForCausalLM RWKV7ForCausalLM
RobertaForSequenceClassification RobertaModel RuGPT3XLForCausalLM Rwkv6ForCausalLM Rwkv7ForCausalLM
RwkvHybridForCausalLM Sarashina2VisionForCausalLM SarvamMoEForCausalLM SeedOssForCausalLM SmallThinkerForCausalLM
SmolLM3ForCausalLM SolarOpenForCausalLM StableLMEpochForCausalLM StableLmForCausalLM Starcoder2ForCausalLM
Step3p5ForCausalLM StepVLForConditionalGeneration Step3p7ForConditionalGeneration T5EncoderModel
T5ForConditionalGeneration T5WithLMHeadModel TalkieForCausalLM UMT5ForConditionalGeneration UMT5Model UltravoxModel
UnlimitedOCRForCausalLM VLlama3ForCausalLM VoxtralForConditionalGeneration WavTokenizerDec
XLMRobertaForSequenceClassification XLMRobertaModel XverseForCausalLM YoutuForCausalLM YoutuVLForConditionalGeneration
""".split()) | {"ExaoneMoeForCausalLM"}  # registered by exaone.py next to ExaoneMoEForCausalLM (transformers >= 5.1)
#: MMPROJ_MODEL_MAP keys (same file) that have no text class: only the vision/audio projector is converted
MMPROJ_ONLY = frozenset({"Idefics3ForConditionalGeneration", "SmolVLMForConditionalGeneration", "InternVisionModel",
                         "Lfm2VlForConditionalGeneration", "Lfm2AudioForConditionalGeneration",
                         "LightOnOCRForConditionalGeneration", "GlmasrModel", "MERaLiON2ForConditionalGeneration",
                         "Granite4VisionForConditionalGeneration", "NemotronH_Nano_VL_V2", "RADIOModel",
                         "PaddleOCRVisionModel", "DeepseekOCR2ForCausalLM"})
#: model_types (no ``architectures`` in config.json) whose transformers class is not in TEXT_MODEL_MAP
UNSUPPORTED_MODEL_TYPES = {
    "opt": "OPTForCausalLM", "gptj": "GPTJForCausalLM", "mllama": "MllamaForConditionalGeneration",
    "whisper": "WhisperForConditionalGeneration", "minimax": "MiniMaxText01ForCausalLM",
    "helium": "HeliumForCausalLM", "mimo": "MiMoForCausalLM", "paligemma": "PaliGemmaForConditionalGeneration",
    "aya_vision": "AyaVisionForConditionalGeneration", "llava_next": "LlavaNextForConditionalGeneration",
    "llava_onevision": "LlavaOnevisionForConditionalGeneration", "idefics3": "Idefics3ForConditionalGeneration",
    "smolvlm": "SmolVLMForConditionalGeneration", "internvl": "InternVLForConditionalGeneration",
}

# model_type (or the architecture rules' family key) -> GGUF arch of the converter class (conversion/<module>.py)
ARCH = {
    "gpt_neox": "gptneox",  # gpt_neox.py GPTNeoXModel
    "bloom": "bloom",  # bloom.py BloomModel
    "RefinedWeb": "falcon", "RefinedWebModel": "falcon",  # falcon.py FalconModel (RWForCausalLM)
    "phi": "phi2",  # phi.py Phi2Model
    "gpt_bigcode": "starcoder",  # starcoder.py StarCoderModel
    "olmo": "olmo",  # olmo.py OlmoModel
    "lfm2": "lfm2", "lfm2_moe": "lfm2moe",  # lfm2.py LFM2Model / LFM2MoeModel
    "exaone": "exaone", "exaone_moe": "exaone-moe",  # exaone.py ExaoneModel / ExaoneMoEModel
    "bailing_moe": "bailingmoe", "bailing_moe_v2": "bailingmoe2",  # bailing.py
    "qwen": "qwen",  # qwen.py QwenModel (QWenLMHeadModel)
    "chatglm": "chatglm", "glm": "chatglm",  # chatglm.py ChatGLMModel (also GlmForCausalLM)
    "baichuan": "baichuan",  # baichuan.py BaichuanModel
    "apertus": "apertus", "arcee": "arcee",  # apertus.py / arcee.py (LlamaModel subclasses)
    "stablelm_epoch": "stablelm",  # StableLMEpochForCausalLM -> stablelm.py
    "mt5": "t5", "umt5": "t5",  # t5.py T5Model
    "llava": "llama", "voxtral": "llama",  # LlamaModel converts the text part (the tower goes to mmproj)
    "qwen2_audio": "qwen2",  # qwen.py: the Qwen2 text model of Qwen2AudioForConditionalGeneration
    "gemma3n": "gemma3n", "gemma3n_text": "gemma3n",  # gemma.py Gemma3NModel (text part; towers go to mmproj)
    "deci": "deci", "deci_lm": "deci", "nemotron-nas": "deci",  # deci.py DeciModel (DeciLMForCausalLM)
}
#: the GGUF archs mapped in this module (the others go through mapping.py's tables)
TNM_ARCHES = {"gptneox", "bloom", "falcon", "phi2", "starcoder", "olmo", "lfm2", "lfm2moe", "exaone", "exaone-moe",
              "bailingmoe", "bailingmoe2", "qwen", "chatglm", "baichuan", "apertus", "arcee", "gemma3n", "deci"}
#: converters that keep NextN/MTP layers (block_count = num_hidden_layers + num_nextn_predict_layers)
_KEEPS_MTP = {"bailingmoe2", "exaone-moe"}
#: LlamaModel subclasses, ExaoneModel and DeciModel: a generated rope_freqs [head_dim/2] for "llama3" rope scaling
_ROPE_FREQS = {"apertus", "arcee", "exaone", "deci"}
#: archs whose converter writes head_count_kv per layer (0 for short-conv layers): llama.cpp's n_gqa() reads layer 0
_PER_LAYER_KV = {"lfm2", "lfm2moe"}
#: GGUF names the converter writes in F32 whatever their shape (conversion/base.py prepare_tensors)
_FORCED_F32 = ("ffn_gate_inp.weight", "ffn_gate_inp_shexp.weight", "position_embd.weight", "token_types.weight",
               "ssm_conv1d.weight", "shortconv.conv.weight", "altup_correct_coef.weight", "altup_predict_coef.weight")


class UnsupportedArchitecture(CkptError):
    """convert_hf_to_gguf.py has no text-model class for this architecture: no GGUF file can be made."""


class NotMapped(CkptError):
    """llama.cpp converts this family, but ckptscope has no HF -> GGUF mapping for it (yet)."""


#: families llama.cpp converts whose converter logic ckptscope does not reproduce (said plainly, not guessed)
NOT_MAPPED: dict[str, str] = {}


def check_mapped(config: ModelConfig, arch: str, known_archs: set[str]) -> None:
    """Raise :class:`NotMapped` for a family whose converter steps are not reproduced here, or whose GGUF arch
    is not one this package maps (rather than naming tensors by guess)."""
    if config.get("gguf_architecture"):
        return
    mt = config.model_type or ""
    why = NOT_MAPPED.get(mt)
    if why is None and arch not in known_archs and arch not in TNM_ARCHES:
        why = f"model_type {mt or '?'} (no converter class is mapped for it)"
    if why:
        raise NotMapped(f"no HF -> GGUF tensor mapping for {why}: the GGUF size cannot be predicted "
                        "(llama.cpp's converter may support it; ckptscope does not reproduce it)",
                        config.file or "config.json")


#: architectures whose converter class is not the one the model_type suggests
ARCH_BY_CLASS = {"BailingMoeV2ForCausalLM": "bailingmoe2", "BailingMoeForCausalLM": "bailingmoe",
                 "GlmForCausalLM": "chatglm", "RWForCausalLM": "falcon", "ExaoneMoEForCausalLM": "exaone-moe",
                 "ExaoneMoeForCausalLM": "exaone-moe"}


def arch_for(config: ModelConfig) -> str | None:
    for a in config.architectures or ():
        if a in ARCH_BY_CLASS:
            return ARCH_BY_CLASS[a]
    mt = config.model_type or ""
    if mt in ARCH:
        return ARCH[mt]
    # multimodal wrappers whose text part is converted by the text model's class
    inner = config.get("model_type") if config.text_key else None
    if isinstance(inner, str) and mt in ("llava", "voxtral"):
        return "llama"
    return None


def check_supported(config: ModelConfig, known: set[str]) -> None:
    """Raise :class:`UnsupportedArchitecture` when llama.cpp's converter cannot convert this config's model.

    ``known``: the model_types mapping.py maps (left alone). Dispatch is on ``architectures[0]`` as in the converter
    (``get_model_architecture``); without ``architectures`` the model_type decides."""
    if config.get("gguf_architecture"):
        return
    mt = config.model_type or ""
    if mt in known:
        return
    archs = [a for a in (config.architectures or []) if isinstance(a, str)]
    what = None
    if archs:
        a = archs[0]
        if a in MMPROJ_ONLY:
            what = (f"llama.cpp's convert_hf_to_gguf.py converts only the vision/audio projector (mmproj) of {a}, "
                    "not its text model")
        elif a not in TEXT_ARCHITECTURES:
            what = f"llama.cpp's convert_hf_to_gguf.py has no converter for {a} (model_type {mt or '?'})"
    elif mt in UNSUPPORTED_MODEL_TYPES:
        what = (f"llama.cpp's convert_hf_to_gguf.py has no converter for model_type {mt} "
                f"({UNSUPPORTED_MODEL_TYPES[mt]})")
    if what:
        raise UnsupportedArchitecture(what + ": no GGUF file can be made, so no GGUF size is predicted",
                                      config.file or "config.json")


# ---- gguf-py's TensorNameMap, loaded without the package's __init__ (numpy, reader, writer) -------------------

@lru_cache(maxsize=1)
def _tnm_class():
    import importlib.util as u
    import os
    import sys
    import types

    mod = sys.modules.get("gguf.tensor_mapping")
    if mod is not None:
        return mod.TensorNameMap
    from .pkg import constants

    k = constants()
    spec = u.find_spec("gguf") if k is not None else None
    if spec is None or not spec.origin:
        return None
    pkg_name = "_ckptscope_gguf_pkg"
    pkg = types.ModuleType(pkg_name)
    pkg.__path__ = []  # a namespace for the relative import "from .constants import ..."
    sys.modules.setdefault(pkg_name, pkg)
    sys.modules.setdefault(pkg_name + ".constants", k)
    s = u.spec_from_file_location(pkg_name + ".tensor_mapping", os.path.join(os.path.dirname(spec.origin),
                                                                            "tensor_mapping.py"))
    if s is None or s.loader is None:
        return None
    mod = u.module_from_spec(s)
    try:
        s.loader.exec_module(mod)
    except Exception:  # noqa: BLE001 - a broken install: no table
        return None
    return mod.TensorNameMap


@lru_cache(maxsize=32)
def _tables(arch: str):
    """(global key -> GGUF name, block key with ``{bid}`` -> GGUF name template) as ``TensorNameMap(arch)`` builds
    them (arch-specific block keys applied on a copy; last duplicate wins, as in the package's dict)."""
    from .pkg import constants

    tnm, k = _tnm_class(), constants()
    if tnm is None or k is None:
        return None
    a = next((e for e, n in k.MODEL_ARCH_NAMES.items() if n == arch), None)
    if a is None:
        return None
    declared = set(k.MODEL_TENSORS.get(a, ()))
    glob: dict[str, str] = {}
    for t, keys in tnm.mappings_cfg.items():
        if t in declared:
            name = k.TENSOR_NAMES[t]
            glob[name] = name
            for key in keys:
                glob[key] = name
    block = dict(tnm.block_mappings_cfg)
    block.update(getattr(tnm, "arch_block_mappings_cfg", {}).get(a, {}))
    blk: dict[str, str] = {}
    for t, keys in block.items():
        if t in declared:
            name = k.TENSOR_NAMES[t]
            for key in (name, *keys):
                if "{bid}" in key:
                    blk[key] = name
                else:  # block-table entries without a layer (Gemma-3n's altup_proj, per_layer_token_embd)
                    glob[key] = name
    return glob, blk


_NUM = re.compile(r"(^|\.)(\d+)(?=\.)")


def tnm_name(arch: str, key: str) -> str | None:
    """``map_tensor_name(key)`` for ``arch``: the GGUF name, or None where the converter would stop with
    "Can not map tensor". Suffixes ``.weight``/``.bias`` are tried as gguf-py's ``try_suffixes`` does."""
    tabs = _tables(arch)
    if tabs is None:
        return None
    glob, blk = tabs

    def one(k: str) -> str | None:
        if k in glob:
            return glob[k]
        m = _NUM.search(k)
        if m:
            g = blk.get(k[: m.start(2)] + "{bid}" + k[m.end(2):])
            if g is not None:
                return g.format(bid=int(m.group(2)))
        return None

    r = one(key)
    if r is not None:
        return r
    for sfx in (".weight", ".bias"):
        if key.endswith(sfx):
            r = one(key[: -len(sfx)])
            if r is not None:
                return r + sfx
    return None


def available() -> bool:
    return _tnm_class() is not None


# ---- the per-class steps before map_tensor_name ----------------------------------------------------------------

_EXPERT = re.compile(r"^(.*\.experts)\.(\d+)\.(\w+)\.(weight|bias)$")
_LAYER_NO = re.compile(r"(?:^|\.)(?:layers|h|blocks)\.(\d+)\.")
_DROP_SUFFIX = (".attention.masked_bias", ".attention.bias", ".rotary_emb.inv_freq", ".attn.masked_bias",
                ".attn.bias", ".rotary_pos_emb.inv_freq")


def _base_type(gname: str, ne: tuple[int, ...]) -> str:
    n = len(ne)
    while n > 1 and ne[n - 1] == 1:
        n -= 1
    if n <= 1 or not gname.endswith(".weight") or "_norm.weight" in gname or gname.endswith(_FORCED_F32):
        return "F32"
    return "F16"


def _rename(arch: str, name: str) -> str:
    name = name.replace("language_model.", "")  # TextModel.filter_tensors (multimodal wrappers)
    if arch == "gemma3n" and name.endswith("_scale"):
        name += ".weight"  # Gemma3NModel.filter_tensors: altup.correct_output_scale -> ...scale.weight
    if arch in ("bloom", "chatglm"):
        name = name.removeprefix("transformer.")  # BloomModel / ChatGLMModel.modify_tensors
    if arch == "lfm2":
        name = name.replace("lfm.", "model.")  # LFM2Model.filter_tensors (audio checkpoints)
    if name.endswith(".expert_bias"):  # LFM2MoeModel / BailingMoeV2Model.filter_tensors
        name = name + ".bias"
    if name.endswith("e_score_correction_bias"):  # ModelBase.filter_tensors
        name = name[: -len("_bias")] + ".bias"
    return name


def _mtp_rename(name: str, n_layer: int, n_nextn: int) -> list[str]:
    """ExaoneMoEModel.modify_tensors: ``mtp.layers.i.*`` -> layer n_layer+i; ``mtp.fc`` / ``mtp.pre_fc_norm_*`` /
    ``mtp.norm`` -> the NextN tensors of every MTP layer."""
    m = re.match(r"^mtp\.layers\.(\d+)\.(.+)$", name)
    if m:
        return [f"model.layers.{n_layer + int(m.group(1))}.{m.group(2)}"]
    stem, _, sfx = name.rpartition(".")
    dst = {"mtp.fc": "eh_proj", "mtp.pre_fc_norm_embedding": "enorm", "mtp.pre_fc_norm_hidden": "hnorm",
           "mtp.norm": "shared_head.norm"}.get(stem)
    if dst is None:
        return []
    return [f"model.layers.{b}.{dst}.{sfx}" for b in range(n_layer, n_layer + n_nextn)]


def map_tnm(tensors, config: ModelConfig, arch: str, layout_cls, tensor_cls, n_layer: int, n_head: int, n_kv: int,
            n_exp: int):
    """The GGUF tensor list of one of the TNM_ARCHES converters (see module docstring)."""
    out = layout_cls(arch=arch, n_layer=n_layer, n_head=n_head, n_head_kv=n_kv, n_expert=n_exp)
    n_nextn = config.num_nextn_predict_layers or 0
    keep_mtp = arch in _KEEPS_MTP and n_nextn > 0
    if keep_mtp:
        out.n_layer = n_layer + n_nextn
        out.notes.append(f"{arch}: the converter keeps the {n_nextn} NextN/MTP layer(s) (blk.{n_layer}+, counted "
                         f"in block_count = {out.n_layer})")
    hd = config.head_dim or ((config.hidden_size or 0) // n_head if n_head else 0)
    experts: dict[tuple[str, str, str], dict[int, tuple]] = {}
    stacks: dict[str, dict[int, tuple]] = {}
    unmapped: list[str] = []

    def drop(reason: str, shape) -> None:
        out.dropped[reason] = out.dropped.get(reason, 0) + 1
        p = 1
        for d in shape:
            p *= int(d)
        out.dropped_params += p

    def add(gname: str, ne: tuple[int, ...], comp: str, src: str) -> None:
        m = re.match(r"^blk\.(\d+)\.", gname)
        out.tensors.append(tensor_cls(gname, ne, _base_type(gname, ne), comp, int(m.group(1)) if m else None, (src,)))

    def emit(hf: str, shape: tuple[int, ...], comp: str, src: str) -> None:
        g = tnm_name(arch, hf)
        if g is None:
            unmapped.append(src)
            drop("the converter cannot map this tensor (convert_hf_to_gguf would stop: 'Can not map tensor')", shape)
            return
        ne = tuple(reversed(shape))
        if g.endswith("shortconv.conv.weight") and len(ne) == 3 and ne[1] == 1:
            ne = (ne[0], ne[2])  # LFM2: conv.conv (C, 1, K).squeeze(1)
        add(g, ne, comp, src)

    for t in tensors:
        name, shape = t.name, tuple(int(d) for d in t.shape)
        comp = C.component_of(name)
        if comp == C.QUANT:
            drop("quantization scales (dequantized by the converter)", shape)
            continue
        if comp == C.BUFFER or name.endswith(_DROP_SUFFIX):
            drop("buffers (rotary inv_freq, attention masks)", shape)
            continue
        if comp in C.TOWERS:
            drop("vision/audio tower (written to a separate mmproj GGUF)", shape)
            continue
        if arch == "apertus" and ".act_fn." in name:
            drop("apertus: xIELU activation scalars (written as key/values, not tensors)", shape)
            continue
        name = _rename(arch, name)
        names = [name]
        if name.startswith("mtp."):
            if arch != "exaone-moe" or not keep_mtp:
                drop("MTP / next-token layers (the converter skips them)", shape)
                continue
            names = _mtp_rename(name, n_layer, n_nextn)
            if not names:
                drop("MTP / next-token layers (the converter skips them)", shape)
                continue
        for name in names:
            lm = _LAYER_NO.search(name)
            if lm and n_layer and int(lm.group(1)) >= n_layer and not keep_mtp:
                drop("MTP / next-token layers beyond num_hidden_layers (skip_mtp)", shape)
                continue
            em = _EXPERT.match(name)
            if em and n_exp:
                experts.setdefault((em.group(1), em.group(3), em.group(4)), {})[int(em.group(2))] = (shape, t.name)
                continue
            if arch == "gemma3n":
                am = re.match(r"^(.*altup_(?:unembed_)?projections)\.(\d+)\.weight$", name)
                if am:  # Gemma3NModel: the 3 matrices are stacked into one [3, H, H] tensor
                    stacks.setdefault(am.group(1) + ".weight", {})[int(am.group(2))] = (shape, t.name)
                    continue
                vocab = config.get("vocab_size")
                if name.endswith(("embed_tokens.weight", "embed_tokens_per_layer.weight")) and isinstance(vocab, int) \
                        and len(shape) == 2 and shape[0] < vocab:
                    out.notes.append(f"{name}: padded from {shape[0]} to vocab_size {vocab} rows (Gemma3NModel adds "
                                     "the vision/audio token slots)")
                    shape = (vocab, shape[1])
            if _split(arch, add, config, name, shape, n_head, n_kv, hd, t.name):
                continue
            emit(name, shape, comp, t.name)

    for merged, parts in sorted(stacks.items()):
        shape = next(iter(parts.values()))[0]
        emit(merged, (len(parts),) + shape, C.OTHER, f"{len(parts)} stacked matrices")
    for (prefix, w, kind), ex in sorted(experts.items()):
        shape = next(iter(ex.values()))[0]
        merged = f"{prefix}.{w}.{kind}"
        stacked = (len(ex),) + shape
        if tnm_name(arch, merged) is None and merged.startswith("model."):
            merged = merged[len("model."):]  # LFM2MoeModel: dst "layers.{bid}.feed_forward.experts.{w}.weight"
        emit(merged, stacked, C.EXPERTS, f"{len(ex)} experts")

    if unmapped:
        raise UnsupportedArchitecture(
            f"{len(unmapped)} tensor(s) have no GGUF name for arch {arch} (e.g. {unmapped[0]}): llama.cpp's "
            "convert_hf_to_gguf.py stops on them ('Can not map tensor'), so no GGUF file can be made",
            config.file or "config.json")
    if arch in _PER_LAYER_KV:
        kinds = config.get("layer_types") or []
        attn0 = (kinds[0] in ("full_attention", "attention", "sliding_attention")) if kinds else None
        idxs = config.get("full_attn_idxs")  # older LFM2 configs (the config class derives layer_types from it)
        if attn0 is None and isinstance(idxs, list):
            attn0 = 0 in idxs
        if attn0 is False:
            out.n_gqa = 0  # head_count_kv[0] = 0 (a short-conv layer): llama.cpp's n_gqa() is 0
    if arch == "deci":
        _deci_gqa(out, config)
    rs = config.rope_scaling or {}
    if arch in _ROPE_FREQS and (rs.get("rope_type") or rs.get("type")) == "llama3" and hd:
        add("rope_freqs.weight", (hd // 2,), C.OTHER, "generated (llama3 rope scaling)")
        out.notes.append("rope_freqs.weight is generated by the converter (llama3 rope scaling)")
    return out


def _deci_gqa(out, config: ModelConfig) -> None:
    """DeciModel writes head_count / head_count_kv per layer (block_configs: n_heads_in_group None = no attention,
    0 KV heads); llama.cpp's n_gqa() reads layer 0 (0 when it has no KV heads)."""
    blocks = config.get("block_configs")
    per = config.get("num_key_value_heads_per_layer")  # DeciLM-7B
    if isinstance(blocks, list) and blocks and isinstance(blocks[0], dict):
        att = blocks[0].get("attention") or {}
        g = att.get("n_heads_in_group") if isinstance(att, dict) else None
        out.n_gqa = int(g) if isinstance(g, int) and g > 0 else 0
    elif isinstance(per, list) and per and isinstance(per[0], int) and out.n_head:
        out.n_gqa = out.n_head // per[0] if per[0] > 0 else 0


def _split(arch, add, config, name, shape, n_head, n_kv, hd, src) -> bool:
    """Fused projections the converter splits before naming (True when handled)."""
    m = _LAYER_NO.search(name)
    if not m or len(shape) != 2:
        return False
    p = f"blk.{m.group(1)}."
    if arch == "baichuan" and name.endswith("self_attn.W_pack.weight") and shape[0] % 3 == 0:
        r = shape[0] // 3  # BaichuanModel: W_pack -> three equal parts q, k, v
        for g in ("attn_q", "attn_k", "attn_v"):
            add(p + g + ".weight", (shape[1], r), C.ATTENTION, src)
        return True
    if arch == "bailingmoe" and name.endswith("attention.query_key_value.weight") and hd:
        kv = n_kv or n_head  # BailingMoeModel: split [n_head, n_kv, n_kv] * head_dim
        if shape[0] == (n_head + 2 * kv) * hd:
            for g, rows in (("attn_q", n_head * hd), ("attn_k", kv * hd), ("attn_v", kv * hd)):
                add(p + g + ".weight", (shape[1], rows), C.ATTENTION, src)
            return True
    if arch == "bailingmoe" and name.endswith("attention.dense.weight"):
        add(p + "attn_output.weight", (shape[1], shape[0]), C.ATTENTION, src)  # forced to ATTN_OUT
        return True
    return False
