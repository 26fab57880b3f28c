"""Reconciliation of the prediction with real headers, end to end through `inspect` on sparse checkpoints
(real sizes, reconstructed headers proven against the real shard sizes: tests/sparse.py)."""

from __future__ import annotations

import json
import shutil

import pytest

from ckptscope.analysis.arch import predict_inventory, reconcile
from ckptscope.api import inspect
from ckptscope.readers.config import from_dict, parse_config
from ckptscope.readers.safetensors import parse_header
from tests.conftest import CHECKPOINTS, CONFIGS
from tests.sparse import CHECKPOINTS_WITH_HEADERS, materialize


@pytest.mark.parametrize("name", CHECKPOINTS_WITH_HEADERS)
def test_inspect_reconciles_exactly(name, tmp_path):
    folder = materialize(name, tmp_path / "ck")
    r = inspect(str(folder))
    rec = r.sections["reconciliation"]
    assert rec["status"] == "exact" and rec["exact"] is True, rec.get("summary")
    assert rec["counts"]["exact"] == r.tensors["count"]
    assert rec["summary"].startswith("exact: all")


def test_mismatches_are_counted_by_kind(tmp_path):
    """A config that disagrees with the weights (wrong intermediate_size, a dtype, one layer more) shows up as
    shape mismatches, dtype mismatches and missing tensors, and the report never says exact."""
    folder = materialize("github-granite-3.1-1b-a400m-instruct/head-73154ee", tmp_path / "ck")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["num_hidden_layers"] = 25
    cfg["intermediate_size"] = 1024
    (folder / "config.json").write_text(json.dumps(cfg))
    r = inspect(str(folder))
    rec = r.sections["reconciliation"]
    assert rec["exact"] is False and rec["status"] == "differs"
    c = rec["counts"]
    assert c["shape_mismatch"] == 2 * 24  # input_linear and output_linear of the 24 real layers
    assert c["missing"] == 9  # layer 24: q, k, v, o, 2 expert tensors, router, 2 norms
    assert c["unexpected"] == 0 and c["dtype_mismatch"] == 0
    assert "differ from config.json" in rec["summary"] and "exact" not in rec["summary"].split(";")[0]


def test_reconcile_statuses_on_real_header():
    folder = CHECKPOINTS / "pypi-all-minilm-l6-v2"
    facts = json.loads((folder / "model.safetensors.facts.json").read_text())
    real = parse_header((folder / "model.safetensors.head").read_bytes(), "model.safetensors",
                        facts["size_bytes"]).tensors
    cfg = json.loads((folder / "config.json").read_text())
    assert reconcile(predict_inventory(from_dict(cfg)), real).exact
    cfg["torch_dtype"] = "float16"
    cfg["num_hidden_layers"] = 5
    r = reconcile(predict_inventory(from_dict(cfg)), real)
    # F16 prediction vs F32 weights: every parameter is a dtype mismatch; layer 5 (16 tensors) unexpected;
    # the I64 position_ids buffer keeps its dtype.
    assert r.counts == {"exact": 1, "shape_mismatch": 0, "dtype_mismatch": 103 - 16, "unexpected": 16,
                        "missing": 0}
    assert not r.exact
    assert {i.name for i in r.items if i.status == "unexpected"} == {t.name for t in real if ".layer.5." in t.name}


def test_config_only_report_is_marked_as_prediction():
    r = inspect(str(CONFIGS / "meta-llama__Llama-3.1-8B"))
    assert r.basis == "config"
    assert r.sections["reconciliation"]["status"] == "prediction"
    assert r.parameters["weights"] == 8_030_261_248  # Meta: Llama 3.1 8B (HF safetensors total 8,030,261,248)


def test_unknown_family_says_so_and_still_reports_from_headers(tmp_path):
    folder = materialize("pypi-all-minilm-l6-v2", tmp_path / "ck")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model_type"], cfg["architectures"] = "acme_encoder", ["AcmeEncoderModel"]  # a family nobody has rules for
    (folder / "config.json").write_text(json.dumps(cfg))
    r = inspect(str(folder))
    arch = r.sections["architecture"]
    assert arch["family"] is None
    assert arch["summary"].startswith("no architecture rules for AcmeEncoderModel")
    assert "reconciliation" not in r.sections or r.sections["reconciliation"]["status"] == "unavailable"
    assert r.tensors["count"] == 104 and r.parameters["total"] == 22_713_216 + 512


def test_unknown_family_config_only_prints_one_clear_line(run_cli, tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    cfg = json.loads((CONFIGS / "openai-community__gpt2" / "config.json").read_text())
    cfg["model_type"], cfg["architectures"] = "acme_lm", ["AcmeForCausalLM"]  # a family nobody has rules for
    (d / "config.json").write_text(json.dumps(cfg))
    code, out, err = run_cli("inspect", d)
    assert code == 0
    assert out.count("no architecture rules for AcmeForCausalLM") >= 1


def test_inspect_text_shows_rules_reconcile_and_tokenizer(run_cli, tmp_path):
    folder = materialize("github-cogito-v1-preview-qwen-14b", tmp_path / "ck")
    code, out, err = run_cli("inspect", folder)
    assert code == 0, err
    assert "Reconcile   exact: all 579 tensors match" in out
    assert "Rules       qwen2 rules predict 579 tensors" in out
    assert "Tokenizer   tokenizer ids = embedding rows = 151,665" in out


def test_absurd_config_does_not_hang_or_allocate():
    cfg = json.loads((CONFIGS / "mistralai__Mixtral-8x7B-v0.1" / "config.json").read_text())
    cfg["num_local_experts"] = 10**9
    assert predict_inventory(from_dict(cfg)) is None
    cfg["num_local_experts"], cfg["num_hidden_layers"] = 8, 10**12
    assert predict_inventory(from_dict(cfg)) is None
    cfg["num_hidden_layers"] = "many"
    assert predict_inventory(from_dict(cfg)) is None
