"""Merkle benchmark: tree appends, proofs, checkpoints and the recorder's cost.

Run from the repository root::

    python benchmarks/merkle.py            # n = 1,000,000 (a few minutes on 2 cores)
    python benchmarks/merkle.py --quick    # n = 100,000, a smoke run

What is measured (each figure the median of ``--reps`` runs):

* append: ``MerkleTree.extend`` over n leaves of 120 bytes (leaf hashing, interior hashing and
  storing every node in memory), against hashlib alone computing the same n leaf hashes,
  SHA-256(0x00 || data). Target: within 3x. Also the one-by-one ``append`` and the dict store.
* proofs at size n: inclusion and consistency proof generation and verification for random
  leaves and sizes, from the in-memory tree and from the stored tree of an n-event ledger
  (``LedgerTree``: SQLite reads). Target: under 1 ms each.
* ledger: writing an n-event ledger through the recorder (commits of 1,000 events), then
  ``publish_checkpoint`` with full verification and with ``verify=False`` (stored tree trusted).
* recorder: 1,000 commits of 100 events and 5,000 commits of one event (a tenth with
  ``--quick``) saved through ``Ledger.save``, with the plain chained recorder and with the
  Merkle recorder, alternately.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from _common import load_average, median_time, timed
from creditledger.audit.checkpoints import publish_checkpoint
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.merkle import verify_consistency, verify_inclusion
from creditledger.crypto.merkle_tree import LevelNodeStore, MemoryNodeStore, MerkleTree
from creditledger.store.ledger import Ledger
from creditledger.store.merkle import MerkleSQLiteApplicationRecorder
from creditledger.store.sqlite import ChainedSQLiteApplicationRecorder
from creditledger.store.tree import LedgerTree

LEAF_BYTES = 120
PROOF_SAMPLES = 2000


class Account(Aggregate):
    """The aggregate of the recorder comparison (the same on both sides)."""

    @event("Opened")
    def __init__(self, learner_id: str) -> None:
        self.learner_id = learner_id

    @event("Credited")
    def credit(self, course: str, credits: str) -> None:
        pass


def per_op(samples: list[float]) -> str:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"{statistics.median(samples) * 1e6:7.1f} µs median, {p99 * 1e6:7.1f} µs p99"


# -- in memory ---------------------------------------------------------------------------------


def bench_append(n: int, reps: int, say: Callable[[str], None]) -> MerkleTree:
    data = [os.urandom(16) + i.to_bytes(8, "big") + bytes(LEAF_BYTES - 24) for i in range(n)]
    sha256 = hashlib.sha256
    hashing = median_time(lambda: [sha256(b"\x00" + d).digest() for d in data], reps)
    extend = median_time(lambda: MerkleTree(LevelNodeStore()).extend(data), reps)
    dict_store = median_time(lambda: MerkleTree(MemoryNodeStore()).extend(data), 1)

    def one_by_one() -> None:
        tree = MerkleTree(LevelNodeStore())
        for d in data:
            tree.append(d)

    single = median_time(one_by_one, 1)
    say(f"| append {n:,} leaves of {LEAF_BYTES} B: hashlib leaf hashes alone | "
        f"{hashing:.3f} s | {hashing / n * 1e6:.2f} µs/leaf | 1.00x |")
    say(f"| `MerkleTree(LevelNodeStore()).extend` (target ≤ 3x) | {extend:.3f} s | "
        f"{extend / n * 1e6:.2f} µs/leaf | **{extend / hashing:.2f}x** |")
    say(f"| `MerkleTree(MemoryNodeStore()).extend` (dict store) | {dict_store:.3f} s | "
        f"{dict_store / n * 1e6:.2f} µs/leaf | {dict_store / hashing:.2f}x |")
    say(f"| `MerkleTree.append`, one leaf at a time | {single:.3f} s | "
        f"{single / n * 1e6:.2f} µs/leaf | {single / hashing:.2f}x |")
    tree = MerkleTree(LevelNodeStore())
    tree.extend(data)
    return tree


def bench_proofs(tree: Any, n: int, label: str, say: Callable[[str], None]) -> None:
    """Inclusion and consistency proofs at size n: generation and verification, per proof."""
    rng = random.Random(9162)
    root = tree.root(n)
    gen_inc, ver_inc, gen_con, ver_con = [], [], [], []
    clock = time.perf_counter
    for _ in range(PROOF_SAMPLES):
        index = rng.randrange(n)
        t0 = clock()
        proof = tree.inclusion_proof(index, n)
        gen_inc.append(clock() - t0)
        leaf = _leaf(tree, index)
        t0 = clock()
        verify_inclusion(leaf, index, n, proof, root)
        ver_inc.append(clock() - t0)
    for _ in range(PROOF_SAMPLES // 4):
        old = rng.randrange(1, n)
        old_root = tree.root(old)
        t0 = clock()
        proof = tree.consistency_proof(old, n)
        gen_con.append(clock() - t0)
        t0 = clock()
        verify_consistency(old, n, proof, old_root, root)
        ver_con.append(clock() - t0)
    say(f"| inclusion proof, {label}: generate | {per_op(gen_inc)} |")
    say(f"| inclusion proof, {label}: verify | {per_op(ver_inc)} |")
    say(f"| consistency proof, {label}: generate | {per_op(gen_con)} |")
    say(f"| consistency proof, {label}: verify | {per_op(ver_con)} |")


def _leaf(tree: Any, index: int) -> bytes:
    if isinstance(tree, LedgerTree):
        (h,) = tree.conn.execute("SELECT hash FROM stored_events WHERE position=?",
                                 (index + 1,)).fetchone()
        return bytes(h)
    return bytes(tree._store.get(0, index))


# -- a ledger of n events ------------------------------------------------------------------------


def build_ledger(path: Path, n: int, say: Callable[[str], None]) -> SigningKey:
    """An n-event ledger written through the recorder in commits of 1,000 events."""
    root = SigningKey.generate()
    ledger = Ledger.create(path, root)
    aggregates = [uuid.uuid4() for _ in range(10_000)]
    versions = dict.fromkeys(aggregates, 0)
    topic = "benchmarks.merkle:Account.Credited"
    t0, written = time.perf_counter(), 1
    while written < n:
        batch = []
        for i in range(min(1000, n - written)):
            oid = aggregates[(written + i) % len(aggregates)]
            versions[oid] += 1
            state = b'{"course":"CS%04d","credits":"2.5","timestamp":"2025-01-01T00:00:00Z"}' % i
            batch.append(StoredEvent(oid, versions[oid], topic, state))
        ledger.recorder.insert_events(batch, signer=root)
        written += len(batch)
    elapsed = time.perf_counter() - t0
    ledger.close()
    say(f"| write a ledger of {n:,} events, commits of 1,000 (Merkle recorder) | {elapsed:.1f} s | "
        f"{elapsed / n * 1e6:.1f} µs/event |")
    return root


def bench_checkpoint(path: Path, root: SigningKey, n: int, say: Callable[[str], None]) -> None:
    fast, t_fast = timed(lambda: publish_checkpoint(path, [root], verify=False))
    full, t_full = timed(lambda: publish_checkpoint(path, [root]))
    say(f"| checkpoint of {fast.size:,} events, stored tree trusted (`--no-verify`) | "
        f"{t_fast:.3f} s |")
    say(f"| checkpoint of {full.size:,} events, ledger verified and root recomputed | "
        f"{t_full:.1f} s |")


# -- the recorder's cost ---------------------------------------------------------------------


def bench_recorder(commits: int, per_commit: int, reps: int, workdir: Path,
                   say: Callable[[str], None]) -> None:
    """``commits`` saves of ``per_commit`` events through ``Ledger.save``: chained vs Merkle."""
    sides = {"chained": {"APPLICATION_RECORDER_TOPIC": get_topic(ChainedSQLiteApplicationRecorder)},
             "merkle": {}}
    times: dict[str, list[float]] = {name: [] for name in sides}
    inside = [0.0]  # time spent in the Merkle recorder's own step (_append), all reps
    original = MerkleSQLiteApplicationRecorder._append

    def timed_append(self: MerkleSQLiteApplicationRecorder, *args: Any) -> None:
        t0 = time.perf_counter()
        original(self, *args)
        inside[0] += time.perf_counter() - t0

    MerkleSQLiteApplicationRecorder._append = timed_append  # type: ignore[method-assign,assignment]
    for rep in range(reps):
        for name in (("chained", "merkle") if rep % 2 == 0 else ("merkle", "chained")):
            path = workdir / f"{name}-{rep}.ledger"
            key = SigningKey.generate()
            ledger = Ledger.create(path, key, env=sides[name])
            accounts = [Account(f"L{i}") for i in range(100)]
            ledger.save(*accounts, signer=key)
            elapsed = 0.0
            for commit in range(commits):
                changed = accounts if per_commit == 100 else [accounts[commit % 100]]
                for a in changed:
                    a.credit(f"C{commit}", "2.5")
                t0 = time.perf_counter()
                ledger.save(*changed, signer=key)
                elapsed += time.perf_counter() - t0
            ledger.close()
            times[name].append(elapsed)
            path.unlink()
    MerkleSQLiteApplicationRecorder._append = original  # type: ignore[method-assign]
    chained, merkle = (statistics.median(times[k]) for k in ("chained", "merkle"))
    ratios = [m / c for c, m in zip(times["chained"], times["merkle"], strict=True)]
    events = commits * per_commit
    unit = "event" if per_commit == 1 else "events"
    say(f"| {commits:,} commits of {per_commit} {unit}, chained recorder | {chained:.3f} s | "
        f"{chained / events * 1e6:.1f} µs/event | |")
    say(f"| {commits:,} commits of {per_commit} {unit}, Merkle recorder | {merkle:.3f} s | "
        f"{merkle / events * 1e6:.1f} µs/event | {merkle / chained:.3f}x "
        f"(paired median {statistics.median(ratios):.3f}x) |")
    say(f"| of which the tree (`_append`: hash, extend, insert nodes) | "
        f"{inside[0] / reps:.3f} s | {inside[0] / reps / events * 1e6:.2f} µs/event | |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="n = 100,000 (a smoke run)")
    parser.add_argument("--n", type=int, default=None, help="tree and ledger size")
    parser.add_argument("--reps", type=int, default=3, help="runs per timing (default 3)")
    parser.add_argument("--skip-ledger", action="store_true", help="in-memory parts only")
    args = parser.parse_args(argv)
    n = args.n or (100_000 if args.quick else 1_000_000)

    def say(line: str) -> None:
        print(line, flush=True)

    say(f"Command: `python benchmarks/merkle.py{' --quick' if args.quick else ''}`; "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load {load_average():.2f}\n")
    say("| case | time | per unit | ratio |\n|---|---|---|---|")
    tree = bench_append(n, args.reps, say)
    say(f"\n| proof at n = {n:,} | per proof |\n|---|---|")
    bench_proofs(tree, n, "in memory", say)
    del tree
    gc.collect()
    if args.skip_ledger:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.ledger"
        say("\n| ledger | time | per unit |\n|---|---|---|")
        root = build_ledger(path, n, say)
        bench_checkpoint(path, root, n, say)
        with LedgerTree.open(path) as stored:
            say(f"\n| proof at n = {stored.size:,} | per proof |\n|---|---|")
            bench_proofs(stored, stored.size, "ledger (SQLite)", say)
        path.unlink()
        say("\n| recorder | time | per event | merkle / chained |\n|---|---|---|---|")
        scale = 10 if args.quick else 1
        bench_recorder(1_000 // scale, 100, args.reps, Path(tmp), say)
        bench_recorder(5_000 // scale, 1, args.reps, Path(tmp), say)
    say(f"\nLoad average (1 min) at the end: {load_average():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
