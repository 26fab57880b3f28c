"""Where the numbers come from, said the same way in every output.

The bundled catalog holds headers reconstructed from the real config.json with the architecture rules. It is used
only when asked (``--offline`` with nothing cached, or ``--catalog``), and then every output (text, JSON,
markdown, SARIF, JUnit, GitHub annotations, estimate, explain, snapshot provenance) carries :data:`CATALOG_LABEL`.
"""

from __future__ import annotations

CATALOG_LABEL = "reconstructed from the catalog, not read from the Hub"


def label(source) -> str | None:
    """:data:`CATALOG_LABEL` when ``source`` (a Source or its ``describe()`` dict) holds catalog data, else None."""
    d = source if isinstance(source, dict) else None
    kind = d.get("kind") if d is not None else getattr(source, "kind", None)
    prov = (d.get("provenance") if d is not None else getattr(source, "provenance", None)) or {}
    if kind == "catalog" or (isinstance(prov, dict) and prov.get("catalog")):
        return CATALOG_LABEL
    return None
