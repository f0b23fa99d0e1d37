"""Real files for the verifier page's tests: the page as the CLI writes it, a credit bank's
transcript bundles, an alliance's course certificate and a learner's CLR, with their keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.audit.helpers import Bank, build_bank, cli
from tests.page.browser import CHROMIUM, PageSession, browsing

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="no Chromium here (apt-get install chromium); .ci/run installs it")
"""For the browser tests' modules (``pytestmark = needs_chromium``)."""


@pytest.fixture(scope="session")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page, written by ``creditledger verifier-page`` in a subprocess, as a user would."""
    out = tmp_path_factory.mktemp("page") / "verify.html"
    made = subprocess.run([sys.executable, "-m", "creditledger", "verifier-page", "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    return out


@pytest.fixture(scope="module")
def session(page_file: Path) -> Iterator[PageSession]:
    with browsing(page_file) as opened:
        yield opened


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    return build_bank(tmp_path_factory.mktemp("page-bank"))


@pytest.fixture(scope="module")
def bundle_file(bank: Bank) -> Path:
    out = bank.path.parent / "s1.json"
    result = cli("prove", str(bank.path), "--learner", "S1", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path
