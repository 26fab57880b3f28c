"""ggml tensor types and llama.cpp file types, as tables (docs/gguf-size-rules.md sections 1 and 2.2).

Sources: ``ggml/src/ggml-common.h`` block structs and gguf-py ``GGML_QUANT_SIZES``; ``include/llama.h`` for the
``llama_ftype`` ids; ``llama_ftype_get_default_type`` for each file type's default tensor type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GGMLType:
    name: str  #: upper-case name, e.g. "Q4_K"
    id: int  #: value stored in the GGUF tensor-info record
    block: int  #: elements per block
    bytes: int  #: bytes per block
    ggml_name: str  #: llama.cpp's own spelling (``ggml_type_name``), e.g. "q4_K"
    quantized: bool = True
    stored: bool = True  #: False for intermediate-only types (Q8_1, Q8_K)

    @property
    def bpw(self) -> float:
        return 8.0 * self.bytes / self.block

    def row_bytes(self, n: int) -> int:
        if n % self.block:
            raise ValueError(f"{self.name}: row of {n} elements does not divide into blocks of {self.block}")
        return n // self.block * self.bytes


#  name      id  block bytes  ggml_name
_TYPES = [
    ("F32", 0, 1, 4, "f32", False, True),
    ("F16", 1, 1, 2, "f16", False, True),
    ("Q4_0", 2, 32, 18, "q4_0", True, True),
    ("Q4_1", 3, 32, 20, "q4_1", True, True),
    ("Q5_0", 6, 32, 22, "q5_0", True, True),
    ("Q5_1", 7, 32, 24, "q5_1", True, True),
    ("Q8_0", 8, 32, 34, "q8_0", True, True),
    ("Q8_1", 9, 32, 36, "q8_1", True, False),
    ("Q2_K", 10, 256, 84, "q2_K", True, True),
    ("Q3_K", 11, 256, 110, "q3_K", True, True),
    ("Q4_K", 12, 256, 144, "q4_K", True, True),
    ("Q5_K", 13, 256, 176, "q5_K", True, True),
    ("Q6_K", 14, 256, 210, "q6_K", True, True),
    ("Q8_K", 15, 256, 292, "q8_K", True, False),
    ("IQ2_XXS", 16, 256, 66, "iq2_xxs", True, True),
    ("IQ2_XS", 17, 256, 74, "iq2_xs", True, True),
    ("IQ3_XXS", 18, 256, 98, "iq3_xxs", True, True),
    ("IQ1_S", 19, 256, 50, "iq1_s", True, True),
    ("IQ4_NL", 20, 32, 18, "iq4_nl", True, True),
    ("IQ3_S", 21, 256, 110, "iq3_s", True, True),
    ("IQ2_S", 22, 256, 82, "iq2_s", True, True),
    ("IQ4_XS", 23, 256, 136, "iq4_xs", True, True),
    ("I8", 24, 1, 1, "i8", False, True),
    ("I16", 25, 1, 2, "i16", False, True),
    ("I32", 26, 1, 4, "i32", False, True),
    ("I64", 27, 1, 8, "i64", False, True),
    ("F64", 28, 1, 8, "f64", False, True),
    ("IQ1_M", 29, 256, 56, "iq1_m", True, True),
    ("BF16", 30, 1, 2, "bf16", False, True),
    ("TQ1_0", 34, 256, 54, "tq1_0", True, True),
    ("TQ2_0", 35, 256, 66, "tq2_0", True, True),
    ("MXFP4", 39, 32, 17, "mxfp4", True, True),
    ("NVFP4", 40, 64, 36, "nvfp4", True, True),
    ("Q1_0", 41, 128, 18, "q1_0", True, True),
    ("Q2_0", 42, 64, 18, "q2_0", True, True),
]

TYPES: dict[str, GGMLType] = {t[0]: GGMLType(*t) for t in _TYPES}


def _from_gguf_package() -> None:
    """Types the installed ``gguf`` package knows and this table does not (a newer llama.cpp): added from its
    ``GGML_QUANT_SIZES``, so a file with a new type is read with the package's block size."""
    from .pkg import constants

    c = constants()
    if c is None:  # pragma: no cover - gguf is a dependency; the table above still works without it
        return
    GGML_QUANT_SIZES = c.GGML_QUANT_SIZES
    ids = {t.id for t in TYPES.values()}
    for qt, (block, size) in GGML_QUANT_SIZES.items():
        if int(qt) not in ids and qt.name not in TYPES:
            TYPES[qt.name] = GGMLType(qt.name, int(qt), block, size, qt.name.lower(), block > 1, True)


