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


def _verify_job(data: bytes):
    from .. import background
    from ..readers.tokenizer import verify_with_tokenizers

    return background.start(verify_with_tokenizers, data)


def prestart_tokenizer_verify(source):
    """Start MD001's ``tokenizers``-library load of a local tokenizer.json before the checkpoint is read, so that
    it runs beside the header reading and the other rules (in a forked child: the library holds the GIL, so a
    thread would run after them, not beside them). None when there is no such file or it cannot be read (the
    reader reports that). :func:`start_tokenizer_verify` takes the job over or cancels it."""
    if getattr(source, "kind", None) != "local" or not getattr(source, "root", None):
        return None
    import os

    if not os.path.isfile(os.path.join(source.root, "tokenizer.json")):
        return None
    try:
        data = source.read_file("tokenizer.json")
    except Exception:  # noqa: BLE001 - read problems are reported by the reader's own finding
        return None
    return _verify_job(data) if data else None


def discard_tokenizer_verify(job) -> None:
    if job is not None:
        job.cancel()


def start_tokenizer_verify(ctx):
    """The job loading tokenizer.json with the ``tokenizers`` library while the other rules run (the one
    :func:`prestart_tokenizer_verify` started, or a new one); :func:`finish_tokenizer_verify` adds MD001 when the
    library rejects a file ckptscope's reader accepted (what users load must load). None when there is nothing
    to verify."""
    pre = getattr(ctx.ck, "_tokenizer_job", None)
    ctx.ck._tokenizer_job = None
    tok = ctx.ck.tokenizer
    if tok is None or tok.source != "tokenizer.json":
        discard_tokenizer_verify(pre)
        return None
    if pre is not None:
        return pre
    try:
        data = ctx.ck.source.read_file("tokenizer.json")
    except Exception:  # noqa: BLE001 - read problems are reported by the reader's own finding
        return None
    return _verify_job(data) if data else None


def finish_tokenizer_verify(ctx, job) -> None:
    if job is None:
        return
    if any(r[0] == "ST011" and r[2] == "tokenizer.json" for r in ctx.raw):
        job.cancel()
        return
    try:
        why = job.result()
    except RuntimeError as e:  # the side job itself failed (not the library's verdict): say so, fail closed
        why = f"could not be verified with the tokenizers library ({str(e)[:120]})"
    if why and (why.startswith("crashed") or why.startswith("did not finish")):
        why = f"could not be loaded: the tokenizers library {why} while loading it"
    if why:
        ctx.add("MD001", f"tokenizer.json {why}", "tokenizer.json")
