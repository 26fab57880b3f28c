"""Tokenizer vs embedding: real tokenizer.json files against real configs (and a deliberately wrong pairing)."""

from __future__ import annotations

import json
import shutil

import pytest
from tokenizers import Tokenizer

from ckptscope.api import inspect
from tests.conftest import CONFIGS, TOKENIZERS


def _folder(tmp_path, config_stem, tok):
    d = tmp_path / f"{config_stem}-{tok}"
    d.mkdir()
    shutil.copyfile(CONFIGS / config_stem / "config.json", d / "config.json")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(TOKENIZERS / tok / f, d / f)
    return d


def _ids(tok) -> int:
    """Highest id + 1, from the tokenizers library itself (independent of ckptscope's reader)."""
    t = Tokenizer.from_file(str(TOKENIZERS / tok / "tokenizer.json"))
    return max(t.get_vocab(with_added_tokens=True).values()) + 1


def _vocab(stem) -> int:
    return json.loads((CONFIGS / stem / "config.json").read_text())["vocab_size"]


@pytest.mark.parametrize("stem,tok", [("deepseek-ai__DeepSeek-V3", "deepseek_v3"),
                                      ("Qwen__Qwen3-30B-A3B", "qwen3")])
def test_padding_rows_are_normal(tmp_path, stem, tok):
    tc = inspect(str(_folder(tmp_path, stem, tok))).sections["tokenizer_check"]
    ids, rows = _ids(tok), _vocab(stem)
    assert ids < rows
    assert tc["status"] == "padded"
    assert tc["tokenizer_ids"] == ids and tc["embedding_rows"] == rows == tc["lm_head_rows"]
    assert tc["padding_rows"] == rows - ids and tc["missing_rows"] == 0
    assert "padding rows" in tc["message"] and "normal" in tc["message"]


def test_matching_pair_is_ok(tmp_path):
    r = inspect(str(_folder(tmp_path, "meta-llama__Llama-3.1-8B", "llama3")))
    tc = r.sections["tokenizer_check"]
    assert _ids("llama3") == _vocab("meta-llama__Llama-3.1-8B") == tc["embedding_rows"]
    assert tc["status"] == "ok" and tc["padding_rows"] == 0
    # embedding + untied head: 2 x 128,256 x 4,096 of 8,030,261,248 parameters
    assert tc["embedding_share"] == pytest.approx(2 * 128256 * 4096 / 8_030_261_248)


def test_wrong_tokenizer_is_broken(tmp_path):
    """DeepSeek-V3's tokenizer on a Llama-3.2 model: ids beyond the 128,256 rows have no embedding."""
    tc = inspect(str(_folder(tmp_path, "meta-llama__Llama-3.2-1B", "deepseek_v3"))).sections["tokenizer_check"]
    ids = _ids("deepseek_v3")
    assert ids > 128256
    assert tc["status"] == "broken" and tc["missing_rows"] == ids - 128256
    assert tc["message"].startswith("BROKEN")
    assert tc["lm_head_rows"] is None  # tied: no separate head


def test_no_tokenizer(tmp_path):
    tc = inspect(str(CONFIGS / "openai-community__gpt2")).sections["tokenizer_check"]
    assert tc["status"] == "no_tokenizer" and tc["embedding_rows"] == 50257
