"""Sealing and opening learners' personal data with their data keys (crypto-shredding).

:class:`PersonalDataKeys` is what the ledger's mapper uses: it seals a ``PersonalData`` value
of a learner account's event under that learner's data key (made on first use), and opens it
again if the key is still there and the school's key-encryption key (KEK) was given. Without
the KEK nothing can be sealed (:class:`KeyEncryptionKeyRequiredError`) and sealed values stay
unread; once a learner is erased, nothing of theirs opens again, with any key.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading

import msgspec

from creditledger.crypto.sealing import (
    KeyEncryptionKey,
    SealError,
    new_data_key,
    seal,
    unseal,
)
from creditledger.domain.values import SEALED_PREFIX, PersonalData, is_sealed
from creditledger.errors import (
    KeyEncryptionKeyRequiredError,
    PersonalDataErasedError,
    UnusableLedgerError,
    WrongKeyEncryptionKeyError,
)
from creditledger.store.keystore import KeyStore

_CHECK = b"creditledger key store: the key-encryption key opens it"


class PersonalDataKeys:
    """The data keys of one ledger's learners, in ``store``, wrapped by ``kek``."""

    def __init__(self, store: KeyStore, kek: KeyEncryptionKey | None, ledger_id: str) -> None:
        self.store = store
        self.kek = kek
        self.ledger_id = ledger_id
        self._wrapping: bytes | None = None  # the KEK's bytes, once checked against the store
        self._keys: dict[str, bytes] = {}  # account id (hex) -> data key, while open
        self._lock = threading.Lock()

    # -- the KEK --------------------------------------------------------------------------

    def check_kek(self) -> bytes:
        """The KEK's key bytes, once it is known to open this store (a store that holds
        nothing yet is set up for it): :class:`KeyEncryptionKeyRequiredError` without one,
        :class:`WrongKeyEncryptionKeyError` for another."""
        if self._wrapping is not None:
            return self._wrapping
        if self.kek is None:
            raise KeyEncryptionKeyRequiredError(
                f"{self.store.where}: personal data is sealed in this ledger; give the school's "
                "key-encryption key (a key file or passphrase) to seal, read or erase it")
        info = self.store.info()
        if "check" not in info:
            salt = os.urandom(16)
            info = self.store.set_info({"ledger_id": self.ledger_id.encode(), "salt": salt,
                                        "check": seal(self.kek.key_for(salt), _CHECK,
                                                      self._context("check"))})
        if info.get("ledger_id") != self.ledger_id.encode():
            raise UnusableLedgerError(f"{self.store.where}: the key store of another ledger")
        key = self.kek.key_for(info["salt"])
        try:
            unseal(key, info["check"], self._context("check"))
        except SealError:
            raise WrongKeyEncryptionKeyError(
                f"{self.store.where}: the key-encryption key ({self.kek.kind}) does not open "
                "this key store: a wrong passphrase or key file; nothing was done") from None
        self._wrapping = key
        return key

    def _set_up(self) -> bool:
        """Whether the key store holds keys for some KEK (a copy without it: nothing does)."""
        return self._wrapping is not None or "check" in self.store.info()

    def _context(self, what: str, account: str = "") -> bytes:
        return f"creditledger/{what}/v1|{self.ledger_id}|{account}".encode()

    # -- data keys ------------------------------------------------------------------------

    def _key(self, account: str, *, create: bool) -> bytes | None:
        """The account's data key (made and kept if ``create`` and there is none); ``None``
        if there is none, it was erased, or no KEK was given (and ``create`` is false)."""
        with self._lock:
            found = self._keys.get(account)
            if found is not None:
                return found
            if not create and (self.kek is None or not self._set_up()):
                return None  # nothing to open it with (no KEK, or no key store here)
            wrapping = self.check_kek()
            row = self.store.wrapped(account)
            if row is None and create:
                self.store.add(account, seal(wrapping, new_data_key(),
                                             self._context("data-key", account)))
                row = self.store.wrapped(account)
            if row is None or row[0] is None:
                if create and row is not None:
                    raise PersonalDataErasedError(
                        f"account {account}: personal data was erased; no new data is sealed")
                return None
            try:
                key = unseal(wrapping, row[0], self._context("data-key", account))
            except SealError as e:
                raise UnusableLedgerError(f"{self.store.where}: the data key of account "
                                          f"{account} is damaged ({e})") from e
            self._keys[account] = key
            return key

    def make_keys(self, accounts: list[str]) -> None:
        """Make the data keys of many accounts ahead, in one transaction of a SQLite key store
        (a cohort about to be opened; the benchmark's large key stores). Accounts that have a
        key or a tombstone keep it."""
        wrapping = self.check_kek()
        rows = [(a, seal(wrapping, new_data_key(), self._context("data-key", a)))
                for a in accounts]
        add_many = getattr(self.store, "add_many", None)
        if add_many is not None:
            add_many(rows)
            return
        for account, wrapped in rows:
            self.store.add(account, wrapped)

    def data_key(self, account: str) -> bytes | None:
        """The account's data key, if it exists and the KEK is given (for tests and scans)."""
        return self._key(account, create=False)

    def erase(self, account: str) -> None:
        """Destroy the account's data key and scrub the store (the KEK must open it)."""
        self.check_kek()
        with self._lock:
            self._keys.pop(account, None)
            self.store.destroy(account)
            self.store.scrub()

    def forget(self, account: str) -> None:
        """Drop the account's key from memory (another process may have erased it)."""
        with self._lock:
            self._keys.pop(account, None)

    # -- sealing --------------------------------------------------------------------------

    def seal(self, account: str, field: str, value: PersonalData) -> str:
        """``value`` sealed under the account's data key, as an event's state holds it."""
        key = self._key(account, create=True)
        assert key is not None
        sealed = seal(key, msgspec.json.encode(value), self._context(f"personal/{field}",
                                                                      account))
        return SEALED_PREFIX + base64.b64encode(sealed).decode("ascii")

    def unseal(self, account: str, field: str, value: str) -> PersonalData | None:
        """The personal data a sealed value holds; ``None`` if it cannot be opened here (no
        KEK, or the key erased)."""
        if not is_sealed(value):
            return None
        key = self._key(account, create=False)
        if key is None:
            return None
        try:
            raw = base64.b64decode(value[len(SEALED_PREFIX):], validate=True)
            plain = unseal(key, raw, self._context(f"personal/{field}", account))
            return msgspec.json.decode(plain, type=PersonalData)
        except (binascii.Error, SealError, msgspec.DecodeError) as e:
            raise UnusableLedgerError(f"account {account}: sealed {field} does not open with "
                                      f"the learner's data key ({e})") from e

    def close(self) -> None:
        with self._lock:
            self._keys.clear()
        self.store.close()
