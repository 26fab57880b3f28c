"""The KV cache transformers really allocates (CPU, tiny versions of the real configs) against the estimate.

Runs tools/gpu_validate.py's dry-run machinery in-process: builds each model with random weights, prefills,
decodes one token, and sums the storages the cache tensors keep alive. No GPU involved.
"""

from __future__ import annotations

import importlib.util

import pytest

from conftest import ROOT

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module")
def gv():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    spec = importlib.util.spec_from_file_location("gpu_validate", ROOT / "tools" / "gpu_validate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("case", ["mistral-7b-swa", "gemma2-9b-hybrid", "deepseek-v3-2L", "t5-small"])
def test_kv_cache_matches_transformers(gv, case):
    name, dirname, overrides, kind, opts = next(c for c in gv.CASES if c[0] == case)
    cfg = gv.load_cfg(dirname, overrides, tiny=True)
    o = {**opts, "tokens": 40 if kind != "seq2seq" else 12}
    if kind == "seq2seq":
        o["encoder_tokens"] = 20
    rows: list = []
    gv.run_infer(name, cfg, kind, o, "cpu", rows, lambda m: None)
    got = {r[2]: (r[3], r[4]) for r in rows}
    w_meas, w_est = got["weights"]
    # a few bytes apart: non-persistent buffers (rotary inv_freq) exist only in the model; fp32 router biases
    # that real checkpoints store are cast to bf16 with the rest of the model here
    assert abs(w_meas - w_est) <= 256
    # after the prefill transformers keeps whole-prefill storage for sliding layers (policy "full"); after one
    # decode step only the window remains (policy "window"). The estimate must match within 1%
    # (transformers keeps sliding_window - 1 tokens, and small bookkeeping tensors)
    for what in ("KV cache after prefill (storage)", "KV cache after 1 decode step"):
        meas, est = got[what]
        assert abs(est - meas) <= 0.01 * meas, (what, meas, est)
    if case == "deepseek-v3-2L":  # the latent, not the expanded per-head K/V
        meas, est_expanded = got["KV if MLA were expanded"]
        assert est_expanded > 2 * meas
