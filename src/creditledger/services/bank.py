"""``CreditBank``: the one door a school system uses (学分银行).

Every command loads the aggregates it needs, checks who is asking (the principal the signing
key is registered to), lets the pure domain validate and decide, and saves everything the command
changed in **one** signed commit — all of it or nothing. Errors are typed and name the field.
Queries return read-only snapshots (:func:`creditledger.domain.base.snapshot`) or plain values.

The bank holds its event store privately: it is built from the command groups of this package
(catalog, accounts, recognition, transfers, alliance, certificates, pilots, batch import), each a
class of its own module, on :class:`~creditledger.services.core.BankCore`.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.crypto.sealing import KeyEncryptionKey
from creditledger.domain.policy import POLICY_OPEN, POLICY_V1, POLICY_V2, Role, Signer
from creditledger.errors import UnusableLedgerError
from creditledger.services.alliance_certificates import CertificateCommands
from creditledger.services.batch import BatchCommands
from creditledger.services.pilots import PilotCommands
from creditledger.services.privacy import PrivacyCommands
from creditledger.services.transcripts import TranscriptCommands
from creditledger.store.ledger import Ledger
from creditledger.store.registry import KeyEntry, RegisteredKey

if TYPE_CHECKING:
    from creditledger.projections import Projector


class CreditBank(BatchCommands, CertificateCommands, PilotCommands, TranscriptCommands,
                 PrivacyCommands):
    """The credit bank: institutions and keys, the catalog, learner accounts, recognition and
    revocation, credit transfers and exemptions (学分转换, 免修), inter-school course selection
    (课程互选), 1+X pilots, and batch import.

    Create a new ledger with :meth:`create`, open one with :meth:`open`; close it with
    :meth:`close`, or use it as a context manager::

        with CreditBank.open("school.ledger") as bank:
            print(bank.balances("GZCC-2021-0001"))
    """

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        target: str | Path | None,
        root_key: SigningKey,
        *,
        ledger_id: str | None = None,
        time_zone: str | None = None,
        env: dict[str, str] | None = None,
        kek: KeyEncryptionKey | None = None,
        seal_personal_data: bool = True,
    ) -> Self:
        """Create a new credit bank ledger whose genesis names ``root_key`` as its root and
        declares the write policy :data:`~creditledger.domain.policy.POLICY_V2` (who may write
        what: ``docs/permissions.md``; personal data only sealed: ``docs/privacy.md``) and the
        school's ``time_zone`` (an IANA name such as ``"Asia/Shanghai"``; ``None``: this
        machine's). Every command not given ``today`` dates its record today in that time
        zone, whichever machine or server runs it.

        ``kek`` is the school's key-encryption key, which wraps each learner's data key in the
        key store (``NAME.keys.db`` beside a ledger file; the ``data_keys`` table on
        PostgreSQL); the first key given sets the store up. Without it the bank works, but
        opens no account and reads no personal data
        (:class:`~creditledger.errors.KeyEncryptionKeyRequiredError`).
        ``seal_personal_data=False`` makes a ledger of policy 1 instead, which stores personal
        data in plaintext and can never erase it (for comparison and old integrations only).

        ``target`` is a file path (SQLite, the embedded default), a ``postgresql://`` URL, or
        ``None`` to take eventsourcing's PostgreSQL settings from ``env`` and the environment
        (see :meth:`creditledger.store.ledger.Ledger.create`). Refuses a target that already
        holds a ledger.
        """
        policy = POLICY_V2 if seal_personal_data else POLICY_V1
        return cls(Ledger.create(target, root_key, ledger_id=ledger_id, env=env,
                                 policy=policy, time_zone=time_zone, kek=kek))

    @classmethod
    def open(cls, target: str | Path | None, *, read_only: bool = False,
             env: dict[str, str] | None = None, kek: KeyEncryptionKey | None = None) -> Self:
        """Open an existing credit bank ledger (a path, a ``postgresql://`` URL, or ``None``).
        Refuses a bare event store (a ledger whose policy lets any key write anything).

        ``read_only=True`` (an auditor's copy, a reporting job) never writes, to the ledger or
        beside it; queries work and every command raises
        :class:`~creditledger.errors.ReadOnlyLedgerError`. A file or folder that is not
        writable is opened read-only anyway (see
        :meth:`creditledger.store.ledger.Ledger.open`).

        ``kek`` (the school's key-encryption key) is needed to open accounts, read and correct
        personal data and erase it; a wrong one is refused at once
        (:class:`~creditledger.errors.WrongKeyEncryptionKeyError`)."""
        ledger = Ledger.open(target, read_only=read_only, env=env, kek=kek)
        if ledger.policy == POLICY_OPEN:
            ledger.close()
            raise UnusableLedgerError(f"{target}: a bare event store (policy {POLICY_OPEN}), "
                                      "not a credit bank: any key may write anything there")
        return cls(ledger)

    def close(self) -> None:
        """Close the ledger (a ledger file is left as one self-contained file)."""
        self._ledger.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def ledger_id(self) -> str:
        """The ledger's id (named by its genesis event)."""
        return self._ledger.ledger_id

    @property
    def time_zone(self) -> str:
        """The ledger's time zone (an IANA name its genesis declares; this machine's for a
        ledger from before time zones were recorded)."""
        return self._ledger.time_zone.key

    def today(self) -> date:
        """Today's date in the ledger's time zone: what a command not given ``today`` uses."""
        return self._today()

    # -- keys of institutions (the root's commands) -----------------------------------------

    def register_key(self, principal: str, public_key: PublicKey, *, root_key: SigningKey,
                     valid_from: datetime | None = None) -> KeyEntry:
        """Register another public key of a principal (signed by the root key)."""
        return self._ledger.register_key(principal, public_key, root_key=root_key,
                                         valid_from=valid_from)

    def rotate_key(self, old_key_id: str, new_public_key: PublicKey, *, root_key: SigningKey,
                   effective_at: datetime | None = None) -> KeyEntry:
        """Replace a principal's key: the new one starts, the old one ends, at ``effective_at``."""
        return self._ledger.rotate_key(old_key_id, new_public_key, root_key=root_key,
                                       effective_at=effective_at)

    def revoke_key(self, key_id: str, *, root_key: SigningKey,
                   effective_at: datetime | None = None, reason: str = "revoked") -> None:
        """Revoke a key from ``effective_at`` (default now; never earlier than the recording).
        What it signed while valid stays valid."""
        self._ledger.revoke_key(key_id, root_key=root_key, effective_at=effective_at,
                                reason=reason)

    # -- staff keys (an institution administrator's commands) -------------------------------

    def register_staff_key(self, staff_id: str, role: Role, public_key: PublicKey, *,
                           admin_key: SigningKey, valid_from: datetime | None = None
                           ) -> KeyEntry:
        """Register a staff member's key in ``role`` (registrar, assessor, secretariat
        officer, auditor) for the institution ``admin_key`` is the administrator key of; its
        commits name ``staff_id`` and ``role`` in their signed statement."""
        return self._ledger.register_staff_key(staff_id, role, public_key, admin_key=admin_key,
                                               valid_from=valid_from)

    def rotate_staff_key(self, old_key_id: str, new_public_key: PublicKey, *,
                         admin_key: SigningKey, effective_at: datetime | None = None
                         ) -> KeyEntry:
        """Replace one of the institution's staff keys (same staff id and role)."""
        return self._ledger.rotate_staff_key(old_key_id, new_public_key, admin_key=admin_key,
                                             effective_at=effective_at)

    def revoke_staff_key(self, key_id: str, *, admin_key: SigningKey,
                         effective_at: datetime | None = None, reason: str = "revoked") -> None:
        """Revoke one of the institution's staff keys; what it signed while valid stays
        valid."""
        self._ledger.revoke_staff_key(key_id, admin_key=admin_key, effective_at=effective_at,
                                      reason=reason)

    def keys(self) -> list[RegisteredKey]:
        """Every registered key: its institution, role, staff id, validity and revocation."""
        return self._ledger.registry.keys()

    def signer_of(self, key: SigningKey | str) -> Signer:
        """Who signs with a registered key: its institution, role and staff id."""
        return self._ledger.signer_of(key)

    def last_position(self) -> int:
        """The position of the last event recorded in the ledger (0 for none): what read
        models wait for to show a write (``read_models().wait_for(bank.last_position())``)."""
        return self._ledger.recorder.max_notification_id() or 0

    # -- read models -----------------------------------------------------------------------

    def read_models(self, views: str | Path | None = None) -> Projector:
        """The bank's read models (balances, transcripts, transfers, statistics...) in a views
        database: ``views``, or ``NAME.views.db`` beside a ledger file. Call ``catch_up()``
        (or ``follow()``) on it, then query it with :mod:`creditledger.projections.queries`."""
        from creditledger.projections import open_projector

        return open_projector(self._ledger, views)
