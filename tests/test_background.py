"""ckptscope.background: a side job (MD001's tokenizers-library load) that runs beside the main work in a forked
child, and can never hang or take the caller down."""

from __future__ import annotations

import os
import signal
import time

import pytest

from ckptscope import background
from ckptscope.checks import config as check_config
from ckptscope.analysis.classify import AUDIO_PAT, PROJECTOR_PAT, VISION_PAT

fork_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")


def _square(x):
    return x * x


def _pid():
    return os.getpid()


def _segv():
    os.kill(os.getpid(), signal.SIGSEGV)


def _sleep(s):
    time.sleep(s)
    return "woke"


def _raise():
    raise ValueError("bad input")


def _gone(pid: int) -> bool:
    """Killed and reaped: no such process any more (a zombie, not yet reaped, would still answer kill 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@fork_only
def test_forked_job_returns_the_value_from_another_process():
    job = background.start(_pid, fork=True)
    assert job.result() != os.getpid()
    assert background.start(_square, 12, fork=True).result() == 144


@fork_only
def test_a_child_killed_by_a_signal_is_reported_not_propagated():
    assert background.start(_segv, fork=True).result() == f"crashed (signal {int(signal.SIGSEGV)})"


@fork_only
def test_a_child_past_its_timeout_is_killed_and_reaped():
    job = background.start(_sleep, 30, timeout=0.3, fork=True)
    t = time.monotonic()
    assert job.result() == "did not finish in 0.3 s"
    assert time.monotonic() - t < 10
    assert _gone(job._pid)


@fork_only
def test_cancel_kills_and_reaps_a_running_child():
    job = background.start(_sleep, 30, fork=True)
    job.cancel()
    assert _gone(job._pid)
    job.cancel()  # twice is harmless


@pytest.mark.parametrize("fork", [pytest.param(True, marks=fork_only), False])
def test_an_exception_in_the_job_is_raised_by_result(fork):
    with pytest.raises(RuntimeError, match="ValueError: bad input"):
        background.start(_raise, fork=fork).result()


def test_thread_fallback_gives_the_value_and_times_out():
    assert background.start(_square, 7, fork=False).result() == 49
    assert background.start(_sleep, 5, timeout=0.2, fork=False).result() == "did not finish in 0.2 s"


def test_the_tower_word_test_agrees_with_the_tower_patterns():
    """config._any_tower (a set test over dotted parts) must say what the three regexes say, name by name."""
    assert check_config._TOWER_WORDS is not None  # all three patterns are word lists: the fast test is in use
    names = [
        "model.layers.0.mlp.experts.3.down_proj.weight_scale_inv", "visual.blocks.0.attn.qkv.weight_scale",
        "model.visual.merger.mlp.0.weight_scale", "visualx.blocks.0.weight_scale", "model.vision.x.scales",
        "audio_tower.layers.1.fc1.qzeros", "model.audio_towers.x", "multi_modal_projector.linear_1.scales",
        "connector.proj.weight_scale", "model.connectors.w.scales", "a.vit", "vit_b.x", "image_newline",
        "model.language_model.layers.2.self_attn.q_proj.weight_scale_inv", "deepstack_merger_list.0.x.scales",
    ]
    for n in names:
        want = any(p.search(n) for p in (VISION_PAT, AUDIO_PAT, PROJECTOR_PAT))
        assert check_config._any_tower([n]) == want, n
    assert check_config._any_tower(names)
    assert not check_config._any_tower([n for n in names if not any(
        p.search(n) for p in (VISION_PAT, AUDIO_PAT, PROJECTOR_PAT))])
