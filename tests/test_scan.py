"""`ckptscope scan`: many repos through the Hub stand-in (50 ms a request), records, flags, resume, 429s.

The material (tests/scan_corpus.py) is 120 tiny repos under one author: clean Llamas saved with the real
safetensors writer and six broken ones, each broken in its own way and named with the rule it must fire. The
time against a loop of `ckptscope check` is measured by benchmarks/bench_scan.py, not here."""

from __future__ import annotations

import json
import threading
import time

import pytest

from hubstub import HubStub, StubRepo
from scan_corpus import AUTHOR, BROKEN_AT, build_repos
from test_hub import use_env


@pytest.fixture(scope="module")
def corpus():
    return build_repos(120)


@pytest.fixture
def hub(corpus, monkeypatch, tmp_path):
    repos, _ = corpus
    with HubStub() as stub:
        for r in repos:
            stub.add(StubRepo(r.repo_id, dict(r.files), gated=r.gated))
        stub.add(StubRepo("someone-else/model", dict(repos[0].files)))  # another author: never listed
        stub.faults.latency = 0.05
        stub.faults.list_page_size = 50  # three listing pages
        use_env(monkeypatch, tmp_path, stub.url)
        yield stub


def records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def weight_reads(log) -> list[dict]:
    return [e for e in log if e["path"].endswith(".safetensors") or "safetensors-metadata" in e["path"]]


def flagged(rec: dict) -> bool:
    return "error" in rec or rec["check"]["summary"]["errors"] > 0


def test_scan_author_records_and_flags(hub, corpus, tmp_path, run_cli):
    _, expect = corpus
    out = tmp_path / "scan.jsonl"
    code, stdout, err = run_cli("scan", "--author", AUTHOR, "--output", out)
    assert code == 1, err  # some repos are broken
    recs = records(out)
    assert len(recs) == 120
    assert sorted(r["repo"] for r in recs) == sorted(expect)
    by_repo = {r["repo"]: r for r in recs}
    assert {r for r, rec in by_repo.items() if flagged(rec)} == {r for r, e in expect.items() if e["flag"]}
    for rid, e in expect.items():
        rec = by_repo[rid]
        if e["flag"] == "error":
            assert "gated repo" in rec["error"] and "check" not in rec
        elif e["flag"]:
            errs = {f["rule"] for f in rec["check"]["findings"] if f["severity"] == "error"}
            assert e["flag"] in errs, (rid, errs)
        else:
            assert rec["sha"] == hub.repos[rid].sha
            assert rec["basis"] == "headers" and rec["family"] == "llama"
            assert rec["parameters"]["total"] == e["parameters"]
            assert rec["parameters"]["by_dtype"] == {e["dtype"]: e["parameters"]}
            assert rec["parameters"]["active"] == e["parameters"]  # dense: every parameter is active
            assert rec["bytes"]["total"] == e["parameters"] * {"F32": 4, "F16": 2}[e["dtype"]]
            assert rec["check"]["summary"]["exit_code"] == 0 and rec["check"]["findings"] == []
    # the summary table
    assert "error findings" in stdout and "could not be read" in stdout
    for i in BROKEN_AT:
        assert f"{AUTHOR}/model-{i:03d}" in stdout
    assert "someone-else" not in out.read_text()


def test_resume_reads_no_header(hub, corpus, tmp_path, run_cli):
    repos, expect = corpus
    out = tmp_path / "scan.jsonl"
    run_cli("scan", "--author", AUTHOR, "--output", out)
    first = records(out)
    hub.reset_log()
    code, stdout, _ = run_cli("scan", "--author", AUTHOR, "--output", out, "--resume")
    assert code == 1  # the flagged repos are still flagged
    assert weight_reads(hub.log) == []
    again = records(out)[len(first):]
    # only the repo that could not be read is tried again (a failure is not a result to keep)
    assert [r["repo"] for r in again] == [f"{AUTHOR}/model-{i:03d}" for i, b in BROKEN_AT.items()
                                          if b == "gated-no-access"]
    assert "119" in stdout  # skipped

    # one repo gets a new commit: only it is read again
    rid = f"{AUTHOR}/model-010"
    hub.repos[rid] = StubRepo(rid, dict(repos[11].files), sha="f" * 40)
    hub.reset_log()
    run_cli("scan", "--author", AUTHOR, "--output", out, "--resume")
    latest = records(out)
    new = [r for r in latest[len(first) + len(again):] if "error" not in r]
    assert [(r["repo"], r["sha"]) for r in new] == [(rid, "f" * 40)]
    assert new[0]["parameters"]["total"] == expect[f"{AUTHOR}/model-011"]["parameters"]
    assert {e["path"].split("/resolve/")[0] for e in weight_reads(hub.log)} == {f"/{rid}"}


