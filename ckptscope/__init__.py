"""ckptscope: inspect Hugging Face checkpoints from metadata alone.

>>> import ckptscope
>>> report = ckptscope.inspect("path/or/org/name")      # doctest: +SKIP
>>> report.parameters["total"]                         # doctest: +SKIP
"""

__version__ = "0.1.0"

__all__ = ["inspect", "open_checkpoint", "build_report", "__version__"]


def __getattr__(name):  # lazy: keep `import ckptscope` (and the CLI's start-up) light
    if name in ("inspect", "open_checkpoint", "build_report"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
