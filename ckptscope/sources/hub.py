"""A Hugging Face Hub repo, read through ``huggingface_hub``: headers only, as few requests and bytes as possible.

- Repo ids: ``org/name``, ``org/name@rev``, ``https://huggingface.co/org/name[/tree/rev]``; ``--revision`` (branch,
  tag or commit) is resolved to a commit once (``self.revision``) and everything after reads that commit.
- Token (``--token``, ``HF_TOKEN``, the saved login), ``HF_ENDPOINT`` (mirrors, the tests' stand-in),
  ``HF_HUB_OFFLINE`` and the ``huggingface_hub`` file cache are honoured; the environment is read at call time.
- Small files (config, generation config, index, tokenizer config) go through the ``huggingface_hub`` cache,
  fetched together when the repo is opened; ``tokenizer.json`` only when the tokenizer check asks for it.
- Headers: the Hub's one-request sharded-metadata endpoint when the default branch is read; otherwise one ranged
  GET per shard sized to the header it will find (estimated from the index's tensor names and calibrated on the
  first shard), a second ranged GET only when the header turns out longer; a bounded thread pool, retries with
  backoff on 429/5xx/timeouts/dropped connections, and never more than the needed bytes read from a server that
  ignores ``Range``.
- Without the network (``--offline``, ``HF_HUB_OFFLINE``, or the Hub unreachable): the ``huggingface_hub`` cache
  when it holds the weights, then ckptscope's own header cache (written on every successful read), then the
  bundled catalog of snapshots, each time saying so in the notes.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from ..errors import CkptError, SourceError
from ..limits import cap_for, read_bounded
from ..readers.safetensors import HeaderInfo, parse_header
from . import waiting
from .base import Source
from .hub_ranges import MAX_WORKERS  # noqa: F401 - importable from here as before

DEFAULT_HOSTS = ("huggingface.co", "www.huggingface.co", "hf.co")
RETRY_STATUS = (408, 429, 500, 502, 503, 504)
MAX_TRIES = 5
PROGRESS_MIN_SHARDS = 8
PICKLE_EXTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl")  #: pickle-based weight files ``check`` scans remotely
TIMEOUT = float(os.environ.get("HF_HUB_DOWNLOAD_TIMEOUT") or 20)  #: per request (waiting.Deadline caps it)
#: files read when a repo is opened, together (the loader reads them first)
PREFETCH = ("config.json", "generation_config.json", "tokenizer_config.json")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class RepoSpec:
    repo_id: str
    revision: str | None = None


def parse_repo_spec(spec: str) -> RepoSpec | None:
    """``org/name``, ``org/name@rev`` or a Hub URL -> RepoSpec; None when ``spec`` is none of those."""
    s = spec.strip()
    if "://" in s or s.startswith(tuple(h + "/" for h in DEFAULT_HOSTS)):
        u = urlsplit(s if "://" in s else "https://" + s)
        hosts = set(DEFAULT_HOSTS)
        ep = os.environ.get("HF_ENDPOINT")
        if ep:
            hosts.add(urlsplit(ep).netloc)
        if u.netloc not in hosts and u.hostname not in hosts:
            return None
        parts = [unquote(p) for p in u.path.split("/") if p]
        if parts and parts[0] == "models":
            parts = parts[1:]
        if len(parts) < 2 or parts[0] in ("datasets", "spaces", "api"):
            return None
        rev = parts[3] if len(parts) >= 4 and parts[2] in ("tree", "blob", "resolve", "commit") else None
        repo = f"{parts[0]}/{parts[1]}"
        return RepoSpec(repo, rev) if _ID.match(repo) else None
    rev = None
    if "@" in s:
        s, rev = s.split("@", 1)
        if not rev:
            return None
    if not _ID.match(s) or ".." in s or "--" in s:
        return None
    return RepoSpec(s, rev)


# ------------------------------------------------------------------------------------------------ environment

@dataclass
class HubEnv:
    endpoint: str
    cache_dir: str  #: huggingface_hub's file cache (HF_HUB_CACHE)
    ckpt_cache: str  #: ckptscope's header cache
    offline: bool
    token: str | None

    @classmethod
    def current(cls, token: str | None = None) -> "HubEnv":
        """Read the environment now (huggingface_hub's constants are frozen at its import)."""
        from huggingface_hub import constants

        env = os.environ
        endpoint = (env.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
        hf_home = os.path.expanduser(env.get("HF_HOME") or constants.HF_HOME)
        cache = os.path.expanduser(env.get("HF_HUB_CACHE") or (os.path.join(env["HF_HOME"], "hub")
                                                                if env.get("HF_HOME") else constants.HF_HUB_CACHE))
        ck = os.path.expanduser(env.get("CKPTSCOPE_CACHE") or os.path.join(hf_home, "ckptscope"))
        off = env.get("HF_HUB_OFFLINE")
        offline = (off.upper() in ("1", "ON", "YES", "TRUE")) if off is not None else bool(constants.HF_HUB_OFFLINE)
        if token is None:
            token = env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN")
            if token is None:
                tpath = env.get("HF_TOKEN_PATH") or os.path.join(hf_home, "token")
                try:
                    with open(tpath) as f:
                        token = f.read().strip() or None
                except OSError:
                    token = None
        return cls(endpoint, cache, ck, offline, token or None)


def _unreachable_types():
    import httpx2
    from huggingface_hub.errors import OfflineModeIsEnabled

    return (httpx2.ConnectError, httpx2.ConnectTimeout, OfflineModeIsEnabled)


def _transient_types():
    import httpx2

    return (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError)


def _short(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return (s[0] if s else type(e).__name__)[:160]


def _status(e: BaseException) -> int | None:
    r = getattr(e, "response", None)
    return getattr(r, "status_code", None)


def _retry_after(e: BaseException) -> float | None:
    r = getattr(e, "response", None)
    v = r.headers.get("Retry-After") if r is not None else None
    try:
        return max(0.0, float(v)) if v is not None else None
    except ValueError:
        return None


def _backoff(attempt: int, hint: float | None = None, deadline: "waiting.Deadline | None" = None,
             indicator: "waiting.Indicator | None" = None, why: str = "") -> None:
    """Sleep before retry ``attempt + 2``: never past the deadline; one short line on a terminal."""
    pause = min(8.0, hint if hint is not None else 0.25 * (2 ** attempt))
    if deadline is not None:
        deadline.check(why)
        pause = min(pause, max(0.0, deadline.remaining()))
    if indicator is not None:
        indicator.retry(f"retrying{' ' + why if why else ''} (attempt {attempt + 2} of {MAX_TRIES})")
    time.sleep(pause)


class _Unreachable(Exception):
    pass


# ------------------------------------------------------------------------------------------------ the source

class HubSource(Source):
    kind = "hub"

    def __init__(self, repo_id: str, requested: str | None, info, env: HubEnv, quiet: bool = True,
                 deadline: "waiting.Deadline | None" = None, indicator: "waiting.Indicator | None" = None) -> None:
        super().__init__()
        self.deadline = deadline or waiting.Deadline(None, env.endpoint, repo_id)
        self.indicator = indicator or waiting.Indicator(env.endpoint, enabled=not quiet)
        self.repo_id = repo_id
        self.requested_revision = requested
        self.revision = info.sha
        self.env = env
        self.quiet = quiet
        self.display = repo_id
        self.info = info
        self.gated = info.gated
        self._files: dict[str, int | None] = {}
        self._blob_ids: dict[str, str] = {}  #: git blob ids of the small (non-LFS) files, from the listing
        for s in info.siblings or []:
            size = s.lfs.size if s.lfs is not None else s.size
            self._files[s.rfilename] = size
            if s.lfs is None and s.blob_id:
                self._blob_ids[s.rfilename] = s.blob_id
        self._text: dict[str, bytes] = {}
        self._errors: dict[str, CkptError] = {}
        self._lock = threading.Lock()
        self._endpoint_lock = threading.Lock()
        self._header_cache_written = False
        self.header_method = None
        #: read the repo's own index file even when the sharded-metadata endpoint answers (``check`` sets it: it
        #: holds the index against the shards; inspect takes the shard list from the endpoint's answer)
        self.fetch_index = False
        self._endpoint: dict | None | bool = False  #: the endpoint's parsed answer; None: it did not serve
        self.header_bytes = 0  #: 8 + header length, summed over the shards read with ranged requests
        self.notes.append(f"{repo_id} @ {requested or 'main'} is commit {self.revision}")

    # --- opening --------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, spec: str, revision: str | None = None, token: str | None = None, offline: bool | None = None,
             quiet: bool = True, catalog: bool = False, timeout: float | None = None,
             pickles: bool = False) -> Source:
        """``pickles``: a repo whose only weights are pickle-based files is opened (``check`` scans them by range
        reads); otherwise it is refused here, before anything else is downloaded."""
        rs = parse_repo_spec(spec)
        if rs is None:
            raise SourceError("not a Hub repo id (expected ORG/NAME, ORG/NAME@REVISION or a huggingface.co URL)", spec)
        if revision and rs.revision and revision != rs.revision:
            raise SourceError(f"two revisions given (@{rs.revision} and --revision {revision})", spec)
        rev = revision or rs.revision
        env = HubEnv.current(token)
        if catalog:  # asked for explicitly: the bundled catalog, no network
            return open_catalog(rs.repo_id, rev)
        if offline or env.offline:
            why = "offline mode (--offline)" if offline else "offline mode (HF_HUB_OFFLINE is set)"
            return open_offline(rs.repo_id, rev, env, why, quiet=quiet)
        waiting.quiet_libraries()
        deadline = waiting.Deadline(timeout, env.endpoint, rs.repo_id)
        indicator = waiting.Indicator(env.endpoint, enabled=not quiet)
        try:
            with indicator:
                info, reqs, nbytes = _model_info(rs.repo_id, rev, env, deadline, indicator)
        except _Unreachable as e:
            return open_offline(rs.repo_id, rev, env, f"the Hub at {env.endpoint} cannot be reached ({e})",
                                quiet=quiet, network=True)
        src = cls(rs.repo_id, rev, info, env, quiet=quiet, deadline=deadline, indicator=indicator)
        src.stats.requests += reqs
        src.stats.bytes += nbytes
        src._check_weights(pickles)
        with indicator:
            src._prefetch()
        return src

    def _check_weights(self, pickles: bool = False) -> None:
        names = list(self._files)
        if any("/" not in n and n.endswith(".safetensors") for n in names):
            return
        pickled = sorted(n for n in names if "/" not in n and n.lower().endswith(PICKLE_EXTS))
        if pickles and pickled:  # check: the pickles are the weights; scanned by range reads, never loaded
            return
        if any(n.lower().endswith(".gguf") for n in names):  # a GGUF repo: sources/hub_gguf.py reads it
            return
        from ..kinds import has_onnx

        if "model_index.json" in self._files or has_onnx(names) or (
                "modules.json" in self._files and any(n.endswith(".safetensors") for n in names)):
            return  # a Diffusers pipeline, an ONNX repo, Sentence Transformers modules (ckptscope.kinds)
        at = f"{self.repo_id}@{self.revision[:7]}"
        sub = sorted({n.split("/")[0] + "/" for n in names if "/" in n and n.endswith(".safetensors")})
        by_ext: dict[str, int] = {}
        for n in names:
            for ext in (".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".h5", ".msgpack", ".pkl", ".npz"):
                if n.endswith(ext):
                    by_ext[ext] = by_ext.get(ext, 0) + 1
        found = ", ".join(f"{k} x{v}" for k, v in sorted(by_ext.items()))
        if sub:
            msg = f"no safetensors weights at the top level; safetensors only under {', '.join(sub[:5])}"
        elif found:
            msg = f"no safetensors weights: the repo has {found} (ckptscope reads safetensors headers only)"
        else:
            msg = f"no weight files at all ({len(names)} files: {', '.join(sorted(names)[:6])}" + \
                  (", ..." if len(names) > 6 else "") + ")"
        raise SourceError(msg, at)

    # --- files ------------------------------------------------------------------------------------------------
    def list_files(self) -> dict[str, int | None]:
        return dict(self._files)

    def _index_name(self) -> str | None:
        idx = sorted(f for f in self._files if "/" not in f and f.endswith(".safetensors.index.json"))
        if "model.safetensors.index.json" in idx:
            return "model.safetensors.index.json"
        return idx[0] if idx else None

    def _endpoint_eligible(self) -> bool:
        return self.requested_revision in (None, "main") and self._index_name() is not None

    def _prefetch(self) -> None:
        want = [f for f in PREFETCH if f in self._files]
        idx = self._index_name()
        ask_endpoint = idx is not None and self._endpoint_eligible()
        if idx and not ask_endpoint:
            want.append(idx)
        if not want and not ask_endpoint:
            return
        with ThreadPoolExecutor(max_workers=len(want) + 1) as ex:
            futs = {ex.submit(self._download, f): f for f in want}
            if ask_endpoint:  # every shard header and the index metadata in one request, beside the small files
                ex.submit(self._endpoint_or_index)
            for fut in as_completed(futs):
                try:
                    fut.result()
                except CkptError as e:
                    if "gated" in e.message or "not found" in e.message.split(";")[0]:
                        raise
                    self._errors[futs[fut]] = e
        if idx in self._text and not ask_endpoint:
            self._start_header_job()  # the headers download while the loader reads the config and the index

    def _endpoint_or_index(self) -> None:
        """The sharded-metadata answer; where the endpoint does not serve, the index at once and the shard
        headers after it, in the background (the loader will ask for both)."""
        if self._endpoint_answer() is not None:
            return
        try:
            self._download(self._index_name())
        except CkptError as e:
            self._errors[self._index_name()] = e
            return
        self._start_header_job()

    def _download(self, path: str) -> bytes:
        """A small file through the huggingface_hub cache (no request at all when it is cached)."""
        from huggingface_hub import hf_hub_download, try_to_load_from_cache

        with self._lock:
            if path in self._text:
                return self._text[path]
        size, cap = self._files.get(path), cap_for(path)
        if size is not None and size > cap:  # refused from the listing, before a byte is downloaded
            raise SourceError(f"is {size:,} bytes, over the {cap:,}-byte limit for this kind of file; refused",
                              f"{self.repo_id}/{path}")
        cached = try_to_load_from_cache(self.repo_id, path, cache_dir=self.env.cache_dir, revision=self.revision)
        if isinstance(cached, str):
            data = read_bounded(cached, f"{self.repo_id}/{path}", cap=cap_for(path))
        elif size:
            # one GET of the listed size (hf_hub_download sends a HEAD first), kept in the huggingface_hub cache
            # the way hf_hub_download keeps it
            from .hub_ranges import get_range

            data = get_range(self, self._url(path), path, 0, size, size, whole=True)
            self._cache_small_file(path, data)
        else:
            last: BaseException | None = None
            for attempt in range(MAX_TRIES):
                try:
                    with self._lock:
                        self.stats.requests += 2  # HEAD (metadata) + GET
                    p = waiting.call(hf_hub_download, self.deadline, self.repo_id, path, revision=self.revision,
                                     cache_dir=self.env.cache_dir, endpoint=self.env.endpoint,
                                     token=self.env.token or False, etag_timeout=self.deadline.timeout())
                    data = read_bounded(p, f"{self.repo_id}/{path}", cap=cap_for(path))
                    with self._lock:
                        self.stats.bytes += len(data)
                    break
                except Exception as e:  # noqa: BLE001 - translated below
                    last = e
                    if _status(e) in RETRY_STATUS or isinstance(e, _transient_types()):
                        if attempt < MAX_TRIES - 1:
                            _backoff(attempt, _retry_after(e), self.deadline, self.indicator, path)
                            continue
                    raise self._translate(e, path) from None
            else:  # pragma: no cover
                raise self._translate(last, path) from None
        with self._lock:
            self._text[path] = data
        return data

    def _cache_small_file(self, path: str, data: bytes) -> None:
        """Put a small file read by ckptscope itself into the huggingface_hub cache, laid out as
        hf_hub_download lays it out (blobs/<git blob id>, snapshots/<commit>/<path> linking to it), so the next
        read of this commit needs no request. Best effort; only when the listing's blob id matches the bytes."""
        import hashlib

        blob = self._blob_ids.get(path)
        if not blob or hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() != blob:
            return
        base = os.path.join(self.env.cache_dir, "models--" + self.repo_id.replace("/", "--"))
        blob_path = os.path.join(base, "blobs", blob)
        link = os.path.join(base, "snapshots", self.revision, *path.split("/"))
        try:
            os.makedirs(os.path.dirname(blob_path), exist_ok=True)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            if not os.path.exists(blob_path):
                tmp = f"{blob_path}.{os.getpid()}.{threading.get_ident()}.incomplete"
                with open(tmp, "wb") as f:
                    f.write(data)
                os.replace(tmp, blob_path)
            if not os.path.lexists(link):
                try:
                    os.symlink(os.path.relpath(blob_path, os.path.dirname(link)), link)
                except OSError:
                    import shutil

                    shutil.copyfile(blob_path, link)
        except OSError:
            pass

    def read_file(self, path: str) -> bytes:
        if path in self._errors:
            raise self._errors[path]
        if path not in self._files:
            raise SourceError("file not found in the repo", f"{self.repo_id}/{path}")
        if (path == self._index_name() and not self.fetch_index and path not in self._text
                and self._endpoint_eligible()):
            data = self._index_from_endpoint()
            if data is not None:
                return data
        fresh = path not in self._text
        with self.indicator:
            data = self._download(path)
        if path == self._index_name() and getattr(self, "_job", None) is None and not (
                self._endpoint_eligible() and self._endpoint_answer() is not None):
            self._start_header_job()  # the shard headers download while the caller parses the index
        if fresh and path == "tokenizer.json":
            self.notes.append(f"tokenizer.json ({len(data):,} bytes) fetched for the tokenizer check "
                              "(--no-tokenizer skips it)")
        return data

    def _translate(self, e: BaseException, what: str | None = None) -> CkptError:
        return translate_error(e, self.repo_id, self.requested_revision, self.env, what)

    # --- headers ----------------------------------------------------------------------------------------------
    def read_headers(self, paths: list[str], strict: bool = True) -> list[HeaderInfo]:
        if not paths:
            return []
        out = None
        with self.indicator:
            if len(paths) > 1 and self.requested_revision in (None, "main") and self._index_name():
                out = self._sharded_metadata(paths, strict)
            if out is None:
                out = self._ranged(paths, strict)
        self._save_header_cache(out)
        return out

    def read_gguf(self, paths: list[str]):
        from .hub_gguf import read_gguf_headers

        out = read_gguf_headers(self, paths)
        raw = getattr(self, "_gguf_raw", None) or {}
        if paths and all(p in raw for p in paths):  # kept for --offline (a header read with holes is not)
            self._save_gguf_cache({p: (raw[p], self._files.get(p)) for p in paths})
        return out

    def gguf_raw_header(self, path: str, n: int) -> bytes:
        from .hub_gguf import raw_header

        return raw_header(self, path, n)

    def _headers(self) -> dict:
        h = getattr(self, "_hdrs", None)
        if h is None:
            from huggingface_hub.utils import build_hf_headers

            from .. import __version__

            # build_hf_headers may itself ask the endpoint for a registry (huggingface_hub's agent detection):
            # bounded by the deadline like every other request
            h = self._hdrs = waiting.call(build_hf_headers, self.deadline, token=self.env.token or False,
                                          library_name="ckptscope", library_version=__version__)
        return dict(h)

    def _index_from_endpoint(self) -> bytes | None:
        """The index as the endpoint's answer gives it: its metadata, and a weight map made of the shards' own
        tensor names (so the index file itself, megabytes for a large model, is not downloaded)."""
        import json

        ans = self._endpoint_answer()
        if ans is None:
            return None
        meta = ans["index"].get("metadata") if isinstance(ans.get("index"), dict) else None
        wm = {name: shard for shard, h in ans["headers"].items() if isinstance(h, dict)
              for name in h if name != "__metadata__"}
        data = json.dumps({"metadata": meta if isinstance(meta, dict) else {}, "weight_map": wm}).encode()
        with self._lock:
            self._text[self._index_name()] = data
        self.notes.append(f"{self._index_name()} not downloaded: shard list and metadata from the sharded-metadata "
                          "answer (check reads the file itself)")
        return data

    def _endpoint_answer(self) -> dict | None:
        """The sharded-metadata endpoint's answer for the index ({"index": ..., "headers": {shard: header}}),
        fetched once; None when it does not serve this repo or revision."""
        with self._endpoint_lock:
            if self._endpoint is False:
                self._endpoint = self._fetch_endpoint()
            return self._endpoint  # type: ignore[return-value]

    def _fetch_endpoint(self) -> dict | None:
        import json

        from huggingface_hub import get_session

        idx = self._index_name()
        url = f"{self.env.endpoint}/api/models/{self.repo_id}/safetensors-metadata/{quote(idx, safe='/')}"
        for attempt in range(MAX_TRIES):
            with self._lock:
                self.stats.requests += 1
            try:
                r = waiting.call(get_session().get, self.deadline, url, headers=self._headers(),
                                 timeout=self.deadline.timeout())
            except _transient_types():
                if attempt < MAX_TRIES - 1:
                    _backoff(attempt, None, self.deadline, self.indicator, "the sharded-metadata request")
                    continue
                return None
            with self._lock:
                self.stats.bytes += len(r.content)
            if r.status_code in RETRY_STATUS and attempt < MAX_TRIES - 1:
                _backoff(attempt, None, self.deadline, self.indicator, f"HTTP {r.status_code}")
                continue
            break
        if r.status_code != 200:
            return None
        commit = r.headers.get("X-Repo-Commit")
        if commit and commit != self.revision:
            return None  # main moved since we resolved it: read the shards of our commit instead
        try:
            content = json.loads(r.content)
        except (ValueError, RecursionError):
            return None
        if not isinstance(content, dict) or not isinstance(content.get("headers"), dict):
            return None
        return content

    def _sharded_metadata(self, paths: list[str], strict: bool) -> list[HeaderInfo] | None:
        """Every shard header in one request (the Hub serves it for the default branch)."""
        from .snapshot import header_from_object, header_len_from_size

        content = self._endpoint_answer()
        if content is None:
            return None
        headers = content["headers"]
        if not all(p in headers for p in paths):
            return None
        out = []
        for p in paths:
            size = self._files.get(p)
            obj = headers[p]
            out.append(header_from_object(obj, p, size, header_len_from_size(obj, size), strict=strict))
        self._raw_headers = {p: headers[p] for p in paths}
        self.header_method = "sharded-metadata"
        self.notes.append(f"{len(paths)} shard headers read in 1 request (the Hub's sharded-metadata endpoint)")
        return out

    # ranged reads (sources/hub_ranges.py)
    def _url(self, path: str) -> str:
        from huggingface_hub import hf_hub_url

        return hf_hub_url(self.repo_id, path, revision=self.revision, endpoint=self.env.endpoint)

    def _sizer(self):
        from .hub_ranges import Sizer, estimate_from_index

        idx = self._index_name()
        est = {}
        if idx and idx in self._text:
            est = estimate_from_index(self._text[idx])
        elif idx:
            try:
                est = estimate_from_index(self.read_file(idx))
            except CkptError:
                est = {}
        return Sizer(est, self._files, self._text.get("config.json"))

    def _start_header_job(self) -> None:
        """Start downloading the shard headers the index names, in the background, as soon as the index is known
        (the loader parses the index meanwhile, then asks for exactly those headers)."""
        from .hub_ranges import HeaderJob, estimate_from_index

        idx = self._index_name()
        if getattr(self, "_job", None) is not None or idx not in self._text:
            return
        est = estimate_from_index(self._text[idx])
        shards = sorted(p for p in est if p in self._files and "/" not in p)
        if not shards:
            return
        from .hub_ranges import Sizer

        self._job = HeaderJob(self, shards, Sizer(est, self._files, self._text.get("config.json")))

    def _ranged(self, paths: list[str], strict: bool) -> list[HeaderInfo]:
        from .hub_ranges import HeaderJob

        job = getattr(self, "_job", None)
        if job is None or not job.covers(paths):
            if job is not None:
                job.stop()
            job = self._job = HeaderJob(self, paths, self._sizer())
        progress = None
        if not self.quiet and len(paths) >= PROGRESS_MIN_SHARDS and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            progress = Progress(TextColumn("reading headers"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            task = progress.add_task("headers", total=len(paths))
            self.indicator.pause(True)
            progress.start()
        raw: dict[str, bytes] = {}
        try:
            for p in paths:  # downloads first: parsing (CPU, under the GIL) would hold up the waiting threads
                raw[p] = job.result(p, self.deadline)
                if progress is not None:
                    progress.advance(task)
            out = [parse_header(raw[p], p, self._files.get(p), strict=strict) for p in paths]
        except BaseException:
            job.stop()
            raise
        finally:
            if progress is not None:
                progress.stop()
                self.indicator.pause(False)
        self.header_method = "ranged"
        self.notes.append(f"{len(paths)} safetensors header{'s' * (len(paths) > 1)} read with ranged requests "
                          f"({self.stats.requests} requests, {self.stats.bytes:,} bytes in all)")
        self._raw_headers = {p: b[8:] for p, b in raw.items()}
        return out

    def _range(self, url: str, path: str, start: int, end: int, size: int | None) -> bytes:
        """Bytes [start, end) of a file by one ranged GET (sources/hub_ranges.get_range)."""
        from .hub_ranges import get_range

        return get_range(self, url, path, start, end, size)

    def read_range(self, path: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of a repo file (one ranged GET; ONNX models and pickles are walked this way)."""
        return self._range(self._url(path), path, start, end, self._files.get(path))

    # --- cache ------------------------------------------------------------------------------------------------
    def _save_header_cache(self, headers: list[HeaderInfo], gguf: dict | None = None,
                           name: str | None = None) -> None:
        """Keep what was read (headers, file list, small files) for --offline later. Best effort."""
        from . import snapshot

        try:
            d = os.path.join(self.env.ckpt_cache, self.repo_id.replace("/", "--"))
            os.makedirs(os.path.join(d, "refs"), exist_ok=True)
            texts = {k: v for k, v in self._text.items() if snapshot.is_text_file(k)}
            snap = snapshot.build(source={"kind": "hub", "name": self.repo_id, "revision": self.revision,
                                          "endpoint": self.env.endpoint},
                                  files=self._files, text_files=texts, headers=headers, tokenizer=None,
                                  raw_headers=getattr(self, "_raw_headers", None), gguf_headers=gguf,
                                  provenance={"kind": "read", "note": f"headers read from {self.env.endpoint}"})
            snapshot.write(snap, os.path.join(d, name or f"{self.revision}.ckpt.gz"), level=1, pretty=False)
            ref = self.requested_revision or "main"
            if ref != self.revision and "/" not in ref and ".." not in ref:
                with open(os.path.join(d, "refs", ref), "w") as f:
                    f.write(self.revision)
        except (OSError, CkptError):
            pass

    def _save_gguf_cache(self, gguf: dict) -> None:
        """One cache file per GGUF model read (its parts' headers verbatim): a repo's quantizations are read one
        at a time or together, and none rewrites another's (``gguf_cache_files`` merges them back)."""
        import hashlib

        key = hashlib.sha1("\n".join(sorted(gguf)).encode()).hexdigest()[:16]
        self._save_header_cache([], gguf=gguf, name=f"{self.revision}.gguf-{key}.ckpt.gz")

    def describe(self) -> dict:
        d = super().describe()
        d["endpoint"] = self.env.endpoint
        d["requested_revision"] = self.requested_revision or "main"
        d["header_method"] = self.header_method
        return d


# ------------------------------------------------------------------------------------------------ model info

def _model_info(repo_id: str, rev: str | None, env: HubEnv, deadline: "waiting.Deadline | None" = None,
                indicator: "waiting.Indicator | None" = None):
    """(ModelInfo, requests, bytes) with retries; translated errors; _Unreachable when there is no network."""
    from huggingface_hub import get_session
    from huggingface_hub.hf_api import ModelInfo
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status

    from .. import __version__

    url = f"{env.endpoint}/api/models/{repo_id}" + (f"/revision/{quote(rev, safe='')}" if rev else "")
    headers = waiting.call(build_hf_headers, deadline, token=env.token or False, library_name="ckptscope",
                           library_version=__version__)
    reqs = nbytes = 0
    for attempt in range(MAX_TRIES):
        reqs += 1
        try:
            t = deadline.timeout() if deadline is not None else TIMEOUT
            r = waiting.call(get_session().get, deadline, url, headers=headers, params={"blobs": True}, timeout=t)
            nbytes += len(r.content)
            if r.status_code in RETRY_STATUS and attempt < MAX_TRIES - 1:
                hint = r.headers.get("Retry-After")
                _backoff(attempt, float(hint) if hint and hint.isdigit() else None, deadline, indicator,
                         f"the model info (HTTP {r.status_code})")
                continue
            hf_raise_for_status(r)
            data = r.json()
            if not isinstance(data, dict) or "sha" not in data:
                raise SourceError(f"{url} did not answer like a Hub (no commit sha in the model info); "
                                  "check HF_ENDPOINT", repo_id)
            return ModelInfo(**data), reqs, nbytes
        except _unreachable_types() as e:
            raise _Unreachable(_short(e)) from None
        except _transient_types() as e:
            if attempt < MAX_TRIES - 1:
                _backoff(attempt, None, deadline, indicator, f"the model info ({_short(e)[:60]})")
                continue
            raise _Unreachable(_short(e)) from None
        except CkptError:
            raise
        except ValueError as e:
            raise SourceError(f"{url} did not answer JSON ({_short(e)}); check HF_ENDPOINT", repo_id) from None
        except Exception as e:  # noqa: BLE001
            raise translate_error(e, repo_id, rev, env) from None
    raise SourceError("the Hub kept failing", repo_id)  # pragma: no cover


def translate_error(e: BaseException, repo_id: str, rev: str | None, env: HubEnv, what: str | None = None) -> CkptError:
    """One line a person can act on, for every error huggingface_hub raises."""
    from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError,
                                        RemoteEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError)

    login = "log in with `hf auth login` or set HF_TOKEN"
    page = f"{env.endpoint}/{repo_id}"
    if isinstance(e, GatedRepoError):
        if env.token:
            return SourceError(f"gated repo and your token has no access yet: request it at {page}", repo_id)
        return SourceError(f"gated repo: accept its conditions at {page}, then {login}", repo_id)
    if isinstance(e, RevisionNotFoundError):
        refs = _list_refs(repo_id, env)
        return SourceError(f"revision {rev!r} not found" + (f" (branches: {', '.join(refs)})" if refs else ""),
                           repo_id)
    if isinstance(e, RemoteEntryNotFoundError):
        return SourceError("file not found in the repo", f"{repo_id}/{what}" if what else repo_id)
    if isinstance(e, RepositoryNotFoundError):
        if env.token:
            return SourceError("repository not found on the Hub (or your token cannot see it)", repo_id)
        return SourceError(f"repository not found on the Hub (if it is private or gated, {login})", repo_id)
    if isinstance(e, LocalEntryNotFoundError) or isinstance(e, _unreachable_types()):
        return SourceError(f"cannot reach the Hub at {env.endpoint} to read {what or 'the repo'}; use --offline "
                           "with a cached repo, or a snapshot file (ckptscope snapshot)", repo_id)
    if isinstance(e, HfHubHTTPError):
        st = _status(e)
        if st in (401, 403):
            return SourceError(f"access denied (HTTP {st}); {login}", repo_id)
        return SourceError(f"the Hub at {env.endpoint} answered HTTP {st} for {what or 'the repo'}" +
                           (" after retries" if st in RETRY_STATUS else ""), repo_id)
    if isinstance(e, _transient_types()):
        return SourceError(f"connection to {env.endpoint} failed ({_short(e)})", repo_id)
    if isinstance(e, CkptError):
        return e
    return SourceError(f"{type(e).__name__}: {_short(e)}", repo_id)


def _list_refs(repo_id: str, env: HubEnv) -> list[str]:
    try:
        from huggingface_hub import HfApi

        refs = HfApi(endpoint=env.endpoint, token=env.token or False).list_repo_refs(repo_id)
        return sorted(b.name for b in refs.branches)[:8] + sorted(t.name for t in refs.tags)[:8]
    except Exception:  # noqa: BLE001 - only a hint
        return []


# ------------------------------------------------------------------------------------------------ offline

def open_offline(repo_id: str, rev: str | None, env: HubEnv, why: str, *, quiet: bool = True,
                 network: bool = False) -> Source:
    """No network: the huggingface_hub cache with the weights, ckptscope's header cache, then the catalog."""
    sha = _cached_commit(repo_id, rev, env)
    if sha:
        snap_dir = os.path.join(env.cache_dir, "models--" + repo_id.replace("/", "--"), "snapshots", sha)
        if os.path.isdir(snap_dir) and _has_weights(snap_dir):
            from .local import LocalSource

            src = LocalSource(snap_dir)
            src.kind = "hub-cache"
            src.confine_root = os.path.dirname(os.path.dirname(snap_dir))  # snapshots link into ../../blobs
            src.display = repo_id
            src.revision = sha
            src.notes.append(f"{why}: read from the Hugging Face cache ({snap_dir})")
            return src
        path = os.path.join(env.ckpt_cache, repo_id.replace("/", "--"), f"{sha}.ckpt.gz")
        ggufs = gguf_cache_files(env, repo_id, sha)
        if os.path.isfile(path) or ggufs:
            return CachedHubSource(path if os.path.isfile(path) else ggufs[0], repo_id, env, why,
                                   gguf_parts=[g for g in ggufs if g != path])
    from . import catalog

    entry = catalog.find(repo_id)
    if entry is not None and not network and (rev in (None, "main") or rev == entry.revision):
        return catalog.open_entry(entry, why)  # only when asked (--offline): never because the Hub is down
    hint = ("once it has been read online, --offline uses the cache; or inspect a snapshot file "
            "(`ckptscope snapshot REPO -o FILE` on a machine online)")
    names = catalog.names()
    if names:
        hint += f"; bundled: {', '.join(names[:4])}" + (", ..." if len(names) > 4 else "")
    if network:
        if entry is not None:
            raise SourceError(f"{why}; the repo is not cached (--offline or --catalog use ckptscope's bundled "
                              "catalog: numbers reconstructed from the catalog, not read from the Hub)", repo_id)
        raise SourceError(f"{why}, and the repo is not cached; {hint}", repo_id)
    raise SourceError(f"{why}: not in the local caches nor in the bundled catalog; {hint}", repo_id)


def open_catalog(repo_id: str, rev: str | None) -> Source:
    """``--catalog``: the bundled catalog's snapshot of ``repo_id`` (no network), or SourceError."""
    from . import catalog

    entry = catalog.find(repo_id)
    if entry is None:
        names = catalog.names()
        raise SourceError("not in the bundled catalog (--catalog); bundled: " + (", ".join(names[:6]) or "none")
                          + (", ..." if len(names) > 6 else ""), repo_id)
    if rev not in (None, "main") and rev != entry.revision:
        raise SourceError(f"the bundled catalog holds revision {entry.revision}, not {rev!r} (--catalog)", repo_id)
    return catalog.open_entry(entry, "--catalog")


def _cached_commit(repo_id: str, rev: str | None, env: HubEnv) -> str | None:
    if rev and _COMMIT.match(rev):
        return rev
    ref = rev or "main"
    if ".." in ref:
        return None
    for base in (os.path.join(env.cache_dir, "models--" + repo_id.replace("/", "--")),
                 os.path.join(env.ckpt_cache, repo_id.replace("/", "--"))):
        p = os.path.join(base, "refs", *ref.split("/"))
        try:
            with open(p) as f:
                sha = f.read().strip()
            if _COMMIT.match(sha):
                return sha
        except OSError:
            continue
    return None


def gguf_cache_files(env: HubEnv, repo_id: str, sha: str) -> list[str]:
    """ckptscope's cached GGUF headers of ``repo_id`` at commit ``sha`` (one file per model read), oldest first."""
    d = os.path.join(env.ckpt_cache, repo_id.replace("/", "--"))
    try:
        names = [n for n in os.listdir(d) if n.startswith(f"{sha}.gguf-") and n.endswith(".ckpt.gz")]
    except OSError:
        return []
    paths = [os.path.join(d, n) for n in names]
    return sorted(paths, key=lambda p: (os.path.getmtime(p), p))


def _has_weights(folder: str) -> bool:
    import json

    names = os.listdir(folder)
    idx = [n for n in names if n.endswith(".safetensors.index.json")]
    if idx:
        try:
            shards = set(json.loads(read_bounded(os.path.join(folder, sorted(idx)[0]), kind="index"))["weight_map"].values())
        except (OSError, CkptError, ValueError, KeyError, TypeError, AttributeError):
            return False
        return bool(shards) and all(os.path.isfile(os.path.join(folder, s)) for s in shards)
    return any(n.endswith(".safetensors") and os.path.isfile(os.path.join(folder, n)) for n in names)


from .snapshot import SnapshotSource  # noqa: E402 - after the Hub helpers it needs none of


class CachedHubSource(SnapshotSource):
    """Headers saved by an earlier online read; small files from the snapshot or the huggingface_hub cache."""

    kind = "hub-cache"

    def __init__(self, path: str, repo_id: str, env: HubEnv, why: str, gguf_parts: list[str] | None = None) -> None:
        from .snapshot import load

        snap = load(path)
        for part in gguf_parts or []:  # the GGUF models cached one by one: their headers joined to this one
            try:
                more = load(part)
            except SourceError:
                continue
            if more.get("source", {}).get("revision") == snap.get("source", {}).get("revision"):
                g = more.get("gguf_headers")
                if isinstance(g, dict):
                    snap.setdefault("gguf_headers", {}).update(g)
        super().__init__(path, snap)
        self.repo_id = repo_id
        self.env = env
        self.display = repo_id
        self.notes.append(f"{why}: headers from ckptscope's cache (read {self.snap.get('created')} from "
                          f"{self.origin.get('endpoint', '?')} at commit {self.revision})")

    def tokenizer_info(self):
        return None  # read the tokenizer files (from the huggingface_hub cache) as usual

    def read_file(self, path: str) -> bytes:
        try:
            return super().read_file(path)
        except SourceError:
            pass
        from huggingface_hub import try_to_load_from_cache

        p = try_to_load_from_cache(self.repo_id, path, cache_dir=self.env.cache_dir, revision=self.revision)
        if isinstance(p, str):
            return read_bounded(p, f"{self.repo_id}/{path}", cap=cap_for(path))
        raise SourceError("not in the local cache (offline)", f"{self.repo_id}/{path}")
