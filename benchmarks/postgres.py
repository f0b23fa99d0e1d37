"""PostgreSQL benchmark: concurrent writers, ours against plain eventsourcing, and verify.

Run from the repository root, with a PostgreSQL server the given role may create schemas in::

    python benchmarks/postgres.py --url postgresql://USER:PW@HOST:PORT/DB   # a few minutes
    python benchmarks/postgres.py --quick                                  # a smoke run
    python benchmarks/postgres.py --profile                                # where the time goes

The URL defaults to ``$CREDITLEDGER_TEST_POSTGRES``. Every run writes into a fresh schema
(``bench_...``) and every schema is dropped at the end, also on failure.

Writes (only the timed commits count; each figure the median of ``--reps`` runs):

* ours: a ``creditledger.store.ledger.Ledger`` on ``postgresql://...?schema=...`` (the Merkle
  recorder: chained rows, a signed commit row and Merkle nodes under ``LOCK TABLE``); the parent
  creates the ledger and registers one Ed25519 key per writer, and each writer process opens the
  ledger and signs its commits with its own key;
* plain: ``eventsourcing.application.Application`` with ``PERSISTENCE_MODULE=
  eventsourcing.postgres`` on the same server, in another schema, the parent creating its tables.

Both sides use the same connection settings (the ones ``postgres_env`` gives ours:
``POSTGRES_PRE_PING``, ``POSTGRES_LOCK_TIMEOUT``, ``POSTGRES_CONNECT_TIMEOUT``), the same
aggregate class and the same commits: with W writer processes (1, 4 and 8 by default) each
writer opens its own ``--accounts`` accounts (one commit each) and makes ``--warmup`` more
commits untimed, waits for the others at a barrier, then makes ``--commits / W`` timed commits,
each one ``save`` of one account with ``--events`` credit events, round-robin over its
accounts. Time per commit = (last writer's end - first writer's start) / commits. The sides
alternate (plain first on even runs, ours first on odd ones) so the machine's noise hits both.

Verify: a ledger of ``--verify-events`` events in commits of ``--verify-commit-size`` is
written once; then ``verify_ledger(url)`` from PostgreSQL is timed, alternately, against two
baselines: the bare read of the rows it checks (every column of ``stored_events``,
``ledger_commits`` and ``merkle_nodes``, in order, into Python tuples, one psycopg connection)
and ``verify_ledger`` of the same ledger exported to a SQLite file (``export_to_sqlite``, the
auditor's copy). There is no target for these: they say what reading from a server costs.

``--recorder module:Class`` runs ours with another recorder (``APPLICATION_RECORDER_TOPIC``),
to compare a change to the recorder against the code before it in the same conditions.
"""

from __future__ import annotations

import cProfile
import io
import multiprocessing as mp
import multiprocessing.synchronize
import os
import pstats
import statistics
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql
from rich.console import Console

from _common import (
    Row,
    command_line,
    load_average,
    machine,
    markdown_table,
    parser,
    percentile,
    print_table,
    publish,
    seconds,
)
from creditledger.crypto.keys import SigningKey
from creditledger.store.ledger import Ledger
from creditledger.store.postgres import postgres_env

SIDES = ("plain", "ours")
TARGET_WRITE = 1.15


class Account(Aggregate):
    """A toy credit account (as in tests/store/ledgers.py): the same class on both sides."""

    @event("Opened")
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.balance = Decimal(0)

    @event("Credited")
    def credit(self, amount: Decimal, note: str = "") -> None:
        self.balance += amount


# -- schemas and sides ------------------------------------------------------------------------


def base_url(url: str) -> str:
    """``url`` without its query (``?schema=...``)."""
    return url.split("?", 1)[0]


def create_schema(base: str, schema: str) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {0}").format(sql.Identifier(schema)))


def drop_schema(base: str, schema: str) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(sql.Identifier(schema)))


