"""Pickle-based and legacy files: every .bin/.pt/.pth/.ckpt/.pkl file is scanned statically (``pickle_scan``) and
the globals it would import are named: dangerous ones (PK001), ones outside the known-safe set (PK002). Pickled
weights are reported as legacy (PK003 when there are no safetensors weights, PK004 beside them); a pickle that
cannot be walked completely is PK005."""

from __future__ import annotations

import os

from .pickle_scan import PickleScan, classify_global, scan_bytes, scan_file

PICKLE_EXTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")
REMOTE_SCAN_MAX = 64 << 20  #: non-local sources: files above this size are not downloaded to be scanned
LIST_MAX = 8  #: globals named per finding


def _names(gs: list[str]) -> str:
    more = f" and {len(gs) - LIST_MAX} more" if len(gs) > LIST_MAX else ""
    return ", ".join(gs[:LIST_MAX]) + more


def scan(ctx, rel: str, size: int | None) -> PickleScan | None:
    src = ctx.source
    root = getattr(src, "root", None)
    if src.kind == "local" and root:
        try:
            return scan_file(os.path.join(root, *rel.split("/")), rel)
        except OSError as e:
            return PickleScan(rel, "pickle", error=f"cannot read ({e.strerror or e})")
    if size is not None and size > REMOTE_SCAN_MAX:
        ctx.ck.notes.append(f"{rel}: {size:,}-byte pickle file on a remote source not scanned")
        return None
    data = ctx.read(rel)
    return None if data is None else scan_bytes(data, rel)


def run(ctx) -> None:
    if ctx.single or not ctx.on("PK001", "PK002", "PK003", "PK004", "PK005"):
        return
    lfs_or_empty = {r[2] for r in ctx.raw if r[0] in ("ST011", "ST012")}
    has_safetensors = any(f.endswith(".safetensors") for f in ctx.files)
    for rel, size in sorted(ctx.files.items()):
        if not rel.endswith(PICKLE_EXTS) or rel in lfs_or_empty or not size:
            continue
        res = scan(ctx, rel, size)
        if res is None or res.kind == "not-pickle":
            continue
        bad = [g for g in res.globals if classify_global(g) == "dangerous"]
        unknown = [g for g in res.globals if classify_global(g) == "unknown"]
        if bad:
            ctx.add("PK001", f"pickle imports {_names(bad)}: loading it runs arbitrary code", rel)
        if unknown:
            ctx.add("PK002", f"pickle imports {len(unknown)} global{'s' if len(unknown) != 1 else ''} outside "
                             f"the known-safe set: {_names(unknown)}", rel)
        if res.error:
            ctx.add("PK005", f"scan stopped early: {res.error}", rel)
        is_weights = any(g.startswith("torch._utils._rebuild") for g in res.globals) or res.kind == "legacy"
        if is_weights:
            fmt = {"zip": "torch zip", "legacy": "legacy torch"}.get(res.kind, "pickle")
            if has_safetensors:
                ctx.add("PK004", f"{fmt} pickle weights beside safetensors weights", rel)
            else:
                ctx.add("PK003", f"weights are stored only as {fmt} pickles (torch.load runs code from them)", rel)
