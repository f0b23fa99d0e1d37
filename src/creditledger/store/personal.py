"""Sealing and opening learners' personal data with their data keys (crypto-shredding).

:class:`PersonalDataKeys` is what the ledger's mapper uses: it seals a ``PersonalData`` value
of a learner account's event under that learner's data key, and opens it again if the key is
still there and the school's key-encryption key (KEK) was given. Without the KEK nothing can be
sealed (:class:`KeyEncryptionKeyRequiredError`) and sealed values stay unread; once a learner is
erased, nothing of theirs opens again, with any key.

**The pool.** A new learner's data key is not made when the account is opened: each open
``PersonalDataKeys`` keeps a pool of keys it made ahead, in batches (:data:`POOL_SIZE` at a
time, one key-store commit), each under a new random key id and not yet given to anyone.
Opening an account takes the next one; the sealed value names its key id
(``sealed:v2:<key id>:...``), so the account's own event is what gives the key to the learner,
and an open writes only the ledger's commit. A key is taken from the pool once: a crash, or a
commit that fails, wastes keys (they sealed nothing that was kept) but never gives one key to
two learners, and two processes reserve rows of their own. Keys still unassigned when the pool
is closed are deleted, if the store can be reached (nothing depends on it).

**The first format.** Values sealed by the first code (``sealed:v1:<base64>``) name no key:
their key is the one kept under the learner's account id. They are still read, a correction of
such a learner is sealed under that same key, and erasure destroys it too.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import threading
from collections.abc import Callable

import msgspec

from creditledger.crypto.sealing import (
    KeyEncryptionKey,
    SealError,
    new_data_key,
    seal,
    seal_each,
    unseal,
)
from creditledger.domain.values import SEALED_PREFIX, SEALED_V1_PREFIX, PersonalData, is_sealed
from creditledger.errors import (
    KeyEncryptionKeyRequiredError,
    PersonalDataErasedError,
    UnusableLedgerError,
    WrongKeyEncryptionKeyError,
)
from creditledger.store.keystore import KeyStore

_CHECK = b"creditledger key store: the key-encryption key opens it"

POOL_SIZE = 100
"""How many data keys a pool makes at a time (one key-store commit for that many opens)."""

V1 = ""
"""The key id that stands for a learner's account-keyed key of the first format."""

_KEY_ID = re.compile(r"[0-9a-f]{32}")

EventsReader = Callable[[str], list[str]]
"""Every sealed value the events of an account (its id in hex) hold, oldest first."""


