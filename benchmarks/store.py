"""Store benchmark: plain eventsourcing on SQLite against creditledger's chained, signed store.

Run from the repository root::

    python benchmarks/store.py            # full sizes (a few minutes on 2 cores)
    python benchmarks/store.py --quick    # 10x smaller, a smoke run
    python benchmarks/store.py --markdown-out docs/benchmarks-store.md

Both sides run in this one process, alternately (plain, ours, ours, plain, ...), so machine
noise hits both; each figure is the median of ``--reps`` runs. Both sides use the same
aggregate class, a file on disk in a temporary directory, eventsourcing's SQLite datastore
(WAL journal) and SQLite's default ``synchronous`` setting, which the script reads back from
each side's own connection and requires to be equal.

* plain: ``eventsourcing.application.Application`` with the default JSON transcoder and
  ``SQLiteApplicationRecorder``;
* ours: ``creditledger.store.ledger.Ledger`` (msgspec mapper, ``ChainedSQLiteApplicationRecorder``:
  hash-linked rows plus one Ed25519-signed commit row per save), every save signed by a
  registered institution key.

Workloads (only the ``save`` calls are timed, wall and CPU; creating the events is the same on
both sides):

* (a) 10,000 commits of one event each: 100 credit accounts are opened by the first 100
  commits, the other 9,900 commits credit them round-robin;
* (b) 100,000 events in 1,000 commits of 100: the first commit opens 100 accounts, each
  further commit credits every account once.

* (p) the write policy's share of a single-event commit: a credit bank ledger (policy
  ``creditledger-policy/1``) with 100 learner accounts of one school, then single-event commits
  correcting their personal data round-robin, each signed by the school's registrar's staff key;
  the same workload with the writer's policy check switched off (this script only) is the
  baseline. Both sides alternate in this process like the others.

Verification: ``verify_ledger`` over the (a) and (b) ledgers, against the machine's crypto
bound measured in the same run: SHA-256 over the exact bytes the verifier hashes (the
0x00-prefixed msgpack ``EventLink`` of every event, already in memory) plus cryptography's
``Ed25519PublicKey.verify`` of every commit signature over its exact ``CommitStatement``
message, single-threaded. ``cpu`` is the verifier's CPU time (its process and its worker
processes) over its wall time: 2.0 = both cores busy on a 2-core machine.
"""

from __future__ import annotations

import gc
import hashlib
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from rich.console import Console

from _common import (
    command_line,
    cpu_seconds,
    load_average,
    machine,
    markdown_table,
    parser,
    print_table,
    publish,
    school_bank,
    seconds,
    settle,
)
from creditledger import PersonalData
from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.domain import LearnerAccount
from creditledger.services.core import ledger_of
from creditledger.store.format import EventLink
from creditledger.store.ledger import Ledger
from creditledger.store.registry import REGISTRY_EVENTS, key_book, registry_id

ACCOUNTS = 100
TERMS = ("2024-1", "2024-2", "2025-1", "2025-2")
COURSES = ("CS101", "NET210", "MECH140", "ACC305", "WELD120", "NURS230", "ENG102")


class CreditAccount(Aggregate):
    """A learner's credit account: the same aggregate class on both sides."""

    @event("Opened")
    def __init__(self, learner_id: str, institution: str) -> None:
        self.learner_id = learner_id
        self.institution = institution
        self.total = Decimal(0)

    @event("Credited")
    def credit(self, course_code: str, credits: Decimal, term: str, score: Decimal) -> None:
        self.total += credits


def _credit(account: CreditAccount, n: int) -> None:
    account.credit(
        COURSES[n % len(COURSES)],
        Decimal(f"{1 + n % 4}.5"),
        TERMS[n % len(TERMS)],
        Decimal(f"{60 + n % 40}.{n % 10}"),
    )


def _open(i: int) -> CreditAccount:
    return CreditAccount(f"L{2024_000_000 + i}", "Ningbo Polytechnic")


# -- the two sides ---------------------------------------------------------------------------


Save = Callable[..., Any]


