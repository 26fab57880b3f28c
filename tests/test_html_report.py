"""The HTML reports (--format html): one self-contained, valid HTML5 file whose figures are the JSON's.

Without a browser: structure, validity (html5lib in strict mode), no external reference, size, the layout section's
sums against a hand derivation from DeepSeek-V3's config.json. The browser tests are in test_html_browser.py.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from conftest import CONFIGS, ROOT

DSV3_CONFIG = CONFIGS / "deepseek-ai__DeepSeek-V3"


@pytest.fixture(scope="session")
def dsv3_folder(tmp_path_factory) -> Path:
    """A 163-shard DeepSeek-V3 folder of sparse safetensors files (benchmarks/bench_headers.py's builder)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_headers

    d = tmp_path_factory.mktemp("dsv3")
    n_tensors, n_shards = bench_headers.build(d, 163)
    assert (n_tensors, n_shards) == (91_991, 163)
    return d


@pytest.fixture(scope="session")
def dsv3_pages(dsv3_folder, tmp_path_factory) -> dict:
    from ckptscope.cli import main

    out = tmp_path_factory.mktemp("pages")
    html, js = out / "r.html", out / "r.json"
    assert main(["inspect", str(dsv3_folder), "--format", "html", "--output", str(html), "-q"]) == 0
    assert main(["inspect", str(dsv3_folder), "--json", "--layout", "--output", str(js), "-q"]) == 0
    return {"html": html, "json": json.loads(js.read_text()), "text": html.read_text(encoding="utf-8")}


def strict_parse(text: str) -> None:
    html5lib = pytest.importorskip("html5lib")
    p = html5lib.HTMLParser(strict=True)
    p.parse(text)  # raises html5lib.html5parser.ParseError on the first parse error
    assert not p.errors


def embedded(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="ckptscope-data">(.*?)</script>', text, re.S)
    assert m, "the page embeds its JSON"
    return json.loads(m.group(1))


EXTERNAL = re.compile(r"""(?:\b(?:src|href|action|poster|srcset)\s*=\s*["']?(?!#)[^"'\s>]+|url\(|@import|\bfetch\(|XMLHttpRequest|\bimport\()""",
                      re.I)


def test_squarify_tiles_the_rectangle_in_proportion():
    from ckptscope.format.treemap import squarify

    vals = [653.9, 15.4, 11.4, 2.55, 1.85, 1.85, 1.19, 0.21, 0.17, 0.002, 0.0]
    rects = squarify(vals, 0, 0, 1000, 600)
    total = sum(vals)
    for v, (x, y, w, h) in zip(vals, rects):
        assert w * h == pytest.approx(600_000 * v / total, rel=1e-9, abs=1e-9)
        assert 0 <= x and 0 <= y and x + w <= 1000 + 1e-6 and y + h <= 600 + 1e-6
    # no two rectangles overlap
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            ox = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
            oy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
            assert ox <= 1e-6 or oy <= 1e-6


def test_layout_folds_deepseek_v3_as_derived_by_hand(dsv3_pages):
    """DeepSeek-V3 config.json: 61 layers, first_k_dense_replace 3, 256 routed experts of 2048x7168 (gate, up;
    down transposed) stored in FP8 (1 byte), 1 MTP layer. So the routed experts are one group of 58 identical
    layers (3-60) holding 58*256*3 tensors and 58*256*3*2048*7168 bytes."""
    cfg = json.loads((DSV3_CONFIG / "config.json").read_text())
    L, k, E, I, Hd = (cfg["num_hidden_layers"], cfg["first_k_dense_replace"], cfg["n_routed_experts"],
                      cfg["moe_intermediate_size"], cfg["hidden_size"])
    d = dsv3_pages["json"]
    lay = {c["component"]: c for c in d["layout"]["components"]}
    ex = lay["moe_experts"]
    assert len(ex["groups"]) == 1
    g = ex["groups"][0]
    assert (g["kind"], g["layers"], g["count"]) == ("MoE", f"{k}\u2013{L - 1}", L - k)
    assert g["tensors"] == (L - k) * E * 3
    assert g["bytes"] == ex["bytes"] == (L - k) * E * 3 * I * Hd
    names = {p["name"] for p in g["patterns"]}
    assert "model.layers.*.mlp.experts.*.down_proj.weight" in names
    # the dense MLP: layers 0..k-1 folded
    assert [(x["layers"], x["count"]) for x in lay["mlp"]["groups"]] == [(f"0\u2013{k - 1}", k)]
    # the MTP layer is its own kind
    assert lay["mtp"]["groups"][0]["kind"] == "MTP" and lay["mtp"]["groups"][0]["layers"] == str(L)
    kinds = d["layout"]["layer_kinds"]
    assert [kinds[str(i)] for i in (0, k - 1, k, L - 1, L)] == ["dense", "dense", "MoE", "MoE", "MTP"]
    # every component's totals are the report's own
    for c in d["layout"]["components"]:
        assert c["bytes"] == d["bytes"]["by_component"][c["component"]]
        assert c["parameters"] == d["parameters"]["by_component"][c["component"]]
        assert c["bytes"] == sum(x["bytes"] for x in c["groups"])
        for x in c["groups"]:
            assert x["bytes"] == sum(p["bytes"] for p in x["patterns"]) + (x.get("omitted") or {}).get("bytes", 0)
    assert sum(c["tensors"] for c in d["layout"]["components"]) == d["tensors"]["count"] == 91_991


def test_inspect_page_is_small_valid_and_self_contained(dsv3_pages):
    text = dsv3_pages["text"]
    assert dsv3_pages["html"].stat().st_size < 1_000_000
    strict_parse(text)
    assert not EXTERNAL.findall(text), EXTERNAL.findall(text)[:5]
    data = embedded(text)
    js = dsv3_pages["json"]
    assert data["parameters"] == js["parameters"]
    assert data["bytes"] == js["bytes"]
    total = js["parameters"]["total"]
    assert f'id="parameters-total">{total:,}<' in text
    # aggregated, not one node per tensor
    assert text.count("<rect") < 2_000
    # each component's row shows the text output's figures
    from ckptscope.units import human_bytes

    for comp, nb in js["bytes"]["by_component"].items():
        n = js["parameters"]["by_component"][comp]
        assert f"<td class=\"n\">{n:,}</td>" in text
        assert human_bytes(nb, both=False) in text


def test_estimate_and_check_pages_are_valid(tmp_path, run_cli):
    e = tmp_path / "e.html"
    code, out, err = run_cli("estimate", CONFIGS / "meta-llama__Llama-3.1-8B", "--context", "8192", "--gpus", "H100",
                             "--format", "html", "--output", e)
    assert code == 0 and out == "", err
    text = e.read_text(encoding="utf-8")
    strict_parse(text)
    assert not EXTERNAL.findall(text)
    data = embedded(text)
    pts = {p["context"]: p for p in data["context_sweep"]["points"]}
    assert 8192 in pts and 1024 in pts and 131072 in pts  # up to max_position_embeddings
    code, out, _ = run_cli("estimate", CONFIGS / "meta-llama__Llama-3.1-8B", "--context", "8192", "--gpus", "H100",
                           "--json")
    plain = json.loads(out)
    assert pts[8192]["setups"][0]["per_gpu"] == plain["inference"]["per_gpu"]
    assert data["inference"] == plain["inference"]

    from tests.check_corpus import build as B

    repo = tmp_path / "repo"
    repo.mkdir()
    B.CASES["TK001"][0](repo)
    c = tmp_path / "c.html"
    code, out, err = run_cli("check", repo, "--format", "html", "--output", c)
    assert code == 1
    text = c.read_text(encoding="utf-8")
    strict_parse(text)
    assert not EXTERNAL.findall(text)
    assert re.search(r'id="verdict">Failed: 1 error', text)
    assert "TK001" in text and "fix:" in text


def test_output_to_an_unwritable_path_is_one_clear_error(tmp_path, run_cli):
    bad = tmp_path / "no-such-dir" / "r.html"
    code, out, err = run_cli("inspect", CONFIGS / "meta-llama__Llama-3.1-8B", "--format", "html", "--output", bad)
    assert code == 2
    assert err.count("\n") == 1 and str(bad) in err and "Traceback" not in err


def test_html_on_stdout_when_no_output(run_cli):
    code, out, _ = run_cli("inspect", CONFIGS / "meta-llama__Llama-3.1-8B", "--format", "html")
    assert code == 0 and out.startswith("<!DOCTYPE html>")
    data = embedded(out)
    assert data["basis"] == "config" and data["layout"]["source"] == "predicted"
    assert "predicted from config.json" in out


def test_diff_page_is_valid_and_shows_the_json_deltas(tmp_path, run_cli):
    a, b = CONFIGS / "meta-llama__Llama-3.2-1B", CONFIGS / "meta-llama__Llama-3.2-3B"
    out = tmp_path / "d.html"
    code, _, _ = run_cli("diff", a, b, "--format", "html", "--output", out)
    assert code == 1  # different
    text = out.read_text(encoding="utf-8")
    strict_parse(text)
    assert not EXTERNAL.findall(text)
    js = json.loads(run_cli("diff", a, b, "--json")[1])
    assert embedded(text)["totals"] == js["totals"]
    assert f"{js['totals']['parameters']['total']['delta']:+,}" in text
    # hand check from the two config.json files: hidden 2048 -> 3072, 16 -> 28 layers
    assert "hidden_size: 2048 -&gt; 3072" in text and "num_hidden_layers: 16 -&gt; 28" in text
