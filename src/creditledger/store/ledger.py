"""The ledger application: an eventsourcing ``Application`` whose commits are chained and signed.

A :class:`Ledger` is one SQLite file (the embedded default). It is created once with a root key,
whose public half goes into the genesis event; institutions' keys are then registered in the
ledger by the root. Every ``save`` must name the signer; the store refuses unsigned commits and
keys that are unknown, not yet valid, or revoked.

Creating is all or nothing: a file is built beside its final name and linked into place only
once its genesis is written, and a PostgreSQL schema the creation made is dropped if it fails.
Opening can be read-only (asked for, or because the file or its folder is not writable): then
nothing is ever written, and a write raises :class:`~creditledger.errors.ReadOnlyLedgerError`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import MutableOrImmutableAggregate
from eventsourcing.persistence import Mapper, PersistenceError, Recording, StoredEvent
from eventsourcing.utils import get_topic

from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.crypto.sealing import KeyEncryptionKey
from creditledger.domain.policy import POLICIES, POLICY_V2, Role, Signer
from creditledger.domain.validation import validate_time_zone
from creditledger.errors import (
    ConflictError,
    LedgerError,
    NotAuthorisedError,
    NotFoundError,
    ReadOnlyLedgerError,
    UnusableLedgerError,
    ValidationError,
)
from creditledger.store.keystore import KeyStore, SQLiteKeyStore, keys_path_for
from creditledger.store.mapper import LedgerMapper
from creditledger.store.merkle import MerkleSQLiteApplicationRecorder
from creditledger.store.personal import PersonalDataKeys
from creditledger.store.readers import needs_immutable, probe_ledger_file
from creditledger.store.registry import KeyEntry, KeyRegistry, registry_id
from creditledger.store.sqlite import ChainedSQLiteApplicationRecorder


def sqlite_env(path: str | Path) -> dict[str, str]:
    """The eventsourcing environment of a ledger stored in the SQLite file ``path``.

    The path is made absolute: a ledger closed later (by the garbage collector, after the
    program changed its working directory) must reach the same file.
    """
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(Path(path).absolute()),
        "APPLICATION_RECORDER_TOPIC": get_topic(MerkleSQLiteApplicationRecorder),
        "MAPPER_TOPIC": get_topic(LedgerMapper),
        "SQLITE_LOCK_TIMEOUT": "30",
    }


PRELOAD_CHUNK = 500
"""Aggregate ids per statement of :meth:`Ledger.preload` (SQLite allows 32,766 parameters)."""


@dataclass
class UnitOfWork:
    """Aggregates staged by the commands of one unit of work, to be saved in one commit.

    ``on_stage``, if set, is called by :meth:`stage` after each staging, with the objects just
    staged (in the order given, ``None`` left out), so that a caller can note which aggregates
    each command changed (batch import's write plan does).
    """

    signer: SigningKey
    aggregates: dict[UUID, Any] = field(default_factory=dict)
    staged: dict[UUID, Any] = field(default_factory=dict)
    recordings: list[Recording[UUID]] = field(default_factory=list)
    on_stage: Callable[[list[Any]], None] | None = None
    missing: set[UUID] = field(default_factory=set)
    """Ids :meth:`Ledger.preload` found in no stored event when the unit read them: loading
    one raises at once instead of asking the store again (until a command stages it)."""

    def stage(self, objs: Iterable[Any], signer: SigningKey | None) -> None:
        """Stage the aggregates a command saved (signed by the unit's signer, else refused)."""
        if signer is None or signer.key_id != self.signer.key_id:
            raise NotAuthorisedError("every command of a unit of work is signed by its signer")
        staged = [obj for obj in objs if obj is not None]
        for obj in staged:
            self.aggregates[obj.id] = obj
            self.staged[obj.id] = obj
        if self.on_stage is not None:
            self.on_stage(staged)


class Ledger(Application[UUID]):
    """A signed, hash-linked event store for a credit bank, on eventsourcing.

    Use :meth:`create` for a new ledger and :meth:`open` for an existing one; construct it
    directly only with a full eventsourcing environment (for other backends).
    """

    name = "Ledger"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._ledger_id: str | None = None
        self._unit: UnitOfWork | None = None
        self._principals: dict[str, str] = {}  # key id -> principal, see principal_of
        self._read_only = ""  # why the ledger is read-only; "" if it is not
        self._time_zone: ZoneInfo | None = None
        self._where = _describe(self.env)
        self._personal: PersonalDataKeys | None = None

    def construct_mapper(self) -> Mapper[UUID]:
        return LedgerMapper(
            transcoder=self.factory.transcoder(),
            compressor=self.factory.compressor(),
            cipher=self.factory.cipher(),
        )

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        target: str | Path | None,
        root_key: SigningKey,
        *,
        ledger_id: str | None = None,
        env: dict[str, str] | None = None,
        policy: str = "",
        time_zone: str | None = None,
        kek: KeyEncryptionKey | None = None,
    ) -> Any:
        """Create a new ledger whose genesis names ``root_key`` as its root and declares the
        write ``policy`` (``creditledger.domain.policy.POLICY_V2`` for a credit bank; ``""``:
        none declared, the credit bank's rules for its own event types only) and its
        ``time_zone`` (an IANA name; ``None``: this machine's), in which every "today" is.

        ``target`` is a file path (SQLite, the embedded default), a ``postgresql://`` URL (see
        :func:`creditledger.store.postgres.postgres_env`), or ``None`` to take eventsourcing's
        PostgreSQL settings (``PERSISTENCE_MODULE=eventsourcing.postgres`` and ``POSTGRES_*``)
        from ``env`` and the process environment. Refuses a target that already holds a ledger.

        All or nothing: a creation that fails leaves no file (nor ``-wal``, ``-shm``) and no
        tables or schema it made. Bad arguments are refused before anything is touched:
        :class:`ValidationError` naming ``root_key``, ``ledger_id``, ``policy`` or
        ``time_zone``;
        :class:`UnusableLedgerError` naming a path that is a folder or whose folder is missing.
        """
        genesis = _check_genesis(root_key, ledger_id, policy, time_zone)
        if target is None or _is_postgres_url(target):
            ledger = cls._create_postgres(target, root_key, genesis, env)
            return ledger._with_personal_keys(kek)
        return cls._create_file(Path(target), root_key, genesis, env, kek)

    @classmethod
    def _create_file(cls, path: Path, root_key: SigningKey, genesis: Genesis,
                     env: dict[str, str] | None, kek: KeyEncryptionKey | None) -> Any:
        """Write the genesis into a file of its own beside ``path``, fold its write-ahead log
        into it, and only then link it to ``path``: no one ever sees a half-made ledger there,
        and a failure (or a crash) leaves nothing under that name."""
        _check_new_file(path)
        keys = keys_path_for(path)
        if genesis.policy == POLICY_V2 and keys.exists() and keys.stat().st_size > 0:
            raise ConflictError(f"{keys}: a key store is there already (of another ledger?); "
                                "refusing to create a ledger beside it")
        building = path.with_name(f".{path.name}.creating-{uuid.uuid4().hex[:12]}")
        try:
            ledger = cls({**sqlite_env(building), **(env or {}),
                          "SQLITE_DBNAME": str(building.absolute())})
            try:
                ledger._genesis(root_key, genesis)
            finally:
                ledger.close()
            _fold_journal(building)
            _claim(building, path)
        finally:
            _remove_file_set(building)
        return cls.open(path, env=env, kek=kek)

    @classmethod
    def _create_postgres(cls, target: str | Path | None, root_key: SigningKey, genesis: Genesis,
                         env: dict[str, str] | None) -> Any:
        """Create the tables (and the schema) if need be and write the genesis; if that fails,
        drop again whatever this creation made."""
        ledger = cls({**_postgres_target_env(target, env), "CREATE_TABLE": "no"})
        recorder: Any = ledger.recorder
        made: tuple[bool, bool] | None = None  # (the schema, the tables) existed before
        try:
            made = _pg_existing(recorder)
            recorder.create_table()
            if recorder.max_notification_id():
                raise ConflictError(f"{ledger.where} already holds a ledger; open it instead")
            ledger._genesis(root_key, genesis)
        except BaseException:
            if made is not None and not made[1]:
                _pg_drop_unused(recorder, drop_schema=not made[0])
            ledger.close()
            raise
        return ledger

    @classmethod
    def open(cls, target: str | Path | None, *, read_only: bool = False,
             env: dict[str, str] | None = None, kek: KeyEncryptionKey | None = None) -> Any:
        """Open an existing ledger (a path, a ``postgresql://`` URL, or ``None``: see
        :meth:`create`); refuse anything that is not one (:class:`UnusableLedgerError`, also
        for a file that turns out damaged).

        ``read_only=True`` never writes, to the ledger or beside it: a file is opened with
        SQLite's ``mode=ro`` (and ``immutable=1`` if its folder is not writable, or it is a
        WAL-mode copy: see :func:`creditledger.store.readers.needs_immutable`), with no switch
        to WAL and no schema check; a PostgreSQL ledger in read-only transactions. A file, or
        a folder, that is not writable is opened read-only even without it. Either way queries
        work, and anything that would write raises :class:`ReadOnlyLedgerError` naming the
        ledger and why.
        """
        if target is None or _is_postgres_url(target):
            # The tables must exist already: creating them would take locks for nothing.
            ledger = cls({**_postgres_target_env(target, env), "CREATE_TABLE": "no"})
            opened = ledger._check_opened("opened with read_only=True" if read_only else "")
            return opened._with_personal_keys(kek)
        path = Path(target)
        immutable = needs_immutable(path)  # decided before the probe has opened the file
        ledger_id = probe_ledger_file(path)
        reason = "opened with read_only=True" if read_only else _not_writable(path)
        # The tables exist (the probe saw them): creating them again would take the write lock.
        ledger = cls({**sqlite_env(path), "CREATE_TABLE": "no", **(env or {})})
        ledger._where = str(target)
        ledger._ledger_id = ledger_id
        return ledger._check_opened(reason, immutable=immutable)._with_personal_keys(kek)

    def _check_opened(self, read_only: str, *, immutable: bool = False) -> Ledger:
        """Make the ledger read-only if ``read_only`` says why, then read what every use of it
        needs (its id, its key registry), so that a ledger that cannot be read is refused now;
        close it if so."""
        try:
            if read_only:
                self._make_read_only(read_only, immutable=immutable)
            if self._ledger_id is None:
                from creditledger.store.postgres import ledger_info

                self._ledger_id = ledger_info(self.recorder)["ledger_id"]
            self.registry  # noqa: B018  (read: it must load)
        except BaseException:
            self.close()
            raise
        return self

    def _with_personal_keys(self, kek: KeyEncryptionKey | None) -> Ledger:
        """Seal personal data if the ledger's policy says so (policy 2): attach its key store
        to the mapper, and check ``kek`` against it now (closing the ledger if it fails)."""
        if self.registry.policy != POLICY_V2:
            return self
        try:
            store = self._key_store()
            self._personal = PersonalDataKeys(store, kek, self.ledger_id,
                                              events=self.sealed_values_of)
            self.mapper.personal = self._personal  # type: ignore[attr-defined]
            if kek is not None and (not self._read_only or store.info()):
                self._personal.check_kek()
        except BaseException:
            self.close()
            raise
        return self

    def _key_store(self) -> KeyStore:
        """``NAME.keys.db`` beside a ledger file; the ``data_keys`` table on PostgreSQL."""
        if self.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
            from creditledger.store.keystore_pg import PostgresKeyStore

            datastore = getattr(self.recorder, "datastore", None)
            return PostgresKeyStore(datastore, read_only=bool(self._read_only))
        return SQLiteKeyStore(keys_path_for(self.env["SQLITE_DBNAME"]),
                              read_only=bool(self._read_only))

    def sealed_values_of(self, account: str) -> list[str]:
        """Every sealed value the stored events of an account (its id in hex) hold, oldest
        first: which data keys are the learner's (read for erasure and corrections)."""
        mapper: LedgerMapper = self.mapper  # type: ignore[assignment]
        found: list[str] = []
        for stored in self.recorder.select_events(UUID(account)):
            found += mapper.sealed_values(stored)
        return found

    @property
    def personal(self) -> PersonalDataKeys | None:
        """The learners' data keys, if the ledger seals personal data (policy 2)."""
        return self._personal

    def _make_read_only(self, reason: str, *, immutable: bool = False) -> None:
        """From now on, open every connection read-only and refuse every write (call before
        the first statement)."""
        self._read_only = reason
        recorder = self.recorder
        if isinstance(recorder, ChainedSQLiteApplicationRecorder):
            recorder.open_read_only(immutable=immutable)
            return
        pool = getattr(getattr(recorder, "datastore", None), "pool", None)
        kwargs = getattr(pool, "kwargs", None)
        if isinstance(kwargs, dict):  # PostgreSQL: every transaction of every connection
            options = f"{kwargs.get('options', '')} -c default_transaction_read_only=on"
            kwargs["options"] = options.strip()
            _check_read_only(pool)

    @property
    def read_only(self) -> str:
        """Why the ledger is read-only (``""`` if it is not): writes raise
        :class:`ReadOnlyLedgerError`."""
        return self._read_only

    @property
    def where(self) -> str:
        """The ledger's file, or its PostgreSQL URL without the password, for messages."""
        return self._where

    def _refuse_if_read_only(self) -> None:
        if self._read_only:
            raise ReadOnlyLedgerError(
                f"{self._where}: the ledger is read-only ({self._read_only}); nothing was "
                "written")

    def _genesis(self, root_key: SigningKey, genesis: Genesis) -> None:
        ledger_id, policy, time_zone = genesis
        if policy and self.env.get("CIPHER_TOPIC"):
            raise ValidationError("policy", "a ledger-wide cipher hides the events the write "
                                            "policy reads; a policy ledger encrypts per learner")
        root = KeyEntry("root", root_key.key_id, root_key.public_key.raw, _now(),
                        Role.ROOT.value)
        registry = KeyRegistry(ledger_id=ledger_id, root=root)
        if policy:  # with its time zone (a ledger without a policy uses the machine's)
            registry.declare_policy(policy, time_zone=time_zone)
        self.save(registry, signer=root_key)
        self._ledger_id = ledger_id

    def close(self) -> None:
        """Close the ledger; leave a single self-contained file if no one else has it open.

        SQLite's write-ahead log keeps recent commits in a ``-wal`` file beside the ledger. On
        close the log is folded into the ledger file and the file is switched back to the
        rollback journal, so that copying the one ``.ledger`` file copies everything (the next
        open switches to WAL again). If another process still has the ledger open, this is
        skipped: its last close will do it; and for a ledger opened read-only.
        """
        if self._personal is not None:
            self._personal.close()
            self._personal = None
        super().close()
        db_name = self.env.get("SQLITE_DBNAME") or ""
        if (self.env.get("PERSISTENCE_MODULE") != "eventsourcing.sqlite" or "memory" in db_name
                or self._read_only):  # a read-only ledger is never written, not even here
            return
        try:  # mode=rw: closing never creates a file, whatever happened to this one
            conn = sqlite3.connect(f"{Path(db_name).absolute().as_uri()}?mode=rw", uri=True,
                                   timeout=0.1)
            try:
                conn.execute("PRAGMA journal_mode=DELETE")
            finally:
                conn.close()
        except sqlite3.Error:
            pass

    @property
    def policy(self) -> str:
        """The write policy the genesis declares (``""``: a ledger from before the policy)."""
        return self.registry.policy

    @property
    def time_zone(self) -> ZoneInfo:
        """The time zone the genesis declares, in which every "today" of the ledger is; this
        machine's for a ledger from before time zones were declared."""
        if self._time_zone is None:
            self._time_zone = ZoneInfo(self.registry.time_zone or machine_time_zone())
        return self._time_zone

    def today(self) -> date:
        """Today's date in the ledger's time zone."""
        return _now().astimezone(self.time_zone).date()

    @property
    def ledger_id(self) -> str:
        if self._ledger_id is None:
            raise UnusableLedgerError("this ledger has no genesis")
        return self._ledger_id

    # -- writing ---------------------------------------------------------------------------

    def save(
        self,
        *objs: MutableOrImmutableAggregate[UUID] | Any | None,
        signer: SigningKey | None = None,
        **kwargs: Any,
    ) -> list[Recording[UUID]]:
        """Save aggregates in one commit, signed by ``signer``: all of it, or nothing.

        Inside :meth:`unit_of_work` the aggregates are staged instead, and written together
        when the unit ends.
        """
        unit = self._unit
        if unit is not None:
            unit.stage(objs, signer)
            return []
        self._refuse_if_read_only()
        return super().save(*objs, signer=signer, **kwargs)

    def load(self, aggregate_id: UUID) -> Any:
        """The aggregate with this id: the staged copy inside a unit of work, else from the store.

        Raises eventsourcing's ``AggregateNotFoundError`` if there is none.
        """
        unit = self._unit
        if unit is not None:
            staged = unit.aggregates.get(aggregate_id)
            if staged is not None:
                return staged
            if aggregate_id in unit.missing:
                raise AggregateNotFoundError(aggregate_id)
            loaded: Any = self.repository.get(aggregate_id)
            unit.aggregates[aggregate_id] = loaded
            return loaded
        return self.repository.get(aggregate_id)

    def preload(self, aggregate_ids: Iterable[UUID]) -> None:
        """Inside a unit of work: read these aggregates in bulk, a few statements for all of
        them, and note the ones the store does not hold (see :attr:`UnitOfWork.missing`).

        Afterwards :meth:`load` answers them from the unit, as if each had been loaded on its
        own: the same stored events, mapped and applied in version order. Without our
        recorder's ``query``, or with an aggregate cache or snapshots (whose aggregates
        ``Repository.get`` builds otherwise), they are loaded one by one instead.
        """
        unit = self._unit
        if unit is None:
            return
        wanted = [i for i in dict.fromkeys(aggregate_ids)
                  if i not in unit.aggregates and i not in unit.missing]
        if (getattr(self.recorder, "query", None) is None or self.repository.cache is not None
                or self.snapshots is not None):
            for aggregate_id in wanted:
                with contextlib.suppress(AggregateNotFoundError):
                    self.load(aggregate_id)
            return
        for start in range(0, len(wanted), PRELOAD_CHUNK):
            self._preload_chunk(unit, wanted[start:start + PRELOAD_CHUNK])

    def _preload_chunk(self, unit: UnitOfWork, ids: list[UUID]) -> None:
        by_hex = {i.hex: i for i in ids}
        rows = self.query(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            f"WHERE originator_id IN ({','.join('?' * len(ids))}) "
            "ORDER BY originator_id, originator_version", tuple(by_hex))
        events: dict[UUID, list[Any]] = {}
        to_domain_event = self.mapper.to_domain_event
        for oid, version, topic, state in rows:
            aggregate_id = by_hex[oid]
            events.setdefault(aggregate_id, []).append(to_domain_event(
                StoredEvent(originator_id=aggregate_id, originator_version=version, topic=topic,
                            state=bytes(state))))
        for aggregate_id in ids:
            aggregate: Any = None
            for event in events.get(aggregate_id, ()):
                aggregate = event.mutate(aggregate)
            if aggregate is None:
                unit.missing.add(aggregate_id)
            else:
                unit.aggregates[aggregate_id] = aggregate

    @property
    def in_unit_of_work(self) -> bool:
        """Whether a :meth:`unit_of_work` is open (saves are staged, not written)."""
        return self._unit is not None

    def query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only statement on the ledger's tables (``?`` placeholders)."""
        query = getattr(self.recorder, "query", None)
        if query is None:
            raise UnusableLedgerError("this ledger's store cannot be queried (not a "
                                      "creditledger recorder)")
        rows: list[tuple[Any, ...]] = query(statement, params)
        return rows

    @contextmanager
    def unit_of_work(self, signer: SigningKey, *, dry_run: bool = False) -> Iterator[UnitOfWork]:
        """Run several commands as one signed commit (batch import, 数据批处理).

        Commands inside see each other's effects (loads return the staged aggregates). On a
        normal exit everything staged is saved in one commit signed by ``signer``; on an error,
        or with ``dry_run``, nothing is written. Units do not nest.
        """
        if self._unit is not None:
            raise ConflictError("a unit of work is already open on this ledger")
        unit = UnitOfWork(signer)
        self._unit = unit
        try:
            yield unit
        finally:
            self._unit = None
        if not dry_run and unit.staged:
            self._refuse_if_read_only()
            unit.recordings = super().save(*unit.staged.values(), signer=signer)

    # -- key registry ----------------------------------------------------------------------

    @property
    def registry(self) -> KeyRegistry:
        reg: KeyRegistry = self.repository.get(registry_id(self.ledger_id))
        return reg

    def register_key(
        self,
        principal: str,
        public_key: PublicKey,
        *,
        root_key: SigningKey,
        valid_from: datetime | None = None,
    ) -> KeyEntry:
        """Register an institution's own public key (its administrator's; signed by the
        root key)."""
        registry = self.registry
        entry = registry.register(principal, public_key, valid_from or _now())
        self.save(registry, signer=root_key)
        return entry

    def register_staff_key(
        self,
        staff_id: str,
        role: Role,
        public_key: PublicKey,
        *,
        admin_key: SigningKey,
        valid_from: datetime | None = None,
    ) -> KeyEntry:
        """Register a staff member's key, in ``role``, for the institution whose administrator
        key ``admin_key`` is (signed by it)."""
        registry = self.registry
        principal = self.principal_of(admin_key)
        entry = registry.register(principal, public_key, valid_from or _now(), role=role,
                                  staff_id=staff_id)
        self.save(registry, signer=admin_key)
        return entry

    def revoke_staff_key(self, key_id: str, *, admin_key: SigningKey,
                         effective_at: datetime | None = None, reason: str = "revoked") -> None:
        """Revoke one of the institution's staff keys (signed by its administrator key)."""
        self.revoke_key(key_id, root_key=admin_key, effective_at=effective_at, reason=reason)

    def rotate_staff_key(self, old_key_id: str, new_public_key: PublicKey, *,
                         admin_key: SigningKey, effective_at: datetime | None = None
                         ) -> KeyEntry:
        """Replace one of the institution's staff keys (same staff id and role)."""
        return self.rotate_key(old_key_id, new_public_key, root_key=admin_key,
                               effective_at=effective_at)

    def revoke_key(
        self,
        key_id: str,
        *,
        root_key: SigningKey,
        effective_at: datetime | None = None,
        reason: str = "revoked",
    ) -> None:
        """Revoke a key from ``effective_at`` (default now; never earlier than the recording),
        signed by ``root_key`` (or, for one of its staff keys, the institution's administrator
        key). What the key signed while valid stays valid."""
        registry = self.registry
        registry.revoke(key_id, effective_at or _now(), reason)
        self.save(registry, signer=root_key)

    def rotate_key(
        self,
        old_key_id: str,
        new_public_key: PublicKey,
        *,
        root_key: SigningKey,
        effective_at: datetime | None = None,
    ) -> KeyEntry:
        """Replace a key: the new one (same principal, role and staff id) starts, the old one
        ends, at ``effective_at``. Signed by ``root_key`` (or, for a staff key, the
        institution's administrator key)."""
        registry = self.registry
        moment = effective_at or _now()
        old = registry.entries.get(old_key_id)
        if old is None:
            raise NotFoundError("key", old_key_id, field="old_key_id")
        role = Role.of_entry(old.role) or Role.ADMINISTRATOR
        entry = registry.register(old.principal, new_public_key, moment, role=role,
                                  staff_id=old.staff_id)
        registry.revoke(old_key_id, moment, "rotated")
        self.save(registry, signer=root_key)
        return entry

    def signer_of(self, key: SigningKey | str) -> Signer:
        """Who signs with a registered key: its principal, role and staff id."""
        return _signer(self.registry, key if isinstance(key, str) else key.key_id)

    def principal_of(self, key: SigningKey | str) -> str:
        """The principal a key is registered to (whether it may sign now is the store's check).

        Answers are cached per ledger object: a key id is registered once, to one principal, and
        never re-assigned (rotation registers a new key; revocation keeps the entry), so a cached
        answer stays exact. Only keys found are cached; an unknown key may be registered later.
        Only committed registrations are seen (the registry is read from the store).
        """
        key_id = key if isinstance(key, str) else key.key_id
        principal = self._principals.get(key_id)
        if principal is not None:
            return principal
        entry = self.registry.entries.get(key_id)
        if entry is None:
            raise NotFoundError("key", key_id, field="signer")
        self._principals[key_id] = entry.principal
        return entry.principal


def _signer(registry: KeyRegistry, key_id: str) -> Signer:
    entry = registry.entries.get(key_id)
    if entry is None:
        raise NotFoundError("key", key_id, field="signer")
    role = Role.ROOT if key_id == registry.root.key_id else Role.of_entry(entry.role)
    if role is None:
        raise NotAuthorisedError(f"key {key_id} is registered with no known role "
                                 f"({entry.role!r})")
    return Signer(entry.principal, role, entry.staff_id)


def _now() -> datetime:
    return datetime.now(UTC)


def _is_postgres_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def _postgres_target_env(target: str | Path | None, env: dict[str, str] | None) -> dict[str, str]:
    """The environment of a PostgreSQL ledger: from a URL, or from ``env`` and os.environ."""
    try:
        from creditledger.store import postgres
    except ImportError as e:  # psycopg is an optional dependency
        raise UnusableLedgerError(
            "PostgreSQL ledgers need psycopg: pip install 'creditledger[postgres]'") from e
    if target is not None:
        return {**postgres.postgres_env(str(target)), **(env or {})}
    settings = {**os.environ, **(env or {})}
    if settings.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        raise UnusableLedgerError(
            "no ledger given: pass a file path or a postgresql:// URL, or set "
            "PERSISTENCE_MODULE=eventsourcing.postgres and the POSTGRES_* settings")
    return postgres.with_ledger_recorder(
        {k: v for k, v in settings.items() if k.startswith(("POSTGRES_", "PERSISTENCE_"))})


def _describe(env: Any) -> str:
    """Where a ledger is, for messages: its file, or its PostgreSQL URL without the password."""
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        from creditledger.store.postgres_connect import describe

        return describe(dict(env))
    return str(env.get("SQLITE_DBNAME") or "the ledger")


# -- creating: arguments first, then all or nothing ---------------------------------------------


class Genesis(NamedTuple):
    """What a new ledger's genesis commit declares."""

    ledger_id: str
    policy: str
    time_zone: str


def _check_genesis(root_key: object, ledger_id: object, policy: object,
                   time_zone: object) -> Genesis:
    """The genesis to write (a new ledger id if none is given, this machine's time zone if
    none is given), once every argument is known good: nothing is touched before."""
    if not isinstance(root_key, SigningKey):
        raise ValidationError("root_key", f"must be a SigningKey (the ledger's root key), not "
                                          f"{type(root_key).__name__}")
    if ledger_id is not None and (not isinstance(ledger_id, str) or not ledger_id.strip()):
        raise ValidationError("ledger_id", "must be a non-empty string, or None for a new id")
    if policy not in POLICIES:
        raise ValidationError("policy", f"{policy!r} is not one of {sorted(POLICIES)}")
    zone = machine_time_zone() if time_zone is None else validate_time_zone(time_zone)
    return Genesis(ledger_id or str(uuid.uuid4()), str(policy), zone)


def machine_time_zone() -> str:
    """This machine's time zone as an IANA name: ``TZ`` if it names one, else what
    ``/etc/localtime`` links to, else ``/etc/timezone``; ``UTC`` if none of them says."""
    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1].removeprefix("posix/"))
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        with contextlib.suppress(ValidationError):
            return validate_time_zone(name)
    return "UTC"


