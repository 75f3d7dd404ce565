"""A real browser for the HTML the product writes: Debian's chromium, headless, network off.

``./dev test`` installs chromium where it is absent; Playwright (a test dependency) drives it
and downloads no browser of its own. Every page is opened offline, so a page that needs a CDN
shows it: its scripts fail and the console says so.

    with open_page(html_file) as view:
        assert view.console_errors == []
        view.page.fill("#filter", "nlst")
        view.screenshot(tmp_path / "report.png")
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

#: Where screenshots are kept for people to look at (the closing notes quote them).
SCREENSHOT_DIR = Path(os.environ.get("IDC_QC_SCREENSHOTS", Path(__file__).resolve().parents[2] / "build" / "screenshots"))


def chromium_path() -> str:
    """The chromium executable, or a failure that says how to get it (./dev installs it)."""
    import pytest

    found = os.environ.get("IDC_QC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium is not installed: run ./dev setup (it installs Debian's chromium) or set IDC_QC_CHROMIUM")
    return found


@dataclass
class PageView:
    page: object
    load_seconds: float
    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"] + self.page_errors

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@contextmanager
def open_page(html: Path, *, width: int = 1280, height: int = 900, timeout_ms: int = 30_000) -> Iterator[PageView]:
    """Open ``html`` (a local file) in headless chromium with the network off; wait for the load event."""
    from playwright.sync_api import sync_playwright

    html = Path(html).resolve()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(offline=True, viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            console: list[tuple[str, str]] = []
            page_errors: list[str] = []
            failed: list[str] = []
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("requestfailed", lambda r: failed.append(r.url))
            started = time.perf_counter()
            page.goto(html.as_uri(), wait_until="load")
            loaded = time.perf_counter() - started
            yield PageView(page=page, load_seconds=loaded, console=console, page_errors=page_errors,
                           failed_requests=failed)
        finally:
            browser.close()