def test_from_file_resume_and_missing_repo(hub, tmp_path, run_cli):
    ids = tmp_path / "ids.txt"
    ids.write_text(f"# nightly list\n{AUTHOR}/model-000\n\n{AUTHOR}/model-005\nnobody/absent\n")
    out = tmp_path / "f.jsonl"
    code, _, _ = run_cli("scan", "--from", ids, "--output", out, "--jobs", "2")
    recs = {r["repo"]: r for r in records(out)}
    assert code == 1 and set(recs) == {f"{AUTHOR}/model-000", f"{AUTHOR}/model-005", "nobody/absent"}
    assert "not found" in recs["nobody/absent"]["error"]
    assert "ST002" in {f["rule"] for f in recs[f"{AUTHOR}/model-005"]["check"]["findings"]}
    hub.reset_log()
    code, _, _ = run_cli("scan", "--from", ids, "--output", out, "--resume")
    assert code == 1 and weight_reads(hub.log) == []
    assert [r["repo"] for r in records(out)[3:]] == ["nobody/absent"]


def test_retry_after_respected(hub, tmp_path, run_cli):
    hub.faults.latency = 0.0
    hub.faults.retry_after = "1"
    hub.faults.statuses = {"/api/models": [429], f"/api/models/{AUTHOR}/model-001": [429]}
    ids_out = tmp_path / "r.jsonl"
    code, _, err = run_cli("scan", "--author", AUTHOR, "--limit", "3", "--output", ids_out)
    recs = records(ids_out)
    assert code == 0, err
    assert [r["repo"] for r in sorted(recs, key=lambda r: r["repo"])] == [f"{AUTHOR}/model-00{i}" for i in range(3)]
    assert all("error" not in r for r in recs)
    log = hub.log
    for path in ("/api/models", f"/api/models/{AUTHOR}/model-001"):
        hits = [e for e in log if e["path"] == path]
        assert [e["status"] for e in hits][:2] == [429, 200]
        assert hits[1]["t"] - hits[0]["t"] >= 0.9  # waited the second the server asked for


def test_usage_and_listing_errors(tmp_path, run_cli):
    code, out, err = run_cli("scan")
    assert code == 2 and "--author" in err
    code, _, err = run_cli("scan", "--author", "x", "--resume")
    assert code == 2 and "--resume needs --output" in err
    code, _, err = run_cli("scan", "--from", tmp_path / "none.txt")
    assert code == 2 and "none.txt" in err
    bad = tmp_path / "bad.txt"
    bad.write_text("not a repo id\n")
    code, _, err = run_cli("scan", "--from", bad)
    assert code == 2 and "line 1" in err
    # HF_ENDPOINT points at a closed port (conftest): the listing cannot be had
    code, _, err = run_cli("scan", "--author", "x", "--output", tmp_path / "o.jsonl")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_engine_keeps_a_bounded_window():
    """However many repos, at most 2 x jobs are taken from the listing ahead of the finished ones."""
    from ckptscope.batch.engine import ScanOptions, Scanner

    pulled = 0
    lock = threading.Lock()
    running = [0, 0]  # now, max
    done = []

    def ids():
        nonlocal pulled
        for i in range(2000):
            pulled += 1
            assert pulled - len(done) <= 2 * 4 + 1
            yield f"o/m{i}", None

    def work(repo, opts):
        with lock:
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.0005)
        with lock:
            running[0] -= 1
        return {"repo": repo, "check": {"summary": {"errors": 0, "warnings": 0}, "findings": []}}

    s = Scanner(ScanOptions(), jobs=4, work=work).run(ids(), done.append)
    assert len(done) == 2000 and s.clean == 2000 and s.exit_code == 0
    assert running[1] <= 4


def test_server_wait_headers():
    """Retry-After first, else the Hub's RateLimit header (t = seconds until the 5-minute window resets)."""
    from ckptscope.batch.listing import server_wait

    assert server_wait({"Retry-After": "3"}) == 3
    assert server_wait({"RateLimit": '"api";r=0;t=55'}) == 55
    assert server_wait({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert server_wait({}) is None


def test_scan_never_uses_the_catalog(tmp_path, run_cli):
    """The Hub is unreachable (conftest: a closed port): a bundled-catalog repo is recorded as not read."""
    ids = tmp_path / "ids.txt"
    ids.write_text("meta-llama/Llama-3.2-1B\n")
    out = tmp_path / "c.jsonl"
    code, _, _ = run_cli("scan", "--from", ids, "--output", out)
    (rec,) = records(out)
    assert code == 1 and "not read from the Hub" in rec["error"] and "parameters" not in rec


def test_search(hub, tmp_path, run_cli):
    hub.faults.latency = 0.0
    out = tmp_path / "s.jsonl"
    code, _, _ = run_cli("scan", "--search", "model-11", "--output", out, "--jobs", "4")
    got = sorted(r["repo"] for r in records(out))
    assert got == [f"{AUTHOR}/model-11{i}" for i in range(10)]
    assert code == 0  # none of them is broken
    hub.reset_log()
    code, _, _ = run_cli("scan", "--search", "model-10", "--author", AUTHOR, "--output", out, "--jobs", "4")
    assert code == 1 and len(records(out)) == 10  # model-109 is gated (a failure)
    (listing,) = [e for e in hub.log if e["path"] == "/api/models"]