def _check_new_file(path: Path) -> None:
    """``path`` may become a new ledger file: not a folder, not a file holding something, in a
    folder that exists and is writable."""
    if path.is_dir():
        raise UnusableLedgerError(f"{path}: a folder; give the path of the ledger file to create")
    if path.exists() and path.stat().st_size > 0:
        raise ConflictError(f"{path}: file exists; refusing to overwrite it with a new ledger")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise UnusableLedgerError(f"{path}: no folder {folder} to create the ledger in")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UnusableLedgerError(f"{path}: the folder {folder} is not writable")


def _fold_journal(path: Path) -> None:
    """Fold the write-ahead log into the file and leave it in rollback-journal mode, so that
    the one file holds everything (its ``-wal`` stays behind when it is linked elsewhere)."""
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True, timeout=5)
        try:
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise UnusableLedgerError(f"{path}: cannot finish the new ledger ({e})") from e
    if str(mode).lower() != "delete":
        raise UnusableLedgerError(f"{path}: cannot finish the new ledger (journal {mode})")


def _claim(built: Path, path: Path) -> None:
    """Give the finished file ``built`` the name ``path``, never over a file that holds
    something (an empty file there, e.g. from ``mkstemp``, is replaced)."""
    try:
        os.link(built, path)
        return
    except FileExistsError:
        if path.stat().st_size > 0:
            raise ConflictError(f"{path}: file exists; refusing to overwrite it with a new "
                                "ledger") from None
    except OSError:  # a file system without hard links: claim the name, then move into it
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            if path.stat().st_size > 0:
                raise ConflictError(f"{path}: file exists; refusing to overwrite it with a "
                                    "new ledger") from None
    os.replace(built, path)