@dataclass
class Side:
    name: str
    app: Application[UUID]
    save: Save
    path: Path

    def pragmas(self) -> tuple[int, str]:
        with self.app.recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
            c.execute("PRAGMA synchronous")
            synchronous = int(c.fetchone()[0])
            c.execute("PRAGMA journal_mode")
            journal = str(c.fetchone()[0])
        return synchronous, journal

    def close(self) -> None:
        self.app.close()


def plain_side(directory: Path) -> Side:
    path = directory / "plain.sqlite"
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    app: Application[UUID] = Application(env=env)
    return Side("plain", app, app.save, path)


def our_side(directory: Path) -> Side:
    path = directory / "ours.ledger"
    root = SigningKey.generate()
    institution = SigningKey.generate()
    ledger = Ledger.create(path, root)
    ledger.register_key("Ningbo Polytechnic", institution.public_key, root_key=root)

    def save(*aggregates: Aggregate) -> Any:
        return ledger.save(*aggregates, signer=institution)

    return Side("ours", ledger, save, path)


# -- workloads (only save() is timed) ---------------------------------------------------------


class TimedSave:
    """Wraps a side's ``save``: wall time and this process's CPU time spent in it."""

    def __init__(self, save: Save) -> None:
        self._save = save
        self.wall = 0.0
        self.cpu = 0.0

    def __call__(self, *aggregates: Aggregate) -> None:
        c0, t0 = time.process_time(), time.perf_counter()
        self._save(*aggregates)
        self.wall += time.perf_counter() - t0
        self.cpu += time.process_time() - c0


def workload_a(save: TimedSave, commits: int) -> None:
    """``commits`` commits of one event: open ACCOUNTS accounts, then credit round-robin."""
    accounts: list[CreditAccount] = []
    for n in range(commits):
        if n < ACCOUNTS:
            account = _open(n)
            accounts.append(account)
        else:
            account = accounts[n % ACCOUNTS]
            _credit(account, n)
        save(account)


def workload_b(save: TimedSave, commits: int) -> None:
    """``commits`` commits of ACCOUNTS events: open them all, then credit each once a commit."""
    accounts = [_open(i) for i in range(ACCOUNTS)]
    save(*accounts)
    for n in range(1, commits):
        for account in accounts:
            _credit(account, n)
        save(*accounts)


# -- (p): the write policy's share of a commit ----------------------------------------------------


def policy_side(directory: Path, checked: bool) -> tuple[Any, Callable[[int], None]]:
    """A credit bank with ACCOUNTS accounts of GZCC, and ``correct(n)``: the n-th single-event
    commit (a registrar's staff key corrects an account's personal data)."""
    bank, registrar = school_bank(directory / "policy.ledger")
    ledger = ledger_of(bank)
    accounts = [LearnerAccount.open(learner_id=f"P{i}", learner_type="student",
                                    personal_data=PersonalData(name="学员"),
                                    home_institution="GZCC", programme_code="530302")
                for i in range(ACCOUNTS)]
    ledger.save(*accounts, signer=registrar)
    if not checked:  # the baseline: the same writer without the policy check
        ledger.recorder._check_policy = lambda *args: None

    def correct(n: int) -> None:
        account = accounts[n % ACCOUNTS]
        account.correct_personal_data(PersonalData(name=f"学员{n}"))
        ledger.save(account, signer=registrar)

    return bank, correct


def policy_cost(sizes: Sizes, workdir: Path, results: Results,
                say: Callable[[str], None]) -> None:
    for rep in range(sizes.reps):
        order = (True, False) if rep % 2 == 0 else (False, True)
        for checked in order:
            name = "checked" if checked else "unchecked"
            directory = workdir / f"p-{name}-{rep}"
            directory.mkdir()
            bank, correct = policy_side(directory, checked)
            settle()
            c0, t0 = time.process_time(), time.perf_counter()
            for n in range(sizes.a_commits):
                correct(n)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            bank.close()
            shutil.rmtree(directory)
            results.write.setdefault(("p", name), []).append(wall)
            results.write_cpu.setdefault(("p", name), []).append(cpu)
            say(f"rep {rep + 1}/{sizes.reps} (p) {name:9}: {wall:8.3f} s (cpu {cpu:.3f} s)")


