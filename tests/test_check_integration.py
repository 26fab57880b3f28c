"""The GitHub Action and the pre-commit hook run the command they document."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from check_corpus.build import build
from conftest import ROOT, env_with_repo

yaml = pytest.importorskip("yaml")


def _shim(tmp_path):
    """A `ckptscope` executable on PATH that runs this checkout."""
    b = tmp_path / "bin"
    b.mkdir()
    exe = b / "ckptscope"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} -m ckptscope \"$@\"\n")
    exe.chmod(0o755)
    env = env_with_repo()
    env["PATH"] = f"{b}{os.pathsep}{env['PATH']}"
    return env


def _action_step(name: str) -> dict:
    doc = yaml.safe_load((ROOT / "action.yml").read_text())
    assert doc["runs"]["using"] == "composite"
    return next(s for s in doc["runs"]["steps"] if s.get("name") == name)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("case,strict,expect", [("CF002-fire", "false", 1), ("IX006-fire", "false", 0),
                                                ("IX006-fire", "true", 1)])
def test_action_check_step(tmp_path, case, strict, expect):
    rule, which = case.split("-")
    d = build(rule, which, tmp_path / "repo")
    step = _action_step("Check")
    env = _shim(tmp_path)
    out_file = tmp_path / "gh_output"
    env.update(GITHUB_OUTPUT=str(out_file), CK_PATH=str(d), CK_STRICT=strict, CK_SELECT="", CK_IGNORE="",
               CK_SARIF=str(tmp_path / "r.sarif"))
    p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == expect, p.stderr
    assert out_file.read_text().strip() == f"exit-code={expect}"
    assert f"::{'error' if expect else 'warning'} file={d}/" in p.stdout
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"


def test_pre_commit_hooks_run_check():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    ids = {h["id"]: h for h in hooks}
    assert ids["ckptscope-check"]["entry"] == "ckptscope check ."
    assert ids["ckptscope-check-strict"]["entry"].endswith("--strict")
    for h in hooks:
        assert h["pass_filenames"] is False and h["language"] == "python"


def test_console_entry_exit_code(tmp_path):
    """`python -m ckptscope check` in a fresh process: the exit code CI sees."""
    d = build("ST011", "fire", tmp_path)
    p = subprocess.run([sys.executable, "-m", "ckptscope", "check", str(d)], env=env_with_repo(),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "ST011 error" in p.stdout and p.stderr == ""
