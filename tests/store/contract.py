"""The store's contract: the rules every backend keeps, written once and run per backend.

As eventsourcing's own persistence tests do (``ApplicationRecorderTestCase`` in
``eventsourcing/tests/persistence.py``, subclassed once for SQLite and once for PostgreSQL),
:class:`StoreContract` holds the tests and each backend's test class subclasses it and says
where a new ledger goes (the ``target`` fixture) and how its raw database answers
(:attr:`StoreContract.db_error`, :meth:`StoreContract.non_ledgers`). See ``test_store.py``.

The module also holds the backend-neutral helpers the domain and projection suites use to look
at a ledger without going through the library: :func:`ledger_rows` (plain SQL on the SQLite
file or the PostgreSQL schema), :func:`ledger_execute` (a raw write, as an intruder would try)
and :func:`check_chain` / :func:`assert_intact` (the chain recomputed from the rows).
"""

from __future__ import annotations

import base64
import multiprocessing
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs

import pytest
from cryptography.exceptions import InvalidSignature
from eventsourcing.persistence import RecordConflictError

from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.domain.policy import Role, Signer
from creditledger.errors import (
    ConflictError,
    KeyNotValidError,
    NotAuthorisedError,
    UnsignedCommitError,
    UnusableLedgerError,
    ValidationError,
)
from creditledger.services.core import ledger_of
from creditledger.store.format import ZERO_HASH, link_hash
from creditledger.store.ledger import Ledger
from creditledger.store.mapper import decode_state
from creditledger.store.registry import (
    GENESIS_TOPIC,
    REGISTRY_TOPICS,
    KeyBook,
    KeyEntry,
    KeyRegistry,
)

from .ledgers import Account

Target = str | Path
"""Where a ledger is: a SQLite file, or a ``postgresql://...?schema=...`` URL."""


# -- looking at a ledger's rows, on either backend ---------------------------------------------


def is_postgres(target: Target) -> bool:
    """Whether ``target`` names a PostgreSQL ledger."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def _pg_connect(url: str) -> Any:
    import psycopg

    base, _, query = url.partition("?")
    schema = parse_qs(query).get("schema", ["public"])[0]
    return psycopg.connect(base, autocommit=True, options=f"-c search_path={schema}")


def ledger_rows(target: Target, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run a read statement (``?`` placeholders) on the ledger's database, not the library."""
    if is_postgres(target):
        with _pg_connect(str(target)) as conn:
            rows = conn.execute(sql.replace("?", "%s"), list(params)).fetchall()
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]
    with closing(sqlite3.connect(f"{Path(target).resolve().as_uri()}?mode=ro", uri=True)) as c:
        return c.execute(sql, list(params)).fetchall()


def ledger_execute(target: Target, sql: str) -> None:
    """Run one write statement on the ledger's database, bypassing the library."""
    if is_postgres(target):
        with _pg_connect(str(target)) as conn:
            conn.execute(sql)
        return
    with closing(sqlite3.connect(target)) as conn:
        conn.execute(sql)
        conn.commit()


def event_count(target: Target) -> int:
    """How many event rows the ledger holds (counted in the database)."""
    return int(ledger_rows(target, "SELECT COUNT(*) FROM stored_events")[0][0])


KEY_KEEPERS = (Role.ROOT, Role.ADMINISTRATOR)
"""Who changes the key registry: the root, and an administrator for its own staff keys."""


@dataclass(frozen=True)
class ChainSummary:
    """What :func:`check_chain` found in an intact ledger."""

    events: int
    commits: int
    keys: int