def _remove_file_set(path: Path) -> None:
    """Remove a SQLite file and whatever SQLite keeps beside it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _check_read_only(pool: Any) -> None:
    """Make every connection a PostgreSQL pool gives out read-only before it is used.

    New connections are, by their ``options``; but eventsourcing's recorder connected already
    while it was made, so each connection is also checked as the pool hands it out (psycopg's
    pool ``check``): the server reports ``default_transaction_read_only`` with every connection
    (PostgreSQL 14 and later), so a connection that is read-only costs no round trip, and one
    that is not is made so once.
    """
    previous = getattr(pool, "_check", None)

    def check(conn: Any) -> None:
        if previous is not None:
            previous(conn)
        if conn.info.parameter_status("default_transaction_read_only") != "on":
            conn.execute("SET SESSION default_transaction_read_only = on")
            if not conn.autocommit:
                conn.commit()

    pool._check = check


def _pg_existing(recorder: Any) -> tuple[bool, bool]:
    """Whether the ledger's schema, and its events table, exist on the server already."""
    from creditledger.store.postgres_connect import unavailable_as_error

    datastore = recorder.datastore
    with unavailable_as_error("creating the ledger", datastore=datastore), \
            datastore.transaction(commit=False) as curs:
        curs.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s),"
                     " to_regclass(quote_ident(%s) || '.stored_events') IS NOT NULL",
                     (datastore.schema, datastore.schema))
        row = curs.fetchone()
    values = list(row.values()) if isinstance(row, dict) else list(row)
    return bool(values[0]), bool(values[1])


