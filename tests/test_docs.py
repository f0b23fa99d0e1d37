"""The documentation runs: each ```python block of every docs/*.md page, in order, in a tmp dir."""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = sorted(p for p in DOCS.glob("*.md") if BLOCK.search(p.read_text(encoding="utf-8")))


POSTGRES_PAGES = {"deploy.md"}
"""Pages whose examples need a PostgreSQL server: given a fresh schema of the test server in
``CREDITLEDGER_URL`` (no password) and ``POSTGRES_PASSWORD``, as a deployment would have them.
Skipped without a test server, failed under CI (see conftest's ``pg_url``)."""


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_documentation_examples_run(
    page: Path, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if page.name in POSTGRES_PAGES:
        url = request.getfixturevalue("pg_url")
        parts = urlsplit(url)
        if parts.password is not None:
            monkeypatch.setenv("POSTGRES_PASSWORD", unquote(parts.password))
            url = url.replace(f":{parts.password}@", "@", 1)
        monkeypatch.setenv("CREDITLEDGER_URL", url)
    # A real module, so that aggregates defined in the docs have importable topics.
    module = types.ModuleType(f"docs_{page.stem}")
    sys.modules[module.__name__] = module
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for number, block in enumerate(BLOCK.findall(page.read_text(encoding="utf-8")), 1):
            code = compile(block, f"{page.name}[block {number}]", "exec")
            exec(code, module.__dict__)
    finally:
        os.chdir(cwd)
        del sys.modules[module.__name__]
