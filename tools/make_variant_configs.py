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
