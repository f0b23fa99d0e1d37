"""The permission matrix, exhaustively, through the real writer (权限矩阵).

:func:`every_rule_ledger` writes every event type the policy names, each by a key it allows. For
every (event type, signing role) that ledger holds after its genesis commit, its first commit
is the *template*: on a copy of the ledger cut back to just before it, the writer is asked to
write the same commit
signed by each role of each kind of principal — the institution that wrote it, an institution
that takes part in nothing, and the root. Exactly the template's own institution, in a role
every rule of the commit allows, succeeds; every other signer is refused with
:class:`NotAuthorisedError` and nothing is written.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent

from creditledger.crypto.keys import SigningKey
from creditledger.domain.policy import Role
from creditledger.domain.policy.owners import GENESIS, POLICY_DECLARED
from creditledger.domain.policy.rules import RULES
from creditledger.errors import NotAuthorisedError
from creditledger.store.ledger import Ledger
from creditledger.store.registry import REGISTRY_EVENTS, key_book, registry_id
from tests.policy.scenario import RuleWorld, every_rule_ledger

OPENED = "creditledger.domain.learner:LearnerAccount.Opened"
ROLES = (Role.ADMINISTRATOR, Role.REGISTRAR, Role.ASSESSOR, Role.SECRETARIAT_OFFICER,
         Role.AUDITOR)


@dataclass(frozen=True)
class Template:
    """A commit of the scenario ledger, as the writer was given it, and who signed it."""

    topic: str
    seq: int
    first: int
    principal: str
    role: Role
    events: tuple[StoredEvent, ...]

    @property
    def roles(self) -> frozenset[Role]:
        """The roles every rule of the commit allows."""
        return reduce(frozenset.intersection,
                      (RULES[e.topic].roles for e in self.events if e.topic in RULES))

    def open_to_any_school(self) -> bool:
        """An account of a member of society with no home school yet: any school opens it."""
        return all(e.topic == OPENED and msgspec.json.decode(e.state)["home_institution"] is None
                   for e in self.events)

    def allows(self, principal: str, role: Role, outsider: str) -> bool:
        """The root writes what its role may (institutions, any key, checkpoints); an
        institution, what its role may for itself."""
        rightful = role is Role.ROOT or principal == self.principal or (
            principal == outsider and self.open_to_any_school())
        return rightful and role in self.roles


@dataclass(frozen=True)
class Scenario:
    world: RuleWorld
    path: Path
    templates: tuple[Template, ...]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    path = tmp_path_factory.mktemp("matrix") / "rules.ledger"
    world = every_rule_ledger(path)
    world.bank.close()
    yield Scenario(world, path, tuple(templates(path)))


def templates(path: Path) -> Iterator[Template]:
    """The first commit of each (event type, signing role) of the ledger."""
    conn = sqlite3.connect(path)
    try:
        ledger_id = conn.execute("SELECT value FROM ledger_info WHERE name='ledger_id'").fetchone()
        book = key_book(conn.execute(REGISTRY_EVENTS, (registry_id(ledger_id[0]).hex,)))
        seen: set[tuple[str, Role]] = set()
        for seq, first, key_id in conn.execute(
                "SELECT seq, first_position, key_id FROM ledger_commits WHERE seq > 1 ORDER BY seq"
        ).fetchall():
            signer = book.signer(key_id)
            assert signer is not None
            rows = conn.execute("SELECT originator_id, originator_version, topic, state FROM "
                                "stored_events WHERE commit_seq=? ORDER BY position",
                                (seq,)).fetchall()
            events = tuple(StoredEvent(UUID(oid), version, topic, bytes(state))
                           for oid, version, topic, state in rows)
            for topic in dict.fromkeys(e.topic for e in events):
                if (topic, signer.role) not in seen:
                    seen.add((topic, signer.role))
                    yield Template(topic, seq, first, signer.principal, signer.role, events)
    finally:
        conn.close()


def cut_before(source: Path, template: Template, copy: Path) -> None:
    """A copy of the ledger holding only what came before ``template``'s commit."""
    shutil.copyfile(source, copy)
    conn = sqlite3.connect(copy, isolation_level=None)
    try:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
            conn.execute(f"DROP TRIGGER {name}")
        size = template.first - 1
        conn.execute("DELETE FROM stored_events WHERE position > ?", (size,))
        conn.execute("DELETE FROM ledger_commits WHERE seq >= ?", (template.seq,))
        conn.execute("DELETE FROM merkle_nodes WHERE (idx + 1) << level > ?", (size,))
    finally:
        conn.close()


def signers(world: RuleWorld) -> Iterator[tuple[str, Role, SigningKey]]:
    """Each role of the institutions that wrote something, of the outsider, and the root."""
    yield "root", Role.ROOT, world.root
    for institution in world.admins:
        for role in ROLES:
            yield institution, role, world.key(institution, role)


def count(ledger: Ledger) -> int:
    return int(ledger.query("SELECT COUNT(*) FROM stored_events")[0][0])


def test_the_scenario_holds_a_template_for_every_event_type(scenario: Scenario) -> None:
    # The genesis commit (genesis, policy) is the root's by construction: see test_enforcement.
    assert {t.topic for t in scenario.templates} == set(RULES) - {GENESIS, POLICY_DECLARED}


def test_exactly_the_rightful_roles_may_write_each_event_type(
    scenario: Scenario, tmp_path: Path,
) -> None:
    world, outsider = scenario.world, scenario.world.outsider
    refusals = 0
    for template in scenario.templates:
        written = refused = 0
        wanted = {t for t in (template.principal, outsider, "root")}
        attempts = [(p, r, k) for p, r, k in signers(world) if p in wanted]
        attempts.sort(key=lambda a: template.allows(a[0], a[1], outsider))  # refusals first
        base = tmp_path / f"cut-{template.seq}.ledger"
        cut_before(scenario.path, template, base)
        ledger: Any = None
        for principal, role, key in attempts:
            if ledger is None:
                copy = tmp_path / "attempt.ledger"
                shutil.copyfile(base, copy)
                ledger = Ledger.open(copy)
            if key.key_id not in ledger.registry.entries:
                continue  # registered later: no key at all yet, the store's check refuses it
            before = count(ledger)
            expected = template.allows(principal, role, outsider)
            what = f"{template.topic} (commit {template.seq}) signed by {principal} ({role})"
            try:
                ledger.recorder.insert_events(list(template.events), signer=key)
            except NotAuthorisedError as error:
                assert not expected, f"{what} was refused: {error}"
                assert count(ledger) == before, f"{what}: refused, yet rows were written"
                refused += 1
            else:
                assert expected, f"{what} was written"
                assert count(ledger) == before + len(template.events)
                ledger.close()
                ledger = None  # the next attempt starts from the cut copy again
                written += 1
        if ledger is not None:
            ledger.close()
        assert written >= 1, f"nobody may write {template.topic} as {template.role}"
        refusals += refused
    assert refusals > 8 * len(scenario.templates)  # fewer only before the staff keys exist
