"""More multimodal and omni families (#12, j16mm): GLM-4V (dense / MoE / 4.6V), DeepSeek-VL (+ hybrid), ERNIE 4.5 VL,
LLaVA with a Pixtral tower, Qwen2.5-Omni and Qwen3-Omni. Name-by-name equality with transformers' meta build is
tests/test_arch_oracle.py (the inventories in fixtures/oracle/); here: a real checkpoint's published figures, hand
derivations, the components a report shows, and the CLI end to end on config-only folders."""

from __future__ import annotations

import json
import math

import pytest

from ckptscope.analysis.arch import active_parameters, family_name, predict_inventory, tokenizer_check
from ckptscope.analysis.arch.families import resolve
from ckptscope.analysis.classify import (AUDIO, COMPONENT_LABELS, LM_HEAD, PROJECTOR, SPEECH, TOWERS, VISION,
                                         component_of)
from ckptscope.readers.config import from_dict

from tests.conftest import CONFIGS, FIXTURES

QWEN3_OMNI = "github-report__qwen3-omni-30b-a3b-instruct"


def _cfg(name):
    return from_dict(json.loads((CONFIGS / name / "config.json").read_text()))


def _by_comp(inv):
    out: dict[str, int] = {}
    for t in inv:
        out[t.component] = out.get(t.component, 0) + t.numel
    return out


@pytest.mark.parametrize("model_type,arch", [
    ("glm4v", "Glm4vForConditionalGeneration"), ("glm4v_moe", "Glm4vMoeForConditionalGeneration"),
    ("glm46v", "Glm46VForConditionalGeneration"), ("qwen2_5_omni", "Qwen2_5OmniForConditionalGeneration"),
    ("qwen2_5_omni", "Qwen2_5OmniModel"),  # the class name the Hub's Qwen2.5-Omni configs carry
    ("qwen3_omni_moe", "Qwen3OmniMoeForConditionalGeneration"), ("deepseek_vl", "DeepseekVLForConditionalGeneration"),
    ("deepseek_vl_hybrid", "DeepseekVLHybridForConditionalGeneration"),
    ("ernie4_5_vl_moe", "Ernie4_5_VLMoeForConditionalGeneration"),
])
def test_dispatch(model_type, arch):
    assert resolve([arch], None) == model_type
    assert resolve([], model_type) == model_type


def test_qwen3_omni_equals_the_real_checkpoint():
    """Qwen3-Omni-30B-A3B-Instruct: the model report this config comes from (fixtures/configs/<...>/SOURCE.md) lists
    the checkpoint's 15 safetensors files: 28,010 tensors, 35,259,818,545 parameters, 65.68 GB (GiB), all BF16."""
    inv = predict_inventory(_cfg(QWEN3_OMNI))
    assert len(inv) == 28_010
    assert sum(t.numel for t in inv) == 35_259_818_545
    assert {t.dtype for t in inv} == {"BF16"}
    assert round(sum(t.nbytes for t in inv) / 2**30, 2) == 65.68
    got = {t.name: t.shape for t in inv}
    # rows the report prints (name, shape) for the vocoder, whose layout nothing else here checks
    assert got["code2wav.code_embedding.weight"] == (32768, 1024)
    assert got["code2wav.decoder.0.conv.weight"] == (1536, 1024, 7)
    assert got["code2wav.decoder.1.block.1.conv.weight"] == (1536, 768, 16)
    assert got["code2wav.decoder.1.block.2.conv1.conv.weight"] == (768, 768, 7)
    assert got["code2wav.decoder.1.block.3.conv2.conv.weight"] == (768, 768, 1)
    assert got["code2wav.decoder.1.block.4.act1.alpha"] == (768,)


def test_qwen3_omni_components_and_active_parameters():
    """Every tower is its own component; the talker + code2wav are the speech generator, left out of the active
    parameters. Thinker text: 48 layers x 128 experts x 3 x 2048 x 768 routed, top-8 active."""
    c = _cfg(QWEN3_OMNI)
    inv = predict_inventory(c)
    comp = _by_comp(inv)
    for k in (VISION, PROJECTOR, AUDIO, SPEECH):
        assert comp[k] > 0, k
    routed = 48 * 128 * 3 * 2048 * 768
    assert comp["moe_experts"] == routed  # the talker's experts are speech generator, not routed text experts
    act = active_parameters(inv, c)
    assert act["speech_generator"] == comp[SPEECH]
    assert act["active"] == sum(comp.values()) - routed + routed * 8 // 128 - comp[SPEECH]
    for t in inv:  # what the rules say equals what name classification says (what a report with headers shows)
        assert component_of(t.name) == t.component, t.name


def test_qwen3_omni_config_reader_sees_the_thinker():
    c = _cfg(QWEN3_OMNI)
    assert (c.num_hidden_layers, c.hidden_size, c.vocab_size, c.num_experts) == (48, 2048, 152064, 128)
    assert c.vision_config["depth"] == 27 and c.audio_config["d_model"] == 1280
    tk = tokenizer_check(c, None, predict_inventory(c))
    assert tk["embedding"] == "thinker.model.embed_tokens.weight" and tk["embedding_rows"] == 152064
    assert tk["lm_head"] == "thinker.lm_head.weight"


