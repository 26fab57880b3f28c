"""safetensors integrity: every header problem the reader finds (ST000..ST013, reused as rule ids), in every
.safetensors file of the repository (subfolders included), plus git-LFS pointers and empty files among the other
data files."""

from __future__ import annotations

from ..readers.safetensors import LFS_MAGIC

#: other files that hold data (weights, tokenizer models): an LFS pointer or 0 bytes there is a broken upload
DATA_EXTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".gguf", ".onnx", ".msgpack", ".h5",
             ".npz", ".npy", ".tflite", ".ot", ".model", ".tiktoken")
DATA_FILES = ("tokenizer.json",)
LFS_POINTER_MAX = 1024  #: LFS pointer files are ~130 bytes


def _extra_safetensors(ctx) -> list[str]:
    if ctx.single:
        return []
    ck = ctx.ck
    loaded = {h.file for h in ck.headers + getattr(ck, "module_headers", [])}
    loaded.update(h.file for h in getattr(ck, "kind_info", {}).get("_other_headers", []))
    return sorted(f for f in ctx.files if f.endswith(".safetensors") and f not in loaded)


def run(ctx) -> None:
    from ..checkpoint import read_headers_collect

    for p in ctx.problems:
        if p.code.startswith("ST"):
            ctx.add(p.code, p.message, p.file, p.tensor)
    extra = _extra_safetensors(ctx)
    if extra:
        ctx.extra_headers = read_headers_collect(ctx.source, extra)
        for h in ctx.extra_headers:
            for p in h.problems:
                ctx.add(p.code, p.message, p.file, p.tensor)
    if ctx.single:
        return
    for rel, size in ctx.files.items():
        name = rel.rsplit("/", 1)[-1]
        if not (name.endswith(DATA_EXTS) or name in DATA_FILES):
            continue
        if size == 0:
            ctx.add("ST012", f"{name} is empty (0 bytes)", rel)
        elif size is not None and size <= LFS_POINTER_MAX:
            data = ctx.read(rel)
            if data is not None and data.startswith(LFS_MAGIC):
                ctx.add("ST011", "is a git-LFS pointer, not the file's content (run `git lfs pull`)", rel)
