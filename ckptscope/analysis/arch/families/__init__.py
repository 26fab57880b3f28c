"""One small description per model family. ``FAMILIES`` maps config.json ``model_type`` to its module."""

from __future__ import annotations

import importlib

_MODULES = ("llama", "gemma", "phi3", "gpt2", "bert", "t5", "mixtral", "qwen_moe", "granitemoe", "deepseek", "gpt_oss")

FAMILIES: dict[str, str] = {}  #: model_type -> module name


def _register() -> None:
    for m in _MODULES:
        mod = importlib.import_module(f"{__name__}.{m}")
        for mt in mod.MODEL_TYPES:
            FAMILIES[mt] = m


_register()


def module_for(model_type: str | None):
    m = FAMILIES.get(model_type or "")
    return importlib.import_module(f"{__name__}.{m}") if m else None
