"""``creditledger import`` as a school runs it: exit 0 all recorded, 1 bad rows (nothing
written), 2 nothing could be imported (one ``error:`` line), 3 good rows written and the bad ones
sent to ``--skip-bad``; never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from creditledger.crypto.keys import SigningKey
from tests.cli.running import kek_file
from tests.services.bank.fixtures import make_world

from .files import (
    LEARNER_COLUMNS,
    RESULT_COLUMNS,
    learner,
    result,
    write_csv,
    write_json,
    write_xlsx,
)


@dataclass
class Setup:
    ledger: Path
    key: Path
    folder: Path


def _events(ledger: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(f"{ledger.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture()
def setup(tmp_path: Path) -> Iterator[Setup]:
    world = make_world(tmp_path / "bank.ledger")
    key = world.gzcc.save(tmp_path / "gzcc.pem", b"pw")
    world.bank.close()
    yield Setup(tmp_path / "bank.ledger", key, tmp_path)


def run(setup: Setup, file: Path, *args: str, key: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "creditledger", "import", str(setup.ledger), str(file),
         "--key", str(key or setup.key), *args],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "CREDITLEDGER_PASSPHRASE": "pw", "COLUMNS": "200",
             "CREDITLEDGER_KEK_FILE": str(kek_file())})
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def one_error(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """The one ``error:`` line of a command that could import nothing (exit 2)."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    message = " ".join(done.stderr.split())
    assert message.startswith("error:") and message.count("error:") == 1, message
    for word in words:
        assert word in message, message
    return message


def events(setup: Setup) -> int:
    return _events(setup.ledger)


# -- exit 0 --------------------------------------------------------------------------------------


def test_an_excel_workbook_imports_and_exits_0(setup: Setup) -> None:
    book = write_xlsx(setup.folder / "learners.xlsx", LEARNER_COLUMNS,
                      [[2021001, "student", "陈晓敏", 530302], learner("N2")])
    done = run(setup, book, "--type", "learner")
    assert done.returncode == 0, done.stderr
    assert "imported 2 rows: 2 written" in done.stdout


def test_a_gb18030_csv_imports_with_encoding_gb18030(setup: Setup) -> None:
    path = write_csv(setup.folder / "learners.csv", LEARNER_COLUMNS, [learner("N1", "陈晓敏")],
                     encoding="gb18030")
    done = run(setup, path, "--type", "learner", "--encoding", "gb18030")
    assert done.returncode == 0, done.stderr
    assert "1 written" in done.stdout


def test_skip_bad_with_every_row_good_exits_0(setup: Setup) -> None:
    path = write_csv(setup.folder / "learners.csv", LEARNER_COLUMNS, [learner("N1")])
    done = run(setup, path, "--type", "learner", "--skip-bad", str(setup.folder / "bad.csv"))
    assert done.returncode == 0, done.stderr
    assert (setup.folder / "bad.csv").read_text(encoding="utf-8").strip() == "line,field,problem"


# -- exit 2: nothing could be imported -----------------------------------------------------------


def test_a_gb18030_csv_read_as_utf8_exits_2_suggesting_encoding_gb18030(setup: Setup) -> None:
    path = write_csv(setup.folder / "learners.csv", LEARNER_COLUMNS, [learner("N1", "陈晓敏")],
                     encoding="gb18030")
    before = events(setup)
    one_error(run(setup, path, "--type", "learner"), "not UTF-8", "--encoding gb18030")
    assert events(setup) == before


def test_a_wrong_header_exits_2_once_listing_the_expected_columns(setup: Setup) -> None:
    path = write_csv(setup.folder / "learners.csv",
                     ["learner_id", "learner_typ", "name", "programme_code"],
                     [learner(f"N{i}") for i in range(30)])
    message = one_error(run(setup, path, "--type", "learner"), "header:",
                        "unknown column 'learner_typ'", "missing column 'learner_type'",
                        "learner_id, learner_type, name, id_document_type")
    assert "line " not in message


def test_an_unknown_signing_key_exits_2_once(setup: Setup) -> None:
    stranger = SigningKey.generate()
    key = stranger.save(setup.folder / "stranger.pem", b"pw")
    path = write_csv(setup.folder / "learners.csv", LEARNER_COLUMNS,
                     [learner(f"N{i}") for i in range(30)])
    one_error(run(setup, path, "--type", "learner", key=key), "signer", stranger.key_id)


@pytest.mark.parametrize("name", ["empty.csv", "empty.json", "empty.xlsx"])
def test_an_empty_file_exits_2_saying_it_is_empty(setup: Setup, name: str) -> None:
    path = setup.folder / name
    if name.endswith(".xlsx"):
        import openpyxl

        openpyxl.Workbook().save(path)
    else:
        path.write_bytes(b"")
    one_error(run(setup, path, "--type", "learner"), "is empty")


def test_a_json_object_instead_of_an_array_exits_2(setup: Setup) -> None:
    path = write_json(setup.folder / "one.json", {"type": "learner", "learner_id": "N1"})
    one_error(run(setup, path), "one JSON object, not an array")


def test_skip_bad_naming_the_input_file_exits_2_and_leaves_it_alone(setup: Setup) -> None:
    rows = [result("S1"), result("S2", score="120")]
    path = write_csv(setup.folder / "results.csv", RESULT_COLUMNS, rows)
    content, before = path.read_bytes(), events(setup)
    one_error(run(setup, path, "--type", "achievement", "--skip-bad", str(path)),
              "skip_bad", "the file being imported")
    assert path.read_bytes() == content
    assert events(setup) == before


def test_skip_bad_naming_the_ledger_exits_2(setup: Setup) -> None:
    path = write_csv(setup.folder / "results.csv", RESULT_COLUMNS, [result("S1")])
    one_error(run(setup, path, "--type", "achievement", "--skip-bad", str(setup.ledger)),
              "skip_bad", "the ledger")
    assert setup.ledger.read_bytes()[:16] == b"SQLite format 3\x00"


# -- exit 1 and 3: bad rows ----------------------------------------------------------------------


def test_bad_rows_without_skip_bad_exit_1_and_write_nothing(setup: Setup) -> None:
    path = write_csv(setup.folder / "results.csv", RESULT_COLUMNS,
                     [result("S1"), result("S2", score="八十")])
    before = events(setup)
    done = run(setup, path, "--type", "achievement")
    assert done.returncode == 1
    assert "line 3: score: must be a number such as 88.5, not '八十'" in done.stderr
    assert "nothing written" in done.stderr
    assert events(setup) == before


def test_skip_bad_with_rejected_rows_exits_3_after_writing_the_good_ones(setup: Setup) -> None:
    path = write_csv(setup.folder / "results.csv", RESULT_COLUMNS,
                     [result("S1"), result("S2", score="120"), result("M1")])
    rejects = setup.folder / "rejects.csv"
    done = run(setup, path, "--type", "achievement", "--skip-bad", str(rejects))
    assert done.returncode == 3, done.stderr
    assert "2 written" in done.stdout and "1 rejected to" in done.stdout
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("line,field,problem,") and lines[1].startswith("3,score,")


def test_a_terminal_escape_in_a_cell_is_printed_escaped(setup: Setup) -> None:
    path = write_csv(setup.folder / "results.csv", RESULT_COLUMNS,
                     [result("S1", score="\x1b[31m88")])
    done = run(setup, path, "--type", "achievement")
    assert done.returncode == 1
    assert "\x1b" not in done.stderr and "\\x1b[31m88" in done.stderr
