"""Predicted GGUF file sizes against published files of newly mapped families (fixtures/gguf/published-sizes.json).

Tensor data follow from the mapping and llama-quantize's rules; the metadata (tokenizer arrays, chat template)
is estimated when no tokenizer files are given, which is the case here: a few MB for these vocabularies. Each
tolerance is the published rounding plus that estimate's uncertainty, stated per case.
"""

from __future__ import annotations

import gzip
import json
from types import SimpleNamespace

import pytest

from ckptscope.analysis.arch import predict_inventory
from ckptscope.analysis.gguf import estimate_gguf
from ckptscope.readers.config import parse_config

from conftest import FIXTURES, ROOT

PUB = json.loads((FIXTURES / "gguf" / "published-sizes.json").read_text())
MB, MiB = 10**6, 2**20


def _oracle(stem):
    p = FIXTURES / "oracle" / f"{stem}.json"
    d = json.loads(p.read_text() if p.exists() else gzip.decompress(p.with_suffix(".json.gz").read_bytes()))
    return [SimpleNamespace(name=n, shape=tuple(s), dtype=dt) for n, s, dt in d["tensors"]]


def _cfg(entry):
    return parse_config((ROOT / entry["config"].split(" ")[0] / "config.json").read_bytes())


GEMMA = PUB["bartowski/google_gemma-3-4b-it-GGUF"]


@pytest.mark.parametrize("ftype", sorted(GEMMA["sizes"]))
def test_gemma3_4b_bartowski_sizes(ftype):
    """Published to 0.01 GB (+-5 MB). Tokenizer metadata estimated (262,208 SentencePiece ids: ~5.8 MB here);
    allowed error of that estimate +-5 MB -> |predicted - published| <= 10 MB (0.4 % of the Q4_K_M file)."""
    e = estimate_gguf(_oracle("google__gemma-3-4b-it"), _cfg(GEMMA), ftype, rules="legacy", imatrix=True)
    assert abs(e.total_bytes - GEMMA["sizes"][ftype] * 1e9) <= 10 * MB


OSS = PUB["unsloth/gpt-oss-120b-GGUF"]


@pytest.mark.parametrize("ftype", sorted(OSS["sizes"]))
def test_gpt_oss_120b_unsloth_sizes(ftype):
    """Published to 0.01 GiB (+-5.1 MiB); metadata estimated (201,088-token BPE vocabulary and merges, chat template
    assumed 4 kB; the real one is longer) -> |predicted - published| <= 15 MiB (0.025 %). The MXFP4 experts are kept
    in every file, so all twelve sizes lie within 2.7 GiB of each other."""
    cfg = _cfg(OSS)
    e = estimate_gguf(predict_inventory(cfg), cfg, ftype, rules="legacy", imatrix=True)
    assert abs(e.total_bytes - OSS["sizes"][ftype] * 2**30) <= 15 * MiB


def test_qwen3_coder_next_q4_k_m_size():
    """Published as 48.5e9 (+-50 MB); metadata estimated (~6 MB) -> within 60 MB (0.12 %), HEAD rules."""
    q = PUB["steampunque/Qwen3-Coder-Next-Hybrid-GGUF"]
    e = estimate_gguf(_oracle("transformers__qwen3_next"), _cfg(q), "Q4_K_M", rules="head")
    assert abs(e.total_bytes - q["sizes"]["Q4_K_M"]) <= 60 * MB
