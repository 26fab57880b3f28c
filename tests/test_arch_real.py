"""Predictions from config.json alone vs real material: real index files (names per shard, total_size), real
shard sizes from the LFS pointers, the real MiniLM safetensors header, and published figures (each cited)."""

from __future__ import annotations

import glob
import gzip
import json
import math
from collections import defaultdict
from pathlib import Path

import pytest

from ckptscope.analysis.arch import active_parameters, predict_inventory
from ckptscope.analysis.classify import QUANT
from ckptscope.readers.config import parse_config
from ckptscope.readers.safetensors import parse_header
from tests.conftest import CHECKPOINTS, CONFIGS, FIXTURES


def _config(folder: Path):
    return parse_config((folder / "config.json").read_bytes(), str(folder / "config.json"))


def _real_sizes(folder: Path) -> dict[str, int]:
    """Shard sizes as recorded by the real repositories (LFS pointers / file list)."""
    if (folder / "lfs_pointers.tsv").exists():
        rows = (folder / "lfs_pointers.tsv").read_text().splitlines()[1:]
        return {r.split("\t")[0]: int(r.split("\t")[1]) for r in rows}
    if (folder / "model_files.json").exists():
        return {f["name"]: f["size"] for f in json.loads((folder / "model_files.json").read_text())["model_files"]}
    out = {}
    for p in glob.glob(str(folder / "*.safetensors.lfs-pointer")):
        text = Path(p).read_text()
        out[Path(p).name[: -len(".lfs-pointer")]] = int(text.split("\nsize ")[1].split()[0])
    return out


def _safetensors_file_size(tensors) -> int:
    """Size of a .safetensors file holding ``tensors``, laid out as the safetensors library writes it: 8-byte
    length, JSON header ({"__metadata__":{"format":"pt"}, then tensors sorted by name (one dtype per shard here)
    with dtype, shape and data_offsets, no spaces}) padded with spaces to a multiple of 8, then the data."""
    off, parts = 0, []
    for t in sorted(tensors, key=lambda t: t.name):
        n = math.prod(t.shape) * {"BF16": 2, "F16": 2, "F32": 4}[t.dtype]
        parts.append(json.dumps(t.name) + ':{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}'
                     % (t.dtype, ",".join(map(str, t.shape)), off, off + n))
        off += n
    h = len(('{"__metadata__":{"format":"pt"},' + ",".join(parts) + "}").encode())
    return 8 + h + (-h % 8) + off


SHARDED = ["github-cogito-v1-preview-qwen-14b", "github-reflection-llama-3.1-70b", "github-wizardlm-2-8x22b",
           "github-granite-3.1-1b-a400m-instruct/commit-0a854d4-fp32-sharded"]


@pytest.mark.parametrize("name", SHARDED)
def test_real_index_names_total_and_shard_sizes(name):
    folder = CHECKPOINTS / name
    inv = predict_inventory(_config(folder))
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    wm = index["weight_map"]
    assert sorted(t.name for t in inv) == sorted(wm)
    assert sum(t.nbytes for t in inv) == index["metadata"]["total_size"]
    per_shard = defaultdict(list)
    for t in inv:
        per_shard[wm[t.name]].append(t)
    real = _real_sizes(folder)
    assert set(per_shard) == set(real)
    for shard, ts in per_shard.items():
        assert _safetensors_file_size(ts) == real[shard], shard


def test_granite_single_bf16_file_size_and_tied_head():
    folder = CHECKPOINTS / "github-granite-3.1-1b-a400m-instruct" / "head-73154ee"
    inv = predict_inventory(_config(folder))
    assert {t.dtype for t in inv} == {"BF16"}
    assert "lm_head.weight" not in {t.name for t in inv}  # tie_word_embeddings: true
    fused = [t for t in inv if t.name.endswith("block_sparse_moe.input_linear.weight")]
    assert len(fused) == 24 and fused[0].shape == (32, 1024, 1024)  # (experts, 2 x 512, hidden)
    assert _safetensors_file_size(inv) == _real_sizes(folder)["model.safetensors"] == 2_669_283_096