def check_chain(target: Target) -> ChainSummary:
    """Recompute the ledger's chain from its rows and fail on the first broken rule.

    Independent of :mod:`creditledger.audit.verify`: positions ``1..n`` without gap, every hash
    recomputed (:func:`~creditledger.store.format.link_hash`), every event linked to its global
    and its aggregate predecessor, aggregate versions ``1..k``, commits numbered ``1..m`` that
    tile the positions in non-decreasing time, each signed (Ed25519, over its statement) by a key
    that the registry, as of that commit, lets sign then.
    """
    (ledger_id,), = ledger_rows(target, "SELECT value FROM ledger_info WHERE name='ledger_id'")
    events = ledger_rows(
        target, "SELECT position, commit_seq, originator_id, originator_version, topic, state,"
        " prev_hash, prev_aggregate_hash, hash FROM stored_events ORDER BY position")
    commits = ledger_rows(
        target, "SELECT seq, first_position, event_count, committed_at, key_id, signature"
        " FROM ledger_commits ORDER BY seq")
    prev = ZERO_HASH
    tips: dict[str, tuple[int, bytes]] = {}
    by_commit: dict[int, list[tuple[Any, ...]]] = {}
    for expected, row in enumerate(events, start=1):
        position, seq, oid, version, topic, state, prev_hash, prev_agg, stored = row
        assert position == expected, f"gap or reorder at position {expected}"
        assert bytes(prev_hash) == prev, f"position {position}: global link broken (fork?)"
        last_version, last_hash = tips.get(oid, (0, ZERO_HASH))
        assert version == last_version + 1, f"position {position}: {oid} skips a version"
        assert bytes(prev_agg) == last_hash, f"position {position}: aggregate link broken"
        recomputed = link_hash((position, seq, oid, version, topic, bytes(state), prev, last_hash))
        assert bytes(stored) == recomputed, f"position {position}: stored hash is wrong"
        tips[oid] = (version, recomputed)
        prev = recomputed
        by_commit.setdefault(seq, []).append(row)
    book = KeyBook()
    next_position, last_at = 1, 0
    for expected, (seq, first, count, at, key_id, signature) in enumerate(commits, start=1):
        assert seq == expected, f"commit {expected} is missing"
        rows = by_commit.get(seq, [])
        assert first == next_position and count == len(rows) > 0, f"commit {seq} does not tile"
        assert [r[0] for r in rows] == list(range(first, first + count)), f"commit {seq} rows"
        assert at >= last_at, f"commit {seq} is dated before its predecessor"
        registry = [r for r in rows if r[4] in REGISTRY_TOPICS]
        if seq == 1:
            assert rows[0][4] == GENESIS_TOPIC, "the first commit is not the genesis"
            book.apply(GENESIS_TOPIC, decode_state(GENESIS_TOPIC, bytes(rows[0][5])), at)
            assert key_id == book.root_key_id, "the genesis is not signed by its root"
            assert book.ledger_id == ledger_id, "ledger_info names another ledger"
            registry = registry[1:]
        else:
            assert book.problem(key_id, at) is None, f"commit {seq}: {key_id} may not sign"
            signer = book.signer(key_id)
            assert not registry or (signer is not None and signer.role in KEY_KEEPERS), \
                f"commit {seq}: registry changed by {signer}"
        statement = book.statement(seq, first, at, key_id, [bytes(r[8]) for r in rows])
        try:
            book.public_key(key_id).verify(bytes(signature), statement.message())
        except InvalidSignature:
            raise AssertionError(f"commit {seq}: the signature does not verify") from None
        for r in registry:
            book.apply(r[4], decode_state(r[4], bytes(r[5])), at)
        next_position, last_at = first + count, at
    assert next_position == len(events) + 1, "events after the last commit"
    return ChainSummary(len(events), len(commits), len(book))


def assert_intact(target: Target) -> ChainSummary:
    """Check a ledger twice: the independent recomputation, then the library's verifier (which
    also checks the stored Merkle tree); both must agree on what they saw."""
    summary = check_chain(target)
    report = verify_ledger(target)
    assert (report.events, report.commits, report.keys) == (
        summary.events, summary.commits, summary.keys)
    return summary


# -- the contract ------------------------------------------------------------------------------


@dataclass
class Opened:
    """A new ledger with a root and one registered school."""

    ledger: Ledger
    target: Target
    root: SigningKey
    school: SigningKey