class PersonalDataKeys:
    """The data keys of one ledger's learners, in ``store``, wrapped by ``kek``; ``events``
    reads the sealed values of an account's stored events (which name its keys)."""

    def __init__(self, store: KeyStore, kek: KeyEncryptionKey | None, ledger_id: str, *,
                 events: EventsReader, pool_size: int = POOL_SIZE) -> None:
        self.store = store
        self.kek = kek
        self.ledger_id = ledger_id
        self.pool_size = pool_size
        self._events = events
        self._wrapping: bytes | None = None  # the KEK's bytes, once checked against the store
        self._by_id: dict[str, bytes] = {}  # key id -> data key, while open
        self._v1: dict[str, bytes] = {}  # account id (hex) -> data key of the first format
        self._named: dict[str, str] = {}  # account id -> the key id its values are sealed with
        self._pool: list[tuple[str, bytes]] = []  # reserved here, given to no one yet
        self._lock = threading.RLock()

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

    def _readable(self) -> bool:
        """Whether keys can be opened here: a KEK was given and the store is set up for one
        (a copy of the ledger without its key store is not)."""
        if self._wrapping is not None:
            return True
        return self.kek is not None and "check" in self.store.info()

    def _context(self, what: str, account: str = "") -> bytes:
        """The associated data of the first format (and of the store's check value)."""
        return f"creditledger/{what}/v1|{self.ledger_id}|{account}".encode()

    def _wrap_context(self, key_id: str) -> bytes:
        """A wrapped key is bound to its key id: a row copied under another id does not open."""
        return f"creditledger/data-key/v2|{self.ledger_id}|{key_id}".encode()

    def seal_context(self, field: str, account: str, key_id: str) -> bytes:
        """A sealed value is bound to its ledger, account, field and key: copied to another
        account or field, it does not open."""
        return f"creditledger/personal/{field}/v2|{self.ledger_id}|{account}|{key_id}".encode()

    # -- the pool -------------------------------------------------------------------------

    def reserve(self, n: int) -> None:
        """Make sure the pool holds at least ``n`` unassigned keys: what is missing is made
        and kept in the key store in one commit (a cohort about to be opened)."""
        with self._lock:
            self._reserve(n)

    def make_keys(self, accounts: list[str]) -> None:
        """Keys ahead for ``accounts`` about to be opened (batch import): :meth:`reserve` of
        as many (which key each gets is decided when its account is opened)."""
        self.reserve(len(accounts))

    def _reserve(self, n: int) -> None:
        missing = n - len(self._pool)
        if missing <= 0:
            return
        wrapping = self.check_kek()
        fresh = [(os.urandom(16).hex(), new_data_key()) for _ in range(missing)]
        wrapped = seal_each(wrapping, [(key, self._wrap_context(key_id)) for key_id, key in fresh])
        self.store.reserve([(key_id, w) for (key_id, _), w in zip(fresh, wrapped, strict=True)])
        self._pool.extend(fresh)

    def _take(self) -> tuple[str, bytes]:
        """The next reserved key, never to be taken again (the pool refilled if empty)."""
        if not self._pool:
            self._reserve(self.pool_size)
        key_id, key = self._pool.pop()
        self._by_id[key_id] = key
        return key_id, key

    @property
    def reserved(self) -> list[str]:
        """The key ids reserved here and not given to anyone yet (for tests and scans)."""
        with self._lock:
            return [key_id for key_id, _ in self._pool]

    # -- data keys ------------------------------------------------------------------------

    def key(self, key_id: str) -> bytes | None:
        """The data key of ``key_id``; ``None`` if destroyed, not in this store, or no KEK."""
        with self._lock:
            return self._by_key_id(key_id)

    def _by_key_id(self, key_id: str) -> bytes | None:
        found = self._by_id.get(key_id)
        if found is not None or not self._readable():
            return found
        wrapping = self.check_kek()
        row = self.store.wrapped_key(key_id)
        if row is None or row[0] is None:
            return None
        try:
            key = unseal(wrapping, row[0], self._wrap_context(key_id))
        except SealError as e:
            raise UnusableLedgerError(f"{self.store.where}: the data key {key_id} is damaged "
                                      f"({e})") from e
        self._by_id[key_id] = key
        return key

    def _by_account(self, account: str) -> bytes | None:
        """The account's key of the first format; ``None`` if none, erased, or no KEK."""
        found = self._v1.get(account)
        if found is not None or not self._readable():
            return found
        wrapping = self.check_kek()
        row = self.store.wrapped(account)
        if row is None or row[0] is None:
            return None
        try:
            key = unseal(wrapping, row[0], self._context("data-key", account))
        except SealError as e:
            raise UnusableLedgerError(f"{self.store.where}: the data key of account "
                                      f"{account} is damaged ({e})") from e
        self._v1[account] = key
        return key

    def key_ids(self, account: str) -> list[str]:
        """The key ids the account's stored events name, oldest first (:data:`V1` for values
        of the first format, whose key is the account's)."""
        named: list[str] = []
        for value in self._events(account):
            key_id = _key_id_of(value)
            if key_id not in named:
                named.append(key_id)
        return named

    def _learner_key(self, account: str) -> str | None:
        """The key id the account's data is sealed with, as its last sealed value names it
        (:data:`V1` for the first format); ``None`` if its events hold no sealed value."""
        key_id = self._named.get(account)
        if key_id is None:
            named = self.key_ids(account)
            if not named:
                return None
            key_id = self._named[account] = named[-1]
        return key_id

    def data_key(self, account: str) -> bytes | None:
        """The account's data key, if it exists and the KEK is given (for tests and scans)."""
        with self._lock:
            key_id = self._learner_key(account)
            if key_id is None:
                return None
            return self._by_account(account) if key_id == V1 else self._by_key_id(key_id)

    def erase(self, account: str) -> None:
        """Destroy every data key the account's events name (and its key of the first format),
        then scrub the store (the KEK must open it)."""
        self.check_kek()
        with self._lock:
            doomed = {key_id for key_id in self.key_ids(account) if key_id != V1}
            named = self._named.pop(account, None)
            if named:  # taken here for an event whose commit failed: it holds nothing kept
                doomed.add(named)
            for key_id in doomed:
                self._by_id.pop(key_id, None)
            self._v1.pop(account, None)
            self.store.destroy(account, sorted(doomed))
            self.store.scrub()

    def forget(self, account: str) -> None:
        """Drop the account's keys from memory (another process may have erased them)."""
        with self._lock:
            named = self._named.pop(account, None)
            if named:
                self._by_id.pop(named, None)
            self._v1.pop(account, None)

    # -- sealing --------------------------------------------------------------------------

    def seal(self, account: str, field: str, value: PersonalData, *, new: bool) -> str:
        """``value`` sealed as an event's state holds it: for a ``new`` account under the next
        key of the pool; else under the learner's own key (the one its events name)."""
        plain = msgspec.json.encode(value)
        with self._lock:
            self.check_kek()
            if new:
                key_id, key = self._take()
                self._named[account] = key_id
            else:
                named = self._learner_key(account)
                if named is None:
                    raise UnusableLedgerError(f"account {account}: its events hold no sealed "
                                              "personal data to correct")
                key_id = named
                found = self._by_account(account) if key_id == V1 else self._by_key_id(key_id)
                if found is None:
                    raise PersonalDataErasedError(f"account {account}: personal data was "
                                                  "erased; no new data is sealed")
                key = found
        if key_id == V1:  # a learner of the first format keeps their key, and its format
            sealed = seal(key, plain, self._context(f"personal/{field}", account))
            return SEALED_V1_PREFIX + base64.b64encode(sealed).decode("ascii")
        sealed = seal(key, plain, self.seal_context(field, account, key_id))
        return f"{SEALED_PREFIX}{key_id}:{base64.b64encode(sealed).decode('ascii')}"

    def unseal(self, account: str, field: str, value: str) -> PersonalData | None:
        """The personal data a sealed value holds; ``None`` if it cannot be opened here (no
        KEK, or the key erased)."""
        if not is_sealed(value):
            return None
        key_id = _key_id_of(value)
        with self._lock:
            key = self._by_account(account) if key_id == V1 else self._by_key_id(key_id)
        if key is None:
            return None
        if key_id == V1:
            body, context = value[len(SEALED_V1_PREFIX):], self._context(f"personal/{field}",
                                                                         account)
        else:
            body = value[len(SEALED_PREFIX) + len(key_id) + 1:]
            context = self.seal_context(field, account, key_id)
        try:
            plain = unseal(key, base64.b64decode(body, validate=True), context)
            opened = msgspec.json.decode(plain, type=PersonalData)
        except (binascii.Error, SealError, msgspec.DecodeError) as e:
            raise UnusableLedgerError(f"account {account}: sealed {field} does not open with "
                                      f"the learner's data key ({e})") from e
        with self._lock:  # only a value that opened under this account names its key
            self._named[account] = key_id
        return opened

    def close(self) -> None:
        """Forget every key; delete the pool's unassigned keys from the store if it can be
        reached (best effort: they sealed nothing, so leaving them is no leak)."""
        with self._lock:
            unused = [key_id for key_id, _ in self._pool]
            self._pool.clear()
            self._by_id.clear()
            self._v1.clear()
            self._named.clear()
            if unused:
                with contextlib.suppress(Exception):  # any failure: the rows just stay
                    self.store.release(unused)
        self.store.close()


def _key_id_of(value: str) -> str:
    """The key id a sealed value names (:data:`V1` for the first format);
    :class:`UnusableLedgerError` for a malformed one."""
    if value.startswith(SEALED_V1_PREFIX):
        return V1
    key_id = value[len(SEALED_PREFIX):len(SEALED_PREFIX) + 32]
    if not value.startswith(SEALED_PREFIX) or not _KEY_ID.fullmatch(key_id) or \
            value[len(SEALED_PREFIX) + 32:len(SEALED_PREFIX) + 33] != ":":
        raise UnusableLedgerError(f"a sealed value names no key id: {value[:60]!r}")
    return key_id