def test_minilm_prediction_equals_real_header_exactly():
    folder = CHECKPOINTS / "pypi-all-minilm-l6-v2"
    facts = json.loads((folder / "model.safetensors.facts.json").read_text())
    h = parse_header((folder / "model.safetensors.head").read_bytes(), "model.safetensors", facts["size_bytes"])
    inv = predict_inventory(_config(folder))  # BertModel: no "bert." prefix; written by transformers 4.8.2
    assert {(t.name, tuple(t.shape), t.dtype) for t in h.tensors} == {(t.name, t.shape, t.dtype) for t in inv}
    assert ("embeddings.position_ids", (1, 512), "I64") in {(t.name, t.shape, t.dtype) for t in inv}
    assert sum(t.nbytes for t in inv) == facts["data_bytes"]


# ---- DeepSeek-V3: the real Hub checkpoint ------------------------------------------------------------------

V3 = CONFIGS / "deepseek-ai__DeepSeek-V3"


@pytest.fixture(scope="module")
def v3():
    c = _config(V3)
    return c, predict_inventory(c)


def test_deepseek_v3_main_and_mtp_parameters(v3):
    c, inv = v3
    a = active_parameters(inv, c)
    # docs/gguf-size-rules.md (shared docs, llama.cpp converter): the GGUF, which drops the MTP layer 61 and every
    # weight_scale_inv, holds 671,026,419,200 parameters.
    assert a["total"] == 671_026_419_200
    # DeepSeek-V3 README: "685B ... includes 671B of the Main Model weights and 14B of the MTP Module weights";
    # 685B is the Hub's count of stored elements (scales included), so 14B = 685B - 671B.
    stored = sum(t.numel for t in inv)
    assert round(stored / 1e9) == 685 and round((stored - a["total"]) / 1e9) == 14
    # DeepSeek-V3 README / paper: "37B activated for each token".
    assert _published(a["active"], 37e9, 1e9)


def test_deepseek_v3_tensor_count_by_hand(v3):
    """Per layer, by hand: MLA has 5 FP8 linears (q_a, q_b, kv_a, kv_b, o) + 5 scale grids + 2 norms = 12;
    a dense MLP 3 + 3 scales; an MoE MLP 256 experts x 6 + router weight + router bias + shared 6; 2 layer norms.
    Dense layer 20, MoE layer 1,558; the MTP layer adds embed_tokens, enorm, hnorm, eh_proj, shared_head norm
    and head: 1,564. Top level: embed, norm, lm_head."""
    c, inv = v3
    dense, moe, mtp = 12 + 6 + 2, 12 + 256 * 6 + 2 + 6 + 2, 12 + 256 * 6 + 2 + 6 + 2 + 6
    assert len(inv) == 3 + 3 * dense + 58 * moe + mtp == 91_991


def test_deepseek_v3_per_dtype_totals_by_hand(v3):
    c, inv = v3
    H, V, E, L = 7168, 129280, 256, 61
    by = defaultdict(int)
    for t in inv:
        by[t.dtype] += t.numel
    # BF16: embed + lm_head + the MTP copies of both; eh_proj (H x 2H); routers of 58 + 1 MoE layers;
    # norms: 62 layers x (2 x H + q_a_layernorm 1536 + kv_a_layernorm 512), final norm, MTP enorm/hnorm/head norm.
    bf16 = 4 * V * H + 2 * H * H + 59 * E * H + 62 * (2 * H + 1536 + 512) + H + 3 * H
    assert by["BF16"] == bf16
    # F32: router bias (59 x 256) + scale grids: attention 12x56 + 192x12 + 5x56 + 256x4 + 56x128 per layer,
    # dense MLP 3 x 144x56, each expert / shared expert 3 x 16x56.
    attn = 12 * 56 + 192 * 12 + 5 * 56 + 256 * 4 + 56 * 128
    scales = 62 * attn + 3 * 3 * 144 * 56 + 59 * 257 * 3 * 16 * 56
    assert by["F32"] == 59 * E + scales
    assert sum(t.numel for t in inv if t.component == QUANT) == scales
    # F8: every other linear weight.
    assert by["F8_E4M3"] == sum(t.numel for t in inv) - bf16 - 59 * E - scales
    assert sum(t.nbytes for t in inv) == by["F8_E4M3"] + 2 * by["BF16"] + 4 * by["F32"]


