"""Complete bundles (issue 18): for random ledgers, dropping any suffix of any aggregate's
events, dropping a whole aggregate, or swapping in an older checkpoint fails, naming the
aggregate; the full bundle passes; the standalone verifier gives the same verdict and fault
kind every time. The index rebuilt in memory equals the stored one at every checkpoint."""

from __future__ import annotations

import copy
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditledger.audit.bundle import Bundle, build_bundle
from creditledger.audit.bundle_verify import verify_bundle
from creditledger.audit.checkpoints import publish_checkpoint, read_genesis, recorded_checkpoints
from creditledger.crypto.heads import MemoryIndex, heads_root_of
from creditledger.crypto.note import SignedNote
from creditledger.errors import BundleVerificationError, CreditLedgerError, UnusableLedgerError
from creditledger.store.heads import StoredIndex
from creditledger.store.readers import open_reader
from tests.audit.helpers import load_standalone
from tests.conftest import drop_schema, postgres_base_url
from tests.services.transfers.builders import certificate_rule
from tests.services.transfers.world import TODAY, World, make_world

STANDALONE = load_standalone()
LEARNERS = ("S1", "S2")
COURSES = ("KJ1101", "GG1001", "KJ2103")

Op = tuple[str, int, int]
ops = st.lists(st.tuples(
    st.sampled_from(["course", "course", "revoke", "correct", "certificate", "convert",
                     "checkpoint"]),
    st.integers(0, 5), st.integers(60, 100)), min_size=2, max_size=10)


def run_program(world: World, program: list[Op]) -> None:
    """Apply the program's operations (each refused one is skipped), then a checkpoint."""
    bank, made = world.bank, []
    for name, n, score in program:
        learner = LEARNERS[n % 2]
        try:
            if name == "course":
                made.append(bank.recognise_course_result(
                    learner_id=learner, course_code=COURSES[n % 3], term=f"2021-2022-{n % 2 + 1}",
                    score=Decimal(score), evidence=_evidence(), signer=world.gzcc, today=TODAY))
            elif name == "certificate":
                made.append(world.certificate(learner, number=f"ZNCS-{n}-{score}"))
            elif name == "revoke" and made:
                bank.revoke(made[n % len(made)].id, reason="error", note="x", signer=world.gzcc,
                            today=TODAY)
            elif name == "correct" and made:
                bank.correct_result(made[n % len(made)].id, score=Decimal(score), reason="typo",
                                    signer=world.gzcc, today=TODAY)
            elif name == "convert":
                certs = [a.id for a in made
                         if a.kind == "x_certificate" and a.learner_id == learner]
                if certs:
                    bank.convert(learner_id=learner, source_achievement_ids=[certs[-1]],
                                 rule_id="cert", signer=world.gzcc, today=TODAY)
            elif name == "checkpoint":
                publish_checkpoint(world.path, [world.keys["root"]])
        except CreditLedgerError:
            pass
    publish_checkpoint(world.path, [world.keys["root"]])


def _evidence() -> Any:
    from tests.services.bank.fixtures import EVIDENCE
    return EVIDENCE


def new_world(path: Path | str) -> World:
    world = make_world(path)
    world.publish(certificate_rule())
    return world


def verdict(data: dict[str, Any], held: str | None = None) -> tuple[str, str | None]:
    """(kind, aggregate) from verify-bundle, checked equal to the standalone verifier's."""
    raw = json.dumps(data).encode()
    try:
        report = verify_bundle(Bundle.from_json(raw), None, None, held)
        ours: tuple[str, str | None] = ("complete" if report.complete else "not-proven", None)
    except BundleVerificationError as e:
        ours = (e.fault.kind.value, e.fault.aggregate)
    except UnusableLedgerError:
        ours = ("unusable", None)
    try:
        _, complete = STANDALONE.verify_bundle(json.loads(raw), None, held)
        theirs = "complete" if complete else "not-proven"
    except STANDALONE.Fault as fault:
        theirs = fault.kind
    except STANDALONE.Unusable:
        theirs = "unusable"
    assert ours[0] == theirs, (ours, theirs)
    return ours


def check_bundles(path: Path | str, notes: list[str]) -> int:
    """Every mutation of each learner's bundle; return how many were checked."""
    checked = 0
    for learner in LEARNERS:
        full = json.loads(build_bundle(path, learner).to_json())
        assert verdict(full) == ("complete", None)
        for i, aggregate in enumerate(full["aggregates"]):
            oid = aggregate["originator_id"]
            for keep in range(1, len(aggregate["events"])):  # every suffix dropped
                cut = copy.deepcopy(full)
                del cut["aggregates"][i]["events"][keep:]
                kind, named = verdict(cut)
                assert (kind, named) == ("incomplete-aggregate", oid), (aggregate["role"], keep)
                checked += 1
            gone = copy.deepcopy(full)  # the whole aggregate dropped
            del gone["aggregates"][i]
            kind, named = verdict(gone)
            assert kind in ("incomplete-aggregate", "bad-index-proof") and named == oid, kind
            checked += 1
        for note in notes[:-1]:  # an older checkpoint swapped in: the proofs do not fit it
            older = dict(full, checkpoint=note)
            if note != full["checkpoint"]:
                assert verdict(older)[0] not in ("complete", "not-proven", "unusable")
        if len(notes) > 1:  # a bundle at an older checkpoint, against the newest one held
            old = json.loads(build_bundle(path, learner, notes[0]).to_json())
            assert verdict(old, notes[-1])[0] == "stale-checkpoint"
    return checked


def check_index(path: Path | str) -> list[str]:
    """At every checkpoint: heads line == index rebuilt in memory == stored index."""
    with open_reader(path) as reader:
        ledger_id, _ = read_genesis(reader.queries)
        recorded = recorded_checkpoints(reader.queries, ledger_id)
        events = list(reader.scan("SELECT originator_id, originator_version, hash FROM "
                                  "stored_events ORDER BY position"))
        index, done = MemoryIndex(), 0
        for rec in recorded:
            for oid, version, h in events[done:rec.size]:
                index.add(oid, version, bytes(h))
            done = rec.size
            signed = heads_root_of(SignedNote.parse(rec.note).checkpoint().extensions)
            assert signed == index.root() == StoredIndex(reader.queries, rec.size).root()
    return [rec.note for rec in recorded]


@settings(max_examples=6)
@given(program=ops)
def test_dropping_any_suffix_or_aggregate_or_taking_an_older_checkpoint_fails_in_both_verifiers(
        tmp_path_factory: pytest.TempPathFactory, program: list[Op]) -> None:
    path = tmp_path_factory.mktemp("ledger") / "c.ledger"
    world = new_world(path)
    run_program(world, program)
    world.bank.close()
    notes = check_index(path)
    assert check_bundles(path, notes) >= 2  # at least each account, dropped whole


@settings(max_examples=3)
@given(program=ops)
def test_the_index_in_memory_equals_the_stored_one_at_every_checkpoint_on_postgresql(
        program: list[Op]) -> None:
    url = f"{postgres_base_url()}?schema=t_{uuid.uuid4().hex[:16]}"
    try:
        world = new_world(url)
        run_program(world, program)
        world.bank.close()
        check_index(url)
    finally:
        drop_schema(postgres_base_url(), url.rsplit("=", 1)[1])