PG_LEDGER_OBJECTS = (
    "DROP TABLE IF EXISTS ledger_info, stored_events, ledger_commits, merkle_nodes,"
    " heads_nodes CASCADE",
    "DROP FUNCTION IF EXISTS creditledger_append_only(), creditledger_merkle_fence()",
)
"""What :data:`creditledger.store.postgres.PG_SCHEMA` makes in a schema that was there before."""


def _pg_drop_unused(recorder: Any, *, drop_schema: bool) -> None:
    """Drop the tables (and, if this creation made it, the schema) a failed creation made,
    unless a genesis is in them after all (another creator's, or this one's if only its
    confirmation was lost). Best effort: the creation's own error is what the caller sees."""
    from psycopg.sql import SQL, Identifier

    datastore = recorder.datastore
    with contextlib.suppress(LedgerError, PersistenceError), \
            datastore.transaction(commit=True) as curs:
        schema = Identifier(datastore.schema)
        curs.execute(SQL("LOCK TABLE {0}.stored_events IN ACCESS EXCLUSIVE MODE").format(schema))
        curs.execute(SQL("SELECT EXISTS (SELECT 1 FROM {0}.stored_events)").format(schema))
        row = curs.fetchone()
        if any(row.values() if isinstance(row, dict) else row):
            return
        if drop_schema:
            curs.execute(SQL("DROP SCHEMA {0} CASCADE").format(schema))
            return
        for statement in PG_LEDGER_OBJECTS:
            curs.execute(statement.encode())


# -- opening: read-only when it cannot write -----------------------------------------------------


def _writable_folder(path: Path) -> bool:
    """Whether SQLite may create files (``-wal``, ``-shm``, ``-journal``) beside ``path``."""
    return os.access(path.absolute().parent, os.W_OK | os.X_OK)


def _not_writable(path: Path) -> str:
    """Why the ledger file ``path`` cannot be written (``""`` if it can): the file, or its
    folder (where SQLite keeps its write-ahead log), is not writable by this process."""
    if not os.access(path, os.W_OK):
        return f"the file {path} is not writable"
    if not _writable_folder(path):
        return f"its folder {path.absolute().parent} is not writable"
    return ""