def test_deepseek_v3_hub_rules_vs_oracle(v3):
    """Hub prediction = oracle (transformers) + FP8 scale grids + the MTP layer 61, shapes unchanged."""
    c, inv = v3
    with gzip.open(FIXTURES / "oracle" / "deepseek-ai__DeepSeek-V3.json.gz", "rt") as f:
        oracle = {n: tuple(s) for n, s, _ in json.load(f)["tensors"]}
    main = {t.name: t for t in inv if not t.name.startswith("model.layers.61.") and t.component != QUANT}
    assert {n: t.shape for n, t in main.items()} == oracle
    by_name = {t.name: t for t in inv}
    assert by_name["model.layers.61.eh_proj.weight"].dtype == "BF16"  # not quantized, no scale grid
    assert "model.layers.61.eh_proj.weight_scale_inv" not in by_name
    fp8 = {t.name: t.shape for t in inv if t.dtype == "F8_E4M3"}
    grids = {t.name[: -len("_scale_inv")]: t.shape for t in inv if t.name.endswith("_scale_inv")}
    assert fp8.keys() == grids.keys()
    for n, (o, i) in fp8.items():
        assert grids[n] == (-(-o // 128), -(-i // 128))
    mtp = {t.name for t in inv if t.name.startswith("model.layers.61.")}
    for n in ("embed_tokens.weight", "enorm.weight", "hnorm.weight", "eh_proj.weight", "shared_head.norm.weight",
              "shared_head.head.weight", "mlp.experts.255.down_proj.weight", "mlp.gate.e_score_correction_bias"):
        assert "model.layers.61." + n in mtp


# ---- other published figures -----------------------------------------------------------------------------

def _act(stem):
    c = _config(CONFIGS / stem)
    inv = predict_inventory(c)
    return c, inv, active_parameters(inv, c)


def test_gpt_oss_120b_model_card_figures():
    # OpenAI gpt-oss model card, Table 1: gpt-oss-120b 116.83B total, 5.13B active per token (the card counts
    # the unembedding but not the embedding), checkpoint 60.8 GiB.
    c, inv, a = _act("openai__gpt-oss-120b")
    assert round(a["total"] / 1e7) == 11683
    assert round(a["active_without_embedding"] / 1e7) == 513
    assert round(sum(t.nbytes for t in inv) / 2**30, 1) == 60.8
    blocks = [t for t in inv if t.name.endswith("_blocks")]
    assert blocks and {t.dtype for t in blocks} == {"U8"}
    assert {t.dtype for t in inv if not t.name.endswith(("_blocks", "_scales"))} == {"BF16"}


def _published(value: int, figure: float, unit: float) -> bool:
    """``figure`` as published to ``unit`` precision: rounded or truncated."""
    return round(value / unit) == round(figure / unit) or math.floor(value / unit) == round(figure / unit)


@pytest.mark.parametrize("stem,total,active,unit", [
    # Qwen3-235B-A22B: Hugging Face API safetensors total (cited in fixtures/configs/PROVENANCE.json); 22B active
    ("Qwen__Qwen3-235B-A22B", 235_093_634_560, 22e9, 1e9),
    # DeepSeek-R1-Distill-Qwen-1.5B: HF safetensors total (fixtures/configs/PROVENANCE.json)
    ("deepseek-ai__DeepSeek-R1-Distill-Qwen-1.5B", 1_777_088_000, None, None),
    # Mixtral of Experts (Mistral AI, 2023): 46.7B total, 12.9B used per token
    ("mistralai__Mixtral-8x7B-v0.1", 46.7e9, 12.9e9, 1e8),
    # Qwen3-30B-A3B model card: 30.5B total, 3.3B activated
    ("Qwen__Qwen3-30B-A3B", 30.5e9, 3.3e9, 1e8),
])
def test_published_totals(stem, total, active, unit):
    c, inv, a = _act(stem)
    if isinstance(total, int):
        assert a["total"] == total  # exact figure
    else:
        assert _published(a["total"], total, unit)
    if active:
        assert _published(a["active"], active, unit)
