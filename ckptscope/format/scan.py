"""The table `ckptscope scan` prints at the end (the records themselves are JSONL)."""

from __future__ import annotations

from ..units import human_bytes, human_count


def render_summary(s, color: bool = False) -> str:
    d = s.to_dict() if hasattr(s, "to_dict") else s
    total = d["scanned"] + d["skipped"]
    rows = [("repos", f"{total:,}"), ("scanned now", f"{d['scanned']:,}"),
            ("skipped (unchanged, --resume)", f"{d['skipped']:,}" + (f" ({d['skipped_flagged']:,} flagged before)"
                                                                     if d["skipped_flagged"] else "")),
            ("clean", f"{d['clean']:,}"), ("warnings only", f"{d['warnings']:,}"),
            ("error findings", f"{d['errors']:,}"), ("could not be read", f"{d['failed']:,}"),
            ("parameters (scanned)", human_count(d["parameters"])), ("tensor bytes (scanned)", human_bytes(d["bytes"])),
            ("requests / bytes read", f"{d['requests']:,} / {human_bytes(d['bytes_read'])}"),
            ("time", f"{d['seconds']:.1f} s")]
    w = max(len(k) for k, _ in rows)
    lines = ["ckptscope scan"] + [f"  {k:<{w}}  {v}" for k, v in rows]
    if d["rules"]:
        lines.append("  rules fired (repos): " + ", ".join(f"{r} {n}" for r, n in d["rules"].items()))
    if d["flagged"]:
        lines.append("flagged:")
        for repo, why in d["flagged"]:
            lines.append(f"  {repo}: {_clean(why)[:160]}")
        more = d["errors"] + d["failed"] - len(d["flagged"])
        if more > 0:
            lines.append(f"  ... and {more:,} more (see the records)")
    lines.append("result: " + ("every repo clean" if not d["exit_code"] else "some repos flagged (exit 1)"))
    return "\n".join(lines) + "\n"


def _clean(s: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(s))
