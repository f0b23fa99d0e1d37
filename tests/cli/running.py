"""Running ``python -m creditledger`` in a subprocess, as a user would, and what every run must
show: the exit code, a one-line ``error:`` message where it fails, and never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PASSPHRASE = "cli-test-passphrase"
Result = subprocess.CompletedProcess[str]
_KEK_FILE: list[Path] = []


def kek_file() -> Path:
    """A key file holding the tests' key-encryption key (the worlds' :data:`KEK`), made once
    per test session: every run is given it, as a school gives its own."""
    if not _KEK_FILE:
        from tests.services.bank.fixtures import KEK

        path = Path(tempfile.mkdtemp(prefix="creditledger-kek-")) / "school.kek"
        KEK.save(path)
        _KEK_FILE.append(path)
    return _KEK_FILE[0]


def run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
        ) -> Result:
    """``creditledger ARGS`` with the test passphrase in the environment."""
    return subprocess.run(
        [sys.executable, "-m", "creditledger", *(str(a) for a in args)],
        capture_output=True, text=True, timeout=120, cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "CREDITLEDGER_PASSPHRASE": PASSPHRASE,
             "CREDITLEDGER_KEK_FILE": str(kek_file()), **(env or {})},
    )


def run_many(commands: Sequence[Sequence[str | Path]]) -> list[Result]:
    """Several independent commands at once (each its own process)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda args: run(*args), commands))


def assert_ok(result: Result) -> Result:
    assert result.returncode == 0, (result.args, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def assert_unusable(result: Result, *words: str, code: int = 2) -> None:
    """Exit ``code`` (2: unusable input), one ``error:`` line naming ``words``, no traceback."""
    assert result.returncode == code, (result.args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join(result.stderr.split())
    assert message.startswith("error:"), message
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in message, (result.args, message)
