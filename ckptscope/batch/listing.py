"""Where a scan's repo ids come from: a Hub listing (``--author``, ``--search``) or a file of ids (``--from``).

Each yields ``(repo_id, sha)`` lazily, one at a time (the listing pages are fetched as the scan goes), so nothing
here grows with the number of repos. ``sha`` is the commit the listing reports (``expand=["sha"]``), or None
for ids from a file.
"""

from __future__ import annotations

from typing import Iterator

from ..errors import CkptError, SourceError


class ListingError(CkptError):
    """The list of repos itself could not be read (exit 2)."""


def from_hub(author: str | None, search: str | None, token: str | None = None,
             limit: int | None = None) -> Iterator[tuple[str, str | None]]:
    """``HfApi.list_models(author=, search=, expand=["sha"])``: every model id with its current commit. The
    huggingface_hub pagination retries 429/5xx with backoff and honours Retry-After."""
    from huggingface_hub import HfApi

    from ..sources.hub import HubEnv, translate_error

    env = HubEnv.current(token)
    if env.offline:
        raise ListingError("a Hub listing needs the network (HF_HUB_OFFLINE is set); use --from FILE with ids")
    api = HfApi(endpoint=env.endpoint, token=env.token or False)
    what = " ".join(x for x in (f"author={author}" if author else "", f"search={search!r}" if search else "") if x)
    try:
        for m in api.list_models(author=author, search=search, expand=["sha"], limit=limit):
            yield m.id, getattr(m, "sha", None)
    except CkptError:
        raise
    except Exception as e:  # noqa: BLE001 - one line naming the listing
        err = translate_error(e, f"models listing ({what})", None, env, "the models listing")
        raise ListingError(err.message, err.file) from None


def from_file(path: str, limit: int | None = None) -> Iterator[tuple[str, str | None]]:
    """Repo ids one a line (``ORG/NAME``; blank lines and ``#`` comments skipped), read line by line."""
    from ..sources.hub import parse_repo_spec

    try:
        fh = open(path, encoding="utf-8")
    except OSError as e:
        raise ListingError(f"cannot read ({e.strerror or e})", path) from None
    n = 0
    with fh:
        try:
            for lineno, line in enumerate(fh, 1):
                s = line.strip()
                if not s or s.startswith("#"):
                    continue
                rs = parse_repo_spec(s)
                if rs is None or rs.revision:
                    raise ListingError(f"line {lineno}: {s[:80]!r} is not a Hub repo id (expected ORG/NAME)", path)
                yield rs.repo_id, None
                n += 1
                if limit is not None and n >= limit:
                    return
        except UnicodeDecodeError:
            raise ListingError("is not UTF-8 text", path) from None


__all__ = ["ListingError", "SourceError", "from_file", "from_hub"]
