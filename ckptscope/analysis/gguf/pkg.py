"""The ``gguf`` package's tables (``gguf/constants.py``: ggml types and block sizes, metadata keys, tensor names
for every architecture), loaded without the package's ``__init__`` (which imports numpy and the writer/reader:
0.36 s against 0.04 s for the tables alone)."""

from __future__ import annotations

import sys
from functools import lru_cache


@lru_cache(maxsize=1)
def constants():
    """``gguf.constants`` (None when the package is not installed)."""
    mod = sys.modules.get("gguf.constants")
    if mod is not None:
        return mod
    import importlib.util as u
    import os

    try:
        spec = u.find_spec("gguf")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "constants.py")
    s = u.spec_from_file_location("_ckptscope_gguf_constants", path)
    if s is None or s.loader is None:
        return None
    mod = u.module_from_spec(s)
    try:
        s.loader.exec_module(mod)
    except Exception:  # noqa: BLE001 - a broken install: fall back to the built-in tables
        return None
    return mod
