"""Reference config.json files for the families of ckptscope/analysis/arch/families/text_more.py.

Two kinds, each folder with a SOURCE.md saying which:
- ``library-writer``: transformers' own config class defaults (each class documents the reference model its
  defaults describe) plus the named overrides (mostly fewer layers, to keep the oracle inventories small),
  written by transformers' own writer (``PretrainedConfig.save_pretrained``), architectures set to the model
  class, dtype bfloat16;
- ``real``: a published config.json copied from a public source found with the code search (the source is
  named in SOURCE.md), written as JSON unchanged.

Test tooling only; needs transformers. Usage: python tools/make_text_more_configs.py [stem ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "fixtures" / "configs"

#: stem -> (model_type, model class, overrides of the class defaults, why)
VARIANTS = {
    "transformers__deepseek_v32": ("deepseek_v32", "DeepseekV32ForCausalLM", {"num_hidden_layers": 5},
                                   "DeepSeek-V3.2 widths, 5 layers: 3 dense + 2 MoE, indexer in every layer"),
    "transformers__glm_moe_dsa": ("glm_moe_dsa", "GlmMoeDsaForCausalLM",
                                  {"num_hidden_layers": 8, "index_topk_freq": 4, "index_skip_topk_offset": 3},
                                  "GLM-5 widths, 8 layers; index_topk_freq 4 / index_skip_topk_offset 3 (the "
                                  "GLM-5.x schedule: own indexer on layers 0, 1, 2, 6, others shared)"),
    "transformers__glm4_moe_lite": ("glm4_moe_lite", "Glm4MoeLiteForCausalLM", {"num_hidden_layers": 4},
                                    "GLM-4.7-Flash widths, 4 layers"),
    "transformers__kimi_linear": ("kimi_linear", "KimiLinearForCausalLM", {"num_hidden_layers": 9},
                                  "Kimi-Linear-48B widths, 9 layers (MLA at 4 and 8, KDA elsewhere, dense layer 0)"),
    "transformers__kimi_linear__attn_config": (
        "kimi_linear", "KimiLinearForCausalLM",
        {"num_hidden_layers": 8, "first_k_dense_replace": 2,
         "linear_attn_config": {"head_dim": 64, "num_heads": 16, "short_conv_kernel_size": 4,
                                "kda_layers": [1, 2, 3, 5, 6, 7], "full_attn_layers": [4, 8]}},
        "Moonshot's config.json style: linear_attn_config with 1-based kda_layers / full_attn_layers, other KDA "
        "widths, two dense layers"),
    "transformers__olmo_hybrid": ("olmo_hybrid", "OlmoHybridForCausalLM", {"num_hidden_layers": 8},
                                  "class defaults, 8 layers (attention every 4th)"),
    "transformers__bamba": ("bamba", "BambaForCausalLM", {"attn_layer_indices": [9, 18, 27]},
                            "Bamba-9B widths with attention at layers 9, 18, 27 (the class default has none)"),
    "transformers__falcon_mamba": ("falcon_mamba", "FalconMambaForCausalLM", {}, "class defaults"),
    "transformers__longcat_flash": ("longcat_flash", "LongcatFlashForCausalLM", {"num_layers": 2},
                                    "LongCat-Flash widths, 2 layers"),
    "transformers__afmoe": ("afmoe", "AfmoeForCausalLM", {"num_hidden_layers": 5},
                            "class defaults, 5 layers (1 dense)"),
    "transformers__mimo_v2_flash": ("mimo_v2_flash", "MiMoV2FlashForCausalLM", {"num_hidden_layers": 7},
                                    "MiMo-V2-Flash widths, 7 layers (full at 0 and 5, sliding elsewhere)"),
    "transformers__dots1": ("dots1", "Dots1ForCausalLM",
                            {"num_hidden_layers": 4, "n_routed_experts": 128, "n_shared_experts": 2,
                             "num_experts_per_tok": 6, "first_k_dense_replace": 1},
                            "class defaults (dots.llm1 widths) with dots.llm1's MoE numbers (the class default has "
                            "no experts and cannot be built), 4 layers"),
    "transformers__solar_open": ("solar_open", "SolarOpenForCausalLM", {"num_hidden_layers": 3},
                                 "Solar-Open-100B widths, 3 layers"),
    "transformers__ministral3": ("ministral3", "Ministral3ForCausalLM", {"num_hidden_layers": 4},
                                 "class defaults, 4 layers"),
    "transformers__vaultgemma": ("vaultgemma", "VaultGemmaForCausalLM", {"num_hidden_layers": 4},
                                 "VaultGemma-1B widths, 4 layers"),
    "transformers__youtu": ("youtu", "YoutuForCausalLM", {"num_hidden_layers": 4}, "class defaults, 4 layers"),
    "transformers__granitemoe_swa": ("granitemoe_swa", "GraniteMoeSWAForCausalLM", {"num_hidden_layers": 4},
                                     "class defaults, 4 layers"),
    "transformers__hy_v3": ("hy_v3", "HYV3ForCausalLM", {"num_hidden_layers": 3}, "class defaults, 3 layers"),
    "transformers__laguna": ("laguna", "LagunaForCausalLM",
                             {"num_hidden_layers": 3, "num_attention_heads_per_layer": [48, 32, 64]},
                             "class defaults, 3 layers with per-layer query heads 48, 32, 64"),
    "transformers__laguna__channel_gate": ("laguna", "LagunaForCausalLM", {"num_hidden_layers": 2,
                                                                          "gating": "per-channel"},
                                           "gating per channel (g_proj heads x head_dim), 2 layers"),
    "transformers__lfm3": ("lfm3", "Lfm3ForCausalLM", {"num_hidden_layers": 6}, "class defaults, 6 layers (conv, "
                           "conv, full, conv, sliding, conv)"),
    "transformers__cohere2_moe": ("cohere2_moe", "Cohere2MoeForCausalLM",
                                  {"num_hidden_layers": 3, "first_k_dense_replace": 1, "num_shared_experts": 1,
                                   "prefix_dense_intermediate_size": 4096},
                                  "class defaults, 3 layers: one dense prefix layer of 4096, one shared expert"),
    "transformers__deepseek_v4": ("deepseek_v4", "DeepseekV4ForCausalLM", {"num_hidden_layers": 5},
                                  "DeepSeek-V4 widths (the class documents V4-Flash-Base), 5 layers: the class "
                                  "default schedule 2 x HCA then HCA / CSA alternating (HCA, HCA, HCA, CSA, HCA), "
                                  "3 hash-routed MoE layers then 2 top-k MoE layers"),
}

#: stem -> (config dict, SOURCE.md text)
REAL = {
    "zai-org__GLM-4.7-Flash": (
        {"architectures": ["Glm4MoeLiteForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
         "pad_token_id": 154820, "eos_token_id": [154820, 154827, 154829], "hidden_act": "silu",
         "hidden_size": 2048, "intermediate_size": 10240, "max_position_embeddings": 202752,
         "model_type": "glm4_moe_lite", "moe_intermediate_size": 1536, "topk_method": "noaux_tc",
         "norm_topk_prob": True, "num_attention_heads": 20, "n_group": 1, "topk_group": 1, "n_routed_experts": 64,
         "n_shared_experts": 1, "routed_scaling_factor": 1.8, "num_experts_per_tok": 4, "first_k_dense_replace": 1,
         "num_hidden_layers": 47, "num_key_value_heads": 20, "num_nextn_predict_layers": 1,
         "partial_rotary_factor": 1.0, "rms_norm_eps": 1e-05, "rope_scaling": None, "rope_theta": 1000000,
         "tie_word_embeddings": False, "dtype": "bfloat16", "transformers_version": "5.0.0rc0", "q_lora_rank": 768,
         "kv_lora_rank": 512, "qk_nope_head_dim": 192, "qk_rope_head_dim": 64, "v_head_dim": 256,
         "vocab_size": 154880},
        "# zai-org/GLM-4.7-Flash config.json\n\nkind: real (a copy published in third-party code)\n\n"
        "Source: the code search index, file id 67159551111 (an exo test module, "
        "`make_glm_4_7_flash_bf16_config()`, whose helper `write_exact_glm_4_7_flash_config` writes it as the "
        "model's exact config.json and pins its sha256 against the Hub revision). Every key and value is copied "
        "unchanged; written here with json.dumps(indent=2).\n"),
    "ibm-granite__granite-swash-2b": (
        {"model_type": "granite_swa", "architectures": ["GraniteSWAForCausalLM"], "vocab_size": 100352,
         "hidden_size": 2560, "intermediate_size": 8192, "num_hidden_layers": 24, "num_attention_heads": 20,
         "num_key_value_heads": 4, "hidden_act": "silu", "max_position_embeddings": 8192, "rms_norm_eps": 1e-05,
         "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": True, "initializer_range": 0.1,
         "bos_token_id": 100257, "eos_token_id": 100257, "pad_token_id": 100256, "sliding_window": 128,
         "layer_types": ["full_attention"] + ["sliding_attention", "sliding_attention", "sliding_attention",
                                              "full_attention"] * 5
         + ["sliding_attention", "sliding_attention", "sliding_attention"],
         "embedding_multiplier": 12, "residual_multiplier": 0.28, "logits_scaling": 10,
         "attention_multiplier": 0.0078125, "rope_theta": 10000},
        "# ibm-granite/granite-swash-2b config.json (revision af1e3227100b61088eead48389ab5409b5d0e39c)\n\n"
        "kind: real (a copy published in third-party code)\n\n"
        "Source: the code search index, file id 62519137983 (a mobius test module: \"The pinned "
        "``ibm-granite/granite-swash-2b`` config.json contents at revision af1e3227..., inlined\"). Copied key for "
        "key; its `layer_types` is written there as a list expression (1 full + 5 x (3 sliding + 1 full) + 3 "
        "sliding), expanded here. No dtype in the copy (none written here either).\n"),
    "tiiuae__falcon-mamba-7b": (
        {"_name_or_path": "./", "architectures": ["FalconMambaForCausalLM"], "bos_token_id": 0, "conv_kernel": 4,
         "eos_token_id": 11, "expand": 16, "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.1,
         "intermediate_size": 8192, "layer_norm_epsilon": 1e-05, "model_type": "falcon_mamba",
         "num_hidden_layers": 64, "pad_token_id": 11, "rescale_prenorm_residual": False, "residual_in_fp32": True,
         "state_size": 16, "tie_word_embeddings": False, "time_step_floor": 0.0001,
         "time_step_init_scheme": "random", "time_step_max": 0.1, "time_step_min": 0.001, "time_step_rank": 256,
         "time_step_scale": 1.0, "torch_dtype": "bfloat16", "transformers_version": "4.43.0.dev0",
         "use_bias": False, "use_cache": True, "use_conv_bias": True, "vocab_size": 65024},
        "# tiiuae/falcon-mamba-7b config.json\n\nkind: real (a copy published in third-party code)\n\n"
        "Source: the code search index, file id 20731892139 (a benchmark module's `falcon_mamba_config` dict; the "
        "same dict, key for key, appears in four more files of the index: 20086630943, 20337672980, 32332034728, "
        "32223319525). Note `expand` 16 next to `intermediate_size` 8192 = 2 x hidden_size: the model reads "
        "intermediate_size. Every key and value copied unchanged.\n"),
}


def write_variant(stem: str) -> Path:
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
        "(tools/make_text_more_configs.py).\n")
    return out


def write_real(stem: str) -> Path:
    cfg, source = REAL[stem]
    out = CONFIGS / stem
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    (out / "SOURCE.md").write_text(source)
    return out


def main(argv: list[str]) -> int:
    for stem in argv or [*VARIANTS, *REAL]:
        print(write_variant(stem) if stem in VARIANTS else write_real(stem))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
