"""`ckptscope explain`: every config.json field explained, with implications computed for this model."""

from __future__ import annotations

import json

from tests.conftest import CONFIGS


def test_explain_llama_fields_and_implications(run_cli):
    code, out, err = run_cli("explain", CONFIGS / "meta-llama__Llama-3.2-1B")
    assert code == 0, err
    # context limit counts prompt + generated tokens; KV cache of 16 layers x 8 KV heads x 64 x 2 (K and V)
    assert "at most 131,072 tokens at once, prompt and generated tokens together" in out
    assert "grouped-query attention: 4 query heads share each K/V head" in out
    assert "2 x 16 layers x 8 heads x 64 = 16,384 values per token" in out
    # tied: one 128,256 x 2,048 matrix stored once
    assert f"one shared matrix serves as input embedding and output head: {128256 * 2048:,} parameters" in out
    assert "llama3 RoPE scaling (factor 32.0) extends the 8,192-token training context" in out


def test_explain_json_lists_every_field(run_cli):
    code, out, err = run_cli("explain", CONFIGS / "deepseek-ai__DeepSeek-V3", "--json")
    assert code == 0, err
    data = json.loads(out)
    raw = json.loads((CONFIGS / "deepseek-ai__DeepSeek-V3" / "config.json").read_text())
    assert [e["field"] for e in data["fields"]] == list(raw)
    by = {e["field"]: e for e in data["fields"]}
    assert "8 of the 256 experts" in by["num_experts_per_tok"]["implies"]
    assert "512-wide latent" in by["kv_lora_rank"]["implies"]
    assert "FP8" in by["quantization_config"]["implies"] and "128x128" in by["quantization_config"]["implies"]
    assert "next-token-prediction" in by["num_nextn_predict_layers"]["implies"]


def test_explain_all_shows_training_fields(run_cli):
    code, out, _ = run_cli("explain", CONFIGS / "openai-community__gpt2")
    code2, out_all, _ = run_cli("explain", CONFIGS / "openai-community__gpt2", "--all")
    assert code == code2 == 0
    assert "resid_pdrop" not in out and "resid_pdrop" in out_all
    assert "n_positions = 1024" in out


def test_explain_without_config_is_a_clean_error(run_cli, tmp_path):
    code, out, err = run_cli("explain", tmp_path)
    assert code == 2 and "no config.json" in err and "Traceback" not in err
