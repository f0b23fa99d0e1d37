"""What every command group of the credit bank shares: its ledger, loading, who is asking, and
the one place where a command's changes are saved as one signed commit.

:class:`BankCore` is the base of the command groups (:mod:`.catalog`, :mod:`.accounts`,
:mod:`.recognition`, :mod:`.transfers`, :mod:`.alliance`, :mod:`.pilots`, :mod:`.batch`) that
:class:`~creditledger.services.bank.CreditBank` puts together. It holds the
:class:`~creditledger.store.ledger.Ledger` privately: a school's program sees the bank's commands
and queries, never the event store's ``save``, ``load`` or repository.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError, Recording

from creditledger.crypto.keys import SigningKey
from creditledger.domain import (
    Institution,
    InstitutionKind,
    institution_id,
)
from creditledger.errors import ConflictError, NotAuthorisedError, NotFoundError
from creditledger.store.ledger import Ledger, UnitOfWork
from creditledger.store.registry import KeyRegistry

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")


class BankCore:
    """The credit bank's private state and the helpers every command uses."""

    def __init__(self, ledger: Ledger) -> None:
        """Use :meth:`CreditBank.create` or :meth:`CreditBank.open`."""
        self._ledger = ledger

    # -- loading ---------------------------------------------------------------------------

    def _load(self, aggregate_id: UUID) -> Any:
        """An aggregate (the staged copy inside a unit of work); eventsourcing's
        ``AggregateNotFoundError`` if there is none."""
        return self._ledger.load(aggregate_id)

    def _get(self, cls: type[A], aggregate_id: UUID, kind: str, key: str, field: str) -> A:
        """The aggregate of class ``cls``, or :class:`NotFoundError` naming ``field``."""
        found = self._optional(cls, aggregate_id)
        if found is None:
            raise NotFoundError(kind, key, field)
        return found

    def _optional(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate of class ``cls``, or ``None``."""
        try:
            found: object = self._load(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, cls) else None

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self._load(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def _institution(self, code: str) -> Institution:
        return self._get(Institution, institution_id(code), "institution", code, "institution")

    @property
    def _registry(self) -> KeyRegistry:
        """The ledger's key registry, as committed."""
        return self._ledger.registry

    # -- who is asking ---------------------------------------------------------------------

    def principal_of(self, key: SigningKey | str) -> str:
        """The principal (institution code, or ``root``) a key or key id is registered to
        (:class:`NotFoundError` naming ``signer`` if it is not)."""
        return self._ledger.principal_of(key)

    def _principal(self, signer: SigningKey) -> str:
        """The institution the signer's key is registered to; it must be registered."""
        code = self.principal_of(signer)
        self._institution(code)
        return code

    def _require_kind(self, code: str, *kinds: InstitutionKind) -> Institution:
        inst = self._institution(code)
        if inst.kind not in kinds:
            allowed = " or ".join(k.value for k in kinds)
            raise NotAuthorisedError(f"{code} is a {inst.kind.value}; only a {allowed} may do this")
        return inst

    # -- saving: the one place a command's changes are written -------------------------------

    def _save(self, *aggregates: Any, signer: SigningKey) -> list[Recording[UUID]]:
        """Write the new events of ``aggregates`` (objects with ``collect_events``; ``None``
        is skipped) in one commit signed by ``signer``: all of them or none. Inside a unit of
        work they are staged, and written when the unit ends."""
        return self._ledger.save(*aggregates, signer=signer)

    @contextmanager
    def _unit_of_work(self, signer: SigningKey, *, dry_run: bool = False
                      ) -> Iterator[UnitOfWork]:
        """Several commands as one signed commit (see :meth:`Ledger.unit_of_work`)."""
        with self._ledger.unit_of_work(signer, dry_run=dry_run) as unit:
            yield unit

    def _in_one_commit(self, signer: SigningKey, work: Callable[[], T], attempts: int) -> T:
        """Run ``work`` (which loads and saves) so that everything it saves is one commit."""
        if self._ledger.in_unit_of_work:  # already inside a caller's unit of work
            return work()

        def once() -> T:
            with self._unit_of_work(signer):
                result = work()
            return result

        return retrying(once, attempts)

    def _query(self, statement: str, params: tuple[Any, ...]) -> list[Any]:
        """Rows of a read-only statement on the ledger's tables (``?`` placeholders)."""
        return self._ledger.query(statement, params)


def retrying(command: Callable[[], T], attempts: int, *, typed: bool = True) -> T:
    """Run ``command``; if another writer changed one of its aggregates first, run it again on
    fresh state (every check runs again). Still losing after ``attempts``: :class:`ConflictError`
    (or, with ``typed=False``, eventsourcing's ``RecordConflictError``)."""
    for _ in range(attempts - 1):
        try:
            return command()
        except RecordConflictError:
            continue
    try:
        return command()
    except RecordConflictError as e:
        if not typed:
            raise
        raise ConflictError(f"other writers changed the same records {attempts} times in a "
                            "row; nothing was written, try again") from e


def today() -> date:
    """Today's date (UTC), for commands not given ``today``."""
    return datetime.now(UTC).date()


def ledger_of(bank: BankCore) -> Ledger:
    """The event store under a bank, for store-level tools and tests (not for a school's
    program: every change goes through the bank's commands)."""
    return bank._ledger
