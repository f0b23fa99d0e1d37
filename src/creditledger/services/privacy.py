"""Learners' personal data (个人信息): reading it, and erasing it (删除, PIPL Art. 47).

A ledger of policy 2 stores personal data only sealed under each learner's own data key, kept
in the key store outside the chain (``docs/privacy.md``). Erasure writes a signed receipt event
(``LearnerAccount.PersonalDataErased``: why, under which basis, by whom), then destroys every
data key the learner's events name and scrubs the key store. The account, its achievements,
credits, transfers and the whole chain stay, and still verify; the learner remains a
pseudonymous id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from creditledger.crypto.keys import SigningKey
from creditledger.domain import LearnerAccount, PersonalData
from creditledger.domain.policy.owners import topic
from creditledger.errors import (
    ConflictError,
    NotFoundError,
    PersonalDataErasedError,
)
from creditledger.services.accounts import AccountCommands
from creditledger.store.personal import PersonalDataKeys

ERASED_TOPIC = topic(LearnerAccount, "PersonalDataErased")

_ERASURE_EVENT = (
    "SELECT e.position, e.commit_seq, c.committed_at, c.key_id "
    "FROM stored_events e JOIN ledger_commits c ON c.seq = e.commit_seq "
    "WHERE e.originator_id = ? AND e.topic = ?"
)


@dataclass(frozen=True)
class ErasureReceipt:
    """The signed record of an erasure (删除凭证): the event's place in the chain, when, who
    signed it, why and under which legal basis. The same for every later call."""

    learner_id: str
    account_id: UUID
    position: int
    commit_seq: int
    erased_at: datetime
    key_id: str
    reason: str
    legal_basis: str
    erased_by: str
    staff_id: str | None


class PrivacyCommands(AccountCommands):
    """Reading and erasing learners' personal data."""

    def personal_data(self, learner_id: str) -> PersonalData:
        """The learner's personal data, opened with their data key.

        :class:`PersonalDataErasedError` once erased; :class:`KeyEncryptionKeyRequiredError`
        if it is sealed and the bank was opened without the school's key-encryption key;
        :class:`NotFoundError` if this key store has no key for the learner (a copy of the
        ledger made without its key store)."""
        account = self._account(learner_id)
        if account.erasure is not None:
            raise PersonalDataErasedError(f"the personal data of {learner_id} was erased "
                                          f"({account.erasure.legal_basis})")
        if account.personal_data is None:
            self._keys().check_kek()  # no KEK: say so; else the key is not in this key store
            raise NotFoundError("data key (a copy of the ledger without its key store?)",
                                learner_id, "learner_id")
        return account.personal_data

    def erase_personal_data(self, learner_id: str, *, reason: str, legal_basis: str,
                            signer: SigningKey) -> ErasureReceipt:
        """Erase a learner's personal data (crypto-shredding): record a signed receipt, then
        destroy every data key the learner's events name and scrub the key store. Allowed to
        the registrar (or administrator) of the learner's home school; needs the school's
        key-encryption key (the bank opened with ``kek``). Idempotent: erasing again changes
        nothing and returns the first receipt (and destroys and scrubs again, finishing an
        interrupted erasure).

        Refused on a ledger that stores personal data in plaintext (policy 1, written before
        sealing existed): see ``docs/privacy.md`` for moving to a new ledger."""
        keys = self._keys()
        keys.check_kek()
        if self._ledger.in_unit_of_work:
            raise ConflictError("an erasure is a command of its own, not part of a unit of work")
        account = self._account(learner_id)
        keys.key_ids(account.id.hex)  # every sealed value readable, before the receipt
        signed = self._ledger.signer_of(signer)
        if account.erase_personal_data(reason=reason, legal_basis=legal_basis,
                                       erased_by=signed.principal,
                                       staff_id=signed.staff_id or None):
            self._save(account, signer=signer)  # the receipt first: the policy checks it
        keys.erase(account.id.hex)
        return self.erasure_receipt(learner_id)

    def erasure_receipt(self, learner_id: str) -> ErasureReceipt:
        """The receipt of the learner's erasure (:class:`ConflictError` if never erased)."""
        account = self._account(learner_id)
        erasure = account.erasure
        if erasure is None:
            raise ConflictError(f"the personal data of {learner_id} was never erased")
        position, seq, micros, key_id = self._query(_ERASURE_EVENT,
                                                    (account.id.hex, ERASED_TOPIC))[0]
        return ErasureReceipt(
            learner_id=learner_id, account_id=account.id, position=int(position),
            commit_seq=int(seq), erased_at=datetime.fromtimestamp(int(micros) / 1e6, UTC),
            key_id=str(key_id), reason=erasure.reason, legal_basis=erasure.legal_basis,
            erased_by=erasure.erased_by, staff_id=erasure.staff_id)

    def _keys(self) -> PersonalDataKeys:
        keys = self._ledger.personal
        if keys is None:
            raise ConflictError(
                f"{self._ledger.where} stores personal data in plaintext (a ledger of policy 1, "
                "from before sealing): it cannot be erased from its history; move the learners "
                "to a new ledger (docs/privacy.md)")
        return keys

