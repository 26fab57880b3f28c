"""Write small safetensors files byte by byte (for malformed-input tests and dtypes numpy lacks)."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

BITS = {"BOOL": 8, "U8": 8, "I8": 8, "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8, "F4": 4, "F6_E2M3": 6,
        "F6_E3M2": 6, "U16": 16, "I16": 16, "F16": 16, "BF16": 16, "U32": 32, "I32": 32, "F32": 32, "U64": 64,
        "I64": 64, "F64": 64}


def header_for(tensors: dict[str, tuple[str, list[int]]], metadata: dict | None = None) -> tuple[dict, int]:
    """A well-formed header dict for ``{name: (dtype, shape)}`` laid out in the given order, and the data size."""
    h: dict = {}
    if metadata is not None:
        h["__metadata__"] = metadata
    pos = 0
    for name, (dtype, shape) in tensors.items():
        n = math.prod(shape) * BITS[dtype] // 8
        h[name] = {"dtype": dtype, "shape": shape, "data_offsets": [pos, pos + n]}
        pos += n
    return h, pos


def write_raw(path: Path, header: dict | str | bytes, data_size: int, length: int | None = None) -> Path:
    """header (dict -> compact JSON, padded with spaces to 8), then ``data_size`` zero bytes (sparse)."""
    if isinstance(header, dict):
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
    elif isinstance(header, str):
        text = header.encode()
    else:
        text = header
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text) if length is None else length))
        f.write(text)
        f.truncate(8 + len(text) + data_size)
    return path


def write_st(path: Path, tensors: dict[str, tuple[str, list[int]]], metadata: dict | None = None) -> Path:
    h, size = header_for(tensors, metadata)
    return write_raw(path, h, size)
