"""The portal in a real browser: headless Chromium from the Debian packages, driven by
Playwright, renders a table page with its facets and the charts page with its bars. The
screenshot it takes is docs/portal-charts.png (written there when CREDITLEDGER_SCREENSHOTS is
set)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.portal.serving import serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="no Chromium here (apt-get install chromium); .ci/run installs it")


def test_a_table_page_and_a_chart_render_in_chromium(demo_ledger: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with serving(demo_ledger) as portal, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(portal.url + "/creditledger/achievements")
            assert "学习成果 achievements" in page.locator("h1").inner_text()
            facets = page.locator(".facet-info").all_inner_texts()
            assert any(text.startswith("kind") and "course_result" in text for text in facets)
            page.goto(portal.url + "/-/charts")
            bars = page.locator("#credits-by-category g.bar")
            labels = [bars.nth(i).get_attribute("data-label") for i in range(bars.count())]
            assert "专业核心 major_core" in labels and len(labels) == 4
            box = page.locator("#credits-by-category rect").first.bounding_box()
            assert box is not None and box["width"] > 10  # drawn, not just in the markup
            assert "66.7%" in (page.locator("#pass-rates").text_content() or "")
            shot = page.screenshot(path=str(tmp_path / "portal-charts.png"), full_page=True)
            assert shot[:8] == b"\x89PNG\r\n\x1a\n"
            if os.environ.get("CREDITLEDGER_SCREENSHOTS"):
                (DOCS / "portal-charts.png").write_bytes(shot)
        finally:
            browser.close()
