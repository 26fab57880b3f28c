"""Safetensors headers of a Hub repo by HTTP range requests (where the sharded-metadata endpoint does not serve).

- One ranged GET per shard, sized to the header it will find: the 8-byte length and the JSON header in one
  request, a second request only when the header turns out longer. The size comes from the index (each shard's
  tensor names and count) and the JSON bytes per tensor measured on the first shard; a file with no index gets a
  guess from config.json's layer and expert counts.
- The reads start the moment the index is known (``HeaderJob``), in daemon threads (at most ``MAX_WORKERS`` at a
  time, on huggingface_hub's keep-alive session), while the caller parses the index: by the time the loader asks
  for the headers they are downloaded or downloading. An abandoned job never holds the process open.
- ``get_range`` is every ranged GET: retries with backoff on 429/5xx/timeouts/dropped connections; a 206 whose
  ``Content-Range`` starts elsewhere or names another file size is refused (a lying server); a 200 to a ranged
  request (a server that ignores ``Range``) is read only as far as needed, then the stream is closed; a body that
  ends early is retried, then refused. Nothing is ever held beyond the bytes asked for plus one network chunk.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from concurrent.futures import Future

from ..errors import CkptError, SourceError
from ..readers.safetensors import LFS_MAGIC, header_length

MAX_WORKERS = 16  #: concurrent ranged GETs (huggingface_hub's thread map uses min(32, CPUs + 4))
PER_TENSOR = 88.0  #: prior JSON bytes per tensor besides its name, before the first shard calibrates it
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


def estimate_from_index(index: bytes) -> dict[str, tuple[int, int]]:
    """Per shard: (UTF-8 bytes of its tensor names, tensor count) from the index's weight map; {} when unusable."""
    try:
        wm = json.loads(index).get("weight_map") or {}
    except (ValueError, AttributeError, RecursionError):
        return {}
    if not isinstance(wm, dict):
        return {}
    est: dict[str, list[int]] = {}
    for name, shard in wm.items():
        if isinstance(shard, str):
            e = est.get(shard)
            if e is None:
                e = est[shard] = [0, 0]
            e[0] += len(name) if name.isascii() else len(name.encode("utf-8", "replace"))
            e[1] += 1
    return {k: (v[0], v[1]) for k, v in est.items()}


def single_guess(config_text: bytes | None) -> int:
    """First-read size for a file with no index: from the layer and expert counts in config.json."""
    try:
        cfg = json.loads(config_text or b"{}")
        cfg = cfg.get("text_config", cfg) if isinstance(cfg.get("text_config"), dict) else cfg
        L = next((cfg[k] for k in ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
                  if isinstance(cfg.get(k), int)), 32)
        E = next((cfg[k] for k in ("num_local_experts", "num_experts", "n_routed_experts")
                  if isinstance(cfg.get(k), int)), 0)
    except (ValueError, AttributeError, TypeError, RecursionError):
        L, E = 32, 0
    L, E = min(max(L, 1), 1000), min(max(E, 0), 1024)
    return int((L * (16 + 3 * E) + 16) * 120 * 1.1) + 1024


class Sizer:
    """First-read sizes: from the index estimate, calibrated on one shard's real header."""

    def __init__(self, est: dict[str, tuple[int, int]], files: dict[str, int | None], config_text: bytes | None):
        self.est, self.files, self.config_text = est, files, config_text
        self.per_entry, self.meta = PER_TENSOR, 64

    def guess(self, p: str) -> int:
        size = self.files.get(p) or 0
        if p in self.est:
            names, count = self.est[p]
            g = 8 + self.meta + names + self.per_entry * count
            g = int(g * 1.02) + 24  # measured: no second reads, 2-8% over on real-shaped repos
        else:
            g = single_guess(self.config_text)
        return max(64, min(g, size)) if size else max(64, g)

    def calibrate(self, p: str, raw: bytes) -> None:
        """Learn this repo's JSON bytes per tensor from shard ``p``'s header (8-byte length + JSON)."""
        if p not in self.est:
            return
        names, count = self.est[p]
        try:
            obj = json.loads(raw[8:])
        except (ValueError, RecursionError):
            return
        if not isinstance(obj, dict):
            return
        md = obj.get("__metadata__")
        mlen = len(json.dumps({"__metadata__": md}, separators=(",", ":"))) if md else 0
        self.per_entry = max(40.0, (len(raw) - 8 - names - mlen) / max(1, count))
        self.meta = mlen + 16


def fetch_header(src, path: str, first: int) -> bytes:
    """The 8-byte length and the JSON header of one shard: one ranged GET of ``first`` bytes, a second one only
    when the header is longer."""
    size = src._files.get(path)
    url = src._url(path)
    data = src._range(url, path, 0, first, size)
    if data.startswith(LFS_MAGIC):
        raise SourceError("is a git-LFS pointer file, not tensor data (the weights were never uploaded)", path)
    n = header_length(data[:8], path, size)
    if 8 + n > len(data):
        data = data + src._range(url, path, len(data), 8 + n, size)
    with src._lock:
        src.header_bytes += 8 + n
    return data[: 8 + n]


