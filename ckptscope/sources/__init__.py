"""Sources know where bytes come from (local path, Hub repo, snapshot file) and nothing else.

``open_source(spec)`` picks one: an existing path is local (a snapshot file if it is one), anything shaped like
``org/name[@rev]`` or a Hub URL is the Hub.
"""

from __future__ import annotations

import os

from ..errors import SourceError
from .base import Source


def open_source(spec: str, *, revision: str | None = None, token: str | None = None,
                offline: bool | None = None, quiet: bool = True, catalog: bool = False,
                timeout: float | None = None, pickles: bool = False) -> Source:
    path = os.path.expanduser(spec)
    if os.path.exists(path) and not (os.path.isfile(path) or os.path.isdir(path)):
        from ..limits import not_regular

        raise SourceError(f"is {not_regular(os.stat(path).st_mode)}, not a file or folder; refused", path)
    if os.path.exists(path) and catalog:
        raise SourceError("--catalog is for Hub repo ids (ORG/NAME); this is a local path", spec)
    if os.path.exists(path):
        if os.path.isfile(path):
            from . import snapshot

            if snapshot.is_snapshot_file(path):
                return snapshot.SnapshotSource(path)
        from .local import LocalSource

        return LocalSource(path)
    try:
        from .hub import HubSource, parse_repo_spec
    except ImportError:  # pragma: no cover - the hub module lands with the Hub issue
        raise SourceError("no such file or folder", spec) from None
    from .hub_gguf import split_selector

    base, selector = split_selector(spec)  # ORG/NAME:Q4_K_M, ORG/NAME/file.gguf, a resolve/blob URL
    repo = parse_repo_spec(base)
    if repo is None:
        raise SourceError("no such file or folder, and not a Hub repo id (expected ORG/NAME)", spec)
    src = HubSource.open(base, revision=revision, token=token, offline=offline, quiet=quiet, catalog=catalog,
                         timeout=timeout, pickles=pickles)
    if selector:
        src.gguf_select = selector  # type: ignore[attr-defined]
    return src


__all__ = ["Source", "open_source"]
