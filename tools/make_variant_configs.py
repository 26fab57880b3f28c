"""Reference config.json files for the older and newer transformers families of families/classic.py,
families/liquid.py and table.py's arcee: transformers' own config class defaults (each class documents the
reference model its defaults describe) plus named option variants (Falcon's new decoder architecture, OPT-350m's
projected embeddings, ...), written by transformers' own writer (``PretrainedConfig.save_pretrained``), with
``architectures`` set to the model class and dtype bfloat16. Each folder gets a SOURCE.md saying exactly that.

Test tooling only; needs transformers. Usage: python tools/make_variant_configs.py [stem ...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "fixtures" / "configs"

#: stem -> (model_type, model class, overrides of the class defaults, why)
VARIANTS = {
    "transformers__phi": ("phi", "PhiForCausalLM", {}, "class defaults"),
    "transformers__phi__qk_layernorm": ("phi", "PhiForCausalLM", {"qk_layernorm": True, "num_key_value_heads": 8},
                                        "qk_layernorm on, grouped K/V heads"),
    "transformers__gpt_neox": ("gpt_neox", "GPTNeoXForCausalLM", {}, "class defaults"),
    "transformers__gpt_bigcode": ("gpt_bigcode", "GPTBigCodeForCausalLM", {}, "class defaults (multi-query)"),
    "transformers__gpt_bigcode__mha": ("gpt_bigcode", "GPTBigCodeForCausalLM", {"multi_query": False},
                                       "multi_query off (full K/V heads)"),
    "transformers__falcon": ("falcon", "FalconForCausalLM", {}, "class defaults (Falcon-7B: multi-query, parallel)"),
    "transformers__falcon__new_decoder": ("falcon", "FalconForCausalLM",
                                          {"new_decoder_architecture": True, "hidden_size": 8192,
                                           "num_attention_heads": 128, "num_kv_heads": 8, "num_hidden_layers": 4},
                                          "new_decoder_architecture (Falcon-40B/180B widths, 4 layers)"),
    "transformers__falcon__sequential": ("falcon", "FalconForCausalLM",
                                         {"parallel_attn": False, "multi_query": False, "bias": True, "alibi": True,
                                          "num_hidden_layers": 4},
                                         "parallel_attn off, multi_query off, biases, ALiBi (Falcon-RW style)"),
    "transformers__bloom": ("bloom", "BloomForCausalLM", {}, "class defaults"),
    "transformers__opt": ("opt", "OPTForCausalLM", {}, "class defaults (OPT-125m)"),
    "transformers__opt__proj": ("opt", "OPTForCausalLM",
                                {"hidden_size": 1024, "word_embed_proj_dim": 512, "do_layer_norm_before": False,
                                 "ffn_dim": 4096, "num_attention_heads": 16, "num_hidden_layers": 4},
                                "OPT-350m options: projected embeddings, post-norm (4 layers)"),
    "transformers__gptj": ("gptj", "GPTJForCausalLM", {}, "class defaults (GPT-J-6B)"),
    "transformers__olmo": ("olmo", "OlmoForCausalLM", {}, "class defaults (OLMo-7B)"),
    "transformers__lfm2": ("lfm2", "Lfm2ForCausalLM", {"num_hidden_layers": 16,
                                                       "full_attn_idxs": [2, 5, 8, 10, 12, 14]},
                           "LFM2 hybrid: attention at full_attn_idxs, short conv elsewhere (16 layers)"),
    "transformers__lfm2_moe": ("lfm2_moe", "Lfm2MoeForCausalLM",
                               {"num_hidden_layers": 6, "layer_types": ["conv", "conv", "full_attention", "conv",
                                                                        "conv", "full_attention"]},
                               "LFM2-MoE: two dense layers then MoE, conv and attention layers (6 layers); the "
                               "class default has no layer_types and cannot be built"),
    "transformers__exaone_moe": ("exaone_moe", "ExaoneMoeForCausalLM", {"num_hidden_layers": 4},
                                 "class defaults (K-EXAONE widths, 4 layers: one dense, three MoE)"),
    "transformers__arcee": ("arcee", "ArceeForCausalLM", {"bos_token_id": 1, "eos_token_id": 2},
                            "class defaults (AFM-4.5B widths); bos/eos set inside the vocabulary"),
    "transformers__apertus": ("apertus", "ApertusForCausalLM", {"num_hidden_layers": 4},
                              "class defaults (Apertus-8B widths, 4 layers)"),
    # families/encoders.py: one config per head class (2 layers; class defaults otherwise)
    "transformers__roberta__base": ("roberta", "RobertaModel", {'num_hidden_layers': 2}, "Model head, 2 layers"),
    "transformers__roberta__CausalLM": ("roberta", "RobertaForCausalLM", {'num_hidden_layers': 2, 'is_decoder': True}, "ForCausalLM head, 2 layers"),
    "transformers__roberta__TokenClassification": ("roberta", "RobertaForTokenClassification", {'num_hidden_layers': 2}, "ForTokenClassification head, 2 layers"),
    "transformers__roberta__QuestionAnswering": ("roberta", "RobertaForQuestionAnswering", {'num_hidden_layers': 2}, "ForQuestionAnswering head, 2 layers"),
    "transformers__roberta__MultipleChoice": ("roberta", "RobertaForMultipleChoice", {'num_hidden_layers': 2}, "ForMultipleChoice head, 2 layers"),
    "transformers__xlm_roberta__MaskedLM": ("xlm-roberta", "XLMRobertaForMaskedLM", {'num_hidden_layers': 2, 'vocab_size': 250002}, "ForMaskedLM head, 2 layers"),
    "transformers__camembert__MaskedLM": ("camembert", "CamembertForMaskedLM", {'num_hidden_layers': 2}, "ForMaskedLM head, 2 layers"),
    "transformers__camembert__SequenceClassification": ("camembert", "CamembertForSequenceClassification", {'num_hidden_layers': 2}, "ForSequenceClassification head, 2 layers"),
    "transformers__electra__base": ("electra", "ElectraModel", {'num_hidden_layers': 2}, "Model head, 2 layers"),
    "transformers__electra__MaskedLM": ("electra", "ElectraForMaskedLM", {'num_hidden_layers': 2}, "ForMaskedLM head, 2 layers"),
    "transformers__electra__SequenceClassification": ("electra", "ElectraForSequenceClassification", {'num_hidden_layers': 2}, "ForSequenceClassification head, 2 layers"),
    "transformers__electra__TokenClassification": ("electra", "ElectraForTokenClassification", {'num_hidden_layers': 2}, "ForTokenClassification head, 2 layers"),
    "transformers__electra__QuestionAnswering": ("electra", "ElectraForQuestionAnswering", {'num_hidden_layers': 2}, "ForQuestionAnswering head, 2 layers"),
    "transformers__electra__MultipleChoice": ("electra", "ElectraForMultipleChoice", {'num_hidden_layers': 2}, "ForMultipleChoice head, 2 layers"),
    "transformers__distilbert__base": ("distilbert", "DistilBertModel", {'n_layers': 2}, "Model head, 2 layers"),
    "transformers__distilbert__TokenClassification": ("distilbert", "DistilBertForTokenClassification", {'n_layers': 2}, "ForTokenClassification head, 2 layers"),
    "transformers__distilbert__QuestionAnswering": ("distilbert", "DistilBertForQuestionAnswering", {'n_layers': 2}, "ForQuestionAnswering head, 2 layers"),
    "transformers__distilbert__MultipleChoice": ("distilbert", "DistilBertForMultipleChoice", {'n_layers': 2}, "ForMultipleChoice head, 2 layers"),
    "transformers__mpnet__SequenceClassification": ("mpnet", "MPNetForSequenceClassification", {'num_hidden_layers': 2}, "ForSequenceClassification head, 2 layers"),
    "transformers__mpnet__TokenClassification": ("mpnet", "MPNetForTokenClassification", {'num_hidden_layers': 2}, "ForTokenClassification head, 2 layers"),
    "transformers__mpnet__QuestionAnswering": ("mpnet", "MPNetForQuestionAnswering", {'num_hidden_layers': 2}, "ForQuestionAnswering head, 2 layers"),
    "transformers__mpnet__MultipleChoice": ("mpnet", "MPNetForMultipleChoice", {'num_hidden_layers': 2}, "ForMultipleChoice head, 2 layers"),
    "transformers__modernbert__base": ("modernbert", "ModernBertModel", {'num_hidden_layers': 2}, "Model head, 2 layers"),
    "transformers__modernbert__SequenceClassification": ("modernbert", "ModernBertForSequenceClassification", {'num_hidden_layers': 2}, "ForSequenceClassification head, 2 layers"),
    "transformers__modernbert__TokenClassification": ("modernbert", "ModernBertForTokenClassification", {'num_hidden_layers': 2}, "ForTokenClassification head, 2 layers"),
    "transformers__modernbert__QuestionAnswering": ("modernbert", "ModernBertForQuestionAnswering", {'num_hidden_layers': 2}, "ForQuestionAnswering head, 2 layers"),
    "transformers__modernbert__MultipleChoice": ("modernbert", "ModernBertForMultipleChoice", {'num_hidden_layers': 2}, "ForMultipleChoice head, 2 layers"),
    "transformers__modernbert__biases": ("modernbert", "ModernBertForMaskedLM", {"num_hidden_layers": 3, "attention_bias": True, "mlp_bias": True, "norm_bias": True, "classifier_bias": True, "decoder_bias": False, "tie_word_embeddings": False}, "every bias on, decoder bias off, untied decoder, 3 layers"),
    "transformers__electra__wide_embeddings": ("electra", "ElectraForPreTraining", {"num_hidden_layers": 2, "embedding_size": 256}, "embedding_size equal to hidden_size (no embeddings_project), 2 layers"),
}


def write(stem: str) -> Path:
    import transformers
    from transformers import CONFIG_MAPPING

    mt, arch, over, why = VARIANTS[stem]
    cfg = CONFIG_MAPPING[mt](**over)
    cfg.architectures = [arch]
    cfg.dtype = "bfloat16"
    with tempfile.TemporaryDirectory() as tmp:
        cfg.save_pretrained(tmp)
        text = (Path(tmp) / "config.json").read_text()
    out = CONFIGS / stem
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(text)
    (out / "SOURCE.md").write_text(
        f"# {stem}\n\nkind: library-writer (not a Hub repository's file)\n\n"
        f"transformers {transformers.__version__} `{type(cfg).__name__}()` defaults "
        f"(models/{mt}/configuration_{mt}.py) with {over or 'no overrides'} ({why}), architectures "
        f"`{arch}`, dtype bfloat16, written by `PretrainedConfig.save_pretrained` "
        "(tools/make_variant_configs.py).\n")
    return out


def main(argv: list[str]) -> int:
    for stem in argv or VARIANTS:
        print(write(stem))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
