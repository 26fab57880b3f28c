"""Snapshot files: everything inspect needs from a checkpoint, in one small compressed file.

(Filled in by the Hub issue; until then a file is never a snapshot.)
"""

from __future__ import annotations


def is_snapshot_file(path: str) -> bool:
    return False


class SnapshotSource:  # pragma: no cover - placeholder until the snapshot format lands
    def __init__(self, path: str) -> None:
        raise NotImplementedError
