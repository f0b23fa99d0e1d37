"""Read models of credit transfers (学分转换): every transfer with its lineage, account balances
per programme requirement, and the exemptions (免修) a learner holds.

Balances follow TigerBeetle's columns: *posted* (pending transfers that were posted, plain posted
transfers, reversals) and *pending* (reserved until a makeup assessment, 补考). An account's
balance is its credits minus its debits, so a requirement account shows what was converted into
it, a source ``achievement/...`` account shows (negatively) what was drawn from it, and the sum
over all accounts is zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec
import sqlite_utils
from eventsourcing.utils import get_topic

from creditledger.domain.transfers.ledger import CreditTransfers
from creditledger.projections.credits import cents, from_cents
from creditledger.projections.runner import Change

# (posted, pending) effect on the credit account of a transfer of each kind; the debit account
# gets the opposite.
_EFFECT = {
    "posted": (1, 0),
    "pending": (0, 1),
    "posted_from_pending": (1, -1),
    "voided": (0, -1),
    "reversal": (1, 0),  # a reversal's accounts are already swapped
}


def _topic(name: str) -> str:
    return get_topic(getattr(CreditTransfers, name))


class TransfersProjection:
    """Transfers, requirement balances, conversions and exemptions held, per learner."""

    name: str = "transfers"
    version: int = 1
    tables: tuple[str, ...] = ("transfer_ledgers", "transfers", "account_balances",
                               "conversions", "exemptions")
    topics: frozenset[str] = frozenset(_topic(n) for n in (
        "Opened", "Converted", "PendingPosted", "PendingVoided", "SourceReversed"))

    def create(self, db: sqlite_utils.Database) -> None:
        db.table("transfer_ledgers").create({"ledger_id": str, "learner_id": str},
                                            pk="ledger_id", if_not_exists=True)
        db.table("transfers").create(
            {"transfer_id": str, "learner_id": str, "conversion_id": str, "kind": str,
             "debit_account": str, "credit_account": str, "amount_cents": int,
             "rule_id": str, "rule_set_id": str, "rule_version": int, "agreement_code": str,
             "agreement_version": int, "source_achievement_id": str, "on_date": str,
             "position": int},
            pk="transfer_id", if_not_exists=True)
        db.table("transfers").create_index(["learner_id", "position"], if_not_exists=True)
        db.table("account_balances").create(
            {"learner_id": str, "account": str, "posted_cents": int, "pending_cents": int},
            pk=("learner_id", "account"), if_not_exists=True)
        db.table("conversions").create(
            {"conversion_id": str, "learner_id": str, "rule_id": str, "rule_kind": str,
             "target_account": str, "status": str, "exemption_account": str, "on_date": str,
             "position": int},
            pk="conversion_id", if_not_exists=True)
        db.table("exemptions").create(
            {"learner_id": str, "account": str, "label": str, "credits_cents": int,
             "conversion_id": str, "rule_id": str, "sources": str, "granted_on": str,
             "position": int},
            pk=("learner_id", "account", "conversion_id"), if_not_exists=True)

    def apply(self, db: sqlite_utils.Database, changes: Sequence[Change]) -> None:
        for c in changes:
            getattr(self, "_" + c.topic.rsplit(".", 1)[-1])(db, c)

    def _learner(self, db: sqlite_utils.Database, c: Change) -> str:
        row = db.execute("SELECT learner_id FROM transfer_ledgers WHERE ledger_id=?",
                         [c.originator_id]).fetchone()
        return str(row[0])

    def _Opened(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute("INSERT INTO transfer_ledgers VALUES (?, ?)",
                   [c.originator_id, c.state["learner_id"]])

    def _Converted(self, db: sqlite_utils.Database, c: Change) -> None:
        conv = c.state["conversion"]
        pending = conv.makeup_pass_mark is not None
        exemption = conv.exemption.target.account if conv.exemption else None
        db.execute("INSERT INTO conversions VALUES (?,?,?,?,?,?,?,?,?)",
                   [str(conv.id), conv.learner_id, conv.rule.rule_id, conv.rule_kind.value,
                    conv.target.account, "pending" if pending else "posted", exemption,
                    conv.on.isoformat(), c.position])
        self._transfers(db, conv.learner_id, conv.transfers, c.position)
        if conv.exemption is not None and not pending:
            self._exempt(db, conv.learner_id, conv.exemption, c.position)

    def _PendingPosted(self, db: sqlite_utils.Database, c: Change) -> None:
        learner = self._learner(db, c)
        self._status(db, c.state["conversion_id"], "posted")
        self._transfers(db, learner, c.state["transfers"], c.position)
        if c.state["exemption"] is not None:
            self._exempt(db, learner, c.state["exemption"], c.position)

    def _PendingVoided(self, db: sqlite_utils.Database, c: Change) -> None:
        self._status(db, c.state["conversion_id"], "voided")
        self._transfers(db, self._learner(db, c), c.state["transfers"], c.position)

    def _SourceReversed(self, db: sqlite_utils.Database, c: Change) -> None:
        learner = self._learner(db, c)
        for cid in c.state["conversion_ids"]:
            self._status(db, cid, "reversed")
            db.execute("DELETE FROM exemptions WHERE conversion_id=?", [str(cid)])
        self._transfers(db, learner, c.state["transfers"], c.position)

    @staticmethod
    def _status(db: sqlite_utils.Database, conversion_id: Any, status: str) -> None:
        db.execute("UPDATE conversions SET status=? WHERE conversion_id=?",
                   [status, str(conversion_id)])

    @staticmethod
    def _exempt(db: sqlite_utils.Database, learner: str, e: Any, position: int) -> None:
        db.execute("INSERT OR REPLACE INTO exemptions VALUES (?,?,?,?,?,?,?,?,?)",
                   [learner, e.target.account, e.target.label(), cents(e.credits),
                    str(e.conversion_id), e.rule.rule_id,
                    ",".join(s.hex for s in e.source_achievement_ids),
                    e.granted_on.isoformat(), position])

    @staticmethod
    def _transfers(db: sqlite_utils.Database, learner: str, transfers: Sequence[Any],
                   position: int) -> None:
        for t in transfers:
            amount = cents(t.amount)
            agreement = t.agreement
            db.execute(
                "INSERT INTO transfers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [str(t.id), learner, str(t.conversion_id), t.kind.value, t.debit_account,
                 t.credit_account, amount, t.rule.rule_id, str(t.rule.rule_set_id),
                 t.rule.version, agreement.code if agreement else None,
                 agreement.version if agreement else None, t.source_achievement_id.hex,
                 t.on.isoformat(), position])
            posted, pending = _EFFECT[t.kind.value]
            for account, sign in ((t.credit_account, 1), (t.debit_account, -1)):
                db.execute(
                    "INSERT INTO account_balances VALUES (?,?,?,?) "
                    "ON CONFLICT (learner_id, account) DO UPDATE SET "
                    "posted_cents = posted_cents + excluded.posted_cents, "
                    "pending_cents = pending_cents + excluded.pending_cents",
                    [learner, account, sign * posted * amount, sign * pending * amount])


class RequirementBalance(msgspec.Struct, frozen=True, kw_only=True):
    """Credits converted into one account of a learner: posted, and pending a makeup."""

    account: str
    posted: Decimal
    pending: Decimal


class HeldExemption(msgspec.Struct, frozen=True, kw_only=True):
    """An exemption (免修) a learner holds, with the conversion and sources behind it."""

    account: str
    label: str
    credits: Decimal
    conversion_id: str
    rule_id: str
    sources: tuple[str, ...]
    granted_on: str
    position: int


class TransferLine(msgspec.Struct, frozen=True, kw_only=True):
    """One transfer with its lineage: rule, agreement, source, and its signed event position."""

    position: int
    learner_id: str
    kind: str
    debit_account: str
    credit_account: str
    amount: Decimal
    conversion_id: str
    rule: str
    agreement: str | None
    source_achievement_id: str
    on: str


def requirement_balances(db: sqlite_utils.Database, learner_id: str) -> list[RequirementBalance]:
    """A learner's balances per programme requirement (and the conversion-loss account)."""
    return [RequirementBalance(account=r[0], posted=from_cents(r[1]), pending=from_cents(r[2]))
            for r in db.execute(
                "SELECT account, posted_cents, pending_cents FROM account_balances "
                "WHERE learner_id=? AND account NOT LIKE 'achievement/%' ORDER BY account",
                [learner_id])]


