"""The quickstart's demo: a new ledger in the current folder, keys beside it, verified."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from creditledger.cli.demo import DEMO_PASSPHRASE
from creditledger.crypto.keys import SigningKey


def demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CREDITLEDGER_PASSPHRASE"}
    return subprocess.run([sys.executable, "-m", "creditledger", "demo", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**env, "COLUMNS": "160"})


def test_demo_writes_a_verified_ledger_in_the_current_folder(tmp_path: Path) -> None:
    first = demo(tmp_path)
    assert first.returncode == 0, first.stderr
    ledger = tmp_path / "creditledger-demo.ledger"
    assert ledger.is_file()
    keys = tmp_path / "creditledger-demo-keys"
    assert (keys / "root.pem").is_file() and (keys / "GZCC.pem").is_file()
    root = SigningKey.load(keys / "root.pem", DEMO_PASSPHRASE.encode())
    for learner in ("GZCC-2021-0001", "LNPC-2020-0107", "SOC-2022-0031"):
        assert learner in first.stdout
    assert "verified" in first.stdout
    pinned = tmp_path / "root.pub"
    pinned.write_bytes(root.public_key.to_pem())
    check = subprocess.run([sys.executable, "-m", "creditledger", "verify", str(ledger),
                            "--root-key", str(pinned)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    second = demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "creditledger-demo-2.ledger").is_file()


def test_demo_at_an_explicit_path_refuses_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "mine.ledger"
    assert demo(tmp_path, str(target)).returncode == 0
    again = demo(tmp_path, str(target))
    assert again.returncode == 2
    assert "exists" in again.stderr and "Traceback" not in again.stderr
