"""Let timm import where torchvision cannot load (test tooling for tools/oracle.py only).

timm imports torchvision (transforms, ``ops.misc.FrozenBatchNorm2d``) and Pillow at import time, for its data
pipeline and a frozen-BN helper; building a model's modules needs neither. On a machine whose torchvision wheel
does not match the installed torch (the CPU-only venv here: PyPI's torchvision is a CUDA build), this installs
stand-in modules for ``torchvision`` and ``PIL`` whose attributes are empty classes, so that
``timm.create_model`` (and transformers' ``TimmWrapperModel``, Gemma 3n's vision tower) can build on the meta
device. The modules built are timm's own; nothing here touches a model. Installed only when the real
torchvision cannot be imported.

timm itself is not a ckptscope dependency: install it apart, e.g.
    pip download timm==1.0.31 --no-deps -d /tmp/w && pip install --no-deps --target /tmp/timm_site /tmp/w/timm-*.whl
    PYTHONPATH=/tmp/timm_site python tools/oracle.py --only gemma3n
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

STUBBED = ("torchvision", "PIL")


class _Any(type):
    def __getattr__(cls, k):
        return _Any(k, (object,), {})


class _Mod(types.ModuleType):
    def __getattr__(self, k):
        if k == "__version__":
            return "0.0"
        if k.startswith("__"):
            raise AttributeError(k)
        return _Any(k, (object,), {})


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _Mod(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def install() -> bool:
    """Install the stand-ins unless torchvision imports for real; True when installed."""
    try:
        import torchvision  # noqa: F401
        return False
    except Exception:  # ImportError, or a RuntimeError from a torchvision built for another torch
        for k in [m for m in sys.modules if m.split(".")[0] in STUBBED]:
            del sys.modules[k]
        sys.meta_path.insert(0, _Finder())
        return True