class Schemas:
    """Fresh schemas on the server, all dropped on :meth:`drop_all`."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.made: list[str] = []

    def new(self, label: str) -> str:
        schema = f"bench_{label}_{uuid.uuid4().hex[:10]}"
        self.made.append(schema)
        return schema

    def drop(self, schema: str) -> None:
        drop_schema(self.base, schema)
        self.made.remove(schema)

    def drop_all(self) -> None:
        for schema in list(self.made):
            self.drop(schema)


def plain_env(base: str, schema: str) -> dict[str, str]:
    """eventsourcing's own PostgreSQL environment, with the connection settings ours gets."""
    ours = postgres_env(f"{base}?schema={schema}")
    return {k: v for k, v in ours.items()
            if k not in ("APPLICATION_RECORDER_TOPIC", "MAPPER_TOPIC")}


@dataclass
class Job:
    """What one writer process needs: where to write, as whom, and how much."""

    side: str
    target: str  # the server URL without ?schema= (both sides)
    schema: str
    key: bytes  # ours: the writer's raw Ed25519 private key; plain: empty
    index: int
    commits: int
    events: int
    accounts: int
    warmup: int
    recorder: str = ""  # ours: APPLICATION_RECORDER_TOPIC, if not the library's


def prepare(side: str, base: str, schemas: Schemas, writers: int) -> list[bytes]:
    """Create the side's fresh schema and tables (and for ours the ledger and writers' keys)."""
    schema = schemas.new(side)
    if side == "plain":
        create_schema(base, schema)
        Application(env=plain_env(base, schema)).close()  # creates the tables
        return [b""] * writers
    root = SigningKey.generate()
    ledger = Ledger.create(f"{base}?schema={schema}", root)
    keys = [Ed25519PrivateKey.generate() for _ in range(writers)]
    for i, key in enumerate(keys):
        ledger.register_key(f"school-{i}", SigningKey(key).public_key, root_key=root)
    ledger.close()
    return [key.private_bytes_raw() for key in keys]


def open_side(job: Job) -> tuple[Callable[[Account], Any], Callable[[], None]]:
    """Open the job's side in this process: its ``save(account)`` and its ``close()``."""
    if job.side == "plain":
        app: Application[Any] = Application(env={**plain_env(job.target, job.schema),
                                                 "CREATE_TABLE": "no"})
        return app.save, app.close
    env = {"APPLICATION_RECORDER_TOPIC": job.recorder} if job.recorder else None
    ledger = Ledger.open(f"{job.target}?schema={job.schema}", env=env)
    signer = SigningKey(Ed25519PrivateKey.from_private_bytes(job.key))

    def save(account: Account) -> Any:
        return ledger.save(account, signer=signer)

    return save, ledger.close


# -- writer processes -------------------------------------------------------------------------


@dataclass
class WriterResult:
    index: int
    start: float
    end: float
    cpu: float
    latencies: list[float]


def _credit(account: Account, n: int, events: int) -> None:
    for e in range(events):
        account.credit(Decimal(f"{1 + (n + e) % 4}.5"), note=f"course {(n + e) % 7}")


def writer(job: Job, barrier: multiprocessing.synchronize.Barrier, out: Any) -> None:
    """One writer process: open, warm up, wait for the others, then the timed commits."""
    try:
        save, close = open_side(job)
        try:
            accounts = [Account(f"{job.side}-{job.index}-{i}") for i in range(job.accounts)]
            for account in accounts:
                save(account)
            for n in range(job.warmup):
                account = accounts[n % job.accounts]
                _credit(account, n, job.events)
                save(account)
            barrier.wait(timeout=300)
            latencies: list[float] = []
            cpu0 = time.process_time()
            start = time.monotonic()
            for n in range(job.commits):
                account = accounts[n % job.accounts]
                _credit(account, n, job.events)
                t0 = time.monotonic()
                save(account)
                latencies.append(time.monotonic() - t0)
            end = time.monotonic()
            out.put(WriterResult(job.index, start, end, time.process_time() - cpu0, latencies))
            barrier.wait(timeout=300)  # keep the connection (its server process) until sampled
        finally:
            close()
    except BaseException:
        out.put(f"writer {job.side} {job.index}: {traceback.format_exc()}")
        barrier.abort()  # the others, and the parent, stop waiting
        raise


