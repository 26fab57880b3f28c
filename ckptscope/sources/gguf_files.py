"""GGUF files of a folder or repo listing, grouped into models: single files and split sets
(``-00001-of-00003.gguf``), with their quantization label, and the selection a ``:TAG`` or a file path makes.

Names only (no reads): ``group(files)`` -> [:class:`GGUFSet`], ``select(sets, selector)``. mmproj (vision
projector) and imatrix files are kept apart from the models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..readers.gguf_model import split_key

#: llama-quantize / Unsloth / bartowski labels found in file names, longest first
_LABEL = re.compile(r"(?:^|[-._])((?:UD-)?(?:I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32|FP16|FP32|MXFP4(?:_MOE)?|TQ\d_\d))$",
                    re.IGNORECASE)
DEFAULT_TAG = "Q4_K_M"  #: what llama.cpp's -hf picks when no tag is given


@dataclass
class GGUFSet:
    name: str  #: the model's display name (stem, or the first split's path)
    files: list[str]  #: in split order
    label: str | None  #: quantization label from the name ("Q4_K_M"), None when there is none
    kind: str = "model"  #: "model", "mmproj", "imatrix"
    sizes: list[int | None] = field(default_factory=list)

    @property
    def size(self) -> int | None:
        return None if any(s is None for s in self.sizes) else sum(self.sizes)  # type: ignore[misc]

    @property
    def split(self) -> bool:
        return len(self.files) > 1 or split_key(self.files[0]) is not None


def _stem(path: str) -> str:
    base = path.rsplit("/", 1)[-1]
    sk = split_key(base)
    return sk[0] if sk else base[: -len(".gguf")] if base.lower().endswith(".gguf") else base


def label_of(path: str) -> str | None:
    m = _LABEL.search(_stem(path))
    if m:
        return m.group(1).upper()
    parent = path.rsplit("/", 2)[-2] if "/" in path else ""  # Q4_K_M/model-00001-of-00002.gguf
    m = _LABEL.search(parent)
    return m.group(1).upper() if m else None


def is_gguf_name(path: str) -> bool:
    return path.lower().endswith(".gguf")


def group(files: dict[str, int | None]) -> list[GGUFSet]:
    sets: dict[str, GGUFSet] = {}
    for path in sorted(f for f in files if is_gguf_name(f)):
        base = path.rsplit("/", 1)[-1].lower()
        kind = "mmproj" if "mmproj" in base else "imatrix" if "imatrix" in base else "model"
        sk = split_key(path)
        key = f"{sk[0]}#split{sk[2]}" if sk else path
        s = sets.get(key)
        if s is None:
            s = sets[key] = GGUFSet(name=path, files=[], label=label_of(path), kind=kind)
        s.files.append(path)
        s.sizes.append(files.get(path))
    out = []
    for s in sets.values():
        order = sorted(zip(s.files, s.sizes), key=lambda fs: (split_key(fs[0]) or ("", 0, 0))[1])
        s.files = [f for f, _ in order]
        s.sizes = [z for _, z in order]
        s.name = s.files[0]
        out.append(s)
    return out


def _tag_matches(s: GGUFSet, tag: str) -> bool:
    t = tag.upper().replace("-", "_")
    lab = (s.label or "").upper().replace("-", "_")
    if lab and (lab == t or lab.endswith("_" + t) and lab.startswith("UD_")):
        return True
    pat = re.compile(r"(?:^|[-._/])" + re.escape(tag) + r"(?=[-./]|$)", re.IGNORECASE)
    return bool(pat.search(_stem(s.files[0])) or pat.search(s.files[0].rsplit("/", 1)[0] if "/" in s.files[0] else ""))


def select(sets: list[GGUFSet], selector: str | None) -> tuple[GGUFSet | None, str]:
    """The model a selector names (a quant tag, or a file path), and how it was chosen. Without a selector: the
    only model, else the Q4_K_M one (llama.cpp's default tag), else the first."""
    models = [s for s in sets if s.kind == "model"]
    if selector:
        sel = selector.strip().lstrip("/")
        for s in sets:
            if sel in s.files:
                return s, f"file {sel}"
        hits = [s for s in models if _tag_matches(s, sel)]
        if hits:
            return hits[0], f"tag {selector}" + (f" (first of {len(hits)} matches)" if len(hits) > 1 else "")
        return None, f"no GGUF file matches {selector!r}"
    if not models:
        return None, "no GGUF model file"
    if len(models) == 1:
        return models[0], "the only GGUF model"
    hits = [s for s in models if _tag_matches(s, DEFAULT_TAG)]
    if hits:
        return hits[0], f"{DEFAULT_TAG} (llama.cpp's default tag) of {len(models)} quantizations"
    return models[0], f"the first of {len(models)} quantizations (no {DEFAULT_TAG})"
