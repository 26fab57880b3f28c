"""Packed low-bit weights count as logical parameters; scales/zeros/g_idx are their own component."""

from __future__ import annotations

import json

from stwriter import write_st


def test_gptq_int4_packed(tmp_path, run_cli):
    # A GPTQ 4-bit Linear(in=64, out=32), group size 32: qweight packs 8 int4 along `in` into each int32.
    (tmp_path / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 32}}))
    write_st(tmp_path / "model.safetensors", {
        "model.layers.0.mlp.down_proj.qweight": ("I32", [64 // 8, 32]),
        "model.layers.0.mlp.down_proj.qzeros": ("I32", [64 // 32, 32 // 8]),
        "model.layers.0.mlp.down_proj.scales": ("F16", [64 // 32, 32]),
        "model.layers.0.mlp.down_proj.g_idx": ("I32", [64]),
        "model.norm.weight": ("F16", [32]),
    })
    code, out, _ = run_cli("inspect", tmp_path, "--json")
    r = json.loads(out)
    p = r["parameters"]
    assert code == 0
    assert p["by_component"]["mlp"] == 64 * 32  # logical int4 weights
    assert p["by_component"]["quant_scales"] == 2 * 4 + 2 * 32 + 64  # qzeros + scales + g_idx elements
    assert p["weights"] == 64 * 32 + 32
    assert p["stored_elements"]["total"] == 8 * 32 + 8 + 64 + 64 + 32
    assert r["bytes"]["by_component"]["mlp"] == 8 * 32 * 4


def test_mxfp4_blocks_like_gpt_oss(tmp_path, run_cli):
    # gpt-oss stores experts as MXFP4: *_blocks U8 [E, out, in/32, 16] (two e2m1 per byte), *_scales U8 [E, out, in/32].
    E, out_f, in_f = 4, 64, 128
    (tmp_path / "config.json").write_text(json.dumps({
        "architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss", "num_local_experts": E,
        "num_experts_per_tok": 2, "quantization_config": {"quant_method": "mxfp4"}}))
    write_st(tmp_path / "model.safetensors", {
        "model.layers.0.mlp.experts.down_proj_blocks": ("U8", [E, out_f, in_f // 32, 16]),
        "model.layers.0.mlp.experts.down_proj_scales": ("U8", [E, out_f, in_f // 32]),
        "model.layers.0.mlp.router.weight": ("BF16", [E, in_f]),
    })
    code, out, _ = run_cli("inspect", tmp_path, "--json")
    p = json.loads(out)["parameters"]
    assert p["by_component"]["moe_experts"] == E * out_f * in_f
    assert p["by_component"]["quant_scales"] == E * out_f * in_f // 32
    assert p["by_component"]["router"] == E * in_f
    assert p["active"]["routed_experts_active"] == 2 * out_f * in_f  # top-2 of 4 experts


def test_fp8_block_scales(tmp_path, run_cli):
    # DeepSeek-V3 style: F8_E4M3 weight + F32 weight_scale_inv on a 128x128 grid.
    write_st(tmp_path / "model.safetensors", {
        "model.layers.0.self_attn.o_proj.weight": ("F8_E4M3", [256, 384]),
        "model.layers.0.self_attn.o_proj.weight_scale_inv": ("F32", [2, 3]),
    })
    code, out, _ = run_cli("inspect", tmp_path, "--json")
    r = json.loads(out)
    assert r["parameters"]["weights"] == 256 * 384
    assert r["parameters"]["by_component"] == {"attention": 256 * 384, "quant_scales": 6}
    assert r["bytes"]["by_dtype"] == {"F8_E4M3": 256 * 384, "F32": 24}
