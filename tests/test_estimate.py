"""`ckptscope estimate` end to end on real fixtures, and the GPU spec parser."""

from __future__ import annotations

import json
import shutil

import pytest

from ckptscope.errors import CkptError
from ckptscope.gpus import parse_gpus

from conftest import CHECKPOINTS, CONFIGS

LLAMA = CONFIGS / "meta-llama__Llama-3.1-8B"


def test_gpu_specs():
    g = parse_gpus("2x80GB")
    assert len(g) == 2 and g[0].bytes == 80 * 10**9
    assert parse_gpus("24GiB")[0].bytes == 24 * 2**30
    h = parse_gpus("4xH100")
    assert len(h) == 4 and h[0].name == "H100 80GB"
    assert parse_gpus("nvidia h200")[0].name == "H200 141GB"
    assert parse_gpus("a100-40gb")[0].bytes == 40 * 2**30
    assert parse_gpus("RTX 4090")[0].name == "RTX 4090 24GB"
    assert [x.name for x in parse_gpus("h100,l4")] == ["H100 80GB", "L4 24GB"]
    for bad in ("", "2xfoo", "0xH100", "-5GB"):
        with pytest.raises(CkptError):
            parse_gpus(bad)


def test_estimate_json_llama(run_cli):
    code, out, err = run_cli("estimate", LLAMA, "--context", "32768", "--batch", "2", "--gpus", "2x80GB",
                             "--kv-dtype", "fp8", "--json")
    assert code == 0, err
    r = json.loads(out)
    kv = r["kv_cache"]
    # fp8: 1 byte per value; 32 layers x (K + V) x 8 KV heads x 128
    assert kv["bytes_per_token"]["all_layers"] == 32 * 2 * 8 * 128
    assert kv["bytes"] == 32 * 2 * 8 * 128 * 32768 * 2
    assert kv["per_gpu"] == kv["bytes"] // 2  # 4 of 8 KV heads per GPU
    inf = r["inference"]
    assert inf["tensor_parallel"] == 2 and inf["fits"] is True
    assert inf["capacity_per_gpu"] == 80 * 10**9
    assert inf["headroom"] == 80 * 10**9 - inf["per_gpu"]["total"]
    assert any("fp8" in a for a in r["assumptions"])
    assert r["context"]["rope_scaling"]["type"] == "llama3"


def test_estimate_text_and_does_not_fit_exit_code(run_cli):
    code, out, _ = run_cli("estimate", CONFIGS / "deepseek-ai__DeepSeek-V3", "--context", "8192", "--gpus", "H100")
    assert code == 1
    assert "does NOT fit" in out and "MLA (latent)" in out and "MoE" in out
    code, out, _ = run_cli("estimate", CONFIGS / "google__gemma-2-9b", "--context", "8192", "--gpus", "H100")
    assert code == 0 and "fits" in out and "sliding 21, full 21" in out


def test_estimate_training(run_cli):
    code, out, err = run_cli("estimate", LLAMA, "--train", "full", "--zero", "3", "--gpus", "8xH100",
                             "--context", "4096", "--checkpointing", "--precision", "mixed", "--json")
    assert code == 0, err
    tr = json.loads(out)["training"]
    P = 8_030_261_248
    assert tr["state"]["total"] == 16 * P // 8
    assert tr["gradient_checkpointing"] is True
    code, out, _ = run_cli("estimate", LLAMA, "--train", "lora", "--lora-targets", "q_proj,v_proj", "--json")
    tr = json.loads(out)["training"]
    assert tr["adapter"]["parameters"] == 32 * 16 * ((4096 + 4096) + (4096 + 1024))
    assert tr["per_gpu"]["base_weights"] == 2 * P + 2 * 64 * 4  # + rotary inv_freq / original_inv_freq (fp32)


def test_estimate_from_real_header(run_cli, tmp_path):
    # all-MiniLM-L6-v2: the byte-exact header of the real file; data region size from the facts file
    src = CHECKPOINTS / "pypi-all-minilm-l6-v2"
    shutil.copy(src / "config.json", tmp_path / "config.json")
    shutil.copy(src / "model.safetensors.head", tmp_path / "model.safetensors")
    facts = json.loads((src / "model.safetensors.facts.json").read_text())
    code, _, err = run_cli("estimate", tmp_path, "--json")  # the header alone: a truncated file is refused
    assert code == 2 and "model.safetensors" in err and "truncated" in err
    with open(tmp_path / "model.safetensors", "r+b") as f:  # the real size, data region sparse
        f.truncate(facts["size_bytes"])
    code, out, err = run_cli("estimate", tmp_path, "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["weights"]["basis"] == "headers"
    assert r["weights"]["bytes"] == facts["size_bytes"] - 8 - facts["header_len"] == facts["data_bytes"]
    assert r["kv_cache"]["bytes"] == 0 and r["kv_cache"]["attention"] == "none"


def test_estimate_errors(run_cli, tmp_path):
    code, _, err = run_cli("estimate", LLAMA, "--gpus", "12xbanana")
    assert code == 2 and "banana" in err and "Traceback" not in err
    code, _, err = run_cli("estimate", LLAMA, "--kv-dtype", "fp3")
    assert code == 2 and "--kv-dtype" in err
    code, _, err = run_cli("estimate", LLAMA, "--gpus", "3xH100", "--tp", "2")
    assert code == 2 and "--tp" in err
    (tmp_path / "config.json").write_text("{not json")
    code, _, err = run_cli("estimate", tmp_path)
    assert code == 2 and "config.json" in err


def test_quant_option_present(run_cli):
    try:
        import ckptscope.commands.quantopts  # noqa: F401
    except ImportError:
        code, _, err = run_cli("estimate", LLAMA, "--quant", "q4_k_m")
        assert code == 2 and "not available" in err
    else:
        code, out, err = run_cli("estimate", LLAMA, "--quant", "q4_k_m", "--gpus", "RTX-4090", "--json")
        assert code in (0, 1), err
        q = json.loads(out)["inference"]["quantized"]
        assert q and all(v["weights_bytes"] < 2 * 8_030_261_248 for v in q.values())


def test_moe_dispatch_flag_reaches_the_planner(run_cli):
    from conftest import CONFIGS

    outs = {}
    for policy in ("transformers", "fused"):
        code, out, err = run_cli("estimate", CONFIGS / "Qwen__Qwen3-30B-A3B", "--context", "8192", "--json",
                                 "--moe-dispatch", policy)
        assert code == 0, err
        outs[policy] = json.loads(out)
    text = {p: " ".join(o["assumptions"]) for p, o in outs.items()}
    assert "fused dispatch" in text["fused"] and "fused dispatch" not in text["transformers"]
    assert outs["fused"] != outs["transformers"]


def test_sliding_window_mask_counted_past_the_window(run_cli):
    # Mistral-7B: every layer slides over 4,096 tokens. An 8,192-token prompt prefilled at once makes transformers'
    # SDPA path build a bool mask of 1 x 8192 x 8192 bytes; a 4,096-token prompt needs none (is_causal suffices).
    code, out, err = run_cli("estimate", CONFIGS / "mistralai__Mistral-7B-v0.1", "--context", "8192",
                             "--prefill-chunk", "0", "--json")
    assert code == 0, err
    assert any(f"{8192 * 8192:,} bytes" in a for a in json.loads(out)["assumptions"])
    code, out, _ = run_cli("estimate", CONFIGS / "mistralai__Mistral-7B-v0.1", "--context", "4096",
                           "--prefill-chunk", "0", "--json")
    assert not any("boolean attention mask" in a for a in json.loads(out)["assumptions"])
