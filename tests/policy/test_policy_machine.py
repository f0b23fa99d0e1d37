"""Random commands by random principals in random roles (hypothesis state machine).

Each step builds a change with the domain (open an account, correct personal data, recognise and
credit a course result, revoke and reverse one) and saves it signed by a key drawn from every
institution's administrator and staff keys and the root. A small model, written independently
of the policy's rules, says whether that signer may: the writer must agree every time; a refused
commit writes nothing; and the same commit, forced into a copy of the ledger with its valid
signature, makes ``verify`` fail with ``unauthorised-write`` at its position. Afterwards every
committed event was one the model allowed, and ``verify`` passes on the whole ledger.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from creditledger import PersonalData
from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.domain import Achievement, LearnerAccount
from creditledger.domain.ids import learner_account_id
from creditledger.domain.policy import Role
from creditledger.errors import NotAuthorisedError, TamperedLedgerError
from creditledger.services.core import ledger_of
from tests.services.bank.fixtures import EVIDENCE, TODAY, make_world
from tests.store.forge import Forged, forge_commit

INSTITUTIONS = ("GZCC", "LNPC", "VTC")
PROGRAMMES = {"GZCC": "530302", "LNPC": "460301"}
COURSES = {"GZCC": "KJ1101", "LNPC": "HG1001"}
STAFF = (Role.REGISTRAR, Role.ASSESSOR, Role.SECRETARIAT_OFFICER, Role.AUDITOR)

# The model: which roles do what (教务 registrars and administrators keep accounts and revoke;
# teachers and assessors also recognise results).
KEEPS_ACCOUNTS = {Role.ADMINISTRATOR, Role.REGISTRAR}
RECOGNISES = {Role.ADMINISTRATOR, Role.REGISTRAR, Role.ASSESSOR}


@dataclass(frozen=True)
class Key:
    principal: str
    role: Role
    key: SigningKey


class PolicyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="policy-machine-"))
        self.world = make_world(self.folder / "m.ledger")
        self.bank = self.world.bank
        self.ledger = ledger_of(self.bank)
        admins = {"GZCC": self.world.gzcc, "LNPC": self.world.lnpc, "VTC": self.world.trainer}
        self.keys = [Key("root", Role.ROOT, self.world.root)]
        for code, admin in admins.items():
            self.keys.append(Key(code, Role.ADMINISTRATOR, admin))
            for role in STAFF:
                staff = SigningKey.generate()
                self.bank.register_staff_key(f"{code}-{role.value}", role, staff.public_key,
                                             admin_key=admin)
                self.keys.append(Key(code, role, staff))
        self.bank.define_course(code="HG1001", name="化工原理", category="major_basic",
                                nature="必修", course_type="理论", attribute="A类",
                                theory_hours=48, practice_hours=0, difficulty=Decimal(1),
                                assessment_method="exam", programmes=["460301"],
                                signer=self.world.lnpc)
        self.homes = {"S1": "GZCC", "S2": "GZCC"}  # learner -> home school
        self.achievements: dict[str, tuple[str, str]] = {}  # id -> (learner, certifier)
        self.opened = self.terms = self.refused = self.corrections = 0
        self.expected_events = self.event_count()

    def teardown(self) -> None:
        self.bank.close()
        report = verify_ledger(str(self.world.path))
        shutil.rmtree(self.folder, ignore_errors=True)
        assert report.fault is None, report.fault

    # -- the steps -------------------------------------------------------------------------

    @rule(school=st.sampled_from(sorted(PROGRAMMES)), signer=st.integers(0, 15))
    def open_account(self, school: str, signer: int) -> None:
        self.opened += 1
        learner = f"L{self.opened}"
        account = LearnerAccount.open(learner_id=learner, learner_type="student",
                                      personal_data=PersonalData(name="学员"),
                                      home_institution=school, programme_code=PROGRAMMES[school])
        key = self.keys[signer]
        allowed = key.principal == school and key.role in KEEPS_ACCOUNTS
        if self.attempt(key, allowed, account):
            self.homes[learner] = school

    @rule(data=st.data(), signer=st.integers(0, 15))
    def correct_personal_data(self, data: st.DataObject, signer: int) -> None:
        learner = data.draw(st.sampled_from(sorted(self.homes)))
        account = self.ledger.repository.get(learner_account_id(learner))
        self.corrections += 1
        account.correct_personal_data(PersonalData(name=f"更正{self.corrections}"))
        key = self.keys[signer]
        self.attempt(key, key.principal == self.homes[learner] and key.role in KEEPS_ACCOUNTS,
                     account)

    @rule(data=st.data(), school=st.sampled_from(sorted(COURSES)), signer=st.integers(0, 15))
    def recognise_and_credit(self, data: st.DataObject, school: str, signer: int) -> None:
        learner = data.draw(st.sampled_from(sorted(self.homes)))
        self.terms += 1
        course = self.ledger.repository.get(self.bank.course(school, COURSES[school]).id)
        achievement = Achievement.recognise_course_result(
            learner_id=learner, course=course, term=f"{2000 + self.terms}-{2001 + self.terms}-1",
            score=Decimal(90), evidence=EVIDENCE, today=TODAY)
        account = self.ledger.repository.get(learner_account_id(learner))
        account.credit_achievement(achievement)
        key = self.keys[signer]
        if self.attempt(key, key.principal == school and key.role in RECOGNISES,
                        achievement, account):
            self.achievements[achievement.id.hex] = (learner, school)

    @precondition(lambda self: bool(self.achievements))
    @rule(data=st.data(), signer=st.integers(0, 15))
    def revoke_and_reverse(self, data: st.DataObject, signer: int) -> None:
        achievement_id = data.draw(st.sampled_from(sorted(self.achievements)))
        learner, certifier = self.achievements[achievement_id]
        achievement = self.ledger.repository.get(UUID(achievement_id))
        achievement.revoke(reason="error", note="recorded in error", today=TODAY)
        account = self.ledger.repository.get(learner_account_id(learner))
        account.reverse_achievement(achievement)
        key = self.keys[signer]
        if self.attempt(key, key.principal == certifier and key.role in KEEPS_ACCOUNTS,
                        achievement, account):
            del self.achievements[achievement_id]

    @invariant()
    def the_ledger_holds_what_the_model_allowed(self) -> None:
        assert self.event_count() == self.expected_events

    # -- helpers ---------------------------------------------------------------------------

    def event_count(self) -> int:
        return int(self.ledger.query("SELECT COUNT(*) FROM stored_events")[0][0])

    def attempt(self, key: Key, allowed: bool, *aggregates: Any) -> bool:
        """Save the aggregates' new events signed by ``key``; the writer must decide as the
        model does. Return whether it was written."""
        events = [e for a in aggregates for e in a.collect_events()]
        assert events, "the step changed nothing"
        before = self.event_count()
        try:
            self.ledger.save(*events, signer=key.key)
        except NotAuthorisedError:
            assert not allowed, f"{key.principal} ({key.role}) was refused what it may do"
            assert self.event_count() == before, "a refused commit wrote something"
            self.force_into_a_copy(key, events)
            return False
        assert allowed, f"{key.principal} ({key.role}) wrote what it may not"
        self.expected_events = before + len(events)
        return True

    def force_into_a_copy(self, key: Key, events: list[Any]) -> None:
        """The refused commit, written with plain SQL and a valid signature into a copy of the
        ledger as it is now: ``verify`` must fail at that commit."""
        self.refused += 1
        copy = self.folder / f"forced-{self.refused}.ledger"
        source, target = sqlite3.connect(self.world.path), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        stored = [self.ledger.mapper.to_stored_event(e) for e in events]
        at = forge_commit(copy, key.key, [Forged(s.originator_id.hex, s.originator_version,
                                                 s.topic, s.state) for s in stored])
        with pytest.raises(TamperedLedgerError) as failed:
            verify_ledger(str(copy))
        fault = failed.value.report.fault
        assert fault.kind.value == "unauthorised-write", fault
        assert at <= fault.position < at + len(events), (fault, at)
        copy.unlink()


TestPolicyMachine = PolicyMachine.TestCase
# Each example builds a ledger and verifies a forced copy per refusal: a quarter of the
# profile's examples (10 in CI, 250 in the soak run), ten steps each.
TestPolicyMachine.settings = settings(settings.default, stateful_step_count=10,
                                      max_examples=max(5, settings.default.max_examples // 4))
