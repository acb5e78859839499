"""Headless Chromium for the web tests: Debian's `chromium` driven by Playwright (no browser download),
one browser for the session and a fresh context (cookies, storage) per test; each test leaves a
screenshot of where it ended in test-output/web/."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, Server, User

CHROMIUM = os.environ.get("PHONECLOUD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-output" / "web"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 360, "height": 740}
# Bounds every wait, so that a broken page fails in seconds rather than hanging the suite.
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser():
    from playwright import sync_api  # a test dependency: missing, it fails the tests rather than skip them

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    # expect() has a timeout of its own (5 s): the same bound as every other wait, for a loaded machine.
    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    with sync_api.sync_playwright() as playwright:
        # Chromium's sandbox refuses to run as root (CI runs as root); the pages are our own.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield launched
        launched.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") + ".png")


class Browsing:
    """A browser context of its own (one user's cookies) on a server, with its pages' script errors kept."""

    def __init__(self, browser, server: Server, viewport: dict | None = None, scale: int = 1):
        self.server = server
        self.context = browser.new_context(base_url=server.url, viewport=viewport or DESKTOP, accept_downloads=True,
                                           device_scale_factor=scale)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        # Script errors and Content-Security-Policy refusals; a 404 that a test asks for is no error here.
        self.page.on("console", lambda message: message.type == "error" and not message.text.startswith(
            "Failed to load resource") and self.errors.append(message.text))
        self.page.on("dialog", lambda dialog: dialog.accept())  # "Delete for good?" and the like: yes

    def sign_in(self, user: User) -> None:
        page = self.page
        page.goto("/signin")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(user.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{self.server.url}/")

    def screenshot(self, name: str) -> Path:
        path = screenshot_path(name)
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def browse(browser, server, request):
    """Opens browsing contexts on the session's server; the last page of each is kept as a screenshot."""
    opened: list[Browsing] = []

    def open_context(viewport: dict | None = None, on: Server | None = None) -> Browsing:
        opened.append(Browsing(browser, on or server, viewport))
        return opened[-1]

    yield open_context
    for number, browsing in enumerate(opened):
        suffix = f"-{number}" if number else ""
        if not browsing.page.is_closed():
            browsing.screenshot(f"{request.node.name}{suffix}")
        browsing.close()
