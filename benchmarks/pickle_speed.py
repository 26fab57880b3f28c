"""How the pickle scan's time grows with the input (it must be linear): opcode-dense pickles of 1-8 MB of the
shapes that make scanners slow (deep MARK nesting, long memo chains, many globals, DUP runs, long lines), a real
torch.save of a many-tensor state dict when torch is installed. Run: python benchmarks/pickle_speed.py"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from ckptscope.security import scan_bytes  # noqa: E402


def shapes(mb: int) -> dict[str, bytes]:
    n = mb << 20
    return {
        "MARK nesting": b"\x80\x02" + b"(" * (n // 2) + b"N" + b"1" * (n // 2) + b"N.",
        "memo put/get": b"\x80\x04N" + b"\x94h\x00" * (n // 3) + b".",
        "distinct globals": b"\x80\x02" + b"".join(b"cm%d\nf\n0" % i for i in range(n // 10)) + b"N.",
        "DUP then POP": b"\x80\x02N" + b"2" * (n // 2) + b"0" * (n // 2) + b".",
        "long STRING lines": b"\x80\x02" + (b"S'" + b"a" * 65530 + b"'\n0") * (n // 65536) + b"N.",
        "dict of tuples": b"\x80\x02}(" + b"K\x01K\x02\x86K\x03" * (n // 7) + b"u.",
    }


def main() -> int:
    print(f"{'shape':<20} " + " ".join(f"{m:>2} MB (s)" for m in (1, 2, 4, 8)))
    for name in shapes(1):
        row = []
        for mb in (1, 2, 4, 8):
            data = shapes(mb)[name]
            t = time.perf_counter()
            res = scan_bytes(data, "x.pkl")
            row.append(time.perf_counter() - t)
            assert res.pickle_based
        print(f"{name:<20} " + " ".join(f"{x:>9.3f}" for x in row))
    try:
        import torch
    except ImportError:
        return 0
    for n in (5_000, 20_000, 80_000):
        b = io.BytesIO()
        torch.save({f"model.layers.{i}.weight": torch.zeros(1) for i in range(n)}, b)
        data = b.getvalue()
        t = time.perf_counter()
        res = scan_bytes(data, "pytorch_model.bin")
        print(f"torch.save, {n:,} tensors ({len(data) / 2**20:.1f} MB, {res.kind}): {time.perf_counter() - t:.3f} s, "
              f"failed={res.failed()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
