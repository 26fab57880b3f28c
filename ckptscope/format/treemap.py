"""Squarified treemap layout (Bruls, Huizing and van Wijk, 2000): geometry only, no numbers of its own.

``squarify(values, x, y, w, h)`` returns one ``(x, y, w, h)`` per value, in the input order, tiling the rectangle
exactly: each rectangle's area is ``value / sum(values)`` of the whole. Zero values get zero-size rectangles.
"""

from __future__ import annotations


def _worst(row: list[float], side: float) -> float:
    s = sum(row)
    if s <= 0 or side <= 0:
        return float("inf")
    mx, mn = max(row), min(row)
    return max(side * side * mx / (s * s), (s * s) / (side * side * mn)) if mn > 0 else float("inf")


def squarify(values: list[float], x: float, y: float, w: float, h: float) -> list[tuple[float, float, float, float]]:
    total = float(sum(v for v in values if v > 0))
    out: list[tuple[float, float, float, float] | None] = [None] * len(values)
    if total <= 0 or w <= 0 or h <= 0:
        return [(x, y, 0.0, 0.0)] * len(values)
    scale = (w * h) / total
    order = sorted((i for i, v in enumerate(values) if v > 0), key=lambda i: -values[i])
    areas = [(i, values[i] * scale) for i in order]
    cx, cy, cw, ch = x, y, w, h
    k = 0
    while k < len(areas):
        side = min(cw, ch)
        row = [areas[k]]
        k += 1
        while k < len(areas):
            cand = row + [areas[k]]
            if _worst([a for _, a in cand], side) <= _worst([a for _, a in row], side):
                row = cand
                k += 1
            else:
                break
        s = sum(a for _, a in row)
        if k >= len(areas):  # the last row fills what is left (no rounding drift)
            s = cw * ch
            scale_last = s / sum(a for _, a in row)
            row = [(i, a * scale_last) for i, a in row]
        if cw >= ch:  # lay the row as a column on the left
            rw = s / ch if ch else 0.0
            yy = cy
            for i, a in row:
                rh = a / rw if rw else 0.0
                out[i] = (cx, yy, rw, rh)
                yy += rh
            cx += rw
            cw -= rw
        else:  # a row along the top
            rh = s / cw if cw else 0.0
            xx = cx
            for i, a in row:
                rw_ = a / rh if rh else 0.0
                out[i] = (xx, cy, rw_, rh)
                xx += rw_
            cy += rh
            ch -= rh
    return [r if r is not None else (x, y, 0.0, 0.0) for r in out]
