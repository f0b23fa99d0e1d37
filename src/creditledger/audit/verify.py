"""The auditor's verifier: recompute every hash, check both links and every signature.

It needs only the ledger (a file, or a ``postgresql://...?schema=...`` URL, read through a
:class:`~creditledger.store.readers.LedgerReader`) and the root public key (from the genesis event,
or pinned by the caller). A PostgreSQL ledger is verified in one ``REPEATABLE READ READ ONLY``
transaction: one snapshot, whatever is written meanwhile.

It streams the ledger in constant memory: one pass in global order recomputes each event's hash,
checks the global link, the commit structure, and each commit's signer against the key registry
*as of that commit*; a second pass in aggregate order checks the per-aggregate
links. Signatures are checked off the walking thread, in batches: on worker processes when the
ledger has enough commits to pay for starting them (cryptography's Ed25519 verify holds the GIL,
so threads cannot use a second core for it), else on a thread pool.

``verify_ledger`` returns a :class:`VerifyReport` when the ledger is intact and raises
:class:`TamperedLedgerError` (which carries the report and its first :class:`Fault`) when it is
not; there is no boolean to forget to check.
"""

from __future__ import annotations

__all__ = ["Fault", "FaultKind", "Progress", "VerifyReport", "sign_head", "verify_ledger",
           "verify_reader"]

import os
from pathlib import Path

from creditledger.audit.head import SignedHead
from creditledger.audit.heads_check import check_checkpoints
from creditledger.audit.report import Fault, FaultKind, VerifyReport
from creditledger.audit.walker import Progress, Walker
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.errors import (
    NotAuthorisedError,
    TamperedLedgerError,
)
from creditledger.store.readers import LedgerReader, open_reader


def verify_ledger(
    path: str | Path,
    *,
    root_key: PublicKey | None = None,
    against: SignedHead | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> VerifyReport:
    """Verify the ledger at ``path`` (a file or a ``postgresql://`` URL); return its report, or
    raise if it is tampered.

    Raises :class:`TamperedLedgerError` for a ledger that fails verification,
    :class:`~creditledger.errors.UnusableLedgerError` for input that is not a ledger at all, and
    :class:`~creditledger.errors.LedgerUnavailableError` for a PostgreSQL server that cannot be
    reached. The report's ``path`` is the file, or the URL without its password.
    """
    with open_reader(path) as reader:
        return verify_reader(reader, root_key=root_key, against=against, progress=progress,
                             workers=workers)


def verify_reader(
    reader: LedgerReader,
    *,
    root_key: PublicKey | None = None,
    against: SignedHead | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> VerifyReport:
    """:func:`verify_ledger` through an open reader (and, on PostgreSQL, in its snapshot).

    Used where the caller reads more of the same snapshot afterwards (a checkpoint signs the
    size and root of the very ledger it verified).
    """
    with reader.translate_errors():
        ledger_id_info = reader.ledger_id()
        walker = Walker(reader, root_key, workers or os.cpu_count() or 2, progress)
        try:
            walker.run(ledger_id_info)
            fault = walker.head_fault(against) if against is not None else None
            if walker.fault is None and fault is None:
                fault = check_checkpoints(reader)
        finally:
            walker.close()
    report = walker.report(reader.where, against, walker.fault or fault)
    if report.fault is not None:
        raise TamperedLedgerError(report)
    return report


def sign_head(path: str | Path, root_key: SigningKey) -> SignedHead:
    """Verify the ledger (a file or a ``postgresql://`` URL), then sign its head (size and
    last hash) with its root key.

    Refuses (``NotAuthorisedError``) a key that is not the ledger's root: only the root attests
    heads. Raises :class:`TamperedLedgerError` rather than attest a broken ledger.
    """
    report = verify_ledger(path)
    if root_key.key_id != report.root_key_id:
        raise NotAuthorisedError(
            f"key {root_key.key_id} is not this ledger's root key {report.root_key_id}"
        )
    return SignedHead.sign(report.ledger_id, report.events, bytes.fromhex(report.last_hash),
                           root_key)
