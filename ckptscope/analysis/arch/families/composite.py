"""A family assembled from parts, each reading its own sub-config (shared by ``vlm_more.py`` and ``omni.py``).

``Composite`` is a family whose tensors come from a list of parts ``part(c, d, layout)``. ``text_part`` runs an
existing text family on a nested config (``text_config``, ``thinker_config.text_config``, ...) filled with the
config class defaults, and moves its names under the prefix the checkpoint uses. Towers and projectors are parts
of their own (``towers.py``, ``towers_more.py``, ``audio_towers.py``).
"""

from __future__ import annotations

from ....readers.config import from_dict
from ..decoder import SpecFamily
from ..engine import Dims, PredictionError


def sub(c, *path) -> dict:
    """The nested config dict at ``path`` below the top level ({} when absent)."""
    d = c.full
    for k in path:
        d = d.get(k) if isinstance(d, dict) else None
    return d if isinstance(d, dict) else {}


def filled(raw: dict, defaults: dict) -> dict:
    """``raw`` over ``defaults``: a config.json leaves out every field equal to its class default."""
    return {**defaults, **{k: v for k, v in raw.items() if v is not None}}


def text_family(key_or_spec):
    if not isinstance(key_or_spec, str):
        return SpecFamily(key_or_spec)
    from . import FAMILIES

    return FAMILIES[key_or_spec]


def text_part(family, path, defaults, prefix="model.", head="lm_head", tie_default=False, key=None, main=True,
              tie_at=(), comp=None):
    """The text decoder of ``family`` (a family key or a Spec) on the sub-config at ``path``; its ``model.*``
    names go under ``prefix``, ``lm_head`` becomes ``head`` (None: left out). The head is tied when the top level
    says so (the main decoder only; ``tie_at``: the config that holds that choice), else the sub-config, else
    ``tie_default``; the main decoder's choice is the report's. ``comp`` puts every tensor in one component (a talker)."""
    def part(c, d, layout):
        fam = text_family(family)
        raw = filled(sub(c, *path), defaults)
        tc = from_dict(raw, c.file)
        mt = key or (family if isinstance(family, str) else family.model_types[0])
        td = Dims(tc, tie_default, mt)
        top = sub(c, *tie_at).get("tie_word_embeddings") if main else None
        inner = raw.get("tie_word_embeddings")
        td.tied = top if isinstance(top, bool) else inner if isinstance(inner, bool) else tie_default
        if main:
            d.tied = td.tied
        for name, shape, cp, kind in fam.tensors(td, layout):
            if name.startswith("model."):
                name = prefix + name[6:]
            elif name.startswith("lm_head"):
                if head is None:  # a decoder without an output head of its own (a talker)
                    continue
                name = head + name[7:]
            yield name, shape, comp or cp, kind
    return part


class Composite:
    """A checkpoint made of parts (text decoder(s), towers, projectors, speech generators)."""

    DEFAULT_DTYPE = "F32"
    DEFAULTS: dict = {}

    def __init__(self, key, arch, parts, source="", tie=False, hub_layout=None):
        self.MODEL_TYPES = (key,) if isinstance(key, str) else tuple(key)
        self.ARCHITECTURES = (arch,) if isinstance(arch, str) else tuple(arch)
        self.TIE_DEFAULT = tie
        self.parts = parts
        self.SOURCE = source or ("transformers 5.23 meta-device build "
                                 f"(fixtures/oracle/transformers__{self.MODEL_TYPES[0]})")
        self.hub_layout = hub_layout or {}

    def default_layout(self, c):
        return dict(self.hub_layout)

    def tensors(self, d, layout):
        for part in self.parts:
            yield from part(d.c, d, layout)


def pos(v, what) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 10_000_000:
        raise PredictionError(f"config.json gives no usable value for {what}")
    return v
