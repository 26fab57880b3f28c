"""MoE / MTP / hybrid / remote-code families vs what REAL Hub checkpoints store.

Each corpus entry in fixtures/real_index/<org__name>/ is a real repository's config.json and its
model.safetensors.index.json (PROVENANCE.json says where each came from). The expected values are the real
files: the index's weight_map keys (every stored tensor name) and metadata.total_size (every stored tensor's
bytes). A difference is accepted only where it is exactly what a named quirk of analysis/arch/reconcile.py's
QUIRKS explains, and the quirk is named here per entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ckptscope.analysis.arch import active_parameters, family_name, predict_inventory
from ckptscope.analysis.arch.reconcile import QUIRKS
from ckptscope.readers.config import parse_config
from tests.conftest import FIXTURES

REAL = FIXTURES / "real_index"

#: entry folder -> (family the rules must dispatch to, {quirk kind: number of stored tensors it explains})
CORPUS = {
    "jj8127__mimo_kor": ("mimo", {}),  # MiMo-7B: remote code, 1 MTP block under model.mtp_layers.0
}


def _config(folder: Path):
    return parse_config((folder / "config.json").read_bytes(), str(folder / "config.json"))


def _index(folder: Path) -> dict:
    return json.loads((folder / "model.safetensors.index.json").read_text())


def _quirk_of(name: str) -> str | None:
    for kind, pat, _why in QUIRKS:
        if pat.search(name):
            return kind
    return None


def test_every_entry_has_provenance_and_real_files():
    for entry in CORPUS:
        folder = REAL / entry
        prov = json.loads((folder / "PROVENANCE.json").read_text())
        assert {"config.json", "model.safetensors.index.json"} <= set(prov["files"]), entry
        for f in prov["files"].values():
            assert f["repo"] and len(f["commit"]) == 40, entry
        assert _index(folder)["metadata"]["total_size"] > 0


@pytest.mark.parametrize("entry", sorted(CORPUS))
def test_predicted_names_equal_the_real_weight_map(entry):
    folder = REAL / entry
    family, quirks = CORPUS[entry]
    c = _config(folder)
    assert family_name(c) == family
    inv = predict_inventory(c)
    assert inv is not None, f"{family} rules predict nothing for {entry}"
    predicted = {t.name for t in inv}
    assert len(predicted) == len(inv), "the prediction names a tensor twice"
    real = set(_index(folder)["weight_map"])
    assert sorted(predicted - real) == [], "predicted but not stored"
    explained: dict[str, int] = {}
    for name in sorted(real - predicted):
        kind = _quirk_of(name)
        assert kind is not None, f"stored but not predicted, and no known quirk explains it: {name}"
        explained[kind] = explained.get(kind, 0) + 1
    assert explained == quirks


@pytest.mark.parametrize("entry", sorted(CORPUS))
def test_predicted_bytes_equal_the_real_total_size(entry):
    folder = REAL / entry
    c = _config(folder)
    inv = predict_inventory(c)
    real = _index(folder)
    stored = set(real["weight_map"])
    assert sum(t.nbytes for t in inv if t.name in stored) == real["metadata"]["total_size"]
    if not CORPUS[entry][1]:  # no quirk: the whole prediction is the stored total
        assert sum(t.nbytes for t in inv) == real["metadata"]["total_size"]


def test_mimo_mtp_block_by_hand():
    """MiMo-7B's MTP block (model.mtp_layers.0, 16 stored tensors) by hand from its config: token_layernorm,
    hidden_layernorm, final_layernorm (H each), input_proj (H x 2H), and one full decoder layer: q (nh*hd x H
    + bias), k and v (kv*hd x H + bias), o (H x nh*hd), gate/up/down (3 x I x H), 2 norms."""
    folder = REAL / "jj8127__mimo_kor"
    c = _config(folder)
    inv = predict_inventory(c)
    H, I, q, kv = 4096, 11008, 32 * 128, 8 * 128
    layer = (q * H + q) + 2 * (kv * H + kv) + H * q + 3 * I * H + 2 * H
    mtp_params = 3 * H + H * 2 * H + layer
    real_mtp = sorted(k for k in _index(folder)["weight_map"] if k.startswith("model.mtp_layers."))
    assert len(real_mtp) == 16
    assert sorted(t.name for t in inv if t.name.startswith("model.mtp_layers.")) == real_mtp
    a = active_parameters(inv, c)
    assert a["mtp"] == mtp_params
    # every stored element is BF16 (2 bytes): main model + MTP block = total_size / 2
    assert 2 * (a["total"] + a["mtp"]) == _index(folder)["metadata"]["total_size"]


# ---- DBRX: experts and KV heads live in ffn_config / attn_config ------------------------------------------

DBRX = REAL / "mlx-community__dbrx-instruct-4bit"


def test_dbrx_reads_experts_and_kv_heads_from_the_nested_configs():
    c = _config(DBRX)
    assert "num_key_value_heads" not in c.full and "moe_num_experts" not in c.full
    assert (c.num_experts, c.num_experts_per_tok, c.num_key_value_heads) == (16, 4, 8)


def test_dbrx_total_and_active_parameters():
    """By hand from dbrx-instruct's config: d_model H=6144, 40 blocks, 48 heads of 128, kv_n_heads 8,
    ffn_hidden_size I=10752, 16 experts, top-4, vocab 100352, untied head. Per block: norm_1 and norm_2 (H),
    Wqkv ((48 + 2 x 8) x 128, H), out_proj (H, 48 x 128), router (16, H), experts w1/v1/w2 (16 x I, H) each.
    Databricks' model card: "132B total parameters of which 36B parameters are active on any input"."""
    c = _config(DBRX)
    inv = predict_inventory(c)
    H, L, V, E, k, I = 6144, 40, 100352, 16, 4, 10752
    per_block_dense = 2 * H + (48 + 16) * 128 * H + H * 48 * 128 + E * H
    experts = 3 * E * I * H
    total = 2 * V * H + H + L * (per_block_dense + experts)
    active = total - L * experts + L * 3 * k * I * H
    a = active_parameters(inv, c)
    assert a["total"] == total == 131_596_523_520
    assert a["active"] == active == 36_469_708_800
    assert (a["experts"], a["experts_per_token"]) == (16, 4)
    assert round(a["total"] / 1e9) == 132 and round(a["active"] / 1e9) == 36