# -- the crypto bound -------------------------------------------------------------------------


@dataclass
class CryptoWork:
    """The exact bytes ``verify_ledger`` hashes and the exact signed messages it checks."""

    leaves: list[bytes] = field(default_factory=list)  # 0x00 || msgpack(EventLink)
    signatures: list[tuple[Ed25519PublicKey, bytes, bytes]] = field(default_factory=list)

    def run(self) -> float:
        sha256 = hashlib.sha256
        t0 = time.perf_counter()
        for leaf in self.leaves:
            sha256(leaf).digest()
        for key, signature, message in self.signatures:
            key.verify(signature, message)
        return time.perf_counter() - t0


def crypto_work(path: Path, ledger_id: str) -> CryptoWork:
    """Read the ledger (untimed) and build what the verifier hashes and verifies."""
    encoder = msgspec.msgpack.Encoder(order="deterministic")
    work = CryptoWork()
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        book = key_book(conn.execute(REGISTRY_EVENTS, (registry_id(ledger_id).hex,)))
        keys = {key_id: Ed25519PublicKey.from_public_bytes(book.public_key(key_id).raw)
                for key_id in book.records}
        hashes: dict[int, list[bytes]] = {}
        for row in conn.execute(
            "SELECT position, commit_seq, originator_id, originator_version, topic, state,"
            " prev_hash, prev_aggregate_hash, hash FROM stored_events ORDER BY position"
        ):
            data = encoder.encode(EventLink(*row[:8]))
            leaf = b"\x00" + data
            if hashlib.sha256(leaf).digest() != row[8]:
                raise SystemExit(f"{path}: event {row[0]} does not hash to its stored hash")
            work.leaves.append(leaf)
            hashes.setdefault(row[1], []).append(row[8])
        for seq, first, _count, at, key_id, signature in conn.execute(
            "SELECT seq, first_position, event_count, committed_at, key_id, signature"
            " FROM ledger_commits ORDER BY seq"
        ):
            message = book.statement(seq, first, at, key_id, hashes[seq]).message()
            work.signatures.append((keys[key_id], signature, message))
    finally:
        conn.close()
    return work


# -- running ---------------------------------------------------------------------------------


@dataclass
class Sizes:
    a_commits: int
    b_commits: int
    reps: int

    @property
    def a_events(self) -> int:
        return self.a_commits

    @property
    def b_events(self) -> int:
        return self.b_commits * ACCOUNTS


@dataclass
class Results:
    write: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    write_cpu: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    verify: dict[str, list[float]] = field(default_factory=dict)
    verify_cpu: dict[str, list[float]] = field(default_factory=dict)
    bound: dict[str, list[float]] = field(default_factory=dict)
    pragmas: dict[str, tuple[int, str]] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)


