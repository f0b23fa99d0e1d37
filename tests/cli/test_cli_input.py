"""Bad input to ``verify`` and ``head``: one clear line on stderr, exit 2, never a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.ledgers import Built, build_ledger


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "creditledger", *args],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def assert_unusable(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join(result.stderr.split())
    assert message.startswith("error:"), message
    for word in words:
        assert word in message, message


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_ledger(tmp_path_factory.mktemp("cli") / "ok.ledger")


def _corrupt(path: Path, source: Path) -> Path:
    data = bytearray(source.read_bytes())
    data[0:100] = os.urandom(100)
    path.write_bytes(bytes(data))
    return path


BAD_LEDGERS = {
    "missing": (lambda p, b: p, "no such file"),
    "empty": (lambda p, b: (p.write_bytes(b""), p)[1], "empty"),
    "not_sqlite": (lambda p, b: (p.write_text("学分 hello, not a database"), p)[1], "not"),
    "non_ledger_sqlite": (
        lambda p, b: (sqlite3.connect(p).execute("CREATE TABLE t (x)").connection.close(), p)[1],
        "not a creditledger ledger",
    ),
    "corrupt": (_corrupt, "not"),
    "directory": (lambda p, b: (p.mkdir(), p)[1], "not a file"),
}


@pytest.mark.parametrize("case", sorted(BAD_LEDGERS))
def test_verify_of_unusable_input_exits_2_with_one_clear_line(
    case: str, built: Built, tmp_path: Path
) -> None:
    make, words = BAD_LEDGERS[case]
    path = make(tmp_path / f"{case}.ledger", built.path)
    assert_unusable(run("verify", str(path)), str(path), words)


@pytest.mark.parametrize("case", sorted(BAD_LEDGERS))
def test_head_of_unusable_input_exits_2_with_one_clear_line(
    case: str, built: Built, tmp_path: Path
) -> None:
    key = built.root.save(tmp_path / "root.pem", b"pw")
    make, words = BAD_LEDGERS[case]
    path = make(tmp_path / f"{case}.ledger", built.path)
    result = run("head", str(path), "--key", str(key), env={"CREDITLEDGER_PASSPHRASE": "pw"})
    assert_unusable(result, words)


@pytest.mark.parametrize(
    "content", [b"garbage", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", b""]
)
def test_garbage_root_key_exits_2(content: bytes, built: Built, tmp_path: Path) -> None:
    key = tmp_path / "root.pub"
    key.write_bytes(content)
    assert_unusable(run("verify", str(built.path), "--root-key", str(key)), "root key")


def test_missing_root_key_file_exits_2(built: Built, tmp_path: Path) -> None:
    result = run("verify", str(built.path), "--root-key", str(tmp_path / "nope"))
    assert_unusable(result, "root key")


def test_garbage_head_file_exits_2(built: Built, tmp_path: Path) -> None:
    head = tmp_path / "head.json"
    head.write_text("{not json")
    assert_unusable(run("verify", str(built.path), "--against", str(head)), "head file")


def test_head_with_a_garbage_or_wrong_key_exits_2(built: Built, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    env = {"CREDITLEDGER_PASSPHRASE": "pw"}
    assert_unusable(run("head", str(built.path), "--key", str(garbage), env=env), "signing key")
    school = built.school_a.save(tmp_path / "school.pem", b"pw")
    assert_unusable(run("head", str(built.path), "--key", str(school), env=env), "root key")


def test_head_then_verify_against_it_round_trip(built: Built, tmp_path: Path) -> None:
    key = built.root.save(tmp_path / "root.pem", b"pw")
    head = tmp_path / "head.json"
    made = run("head", str(built.path), "--key", str(key), "-o", str(head),
               env={"CREDITLEDGER_PASSPHRASE": "pw"})
    assert made.returncode == 0, made.stderr
    checked = run("verify", str(built.path), "--against", str(head))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "intact" in checked.stdout and "signed head of 15 events" in checked.stdout


def test_a_ledger_the_kept_head_does_not_fit_is_tampered(built: Built, tmp_path: Path) -> None:
    """The head is what the auditor kept: a ledger file of another genesis was replaced."""
    other = build_ledger(tmp_path / "other.ledger")
    key = other.root.save(tmp_path / "root.pem", b"pw")
    head = tmp_path / "head.json"
    run("head", str(other.path), "--key", str(key), "-o", str(head),
        env={"CREDITLEDGER_PASSPHRASE": "pw"})
    result = run("verify", str(built.path), "--against", str(head))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "replaced-ledger" in result.stdout


@pytest.mark.parametrize("command", ["verify", "balances"])
def test_error_messages_are_printed_as_written_not_as_terminal_markup(
    command: str, tmp_path: Path
) -> None:
    path = tmp_path / "[postgres] [bold]x.ledger"  # square brackets that rich would eat
    args = [command, str(path)] + (["--learner", "L1"] if command == "balances" else [])
    assert_unusable(run(*args), str(path), "no such file")
