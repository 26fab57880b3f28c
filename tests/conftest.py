"""Shared test helpers: where the fixtures are, and how to run the CLI in-process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CONFIGS = FIXTURES / "configs"
CHECKPOINTS = FIXTURES / "checkpoints"
TOKENIZERS = FIXTURES / "tokenizers"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def run_cli(capsys):
    """Run ``ckptscope ARGS...`` in-process; returns (exit_code, stdout, stderr)."""
    from ckptscope.cli import main

    def _run(*argv: str):
        code = main([str(a) for a in argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def config_dirs() -> list[Path]:
    return sorted(p for p in CONFIGS.iterdir() if p.is_dir())


def dead_endpoint() -> str:
    """An http://127.0.0.1:PORT address with nothing listening (a Hub that cannot be reached)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def env_with_repo() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _loopback(host) -> bool:
    return isinstance(host, str) and (host in ("localhost", "::1") or host.startswith("127."))


@pytest.fixture(autouse=True)
def _no_connection_out(monkeypatch):
    """A test that opens a TCP connection anywhere but the loopback fails at once (the Hub stand-ins listen on
    127.0.0.1; nothing else may be reached)."""
    import socket

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def _check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            raise OSError(f"a test tried to connect to {address!r}: tests may reach only 127.0.0.1")

    def connect(sock, address):
        _check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        _check(sock, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(autouse=True)
def _no_real_hub(monkeypatch, tmp_path_factory):
    """No test reaches the network: the Hub endpoint defaults to a closed local port (tests that need a Hub start
    the stand-in and point HF_ENDPOINT at it), and caches live in a temporary HF_HOME."""
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))
    monkeypatch.delenv("HF_TOKEN", raising=False)
