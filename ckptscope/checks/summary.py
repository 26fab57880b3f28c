"""The breakdown of the checked checkpoint's tensors (analysis.breakdown.summarize), computed once per Checkpoint:
the tokenizer rule takes its weight total from it and ``check --json`` its parameter counts."""

from __future__ import annotations


def summary_of(ck) -> dict:
    """``summarize(ck.tensors, ck.config)``, cached on ``ck`` (no packed-weight factors: check's own counting)."""
    cached = getattr(ck, "_check_summary", None)
    if cached is None:
        from ..analysis.breakdown import summarize

        cached = summarize(ck.tensors, ck.config)
        ck._check_summary = cached
    return cached
