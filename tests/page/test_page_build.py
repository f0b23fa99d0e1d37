"""The committed page is exactly what ``node interop/page/build.mjs`` builds from its sources,
the npm packages interop/package-lock.json pins and the package's JSON-LD contexts; and the CLI
writes it, without Node.js."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from creditledger.audit.page import verifier_page
from tests.audit.helpers import cli

ROOT = Path(__file__).resolve().parents[2]
INTEROP = ROOT / "interop"


def test_the_committed_page_is_what_the_build_produces(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (INTEROP / "node_modules" / "esbuild").exists():
        if os.environ.get("CI"):
            pytest.fail("CI must build the page: .ci/run installs Node.js and runs npm ci")
        pytest.skip("no Node.js or no interop/node_modules (cd interop && npm ci)")
    out = tmp_path / "verifier.html"
    built = subprocess.run([node, "page/build.mjs", str(out)], cwd=INTEROP, capture_output=True,
                           text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    assert out.read_bytes() == verifier_page(), (
        "src/creditledger/audit/page/verifier.html is stale: run "
        "(cd interop && node page/build.mjs) and commit it")


def test_the_cli_writes_the_page_and_refuses_a_place_it_cannot_write(tmp_path: Path) -> None:
    page = tmp_path / "verify.html"
    written = cli("verifier-page", "-o", str(page))
    assert written.exit_code == 0 and page.read_bytes() == verifier_page()
    text = page.read_text(encoding="utf-8")
    assert "default-src 'none'" in text  # the page's own no-network policy
    assert "https://www.w3.org/ns/credentials/v2" in text  # the contexts, inlined
    refused = cli("verifier-page", "-o", str(tmp_path / "missing" / "verify.html"))
    assert refused.exit_code == 2 and refused.stderr.startswith("error: ")
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.output


def test_the_docs_carry_the_same_page_for_anyone_to_download() -> None:
    """docs/verify.html is the page itself, so that a school can link employers to it (or
    mail it) without installing anything: ``creditledger verifier-page -o docs/verify.html``."""
    assert (ROOT / "docs" / "verify.html").read_bytes() == verifier_page(), (
        "docs/verify.html is stale: run creditledger verifier-page -o docs/verify.html")
