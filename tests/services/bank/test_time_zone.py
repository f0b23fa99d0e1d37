""""Today" is the date in the ledger's time zone (R4's "not in the future" depends on it).

The genesis declares the school's time zone (an IANA name; default: the machine's), and every
command not given ``today`` and the batch import use the date there: at 02:37 in Beijing a
training completed that day is today's, not tomorrow's, whichever zone the server runs in.
The clock is the store's ``_now`` (UTC), set to one moment here; everything else is real.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from creditledger.crypto.keys import SigningKey
from creditledger.domain import Achievement, Evidence, PersonalData, RuleRef
from creditledger.errors import ValidationError
from creditledger.services.bank import CreditBank
from creditledger.store import ledger as store_ledger
from tests.importing.files import write_csv
from tests.services.bank.fixtures import KEK

# 2026-12-07 18:37 UTC is 2026-12-08 02:37 in Beijing.
MOMENT = datetime(2026, 12, 7, 18, 37, tzinfo=UTC)
BEIJING_DAY = date(2026, 12, 8)
OLD_LEDGER = Path(__file__).resolve().parents[2] / "data" / "ledger-0.1"


@pytest.fixture
def at_0237_beijing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_ledger, "_now", lambda: MOMENT)


def _bank(target: str | Path, time_zone: str | None) -> tuple[CreditBank, SigningKey]:
    """A ledger in ``time_zone`` with a school, a training centre and one learner."""
    root, gzcc, vtc = (SigningKey.generate() for _ in range(3))
    bank = CreditBank.create(target, root, time_zone=time_zone, kek=KEK)
    bank.register_institution(code="GZCC", name="广州城市职业学院", kind="school",
                              has_credit_system=True, public_key=gzcc.public_key, root_key=root)
    bank.register_institution(code="VTC", name="职业技能培训中心", kind="training_organisation",
                              has_credit_system=False, public_key=vtc.public_key, root_key=root)
    bank.open_account(learner_id="M1", learner_type="society_member",
                      personal_data=PersonalData(name="刘美华"), signer=gzcc)
    return bank, vtc


def _record_training(bank: CreditBank, vtc: SigningKey, completed_on: date) -> Achievement:
    return bank.recognise_learning_record(
        kind="training_record", learner_id="M1", title="工业机器人操作", reference="VTC-0001",
        completed_on=completed_on, method="conversion", credits=Decimal("1.5"),
        category="major_elective", rule=RuleRef(rule_id="VTC/robot", version=1),
        evidence=Evidence(description="结业证书"), signer=vtc)


@pytest.mark.usefixtures("at_0237_beijing")
def test_a_training_completed_today_in_beijing_is_accepted_at_0237(
        ledger_target: str | Path) -> None:
    bank, vtc = _bank(ledger_target, "Asia/Shanghai")
    with bank:
        assert bank.today() == BEIJING_DAY
        achievement = _record_training(bank, vtc, BEIJING_DAY)
        assert achievement.record.recognised_on == BEIJING_DAY


@pytest.mark.usefixtures("at_0237_beijing")
def test_the_same_moment_in_a_utc_ledger_is_the_day_before(tmp_path: Path) -> None:
    bank, vtc = _bank(tmp_path / "utc.ledger", "UTC")
    with bank:
        assert bank.today() == date(2026, 12, 7)
        with pytest.raises(ValidationError, match=r"completed_on.*in the future"):
            _record_training(bank, vtc, BEIJING_DAY)
        assert bank.account("M1").entries == {}


@pytest.mark.usefixtures("at_0237_beijing")
def test_an_import_dates_its_rows_in_the_ledgers_time_zone(tmp_path: Path) -> None:
    bank, vtc = _bank(tmp_path / "school.ledger", "Asia/Shanghai")
    rows = write_csv(tmp_path / "training.csv",
                     ["kind", "learner_id", "title", "reference", "completed_on", "method",
                      "credits", "category", "rule_id", "rule_version", "evidence_description"],
                     [["training_record", "M1", "工业机器人操作", "VTC-0002", "2026-12-08",
                       "conversion", "1.5", "major_elective", "VTC/robot", "1", "结业证书"]])
    with bank:
        bank.import_file(rows, record_type="achievement", signer=vtc)
        [achievement_id] = bank.account("M1").entries
        assert bank.achievement(achievement_id).record.recognised_on == BEIJING_DAY


def test_the_time_zone_is_the_ledgers_not_the_machines_that_opens_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "school.ledger"
    _bank(path, "Asia/Shanghai")[0].close()
    monkeypatch.setenv("TZ", "America/New_York")
    with CreditBank.open(path, kek=KEK) as bank:
        assert bank.time_zone == "Asia/Shanghai"
    with CreditBank.open(path, read_only=True) as bank:
        assert bank.time_zone == "Asia/Shanghai"


def test_a_new_ledger_takes_the_machines_time_zone_by_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    with CreditBank.create(tmp_path / "school.ledger", SigningKey.generate()) as bank:
        assert bank.time_zone == "Europe/Berlin"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../etc/passwd", 8])
def test_an_unknown_time_zone_is_refused_and_nothing_is_written(
        tmp_path: Path, zone: object) -> None:
    path = tmp_path / "school.ledger"
    with pytest.raises(ValidationError, match="time_zone"):
        CreditBank.create(path, SigningKey.generate(), time_zone=zone)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_a_ledger_from_before_time_zones_uses_the_machines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "demo.ledger"
    shutil.copy(OLD_LEDGER / "demo.ledger", copy)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    with CreditBank.open(copy, read_only=True) as bank:
        assert bank.time_zone == "Asia/Tokyo"
