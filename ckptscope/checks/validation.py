"""What the readers refused before any rule ran: config.json fields out of bounds (CF020, from
readers/validate_config.py) and metadata files refused by the bounded reader (MD010, from limits.py)."""

from __future__ import annotations

CODES = ("CF020", "MD010")


def run(ctx) -> None:
    for p in ctx.problems:
        if p.code in CODES:
            ctx.add(p.code, p.message, p.file, p.tensor)
