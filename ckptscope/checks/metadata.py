"""Metadata files that do not parse (MD001), index entries that leave the repository (MD002), weights without a
config.json (MD003)."""

from __future__ import annotations

from ..readers.index import unsafe_path

#: top-level JSON files transformers reads; each must parse (and be an object)
JSON_FILES = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
              "added_tokens.json", "preprocessor_config.json", "processor_config.json")


def index_files(files) -> list[str]:
    return sorted(f for f in files if "/" not in f and f.endswith(".index.json"))


def run(ctx) -> None:
    files = ctx.files
    lfs = {r[2] for r in ctx.raw if r[0] in ("ST011", "MD010")}  # already reported as unreadable
    idx = getattr(ctx.ck, "index", None)
    for rel in [f for f in JSON_FILES if f in files] + index_files(files):
        if rel in lfs:
            continue
        if idx is not None and idx.file == rel:  # parsed while loading: an object whose weight_map names files,
            if not idx.metadata_is_object:  # none outside the repository (else the reader refused it: IX000)
                ctx.add("MD001", f"{rel}: 'metadata' is not an object", rel)
            continue
        obj, err = ctx.json(rel)
        if err:
            ctx.add("MD001", f"{rel} {err}", rel)
        elif not isinstance(obj, dict):
            ctx.add("MD001", f"{rel} is a JSON {type(obj).__name__}, not an object", rel)
        elif rel.endswith(".index.json"):
            wm = obj.get("weight_map")
            if not isinstance(wm, dict):
                ctx.add("MD001", f"{rel} has no 'weight_map' object", rel)
                continue
            bad_paths = {}
            for name, target in wm.items():
                if not isinstance(target, str):
                    ctx.add("MD001", f"{rel}: weight_map entry {name!r} is {target!r}, not a file name", rel, name)
                elif unsafe_path(target):
                    bad_paths.setdefault(target, name)
            for target, name in bad_paths.items():
                ctx.add("MD002", f"{rel} maps {name!r} to {target!r}, a path outside the repository", rel, name)
            meta = obj.get("metadata")
            if meta is not None and not isinstance(meta, dict):
                ctx.add("MD001", f"{rel}: 'metadata' is not an object", rel)
    md002_files = {r[2] for r in ctx.raw if r[0] == "MD002"}
    for p in ctx.problems:
        if p.code == "IX000" and p.file not in md002_files and p.file not in {r[2] for r in ctx.raw if r[0] == "MD001"}:
            ctx.add("MD001", f"{p.file} {p.message}", p.file)
        elif p.code == "TK000":  # the tokenizer reader (or the tokenizers library) rejected a tokenizer file
            f = p.file.rsplit("/", 1)[-1] if p.file else "tokenizer.json"
            if f not in lfs and not any(r[0] == "MD001" and r[2] == f for r in ctx.raw):
                ctx.add("MD001", f"{f} {p.message}", f)
    if not ctx.single and "config.json" not in files and (ctx.ck.headers or index_files(files)) and \
            getattr(ctx.ck, "kind", None) not in ("peft", "diffusers", "onnx"):  # their configs live elsewhere
        ctx.add("MD003", "safetensors weights but no config.json: transformers cannot load this repository",
                None)


def start_tokenizer_verify(ctx):
    """Load tokenizer.json with the ``tokenizers`` library in a thread (it releases the GIL) while the other rules
    run; :func:`finish_tokenizer_verify` adds MD001 when the library rejects a file ckptscope's reader accepted
    (what users load must load). None when there is nothing to verify."""
    tok = ctx.ck.tokenizer
    if tok is None or tok.source != "tokenizer.json":
        return None
    from concurrent.futures import ThreadPoolExecutor

    from ..readers.tokenizer import verify_with_tokenizers

    try:
        data = ctx.ck.source.read_file("tokenizer.json")
    except Exception:  # noqa: BLE001 - read problems are reported by the reader's own finding
        return None
    ex = ThreadPoolExecutor(max_workers=1)
    fut = ex.submit(verify_with_tokenizers, data)
    ex.shutdown(wait=False)
    return fut


def finish_tokenizer_verify(ctx, fut) -> None:
    if fut is None or any(r[0] == "ST011" and r[2] == "tokenizer.json" for r in ctx.raw):
        return
    why = fut.result()
    if why:
        ctx.add("MD001", f"tokenizer.json {why}", "tokenizer.json")
