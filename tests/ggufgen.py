"""GGUF test material made by the real writer (gguf-py's ``GGUFWriter``) and from the real SmolLM2 header.

- ``smol_header()``: the real header extract of SmolLM2-135M-Instruct.Q4_1.gguf (fixtures/gguf, PROVENANCE.md).
- ``smol_sparse(path)``: that header, then ``truncate()`` to the real file's size (98,362,432 bytes): the real
  layout, zeros for data.
- ``write_tiny(path, ...)``: a small complete llama-shaped GGUF written by GGUFWriter with real tensor data.
- ``header_only(path, kvs, tensors)``: GGUFWriter's header, KVs and tensor infos, padded to the data section and
  truncated to the size the writer's own offsets give (a sparse full-size file, no data written).
"""

from __future__ import annotations

import lzma
import struct
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SMOL = ROOT / "fixtures" / "gguf" / "smollm2-135m-instruct-q4_1.header.gguf.xz"
SMOL_FILE_SIZE = 98_362_432  # PROVENANCE.md
SMOL_PARAMS = 134_515_008  # sum of the 272 tensors' elements (checked against gguf.GGUFReader in the tests)


def smol_header() -> bytes:
    return lzma.decompress(SMOL.read_bytes())


def smol_sparse(path: Path) -> Path:
    with open(path, "wb") as f:
        f.write(smol_header())
        f.truncate(SMOL_FILE_SIZE)
    return path


def reader_totals(path: Path) -> tuple[int, int, dict[str, int]]:
    """(parameters, tensors, parameters by ggml type) by gguf-py's own reader: the independent oracle."""
    import gguf

    r = gguf.GGUFReader(str(path))
    by: dict[str, int] = {}
    for t in r.tensors:
        by[t.tensor_type.name] = by.get(t.tensor_type.name, 0) + int(t.n_elements)
    return sum(by.values()), len(r.tensors), by


TINY = dict(layers=2, hidden=64, heads=4, kv_heads=2, ffn=128, vocab=256, ctx=2048)


def tiny_tensors(layers=2, hidden=64, heads=4, kv_heads=2, ffn=128, vocab=256, tied=False):
    """[(name, numpy shape (rows, cols), ggml type name)] of a llama-shaped model, GGUF names."""
    hd = hidden // heads
    out = [("token_embd.weight", (vocab, hidden), "Q8_0")]
    for i in range(layers):
        out += [(f"blk.{i}.attn_norm.weight", (hidden,), "F32"),
                (f"blk.{i}.attn_q.weight", (hidden, hidden), "Q8_0"),
                (f"blk.{i}.attn_k.weight", (kv_heads * hd, hidden), "Q8_0"),
                (f"blk.{i}.attn_v.weight", (kv_heads * hd, hidden), "Q8_0"),
                (f"blk.{i}.attn_output.weight", (hidden, hidden), "Q8_0"),
                (f"blk.{i}.ffn_norm.weight", (hidden,), "F32"),
                (f"blk.{i}.ffn_gate.weight", (ffn, hidden), "Q4_0"),
                (f"blk.{i}.ffn_up.weight", (ffn, hidden), "Q4_0"),
                (f"blk.{i}.ffn_down.weight", (hidden, ffn), "F16")]
    out.append(("output_norm.weight", (hidden,), "F32"))
    if not tied:
        out.append(("output.weight", (vocab, hidden), "Q8_0"))
    return out


def _llama_kvs(w, layers, hidden, heads, kv_heads, ffn, vocab, ctx, file_type=7, name="tiny"):
    w.add_name(name)
    w.add_block_count(layers)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_context_length(ctx)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(file_type)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(vocab)])
    w.add_token_types([1] * vocab)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)


