"""What the commands print: ``--format table|json|csv`` (``-f``) on every command that prints
records, ``-o FILE``, ``--json`` kept only as a hidden alias, ``--version``, and help that shows
flags as flags and says what the tool does."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from uuid import UUID

import pytest
import typer
from typer.testing import CliRunner

from creditledger.cli.app import ORDER, app
from tests.cli.running import assert_ok, assert_unusable, run, run_many
from tests.cli.school import School, build_school


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> School:
    return build_school(tmp_path_factory.mktemp("output"))


def test_version() -> None:
    from importlib.metadata import version

    result = assert_ok(run("--version"))
    assert result.stdout.strip() == f"creditledger {version('creditledger')}"


def test_the_top_level_help_says_what_the_tool_does_by_group_of_commands() -> None:
    text = assert_ok(run("--help")).stdout
    for group in ("Set up:", "Record (each one signed commit):", "Read (the ledger opened "
                  "read-only", "Audit:", "Certificates:"):
        assert group in " ".join(text.split()), group
    listed = [line.split()[0] for line in text.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == list(ORDER)


def _every_command(group: typer.Typer) -> list[list[str]]:
    command = typer.main.get_command(group)
    names: list[list[str]] = []
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        subs = getattr(sub, "commands", None)
        names += [[name, s] for s in subs] if subs else [[name]]
    return names


@pytest.mark.parametrize("path", _every_command(app), ids=" ".join)
def test_help_shows_flags_as_flags_and_no_json_option(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    if path != ["import"]:  # cli/importing.py (another owner) still shows its --json
        assert "--json" not in result.output  # a hidden, deprecated alias of --format json
    assert "Traceback" not in result.output


def test_records_print_as_a_table_json_or_csv(school: School) -> None:
    ledger = str(school.ledger)
    table, as_json, as_csv, keys_csv, balances, export = run_many([
        ["transcript", ledger, "--learner", "S1"],
        ["transcript", ledger, "--learner", "S1", "--format", "json"],
        ["transcript", ledger, "--learner", "S1", "-f", "csv"],
        ["keys", ledger, "-f", "csv"],
        ["balances", ledger, "--learner", "S1", "-f", "json"],
        ["export", ledger, "accounts"],  # piped: CSV
    ])
    assert "transcript of S1" in assert_ok(table).stdout and "智能财税实务" in table.stdout
    lines = json.loads(assert_ok(as_json).stdout)
    assert [UUID(line["achievement_id"]) for line in lines] == [school.result_id]
    rows = list(csv.DictReader(io.StringIO(assert_ok(as_csv).stdout)))
    assert UUID(rows[0]["achievement_id"]) == school.result_id
    assert rows[0]["credits"] == "4.00"
    assert {r["institution"] for r in csv.DictReader(io.StringIO(assert_ok(keys_csv).stdout))
            } >= {"GZCC", "ISSUER"}
    credits = {r["account"]: r["credits"] for r in json.loads(assert_ok(balances).stdout)}
    assert credits["category/major_core"] == "4.00"
    assert {r["learner_id"] for r in csv.DictReader(io.StringIO(assert_ok(export).stdout))
            } == {"S1", "S2", "M1"}


def test_o_writes_the_records_to_a_file_in_the_format_its_suffix_names(
    school: School, tmp_path: Path
) -> None:
    as_json, as_csv, forced = tmp_path / "t.json", tmp_path / "t.csv", tmp_path / "t.txt"
    results = run_many([
        ["transcript", school.ledger, "--learner", "S1", "-o", as_json],
        ["stats", school.ledger, "--by", "kind", "-o", as_csv],
        ["keys", school.ledger, "-f", "json", "-o", forced],
    ])
    for result in results:
        assert assert_ok(result).stdout == "" and "written to" in result.stderr
    assert UUID(json.loads(as_json.read_text())[0]["achievement_id"]) == school.result_id
    assert next(csv.DictReader(io.StringIO(as_csv.read_text())))["kind"] == "course_result"
    assert len(json.loads(forced.read_text())) == 5  # the root and four institutions


def test_reports_print_as_sentences_json_or_csv_and_json_is_a_deprecated_alias(
    school: School,
) -> None:
    text, as_format, as_alias, as_csv, both = run_many([
        ["verify", school.ledger],
        ["verify", school.ledger, "-f", "json"],
        ["verify", school.ledger, "--json"],
        ["verify", school.ledger, "-f", "csv"],
        ["verify", school.ledger, "--json", "-f", "csv"],
    ])
    assert assert_ok(text).stdout.startswith("intact:")
    report = json.loads(assert_ok(as_format).stdout)
    assert report["intact"] is True and json.loads(assert_ok(as_alias).stdout) == report
    (row,) = csv.DictReader(io.StringIO(assert_ok(as_csv).stdout))
    assert row["intact"] == "True" and row["events"] == str(report["events"])
    assert_unusable(both, "--json", "--format csv")


def test_an_empty_table_says_so_on_stderr(school: School) -> None:
    result = assert_ok(run("history", school.ledger))
    assert result.stdout == "" and "credit transfers: none" in result.stderr
    assert json.loads(assert_ok(run("history", school.ledger, "-f", "json")).stdout) == []