@dataclass
class RunResult:
    wall: float
    commits: int
    client_cpu: float
    server_cpu: float
    latencies: list[float]


def run_writers(ctx: Any, side: str, base: str, schemas: Schemas, writers: int,
                commits: int, events: int, accounts: int, warmup: int,
                recorder: str = "") -> RunResult:
    """One timed run: ``writers`` processes, ``commits`` commits in all, on a fresh schema."""
    keys = prepare(side, base, schemas, writers)
    schema = schemas.made[-1]
    per = commits // writers
    barrier = ctx.Barrier(writers + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=writer, args=(
            Job(side, base, schema, keys[i], i, per, events, accounts, warmup, recorder),
            barrier, out))
        for i in range(writers)
    ]
    for p in procs:
        p.start()
    try:
        try:
            barrier.wait(timeout=300)
        except threading.BrokenBarrierError:
            raise SystemExit(out.get(timeout=10)) from None
        server0 = server_cpuseconds()
        got: list[WriterResult] = []
        while len(got) < writers:
            item = out.get(timeout=600)
            if isinstance(item, str):
                raise SystemExit(item)
            got.append(item)
        server1 = server_cpuseconds()
        barrier.wait(timeout=300)
        server = sum(t - server0.get(pid, 0.0) for pid, t in server1.items())
    finally:
        for p in procs:
            p.join(60)
            if p.is_alive():
                p.kill()
    for p in procs:
        if p.exitcode != 0:
            raise SystemExit(f"a {side} writer exited with {p.exitcode}")
    schemas.drop(schema)
    wall = max(r.end for r in got) - min(r.start for r in got)
    return RunResult(wall, per * writers, sum(r.cpu for r in got), server,
                     [t for r in got for t in r.latencies])


def server_cpuseconds() -> dict[int, float]:
    """CPU seconds of each process named ``postgres`` on this machine, by pid (Linux only).

    The server is shared: other clients' work is counted too, so this is an indication only.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm != "postgres" and not comm.startswith("postgres:"):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


# -- verify -----------------------------------------------------------------------------------


def build_verify_ledger(base: str, schemas: Schemas, events: int, commit_size: int) -> str:
    """A ledger of ``events`` events in commits of ``commit_size`` (untimed); its URL."""
    schema = schemas.new("verify")
    url = f"{base}?schema={schema}"
    root, school = SigningKey.generate(), SigningKey.generate()
    ledger = Ledger.create(url, root)
    try:
        ledger.register_key("school", school.public_key, root_key=root)
        accounts = [Account(f"learner-{i}") for i in range(commit_size)]
        ledger.save(*accounts, signer=school)
        written = commit_size
        n = 0
        while written < events:
            batch = accounts[: min(commit_size, events - written)]
            for account in batch:
                account.credit(Decimal(f"{1 + n % 4}.5"), note=f"course {n % 7}")
            ledger.save(*batch, signer=school)
            written += len(batch)
            n += 1
    finally:
        ledger.close()
    return url


def bare_read(url: str) -> int:
    """Read every row ``verify`` checks into Python tuples; return the number of events."""
    schema = url.split("schema=", 1)[1]
    with psycopg.connect(base_url(url), options=f"-c search_path={schema}") as conn:
        events = conn.execute(
            "SELECT position, commit_seq, originator_id, originator_version, topic, state,"
            " prev_hash, prev_aggregate_hash, hash FROM stored_events ORDER BY position"
        ).fetchall()
        conn.execute("SELECT seq, first_position, event_count, committed_at, key_id, signature"
                     " FROM ledger_commits ORDER BY seq").fetchall()
        conn.execute("SELECT level, idx, hash FROM merkle_nodes ORDER BY level, idx").fetchall()
    return len(events)


def copy_to_sqlite(url: str, path: Path) -> None:
    """The auditor's copy: the PostgreSQL ledger at ``url`` exported to a SQLite file."""
    from creditledger.audit.export import export_to_sqlite

    export_to_sqlite(url, path)


