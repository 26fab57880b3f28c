"""Gemma 4 (families/gemma4.py): the Hub layout of the KV-shared layers, the layout read off the names, the
full-attention layers' own head size / K=V projection, and what the KV-cache planner makes of the layers. The
name-by-name equality with transformers' meta build is tests/test_arch_oracle.py; expected numbers here are
derived by hand from the fixture configs (quoted in each test)."""

from __future__ import annotations

import json

from ckptscope.analysis.arch import infer_layout, predict_inventory
from ckptscope.analysis.memory.kv import kv_cache_bytes, kv_layout
from ckptscope.readers.config import from_dict

from tests.conftest import CONFIGS, FIXTURES


def _cfg(name):
    return json.loads((CONFIGS / name / "config.json").read_text())


def _oracle(stem):
    return json.loads((FIXTURES / "oracle" / f"{stem}.json").read_text())


def test_e4b_hub_layout_keeps_kv_of_the_shared_layers():
    """E4B: 42 layers, the last 18 KV-shared (24..41); 2 KV heads; every 6th layer (5, 11, ..., 41) is full
    attention with head_dim 512, the others 256; hidden 2560; attention_k_eq_v false, so v_proj everywhere."""
    c = from_dict(_cfg("google__gemma-4-E4B-it"))
    hub = {t.name: t for t in predict_inventory(c)}
    oracle = {n for n, _, _ in _oracle("google__gemma-4-E4B-it")["tensors"]}
    extra = set(hub) - oracle
    assert oracle <= set(hub)
    assert extra == {f"model.language_model.layers.{i}.self_attn.{w}" for i in range(24, 42)
                     for w in ("k_proj.weight", "v_proj.weight", "k_norm.weight")}
    full = [i for i in range(24, 42) if (i + 1) % 6 == 0]  # 29, 35, 41
    want = sum(2 * (2 * hd) * 2560 + hd for hd in (512 if i in full else 256 for i in range(24, 42)))
    assert sum(hub[n].numel for n in extra) == want


def test_layout_read_off_the_names():
    for stem in ("google__gemma-4-E2B-it", "transformers__gemma4_text"):
        c = from_dict(_cfg(stem))
        t5_names = [n for n, _, _ in _oracle(stem)["tensors"]]
        assert infer_layout(c, t5_names) == {"kv_shared_weights": False}, stem
        assert infer_layout(c, [t.name for t in predict_inventory(c)]) == {"kv_shared_weights": True}, stem


def test_31b_full_layers_share_k_and_v():
    """31B: attention_k_eq_v, num_global_key_value_heads 4, global_head_dim 512 on the full layers (5, 11, ...);
    sliding layers 16 KV heads x 256; 32 query heads; hidden 5376."""
    inv = {t.name: t.shape for t in predict_inventory(from_dict(_cfg("google__gemma-4-31B-it")))}
    p = "model.language_model.layers."
    assert inv[p + "5.self_attn.k_proj.weight"] == (4 * 512, 5376)
    assert inv[p + "5.self_attn.q_proj.weight"] == (32 * 512, 5376)
    assert p + "5.self_attn.v_proj.weight" not in inv
    assert inv[p + "4.self_attn.v_proj.weight"] == (16 * 256, 5376)
    assert sum(1 for n in inv if n.endswith("v_proj.weight") and n.startswith(p)) == 50


def test_e2b_double_wide_mlp_on_the_shared_layers():
    """E2B: intermediate 6144, use_double_wide_mlp: the 20 KV-shared layers (15..34) are 12288 wide."""
    inv = {t.name: t.shape for t in predict_inventory(from_dict(_cfg("google__gemma-4-E2B-it")))}
    p = "model.language_model.layers."
    assert inv[p + "14.mlp.up_proj.weight"] == (6144, 1536)
    assert inv[p + "15.mlp.up_proj.weight"] == (12288, 1536)


def test_kv_planner_sliding_capped_shared_layers_free_full_layers_wider():
    """E2B: 35 layers, 4 sliding then 1 full; the last 20 reuse K/V (no cache), leaving 12 sliding + 3 full;
    1 KV head; sliding head_dim 256 (window 512), full head_dim 512."""
    lay = kv_layout(from_dict(_cfg("google__gemma-4-E2B-it")))
    assert lay.counts == {"sliding": 12, "full": 3}
    b = kv_cache_bytes(lay, 32768, kv_dtype="bf16")["by_kind"]
    assert b["sliding"] == 12 * 2 * 256 * 2 * 512
    assert b["full"] == 3 * 2 * 512 * 2 * 32768
    # 31B: no sharing; 50 sliding layers of 16 x 256 (window 1024), 10 full layers of 4 x 512
    lay = kv_layout(from_dict(_cfg("google__gemma-4-31B-it")))
    b = kv_cache_bytes(lay, 4096, kv_dtype="bf16")["by_kind"]
    assert b == {"sliding": 50 * 2 * 16 * 256 * 2 * 1024, "full": 10 * 2 * 4 * 512 * 2 * 4096}
