"""Commands that only read open the ledger read-only, put the views wherever ``--views`` says,
and show a progress bar on a terminal while they build or catch up the views."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from creditledger.cli.app import app
from creditledger.services import CreditBank
from tests.cli.running import PASSPHRASE, assert_ok, run_many
from tests.cli.school import School, build_school


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> School:
    return build_school(tmp_path_factory.mktemp("read-only"))


def _read_commands(school: School, ledger: str) -> list[list[str]]:
    gzcc = str(school.key("gzcc"))
    return [
        ["transcript", ledger, "--learner", "S1"], ["balances", ledger, "--learner", "S1"],
        ["history", ledger], ["stats", ledger], ["export", ledger, "accounts"],
        ["alliance-report", ledger], ["views", ledger], ["keys", ledger],
        ["explain", ledger, "--learner", "S1", "--account", "conversion-loss"],
        ["export-clr", ledger, "--learner", "S1", "--key", gzcc],
        ["status-list", ledger, "--key", gzcc, "-o", str(Path(ledger).parent / "lists")],
    ]


def test_every_read_command_opens_the_ledger_read_only(
    school: School, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[dict[str, Any]] = []
    real = CreditBank.open

    def spy(target: Any, *, read_only: bool = False, env: Any = None,
            kek: Any = None) -> CreditBank:
        opened.append({"read_only": read_only})
        return real(target, read_only=read_only, env=env,  # type: ignore[call-arg,unused-ignore]
                    kek=kek)

    monkeypatch.setattr(CreditBank, "open", spy)
    ledger = str(school.copy(tmp_path))
    for command in _read_commands(school, ledger):
        opened.clear()
        result = CliRunner().invoke(app, command, env={"CREDITLEDGER_PASSPHRASE": PASSPHRASE})
        assert result.exit_code == 0, (command, result.output)
        assert opened and all(o.get("read_only") is True for o in opened), (command, opened)


def test_read_commands_leave_the_ledger_as_it_was_and_the_views_where_told(
    school: School, tmp_path: Path
) -> None:
    ledger = school.copy(tmp_path)
    before = ledger.read_bytes()
    views = tmp_path / "elsewhere" / "views.db"
    views.parent.mkdir()
    commands = [[*c, "--views", str(views)] for c in _read_commands(school, str(ledger))[:5]]
    for result in run_many([commands[0]]) + run_many(commands[1:]):  # the first builds them
        assert_ok(result)
    assert ledger.read_bytes() == before
    assert views.exists() and not (tmp_path / "copy.views.db").exists()


def test_building_the_views_shows_a_progress_bar_on_a_terminal(school: School,
                                                               tmp_path: Path) -> None:
    ledger = school.copy(tmp_path)
    master, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "creditledger", "views", str(ledger)], stdout=subprocess.PIPE,
        stderr=terminal, env={**os.environ, "COLUMNS": "100"})
    os.close(terminal)
    shown = b""
    while chunk := _read(master):
        shown += chunk
    stdout, _ = process.communicate(timeout=60)
    os.close(master)
    assert process.returncode == 0
    assert b"catching up the views" in shown and b"Traceback" not in shown
    assert b"caught up to event" in stdout


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # the other end closed
        return b""
