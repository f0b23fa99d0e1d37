"""What every command group of the credit bank shares: its ledger, loading, who is asking, and
the one place where a command's changes are saved as one signed commit.

:class:`BankCore` is the base of the command groups (:mod:`.catalog`, :mod:`.accounts`,
:mod:`.recognition`, :mod:`.transfers`, :mod:`.alliance`, :mod:`.pilots`, :mod:`.batch`) that
:class:`~creditledger.services.bank.CreditBank` puts together. It holds the
:class:`~creditledger.store.ledger.Ledger` privately: a school's program sees the bank's commands
and queries, never the event store's ``save``, ``load`` or repository.
"""

from __future__ import annotations

import functools
import inspect
import io
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import MapperDeserialisationError, RecordConflictError, Recording

from creditledger.crypto.keys import SigningKey
from creditledger.domain import (
    Institution,
    InstitutionKind,
    institution_id,
)
from creditledger.errors import (
    ConcurrentWriteError,
    NotAuthorisedError,
    NotFoundError,
    UnusableLedgerError,
)
from creditledger.store.ledger import Ledger, UnitOfWork
from creditledger.store.registry import KeyRegistry

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

COMMAND_ATTEMPTS = 8
"""How often a command of the bank runs, each time on fresh state, while other writers keep
changing one of its records first; then :class:`~creditledger.errors.ConcurrentWriteError`."""
RETRY_PAUSE = 0.002
"""Seconds: before attempt ``n + 1`` a command waits a random time of up to ``n`` times this,
so that writers that collided do not collide again in step."""


class BankCore:
    """The credit bank's private state and the helpers every command uses.

    Every public method of every class built on it (each command group, and ``CreditBank``
    itself) runs through :func:`_command`: a command that loses the race for one of its records
    to another writer is run again, whole, on fresh state, and a command's errors are the
    library's own. This is done here, when a class is defined, so that no command can forget it.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _wrap_commands(cls)

    def __init__(self, ledger: Ledger) -> None:
        """Use :meth:`CreditBank.create` or :meth:`CreditBank.open`."""
        self._ledger = ledger
        self._calls = threading.local()  # per thread: how deep in commands it is

    def _nested(self) -> bool:
        """Whether this call is part of a larger one (a command calling another, or any command
        inside a unit of work): then only the outermost runs again on a conflict."""
        return self._ledger.in_unit_of_work or getattr(self._calls, "depth", 0) > 0

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        self._calls.depth = 1
        try:
            yield
        finally:
            self._calls.depth = 0

    def _today(self) -> date:
        """Today in the ledger's time zone (its genesis declares it), for commands not given
        ``today``: a record made at 02:37 in Beijing is dated that day, not the day before."""
        return self._ledger.today()

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
    fresh state (every check runs again), after a short random pause. Still losing after
    ``attempts``: :class:`~creditledger.errors.ConcurrentWriteError` (a ``ConflictError``; or,
    with ``typed=False``, eventsourcing's ``RecordConflictError``)."""
    for attempt in range(1, attempts):
        try:
            return command()
        except RecordConflictError:
            time.sleep(random.uniform(0, RETRY_PAUSE * attempt))
    try:
        return command()
    except RecordConflictError as e:
        if not typed:
            raise
        raise ConcurrentWriteError(f"other writers changed the same records {attempts} times "
                                   "in a row; nothing was written, try again") from e


def _command(method: Callable[..., T]) -> Callable[..., T]:
    """``method`` as a command of the bank: outermost, it is run again whole on a conflict
    (:func:`retrying`, :data:`COMMAND_ATTEMPTS`), with one-shot iterators among its arguments
    read once first so that every run sees the same values; nested in another command or a
    unit of work it runs once, and the outermost call runs again. A stored event that cannot be
    decoded is :class:`~creditledger.errors.UnusableLedgerError` naming the ledger."""

    @functools.wraps(method)
    def command(self: BankCore, *args: Any, **kwargs: Any) -> T:
        if self._nested():
            return method(self, *args, **kwargs)
        args = tuple(_replayable(a) for a in args)
        kwargs = {k: _replayable(v) for k, v in kwargs.items()}
        try:
            with self._outermost():
                return retrying(lambda: method(self, *args, **kwargs), COMMAND_ATTEMPTS)
        except MapperDeserialisationError as e:
            raise UnusableLedgerError(f"{self._ledger.where}: damaged ledger ({e}); run "
                                      "`creditledger verify` on it") from e

    command.__bank_command__ = True  # type: ignore[attr-defined]
    return command


def _replayable(value: Any) -> Any:
    """A one-shot iterator (a generator...) as a tuple: a command may run more than once."""
    if isinstance(value, Iterator) and not isinstance(value, io.IOBase):
        return tuple(value)
    return value


def _wrap_commands(cls: type) -> None:
    """Make every public method ``cls`` defines a :func:`_command` (properties, class and
    static methods are not commands: they are left alone)."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(value):
            continue
        if not getattr(value, "__bank_command__", False):
            setattr(cls, name, _command(value))


_wrap_commands(BankCore)




def ledger_of(bank: BankCore) -> Ledger:
    """The event store under a bank, for store-level tools and tests (not for a school's
    program: every change goes through the bank's commands)."""
    return bank._ledger