@dataclass
class VerifyResults:
    events: int = 0
    pg: list[float] = field(default_factory=list)
    read: list[float] = field(default_factory=list)
    sqlite: list[float] = field(default_factory=list)


def run_verify(url: str, reps: int, workdir: Path, say: Callable[[str], None]) -> VerifyResults:
    from creditledger.audit.verify import verify_ledger

    r = VerifyResults()
    copy = workdir / "copy.ledger"
    copy_to_sqlite(url, copy)
    for rep in range(reps):
        t0 = time.perf_counter()
        r.events = bare_read(url)
        r.read.append(time.perf_counter() - t0)
        cases: list[tuple[str, str | Path]] = [("sqlite", copy), ("pg", url)]
        for name, target in cases if rep % 2 == 0 else cases[::-1]:
            t0 = time.perf_counter()
            report = verify_ledger(target)
            wall = time.perf_counter() - t0
            if report.events != r.events:
                raise SystemExit(f"verify saw {report.events} events, not {r.events}")
            getattr(r, name).append(wall)
        say(f"verify rep {rep + 1}/{reps}: read {r.read[-1]:.3f} s, sqlite copy"
            f" {r.sqlite[-1]:.3f} s, postgres {r.pg[-1]:.3f} s")
    return r


# -- profile ----------------------------------------------------------------------------------


def profile(base: str, schemas: Schemas, commits: int, events: int, accounts: int,
            recorder: str, out: Callable[[str], None]) -> None:
    """cProfile one writer of each side in this process; print where the commit time goes."""
    for side in SIDES:
        keys = prepare(side, base, schemas, 1)
        job = Job(side, base, schemas.made[-1], keys[0], 0, commits, events, accounts, 20,
                  recorder)
        save, close = open_side(job)
        try:
            objs = [Account(f"p-{i}") for i in range(accounts)]
            for account in objs:
                save(account)
            for n in range(job.warmup):
                _credit(objs[n % accounts], n, events)
                save(objs[n % accounts])
            profiler = cProfile.Profile()
            t0 = time.perf_counter()
            profiler.enable()
            for n in range(commits):
                _credit(objs[n % accounts], n, events)
                save(objs[n % accounts])
            profiler.disable()
            wall = time.perf_counter() - t0
        finally:
            close()
        schemas.drop(job.schema)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(25)
        out(f"== {side}: {commits} commits, {wall / commits * 1e6:.0f} µs/commit under cProfile;"
            " tottime per commit of the top functions:")
        out(text.getvalue())


# -- running ----------------------------------------------------------------------------------


@dataclass
class Sizes:
    writers: tuple[int, ...]
    commits: int
    events: int
    accounts: int
    warmup: int
    reps: int
    verify_events: int
    verify_commit_size: int
    recorder: str = ""


@dataclass
class Results:
    runs: dict[tuple[int, str], list[RunResult]] = field(default_factory=dict)
    verify: VerifyResults | None = None
    load: tuple[float, float] = (0.0, 0.0)


def run(sizes: Sizes, base: str, workdir: Path, say: Callable[[str], None]) -> Results:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(
        ["creditledger.store.ledger", "creditledger.store.postgres", "psycopg"])
    results = Results()
    load0 = load_average()
    schemas = Schemas(base)
    try:
        for rep in range(sizes.reps):
            for w_i, writers in enumerate(sizes.writers):
                order = SIDES if (rep + w_i) % 2 == 0 else SIDES[::-1]
                for side in order:
                    r = run_writers(ctx, side, base, schemas, writers, sizes.commits,
                                    sizes.events, sizes.accounts, sizes.warmup, sizes.recorder)
                    results.runs.setdefault((writers, side), []).append(r)
                    say(f"rep {rep + 1}/{sizes.reps} {writers} writer(s) {side:5}: "
                        f"{r.wall:.3f} s, {r.commits / r.wall:7.1f} commits/s, "
                        f"{r.wall / r.commits * 1e6:6.0f} µs/commit, client cpu "
                        f"{r.client_cpu / r.commits * 1e6:.0f} µs/commit, server cpu "
                        f"{r.server_cpu / r.commits * 1e6:.0f} µs/commit")
        if sizes.verify_events:
            url = build_verify_ledger(base, schemas, sizes.verify_events,
                                      sizes.verify_commit_size)
            results.verify = run_verify(url, sizes.reps, workdir, say)
    finally:
        schemas.drop_all()
    results.load = (load0, load_average())
    return results


