"""Where a scan's repo ids come from: a Hub listing (``--author``, ``--search``) or a file of ids (``--from``).

Each yields ``(repo_id, sha)`` lazily, one at a time (the listing pages are fetched as the scan goes), so nothing
here grows with the number of repos. ``sha`` is the commit the listing reports (``expand=["sha"]``), or None
for ids from a file.
"""

from __future__ import annotations

import re
import time
from typing import Iterator

from ..errors import CkptError, SourceError


RETRY_AFTER_MAX = 600  #: longest Retry-After honoured in full (seconds)


_RATELIMIT_T = re.compile(r";\s*t=(\d+)")


def server_wait(headers) -> int | None:
    """Seconds the server asks a client to wait: ``Retry-After: N``, else the Hub's ``RateLimit: "api";r=0;t=N``
    (IETF draft-ietf-httpapi-ratelimit-headers: t = seconds until the window resets)."""
    v = headers.get("Retry-After")
    if v and v.strip().isdigit():
        return int(v.strip())
    m = _RATELIMIT_T.search(headers.get("RateLimit") or "")
    return int(m.group(1)) if m else None


class ListingError(CkptError):
    """The list of repos itself could not be read (exit 2)."""


def from_hub(author: str | None, search: str | None, token: str | None = None,
             limit: int | None = None) -> Iterator[tuple[str, str | None]]:
    """The Hub's models listing (``GET /api/models?author=&search=&expand=sha``, what ``HfApi.list_models`` asks),
    page by page along the ``Link: rel="next"`` header: every model id with its current commit.

    Read with huggingface_hub's session, headers and errors; 429 and 5xx are retried honouring Retry-After, and a
    Hub that cannot be reached fails at once (huggingface_hub's own backoff would wait half a minute)."""
    from huggingface_hub import get_session
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status

    from .. import __version__
    from ..sources.hub import (MAX_TRIES, RETRY_STATUS, TIMEOUT, HubEnv, _backoff, _transient_types,
                               _unreachable_types, translate_error)

    env = HubEnv.current(token)
    if env.offline:
        raise ListingError("a Hub listing needs the network (HF_HUB_OFFLINE is set); use --from FILE with ids")
    what = " ".join(x for x in (f"author={author}" if author else "", f"search={search!r}" if search else "") if x)
    headers = build_hf_headers(token=env.token or False, library_name="ckptscope", library_version=__version__)
    url: str | None = f"{env.endpoint}/api/models"
    params: dict | None = {k: v for k, v in (("author", author), ("search", search), ("expand", "sha")) if v}
    if limit:
        params["limit"] = limit
    n = 0
    while url is not None:
        for attempt in range(MAX_TRIES):
            try:
                r = get_session().get(url, params=params, headers=headers, timeout=TIMEOUT)
                if r.status_code in RETRY_STATUS and attempt < MAX_TRIES - 1:
                    wait_s = server_wait(r.headers)
                    if wait_s is not None:  # the whole wait the Hub asks for (its windows are 5 minutes)
                        time.sleep(min(RETRY_AFTER_MAX, wait_s))
                    else:
                        _backoff(attempt)
                    continue
                hf_raise_for_status(r)
                page = r.json()
                break
            except _unreachable_types() as e:
                raise ListingError(f"cannot reach the Hub at {env.endpoint} ({str(e)[:120]})",
                                   f"models listing ({what})") from None
            except _transient_types():
                if attempt < MAX_TRIES - 1:
                    _backoff(attempt)
                    continue
                raise ListingError(f"the connection to {env.endpoint} kept failing", f"models listing ({what})")
            except ValueError:
                raise ListingError(f"{env.endpoint} did not answer JSON; check HF_ENDPOINT",
                                   f"models listing ({what})") from None
            except CkptError:
                raise
            except Exception as e:  # noqa: BLE001 - HTTP errors, one line
                err = translate_error(e, f"models listing ({what})", None, env, "the models listing")
                raise ListingError(err.message, err.file) from None
        if not isinstance(page, list):
            raise ListingError("the models listing is not a JSON list; check HF_ENDPOINT", f"models listing ({what})")
        for m in page:
            rid = m.get("id") or m.get("modelId") if isinstance(m, dict) else None
            if not isinstance(rid, str):
                continue
            sha = m.get("sha")
            yield rid, sha if isinstance(sha, str) else None
            n += 1
            if limit and n >= limit:
                return
        url = (r.links.get("next") or {}).get("url")
        params = None  # the next link carries the query


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
