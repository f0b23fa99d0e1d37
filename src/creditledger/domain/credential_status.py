"""Status list entries (W3C Bitstring Status List) of the credentials a key signs.

Each course certificate carries a ``credentialStatus``: an index in a revocation list that the
key which signed the certificate publishes (a verifier requires the list's issuer to be the
certificate's). The index is drawn at random (a list holds :data:`LIST_SIZE` entries, so one
bit says nothing about which certificate it is) and claimed by creating the
:class:`StatusEntry` whose id is the (key, list, index) it names, in the certificate's own
commit: two certificates can never claim one bit, even when written at the same moment.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from creditledger.domain.base import BankAggregate
from creditledger.domain.ids import natural_key_id

LIST_SIZE = 131_072
"""Entries per status list: the minimum the Bitstring Status List specification allows (16 KiB
uncompressed), for group privacy."""


def status_entry_id(key_id: str, list_number: int, index: int) -> UUID:
    """The id of the entry ``index`` of list ``list_number`` of the key ``key_id``."""
    return natural_key_id("status-entry", key_id, str(list_number), str(index))


def status_list_id(key_id: str, list_number: int) -> UUID:
    """The id of list ``list_number`` of the key ``key_id`` (its URL is this as a urn:uuid)."""
    return natural_key_id("status-list", key_id, str(list_number))


class StatusEntry(BankAggregate):
    """One claimed bit of a status list: which certificate it stands for."""

    @event("Allocated")
    def __init__(self, key_id: str, list_number: int, index: int, certificate_id: UUID) -> None:
        self.key_id = key_id
        self.list_number = list_number
        self.index = index
        self.certificate_id = certificate_id

    @classmethod
    def create_id(cls, key_id: str, list_number: int, index: int,
                  certificate_id: UUID) -> UUID:
        return status_entry_id(key_id, list_number, index)