class HeaderJob:
    """Downloads the headers of ``paths`` in daemon threads: the first alone (it calibrates the sizes), then the
    rest, ``MAX_WORKERS`` at a time. ``futures[path]`` holds the bytes (8-byte length + JSON) or the error."""

    def __init__(self, src, paths: list[str], sizer: Sizer, workers: int = MAX_WORKERS) -> None:
        self.src, self.paths, self.sizer = src, list(dict.fromkeys(paths)), sizer
        self.futures: dict[str, Future] = {p: Future() for p in self.paths}
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self.stopped = threading.Event()
        n = max(1, min(workers, len(self.paths)))
        self._threads = [threading.Thread(target=self._work, name=f"ckptscope-header-{i}", daemon=True)
                         for i in range(n)]
        if self.paths:
            self._q.put(self.paths[0])
        for t in self._threads:
            t.start()

    def covers(self, paths: list[str]) -> bool:
        return all(p in self.futures for p in paths)

    def stop(self) -> None:
        """Fail what has not started (a caller that no longer needs the headers)."""
        self.stopped.set()

    def _work(self) -> None:
        while True:
            p = self._q.get()
            if p is None:
                return
            fut = self.futures[p]
            try:
                if self.stopped.is_set():
                    raise SourceError("header read abandoned", p)
                fut.set_result(fetch_header(self.src, p, self.sizer.guess(p)))
            except BaseException as e:  # noqa: BLE001 - handed to whoever waits on the future
                fut.set_exception(e)
            if p == self.paths[0]:
                if fut.exception() is None:
                    self.sizer.calibrate(p, fut.result())
                for q in self.paths[1:]:
                    self._q.put(q)
                for _ in self._threads:
                    self._q.put(None)

    def result(self, path: str, deadline=None) -> bytes:
        fut = self.futures[path]
        while True:
            try:
                return fut.result(timeout=0.5)
            except TimeoutError:
                if deadline is not None:
                    deadline.check(f"waiting for the header of {path}")


def get_range(src, url: str, path: str, start: int, end: int, size: int | None, whole: bool = False) -> bytes:
    """Bytes [start, end) of a file: one ranged GET (retried), read only as far as needed even when the server
    ignores Range and sends the whole file. ``src``: the HubSource (session headers, stats, deadline, notes).
    ``whole``: the whole file of the listed ``size`` by a plain GET (no Range); a longer body is refused."""
    from huggingface_hub import get_session
    from huggingface_hub.utils import hf_raise_for_status

    from .hub import MAX_TRIES, RETRY_STATUS, _backoff, _short, _transient_types

    need = end - start
    headers = {**src._headers(), "Accept-Encoding": "identity"}
    if not whole:
        headers["Range"] = f"bytes={start}-{end - 1}"
    last = ""
    for attempt in range(MAX_TRIES):
        with src._lock:
            src.stats.requests += 1
        got = 0
        try:
            with get_session().stream("GET", url, headers=headers, timeout=src.deadline.timeout()) as r:
                if r.status_code in RETRY_STATUS and attempt < MAX_TRIES - 1:
                    hint = r.headers.get("Retry-After")
                    r.close()
                    _backoff(attempt, float(hint) if hint and hint.isdigit() else None, src.deadline,
                             src.indicator, f"{path} (HTTP {r.status_code})")
                    continue
                if r.status_code >= 400:
                    r.read()
                    hf_raise_for_status(r)
                skip = 0
                if r.status_code == 206:
                    m = _CONTENT_RANGE.match(r.headers.get("Content-Range", ""))
                    if m is None or int(m.group(1)) != start:
                        raise SourceError(f"the server answered bytes {r.headers.get('Content-Range')!r} to a "
                                          f"request for bytes={start}-{end - 1} (lying range response)", path)
                    if size is not None and m.group(3) != "*" and int(m.group(3)) != size:
                        raise SourceError(f"the server says the file has {m.group(3)} bytes, the repo listing "
                                          f"{size:,}", path)
                elif r.status_code == 200 and whole:
                    pass
                elif r.status_code == 200:
                    skip = start  # the whole file from byte 0: read to `end`, then hang up
                    if attempt == 0 and start == 0:
                        with src._lock:
                            if not any("ignored the Range" in n for n in src.notes):
                                src.notes.append("the server ignored the Range header (sent whole files); "
                                                 "ckptscope read only the header bytes and closed each stream")
                else:
                    raise SourceError(f"unexpected HTTP {r.status_code} for a ranged read", path)
                buf = bytearray()
                want = skip + need
                for chunk in r.iter_bytes():
                    got += len(chunk)
                    buf += chunk
                    if len(buf) >= want:
                        break
                    src.deadline.check(f"{path}: {len(buf):,} of {want:,} bytes")  # a trickling server
                with src._lock:
                    src.stats.bytes += got
                if whole and len(buf) > want:
                    raise SourceError(f"the server sent more than the {size:,} bytes the repo listing gives", path)
                if len(buf) >= want:
                    return bytes(buf[skip:want])
                avail = (size - start) if size is not None else None
                if avail is not None and len(buf) - skip >= avail:
                    return bytes(buf[skip:])  # the file really ends here; the parser will say so
                last = f"truncated range response: {len(buf) - skip:,} of {need:,} bytes"
        except _transient_types() as e:
            with src._lock:
                src.stats.bytes += got
            last = f"connection failed while reading the header ({_short(e)})"
        except CkptError:
            raise
        except Exception as e:  # noqa: BLE001 - HTTP errors from hf_raise_for_status
            raise src._translate(e, path) from None
        if attempt < MAX_TRIES - 1:
            _backoff(attempt, None, src.deadline, src.indicator, f"{path} ({last})")
    raise SourceError(f"{last} after {MAX_TRIES} tries", path)