def test_glm4v_towers_hand_derivation():
    """Glm4vConfig() (GLM-4.1V-9B-Thinking per the class docs). Vision: 576 learned positions x 1536, a 3-D conv
    (1536 x 3 x 2 x 14 x 14 + bias), 24 blocks of 2 RMS norms + fused qkv (no bias) + proj + SwiGLU of width
    out_hidden_size 4096, post-conv norm, a 2x2 conv downsample to 4096 (+ bias), post norm. Projector (merger):
    4096^2 proj, LayerNorm, SwiGLU of width 13696."""
    H, out, I = 1536, 4096, 13696
    vision = 576 * H + H * 3 * 2 * 14 * 14 + H + 24 * (2 * H + 3 * H * H + H * H + 3 * H * out) \
        + H + out * H * 4 + out + H
    proj = out * out + 2 * out + 3 * out * I
    comp = _by_comp(predict_inventory(_cfg("transformers__glm4v")))
    assert comp[VISION] == vision and comp[PROJECTOR] == proj
    assert sum(comp.values()) == 10_292_777_472  # the Hub lists THUDM/GLM-4.1V-9B-Thinking as 10.3B parameters


def test_qwen2_5_omni_parts():
    """Qwen2_5OmniConfig(): thinker text 28 x Qwen2 layers, the talker a Qwen2 decoder with a codec embedding of
    embedding_size (8448 x 3584), token2wav in F32 whatever the checkpoint dtype (transformers casts it)."""
    inv = predict_inventory(_cfg("transformers__qwen2_5_omni"))
    by = {t.name: t for t in inv}
    assert by["talker.model.embed_tokens.weight"].shape == (8448, 3584)
    assert by["talker.codec_head.weight"].shape == (8448, 3584)
    assert "talker.lm_head.weight" not in by
    assert by["thinker.lm_head.weight"].component == LM_HEAD
    assert {t.dtype for t in inv if t.name.startswith("token2wav.")} == {"F32"}
    assert {t.dtype for t in inv if not t.name.startswith("token2wav.")} == {"BF16"}
    # DiT input projection: mel 80 + speaker encoder 128 + x-vector 192 + codec embedding 512 = 912 inputs
    assert by["token2wav.code2wav_dit_model.input_embed.proj.weight"].shape == (1024, 912)
    # BigVGAN: 6 upsamplers x 3 resblock kernels = 18 AMP blocks, channels halving from 1536
    assert sum(n.endswith("convs1.0.weight") for n in by) == 18
    assert by["token2wav.code2wav_bigvgan_model.conv_post.weight"].shape == (1, 1536 >> 6, 7)


def test_omni_without_audio_output_has_no_speech_generator():
    raw = json.loads((CONFIGS / "transformers__qwen2_5_omni" / "config.json").read_text())
    raw["enable_audio_output"] = False
    comp = _by_comp(predict_inventory(from_dict(raw)))
    assert SPEECH not in comp and comp[AUDIO] > 0 and comp[VISION] > 0


def test_llava_pixtral_tower():
    """LLaVA checkpoints of Pixtral (mistral-community/pixtral-12b's structure): the Pixtral tower, not CLIP, and a
    projector from its width (PixtralVisionConfig() 1024, not CLIP's 768)."""
    by = {t.name: t for t in predict_inventory(_cfg("transformers__llava_pixtral"))}
    assert "vision_tower.patch_conv.weight" in by and not any(".encoder.layers." in n for n in by)
    assert by["multi_modal_projector.linear_1.weight"].shape == (4096, 1024)


def test_ernie_vl_text_and_vision_experts():
    """Ernie4_5_VLMoeConfig(): 27 sparse layers of 64 text experts (1536 wide) then 64 vision experts (512 wide),
    2 shared experts (2 x 1536), transposed F32 routers; layer 0 dense."""
    inv = predict_inventory(_cfg("transformers__ernie4_5_vl_moe"))
    by = {t.name: t for t in inv}
    assert by["model.layers.1.mlp.experts.63.gate_proj.weight"].shape == (1536, 2560)
    assert by["model.layers.1.mlp.experts.64.gate_proj.weight"].shape == (512, 2560)
    vision_router = by["model.layers.1.mlp.gate.weight_1"]
    assert vision_router.shape == (2560, 64) and vision_router.dtype == "F32"
    assert by["model.layers.1.mlp.shared_experts.up_proj.weight"].shape == (3072, 2560)
    assert "model.layers.0.mlp.gate_proj.weight" in by and "lm_head.weight" not in by
    assert _by_comp(inv)["moe_experts"] == 27 * 64 * 3 * 2560 * (1536 + 512)


