"""Scanning a file that is not here (the Hub) with range reads: only the bytes the scan touches are fetched.

:class:`RangeBuffer` looks like ``bytes`` to the scanner (indexing, slicing, ``find``, ``rfind``, ``len``) and
fetches aligned blocks on demand, so a torch zip costs its first block, its central directory and the pickle
members' bytes; tensor data is never downloaded. The total download is bounded; past the bound the scan stops
with an unverifiable finding (an error), never a pass.
"""

from __future__ import annotations

from .opcodes import Unverifiable
from .scan import ScanResult, _run

BLOCK = 64 << 10


class RangeBuffer:
    lazy = True

    def __init__(self, fetch, size: int, max_bytes: int):
        self.fetch, self.size, self.max_bytes = fetch, size, max_bytes
        self.blocks: dict[int, bytes] = {}
        self.fetched = 0
        self.requests = 0

    def __len__(self) -> int:
        return self.size

    def _block(self, i: int) -> bytes:
        b = self.blocks.get(i)
        if b is None:
            start = i * BLOCK
            end = min(self.size, start + BLOCK)
            if self.fetched + (end - start) > self.max_bytes:
                raise Unverifiable(f"the scan would download more than {self.max_bytes:,} bytes of this file (the bound)",
                                   start)
            b = self.fetch(start, end)
            self.requests += 1
            self.fetched += len(b)
            if len(b) != end - start:
                raise Unverifiable(f"range read of bytes {start:,}-{end:,} returned {len(b):,} bytes", start)
            self.blocks[i] = b
        return b

    def prefetch(self, start: int, end: int) -> None:
        """One request for a contiguous span (a pickle member) instead of one per block."""
        start, end = max(0, start), min(self.size, end)
        first, last = start // BLOCK, (end - 1) // BLOCK
        missing = [i for i in range(first, last + 1) if i not in self.blocks]
        if len(missing) < 2:
            return
        a, b = missing[0] * BLOCK, min(self.size, (missing[-1] + 1) * BLOCK)
        if self.fetched + (b - a) > self.max_bytes:
            raise Unverifiable(f"the scan would download more than {self.max_bytes:,} bytes of this file (the bound)", a)
        data = self.fetch(a, b)
        self.requests += 1
        self.fetched += len(data)
        if len(data) != b - a:
            raise Unverifiable(f"range read of bytes {a:,}-{b:,} returned {len(data):,} bytes", a)
        for i in range(missing[0], missing[-1] + 1):
            self.blocks.setdefault(i, data[(i - missing[0]) * BLOCK:(i - missing[0] + 1) * BLOCK])

    def __getitem__(self, k):
        if isinstance(k, slice):
            start, stop, _ = k.indices(self.size)
            if stop <= start:
                return b""
            if stop - start > 2 * BLOCK:
                self.prefetch(start, stop)
            out = []
            i = start
            while i < stop:
                blk = self._block(i // BLOCK)
                off = i % BLOCK
                take = min(stop - i, len(blk) - off)
                out.append(blk[off:off + take])
                i += take
            return b"".join(out)
        if k < 0:
            k += self.size
        if not 0 <= k < self.size:
            raise IndexError(k)
        return self._block(k // BLOCK)[k % BLOCK]

    def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        end = self.size if end is None else min(end, self.size)
        i = start
        while i < end:
            j = min(end, (i // BLOCK + 1) * BLOCK + len(sub) - 1)
            chunk = self[i:j]
            r = chunk.find(sub)
            if r >= 0:
                return i + r
            i = (i // BLOCK + 1) * BLOCK
        return -1

    def rfind(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        end = self.size if end is None else min(end, self.size)
        r = self[start:end].rfind(sub)
        return -1 if r < 0 else start + r


def scan_remote(fetch, size: int, display: str, max_bytes: int, skip=None) -> tuple[ScanResult | None, int]:
    """Scan a remote file through ``fetch(start, end) -> bytes``. Returns (result or None when the file is not
    pickle-based, bytes downloaded)."""
    from .containers import SNIFF_BYTES, sniff

    head = fetch(0, min(size, SNIFF_BYTES))  # a small first read decides whether to look any further
    if (skip is not None and skip(head)) or sniff(head) is None:
        return None, len(head)
    buf = RangeBuffer(fetch, size, max_bytes)
    buf.fetched = len(head)
    res = _run(buf, size, display, None, display.lower().endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl")))
    return (res if res.pickle_based else None), buf.fetched
