"""Errors on the command line: an unknown id is exit 2 with a message everywhere (never an
empty answer), a key of the wrong kind is named as the mistake it is (``--key`` private,
``--root-key`` and ``--public-key`` public), and no traceback ever reaches the user."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from creditledger.cli import main
from creditledger.projections import queries
from creditledger.services import CreditBank
from tests.cli.running import assert_unusable, run, run_many
from tests.cli.school import School, build_school
from tests.services.bank.fixtures import KEK

NOBODY = str(uuid.uuid4())


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> School:
    return build_school(tmp_path_factory.mktemp("errors"))


def test_an_unknown_id_is_an_error_on_every_read_command(school: School) -> None:
    ledger = str(school.ledger)
    cases = {
        ("history", ledger, "--learner", "NOPE"): "unknown learner 'NOPE'",
        ("transcript", ledger, "--learner", "NOPE"): "unknown learner 'NOPE'",
        ("balances", ledger, "--learner", "NOPE"): "unknown learner 'NOPE'",
        ("explain", ledger, "--learner", "NOPE", "--exemption", "KJ2103"): "unknown learner",
        ("explain", ledger, "--learner", "S1", "--exemption", "NOPE"): "unknown exemption",
        ("alliance-report", ledger, "--month", "2023-13"): "not a month",
        ("alliance-report", ledger, "--month", "2023/01"): "not a month",
        ("stats", ledger, "--by", "colour"): "unknown grouping",
        ("export", ledger, "nonsense"): "unknown read-model table",
        ("export-clr", ledger, "--learner", "NOPE", "--key", str(school.key("gzcc"))):
            "unknown learner",
        ("export-credential", ledger, NOBODY): "unknown course certificate",
    }
    for result, words in zip(run_many(list(cases)), cases.values(), strict=True):
        assert_unusable(result, words)


def test_an_unknown_id_is_an_error_on_every_write_command(school: School, tmp_path: Path
                                                          ) -> None:
    ledger = str(school.copy(tmp_path))
    gzcc = str(school.key("gzcc"))
    before = _events(ledger)
    record = ["record", "course-result", ledger, "--key", gzcc, "--term", "2021-2022-2",
              "--score", "80", "--evidence", "exam sheet"]
    cases = {
        ("revoke", ledger, NOBODY, "--key", gzcc, "--reason", "error", "--note", "x"):
            "unknown achievement",
        ("revoke", ledger, "not-an-id", "--key", gzcc, "--reason", "error", "--note", "x"):
            "is not an id",
        ("correct", ledger, NOBODY, "--key", gzcc, "--score", "90", "--reason", "x"):
            "unknown achievement",
        (*record, "--learner", "NOPE", "--course", "KJ2103"): "unknown learner",
        (*record, "--learner", "S2", "--course", "NOPE"): "unknown course",
        ("open-account", ledger, "--key", gzcc, "--learner", "S9", "--type", "student",
         "--name", "王", "--programme", "NOPE"): "unknown programme",
        ("enrol", ledger, "--key", gzcc, "--learner", "NOPE", "--programme", "530302"):
            "unknown learner",
        ("revoke-staff-key", ledger, "ed25519:nope", "--key", gzcc): "unknown key",
    }
    for result, words in zip(run_many(list(cases)), cases.values(), strict=True):
        assert_unusable(result, words)
    assert _events(ledger) == before  # nothing written


def _events(ledger: str) -> int:
    with CreditBank.open(ledger, kek=KEK) as bank:
        return bank.last_position()


def test_a_key_of_the_wrong_kind_is_named(school: School, tmp_path: Path) -> None:
    ledger = str(school.ledger)
    results = run_many([
        ["head", ledger, "--key", school.pub("root")],
        ["verify", ledger, "--root-key", school.key("root")],
        ["add-staff-key", school.copy(tmp_path), "--key", school.key("gzcc"), "--staff-id",
         "T-1", "--role", "registrar", "--public-key", school.key("gzcc")],
        ["transcript", ledger, "--learner", "S1", "--views", tmp_path / "no" / "such" / "dir"],
    ])
    assert_unusable(results[0], "--key", "PUBLIC key", "private key file")
    assert_unusable(results[1], "PRIVATE key", "--root-key")
    assert_unusable(results[2], "--public-key", "PRIVATE key")
    assert results[3].returncode == 2 and "Traceback" not in results[3].stderr


def test_no_passphrase_and_a_wrong_one_are_one_line(school: School) -> None:
    results = run_many([
        ["head", school.ledger, "--key", school.key("root"), "--passphrase-env", "NOT_SET_X"],
        ["head", school.ledger, "--key", school.key("root"), "--passphrase-env", "HOME"],
    ])
    assert_unusable(results[0], "no passphrase", "NOT_SET_X")
    assert_unusable(results[1], "cannot decrypt")


def test_main_catches_what_a_command_lets_escape(
    school: School, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("a bug\nwith two lines")

    monkeypatch.setattr(queries, "transcript", broken)
    monkeypatch.setattr(sys, "argv", ["creditledger", "transcript", str(school.ledger),
                                      "--learner", "S1"])
    monkeypatch.delenv("CREDITLEDGER_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == "error: unexpected RuntimeError: a bug\\nwith two lines"
    assert "Traceback" not in captured.out + captured.err


def test_a_usage_error_is_exit_2_without_a_traceback(school: School) -> None:
    result = run("transcript", school.ledger)
    assert result.returncode == 2 and "Missing option '--learner'" in result.stderr
    assert "Traceback" not in result.stderr
