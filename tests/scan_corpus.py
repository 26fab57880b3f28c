"""Material for `ckptscope scan`: many tiny repos under one author on the Hub stand-in, a few broken in different ways.

Clean repos are tiny Llamas (1-3 layers, F32 or F16) saved with the real ``safetensors`` writer
(``safetensors.numpy.save_file``), with a tokenizer made by the real ``tokenizers`` library; the broken ones are
written byte by byte with the check corpus's builders (tests/check_corpus/build.py). Each broken repo names the
rule (or failure) it must be flagged for. Used by tests/test_scan.py and benchmarks/bench_scan.py.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_corpus import build as cb  # noqa: E402
from hubstub import StubFile, StubRepo, git_blob_sha1, small_file  # noqa: E402

AUTHOR = "scan-org"
H, I, V = cb.H, cb.I, cb.V
WEIGHT_EXTS = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl")


def expected_parameters(layers: int) -> int:
    """A Llama with untied head, by hand: embedding V*H + per layer (2 norms H, q/k/v/o H*H each, gate/up/down
    I*H each) + final norm H + LM head V*H."""
    return V * H + layers * (2 * H + 4 * H * H + 3 * I * H) + H + V * H


def _clean(d: Path, layers: int, dtype: str) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    np_dt = {"F32": np.float32, "F16": np.float16}[dtype]
    tensors = {n: np.zeros(shape, dtype=np_dt) for n, (_, shape) in cb.llama_tensors(layers=layers).items()}
    d.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(d / "model.safetensors"), metadata={"format": "pt"})
    cb.write_json(d / "config.json", cb.llama_config(num_hidden_layers=layers,
                                                     torch_dtype={"F32": "float32", "F16": "float16"}[dtype]))
    cb.write_json(d / "tokenizer.json", _TOKENIZER[0])
    cb.write_json(d / "tokenizer_config.json", cb.tokenizer_config())


_TOKENIZER: list[str] = []


def _pickle_beside(d: Path) -> None:
    _clean(d, 2, "F32")
    cb.plain_pickle(d / "training_args.bin", cb.EVIL)


#: name -> (builder, what it must be flagged for: a rule id, or "error" for a repo that cannot be read)
BROKEN = {
    "bad-header": (lambda d: cb.CASES["ST002"][0](d), "ST002"),
    "span-mismatch": (lambda d: cb.CASES["ST007"][0](d), "ST007"),
    "index-missing-shard": (lambda d: cb.CASES["IX005"][0](d), "IX005"),
    "tokenizer-embedding": (lambda d: cb.CASES["TK001"][0](d), "TK001"),
    "pickle-global": (_pickle_beside, "PK001"),
    "gated-no-access": (lambda d: _clean(d, 1, "F32"), "error"),
}
BROKEN_AT = {5: "bad-header", 23: "span-mismatch", 41: "index-missing-shard", 67: "tokenizer-embedding",
             88: "pickle-global", 109: "gated-no-access"}


def repo_files(folder: Path) -> dict[str, StubFile]:
    """A folder as the stand-in's files (weights as LFS files, everything else as small git files)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(folder).as_posix()
        data = p.read_bytes()
        if rel.endswith(WEIGHT_EXTS):
            import hashlib

            out[rel] = StubFile(size=len(data), prefix=data, lfs=True, etag=hashlib.sha256(data).hexdigest())
        else:
            out[rel] = small_file(data)
    return out


def build_repos(n: int = 120, author: str = AUTHOR) -> tuple[list[StubRepo], dict[str, dict]]:
    """``n`` repos ``author/model-NNN`` and, per repo id, what the scan must find: ``{"flag": rule|"error"|None,
    "parameters": int|None}`` (parameters only for the clean ones, from ``expected_parameters``)."""
    if not _TOKENIZER:
        _TOKENIZER.append(cb.tokenizer_json(V))
    repos, expect = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        cache: dict[tuple, dict] = {}
        for i in range(n):
            rid = f"{author}/model-{i:03d}"
            broken = BROKEN_AT.get(i)
            if broken:
                d = Path(tmp) / broken
                BROKEN[broken][0](d)
                files = repo_files(d)
                repos.append(StubRepo(rid, files, gated=broken == "gated-no-access"))
                expect[rid] = {"flag": BROKEN[broken][1], "parameters": None}
                continue
            layers, dtype = 1 + i % 3, ("F32", "F16")[(i // 3) % 2]
            key = (layers, dtype)
            if key not in cache:
                d = Path(tmp) / f"clean-{layers}-{dtype}"
                _clean(d, layers, dtype)
                cache[key] = repo_files(d)
            repos.append(StubRepo(rid, dict(cache[key])))
            expect[rid] = {"flag": None, "parameters": expected_parameters(layers), "dtype": dtype}
    return repos, expect


__all__ = ["AUTHOR", "BROKEN", "BROKEN_AT", "build_repos", "expected_parameters", "repo_files", "git_blob_sha1",
           "json"]
