"""A school runs without writing Python: ``init``, ``record`` of every kind, ``correct``,
``enrol`` and the rest, each a thin shell over the documented ``CreditBank`` command (the
walk-through of docs/cli.md, ``test_walkthrough.py``, runs the others in order)."""

from __future__ import annotations

import stat
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.services import CreditBank
from tests.cli.running import assert_ok, assert_unusable, run, run_many
from tests.cli.school import School, build_school
from tests.services.bank.fixtures import KEK


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> School:
    return build_school(tmp_path_factory.mktemp("school"))


def test_init_makes_a_ledger_and_its_root_key_and_never_overwrites(tmp_path: Path) -> None:
    made = assert_ok(run("init", "bank.ledger", "--key", "root.pem", cwd=tmp_path))
    assert "created ledger bank.ledger" in made.stdout
    root = tmp_path / "root.pem"
    assert stat.S_IMODE(root.stat().st_mode) == 0o600 and b"ENCRYPTED PRIVATE KEY" in \
        root.read_bytes()
    pinned = PublicKey.from_file(tmp_path / "root.pub")
    assert verify_ledger(tmp_path / "bank.ledger", root_key=pinned).fault is None
    kept = root.read_bytes(), (tmp_path / "bank.ledger").read_bytes()
    again, same_key, no_folder, no_passphrase = run_many([
        ["init", tmp_path / "bank.ledger", "--key", tmp_path / "other.pem"],
        ["init", tmp_path / "new.ledger", "--key", root],
        ["init", tmp_path / "no" / "x.ledger", "--key", tmp_path / "x.pem"],
        ["init", tmp_path / "y.ledger", "--key", tmp_path / "y.pem", "--passphrase-env", "UNSET_X"],
    ])
    assert_unusable(again, "bank.ledger exists; refusing to overwrite")
    assert_unusable(same_key, "root.pem exists; refusing to overwrite")
    assert_unusable(no_folder)
    assert_unusable(no_passphrase, "no passphrase")
    assert (root.read_bytes(), (tmp_path / "bank.ledger").read_bytes()) == kept


def test_init_records_the_schools_time_zone_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    bad, good = run_many([
        ["init", tmp_path / "mars.ledger", "--key", tmp_path / "mars.pem",
         "--time-zone", "Mars/Olympus_Mons"],
        ["init", tmp_path / "gz.ledger", "--key", tmp_path / "gz.pem",
         "--time-zone", "Asia/Shanghai"],
    ])
    assert_unusable(bad, "--time-zone", "Mars/Olympus_Mons")
    assert not any(p.name.startswith(("mars", ".mars")) for p in tmp_path.iterdir())
    assert "time zone Asia/Shanghai" in assert_ok(good).stdout
    with CreditBank.open(tmp_path / "gz.ledger") as bank:
        assert bank.time_zone == "Asia/Shanghai"
    leftovers = {"other.pem", "other.pub", "new.ledger", "x.pem", "x.pub", "y.pem", "y.ledger"}
    assert not leftovers & {p.name for p in tmp_path.iterdir()}


def test_every_kind_of_achievement_is_recorded_by_its_certifier(school: School, tmp_path: Path
                                                               ) -> None:
    ledger = school.copy(tmp_path)
    common = ["--credits", "4", "--category", "major_elective", "--evidence", "attendance list"]
    certificate = assert_ok(run(
        "record", "certificate", ledger, "--key", school.key("issuer"), "--learner", "S2",
        "--certificate", "finance", "--number", "ZNCS-2022-1", "--level", "intermediate",
        "--issued-on", "2022-06-30", "--credits", "2", "--category", "major_core",
        "--rule", "1+X/finance/intermediate", "--evidence", "certificate copy"))
    training = assert_ok(run(
        "record", "training", ledger, "--key", school.key("vtc"), "--learner", "M1",
        "--title", "会计信息化实务培训", "--reference", "GZVTC-2022-0315", "--completed-on",
        "2022-03-15", "--hours", "72", "--rule", "conversion/training-hours", *common))
    online = assert_ok(run(
        "record", "online-course", ledger, "--key", school.key("vtc"), "--learner", "M1",
        "--title", "Excel 财务建模", "--reference", "MOOC-881", "--completed-on", "2022-05-01",
        "--rule", "conversion/online", "--score", "92", *common))
    again = assert_ok(run(
        "record", "course-result", ledger, "--key", school.key("gzcc"), "--learner", "S1",
        "--course", "KJ2103", "--term", "2021-2022-2", "--score", "80", "--evidence",
        "exam sheet", "--evidence-ref", "archive://exam/1", "--on", "2022-07-15"))
    assert UUID(again.stdout.strip()) == school.result_id
    assert "already recorded (nothing written)" in again.stderr
    assert "recorded x_certificate (职业技能等级证书) of S2" in certificate.stderr
    with CreditBank.open(ledger, kek=KEK) as bank:
        for result, kind in ((certificate, "x_certificate"), (training, "training_record"),
                             (online, "online_course")):
            assert bank.achievement(UUID(result.stdout.strip())).record.kind.value == kind
        assert bank.account("M1").total_balance() == Decimal(8)


