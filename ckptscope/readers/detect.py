"""What a weight file is, from its first bytes (never its name): ``detect(prefix, size) -> kind``.

Kinds: ``gguf``, ``safetensors``, ``zip`` (PyTorch's zip checkpoints, also .npz), ``pickle`` (protocol 2+),
``onnx`` (a protobuf ModelProto guess), ``lfs`` (a git-LFS pointer), ``empty``, or None (unknown). Other
formats add a test to ``DETECTORS`` (first match wins); ``PREFIX_BYTES`` is how much a caller reads.
"""

from __future__ import annotations

from typing import Callable

PREFIX_BYTES = 64


def _gguf(b: bytes, size) -> bool:
    return b[:4] == b"GGUF"


def _lfs(b: bytes, size) -> bool:
    return b.startswith(b"version https://git-lfs")


def _safetensors(b: bytes, size) -> bool:
    if len(b) < 10:
        return False
    n = int.from_bytes(b[:8], "little")
    if n < 2 or (size is not None and 8 + n > size) or n > 100_000_000:
        return False
    return b[8:9] == b"{" or (b[8:9] == b" " and b[8:].lstrip(b" ")[:1] == b"{")


def _zip(b: bytes, size) -> bool:
    return b[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _pickle(b: bytes, size) -> bool:
    return len(b) >= 2 and b[0] == 0x80 and 2 <= b[1] <= 5


def _onnx(b: bytes, size) -> bool:
    # ModelProto: field 1 ir_version (varint, tag 0x08) first, then producer_name (0x12) or opset/graph fields.
    return len(b) >= 4 and b[0] == 0x08 and 1 <= b[1] <= 12 and b[2] in (0x12, 0x1a, 0x22, 0x3a, 0x42)


DETECTORS: list[tuple[str, Callable[[bytes, int | None], bool]]] = [
    ("gguf", _gguf), ("lfs", _lfs), ("safetensors", _safetensors), ("zip", _zip), ("pickle", _pickle),
    ("onnx", _onnx),
]


def detect(prefix: bytes, size: int | None = None) -> str | None:
    if size == 0 or (size is None and not prefix):
        return "empty"
    for kind, test in DETECTORS:
        if test(prefix, size):
            return kind
    return None


def detect_file(path: str) -> str | None:
    """The kind of a local file (reads ``PREFIX_BYTES``)."""
    from ..limits import open_regular

    f, size = open_regular(path)  # a FIFO or device is refused (SourceError), never blocked on
    with f:
        return detect(f.read(PREFIX_BYTES), size)
