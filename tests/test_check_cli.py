"""`ckptscope check` on the command line: exit codes, formats, rule selection, repository settings."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from check_corpus.build import build, write_json, write_st


@pytest.fixture
def bad(tmp_path):
    """A repository with one error (a truncated file in a subfolder: ST008) and one warning (IX006 total_size)."""
    import os

    d = build("IX006", "fire", tmp_path)
    p = write_st(d / "extra" / "adapter.safetensors", {"a.weight": ("F32", [4]), "b.weight": ("F32", [4])})
    os.truncate(p, os.path.getsize(p) - 4)
    return d


def test_exit_codes(run_cli, tmp_path, bad):
    good = build("ST008", "near", tmp_path)
    code, out, _ = run_cli("check", good)
    assert code == 0 and out.strip().startswith("All checks passed")
    code, out, _ = run_cli("check", bad)
    assert code == 1
    assert "ST008 error:" in out and "Found 1 error" in out
    code, _, err = run_cli("check", tmp_path / "nope")
    assert code == 2 and "no such file or folder" in err and "Traceback" not in err
    code, _, err = run_cli("check", good, "--select", "XX9")
    assert code == 2 and "unknown rule 'XX9'" in err
    with pytest.raises(SystemExit) as e:
        run_cli("check", good, "--format", "yaml")
    assert e.value.code == 2


def test_text_line_shape(run_cli, bad):
    code, out, _ = run_cli("check", bad)
    line = next(ln for ln in out.splitlines() if " ST008 " in ln)
    path, tensor, rest = line.split(":", 2)
    assert path == f"{bad}/extra/adapter.safetensors"
    assert tensor == "b.weight"
    assert rest.startswith(" ST008 error: ") and "[fix: the file is truncated: upload it again]" in rest


def test_strict_select_ignore(run_cli, tmp_path):
    d = build("IX006", "fire", tmp_path)  # a warning only
    assert run_cli("check", d)[0] == 0
    assert run_cli("check", d, "--strict")[0] == 1
    assert run_cli("check", d, "--strict", "--ignore", "IX006")[0] == 0
    assert run_cli("check", d, "--strict", "--ignore", "IX")[0] == 0
    assert run_cli("check", d, "--strict", "--select", "ST,MD")[0] == 0
    code, out, _ = run_cli("check", d, "--select", "IX006", "--format", "json")
    doc = json.loads(out)
    assert [r["id"] for r in doc["rules"]] == ["IX006"]
    assert doc["summary"]["warnings"] == 1 and doc["summary"]["exit_code"] == 0


def test_default_off_rules_need_selecting(run_cli, tmp_path):
    d = build("TK006", "fire", tmp_path)
    assert "TK006 info" not in run_cli("check", d)[1]
    assert "TK006 info:" in run_cli("check", d, "--extend-select", "TK006")[1]


def test_settings_files(run_cli, tmp_path):
    d = build("IX006", "fire", tmp_path)
    (d / ".ckptscope.toml").write_text('strict = true\n')
    assert run_cli("check", d)[0] == 1
    (d / ".ckptscope.toml").write_text('strict = true\nignore = ["IX006"]\n')
    assert run_cli("check", d)[0] == 0
    (d / ".ckptscope.toml").unlink()
    (d / "pyproject.toml").write_text('[project]\nname = "m"\n[tool.ckptscope]\n[tool.ckptscope.severity]\nIX006 = "error"\n')
    code, out, _ = run_cli("check", d)
    assert code == 1 and "IX006 error:" in out
    (d / "pyproject.toml").write_text('[tool.ckptscope]\nselect = ["NOPE"]\n')
    code, _, err = run_cli("check", d)
    assert code == 2 and "pyproject.toml" in err and "NOPE" in err
    (d / "pyproject.toml").write_text('[tool.ckptscope\n')
    code, _, err = run_cli("check", d)
    assert code == 2 and "not valid TOML" in err


def test_json(run_cli, bad):
    code, out, _ = run_cli("check", bad, "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["summary"]["exit_code"] == 1
    f = next(f for f in doc["findings"] if f["rule"] == "ST008")
    assert f["severity"] == "error" and f["file"] == "extra/adapter.safetensors"
    assert f["path"] == f"{bad}/extra/adapter.safetensors" and f["tensor"] == "b.weight" and f["fix"]


def test_github(run_cli, bad):
    code, out, _ = run_cli("check", bad, "--format", "github")
    lines = out.splitlines()
    err = next(ln for ln in lines if ln.startswith("::error "))
    assert err.startswith(f"::error file={bad}/extra/adapter.safetensors,title=ckptscope ST008::b.weight: ")
    assert any(ln.startswith("::warning ") and "IX006" in ln for ln in lines)


def test_github_escapes_untrusted_names(tmp_path):
    from ckptscope.checks import CheckResult
    from ckptscope.format.github import render
    from ckptscope.report import Finding

    res = CheckResult("x", [Finding("ST004", "error", "bad\n::error::injected", "a,b:c.safetensors", "t\r\n")], ["ST004"])
    out = render(res)
    assert out.count("\n") == 2 and "::error file=a%2Cb%3Ac.safetensors," in out and "%0A::error::injected" in out


def test_sarif(run_cli, bad, tmp_path):
    out_file = tmp_path / "r.sarif"
    code, out, _ = run_cli("check", bad, "--format", "sarif", "--output", out_file)
    assert code == 1 and "ST008 error:" in out  # the text summary still goes to stdout
    doc = json.loads(out_file.read_text())
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    res = next(r for r in run["results"] if r["ruleId"] == "ST008")
    assert res["level"] == "error" and rules[res["ruleIndex"]]["id"] == "ST008"
    loc = res["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == f"{bad}/extra/adapter.safetensors".lstrip("/")
    assert loc["physicalLocation"]["region"]["startLine"] == 1
    assert loc["logicalLocations"][0]["name"] == "b.weight"
    assert res["partialFingerprints"]
    warn = next(r for r in run["results"] if r["ruleId"] == "IX006")
    assert warn["level"] == "warning"


def test_junit(run_cli, bad):
    code, out, _ = run_cli("check", bad, "--format", "junit")
    root = ET.fromstring(out.split("\n", 1)[1])
    suite = root.find("testsuite")
    cases = {c.get("name").split()[0]: c for c in suite.findall("testcase")}
    assert cases["ST008"].find("failure") is not None
    assert cases["IX006"].find("failure") is None
    assert "total_size" in cases["IX006"].find("system-out").text
    assert int(suite.get("failures")) == 1 and int(suite.get("tests")) == len(cases)


def test_junit_survives_control_characters():
    from ckptscope.checks import CheckResult
    from ckptscope.format.junit import render
    from ckptscope.report import Finding

    res = CheckResult("x", [Finding("ST004", "error", "name '\x00\x1b'", "m.safetensors", "\x00")], ["ST004"])
    ET.fromstring(render(res).split("\n", 1)[1])


def test_single_file_source(run_cli, tmp_path):
    d = build("ST007", "fire", tmp_path)
    code, out, _ = run_cli("check", d / "model.safetensors")
    assert code == 1 and f"{d}/model.safetensors:a: ST007 error: " in out


def test_list_rules(run_cli):
    from ckptscope.checks.registry import RULES

    code, out, _ = run_cli("check", "--list-rules")
    assert code == 0 and len(out.strip().splitlines()) == len(RULES)
    assert "(off by default)" in out


def test_python_api(tmp_path):
    from ckptscope.checks import check

    res = check(str(build("CF002", "fire", tmp_path)))
    assert res.exit_code == 1 and "CF002" in [f.rule for f in res.findings]
    res = check(str(build("CF002", "fire", tmp_path / "b")), ignore=["CF", "RC"])
    assert res.exit_code == 0 and not res.findings


def test_json_metadata_note(tmp_path, run_cli):
    d = build("MD001", "fire", tmp_path)
    write_json(d / "config.json", "[1, 2]")
    code, out, _ = run_cli("check", d)
    assert code == 1
    assert "config.json is a JSON list, not an object" in out and "generation_config.json is not valid JSON" in out


def test_tokenizers_library_rejection_is_an_error(run_cli, tmp_path):
    """tokenizer.json that parses as JSON (so inspect reads its counts) but that the tokenizers library refuses
    to load (a merge names a token outside the vocabulary): check fails it, MD001."""
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers.models import BPE

    d = build("ST008", "near", tmp_path)
    good = json.loads(tokenizers.Tokenizer(BPE({"a": 0, "b": 1, "ab": 2}, [("a", "b")])).to_str())
    write_json(d / "tokenizer.json", good)
    code, out, _ = run_cli("check", d, "--select", "MD001")
    assert code == 0, out
    bad = json.loads(json.dumps(good))
    bad["model"]["merges"].append(["a", "c"])
    write_json(d / "tokenizer.json", bad)
    code, out, _ = run_cli("check", d, "--select", "MD001")
    assert code == 1 and "MD001" in out and "tokenizers library cannot load it" in out


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="the crash is contained by a forked child")
def test_a_tokenizers_library_crash_fails_md001_and_check_survives(run_cli, tmp_path, monkeypatch):
    """A native crash while the tokenizers library loads tokenizer.json (stood in for by a job that kills its own
    process with SIGSEGV) must not take check down: the forked child dies, check reports MD001 and exits 1."""
    tokenizers = pytest.importorskip("tokenizers")
    import os
    import signal

    from tokenizers.models import BPE

    import ckptscope.readers.tokenizer as tk

    d = build("ST008", "near", tmp_path)
    write_json(d / "tokenizer.json", json.loads(tokenizers.Tokenizer(BPE({"a": 0, "b": 1, "ab": 2}, [("a", "b")])).to_str()))
    monkeypatch.setattr(tk, "verify_with_tokenizers", lambda data, file="tokenizer.json": os.kill(os.getpid(), signal.SIGSEGV))
    code, out, _ = run_cli("check", d, "--select", "MD001")
    assert code == 1 and "MD001" in out and f"crashed (signal {int(signal.SIGSEGV)})" in out, out
