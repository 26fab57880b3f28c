"""Byte and count formatting. GB = 10^9 bytes, GiB = 2^30 bytes; we print both where people compare."""

from __future__ import annotations

GB = 10**9
GiB = 2**30


def gb(n: float) -> float:
    return n / GB


def gib(n: float) -> float:
    return n / GiB


def human_bytes(n: float, both: bool = True) -> str:
    """``"404.43 GB (376.66 GiB)"``; small sizes in MB/KB."""
    if n >= 10**9:
        s = f"{n / GB:,.2f} GB"
        return f"{s} ({n / GiB:,.2f} GiB)" if both else s
    if n >= 10**6:
        s = f"{n / 10**6:,.2f} MB"
        return f"{s} ({n / 2**20:,.2f} MiB)" if both else s
    if n >= 10**3:
        return f"{n / 10**3:,.2f} KB"
    return f"{int(n)} B"


def human_count(n: float) -> str:
    """``671.03B``, ``7.62B``, ``22.7M``, ``384``."""
    for div, suf in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if abs(n) >= div:
            return f"{n / div:,.2f}{suf}"
    return f"{int(n)}"


def parse_size(text: str) -> int:
    """Parse ``80GB``, ``80GiB``, ``141G``, ``24gb``, ``1.5TB`` into bytes (GB decimal, GiB binary)."""
    t = text.strip().lower().replace(" ", "")
    units = [("tib", 2**40), ("gib", 2**30), ("mib", 2**20), ("kib", 2**10),
             ("tb", 10**12), ("gb", 10**9), ("mb", 10**6), ("kb", 10**3),
             ("t", 10**12), ("g", 10**9), ("m", 10**6), ("k", 10**3), ("b", 1)]
    for suf, mul in units:
        if t.endswith(suf):
            num = t[: -len(suf)]
            return int(float(num) * mul)
    return int(float(t))