def test_the_certifier_alone_records_and_bad_values_name_their_field(school: School,
                                                                    tmp_path: Path) -> None:
    ledger = school.copy(tmp_path)
    record: list[str | Path] = ["record", "course-result", ledger, "--learner", "S2",
                                "--course", "KJ2103", "--term", "2021-2022-2",
                                "--evidence", "exam sheet"]
    not_theirs, bad_score, bad_date, bad_requires, bad_difficulty = run_many([
        [*record, "--key", school.key("lnpc"), "--course-owner", "GZCC", "--score", "70"],
        [*record, "--key", school.key("gzcc"), "--score", "seventy"],
        [*record, "--key", school.key("gzcc"), "--score", "70", "--on", "15/07/2022"],
        ["define-programme", ledger, "--key", school.key("gzcc"), "--code", "X", "--name", "X",
         "--requires", "major_core"],
        ["define-course", ledger, "--key", school.key("gzcc"), "--code", "X1", "--name", "X",
         "--category", "major_core", "--nature", "必修", "--type", "理论", "--attribute", "A类",
         "--theory-hours", "16", "--practice-hours", "0", "--difficulty", "hard",
         "--assessment", "exam"],
    ])
    assert_unusable(not_theirs, "LNPC")
    assert_unusable(bad_score, "score", "'seventy' is not a number")
    assert_unusable(bad_date, "on", "not a date")
    assert_unusable(bad_requires, "requires", "CATEGORY=CREDITS")
    assert_unusable(bad_difficulty, "difficulty")


def test_a_member_of_society_enrols_and_an_administrator_adds_staff(school: School,
                                                                   tmp_path: Path) -> None:
    ledger = school.copy(tmp_path)
    enrolled = assert_ok(run("enrol", ledger, "--key", school.key("gzcc"), "--learner", "M1",
                             "--programme", "530302"))
    assert "enrolled M1 in GZCC/530302" in enrolled.stdout
    new = tmp_path / "t1.pub"
    new.write_text(SigningKey.generate().public_key.to_base64())
    staff: list[str | Path] = ["add-staff-key", ledger, "--staff-id", "T-1", "--role", "assessor",
             "--public-key", new]
    old_spelling = assert_ok(run(*staff, "--admin-key", school.key("gzcc")))
    assert "T-1 (assessor)" in old_spelling.stdout  # --admin-key: the deprecated alias
    assert_unusable(run(*staff, "--key", school.key("gzcc"), "--admin-key",
                        school.key("lnpc")), "--key and --admin-key")
    assert_unusable(run(*staff), "missing option --key")
    with CreditBank.open(ledger, kek=KEK) as bank:
        assert bank.account("M1").programme_code == "530302"


def test_a_score_is_corrected_and_a_failing_one_refused(school: School, tmp_path: Path) -> None:
    ledger = school.copy(tmp_path)
    result = str(school.result_id)
    corrected = assert_ok(run("correct", ledger, result, "--key", school.key("gzcc"),
                              "--score", "90", "--reason", "marking error"))
    assert f"corrected {result}" in corrected.stdout and "score 80 -> 90" in corrected.stdout
    failing, not_theirs = run_many([
        ["correct", ledger, result, "--key", school.key("gzcc"), "--score", "50", "--reason", "x"],
        ["correct", ledger, result, "--key", school.key("lnpc"), "--score", "95", "--reason", "x"],
    ])
    assert_unusable(failing, "pass mark")
    assert_unusable(not_theirs, "LNPC")
    with CreditBank.open(ledger, kek=KEK) as bank:
        course = bank.achievement(school.result_id).record.course
        assert course is not None and course.score == Decimal(90)
