"""Diffusers pipelines: ``model_index.json`` names the components (``"unet": ["diffusers", "UNet2DConditionModel"]``),
each saved in its own folder by its library's ``save_pretrained``; weights may come in several variants side by
side (``diffusion_pytorch_model.safetensors`` and ``diffusion_pytorch_model.fp16.safetensors``, ``model.fp16.safetensors``
for transformers components, ``-0000N-of-0000M`` shards of either).

One variant is read per component (full precision by default, ``--variant NAME`` to choose); every variant
present is listed. In collect mode (``check``) the other variants' headers are read too, to hold their tensor
names and shapes against the chosen one.
"""

from __future__ import annotations

import re

from ..errors import CkptError
from .common import block_of, blocks, finding, human, module_counts, read_json, read_module_headers

#: classes that carry no weights (schedulers, tokenizers, processors)
NON_MODEL = re.compile(r"(Scheduler|Tokenizer|TokenizerFast|Processor|FeatureExtractor|ImageProcessor"
                       r"|Solver|Sampler)$")
_FILE = re.compile(r"^(?P<stem>[^.]+?)(?:\.(?P<var>[A-Za-z0-9_]+))?(?:-\d{5}-of-\d{5})?\.safetensors$")
PICKLE_EXTS = (".bin", ".pt", ".pth", ".ckpt")
#: diffusers models whose tensors get a per-block breakdown
BLOCK_LIBS = ("diffusers",)


def components(index: dict) -> list[tuple[str, str | None, str | None]]:
    """(name, library, class) of every entry of model_index.json that names a component (nulls included)."""
    out = []
    for k, v in index.items():
        if k.startswith("_") or not isinstance(v, list) or len(v) != 2:
            continue
        lib, cls = v
        out.append((k, lib if isinstance(lib, str) else None, cls if isinstance(cls, str) else None))
    return out


def is_model(name: str, cls: str | None, files) -> bool:
    """A component that should have weights: its folder has a config.json, or its class is not a scheduler,
    tokenizer or processor."""
    if cls is None:
        return False
    if f"{name}/config.json" in files:
        return True
    if any(f"{name}/{x}" in files for x in ("scheduler_config.json", "tokenizer_config.json",
                                             "preprocessor_config.json")):
        return False
    return not NON_MODEL.search(cls)


def variants_of(name: str, files) -> dict[str | None, list[str]]:
    """{variant (None = default): [safetensors files]} in the component's folder."""
    out: dict[str | None, list[str]] = {}
    pre = name + "/"
    for f in sorted(files):
        if not f.startswith(pre) or f.count("/") != 1:
            continue
        m = _FILE.match(f[len(pre):])
        if m:
            out.setdefault(m.group("var"), []).append(f)
    return out


def _label(v: str | None) -> str:
    return v or "default"


