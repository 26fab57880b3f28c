"""DeepSeek-V4's KV cache (compressed-sparse / heavily compressed attention), against hand arithmetic.

What a layer caches (transformers 5.23 DeepseekV4HCACache / DeepseekV4CSACache; families/deepseek_v4.py kv_rows):
one KV head of head_dim values shared by K and V; a sliding window of sliding_window tokens in every layer; an HCA
layer one head_dim row per 128 tokens; a CSA layer one head_dim row per 4 tokens plus the indexer's index_head_dim
key per 4 tokens; per sequence the compressor buffers of a window not yet closed (HCA: 127 tokens x (kv + gate) x
head_dim; CSA: 3 tokens x (kv + gate) x 2 series x (head_dim + index_head_dim) + one overlap row of kv + gate).
Every expected value below is arithmetic on the config.json numbers, not the planner's output.
"""

from __future__ import annotations

import json

from ckptscope.analysis.memory import bytes_per_token, kv_cache_bytes, kv_layout
from ckptscope.readers.config import from_dict

from conftest import CONFIGS

FLASH = "deepseek-ai__DeepSeek-V4-Flash-0731"  # head_dim 512, index_head_dim 128, sliding_window 128, 43 layers
B = 2  # bf16 bytes per value


def _cfg(name: str, **over):
    raw = json.loads((CONFIGS / name / "config.json").read_text())
    raw.update(over)
    return from_dict(raw)


# Flash: compress_ratios[:43] = 0, 0, then (4, 128) x 20, then 4 -> 2 sliding-only, 21 CSA, 20 HCA layers.
WINDOW = 128 * 512 * B                              # one layer's window rows
CSA_ROW = (512 + 128) * B                           # KV row + indexer key, one per 4 tokens
HCA_ROW = 512 * B                                   # one per 128 tokens
HCA_BUF = 127 * 2 * 512 * B                         # 260,096
CSA_BUF = (3 * 2 * 2 * (512 + 128) + 2 * (512 + 128)) * B  # 17,920


def test_flash_layer_rows():
    lay = kv_layout(_cfg(FLASH))
    assert lay.counts == {"sliding": 43, "compressed": 21 * 2 + 20, "state": 21 + 20}
    assert lay.sliding_window == 128


def test_flash_cache_at_one_million_tokens():
    n = 1 << 20
    want = 43 * WINDOW + 21 * (n // 4) * CSA_ROW + 20 * (n // 128) * HCA_ROW + 20 * HCA_BUF + 21 * CSA_BUF
    assert want == 7_225_417_216
    got = kv_cache_bytes(kv_layout(_cfg(FLASH)), n, 1, "bf16", policy="window")
    assert got["total"] == want
    assert got["by_kind"] == {"sliding": 43 * WINDOW, "compressed": 21 * (n // 4) * CSA_ROW + 20 * (n // 128) * HCA_ROW,
                              "state": 20 * HCA_BUF + 21 * CSA_BUF}


def test_flash_cache_is_replicated_under_tensor_parallelism():
    lay = kv_layout(_cfg(FLASH))
    assert (kv_cache_bytes(lay, 65536, 2, "bf16", tp=8)["total"]
            == kv_cache_bytes(lay, 65536, 2, "bf16", tp=1)["total"])


def test_growth_per_token_beyond_the_window():
    # per token beyond the windows: 21 CSA layers x 1280 / 4 + 20 HCA layers x 1024 / 128
    bpt = bytes_per_token(kv_layout(_cfg(FLASH)), "bf16")
    assert bpt["beyond_window"] == 21 * CSA_ROW // 4 + 20 * HCA_ROW // 128 == 6880
    assert bpt["all_layers"] == 43 * 512 * B + 6880


def test_library_config_short_context_and_partial_windows():
    # transformers__deepseek_v4: layer_types HCA, HCA, HCA, CSA, HCA (class default schedule, 5 layers)
    lay = kv_layout(_cfg("transformers__deepseek_v4"))
    assert lay.counts == {"sliding": 5, "compressed": 4 + 2, "state": 5}
    n = 1000  # HCA: 1000 // 128 = 7 rows; CSA: 250 rows
    want = 5 * WINDOW + 4 * 7 * HCA_ROW + 250 * CSA_ROW + 4 * HCA_BUF + CSA_BUF
    assert kv_cache_bytes(lay, n, 1, "bf16", policy="window")["total"] == want == 2_062_336
    n = 100  # shorter than the window and than one HCA window: 100 window rows, no HCA row, 25 CSA rows
    want = 5 * 100 * 512 * B + 25 * CSA_ROW + 4 * HCA_BUF + CSA_BUF
    assert kv_cache_bytes(lay, n, 1, "bf16", policy="window")["total"] == want


def test_compress_rates_from_the_config():
    # the same five layers with compress_rates CSA 8 / HCA 64: rows and buffers follow the rates
    lay = kv_layout(_cfg("transformers__deepseek_v4", compress_rates={"compressed_sparse_attention": 8,
                                                                      "heavily_compressed_attention": 64}))
    n = 4096
    want = (5 * WINDOW + 4 * (n // 64) * HCA_ROW + (n // 8) * CSA_ROW + 4 * 63 * 2 * 512 * B
            + (7 * 2 * 2 * 640 + 2 * 640) * B)
    assert kv_cache_bytes(lay, n, 1, "bf16", policy="window")["total"] == want


def test_sliding_only_layers_stop_growing():
    # compress_ratios all 0: every layer is sliding-window only, the cache is capped at the window
    lay = kv_layout(_cfg(FLASH, compress_ratios=[0] * 46))
    assert lay.counts == {"sliding": 43}
    assert kv_cache_bytes(lay, 1 << 20, 1, "bf16", policy="window")["total"] == 43 * WINDOW
