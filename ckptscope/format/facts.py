"""Wording shared by the formatters, so the text output and the HTML page say the same thing."""

from __future__ import annotations


def model_facts(model: dict, parameters: dict) -> list[str]:
    """["61 layers (3 dense + 58 MoE) + 1 MTP", "hidden 7168", "vocab 129280", "256 experts, top-8"]."""
    layers = parameters.get("layers") or {}
    lay = f"{model.get('num_hidden_layers')} layers"
    if layers.get("moe"):
        lay += f" ({layers.get('dense', 0)} dense + {layers['moe']} MoE)"
    if layers.get("mtp"):
        lay += f" + {layers['mtp']} MTP"
    out = [lay, f"hidden {model.get('hidden_size')}", f"vocab {model.get('vocab_size')}"]
    if model.get("num_experts"):
        out.append(f"{model['num_experts']} experts, top-{model.get('num_experts_per_tok')}")
    return out
