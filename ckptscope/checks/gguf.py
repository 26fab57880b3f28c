"""GGUF rules (GG001..GG015): what llama.cpp's loader refuses, found by the reader in every GGUF file of the
source (readers/gguf.py PROBLEMS; split sets checked for completeness in readers/gguf_model.py)."""

from __future__ import annotations


def run(ctx) -> None:
    for p in ctx.problems:
        if p.code.startswith("GG"):
            ctx.add(p.code, p.message, p.file, p.tensor)
