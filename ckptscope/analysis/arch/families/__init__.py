"""One small description per model family, and the dispatch from a config to it.

``FAMILIES`` maps a family key (a ``model_type``) to its description: a module (``llama.py``, ``deepseek.py``,
...) or a table entry (``table.py``: families that differ from Llama only in table values). A config is
dispatched on its ``architectures`` first (the class transformers builds: a DeepSeek-V3 published under its own
``model_type`` is still ``DeepseekV3ForCausalLM``), then on ``model_type``, then on the alias table.
"""

from __future__ import annotations

import importlib

_MODULES = ("llama", "gemma", "phi3", "gpt2", "bert", "t5", "mixtral", "qwen_moe", "granitemoe", "deepseek", "gpt_oss")
#: modules holding several families as SpecFamily objects (FAMILY_LIST)
_TABLES = ("table", "hybrid", "multimodal", "remote", "classic", "liquid", "remote_more", "gemma3n", "audio", "vlm",
           "text_more", "vlm_more", "omni", "vlm_cohere", "qwen35", "gemma4", "deepseek_v4", "encoders")

FAMILIES: dict[str, object] = {}  #: family key -> module or SpecFamily
ARCHITECTURES: dict[str, str] = {  #: transformers class -> family key (classes of the module families)
    "LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3", "GemmaForCausalLM": "gemma", "Gemma2ForCausalLM": "gemma2",
    "Gemma3ForCausalLM": "gemma3_text", "Phi3ForCausalLM": "phi3", "GPT2LMHeadModel": "gpt2", "GPT2Model": "gpt2",
    "T5ForConditionalGeneration": "t5", "MT5ForConditionalGeneration": "mt5", "UMT5ForConditionalGeneration": "umt5",
    "MixtralForCausalLM": "mixtral", "Qwen2MoeForCausalLM": "qwen2_moe", "Qwen3MoeForCausalLM": "qwen3_moe",
    "GraniteMoeForCausalLM": "granitemoe", "GraniteMoeSharedForCausalLM": "granitemoeshared",
    "DeepseekV2ForCausalLM": "deepseek_v2", "DeepseekV3ForCausalLM": "deepseek_v3", "GptOssForCausalLM": "gpt_oss",
    "BertModel": "bert", "BertForMaskedLM": "bert", "BertForPreTraining": "bert", "BertLMHeadModel": "bert",
    "BertForSequenceClassification": "bert", "BertForTokenClassification": "bert",
    "BertForQuestionAnswering": "bert", "BertForNextSentencePrediction": "bert", "BertForMultipleChoice": "bert",
}
#: model_type spellings that name a family under another key (text configs of multimodal models, renamed
#: re-releases). Architectures are tried first, so these only matter when ``architectures`` is missing.
ALIASES: dict[str, str] = {
    "kimi_k2": "deepseek_v3", "qwen2_5_vl_text": "qwen2", "qwen2_vl_text": "qwen2", "qwen3_vl_text": "qwen3",
    "ministral": "mistral", "nemotron_nas": "nemotron-nas", "command_r": "cohere",
    "minimax_m1": "minimax", "minimax_text_01": "minimax",  # remote-code MiniMax-M1 / Text-01 (same layout)
}


def _register() -> None:
    for m in _MODULES:
        mod = importlib.import_module(f"{__name__}.{m}")
        for mt in mod.MODEL_TYPES:
            FAMILIES[mt] = mod
    for m in _TABLES:
        mod = importlib.import_module(f"{__name__}.{m}")
        for fam in mod.FAMILY_LIST:
            for mt in fam.MODEL_TYPES:
                if mt in FAMILIES:  # two descriptions of one family: the later would silently win
                    raise RuntimeError(f"model_type {mt!r} is described twice ({m}.py and an earlier module)")
                FAMILIES[mt] = fam
            for a in fam.ARCHITECTURES:
                ARCHITECTURES.setdefault(a, fam.MODEL_TYPES[0])


_register()


def resolve(architectures, model_type: str | None) -> str | None:
    """The family key for a config: its first known architecture, else its model_type, else an alias."""
    for a in architectures or ():
        k = ARCHITECTURES.get(a)
        if k is not None:
            return k
    if model_type in FAMILIES:
        return model_type
    k = ALIASES.get(model_type or "")
    return k if k in FAMILIES else None


def module_for(key: str | None):
    return FAMILIES.get(key or "")