def _writer(target: str, pem: bytes, worker: int, commits: int) -> None:
    """A writer process: one account, then ``commits`` commits to it."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pem, password=b"pw")
    signer = SigningKey(key)  # type: ignore[arg-type]
    led = Ledger.open(target)
    mine = Account(f"worker-{worker}")
    led.save(mine, signer=signer)
    for i in range(commits):
        mine.credit(Decimal(i))
        led.save(mine, signer=signer)
    led.close()


class StoreContract:
    """The store's rules on one backend. Subclasses provide the ``target`` fixture (where a new
    ledger goes), :attr:`db_error` and :meth:`non_ledgers`."""

    db_error: ClassVar[type[Exception]] = Exception
    """What the raw database raises when a trigger refuses a statement."""
    raw_refused: ClassVar[tuple[str, ...]] = ()
    """Backend-only raw statements that must be refused too (besides UPDATE and DELETE)."""

    @pytest.fixture()
    def target(self) -> Target:
        """Where a new ledger goes (overridden per backend)."""
        raise NotImplementedError

    def non_ledgers(self, target: Target) -> Iterator[tuple[Target, str]]:
        """Places that hold no ledger, each with what ``Ledger.open`` must say about it."""
        raise NotImplementedError

    def absent(self, target: Target) -> bool:
        """Whether nothing at all exists at ``target`` (opening must not create it)."""
        raise NotImplementedError

    def tamper(self, target: Target, statement: str) -> None:
        """Run ``statement`` with the append-only triggers out of the way (an intruder)."""
        raise NotImplementedError

    @pytest.fixture()
    def opened(self, target: Target) -> Iterator[Opened]:
        root, school = SigningKey.generate(), SigningKey.generate()
        led = Ledger.create(target, root)
        led.register_key("school", school.public_key, root_key=root)
        try:
            yield Opened(led, target, root, school)
        finally:
            led.close()

    # -- what is written ---------------------------------------------------------------------

    def test_stored_events_reload_with_exact_types(self, opened: Opened) -> None:
        acc = Account("学生-1")
        acc.credit(Decimal("2.50"), note="智能财税")
        opened.ledger.save(acc, signer=opened.school)
        again = Ledger.open(opened.target)
        try:
            copy = again.repository.get(acc.id)
        finally:
            again.close()
        assert copy.balance == Decimal("2.50") and isinstance(copy.balance, Decimal)
        assert str(copy.balance) == "2.50" and copy.owner == "学生-1"
        assert copy.modified_on.tzinfo is not None

    def test_every_commit_is_signed_and_chained(self, opened: Opened) -> None:
        a, b = Account("a"), Account("b")
        opened.ledger.save(a, b, signer=opened.school)
        a.credit(Decimal(1))
        opened.ledger.save(a, signer=opened.school)
        summary = assert_intact(opened.target)
        assert (summary.events, summary.commits, summary.keys) == (5, 4, 2)
        signers = ledger_rows(opened.target, "SELECT key_id FROM ledger_commits ORDER BY seq")
        assert [s for (s,) in signers] == [opened.root.key_id] * 2 + [opened.school.key_id] * 2

    # -- who may sign ----------------------------------------------------------------------

    def test_unsigned_commit_is_refused_and_nothing_is_written(self, opened: Opened) -> None:
        before = event_count(opened.target)
        with pytest.raises(UnsignedCommitError):
            opened.ledger.save(Account("x"))
        assert event_count(opened.target) == before

    def test_unknown_key_is_refused_and_nothing_is_written(self, opened: Opened) -> None:
        before = event_count(opened.target)
        with pytest.raises(KeyNotValidError, match="unknown-key"):
            opened.ledger.save(Account("x"), Account("y"), signer=SigningKey.generate())
        assert event_count(opened.target) == before

    def test_revoked_key_is_refused_after_its_revocation(self, opened: Opened) -> None:
        led = opened.ledger
        led.save(Account("before"), signer=opened.school)
        led.revoke_key(opened.school.key_id, root_key=opened.root, reason="laptop stolen")
        before = event_count(opened.target)
        with pytest.raises(KeyNotValidError, match="key-revoked"):
            led.save(Account("after"), signer=opened.school)
        assert event_count(opened.target) == before
        assert_intact(opened.target)

    def test_key_not_yet_valid_is_refused(self, opened: Opened) -> None:
        later = SigningKey.generate()
        opened.ledger.register_key("later", later.public_key, root_key=opened.root,
                                   valid_from=datetime.now(UTC) + timedelta(days=1))
        before = event_count(opened.target)
        with pytest.raises(KeyNotValidError, match="key-not-yet-valid"):
            opened.ledger.save(Account("x"), signer=later)
        assert event_count(opened.target) == before

    def test_only_the_root_registers_an_institutions_own_key(self, opened: Opened) -> None:
        registry = opened.ledger.registry
        registry.register("intruder", SigningKey.generate().public_key, datetime.now(UTC))
        with pytest.raises(NotAuthorisedError, match="only the root registers"):
            opened.ledger.save(registry, signer=opened.school)
        assert len(opened.ledger.registry.entries) == 2

    def test_an_administrator_registers_and_revokes_its_own_staff_keys_only(
        self, opened: Opened,
    ) -> None:
        led, staff = opened.ledger, SigningKey.generate()
        entry = led.register_staff_key("T-007", Role.REGISTRAR, staff.public_key,
                                       admin_key=opened.school)
        assert led.signer_of(staff) == Signer("school", Role.REGISTRAR, "T-007") != \
            led.signer_of(opened.school)
        with pytest.raises(NotAuthorisedError, match="registrar"):  # staff register no keys
            led.register_staff_key("T-008", Role.ASSESSOR, SigningKey.generate().public_key,
                                   admin_key=staff)
        led.save(Account("by staff"), signer=staff)
        led.revoke_staff_key(entry.key_id, admin_key=opened.school)
        with pytest.raises(KeyNotValidError):
            led.save(Account("after revocation"), signer=staff)
        assert assert_intact(opened.target).keys == 3

    def test_a_second_genesis_is_refused(self, opened: Opened) -> None:
        root = opened.root
        entry = KeyEntry("root", root.key_id, root.public_key.raw, datetime.now(UTC))
        before = event_count(opened.target)
        with pytest.raises(KeyNotValidError, match="genesis"):
            opened.ledger.save(KeyRegistry(ledger_id="another", root=entry), signer=root)
        assert event_count(opened.target) == before

    def test_rotation_moves_signing_to_the_new_key(self, opened: Opened) -> None:
        led, new = opened.ledger, SigningKey.generate()
        led.rotate_key(opened.school.key_id, new.public_key, root_key=opened.root)
        assert led.principal_of(new) == "school"
        with pytest.raises(KeyNotValidError):
            led.save(Account("old key"), signer=opened.school)
        led.save(Account("new key"), signer=new)
        assert assert_intact(opened.target).keys == 3

    def test_revocation_cannot_reach_back_before_it_was_recorded(self, opened: Opened) -> None:
        led = opened.ledger
        led.save(Account("signed while valid"), signer=opened.school)
        led.revoke_key(opened.school.key_id, root_key=opened.root,
                       effective_at=datetime(2000, 1, 1, tzinfo=UTC))
        assert assert_intact(opened.target).commits == 4  # the earlier commit stays valid

    def test_the_root_key_cannot_be_revoked(self, opened: Opened) -> None:
        with pytest.raises(ValidationError, match="key_id"):
            opened.ledger.revoke_key(opened.root.key_id, root_key=opened.root)

    # -- concurrency -----------------------------------------------------------------------

    def test_concurrent_writers_on_one_aggregate_get_a_conflict_not_a_fork(
        self, opened: Opened
    ) -> None:
        led, school = opened.ledger, opened.school
        acc = Account("shared")
        led.save(acc, signer=school)
        other = Ledger.open(opened.target)
        try:
            first: Account = led.repository.get(acc.id)
            second: Account = other.repository.get(acc.id)
            first.credit(Decimal(1))
            second.credit(Decimal(2))
            led.save(first, signer=school)
            before = event_count(opened.target)
            with pytest.raises(RecordConflictError):
                other.save(second, signer=school)
            assert event_count(opened.target) == before
            retry = other.repository.get(acc.id)
            retry.credit(Decimal(2))
            other.save(retry, signer=school)
            assert other.repository.get(acc.id).balance == Decimal(3)
            # the first writer's recorder still extends the one chain
            again: Account = led.repository.get(acc.id)
            again.credit(Decimal(4))
            led.save(again, signer=school)
        finally:
            other.close()
        assert assert_intact(opened.target).events == 2 + 4

    def test_concurrent_processes_never_fork_or_gap_the_chain(self, opened: Opened) -> None:
        ctx = multiprocessing.get_context("spawn")
        workers = [
            ctx.Process(target=_writer,
                        args=(str(opened.target), opened.school.to_pem(b"pw"), w, 15))
            for w in range(4)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(120)
            assert w.exitcode == 0
        summary = assert_intact(opened.target)
        assert summary.events == 2 + 4 * 16
        assert summary.commits == 2 + 4 * 16

    # -- append-only -----------------------------------------------------------------------

    def test_event_and_commit_rows_are_append_only(self, opened: Opened) -> None:
        accounts = [Account(f"learner-{i}") for i in range(3)]
        opened.ledger.save(*accounts, signer=opened.school)
        accounts[0].credit(Decimal("1.5"))
        opened.ledger.save(accounts[0], signer=opened.school)
        for statement in (
            "UPDATE stored_events SET topic='x' WHERE position=5",
            "UPDATE stored_events SET state=state WHERE position=3",
            "DELETE FROM stored_events WHERE position=5",
            "UPDATE ledger_commits SET key_id='x' WHERE seq=2",
            "DELETE FROM ledger_commits WHERE seq=2",
            "UPDATE ledger_info SET value='x' WHERE name='ledger_id'",
            "DELETE FROM ledger_info",
            *self.raw_refused,
        ):
            with pytest.raises(self.db_error, match="append-only"):
                ledger_execute(opened.target, statement)
        assert assert_intact(opened.target).events == 6

    @pytest.mark.parametrize("statement", [
        "UPDATE stored_events SET topic=topic || 'x' WHERE position=4",
        "UPDATE stored_events SET originator_version=2 WHERE position=3",
        "DELETE FROM stored_events WHERE position=3",
        "UPDATE ledger_commits SET committed_at=committed_at-1 WHERE seq=3",
        "UPDATE ledger_commits SET key_id=(SELECT key_id FROM ledger_commits WHERE seq=1)"
        " WHERE seq=3",
    ])
    def test_the_chain_check_catches_an_edited_row(self, opened: Opened, statement: str) -> None:
        opened.ledger.save(Account("a"), Account("b"), signer=opened.school)
        opened.ledger.close()
        check_chain(opened.target)
        self.tamper(opened.target, statement)
        with pytest.raises(AssertionError):
            check_chain(opened.target)

    def test_no_private_key_is_stored_in_the_ledger(self, opened: Opened) -> None:
        from cryptography.hazmat.primitives import serialization

        opened.ledger.save(Account("x"), signer=opened.school)
        stored = b"".join(
            bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
            for table in ("stored_events", "ledger_commits", "ledger_info")
            for row in ledger_rows(opened.target, f"SELECT * FROM {table}") for v in row)

        def forms(raw: bytes) -> list[bytes]:
            return [raw, raw.hex().encode(), base64.b64encode(raw), base64.b64encode(raw)[:-2]]

        # the search finds a key where the ledger stores one (a public key, base64 in JSON)
        assert any(f in stored for f in forms(opened.school.public_key.raw))
        for key in (opened.root, opened.school):
            raw = key._private_key.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            assert not any(f in stored for f in forms(raw))

    # -- creating and opening --------------------------------------------------------------

    def test_create_refuses_a_target_that_holds_a_ledger(self, opened: Opened) -> None:
        before = event_count(opened.target)
        with pytest.raises(ConflictError):
            Ledger.create(opened.target, SigningKey.generate())
        assert event_count(opened.target) == before
        assert_intact(opened.target)

    def test_open_refuses_what_is_not_a_ledger_and_creates_nothing(self, target: Target) -> None:
        for place, message in self.non_ledgers(target):
            missing = self.absent(place)
            with pytest.raises(UnusableLedgerError, match=message):
                Ledger.open(place)
            assert self.absent(place) == missing, f"opening {place} created it"


# -- test worlds on either backend -------------------------------------------------------------

sqlite_only = pytest.mark.parametrize("ledger_target", ["sqlite"], indirect=True)
"""Run a test that takes ``ledger_target`` (or a world built on it) on SQLite only: for tests
that hand the ledger's file path to something that takes only files (the reporting CLIs)."""