def exemptions(db: sqlite_utils.Database, learner_id: str) -> list[HeldExemption]:
    """The exemptions a learner holds now (revoked sources have taken theirs away)."""
    return [HeldExemption(account=r[0], label=r[1], credits=from_cents(r[2]),
                          conversion_id=r[3], rule_id=r[4],
                          sources=tuple(r[5].split(",")) if r[5] else (), granted_on=r[6],
                          position=r[7])
            for r in db.execute(
                "SELECT account, label, credits_cents, conversion_id, rule_id, sources, "
                "granted_on, position FROM exemptions WHERE learner_id=? ORDER BY account",
                [learner_id])]


def transfer_history(db: sqlite_utils.Database, learner_id: str | None = None,
                     limit: int = 10_000) -> list[TransferLine]:
    """Every transfer (of one learner, or all), in chain order, with its lineage."""
    where, params = ("WHERE learner_id=? ", [learner_id]) if learner_id else ("", [])
    rows = db.execute(
        "SELECT position, learner_id, kind, debit_account, credit_account, amount_cents, "
        "conversion_id, rule_id, rule_version, agreement_code, agreement_version, "
        f"source_achievement_id, on_date FROM transfers {where}"
        "ORDER BY position, transfer_id LIMIT ?", [*params, limit])
    return [TransferLine(position=r[0], learner_id=r[1], kind=r[2], debit_account=r[3],
                         credit_account=r[4], amount=from_cents(r[5]), conversion_id=r[6],
                         rule=f"{r[7]} v{r[8]}",
                         agreement=f"{r[9]} v{r[10]}" if r[9] else None,
                         source_achievement_id=r[11], on=r[12])
            for r in rows]


def total_of_all_accounts(db: sqlite_utils.Database) -> tuple[Decimal, Decimal]:
    """(posted, pending) summed over every account: both are zero in a balanced ledger."""
    row = db.execute("SELECT SUM(posted_cents), SUM(pending_cents) FROM account_balances"
                     ).fetchone()
    return from_cents(row[0]), from_cents(row[1])
