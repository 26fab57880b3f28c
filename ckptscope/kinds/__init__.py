"""Repo kinds beyond a plain transformers folder, each detected from its own marker file and read header-only.

| kind | marker | module |
|---|---|---|
| ``diffusers`` | ``model_index.json`` | :mod:`.diffusers`: every component's weights (one variant), per-block breakdown |
| ``sentence_transformers`` | ``modules.json`` | :mod:`.sentence_transformers`: Transformer + Pooling/Dense/Normalize |
| ``peft`` | ``adapter_config.json`` | :mod:`.peft`: adapter type, rank, targets, base model reconciled |
| ``mlx`` | ``quantization`` in config.json | :mod:`.packed`: U32-packed weights with scales/biases |
| ``onnx`` | ``*.onnx`` and no safetensors weights | :mod:`.onnx`: initializers from the protobuf, external data |

``detect(source, files)`` names the kind from the file list; ``attach(ck, source, strict)`` (called by
``load_checkpoint``) reads what the kind adds; ``report_stage(ck, report)`` puts it in the Report (``modules``,
``adapter``, ``onnx``, ``repo_kind`` sections). Packed quantizations (MLX, bitsandbytes, compressed-tensors) are
recognised for every kind.
"""

from __future__ import annotations

MARKERS = (("model_index.json", "diffusers"), ("modules.json", "sentence_transformers"),
           ("adapter_config.json", "peft"))


def has_onnx(files) -> bool:
    return any(f.endswith(".onnx") for f in files)


def detect(source, files: dict) -> str | None:
    """The repo kind from its marker files (MLX needs config.json and is told apart in :func:`attach`)."""
    single = source.weights_only_file()
    if single:
        return "onnx" if single.endswith(".onnx") else None
    no_st = not any(f.endswith(".safetensors") for f in files)
    for marker, kind in MARKERS:
        if marker in files:
            if kind == "sentence_transformers" and no_st and any("/" not in f and f.endswith(".onnx") for f in files):
                return "onnx"  # an exported Sentence Transformers repo: its weights are the top-level ONNX model
            return kind
    if has_onnx(files) and not any("/" not in f and f.endswith(".safetensors") for f in files):
        return "onnx"
    return None


def attach(ck, source, strict: bool = True, variant: str | None = None) -> None:
    from . import packed

    if ck.kind == "diffusers":
        from . import diffusers

        diffusers.load(ck, source, strict, variant)
    elif ck.kind == "sentence_transformers":
        from . import sentence_transformers

        sentence_transformers.load(ck, source, strict)
    elif ck.kind == "peft":
        from . import peft

        peft.load(ck, source, strict)
    elif ck.kind == "onnx":
        from . import onnx

        onnx.load(ck, source, strict)
    if ck.kind is None and packed.mlx_quantization(ck.config) is not None:
        ck.kind = "mlx"
    packed.attach(ck)


KIND_TEXT_FILES = ("model_index.json", "modules.json", "adapter_config.json", "sentence_bert_config.json",
                   "config_sentence_transformers.json")


def snapshot_files(ck) -> list[str]:
    """The small files a snapshot must keep for the repo kind to be read back: marker files and the config.json
    of every module folder that was read."""
    if ck.kind is None:
        return []
    out = [f for f in KIND_TEXT_FILES if f in ck.files]
    folders = {h.file.rsplit("/", 1)[0] for h in ck.module_headers if "/" in h.file}
    for m in (ck.kind_info.get("modules") or {}).values():
        if isinstance(m, dict) and m.get("path"):
            folders.add(m["path"])
    out += sorted(f"{d}/config.json" for d in folders if f"{d}/config.json" in ck.files)
    return out


def report_stage(ck, report) -> None:
    """Sections for the repo kind: ``repo_kind`` (a one-line summary), ``modules``, ``adapter``, ``onnx``."""
    if ck.kind is None and not ck.packed_factors:
        return
    from . import packed

    info = ck.kind_info
    if info.get("modules") is not None:
        report.sections["modules"] = info["modules"]
    for key in ("adapter", "onnx", "embedding"):
        if info.get(key) is not None:
            report.sections[key] = info[key]
    sec = {"label": "Kind", "kind": ck.kind or "transformers"}
    for key in ("variant", "variants", "pipeline_class"):
        if key in info:
            sec[key] = info[key]
    if info.get("summary"):
        sec["summary"] = info["summary"]
    report.sections["repo_kind"] = sec
    packed.report_stage(ck, report)
    from ..checks.registry import RULES
    from ..report import Finding

    for rule, message, file, tensor in info.get("findings", []):
        report.findings.append(Finding(rule, RULES[rule].severity if rule in RULES else "error", message, file, tensor))
    ox = info.get("onnx")
    if ox:  # the external data files are part of the model's files
        report.bytes["files_total"] = report.bytes.get("files_total", 0) + sum(
            e["size"] or 0 for e in ox["external_data"].values())
    for f in report.files:
        if f["name"] in info.get("onnx_files", ()):
            f["kind"] = "onnx"
