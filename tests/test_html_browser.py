"""The HTML reports in a real browser: headless Chromium (the system package) driven by Playwright, every request
other than the file itself refused. Skipped when Playwright or Chromium is missing (CI installs both).

Screenshots are written to $CKPTSCOPE_SCREENSHOTS (default: the test's temporary folder) so a person can look at
them; tools/html_screenshot.py makes the README's one the same way."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from browser import available, browser, visit
from conftest import CONFIGS
from test_html_report import dsv3_folder, dsv3_pages  # noqa: F401  (session fixtures)

why = available()
pytestmark = pytest.mark.skipif(why is not None, reason=why or "")


@pytest.fixture(scope="module")
def chromium():
    with browser() as b:
        yield b


def shots(tmp_path: Path) -> Path:
    d = Path(os.environ.get("CKPTSCOPE_SCREENSHOTS") or tmp_path)
    d.mkdir(parents=True, exist_ok=True)
    return d


TREEMAP_JS = """() => {
  const svg = document.querySelector('.v-bytes svg');
  const vb = svg.viewBox.baseVal;
  const total = vb.width * vb.height;
  return Array.from(svg.querySelectorAll('g.comp')).map(g => {
    const r = g.querySelector('rect.cell.comp');
    const lbl = svg.querySelector(`text.lbl[data-for="${g.dataset.component}"]`);
    return {component: g.dataset.component,
            share: (parseFloat(r.getAttribute('width')) * parseFloat(r.getAttribute('height'))) / total,
            labelled: !!lbl && lbl.getBoundingClientRect().width > 0,
            label: lbl ? lbl.textContent : null};
  });
}"""


def test_deepseek_v3_inspect_page_in_chromium(chromium, dsv3_pages, tmp_path):  # noqa: F811
    js = dsv3_pages["json"]
    out = shots(tmp_path)
    v = visit(chromium, dsv3_pages["html"], screenshot=out / "inspect-deepseek-v3.png")
    page = v.page
    assert v.requests == []
    assert v.console_errors == []
    total = js["parameters"]["total"]
    assert page.inner_text("#parameters-total") == f"{total:,}"
    assert f"{total:,}" in page.inner_text("body")
    cells = page.evaluate(TREEMAP_JS)
    by_comp = {k: b for k, b in js["bytes"]["by_component"].items() if b}
    assert sorted(c["component"] for c in cells) == sorted(by_comp)  # one cell per component
    tb = js["bytes"]["total"]
    for c in cells:
        assert abs(c["share"] - by_comp[c["component"]] / tb) < 0.01, c
    labelled = [c for c in cells if c["labelled"]]
    top = max(labelled, key=lambda c: c["share"])
    assert top["component"] == "moe_experts" and top["label"].startswith("MoE routed experts")
    # hover a tensor cell: its details in the panel
    page.hover(".v-bytes g.comp[data-component=moe_experts] rect.cell.t >> nth=0")
    panel = page.inner_text("#tm-panel")
    assert panel.startswith("model.layers.*.mlp.experts.*.") and "F8_E4M3" in panel and "\u00d714,848" in panel and "source: read from the safetensors headers" in panel
    # switch to parameters: the other pre-drawn treemap shows, CSS only
    assert page.is_visible(".v-bytes svg") and not page.is_visible(".v-params svg")
    page.click("label[for=m-params]")
    assert page.is_visible(".v-params svg") and not page.is_visible(".v-bytes svg")
    page.context.close()


def test_inspect_page_reads_with_javascript_off_and_in_dark(chromium, dsv3_pages, tmp_path):  # noqa: F811
    v = visit(chromium, dsv3_pages["html"], javascript=False, color_scheme="dark",
              screenshot=shots(tmp_path) / "inspect-deepseek-v3-dark-nojs.png")
    assert v.requests == [] and v.console_errors == []
    p = v.page
    assert p.is_visible(".v-bytes svg")
    assert p.is_visible("text=By component")
    bg = p.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(20, 20, 20)"  # prefers-color-scheme: dark
    p.emulate_media(media="print", color_scheme="light")
    assert p.is_visible(".v-params svg")  # print shows both views
    p.context.close()


def test_estimate_page_in_chromium(chromium, tmp_path, run_cli):
    e = tmp_path / "e.html"
    args = ["estimate", CONFIGS / "deepseek-ai__DeepSeek-V3", "--context", "8192", "--gpus", "8xH200", "--quant",
            "q4_k_m"]
    assert run_cli(*args, "--format", "html", "--output", e)[0] == 0
    plain = json.loads(run_cli(*args, "--json")[1])
    v = visit(chromium, e, screenshot=shots(tmp_path) / "estimate-deepseek-v3.png")
    assert v.requests == [] and v.console_errors == []
    p = v.page
    shown = p.locator(".ctxs .ctx:visible")
    assert shown.count() == 1 and "8,192 tokens per sequence" in shown.inner_text()
    assert shown.locator("svg rect").count() >= 8  # 2 set-ups x 4 segments
    from ckptscope.units import human_bytes

    tot = human_bytes(plain["inference"]["per_gpu"]["total"], both=False)
    assert tot in shown.inner_text()
    # another context: the planner's figure for it, pre-computed
    data = json.loads(p.evaluate("document.getElementById('ckptscope-data').textContent"))
    pts = data["context_sweep"]["points"]
    i = next(k for k, pt in enumerate(pts) if pt["context"] == 131072)
    p.click(f"label[for=ctx-{i}]")
    shown = p.locator(".ctxs .ctx:visible")
    assert shown.count() == 1 and "131,072 tokens" in shown.inner_text()
    assert human_bytes(pts[i]["setups"][0]["per_gpu"]["total"], both=False) in shown.inner_text()
    p.context.close()


def test_check_page_in_chromium(chromium, tmp_path, run_cli):
    from tests.check_corpus import build as B

    for case, expect in (("fire", "Failed: 1 error"), ("near", "All checks passed")):
        repo = tmp_path / case
        repo.mkdir()
        B.CASES["TK001"][0 if case == "fire" else 1](repo)
        c = tmp_path / f"{case}.html"
        code = run_cli("check", repo, "--format", "html", "--output", c)[0]
        assert code == (1 if case == "fire" else 0)
        v = visit(chromium, c, screenshot=shots(tmp_path) / f"check-{case}.png")
        assert v.requests == [] and v.console_errors == []
        assert v.page.inner_text("#verdict").startswith(expect)
        if case == "fire":
            body = v.page.inner_text("body")
            assert "TK001" in body and "fix: " in body
        v.page.context.close()


def test_diff_page_in_chromium(chromium, tmp_path, run_cli):
    out = tmp_path / "d.html"
    run_cli("diff", CONFIGS / "meta-llama__Llama-3.2-1B", CONFIGS / "meta-llama__Llama-3.2-3B", "--format", "html",
            "--output", out)
    v = visit(chromium, out, screenshot=shots(tmp_path) / "diff-llama-1b-3b.png")
    assert v.requests == [] and v.console_errors == []
    assert "difference" in v.page.inner_text("#verdict")
    v.page.context.close()
