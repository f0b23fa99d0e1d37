"""Is the bundle complete and current? The rules of docs/completeness.md, in their order.

A bundle of format ``/2`` carries, for each aggregate it holds, the proof of that aggregate's
head (version and last event hash) in the index of heads the checkpoint commits to (its
``creditledger-heads/1`` line), and the proof that the learner's transfer ledger is absent when
it holds none. So a bundle that leaves out the last events of an aggregate, or an aggregate the
account names, is caught (``incomplete-aggregate``), and a proof that does not lead to the
signed root is ``bad-index-proof``. With a newer checkpoint the receiver holds, an older bundle is
``stale-checkpoint``.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from creditledger.audit.bundle import (
    BUNDLE_FORMAT_1,
    CERTIFICATE_ISSUED,
    CERTIFICATE_RECOGNISED,
    Bundle,
    credited_achievements,
)
from creditledger.audit.bundle_faults import BundleFaultKind as Kind
from creditledger.audit.bundle_faults import fault_error
from creditledger.crypto.heads import InvalidHeadProof, heads_root_of, verify_head_proof
from creditledger.crypto.keys import PublicKey
from creditledger.crypto.note import Checkpoint, open_checkpoint, origin_for
from creditledger.domain.alliance.values import alliance_id
from creditledger.domain.credential_status import status_entry_id
from creditledger.domain.ids import natural_key_id
from creditledger.errors import CheckpointError, UnusableLedgerError


def check_completeness(bundle: Bundle, cp: Checkpoint) -> str | None:
    """Apply rules 1-5; return the "complete" line, or None when completeness is not proven
    (format /1, or a /2 bundle with no head proof against a checkpoint without a heads line).
    Raises :class:`~creditledger.errors.BundleVerificationError`."""
    if bundle.format == BUNDLE_FORMAT_1:
        return None
    proofs = bundle.heads or []
    try:
        root = heads_root_of(cp.extensions)
    except InvalidHeadProof as e:
        raise fault_error(Kind.BAD_INDEX_PROOF, f"the checkpoint's heads line: {e}") from e
    if root is None:  # rule 1
        if not proofs:
            return None
        raise fault_error(Kind.BAD_INDEX_PROOF, "the bundle holds head proofs but its "
                          "checkpoint carries no creditledger-heads/1 line")
    for p in proofs:  # rule 2
        try:
            verify_head_proof(p.proof(), root)
        except InvalidHeadProof as e:
            raise fault_error(Kind.BAD_INDEX_PROOF, f"the head proof of {p.originator_id}: {e}",
                              aggregate=p.originator_id) from e
    for a in bundle.aggregates:  # rule 3
        members = [p for p in proofs if p.originator_id == a.originator_id and p.version > 0]
        if len(members) != 1:
            raise fault_error(Kind.INCOMPLETE_AGGREGATE, f"{a.role} {a.originator_id} has "
                              f"{len(members)} head proofs, not one", aggregate=a.originator_id)
        head, held = members[0], len(a.events)
        if held != head.version or a.events[-1].hash != head.head:
            raise fault_error(Kind.INCOMPLETE_AGGREGATE, f"{a.role} {a.originator_id} holds "
                              f"versions 1..{held}; its head at checkpoint {cp.size} is version "
                              f"{head.version}" + ("" if held != head.version else
                                                   " with another hash"),
                              aggregate=a.originator_id)
    held_ids = {a.originator_id: a.role for a in bundle.aggregates}
    for aid in _credited(bundle):  # rule 4
        if held_ids.get(aid) != "achievement":
            raise fault_error(Kind.INCOMPLETE_AGGREGATE, f"achievement {aid}, credited to the "
                              "account, is not in the bundle", aggregate=aid)
    transfers = natural_key_id("credit-transfers", bundle.learner_id).hex
    absent = [p for p in proofs if p.originator_id == transfers and p.version == 0]
    if held_ids.get(transfers) != "transfers" and not absent:
        raise fault_error(Kind.INCOMPLETE_AGGREGATE, f"transfers {transfers}: the learner's "
                          "transfer ledger is neither in the bundle nor proven absent",
                          aggregate=transfers)
    for aid, why in _named_evidence(bundle):  # rule 4, evidence: what it names
        if held_ids.get(aid) != "evidence":
            raise fault_error(Kind.INCOMPLETE_AGGREGATE, f"evidence {aid}, {why}, is not in "
                              "the bundle", aggregate=aid)
    seen: set[str] = set()
    for p in proofs:  # rule 5 (and one proof per aggregate, absence proofs included)
        if p.originator_id not in held_ids and not (p.originator_id == transfers
                                                    and p.version == 0):
            raise fault_error(Kind.BAD_INDEX_PROOF, f"a head proof of {p.originator_id}, which "
                              "the bundle does not hold", aggregate=p.originator_id)
        if p.originator_id in seen:
            raise fault_error(Kind.BAD_INDEX_PROOF, f"two head proofs of {p.originator_id}",
                              aggregate=p.originator_id)
        seen.add(p.originator_id)
    return (f"complete: {len(bundle.aggregates)} aggregates, each up to its head in the "
            f"checkpoint's index of heads (size {cp.size})"
            + (", and no transfer ledger" if absent else ""))


def _named_evidence(bundle: Bundle) -> list[tuple[str, str]]:
    """The evidence that held evidence names: a certificate recognition's certificate, and a
    certificate's alliance and status-list entry — (id, why), each to be held as evidence."""
    named: list[tuple[str, str]] = []
    for a in bundle.aggregates:
        if a.role != "evidence" or not a.events:
            continue
        first = a.events[0]
        try:
            state = msgspec.json.decode(first.state)
            if first.topic == CERTIFICATE_RECOGNISED:
                named.append((UUID(str(state["certificate_id"])).hex,
                              f"the certificate recognition {a.originator_id} names"))
            elif first.topic == CERTIFICATE_ISSUED:
                facts = state["facts"]
                named.append((alliance_id(str(facts["alliance"])).hex,
                              f"the alliance of certificate {a.originator_id}"))
                status = facts.get("status")
                if status is not None:
                    named.append((status_entry_id(str(status["key_id"]),
                                                  int(status["list_number"]),
                                                  int(status["index"])).hex,
                                  f"the status-list entry of certificate {a.originator_id}"))
        except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
            raise fault_error(Kind.UNREADABLE, "an evidence event names no certificate, "
                              "alliance or status entry", first.position,
                              a.originator_id) from err
    return named


