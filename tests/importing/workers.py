"""What the importing processes of the race tests run (forked by a ``forkserver`` that has
imported the library once)."""

from __future__ import annotations

import multiprocessing
from typing import Any

from creditledger.crypto.keys import SigningKey
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import KEK, TODAY

PASSPHRASE = b"pw"


def worker_context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["creditledger.services.bank", "tests.importing.workers"])
    return ctx


def import_each(target: str, key_pem: str, files: list[str], commit_size: int, go: Any,
                results: Any) -> None:
    """Import each file in turn, starting each together with the other worker (``go``, a
    barrier); report, per file, what the import did or the error it raised."""
    signer = SigningKey.load(key_pem, PASSPHRASE)
    bank = CreditBank.open(target, kek=KEK)
    outcomes: list[Any] = []
    try:
        for file in files:
            go.wait(60)
            try:
                report = bank.import_file(file, signer=signer, commit_size=commit_size,
                                          today=TODAY)
                outcomes.append((report.written, report.unchanged, len(report.rejected)))
            except Exception as e:  # reported: the test shows it
                outcomes.append(f"{type(e).__name__}: {e}")
    finally:
        bank.close()
        results.put(outcomes)