_from_gguf_package()
TYPES_BY_ID: dict[int, GGMLType] = {t.id: t for t in TYPES.values()}

# llama_ftype: name -> (id, default ggml type). Names as llama-quantize spells them.
FTYPES: dict[str, tuple[int, str]] = {
    "F32": (0, "F32"), "F16": (1, "F16"), "Q4_0": (2, "Q4_0"), "Q4_1": (3, "Q4_1"),
    "Q8_0": (7, "Q8_0"), "Q5_0": (8, "Q5_0"), "Q5_1": (9, "Q5_1"),
    "Q2_K": (10, "Q2_K"), "Q3_K_S": (11, "Q3_K"), "Q3_K_M": (12, "Q3_K"), "Q3_K_L": (13, "Q3_K"),
    "Q4_K_S": (14, "Q4_K"), "Q4_K_M": (15, "Q4_K"), "Q5_K_S": (16, "Q5_K"), "Q5_K_M": (17, "Q5_K"),
    "Q6_K": (18, "Q6_K"), "IQ2_XXS": (19, "IQ2_XXS"), "IQ2_XS": (20, "IQ2_XS"), "Q2_K_S": (21, "Q2_K"),
    "IQ3_XS": (22, "IQ3_S"), "IQ3_XXS": (23, "IQ3_XXS"), "IQ1_S": (24, "IQ1_S"), "IQ4_NL": (25, "IQ4_NL"),
    "IQ3_S": (26, "IQ3_S"), "IQ3_M": (27, "IQ3_S"), "IQ2_S": (28, "IQ2_XS"), "IQ2_M": (29, "IQ2_S"),
    "IQ4_XS": (30, "IQ4_XS"), "IQ1_M": (31, "IQ1_M"), "BF16": (32, "BF16"), "TQ1_0": (36, "TQ1_0"),
    "TQ2_0": (37, "TQ2_0"), "MXFP4_MOE": (38, "MXFP4"), "NVFP4": (39, "NVFP4"), "Q1_0": (40, "Q1_0"),
    "Q2_0": (41, "Q2_0"),
}
FTYPES_BY_ID: dict[int, str] = {v[0]: k for k, v in FTYPES.items()}

# Common spellings people use for the same file type.
_FTYPE_ALIASES = {"Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M", "Q3_K": "Q3_K_M", "MXFP4": "MXFP4_MOE", "FP16": "F16",
                  "FP32": "F32"}


def ggml_type(name_or_id: str | int) -> GGMLType:
    if isinstance(name_or_id, int):
        try:
            return TYPES_BY_ID[name_or_id]
        except KeyError:
            raise KeyError(f"unknown ggml type id {name_or_id}") from None
    key = name_or_id.strip().upper()
    if key not in TYPES:
        raise KeyError(f"unknown ggml type {name_or_id!r}")
    return TYPES[key]


def normalize_ftype(name: str) -> str | None:
    """``"q4_k_m"`` -> ``"Q4_K_M"``; None when it is not a llama.cpp file type."""
    key = name.strip().upper().replace("-", "_")
    key = _FTYPE_ALIASES.get(key, key)
    return key if key in FTYPES else None


def default_type(ftype: str) -> GGMLType:
    return TYPES[FTYPES[ftype][1]]


def ftype_id(ftype: str) -> int:
    return FTYPES[ftype][0]


def nbytes(t: GGMLType, ne: tuple[int, ...] | list[int]) -> int:
    """Bytes of a tensor of ggml shape ``ne`` (``ne[0]`` is the row length and must divide into blocks)."""
    rows = 1
    for d in ne[1:]:
        rows *= d
    return t.row_bytes(ne[0] if ne else 1) * rows
