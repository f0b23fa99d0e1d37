"""Read models: exactly-once, resumable, rebuildable, and equal to the aggregates, following a
SQLite and a PostgreSQL ledger."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from hypothesis import given

from creditledger.errors import CreditLedgerError, NotFoundError, ProjectionTimeout
from creditledger.projections import CreditsProjection, Projector, default_projections
from creditledger.projections import queries as q
from creditledger.services.core import ledger_of
from tests.services.bank.fixtures import EVIDENCE, TODAY, World, make_world, world_on
from tests.services.bank.test_bank_properties import _apply, commands


def snapshot(db: sqlite_utils.Database) -> dict[str, list[Any]]:
    return {
        t: sorted(tuple(r.values()) for r in db[t].rows)
        for t in db.table_names() if not t.startswith("_")
    }


@pytest.fixture()
def world(ledger_target: str | Path, tmp_path: Path) -> Iterator[World]:
    """The bank's world on each backend (``ledger_target``: a SQLite file, then PostgreSQL)."""
    with world_on(ledger_target, tmp_path) as w:
        yield w


def recognise(world: World, course: str = "KJ1101", term: str = "2021-2022-1") -> Any:
    return world.bank.recognise_course_result(
        learner_id="S1", course_code=course, term=term, score=Decimal(80), evidence=EVIDENCE,
        signer=world.gzcc, today=TODAY)


def test_balances_and_transcript_follow_the_ledger_with_positions(world: World) -> None:
    a = recognise(world)
    world.bank.revoke(a.id, reason="error", note="wrong sheet", signer=world.gzcc, today=TODAY)
    recognise(world, "GG1001")
    projector = world.bank.read_models(world.views)
    projector.catch_up()
    assert q.balances(projector.db, "S1") == world.bank.balances("S1")
    lines = q.transcript(projector.db, "S1")
    assert [line.entry for line in lines] == ["recognised", "revoked", "recognised"]
    assert sum((line.credits for line in lines), Decimal(0)) == world.bank.account(
        "S1").total_balance()
    positions = [line.position for line in lines]
    assert positions == sorted(positions) and all(p > 0 for p in positions)
    with pytest.raises(NotFoundError):
        q.transcript(projector.db, "NOBODY")


def test_a_replayed_event_is_never_applied_twice(world: World) -> None:
    recognise(world)
    projector = world.bank.read_models(world.views)
    projector.catch_up()
    before = snapshot(projector.db)
    # Replaying the same batch (as after a crash before the tracking row was read) changes nothing.
    notifications = world.recorder.select_notifications(1, 10_000)
    projector._apply_batch(notifications)
    assert snapshot(projector.db) == before


def test_a_crash_mid_batch_rolls_back_rows_and_position_together(
    world: World, tmp_path: Path
) -> None:
    recognise(world)
    recognise(world, "GG1001")

    class Crashing(CreditsProjection):
        def apply(self, db: sqlite_utils.Database, changes: Any) -> None:
            super().apply(db, changes)
            raise RuntimeError("power cut")

    views = tmp_path / "views.db"
    crashing = Projector(world.recorder, views, [Crashing()], batch_size=7)
    with pytest.raises(RuntimeError):
        crashing.catch_up()
    tracked = crashing.position()
    first_account = world.recorder.select_notifications(
        1, 1, topics=sorted(CreditsProjection.topics))[0].id
    assert tracked < first_account  # the failed batch moved neither rows nor position
    assert crashing.db.execute("SELECT COUNT(*) FROM accounts").fetchone()[0] == 0
    crashing.close()
    resumed = Projector(world.recorder, views, [CreditsProjection()], batch_size=7)
    resumed.catch_up()
    fresh = Projector(world.recorder, tmp_path / "fresh.db", [CreditsProjection()])
    fresh.catch_up()
    assert snapshot(resumed.db) == snapshot(fresh.db)


def test_restart_resumes_where_it_stopped(world: World, tmp_path: Path) -> None:
    recognise(world)
    views = tmp_path / "views.db"
    first = Projector(world.recorder, views, default_projections())
    first.catch_up()
    stopped_at = first.position()
    first.close()
    recognise(world, "GG1001")
    second = Projector(world.recorder, views, default_projections())
    assert second.position() == stopped_at
    assert second.catch_up() == world.recorder.max_notification_id() - stopped_at


def test_read_your_writes_waits_for_a_position(world: World) -> None:
    projector = world.bank.read_models(world.views)
    recordings = ledger_of(world.bank).save(*[], signer=world.gzcc)
    assert recordings == []
    recognise(world)
    head = world.recorder.max_notification_id()
    projector.wait_for(head, timeout=5)
    assert projector.position() >= head
    with pytest.raises(ProjectionTimeout):
        projector.wait_for(head + 100, timeout=0.2)


def test_catalog_search_by_code_name_category_and_level(world: World) -> None:
    projector = world.bank.read_models(world.views)
    projector.catch_up()
    found = q.search_catalog(projector.db, text="会计")
    assert [e.code for e in found if e.type == "course"] == ["KJ1101"]
    cores = q.search_catalog(projector.db, category="major_core")
    assert [e.code for e in cores] == ["KJ2103"]
    certs = q.search_catalog(projector.db, level="intermediate")
    assert [e.code for e in certs] == ["finance"]
    assert q.search_catalog(projector.db, institution="LNPC") == []


def test_statistics_count_credits_net_of_revocations(world: World) -> None:
    a = recognise(world)
    recognise(world, "GG1001")
    world.bank.revoke(a.id, reason="error", note="x", signer=world.gzcc, today=TODAY)
    projector = world.bank.read_models(world.views)
    projector.catch_up()
    (row,) = q.credit_statistics(projector.db, ("kind", "institution"))
    assert row.group == ("course_result", "GZCC")
    assert (row.achievements, row.revoked) == (2, 1)
    assert row.credits == world.bank.account("S1").total_balance()


@given(cmds=commands)
def test_rebuild_from_scratch_equals_the_incrementally_kept_model(cmds: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(Path(tmp) / "p.ledger")
        incremental = Projector(world.recorder, Path(tmp) / "inc.db", default_projections(),
                                batch_size=3)
        known: list[Any] = []
        for cmd in cmds:
            try:
                result = _apply(world.bank, world, cmd, known)
                if cmd[0] != "revoke":
                    known.append(result.id)
            except CreditLedgerError:
                pass
            incremental.catch_up()
        rebuilt = Projector(world.recorder, Path(tmp) / "inc.db", default_projections())
        rebuilt.rebuild()
        scratch = Projector(world.recorder, Path(tmp) / "new.db", default_projections())
        scratch.catch_up()
        assert snapshot(rebuilt.db) == snapshot(scratch.db)
        for learner in ("S1", "S2"):
            assert q.balances(scratch.db, learner) == world.bank.balances(learner)
