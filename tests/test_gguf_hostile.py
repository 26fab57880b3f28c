"""Hostile GGUF files, generated here byte by byte: each condition llama.cpp's loader (ggml/src/gguf.cpp
``gguf_init_from_reader``) refuses. ``inspect`` must end with exit 2 and one line naming the file, in a subprocess
limited to 2 GB of address space and 10 s; ``check`` must report the rule (GG0xx) and exit 1."""

from __future__ import annotations

import struct
import subprocess
import sys

import pytest

from conftest import env_with_repo
from ggufgen import HOSTILE as CASES, head, s


LIMIT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from ckptscope.cli import main
sys.exit(main(["inspect", sys.argv[1]]))
"""


def _inspect_limited(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LIMIT, str(path)], capture_output=True, text=True, timeout=10,
                          env=env_with_repo())


@pytest.mark.parametrize("name,blob,rule", CASES, ids=[c[0] for c in CASES])
def test_hostile_inspect_exit_2_one_line(tmp_path, name, blob, rule):
    p = tmp_path / f"{name}.gguf"
    p.write_bytes(blob)
    r = _inspect_limited(p)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2, (r.stdout[-500:], r.stderr[-800:])
    assert len(err) == 1 and f"{name}.gguf" in err[0] and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("name,blob,rule", CASES, ids=[c[0] for c in CASES])
def test_hostile_check_rule(run_cli, tmp_path, name, blob, rule):
    import json

    p = tmp_path / f"{name}.gguf"
    p.write_bytes(blob)
    code, out, err = run_cli("check", tmp_path, "--json", "--select", "GG")
    assert code == 1, err
    rules = {f["rule"] for f in json.loads(out)["findings"]}
    assert rule in rules, rules


def _sparse(path, prefix: bytes, size: int):
    with open(path, "wb") as f:
        f.write(prefix)
        f.truncate(size)
    return path


def test_hostile_big_string_bounded_memory(tmp_path):
    """A 1 GiB string in a 1.1 GB (sparse) file: validated in chunks, never held whole; then the file ends."""
    p = _sparse(tmp_path / "big_string.gguf", head(0, 2) + s(b"general.name")[:0]
                + struct.pack("<Q", len(b"general.name")) + b"general.name" + struct.pack("<I", 8)
                + struct.pack("<Q", (1 << 30) - 8), 1_100_000_000)
    r = _inspect_limited(p)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "big_string.gguf" in r.stderr, r.stderr


def test_hostile_array_of_many_strings_is_refused_quickly(tmp_path):
    n = 50_000_000  # 400 MB of zero-length strings (sparse)
    p = _sparse(tmp_path / "many_strings.gguf", head(0, 1) + s(b"tokenizer.ggml.tokens")
                + struct.pack("<IIQ", 9, 8, n), 8 * n + 200)
    r = _inspect_limited(p)
    assert r.returncode == 2 and "many_strings.gguf" in r.stderr and "2,097,152" in r.stderr, r.stderr


def test_hostile_huge_numeric_array_is_skipped_not_read(tmp_path):
    """1 GB of u8 scores (sparse) are skipped by a seek; the file then ends in the tensor count check."""
    n = 1_000_000_000
    p = _sparse(tmp_path / "huge_scores.gguf", head(0, 2) + s(b"tokenizer.ggml.scores")
                + struct.pack("<IIQ", 9, 0, n), n + 60)
    r = _inspect_limited(p)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
