"""Every rule fires on its corpus case and stays quiet on its near-miss (tests/check_corpus/build.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from check_corpus.build import ARCH_RULES, CASES, FALLBACK_RULES, build, llama_tensors, write_st
from ckptscope.checkpoint import load_checkpoint
from ckptscope.checks import CheckOptions, run_checks
from ckptscope.checks import config as config_rules
from ckptscope.checks.registry import RULES
from ckptscope.sources.local import LocalSource


def run(path, **opts):
    from check_corpus.build import CASE_OPTIONS, SETTINGS_CASES
    from ckptscope.checks import load_options

    rule = Path(path).name.split("-")[0]
    opts = {**CASE_OPTIONS.get(rule, {}), **opts}
    src = LocalSource(str(path))
    ck = load_checkpoint(src, strict=False)
    if rule in SETTINGS_CASES:
        return run_checks(ck, load_options(src, CheckOptions(select=["ALL"], **opts)))
    return run_checks(ck, CheckOptions(select=["ALL"], **opts))


@pytest.fixture
def no_arch(monkeypatch):
    monkeypatch.setattr(config_rules, "_arch_api", lambda: None)


def test_every_rule_has_a_case():
    assert set(RULES) == set(CASES)


def _needs_arch(rule):
    if rule in ARCH_RULES and config_rules._arch_api() is None:
        pytest.skip("architecture rules (ckptscope.analysis.arch) not installed")


@pytest.mark.parametrize("rule", sorted(CASES))
def test_fires(rule, tmp_path, monkeypatch):
    _needs_arch(rule)
    if rule in FALLBACK_RULES:
        monkeypatch.setattr(config_rules, "_arch_api", lambda: None)
    res = run(build(rule, "fire", tmp_path))
    fired = [f for f in res.findings if f.rule == rule]
    assert fired, f"{rule} did not fire; got {[(f.rule, f.message) for f in res.findings]}"
    assert all(f.severity == RULES[rule].severity for f in fired)
    assert res.exit_code == (1 if any(f.severity == "error" for f in res.findings) else 0)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_near_miss_is_quiet(rule, tmp_path, monkeypatch):
    if rule in FALLBACK_RULES:
        monkeypatch.setattr(config_rules, "_arch_api", lambda: None)
    res = run(build(rule, "near", tmp_path))
    assert rule not in {f.rule for f in res.findings}, [(f.rule, f.message) for f in res.findings]


@pytest.mark.parametrize("rule", [r for r in sorted(CASES) if RULES[r].severity == "error"])
def test_error_near_misses_have_no_errors(rule, tmp_path, monkeypatch):
    """A near-miss of an error rule is a healthy repository: exit code 0."""
    if rule in FALLBACK_RULES:
        monkeypatch.setattr(config_rules, "_arch_api", lambda: None)
    res = run(build(rule, "near", tmp_path))
    assert res.exit_code == 0, [(f.rule, f.message) for f in res.findings if f.severity == "error"]


def test_writer_makes_files_safetensors_accepts(tmp_path):
    """The corpus writer's valid files are valid for the reference implementation."""
    from safetensors import safe_open

    t = llama_tensors(dtype="BF16")
    write_st(tmp_path / "m.safetensors", t, metadata={"format": "pt"})
    with safe_open(str(tmp_path / "m.safetensors"), "np") as f:
        assert set(f.keys()) == set(t)
        assert f.metadata() == {"format": "pt"}


def test_specific_messages(tmp_path, no_arch):
    """The findings name what is wrong, not just that something is."""
    res = run(build("PK001", "fire", tmp_path))
    assert "posix.system" in next(f.message for f in res.findings if f.rule == "PK001")
    res = run(build("PK002", "fire", tmp_path / "b"))
    assert "mymodel.modeling.MyModel" in next(f.message for f in res.findings if f.rule == "PK002")
    res = run(build("MD002", "fire", tmp_path / "c"))
    f = next(f for f in res.findings if f.rule == "MD002")
    assert "../../etc/" in f.message and f.tensor == "model.norm.weight"
    res = run(build("TK001", "fire", tmp_path / "d"))
    assert "'<extra>' = 100" in next(f.message for f in res.findings if f.rule == "TK001")
    res = run(build("CF004", "fire", tmp_path / "e"))
    assert "3 experts" in next(f.message for f in res.findings if f.rule == "CF004")
    res = run(build("ST008", "fire", tmp_path / "f"))
    assert next(f for f in res.findings if f.rule == "ST008").tensor == "lm_head.weight"


def test_one_bad_shard_does_not_hide_the_others(tmp_path):
    """A shard whose header cannot be parsed is one finding; the other shards are still read and checked."""
    d = build("IX006", "near", tmp_path)
    (d / "model-00001-of-00002.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")
    res = run(d)
    rules = {f.rule for f in res.findings}
    assert "ST003" in rules
    ck = load_checkpoint(LocalSource(str(d)), strict=False)
    assert {t.file for t in ck.tensors} == {"model-00002-of-00002.safetensors"}
    assert "IX001" in rules  # tensors of the unreadable shard are reported as absent