def run(sizes: Sizes, workdir: Path, say: Callable[[str], None]) -> tuple[Results, list[Path]]:
    results = Results()
    load_before = load_average()
    makers = {"plain": plain_side, "ours": our_side}
    workloads: dict[str, tuple[Callable[[TimedSave, int], None], int]] = {
        "a": (workload_a, sizes.a_commits),
        "b": (workload_b, sizes.b_commits),
    }
    kept: dict[str, tuple[Path, str]] = {}
    for rep in range(sizes.reps):
        order = ("plain", "ours") if rep % 2 == 0 else ("ours", "plain")
        for wl, (workload, commits) in workloads.items():
            for name in order:
                directory = workdir / f"{wl}-{name}-{rep}"
                directory.mkdir()
                side = makers[name](directory)
                results.pragmas[name] = side.pragmas()
                settle()
                timed = TimedSave(side.save)
                workload(timed, commits)
                results.write.setdefault((wl, name), []).append(timed.wall)
                results.write_cpu.setdefault((wl, name), []).append(timed.cpu)
                say(f"rep {rep + 1}/{sizes.reps} ({wl}) {name:5}: {timed.wall:8.3f} s"
                    f" (cpu {timed.cpu:.3f} s)")
                if name == "ours":
                    ledger_id = side.app.ledger_id  # type: ignore[attr-defined]
                    side.close()
                    previous = kept.get(wl)
                    if previous is not None:
                        shutil.rmtree(previous[0].parent)
                    kept[wl] = (side.path, ledger_id)
                else:
                    side.close()
                    shutil.rmtree(directory)
    if results.pragmas["plain"] != results.pragmas["ours"]:
        raise SystemExit(f"the two sides differ in PRAGMAs: {results.pragmas}")
    for wl, (path, ledger_id) in kept.items():
        work = crypto_work(path, ledger_id)
        for rep in range(sizes.reps):
            gc.collect()
            results.bound.setdefault(wl, []).append(work.run())
            gc.collect()
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            report = verify_ledger(path)
            wall = time.perf_counter() - t0
            cpu = cpu_seconds() - cpu0
            if report.events != len(work.leaves):
                raise SystemExit(f"verify saw {report.events} events, not {len(work.leaves)}")
            results.verify.setdefault(wl, []).append(wall)
            results.verify_cpu.setdefault(wl, []).append(cpu / wall)
            say(f"rep {rep + 1}/{sizes.reps} verify ({wl}): {wall:.3f} s, "
                f"bound {results.bound[wl][-1]:.3f} s, cpu {cpu / wall:.2f}")
        del work
    policy_cost(sizes, workdir, results, say)
    results.load = (load_before, load_average())
    return results, [p for p, _ in kept.values()]


# -- reporting -------------------------------------------------------------------------------


TARGET_A, TARGET_B, TARGET_VERIFY, TARGET_POLICY = 1.10, 1.00, 1.50, 1.05

Row = tuple[str, str, str, str, str, str, str, str, str]
HEADER: Row = ("case", "plain / bound", "ours", "µs/event plain", "µs/event ours", "ratio",
               "paired", "best", "target")


def rows(sizes: Sizes, r: Results) -> list[Row]:
    med = statistics.median
    out: list[Row] = []
    for wl, label, events, target in (
        ("a", f"(a) {sizes.a_commits:,} commits × 1 event", sizes.a_events, TARGET_A),
        ("b", f"(b) {sizes.b_commits:,} commits × {ACCOUNTS} events", sizes.b_events, TARGET_B),
    ):
        plain, ours = med(r.write[(wl, "plain")]), med(r.write[(wl, "ours")])
        ratio = ours / plain
        paired = med(o / p for o, p in zip(r.write[(wl, "ours")], r.write[(wl, "plain")],
                                           strict=True))
        out.append((
            f"write {label}", f"{plain:.3f} s", f"{ours:.3f} s", f"{plain / events * 1e6:.1f}",
            f"{ours / events * 1e6:.1f}", f"{ratio:.2f}x", f"{paired:.2f}x",
            f"{min(r.write[(wl, 'ours')]) / min(r.write[(wl, 'plain')]):.2f}x",
            f"≤ {target:.2f}x: {'met' if ratio <= target else 'NOT met'}",
        ))
    checked, unchecked = med(r.write[("p", "checked")]), med(r.write[("p", "unchecked")])
    ratio = checked / unchecked
    paired = med(c / u for c, u in zip(r.write[("p", "checked")], r.write[("p", "unchecked")],
                                       strict=True))
    out.append((
        f"(p) policy check, {sizes.a_commits:,} commits × 1 event", f"{unchecked:.3f} s",
        f"{checked:.3f} s", f"{unchecked / sizes.a_commits * 1e6:.1f}",
        f"{checked / sizes.a_commits * 1e6:.1f}", f"{ratio:.2f}x", f"{paired:.2f}x",
        f"{min(r.write[('p', 'checked')]) / min(r.write[('p', 'unchecked')]):.2f}x",
        f"≤ {TARGET_POLICY:.2f}x: {'met' if ratio <= TARGET_POLICY else 'NOT met'}",
    ))
    for wl, events in (("a", sizes.a_events), ("b", sizes.b_events)):
        bound, verify = med(r.bound[wl]), med(r.verify[wl])
        ratio = verify / bound
        paired = med(v / b for v, b in zip(r.verify[wl], r.bound[wl], strict=True))
        cpu = med(r.verify_cpu[wl])
        out.append((
            f"verify ({wl}) ledger, cpu {cpu:.2f} cores", f"{bound:.3f} s", f"{verify:.3f} s",
            f"{bound / events * 1e6:.1f}", f"{verify / events * 1e6:.1f}", f"{ratio:.2f}x",
            f"{paired:.2f}x", f"{min(r.verify[wl]) / min(r.bound[wl]):.2f}x",
            f"≤ {TARGET_VERIFY:.2f}x: {'met' if ratio <= TARGET_VERIFY else 'NOT met'}",
        ))
    return out


