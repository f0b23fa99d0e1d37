"""The verifier page in a real browser: headless Chromium from the Debian packages, driven by
Playwright, loading the page the CLI writes from a file:// URL, with every request recorded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DONE = '#verdict[data-done]:not([data-done=""])'


@dataclass
class Outcome:
    """What the page shows: its verdict, the failed check's fault, each check's status."""

    verdict: str
    fault: str | None
    checks: dict[str, str]
    details: dict[str, str]
    text: str = ""

    @property
    def failed(self) -> list[str]:
        return [name for name, status in self.checks.items() if status == "fail"]


@dataclass
class PageSession:
    """One browser page showing the verifier page; ``requests`` holds every URL it asked for."""

    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def route(self, route: Any) -> None:
        """Let the page's own file through; refuse (and record) anything else."""
        if route.request.url == self.url:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def check(self, file: Path, root_key: str = "", seal_key: str = "", *,
              witnesses: str = "", quorum: str = "", max_age: str = "",
              held: str = "") -> Outcome:
        self.page.goto(self.url)
        self.page.fill("#root-key", root_key)
        self.page.fill("#seal-key", seal_key)
        self.page.fill("#witness-keys", witnesses)
        self.page.fill("#quorum", quorum)
        self.page.fill("#max-age", max_age)
        self.page.fill("#held-checkpoint", held)
        self.page.set_input_files("#file", str(file))
        return self.outcome()

    def outcome(self) -> Outcome:
        self.page.wait_for_selector(DONE, timeout=60_000)
        verdict = self.page.locator("#verdict")
        rows = self.page.locator("#checks tbody tr")
        checks, details = {}, {}
        for i in range(rows.count()):
            row = rows.nth(i)
            name = row.get_attribute("data-check") or ""
            checks[name] = row.get_attribute("data-status") or ""
            details[name] = row.locator("td.detail").inner_text()
        return Outcome(verdict.get_attribute("data-verdict") or "",
                       verdict.get_attribute("data-fault"), checks, details,
                       self.page.locator("main").inner_text())


@contextmanager
def browsing(page_file: Path) -> Iterator[PageSession]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            session = PageSession(page, page_file.resolve().as_uri())
            page.on("request", lambda r: session.requests.append(r.url))
            page.route("**/*", session.route)
            page.on("pageerror", lambda e: session.requests.append(f"pageerror: {e}"))
            yield session
        finally:
            browser.close()
