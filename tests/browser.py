"""Open an HTML report in headless Chromium (Debian's ``chromium`` package, driven by Playwright's Python package)
with every request other than the file itself refused, and record what the page tried and logged.

    with browser() as b:            # None when Playwright or the system Chromium is missing
        v = visit(b, path, screenshot=out_png)
        v.requests, v.console_errors, v.page  # the page stays open until the context exits

Playwright's own browser downloads are never used: the system binary is passed as ``executable_path``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def chromium_path() -> str | None:
    env = os.environ.get("CKPTSCOPE_CHROMIUM")
    if env and os.path.exists(env):
        return env
    for c in CANDIDATES:
        if os.path.exists(c):
            return c
    return shutil.which("chromium")


def available() -> str | None:
    """Why the browser tests cannot run, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (Python package) is not installed"
    if chromium_path() is None:
        return "no system Chromium (apt-get install chromium)"
    return None


@dataclass
class Visit:
    page: object
    url: str
    requests: list[str] = field(default_factory=list)  #: every request the page attempted besides the file
    console_errors: list[str] = field(default_factory=list)


@contextlib.contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


def visit(b, path: Path, *, screenshot: Path | None = None, color_scheme: str = "light", javascript: bool = True,
          width: int = 1100, height: int = 900, full_page: bool = True) -> Visit:
    url = Path(path).resolve().as_uri()
    ctx = b.new_context(viewport={"width": width, "height": height}, color_scheme=color_scheme,
                        java_script_enabled=javascript)
    page = ctx.new_page()
    v = Visit(page, url)

    def route(r):
        if r.request.url == url:
            r.continue_()
        else:
            v.requests.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page.on("console", lambda m: v.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: v.console_errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: None if r.url == url or r.url in v.requests else v.requests.append(r.url))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(100)
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=full_page)
    return v
