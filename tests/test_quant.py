"""Non-GGUF schemes: hand-computed layouts of one linear layer, the real DeepSeek-V3 FP8 and gpt-oss MXFP4
layouts (as the architecture rules predict the real Hub headers), and inspect's section for quantized checkpoints."""

from __future__ import annotations

import gzip
import json
from types import SimpleNamespace

import pytest

from ckptscope.analysis.quant import estimate_scheme, normalize_scheme, report_stage
from ckptscope.readers.config import from_dict, parse_config

from conftest import CONFIGS, FIXTURES


def _cfg(name):
    return parse_config((CONFIGS / name / "config.json").read_bytes())


def _one_linear():
    cfg = from_dict({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 1, "num_attention_heads": 32})
    ts = [SimpleNamespace(name="model.layers.0.self_attn.q_proj.weight", dtype="BF16", shape=(4096, 4096)),
          SimpleNamespace(name="model.embed_tokens.weight", dtype="BF16", shape=(1000, 4096)),
          SimpleNamespace(name="model.layers.0.input_layernorm.weight", dtype="BF16", shape=(4096,))]
    return ts, cfg


KEPT = 1000 * 4096 * 2 + 4096 * 2  # embedding + norm stay BF16


@pytest.mark.parametrize("scheme,group,quantized_bytes", [
    # GPTQ: qweight I32 (4096/8, 4096) + qzeros I32 (32, 4096/8) + scales F16 (32, 4096) + g_idx I32 (4096)
    ("int4-gptq", 128, 512 * 4096 * 4 + 32 * 512 * 4 + 32 * 4096 * 2 + 4096 * 4),
    # AWQ: qweight I32 (4096, 4096/8) + qzeros I32 (32, 512) + scales F16 (32, 4096)
    ("int4-awq", 128, 4096 * 512 * 4 + 32 * 512 * 4 + 32 * 4096 * 2),
    ("int4-gptq", 32, 512 * 4096 * 4 + 128 * 512 * 4 + 128 * 4096 * 2 + 4096 * 4),
    # FP8 block: 1 B per weight + F32 scale per 128x128 block (32 x 32)
    ("fp8", None, 4096 * 4096 + 32 * 32 * 4),
    ("fp8-channel", None, 4096 * 4096 + 4096 * 2),
    ("int8", None, 4096 * 4096 + 4096 * 2),
    # NF4 with double quant: packed n/2, U8 absmax per 64, F32 nested absmax per 256 blocks, 256-entry F32 nested
    # code + F32 offset, 16-entry F32 quant map, ~120 B quant_state
    ("nf4", None, 4096 * 4096 // 2 + 262144 + 1024 * 4 + 1024 + 4 + 64 + 120),
])
def test_one_linear_layouts(scheme, group, quantized_bytes):
    ts, cfg = _one_linear()
    e = estimate_scheme(ts, cfg, scheme, group_size=group)
    assert e.total_bytes == quantized_bytes + KEPT
    assert e.parameters == 4096 * 4096 + 1000 * 4096 + 4096
    assert any("kept" in a for a in e.assumptions)


def test_scheme_names():
    assert normalize_scheme("int4") == "int4-gptq" and normalize_scheme("AWQ") == "int4-awq"
    assert normalize_scheme("q4_k_m") is None
    with pytest.raises(ValueError):
        estimate_scheme([], None, "int3")


def _oracle(name):
    p = FIXTURES / "oracle" / f"{name}.json"
    d = json.loads(gzip.decompress((p.with_suffix(".json.gz")).read_bytes()) if not p.exists() else p.read_text())
    return [SimpleNamespace(name=n, shape=tuple(s), dtype=dt) for n, s, dt in d["tensors"]]


def test_fp8_block_reproduces_deepseek_v3_layout():
    """BF16 oracle inventory -> FP8 128x128 == the FP8 checkpoint the architecture rules predict from the real
    config (weights F8_E4M3 + F32 weight_scale_inv; embeddings, head, norms, routers BF16)."""
    arch = pytest.importorskip("ckptscope.analysis.arch")
    cfg = _cfg("deepseek-ai__DeepSeek-V3")
    real_layout = [t for t in arch.predict_inventory(cfg) if not t.name.startswith("model.layers.61.")]
    oracle = _oracle("deepseek-ai__DeepSeek-V3")  # transformers does not build the MTP layer 61
    e = estimate_scheme(oracle, cfg, "fp8")
    # the one difference is an input dtype: the real checkpoint keeps e_score_correction_bias in F32, the oracle
    # lists it in BF16 (58 MoE layers x 256 values x 2 bytes); kept tensors keep their input dtype
    assert e.total_bytes == sum(t.nbytes for t in real_layout) - 58 * 256 * 2
    assert e.scale_bytes == sum(t.nbytes for t in real_layout if t.name.endswith("weight_scale_inv"))
    # and an FP8 checkpoint re-estimated as FP8 gives itself back
    again = estimate_scheme(real_layout, cfg, "fp8")
    assert again.total_bytes == sum(t.nbytes for t in real_layout)


def test_mxfp4_reproduces_gpt_oss_layout():
    arch = pytest.importorskip("ckptscope.analysis.arch")
    cfg = _cfg("openai__gpt-oss-120b")
    real = sum(t.nbytes for t in arch.predict_inventory(cfg))
    oracle = [SimpleNamespace(name=t.name, shape=t.shape, dtype="BF16") for t in _oracle("openai__gpt-oss-120b")]
    e = estimate_scheme(oracle, cfg, "mxfp4")
    assert e.total_bytes == real
    assert round(e.parameters / 1e7) == 11683  # gpt-oss model card: 116.83B


def _report(tensors, cfg):
    """The Report inspect builds from these tensors (the stage reads the breakdown, it does not recount)."""
    from ckptscope.analysis.breakdown import summarize
    from ckptscope.report import Report

    s = summarize(tensors, cfg)
    return Report(source={}, model={}, parameters=s["parameters"], bytes=s["bytes"], tensors=s["tensors"], files=[])


def test_report_stage_on_fp8_checkpoint():
    arch = pytest.importorskip("ckptscope.analysis.arch")
    cfg = _cfg("deepseek-ai__DeepSeek-V3")
    inv = arch.predict_inventory(cfg)
    ck = SimpleNamespace(config=cfg, tensors=inv)
    rep = _report(inv, cfg)
    report_stage(ck, rep)
    q = rep.sections["quantization"]
    assert q["scheme"]["method"] == "fp8" and q["scheme"]["weight_block_size"] == [128, 128]
    assert q["stored_bytes"] == sum(t.nbytes for t in inv)
    assert q["by_dtype"]["F8_E4M3"]["tensors"] > 0
    # logical parameters exclude the scale grids: DeepSeek-V3 README "685B" total with the MTP module
    assert round(q["logical_parameters"] / 1e9) == 684
    assert q["side_tensor_elements"] > 0


def test_report_stage_ignores_plain_checkpoints():
    cfg = _cfg("meta-llama__Llama-3.1-8B")
    ck = SimpleNamespace(config=cfg, tensors=[SimpleNamespace(name="model.embed_tokens.weight", dtype="BF16",
                                                              shape=(10, 10), nbytes=200, numel=100)])
    rep = _report(ck.tensors, cfg)
    report_stage(ck, rep)
    assert "quantization" not in rep.sections


def test_inspect_config_only_quantized_checkpoint(run_cli):
    """gpt-oss-120b's config says MXFP4: inspect predicts the stored layout and the logical count."""
    pytest.importorskip("ckptscope.analysis.arch")
    code, out, err = run_cli("inspect", CONFIGS / "openai__gpt-oss-120b", "--json", "--offline")
    assert code == 0, err
    q = json.loads(out)["quantization"]
    assert q["scheme"]["method"] == "mxfp4" and q["basis"] == "config"
    assert round(q["logical_parameters"] / 1e7) == 11683  # model card: 116.83B
    assert q["stored_bytes"] < q["logical_parameters"]  # 4-bit experts: well under one byte per parameter