# -- reporting --------------------------------------------------------------------------------

HEADER: Row = ("case", "plain / baseline", "ours", "commits/s plain", "commits/s ours",
               "ratio", "paired", "best", "p50 / p99 ms ours", "target")


def rows(sizes: Sizes, r: Results) -> list[Row]:
    med = statistics.median
    out: list[Row] = []
    for writers in sizes.writers:
        plain, ours = r.runs[(writers, "plain")], r.runs[(writers, "ours")]
        p_us = med(x.wall / x.commits for x in plain) * 1e6
        o_us = med(x.wall / x.commits for x in ours) * 1e6
        ratio = o_us / p_us
        paired = med(o.wall / p.wall for o, p in zip(ours, plain, strict=True))
        best = min(o.wall for o in ours) / min(p.wall for p in plain)
        lat = [t for x in ours for t in x.latencies]
        out.append((
            f"{writers} writer{'s' if writers > 1 else ''}, {plain[0].commits:,} commits × "
            f"{sizes.events} event{'s' if sizes.events > 1 else ''}",
            f"{p_us:.0f} µs/commit", f"{o_us:.0f} µs/commit", f"{1e6 / p_us:.0f}",
            f"{1e6 / o_us:.0f}", f"{ratio:.2f}x", f"{paired:.2f}x", f"{best:.2f}x",
            f"{percentile(lat, 0.5) * 1e3:.2f} / {percentile(lat, 0.99) * 1e3:.2f}",
            f"≤ {TARGET_WRITE:.2f}x: {'met' if ratio <= TARGET_WRITE else 'NOT met'}",
        ))
    v = r.verify
    if v is not None and v.events:
        read, copy = med(v.read), med(v.sqlite)
        out.append((f"read the rows of {v.events:,} events (baseline)", f"{read:.3f} s", "",
                    f"{v.events / read:,.0f} ev/s", "", "", "", "", "", ""))
        out.append((f"verify the SQLite copy of the {v.events:,} events", f"{copy:.3f} s", "",
                    f"{v.events / copy:,.0f} ev/s", "", "", "", "", "", ""))
        pg = med(v.pg)
        ratio = pg / copy
        paired = med(p / s for p, s in zip(v.pg, v.sqlite, strict=True))
        out.append((
            f"verify from PostgreSQL vs its SQLite copy ({v.events:,} events)",
            f"{copy:.3f} s", f"{pg:.3f} s", f"{v.events / copy:,.0f} ev/s",
            f"{v.events / pg:,.0f} ev/s", f"{ratio:.2f}x", f"{paired:.2f}x",
            f"{min(v.pg) / min(v.sqlite):.2f}x", "",
            f"(none); vs the bare read: {pg / read:.2f}x",
        ))
    return out


def server(base: str) -> str:
    """The PostgreSQL server's version, address and durability settings."""
    with psycopg.connect(base) as conn:
        row = conn.execute("SELECT current_setting('server_version'),"
                           " current_setting('synchronous_commit'), current_setting('fsync'),"
                           " inet_server_addr()").fetchone()
    assert row is not None
    return (f"; PostgreSQL {row[0]} at {row[3] or 'a Unix socket'} (synchronous_commit={row[1]},"
            f" fsync={row[2]})")


