"""Run one side job beside the main work, on the other core when there is one.

The ``tokenizers`` library holds the GIL while it builds a tokenizer from JSON, so a thread running it does not
run *beside* ckptscope's own (pure-Python) work: it runs after it. A forked child does. :func:`start` forks when
the platform can (``os.fork``) and the process has no other threads (forking a multi-threaded process can
deadlock the child); otherwise it falls back to a thread. Either way :meth:`Job.result` gives the function's
return value, and the job can never hang or take the caller down:

- a child that dies by a signal (a native crash in the library) gives ``"crashed (signal N)"``;
- one that outlives ``timeout`` seconds is killed and gives ``"did not finish in N s"``;
- :meth:`Job.cancel` kills and reaps a job whose answer is no longer wanted.

The function's return value must be picklable and small (it crosses a pipe).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import threading
import time

TIMEOUT = 120.0


class Job:
    def result(self):  # pragma: no cover - interface
        raise NotImplementedError

    def cancel(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class _ThreadJob(Job):
    def __init__(self, fn, args, timeout: float):
        self._timeout = timeout
        self._out = None
        self._done = threading.Event()

        def body():
            try:
                self._out = ("ok", fn(*args))
            except BaseException as e:  # noqa: BLE001 - reported by result()
                self._out = ("error", f"{type(e).__name__}: {e}")
            finally:
                self._done.set()

        self._t = threading.Thread(target=body, name="ckptscope-background", daemon=True)
        self._t.start()

    def result(self):
        if not self._done.wait(self._timeout):
            return f"did not finish in {self._timeout:g} s"
        kind, val = self._out
        if kind == "error":
            raise RuntimeError(val)
        return val

    def cancel(self) -> None:  # a thread cannot be stopped; it is a daemon and its answer is dropped
        pass


class _ForkJob(Job):
    def __init__(self, fn, args, timeout: float):
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: compute, send, leave without running the parent's atexit / finally blocks
            code = 0
            try:
                os.close(r)
                try:
                    payload = pickle.dumps(("ok", fn(*args)))
                except BaseException as e:  # noqa: BLE001 - reported by the parent
                    payload = pickle.dumps(("error", f"{type(e).__name__}: {e}"))
                view = memoryview(payload)
                while view:
                    n = os.write(w, view)
                    view = view[n:]
                os.close(w)
            except BaseException:  # noqa: BLE001 - nothing may escape a forked child
                code = 1
            os._exit(code)
        os.close(w)
        self._pid, self._r = pid, r
        self._reaped = False
        self._open = True
        self._answer = None

    def _close(self) -> None:
        if self._open:
            self._open = False
            os.close(self._r)

    def _reap(self, block: bool) -> int | None:
        if self._reaped:
            return 0
        try:
            pid, status = os.waitpid(self._pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            self._reaped = True
            return 0
        if pid == 0:
            return None
        self._reaped = True
        return status

    def result(self):
        if self._answer is not None:
            return self._answer[1]
        chunks = []
        while True:
            left = self._deadline - time.monotonic()
            if left <= 0:
                self.cancel()
                self._answer = ("ok", f"did not finish in {self._timeout:g} s")
                return self._answer[1]
            ready, _, _ = select.select([self._r], [], [], left)
            if not ready:
                continue
            data = os.read(self._r, 1 << 16)
            if not data:
                break
            chunks.append(data)
        self._close()
        status = self._reap(block=True)
        if status and os.WIFSIGNALED(status):
            self._answer = ("ok", f"crashed (signal {os.WTERMSIG(status)})")
            return self._answer[1]
        try:
            kind, val = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - an empty or cut pipe: the child died before answering
            self._answer = ("ok", f"crashed (exit status {os.waitstatus_to_exitcode(status) if status else 0})")
            return self._answer[1]
        if kind == "error":
            raise RuntimeError(val)
        self._answer = (kind, val)
        return val

    def cancel(self) -> None:
        if not self._reaped:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap(block=True)
        self._close()


def can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def start(fn, *args, timeout: float = TIMEOUT, fork: bool | None = None) -> Job:
    """``fn(*args)`` in a forked child when possible (``fork=None``), else in a thread."""
    if fork is None:
        fork = can_fork()
    return _ForkJob(fn, args, timeout) if fork else _ThreadJob(fn, args, timeout)