def write_tiny(path: Path, *, split_max_tensors: int = 0, tied: bool = False, **dims) -> list[Path]:
    """A complete llama-shaped GGUF (or split set) written by GGUFWriter; returns the files written."""
    import gguf
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T

    d = {**TINY, **dims}
    w = gguf.GGUFWriter(str(path), "llama", split_max_tensors=split_max_tensors)
    _llama_kvs(w, **d)
    for name, shape, ty in tiny_tensors(d["layers"], d["hidden"], d["heads"], d["kv_heads"], d["ffn"], d["vocab"],
                                        tied):
        if ty == "F32":
            w.add_tensor(name, np.zeros(shape, dtype=np.float32))
        elif ty == "F16":
            w.add_tensor(name, np.zeros(shape, dtype=np.float16))
        else:
            block, size = GGML_QUANT_SIZES[T[ty]]
            byte_shape = (*shape[:-1], shape[-1] // block * size)
            w.add_tensor(name, np.zeros(byte_shape, dtype=np.uint8), raw_dtype=T[ty])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if split_max_tensors:
        return sorted(path.parent.glob(path.stem + "-*-of-*.gguf"))
    return [path]


def write_vocab_only(path: Path, vocab: int = 300) -> Path:
    """llama.cpp's vocab files: GGUF metadata with a tokenizer and no tensors (convert_hf_to_gguf --vocab-only)."""
    import gguf

    w = gguf.GGUFWriter(str(path), "llama")
    _llama_kvs(w, **{**TINY, "vocab": vocab})
    w.add_token_merges([f"t{i} t{i + 1}" for i in range(vocab - 1)])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()
    return path


def header_only(path: Path, kvs: list[tuple[str, object, object, object]], tensors, arch: str = "llama") -> Path:
    """GGUFWriter header + KVs + tensor infos for [(name, numpy shape, ggml type name)], then a sparse file of
    the size the writer's offsets give (data section start + every tensor padded to the alignment)."""
    import gguf
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T

    w = gguf.GGUFWriter(str(path), arch)
    for key, val, vtype, sub in kvs:
        w.add_key_value(key, val, vtype, sub)
    data = 0
    for name, shape, ty in tensors:
        block, size = GGML_QUANT_SIZES[T[ty]]
        nb = int(np.prod(shape)) // block * size
        w.add_tensor_info(name, shape, np.dtype(np.float32), nb, raw_dtype=T[ty])
        data += gguf.GGUFWriter.ggml_pad(nb, w.data_alignment)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    size = path.stat().st_size
    start = gguf.GGUFWriter.ggml_pad(size, w.data_alignment)
    with open(path, "r+b") as f:
        f.truncate(start + data)
    return path


def kvs_of(path: Path, skip=("general.architecture",), override: dict | None = None) -> list:
    """The key/values of a GGUF file as (key, value, vtype, sub_type) for ``header_only`` (read by gguf-py)."""
    import gguf
    from gguf.constants import GGUFValueType as V

    r = gguf.GGUFReader(str(path))
    out = []
    for key, f in r.fields.items():
        if key.startswith("GGUF.") or key in skip:
            continue
        vt = V(f.types[0])
        sub = V(f.types[1]) if vt == V.ARRAY else None
        val = (override or {}).get(key, f.contents())
        out.append((key, val, vt, sub))
    return out


def smol_tensors_as(path: Path, ty2d: str, emb: str) -> list:
    """SmolLM2's 272 tensors (names and shapes from the real header, gguf-py's reader) with other types."""
    import gguf

    r = gguf.GGUFReader(str(path))
    out = []
    for t in r.tensors:
        shape = tuple(int(x) for x in reversed(t.shape))  # numpy order (rows, cols)
        ty = emb if t.name == "token_embd.weight" else ty2d if len(shape) == 2 else "F32"
        out.append((t.name, shape, ty))
    return out


# ----------------------------------------------------------------------------------- hostile files

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


# Hostile files, byte by byte: (name, bytes, the llama.cpp loader check it breaks). F32 = type 0, F16 = 1, Q4_0 = 2 (block 32, 18 bytes).
HOSTILE = [
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