def markdown(sizes: Sizes, r: Results, command: str, base: str) -> str:
    med = statistics.median
    lines = [
        f"Command: `{command}`",
        "",
        f"Machine: {machine(('eventsourcing', 'psycopg', 'cryptography'), server(base))}.",
        f"Median of {sizes.reps} alternating runs per case; ratio = ours / plain time per commit"
        " (ratio of the medians, what the target is judged on); paired = median of the per-run"
        " ratios (each pair ran back to back); best = fastest ours / fastest plain.",
        f"Load average (1 min) before / after: {r.load[0]:.2f} / {r.load[1]:.2f}.",
        "",
        *markdown_table(HEADER, rows(sizes, r)),
    ]
    lines += ["", "CPU per commit, median µs (client: the writer processes; server: every"
              " `postgres` process on the machine, so other clients' work counts too):", ""]
    for writers in sizes.writers:
        parts = []
        for side in SIDES:
            runs = r.runs[(writers, side)]
            parts.append(f"{side} client {med(x.client_cpu / x.commits for x in runs) * 1e6:.0f},"
                         f" server {med(x.server_cpu / x.commits for x in runs) * 1e6:.0f}")
        lines.append(f"- {writers} writer(s): " + "; ".join(parts))
    lines += ["", "Every run, µs per commit, in the order run:", ""]
    for (writers, side), runs in r.runs.items():
        lines.append(f"- {writers} writer(s) {side}: "
                     + ", ".join(f"{x.wall / x.commits * 1e6:.0f}" for x in runs))
    v = r.verify
    if v is not None and v.events:
        lines.append(f"- verify: read {seconds(v.read)}; SQLite copy {seconds(v.sqlite)};"
                     f" PostgreSQL {seconds(v.pg)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__)
    options.add_argument("--url", default=os.environ.get("CREDITLEDGER_TEST_POSTGRES"),
                        help="postgresql://USER:PW@HOST:PORT/DB (default"
                             " $CREDITLEDGER_TEST_POSTGRES); schemas are made and dropped there")
    options.add_argument("--writers", default="1,4,8", help="writer process counts (1,4,8)")
    options.add_argument("--commits", type=int, help="timed commits per run, all writers"
                                                    " together (2,400; quick 400)")
    options.add_argument("--events", type=int, default=1, help="events per commit (1)")
    options.add_argument("--accounts", type=int, default=10, help="accounts per writer (10)")
    options.add_argument("--warmup", type=int, default=20, help="untimed commits per writer (20)")
    options.add_argument("--reps", type=int, help="runs per case and side (3; quick 1)")
    options.add_argument("--verify-events", type=int,
                        help="events in the verify ledger (100,000; quick 10,000; 0: skip)")
    options.add_argument("--verify-commit-size", type=int, default=50,
                        help="events per commit in the verify ledger (50)")
    options.add_argument("--recorder", default="",
                        help="ours: this APPLICATION_RECORDER_TOPIC instead of the library's"
                             " (module:Class), to compare recorder variants")
    options.add_argument("--profile", action="store_true",
                        help="only cProfile one writer of each side and print the top functions")
    args = options.parse_args(argv)
    if not args.url:
        options.error("no server: pass --url or set CREDITLEDGER_TEST_POSTGRES")
    base = base_url(args.url)
    sizes = Sizes(
        writers=tuple(int(w) for w in args.writers.split(",")),
        commits=args.commits or (400 if args.quick else 2_400),
        events=args.events, accounts=args.accounts, warmup=args.warmup,
        reps=args.reps or (1 if args.quick else 3),
        verify_events=(args.verify_events if args.verify_events is not None
                       else 10_000 if args.quick else 100_000),
        verify_commit_size=args.verify_commit_size, recorder=args.recorder,
    )
    console = Console(stderr=True)
    if args.profile:
        schemas = Schemas(base)
        try:
            profile(base, schemas, sizes.commits, sizes.events, sizes.accounts, sizes.recorder,
                    print)
        finally:
            schemas.drop_all()
        return 0
    command = command_line("postgres.py", argv)
    with tempfile.TemporaryDirectory(prefix="pg-bench-", dir=args.workdir) as tmp:
        results = run(sizes, base, Path(tmp), lambda s: console.log(s))
    print_table("creditledger on PostgreSQL vs plain eventsourcing on PostgreSQL", HEADER,
                rows(sizes, results), 170)
    publish(markdown(sizes, results, command, base), args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
