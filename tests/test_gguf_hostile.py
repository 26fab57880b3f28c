"""Hostile GGUF files, generated here byte by byte: each condition llama.cpp's loader (ggml/src/gguf.cpp
``gguf_init_from_reader``) refuses. ``inspect`` must end with exit 2 and one line naming the file, in a subprocess
limited to 2 GB of address space and 10 s; ``check`` must report the rule (GG0xx) and exit 1."""

from __future__ import annotations

import struct
import subprocess
import sys

import pytest

from conftest import env_with_repo


def s(b: bytes) -> bytes:
    return struct.pack("<Q", len(b)) + b


def head(n_tensors, n_kv, version=3, magic=b"GGUF") -> bytes:
    return magic + struct.pack("<I", version) + struct.pack("<q", n_tensors) + struct.pack("<q", n_kv)


def kv_str(key: bytes, val: bytes) -> bytes:
    return s(key) + struct.pack("<I", 8) + s(val)


def kv_u32(key: bytes, v: int) -> bytes:
    return s(key) + struct.pack("<I", 4) + struct.pack("<I", v)


def ti(name: bytes, ne, tid: int, off: int) -> bytes:
    return s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<q", d) for d in ne) + \
        struct.pack("<i", tid) + struct.pack("<Q", off)


ARCH = kv_str(b"general.architecture", b"llama")


def gguf(kvs: list[bytes], tis: list[bytes], data: int = 0, align: int = 32) -> bytes:
    body = head(len(tis), len(kvs)) + b"".join(kvs) + b"".join(tis)
    body += b"\0" * (-len(body) % align)
    return body + b"\0" * data


# (name, bytes, the rule it breaks). F32 = type 0, F16 = 1, Q4_0 = 2 (block 32, 18 bytes).
CASES = [
    ("bad_magic", b"GGML" + b"\0" * 40, "GG001"),
    ("lfs_pointer", b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 99\n", "GG001"),
    ("version_1", head(0, 0, version=1), "GG002"),
    ("version_0", head(0, 0, version=0), "GG002"),
    ("version_4", head(0, 0, version=4), "GG002"),
    ("big_endian", head(0, 0, version=0x03000000), "GG002"),
    ("tensor_count_huge", head(2**62, 0) + b"\0" * 64, "GG003"),
    ("tensor_count_negative", head(-1, 0) + b"\0" * 64, "GG003"),
    ("kv_count_huge", head(0, 2**40) + b"\0" * 64, "GG003"),
    ("key_length_huge", head(0, 1) + struct.pack("<Q", 2**60) + b"\0" * 32, "GG003"),
    ("key_length_past_end", head(0, 1) + struct.pack("<Q", 500) + b"abc" + b"\0" * 16, "GG003"),
    ("string_value_past_end", head(0, 1) + s(b"general.name") + struct.pack("<I", 8)
     + struct.pack("<Q", 10**6) + b"x" * 8, "GG003"),
    ("array_count_huge", head(0, 1) + s(b"a.b") + struct.pack("<IIQ", 9, 0, 2**62) + b"\0" * 16, "GG003"),
    ("string_array_count_huge", head(0, 1) + s(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2**40)
     + b"\0" * 16, "GG003"),
    ("unknown_value_type", head(0, 1) + s(b"a.b") + struct.pack("<I", 13) + b"\0" * 16, "GG004"),
    ("nested_array", head(0, 1) + s(b"a.b") + struct.pack("<IIQ", 9, 9, 1) + b"\0" * 32, "GG004"),
    ("unknown_ggml_type", gguf([ARCH], [ti(b"t", [32], 99, 0)], 128), "GG005"),
    ("removed_ggml_type", gguf([ARCH], [ti(b"t", [32], 4, 0)], 128), "GG005"),
    ("five_dims", gguf([ARCH], [ti(b"t", [1, 1, 1, 1, 1], 0, 0)], 64), "GG006"),
    ("negative_dim", gguf([ARCH], [ti(b"t", [4, -2], 0, 0)], 64), "GG006"),
    ("overflowing_dims", gguf([ARCH], [ti(b"t", [2**32, 2**32], 0, 0)], 64), "GG006"),
    ("row_not_block_multiple", gguf([ARCH], [ti(b"t", [33, 2], 2, 0)], 128), "GG006"),
    ("duplicate_key", gguf([ARCH, ARCH], []), "GG007"),
    ("empty_key", gguf([ARCH, kv_str(b"", b"x")], []), "GG007"),
    ("duplicate_tensor", gguf([ARCH], [ti(b"t", [8], 0, 0), ti(b"t", [8], 0, 32)], 64), "GG008"),
    ("tensor_name_64_bytes", gguf([ARCH], [ti(b"n" * 64, [8], 0, 0)], 64), "GG008"),
    ("alignment_not_u32", gguf([ARCH, s(b"general.alignment") + struct.pack("<IQ", 10, 32)], []), "GG009"),
    ("alignment_not_power_of_two", gguf([ARCH, kv_u32(b"general.alignment", 48)], []), "GG009"),
    ("alignment_zero", gguf([ARCH, kv_u32(b"general.alignment", 0)], []), "GG009"),
    ("offset_misaligned", gguf([ARCH], [ti(b"t", [8], 0, 4)], 64), "GG010"),
    ("tensors_overlap", gguf([ARCH], [ti(b"a", [16], 0, 0), ti(b"b", [16], 0, 32)], 128), "GG011"),
    ("tensor_gap", gguf([ARCH], [ti(b"a", [8], 0, 0), ti(b"b", [8], 0, 64)], 128), "GG011"),
    ("utf8_key", gguf([ARCH, kv_str(b"general.\xff\xfe", b"x")], []), "GG013"),
    ("utf8_value", gguf([ARCH, kv_str(b"general.name", b"bad \xc3\x28")], []), "GG013"),
    ("utf8_tensor_name", gguf([ARCH], [ti(b"blk.\xe2\x82", [8], 0, 0)], 64), "GG013"),
]

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
