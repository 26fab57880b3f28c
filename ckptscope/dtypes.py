"""Storage dtypes: safetensors names, their widths, and how they map to torch/config names."""

from __future__ import annotations

# safetensors dtype name -> bits per element
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U16": 16,
    "I16": 16,
    "F16": 16,
    "BF16": 16,
    "U32": 32,
    "I32": 32,
    "F32": 32,
    "U64": 64,
    "I64": 64,
    "F64": 64,
    "C64": 64,
}

FLOAT_DTYPES = {"F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "F16", "BF16", "F32", "F64"}

# config.json `torch_dtype` / `dtype` strings -> safetensors name
TORCH_TO_ST: dict[str, str] = {
    "float32": "F32",
    "float": "F32",
    "float16": "F16",
    "half": "F16",
    "bfloat16": "BF16",
    "float64": "F64",
    "double": "F64",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "int8": "I8",
    "uint8": "U8",
    "int32": "I32",
    "int64": "I64",
    "bool": "BOOL",
}


def dtype_bits(dtype: str) -> int:
    return DTYPE_BITS[dtype]


def nbytes(dtype: str, numel: int) -> int:
    """Bytes taken by ``numel`` elements of ``dtype`` (sub-byte types packed, rounded up)."""
    return (numel * DTYPE_BITS[dtype] + 7) // 8


def config_dtype(name: str | None) -> str | None:
    """Normalise a config.json dtype string (``"bfloat16"``, ``"torch.float16"``) to a safetensors name."""
    if not name or not isinstance(name, str):
        return None
    key = name.replace("torch.", "").strip().lower()
    return TORCH_TO_ST.get(key)