def load(ck, source, strict: bool, requested: str | None = None) -> None:
    files = ck.files
    index = read_json(ck, source, "model_index.json", strict)
    if index is None:
        return
    comps = components(index)
    info = ck.kind_info
    info["pipeline_class"] = index.get("_class_name")
    info["diffusers_version"] = index.get("_diffusers_version")
    modules: dict[str, dict] = {}
    present: set[str] = set()
    chosen: dict[str, list[str]] = {}
    others: dict[str, dict[str | None, list[str]]] = {}
    notes = []
    for name, lib, cls in comps:
        ent: dict = {"class": cls, "library": lib}
        modules[name] = ent
        if not is_model(name, cls, files):
            ent["weights"] = None
            ent["parameters"] = 0 if cls is not None else None
            if cls is None:
                ent["note"] = "null in model_index.json (not part of this pipeline)"
            continue
        vs = variants_of(name, files)
        present.update(v for v in vs)
        if not vs:
            pk = sorted(f for f in files if f.startswith(name + "/") and f.endswith(PICKLE_EXTS))
            ent.update(weights="pickle" if pk else "missing", parameters=None, files=pk)
            if not pk:
                finding(ck, "KD001", f"model_index.json lists {name} ({lib}.{cls}) but {name}/ holds no weights",
                        f"{name}/" if any(f.startswith(name + "/") for f in files) else "model_index.json")
            if pk:
                notes.append(f"{name}: weights only in pickle files ({', '.join(pk)}): not read, not counted")
            continue
        pick = requested if requested in vs else (None if None in vs else sorted(vs, key=_label)[0])
        if requested is not None and requested not in vs:
            notes.append(f"{name} has no {requested} variant: read {_label(pick)}")
        elif requested is None and pick is not None:
            notes.append(f"{name} has no full-precision files: read the {pick} variant")
        ent["variant"] = _label(pick)
        ent["variants"] = sorted(_label(v) for v in vs)
        ent["files"] = vs[pick]
        chosen[name] = vs[pick]
        others[name] = {v: fs for v, fs in vs.items() if v != pick}
    if requested is not None and requested not in present:
        have = ", ".join(sorted(_label(v) for v in present)) or "none"
        msg = f"variant {requested!r} is not in this pipeline (variants present: {have})"
        if strict:
            raise CkptError(msg, "model_index.json")
        notes.append(msg)
    paths = [p for fs in chosen.values() for p in fs]
    headers = read_module_headers(ck, source, paths, strict)
    by_file = {h.file: h for h in headers}
    ck.module_headers = headers
    if not strict:  # check: read the other variants too, to compare them
        other_paths = [p for d in others.values() for fs in d.values() for p in fs]
        oh = {h.file: h for h in read_module_headers(ck, source, other_paths, strict)}
        info["_other_headers"] = list(oh.values())
        for name, d in others.items():
            ref = {t.name: tuple(t.shape) for p in chosen[name] for t in (by_file[p].tensors if p in by_file else [])}
            for v, fs in d.items():
                got = {t.name: tuple(t.shape) for p in fs for t in (oh[p].tensors if p in oh else [])}
                if not got or not ref:
                    continue  # unreadable files are reported by the integrity rules
                _compare_variants(ck, name, _label(modules[name].get("variant")), ref, _label(v), got, fs[0])
    info["_chosen_tensors"] = {}
    for name, fs in chosen.items():
        ent = modules[name]
        tensors = [t for p in fs for t in (by_file[p].tensors if p in by_file else [])]
        info["_chosen_tensors"][name] = tensors
        cfg = _component_config(ck, source, name, strict)
        ent.update(module_counts(tensors, cfg if ent.get("library") == "transformers" else None))
        if cfg is not None and cfg.model_type:
            ent["model_type"] = cfg.model_type
        if ent.get("library") in BLOCK_LIBS:
            ent["blocks"] = blocks(tensors)
        elif cfg is not None:
            rec = _reconcile(cfg, tensors)
            if rec is not None:
                ent["reconciliation"] = rec
    info["modules"] = modules
    info["variants"] = sorted(_label(v) for v in present)
    info["variant"] = requested or "default"
    ck.notes.extend(notes)
    weighted = [(n, e) for n, e in modules.items() if e.get("parameters")]
    parts = ", ".join(f"{n} {human(e['parameters'])}" for n, e in weighted)
    missing = [n for n, e in modules.items() if e.get("weights") == "missing"]
    info["summary"] = (f"Diffusers {index.get('_class_name') or 'pipeline'}: {len(weighted)} components with "
                       f"weights ({parts}); variants {', '.join(info['variants']) or 'none'}, read "
                       f"{info['variant']}" + (f"; NO WEIGHTS for {', '.join(missing)}" if missing else ""))


def _compare_variants(ck, comp, va, a: dict, vb: str, b: dict, file: str) -> None:
    """KD002: two variants of one component must hold the same tensor names with the same shapes."""
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        eg = f"{only_a[0]!r} only in {va}" if only_a else f"{only_b[0]!r} only in {vb}"
        finding(ck, "KD002", f"{comp}: variants {va} and {vb} hold different tensors ({len(only_a)} only in {va}, "
                             f"{len(only_b)} only in {vb}; e.g. {eg})", file)
    for n in sorted(set(a) & set(b)):
        if a[n] != b[n]:
            finding(ck, "KD002", f"{comp}: {n} is {list(a[n])} in {va} but {list(b[n])} in {vb}", file, n)


def _component_config(ck, source, name: str, strict: bool):
    rel = f"{name}/config.json"
    if rel not in ck.files:
        return None
    from ..readers.config import from_dict

    obj = read_json(ck, source, rel, strict)
    if obj is None:
        return None
    try:
        return from_dict(obj, rel)
    except CkptError:
        return None


def _reconcile(cfg, tensors) -> dict | None:
    """The architecture rules' verdict on a transformers component (text encoders), when a family exists."""
    try:
        from ..analysis import arch
    except ImportError:  # pragma: no cover
        return None
    if arch.family_name(cfg) is None:
        return {"status": "unavailable", "summary": f"no architecture rules for {cfg.architecture}"}
    try:
        layout = arch.infer_layout(cfg, [t.name for t in tensors])
        inv, reason = arch.try_predict(cfg, layout)
    except Exception as e:  # noqa: BLE001 - rules that fail on an odd config are "no rules"
        inv, reason = None, f"rules failed ({type(e).__name__})"
    if inv is None:
        return {"status": "unavailable", "summary": reason}
    r = arch.reconcile(inv, tensors)
    return {"status": "exact" if r.exact else "differs", "family": arch.family_name(cfg), **r.to_dict(limit=5)}


__all__ = ["block_of", "components", "is_model", "load", "variants_of"]
