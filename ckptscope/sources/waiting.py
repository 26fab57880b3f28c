"""Slow networks: an overall deadline for every Hub request, a progress indicator after ~1 s of waiting, and at
most one short line per retry.

- :class:`Deadline`: ``--timeout`` seconds (default ``CKPTSCOPE_TIMEOUT`` or 60) for everything one Hub source
  does; each request's own timeout is ``HF_HUB_DOWNLOAD_TIMEOUT`` / ``HF_HUB_ETAG_TIMEOUT`` (huggingface_hub's
  variables), never more than what is left. When it runs out: one SourceError line naming the endpoint (exit 2).
- :func:`call` runs a blocking call (``hf_hub_download``, whose own retries we do not control) in a daemon thread
  and gives up at the deadline, so a server that accepts and never answers cannot hold the process.
- :class:`Indicator`: on a terminal only and not with ``--quiet``, one self-erasing stderr line after ~1 s of
  waiting ("waiting for https://huggingface.co ... 3 s"); :meth:`Indicator.retry` prints one short line per retry.
  Nothing at all when stderr is not a terminal (CI logs get only the final line).
"""

from __future__ import annotations

import os
import sys
import threading
import time

from ..errors import SourceError

DEFAULT_TIMEOUT = 60.0
SHOW_AFTER = 1.0  #: seconds of waiting before the indicator appears


def _env_float(name: str, default: float) -> float:
    try:
        v = float(os.environ.get(name) or default)
    except ValueError:
        return default
    return v if v > 0 else default


def request_timeout() -> float:
    """Per-request timeout: huggingface_hub's HF_HUB_DOWNLOAD_TIMEOUT / HF_HUB_ETAG_TIMEOUT (the larger), else 20."""
    vals = [float(os.environ[k]) for k in ("HF_HUB_DOWNLOAD_TIMEOUT", "HF_HUB_ETAG_TIMEOUT")
            if _env_float(k, 0) > 0]
    return max(vals) if vals else 20.0


class Deadline:
    def __init__(self, seconds: float | None, endpoint: str, what: str) -> None:
        self.seconds = float(seconds) if seconds else _env_float("CKPTSCOPE_TIMEOUT", DEFAULT_TIMEOUT)
        self.endpoint = endpoint
        self.what = what
        self.end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def error(self, detail: str = "") -> SourceError:
        return SourceError(f"no complete answer from {self.endpoint} within {self.seconds:g} s (--timeout)"
                           + (f"; last: {detail}" if detail else "")
                           + "; raise --timeout, try again later, or use --offline", self.what)

    def check(self, detail: str = "") -> None:
        if self.remaining() <= 0:
            raise self.error(detail)

    def timeout(self, per_request: float | None = None) -> float:
        """The timeout for the next request: the per-request one, capped by what is left (raises when none is)."""
        left = self.remaining()
        if left <= 0:
            raise self.error()
        return max(0.05, min(per_request or request_timeout(), left))


def call(fn, deadline: Deadline | None, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a daemon thread, abandoned at the deadline (SourceError)."""
    if deadline is None:
        return fn(*args, **kwargs)
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(max(0.0, deadline.remaining()))
    if t.is_alive():
        _forget_session()
        raise deadline.error()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _forget_session() -> None:
    """A request was abandoned mid-flight: drop huggingface_hub's shared client without closing it (closing waits
    for that request; its atexit hook would hold the process until the server answers). The OS closes the socket
    at exit; the next request gets a fresh client."""
    try:
        from huggingface_hub.utils import _http

        _http._GLOBAL_CLIENT = None
    except Exception:  # noqa: BLE001 - private attribute: best effort
        pass


class Indicator:
    """A self-erasing "waiting for ENDPOINT ... N s" line on stderr after ~1 s (terminal only, not --quiet)."""

    def __init__(self, endpoint: str, enabled: bool) -> None:
        self.endpoint = endpoint
        self.enabled = enabled and _isatty()
        self._active = 0
        self._since = 0.0
        self._lock = threading.Lock()
        self._shown = False
        self._paused = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Indicator":
        if not self.enabled:
            return self
        with self._lock:
            self._active += 1
            if self._active == 1:
                self._since = time.monotonic()
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._loop, daemon=True)
                    self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self._clear()

    def pause(self, paused: bool) -> None:
        """Stop drawing while another progress display (the header progress bar) owns the line."""
        with self._lock:
            self._paused = paused
            if paused:
                self._clear()

    def retry(self, msg: str) -> None:
        """One short line per retry (terminal only)."""
        if not self.enabled:
            return
        with self._lock:
            self._clear()
            sys.stderr.write(f"ckptscope: {msg}\n")
            sys.stderr.flush()

    def _clear(self) -> None:
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self._shown = False

    def _loop(self) -> None:
        while True:
            time.sleep(0.25)
            with self._lock:
                if self._active == 0:
                    return
                waited = time.monotonic() - self._since
                if waited >= SHOW_AFTER and not self._paused:
                    sys.stderr.write(f"\rwaiting for {self.endpoint} ... {waited:.0f} s\033[K")
                    sys.stderr.flush()
                    self._shown = True


def _isatty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def quiet_libraries() -> None:
    """huggingface_hub's and httpx's own retry warnings off: ckptscope says one line per retry itself."""
    import logging

    for name in ("huggingface_hub", "huggingface_hub.utils._http", "httpx", "httpx2", "urllib3", "httpcore"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from huggingface_hub.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
    except Exception:  # noqa: BLE001 - best effort
        pass
