"""The bundled catalog: snapshots of well-known checkpoints shipped in ``ckptscope/catalog/``.

``inspect ORG/NAME`` falls back to it when the Hub cannot be reached (or ``--offline`` and nothing is cached), and
says so. Files are named ``ORG__NAME.ckpt.gz``; each carries its ``provenance`` ("read" from the real files, or
"reconstructed" from the real config.json with the architecture rules, never presented as a download).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..provenance import CATALOG_LABEL
from .snapshot import SnapshotSource, load

CATALOG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "catalog")
SUFFIX = ".ckpt.gz"


@dataclass(frozen=True)
class CatalogEntry:
    repo_id: str
    path: str

    @property
    def revision(self) -> str | None:
        return (load(self.path).get("source") or {}).get("revision")


def entries() -> dict[str, CatalogEntry]:
    out = {}
    try:
        names = sorted(os.listdir(CATALOG_DIR))
    except OSError:
        return {}
    for fn in names:
        if fn.endswith(SUFFIX) and "__" in fn:
            repo = fn[: -len(SUFFIX)].replace("__", "/", 1)
            out[repo] = CatalogEntry(repo, os.path.join(CATALOG_DIR, fn))
    return out


def names() -> list[str]:
    return sorted(entries())


def find(repo_id: str) -> CatalogEntry | None:
    ents = entries()
    if repo_id in ents:
        return ents[repo_id]
    low = {k.lower(): v for k, v in ents.items()}
    return low.get(repo_id.lower())


class CatalogSource(SnapshotSource):
    kind = "catalog"

    def __init__(self, entry: CatalogEntry, why: str) -> None:
        super().__init__(entry.path)
        self.display = entry.repo_id
        prov = self.provenance
        how = prov.get("kind", "?")
        what = ("RECONSTRUCTED headers (built from the real config.json with the architecture rules, not "
                "downloaded)" if how == "reconstructed" else f"headers read from the real files on {self.snap.get('created')}")
        self.notes.insert(0, f"{why}: every number here is {CATALOG_LABEL} (ckptscope's BUNDLED CATALOG "
                             f"snapshot of {entry.repo_id}: {what}"
                          + (f"; {prov['note']}" if prov.get("note") else "") + ")")

    def describe(self) -> dict:
        d = super().describe()
        d["catalog"] = True
        d["provenance_label"] = CATALOG_LABEL
        return d


def open_entry(entry: CatalogEntry, why: str) -> CatalogSource:
    return CatalogSource(entry, why)
