"""Reference config.json files for families without a real one in fixtures/configs: transformers' own config
class defaults (each class documents the reference model its defaults describe), written by transformers' own
writer (``PretrainedConfig.save_pretrained``, which stores only the fields that differ from the defaults, as
every real config.json on the Hub is written), with ``architectures`` set to the model class and dtype bfloat16.

Test tooling only; needs transformers. Usage: python tools/make_config_fixtures.py [model_type ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "fixtures" / "configs"

#: model_type -> model class saved in ``architectures``
FAMILIES = {
    "llama4": "Llama4ForConditionalGeneration", "gemma3": "Gemma3ForConditionalGeneration",
    "qwen2_vl": "Qwen2VLForConditionalGeneration", "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "qwen3_vl": "Qwen3VLForConditionalGeneration", "qwen3_vl_moe": "Qwen3VLMoeForConditionalGeneration",
    "qwen3_next": "Qwen3NextForCausalLM", "glm4": "Glm4ForCausalLM", "glm4_moe": "Glm4MoeForCausalLM",
    "cohere": "CohereForCausalLM", "cohere2": "Cohere2ForCausalLM", "olmo2": "Olmo2ForCausalLM",
    "olmo3": "Olmo3ForCausalLM", "olmoe": "OlmoeForCausalLM",
    "starcoder2": "Starcoder2ForCausalLM", "stablelm": "StableLmForCausalLM", "minicpm3": "MiniCPM3ForCausalLM",
    "minimax": "MiniMaxForCausalLM", "minimax_m2": "MiniMaxM2ForCausalLM", "nemotron": "NemotronForCausalLM",
    "nemotron_h": "NemotronHForCausalLM", "granite": "GraniteForCausalLM", "granitemoe": "GraniteMoeForCausalLM",
    "granitemoeshared": "GraniteMoeSharedForCausalLM", "granitemoehybrid": "GraniteMoeHybridForCausalLM",
    "falcon_h1": "FalconH1ForCausalLM", "jamba": "JambaForCausalLM", "mamba": "MambaForCausalLM",
    "mamba2": "Mamba2ForCausalLM", "exaone4": "Exaone4ForCausalLM", "ernie4_5": "Ernie4_5ForCausalLM",
    "ernie4_5_moe": "Ernie4_5_MoeForCausalLM", "hunyuan_v1_dense": "HunYuanDenseV1ForCausalLM",
    "hunyuan_v1_moe": "HunYuanMoEV1ForCausalLM", "seed_oss": "SeedOssForCausalLM", "smollm3": "SmolLM3ForCausalLM",
    "phimoe": "PhimoeForCausalLM", "dbrx": "DbrxForCausalLM", "mistral3": "Mistral3ForConditionalGeneration",
    "gemma3n": "Gemma3nForConditionalGeneration", "whisper": "WhisperForConditionalGeneration",
    "qwen2_audio": "Qwen2AudioForConditionalGeneration", "voxtral": "VoxtralForConditionalGeneration",
    "llava": "LlavaForConditionalGeneration", "llava_next": "LlavaNextForConditionalGeneration",
    "llava_onevision": "LlavaOnevisionForConditionalGeneration", "paligemma": "PaliGemmaForConditionalGeneration",
    "idefics3": "Idefics3ForConditionalGeneration", "smolvlm": "SmolVLMForConditionalGeneration",
    "internvl": "InternVLForConditionalGeneration", "mllama": "MllamaForConditionalGeneration",
    "aya_vision": "AyaVisionForConditionalGeneration", "gemma3n_text": "Gemma3nForCausalLM",
    # j16mm: more vision-language and omni families
    "glm4v": "Glm4vForConditionalGeneration", "glm4v_moe": "Glm4vMoeForConditionalGeneration",
    "glm46v": "Glm46VForConditionalGeneration", "qwen2_5_omni": "Qwen2_5OmniForConditionalGeneration",
    "deepseek_vl": "DeepseekVLForConditionalGeneration", "deepseek_vl_hybrid": "DeepseekVLHybridForConditionalGeneration",
    "ernie4_5_vl_moe": "Ernie4_5_VLMoeForConditionalGeneration", "lfm2_vl": "Lfm2VlForConditionalGeneration",
}
#: defaults transformers' own model class cannot build (None where the model needs a number): set explicitly
OVERRIDES = {
    "hunyuan_v1_dense": {"head_dim": 128}, "hunyuan_v1_moe": {"head_dim": 128, "num_experts": 16,
                                                              "moe_topk": 2},
    "nemotron": {"num_key_value_heads": 8},
    "dbrx": {"attn_config": {"kv_n_heads": 8, "clip_qkv": 8, "rope_theta": 500000.0}},  # the default DbrxAttentionConfig
    # has no rope_theta the model can read; values of databricks/dbrx-instruct
    "aya_vision": {"vision_config": {"model_type": "siglip_vision_model", "hidden_size": 1152, "intermediate_size": 4304,
                                     "num_hidden_layers": 26, "num_attention_heads": 16, "image_size": 384,
                                     "patch_size": 14, "vision_use_head": False}},  # the default's 14 heads do
    # not divide its width 1152; 16 heads (SigLIP so400m's), every other number the composed default
    "starcoder2": {"bos_token_id": 0, "eos_token_id": 0},  # the class default 50256 is past its own vocab (49152);
    # bigcode/starcoder2-* configs use 0
}


def write(mt: str) -> Path:
    import tempfile

    import transformers
    from transformers import CONFIG_MAPPING

    cfg = CONFIG_MAPPING[mt](**OVERRIDES.get(mt, {}))
    cfg.architectures = [FAMILIES[mt]]
    cfg.dtype = "bfloat16"
    with tempfile.TemporaryDirectory() as tmp:
        cfg.save_pretrained(tmp)
        text = (Path(tmp) / "config.json").read_text()
    out = CONFIGS / f"transformers__{mt}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(text)
    prov_path = CONFIGS / "PROVENANCE.json"
    prov = json.loads(prov_path.read_text())
    prov[f"transformers/{mt}"] = {
        "kind": "library-writer",
        "source": f"transformers {transformers.__version__} {type(cfg).__name__}() defaults "
                  f"(models/{type(cfg).__module__.split('.')[-2]}/{type(cfg).__module__.split('.')[-1]}.py), "
                  "written by PretrainedConfig.save_pretrained",
        "note": f"architectures set to {FAMILIES[mt]} and dtype to bfloat16 before saving"
                + (f", and {OVERRIDES[mt]} (the class default cannot be built)" if mt in OVERRIDES else "")
                + "; every other field is the class default",
    }
    prov_path.write_text(json.dumps(prov, indent=1, sort_keys=False) + "\n")
    return out


def main(argv: list[str]) -> int:
    for mt in argv or FAMILIES:
        print(write(mt))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
