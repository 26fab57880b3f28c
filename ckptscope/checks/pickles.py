"""PK rules: what the security scanner (``ckptscope.security``) finds in pickle-based files, as findings.

Every file of the repository is looked at by content (a few bytes each; safetensors, GGUF and text are
recognised and passed over), whatever its name. For each pickle-based file: imports of known gadgets and
critical constructs (PK001), imports outside the allow-list (PK002), anything the scan could not verify to the
end (PK005) — all three are errors. Pickled weights are reported as legacy (PK003/PK004). Globals allowed on
the command line (``--allow-global``) are listed (PK006) so the output says what was let through.
"""

from __future__ import annotations

import os

from ..security import ScanResult, scan_bytes, scan_path
from ..security.containers import SNIFF_BYTES, sniff

LIST_MAX = 8  #: names per finding
REMOTE_DOWNLOAD_MAX = 256 << 20  #: bytes a remote scan may download (range reads), per file
#: text and weight formats that cannot hold a pickle: never fetched from a remote source to be sniffed
REMOTE_SKIP = (".json", ".md", ".txt", ".safetensors", ".gguf", ".gitattributes", ".py", ".yaml", ".yml", ".png",
               ".jpg", ".jpeg", ".gif", ".svg", ".csv", ".tsv", ".jsonl", ".html", ".css", ".js", ".toml", ".cfg",
               ".ini", ".tiktoken", ".onnx", ".msgpack", ".h5", ".tflite")
KINDS = {"torch-zip": "torch zip", "torch-legacy": "legacy torch", "torch-tar": "legacy torch tar"}


def _names(gs: list[str]) -> str:
    more = f" and {len(gs) - LIST_MAX} more" if len(gs) > LIST_MAX else ""
    return ", ".join(gs[:LIST_MAX]) + more


def _not_pickle(head: bytes, size: int | None) -> bool:
    """safetensors (8-byte length + JSON) and GGUF are recognised before the pickle sniff."""
    if head[:4] == b"GGUF":
        return True
    if len(head) >= 9 and head[8:9] == b"{":
        n = int.from_bytes(head[:8], "little")
        return size is None or 8 + n <= size
    return False


def scan(ctx, rel: str, size: int | None) -> ScanResult | None:
    """The scan of one repository file, or None when it is not pickle-based (or cannot be fetched)."""
    src = ctx.source
    root = getattr(src, "root", None)
    if src.kind == "local" and root:
        path = os.path.join(root, *rel.split("/"))
        try:
            with open(path, "rb") as f:
                head = f.read(SNIFF_BYTES)
            if _not_pickle(head, size) or sniff(head) is None:
                return None
            return scan_path(path, rel)
        except OSError as e:
            r = ScanResult(rel, kind="unreadable")
            from ..security.scan import Problem

            r.problems.append(Problem("unverifiable", rel, 0, f"cannot be read ({e.strerror or e})"))
            return r
    if rel.lower().endswith(REMOTE_SKIP):
        return None
    reader = getattr(src, "read_range", None)
    if reader is not None and size:
        from ..security.remote import scan_remote

        res, fetched = scan_remote(lambda a, b: reader(rel, a, b), size, rel, REMOTE_DOWNLOAD_MAX,
                                   skip=lambda head: _not_pickle(head, size))
        if res is not None:
            ctx.ck.notes.append(f"{rel}: {fetched:,} of {size:,} bytes read by range requests to scan it")
        return res
    data = ctx.read(rel)
    if data is None or _not_pickle(data[:SNIFF_BYTES], len(data)) or sniff(data[:SNIFF_BYTES]) is None:
        return None
    return scan_bytes(data, rel)


def run(ctx) -> None:
    for what in getattr(ctx, "refused_settings", ()):
        ctx.add("PK007", f"repository setting `{what}` ignored: the scanned repository cannot disable or "
                         "downgrade its own pickle checks (only the command line can)")
    if not ctx.on("PK001", "PK002", "PK003", "PK004", "PK005", "PK006"):
        return
    allowed = frozenset(getattr(ctx, "allow_globals", ()) or ())
    lfs_or_empty = {r[2] for r in ctx.raw if r[0] in ("ST011", "ST012")}
    has_safetensors = any(f.endswith(".safetensors") for f in ctx.files)
    files = ctx.files if not ctx.single else {ctx.single: ctx.files.get(ctx.single)}
    for rel, size in sorted(files.items()):
        if rel in lfs_or_empty or not size:
            continue
        res = scan(ctx, rel, size)
        if res is None or not res.pickle_based:
            continue
        report(ctx, rel, res, allowed, has_safetensors)


def report(ctx, rel: str, res: ScanResult, allowed: frozenset, has_safetensors: bool) -> None:
    verdicts = res.verdicts(allowed)
    crit = [v for v in verdicts if v.verdict == "critical"]
    other = [v for v in verdicts if v.verdict == "error"]
    if crit:
        ctx.add("PK001", f"pickle imports {_names([f'{v.name} ({v.why})' for v in crit])}: loading it runs "
                         "arbitrary code", rel)
    for p in res.problems:
        if p.level == "critical":
            ctx.add("PK001", f"{_where(p.where, rel)}{p.message} (byte {p.offset:,})", rel)
    if other:
        ctx.add("PK002", f"pickle imports {len(other)} global{'s' if len(other) != 1 else ''} outside the "
                         f"allow-list: {_names([v.name for v in other])}", rel)
    for p in res.problems:
        if p.level == "unverifiable":
            ctx.add("PK005", f"{_where(p.where, rel)}could not be verified: {p.message} (byte {p.offset:,})", rel)
    for v in verdicts:
        if v.verdict == "cli-allowed":
            ctx.add("PK006", f"{v.name} allowed by --allow-global (imported at {v.where})", rel)
    weights = res.kind in KINDS or any(v.name.startswith("torch._utils._rebuild") for v in verdicts)
    if weights:
        fmt = KINDS.get(res.kind, "pickle")
        if has_safetensors:
            ctx.add("PK004", f"{fmt} pickle weights beside safetensors weights", rel)
        else:
            ctx.add("PK003", f"weights are stored only as {fmt} pickles (torch.load runs code from them)", rel)


def _where(where: str, rel: str) -> str:
    return "" if where == rel else f"{where[len(rel) + 1:] if where.startswith(rel + '!') else where}: "
