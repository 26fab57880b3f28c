"""GGUF tokenizer metadata from a snapshot's tokenizer summary equals the one computed from tokenizer.json."""

from __future__ import annotations

from conftest import CONFIGS, TOKENIZERS

from ckptscope.analysis.gguf.container import tokenizer_kvs
from ckptscope.readers.config import parse_config
from ckptscope.readers.tokenizer import from_tokenizer_json
from ckptscope.sources.snapshot import tokenizer_from_summary, tokenizer_summary


def _arrays(kvs) -> dict[str, int]:
    # KV bytes minus the key (8 + len + 4) and the array header (type 4 + count 8): the element bytes
    return {k.key: k.nbytes - (8 + len(k.key) + 4) - 12 for k in kvs
            if k.key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges")}


def test_deepseek_v3_tokenizer_arrays_from_summary():
    cfg = parse_config((CONFIGS / "deepseek-ai__DeepSeek-V3" / "config.json").read_bytes())
    full = from_tokenizer_json((TOKENIZERS / "deepseek_v3" / "tokenizer.json").read_bytes())
    from_full, _ = tokenizer_kvs(cfg, full)
    from_summary, notes = tokenizer_kvs(cfg, tokenizer_from_summary(tokenizer_summary(full)))
    # docs/gguf-size-rules.md, section 3: DeepSeek-V3 (129,280 ids) tokens 2,315,816 B, 127,741 merges 2,399,021 B
    assert _arrays(from_full) == {"tokenizer.ggml.tokens": 2_315_816, "tokenizer.ggml.merges": 2_399_021}
    assert _arrays(from_summary) == _arrays(from_full)
    assert not any("estimated" in n and "token strings" in n for n in notes)
