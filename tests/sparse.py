"""Materialise fixture checkpoints as realistic local folders with SPARSE safetensors files.

Each shard is written as the 8-byte little-endian header length + the reconstructed header
(fixtures/headers/<checkpoint>/<shard>.json[.gz], proven against the real shard sizes by
tools/reconstruct_headers.py) and then truncate()d to the real shard size: the file has the real size, no tensor
data is written (the data region reads as zeros), and the disk cost is one block per file.

    from tests.sparse import materialize, CHECKPOINTS_WITH_HEADERS
    folder = materialize("github-wizardlm-2-8x22b", tmp_path / "wizardlm")

Real sizes are read independently from the fixture's own LFS pointers (``real_sizes``), not from the manifest.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "fixtures" / "checkpoints"
HEADERS = ROOT / "fixtures" / "headers"

#: metadata files copied next to the shards when the fixture has them
COPY = (
    "config.json", "generation_config.json", "model.safetensors.index.json", "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt", "vocab.txt",
)


def _manifests() -> list[str]:
    return sorted(str(p.parent.relative_to(HEADERS)) for p in HEADERS.rglob("manifest.json"))


#: every fixture checkpoint with reconstructed headers (names relative to fixtures/checkpoints)
CHECKPOINTS_WITH_HEADERS: list[str] = _manifests()
#: those with a real model.safetensors.index.json
SHARDED: list[str] = [c for c in CHECKPOINTS_WITH_HEADERS if (CHECKPOINTS / c / "model.safetensors.index.json").exists()]


def manifest(checkpoint: str) -> dict:
    return json.loads((HEADERS / checkpoint / "manifest.json").read_text())


def header(checkpoint: str, shard: str) -> bytes:
    """The reconstructed header bytes (padding included) of one shard."""
    info = manifest(checkpoint)["shards"][shard]
    path = HEADERS / checkpoint / info["file"]
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def real_sizes(checkpoint: str) -> dict[str, int]:
    """Real safetensors file sizes from the fixture's LFS pointers / file lists (the ground truth)."""
    folder = CHECKPOINTS / checkpoint
    sizes: dict[str, int] = {}
    tsv = folder / "lfs_pointers.tsv"
    if tsv.exists():
        for line in tsv.read_text().splitlines()[1:]:
            name, size = line.split("\t")[:2]
            sizes[name] = int(size)
    files = folder / "model_files.json"
    if files.exists():
        for entry in json.loads(files.read_text())["model_files"]:
            sizes[entry["name"]] = int(entry["size"])
    for p in folder.glob("*.safetensors.lfs-pointer"):
        m = re.search(r"^size (\d+)$", p.read_text(), re.M)
        assert m, p
        sizes[p.name[: -len(".lfs-pointer")]] = int(m.group(1))
    facts = folder / "model.safetensors.facts.json"
    if facts.exists():
        sizes["model.safetensors"] = int(json.loads(facts.read_text())["size_bytes"])
    return {k: v for k, v in sizes.items() if k.endswith(".safetensors")}


def materialize(checkpoint_name: str, dest: Path) -> Path:
    """Write ``checkpoint_name`` (e.g. ``"github-cogito-v1-preview-qwen-14b"``) into ``dest`` and return ``dest``.

    config.json, the index, tokenizer files (when the fixture has them) are copied; every shard is a sparse file of
    the real size holding the 8-byte length and the reconstructed header.
    """
    src = CHECKPOINTS / checkpoint_name
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        if (src / name).is_file():
            shutil.copyfile(src / name, dest / name)
    sizes = real_sizes(checkpoint_name)
    for shard in manifest(checkpoint_name)["shards"]:
        hb = header(checkpoint_name, shard)
        size = sizes[shard]
        if 8 + len(hb) > size:
            raise ValueError(f"{checkpoint_name}/{shard}: header longer than the real file")
        with open(dest / shard, "wb") as f:
            f.write(struct.pack("<Q", len(hb)))
            f.write(hb)
            f.truncate(size)
    return dest