def _credited(bundle: Bundle) -> list[str]:
    """The achievements the bundle's account names (its ``Credited`` events)."""
    found: list[str] = []
    for a in bundle.aggregates:
        if a.role != "account":
            continue
        try:
            found += [aid for aid in credited_achievements(a) if aid not in found]
        except (msgspec.DecodeError, KeyError, TypeError, ValueError) as err:
            raise fault_error(Kind.UNREADABLE, "a credit entry names no achievement", None,
                              a.originator_id) from err
    return found


def check_fresh(cp: Checkpoint, held_note: str, ledger_id: str, root_key: PublicKey) -> None:
    """The bundle's checkpoint against a newer one the receiver holds (signed by the same root
    key, else unusable input): smaller is ``stale-checkpoint``, the same size with another
    body (root or heads line) ``bad-checkpoint``."""
    try:
        held = open_checkpoint(held_note, origin_for(ledger_id), [root_key])
    except CheckpointError as e:
        raise UnusableLedgerError(f"the checkpoint you hold: {e}") from e
    if held.size > cp.size:
        raise fault_error(Kind.STALE_CHECKPOINT, f"proven against size {cp.size} but you hold a "
                          f"checkpoint of size {held.size}; ask for a bundle at {held.size}")
    if held.size == cp.size and held.body() != cp.body():  # another root or index of heads
        raise fault_error(Kind.BAD_CHECKPOINT, f"the bundle's checkpoint and the one you hold "
                          f"both have {cp.size} events but say different things (another "
                          "root or index of heads): a split view")