def markdown(sizes: Sizes, r: Results, command: str) -> str:
    synchronous, journal = r.pragmas["plain"]
    lines = [
        f"Command: `{command}`",
        "",
        f"Machine: {machine(('eventsourcing', 'msgspec', 'cryptography'))}.",
        f"Both sides: journal_mode={journal}, synchronous={synchronous} (read back from each"
        f" side's connection; equal). Median of {sizes.reps} alternating runs; ratio = ours /"
        " plain for writes, verify / crypto bound for verification (ratio of the medians);"
        " paired = median of the per-run ratios (each pair ran back to back); best = fastest"
        " ours / fastest plain (or bound). The target is judged on ratio.",
        f"Load average (1 min) before / after the run: {r.load[0]:.2f} / {r.load[1]:.2f}.",
        "",
        *markdown_table(HEADER, rows(sizes, r)),
    ]
    med = statistics.median
    lines += ["", "CPU time of this process inside ``save`` (median µs/event; the rest of the"
              " wall time is waiting, mostly for fsync):", ""]
    for wl, events in (("a", sizes.a_events), ("b", sizes.b_events)):
        plain, ours = med(r.write_cpu[(wl, "plain")]), med(r.write_cpu[(wl, "ours")])
        lines.append(f"- write ({wl}): plain {plain / events * 1e6:.1f}, ours"
                     f" {ours / events * 1e6:.1f} ({ours / plain:.2f}x)")
    unchecked, checked = med(r.write_cpu[("p", "unchecked")]), med(r.write_cpu[("p", "checked")])
    lines.append(f"- (p) policy: unchecked {unchecked / sizes.a_commits * 1e6:.1f}, checked"
                 f" {checked / sizes.a_commits * 1e6:.1f} ({checked / unchecked:.2f}x)")
    lines += ["", "Every run, in seconds, in the order run:", ""]
    for (wl, name), times in r.write.items():
        lines.append(f"- write ({wl}) {name}: {seconds(times)}")
    for wl, times in r.verify.items():
        lines.append(f"- verify ({wl}): {seconds(times)}; bound: {seconds(r.bound[wl])};"
                     f" cpu: {', '.join(f'{c:.2f}' for c in r.verify_cpu[wl])}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__)
    options.add_argument("--reps", type=int, default=None, help="runs per side (default 5, 3)")
    args = options.parse_args(argv)
    scale = 10 if args.quick else 1
    reps = args.reps or (3 if args.quick else 5)
    sizes = Sizes(a_commits=10_000 // scale, b_commits=1_000 // scale, reps=reps)
    console = Console(stderr=True)
    command = command_line("store.py", argv)
    with tempfile.TemporaryDirectory(prefix="store-bench-", dir=args.workdir) as tmp:
        results, _ = run(sizes, Path(tmp), lambda s: console.log(s))
    print_table("creditledger store vs plain eventsourcing (SQLite)", HEADER, rows(sizes, results))
    publish(markdown(sizes, results, command), args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
