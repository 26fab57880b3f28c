"""Repo kinds (KD rules): what the kind readers in ``ckptscope.kinds`` found while loading — a Diffusers component
without weights (KD001), variants that disagree (KD002), Sentence Transformers modules missing (KD003) or with a
Dense shape off its config (KD004), LoRA ranks (KD010) and adapter shapes against the base model (KD011), ONNX
files that do not parse (KD020) or whose external data is missing (KD021)."""

from __future__ import annotations


def run(ctx) -> None:
    info = getattr(ctx.ck, "kind_info", {}) or {}
    for rule, message, file, tensor in info.get("findings", []):
        ctx.add(rule, message, file, tensor)
    ad = info.get("adapter")
    if ad is not None and "reconciliation" not in ad.get("base", {}):
        ctx.add("KD030", f"base model {ad.get('base_model')!r}: config.json {ad['base'].get('config')}",
                "adapter_config.json")
