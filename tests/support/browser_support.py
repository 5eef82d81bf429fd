"""A real browser for the page tests: Debian's Chromium driven by Playwright, and the app served
by uvicorn on a free loopback port (in a thread of the test process).

Chromium missing is a failure, never a skip: `make setup` installs it (DEB_PACKAGES). Playwright
only drives it; its own browser downloads are never used (there is no network for them).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Route, sync_playwright
from tests_support import free_port

from callbridge.adapters.web.pages.access import STATIC_DIR
from callbridge.app import App

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 720}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Chromium, headless, with a fresh profile (Playwright makes a new temporary one)."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def served(app: App) -> Iterator[str]:
    """The app on http://127.0.0.1:PORT until the block ends, lifespan and all."""
    port = free_port()
    config = uvicorn.Config(
        app.api,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the test server did not start")
        time.sleep(0.02)
    try:
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def screenshot(page: Page, where: Path, name: str) -> Path:
    """A screenshot under the test's directory; with CALLBRIDGE_SCREENSHOTS=1 also copied to
    docs/screenshots/ for the docs (not on every run: the tree stays as checked out)."""
    path = where / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("CALLBRIDGE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / f"{name}.png")
    return path


ORIGIN = "http://callbridge.test"


def module_page(browser: Browser) -> Page:
    """A blank page of a made-up origin whose /static/ files are the package's own: for running
    the pages' ES modules (the reducers) in Chromium without a server."""
    page = browser.new_page()

    def fulfil(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path.startswith("/static/"):
            target = STATIC_DIR / path.removeprefix("/static/")
            kind = "text/javascript" if target.suffix == ".js" else "text/css"
            route.fulfill(status=200, content_type=kind, body=target.read_bytes())
        else:
            route.fulfill(
                status=200, content_type="text/html", body="<!doctype html><title>x</title>"
            )

    page.route(f"{ORIGIN}/**", fulfil)
    page.goto(f"{ORIGIN}/")
    return page


def reduce_in_browser(
    page: Page, view: str, state: dict[str, Any], events: list[dict[str, Any]]
) -> dict[str, Any]:
    """The view's reducer (static/js/reduce_<view>.js), run by Chromium."""
    result: dict[str, Any] = page.evaluate(
        """async ([view, state, events]) => {
            const module = await import(`/static/js/reduce_${view}.js`);
            return module.reduce(state, events);
        }""",
        [view, state, events],
    )
    return result