_W = TypeVar("_W", bound="LedgerWorld")


@contextmanager
def closing_world(world: _W) -> Iterator[_W]:
    """``world``, its ledger closed afterwards (the worlds' ``world_on``)."""
    try:
        yield world
    finally:
        world.bank.close()


class LedgerWorld:
    """What the domain suites' worlds share: looks at their ledger that work on both backends.

    A world has ``bank`` (a :class:`~creditledger.CreditBank`), ``path`` (where its ledger
    is: a SQLite file, or a ``postgresql://...?schema=...`` URL) and ``folder`` (for files beside
    it, such as views databases; ``None``: the file's folder, or a new temporary one).
    """

    bank: Any
    path: Target
    folder: Path | None

    def size(self) -> int:
        """How many events the ledger holds (positions run ``1..n`` without gaps)."""
        return int(self.bank.last_position())

    @property
    def recorder(self) -> Any:
        """The event store's recorder under the bank (for store-level tests)."""
        return ledger_of(self.bank).recorder

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read statement (``?`` placeholders) on the ledger's tables, past the library."""
        return ledger_rows(self.path, sql, params)

    def verify(self) -> ChainSummary:
        """Check the whole chain (see :func:`assert_intact`)."""
        return assert_intact(self.path)

    @property
    def views(self) -> Path:
        """A views database for this world's ledger (beside a file ledger)."""
        if not is_postgres(self.path):
            return Path(self.path).with_suffix(".views.db")
        if self.folder is None:
            import tempfile

            self.folder = Path(tempfile.mkdtemp(prefix="creditledger-world-"))
        return self.folder / "ledger.views.db"