def test_new_component_names():
    assert SPEECH in TOWERS and COMPONENT_LABELS[SPEECH].startswith("speech generator")
    for name, comp in [("talker.model.layers.0.mlp.experts.3.up_proj.weight", SPEECH),
                       ("token2wav.code2wav_dit_model.proj_out.weight", SPEECH),
                       ("code2wav.decoder.0.conv.weight", SPEECH),
                       ("thinker.lm_head.weight", LM_HEAD),
                       ("thinker.visual.merger_list.0.mlp.0.weight", PROJECTOR),
                       ("model.aligner.linear1.weight", PROJECTOR),
                       ("model.resampler_model.mlp.weight", PROJECTOR),
                       ("model.high_res_vision_neck.conv1.weight", VISION),
                       ("model.high_res_vision_alpha", VISION)]:
        assert component_of(name) == comp, name


def _sparse_checkpoint(tmp_path, stem):
    """A local folder: the config + one sparse safetensors file holding the oracle's tensors."""
    from tests.stwriter import write_st

    o = json.loads((FIXTURES / "oracle" / f"{stem}.json").read_text())
    d = tmp_path / stem
    d.mkdir()
    (d / "config.json").write_text((FIXTURES.parent / o["config"]).read_text())
    write_st(d / "model.safetensors", {n: (dt, s) for n, s, dt in o["tensors"]})
    return d, o


@pytest.mark.parametrize("stem,towers", [
    ("transformers__glm4v", (VISION, PROJECTOR)),
    ("transformers__deepseek_vl_hybrid", (VISION, PROJECTOR)),
    ("transformers__ernie4_5_vl_moe", (VISION, PROJECTOR)),
    ("transformers__llava_pixtral", (VISION, PROJECTOR)),
    ("transformers__qwen2_5_omni", (VISION, PROJECTOR, AUDIO, SPEECH)),
])
def test_inspect_reconciles_headers_and_shows_each_tower(run_cli, tmp_path, stem, towers):
    folder, o = _sparse_checkpoint(tmp_path, stem)
    code, out, err = run_cli("inspect", folder, "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["reconciliation"]["status"] == "exact", rep["reconciliation"]["summary"]
    comps = {k: (v["parameters"] if isinstance(v, dict) else v) for k, v in rep["parameters"]["by_component"].items()}
    for k in towers:
        assert comps[k] > 0, (k, comps)
    assert "other" not in comps, comps
    assert sum(comps.values()) == sum(math.prod(s) for _, s, _ in o["tensors"])


@pytest.mark.parametrize("name", [QWEN3_OMNI, "transformers__glm4v_moe", "transformers__qwen2_5_omni"])
def test_config_only_cli_end_to_end(run_cli, name):
    """inspect and estimate on a folder holding only config.json: exit 0, the towers as components, and the
    quantized-weights estimate leaves them out (it quantizes the language model only)."""
    code, out, err = run_cli("inspect", CONFIGS / name, "--json")
    assert code == 0, err
    rep = json.loads(out)
    comps = rep["parameters"]["by_component"]
    assert VISION in comps and PROJECTOR in comps and "other" not in comps
    code, out, err = run_cli("estimate", CONFIGS / name, "--quant", "int4")
    assert code == 0, err
    block = out.split("int4-gptq: INT4 GPTQ", 1)[1].split("  - ", 1)[0]
    assert "attention" in block
    for k in TOWERS:
        assert k not in block, (k, block)
    assert family_name(_cfg(name)) is not None


def test_lfm2_vl_tower_prefix_follows_writer_and_names():
    """LFM2-VL: transformers 5 saves the SigLIP 2 tower as model.vision_tower.*, 4.x (LiquidAI's Hub repos) as
    model.vision_tower.vision_model.*; a config written by 4.x predicts the latter, headers decide when present.
    LiquidAI's configs spell the model_type "lfm2-vl"."""
    from ckptscope.analysis.arch import infer_layout

    raw = json.loads((CONFIGS / "transformers__lfm2_vl" / "config.json").read_text())
    t5 = [n for n, _, _ in json.loads((FIXTURES / "oracle" / "transformers__lfm2_vl.json").read_text())["tensors"]]
    assert sorted(t.name for t in predict_inventory(from_dict(raw))) == sorted(t5)  # written by 5.23
    old = dict(raw, transformers_version="4.57.0")
    hub = sorted(n.replace("model.vision_tower.", "model.vision_tower.vision_model.", 1) for n in t5)
    assert sorted(t.name for t in predict_inventory(from_dict(old))) == hub
    assert infer_layout(from_dict(old), t5) == {"vision_model": False}
    assert infer_layout(from_dict(raw), hub) == {"vision_model": True}
    from ckptscope.analysis.arch.families import module_for

    assert module_for(resolve([], "lfm2-vl")) is module_for("lfm2_vl")
    comp = _by_comp(predict_inventory(from_dict(raw)))
    # projector: LayerNorm over 768 x 2 x 2, linear_1 to 2560, linear_2 to the text width 2560 (biases)
    assert comp[PROJECTOR] == 2 * 3072 + (2560 * 3072 + 2560) + (2560 * 2560 + 2560)
