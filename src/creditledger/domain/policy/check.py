"""Checking one commit against the write policy: :func:`check_commit`.

A commit is one signer's: every event in it must be one the signer's role may append, for a
principal the rule names (the signer's own institution, the aggregate's owner, ...), to an
aggregate created at version 1 under the id its natural key gives. The first event that is not
is the :class:`Violation`. The writer refuses such a commit; ``verify`` reports it as
``unauthorised-write``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from creditledger.domain.learner import LearnerAccount
from creditledger.domain.policy.owners import (
    CREATION_TOPICS,
    OWNER_TOPICS,
    Owners,
    expected_id,
    fold,
    topic,
)
from creditledger.domain.policy.roles import Role, Signer
from creditledger.domain.policy.rules import RULES, Context
from creditledger.domain.policy.versions import POLICIES, POLICY_OPEN, POLICY_V2
from creditledger.domain.values import is_sealed

SEALED_TOPICS = frozenset({topic(LearnerAccount, "Opened"),
                           topic(LearnerAccount, "PersonalDataCorrected")})
"""The event types that carry a learner's personal data (``personal_data``): under
:data:`POLICY_V2` only sealed."""


class CommitEvent(NamedTuple):
    """One event of a commit as the policy sees it: where it is, its topic, and its state
    decoded as plain JSON (ids are strings; aggregate ids are hex). A tuple: a verifier makes
    one for every event of the ledger."""

    position: int
    aggregate: str
    version: int
    topic: str
    state: Mapping[str, Any]


class Lookup(Protocol):
    """What the policy reads of the ledger before the commit."""

    def owners(self, aggregate: str) -> Owners | None:
        """The aggregate's owners (see :mod:`.owners`), None if it has none yet."""
        ...

    def key(self, key_id: str) -> tuple[str, Role] | None:
        """The principal and role a key is registered with, None if it is not."""
        ...


@dataclass(frozen=True)
class Violation:
    """The first event of a commit its signer may not write, and why."""

    event: CommitEvent
    signer: Signer
    reason: str

    def __str__(self) -> str:
        return (f"{self.signer} may not write {self.event.topic.rpartition(':')[2]} at "
                f"position {self.event.position} (aggregate {self.event.aggregate}): "
                f"{self.reason}")


def check_commit(policy: str, signer: Signer, events: Sequence[CommitEvent],
                 lookup: Lookup, owners_after: dict[str, Owners | None] | None = None,
                 ) -> Violation | None:
    """The first event of the commit ``signer`` may not write under ``policy``, else None.

    ``owners_after``, if given, is filled with the owners, as the commit leaves them, of every
    aggregate the check read or the commit's events name owners of (a cache for the next
    commit's check).
    """
    if policy not in POLICIES:
        return Violation(events[0], signer, f"the ledger declares an unknown policy {policy!r}")
    if policy == POLICY_OPEN:
        return None if signer.role is not Role.AUDITOR else Violation(
            events[0], signer, "an auditor's key signs nothing")
    ctx = Context(signer=signer, events=events, lookup=lookup,
                  overlay={} if owners_after is None else owners_after)
    for event in events:
        reason = _check_event(policy, ctx, event)
        if reason is not None:
            return Violation(event, signer, reason)
        if event.topic in OWNER_TOPICS:
            try:
                owners = fold(event.topic, event.state, signer.principal,
                              ctx.owners(event.aggregate))
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                return Violation(event, signer, f"the event does not say whose it is ({e!r})")
            ctx.overlay[event.aggregate] = owners
    return None


def _check_event(policy: str, ctx: Context, event: CommitEvent) -> str | None:
    rule = RULES.get(event.topic)
    if rule is None:
        if policy == "":
            return None  # a ledger from before the policy may hold types the library lacks
        return "no rule of the ledger's policy names this event type"
    if ctx.signer.role not in rule.roles:
        allowed = ", ".join(sorted(r.value for r in rule.roles)) or "no role"
        return f"the role {ctx.signer.role.value} may not write it (only: {allowed})"
    try:
        reason = _check_creation(event) or rule.who(ctx, event) or _check_sealed(policy, event)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        return f"the event is malformed for its type ({e!r})"
    return reason


def _check_sealed(policy: str, event: CommitEvent) -> str | None:
    """Under policy 2, personal data is stored only sealed (so that it can be erased)."""
    if policy != POLICY_V2 or event.topic not in SEALED_TOPICS:
        return None
    if is_sealed(event.state["personal_data"]):
        return None
    return "personal data in plaintext: a ledger of policy 2 stores it only sealed"


def _check_creation(event: CommitEvent) -> str | None:
    creates = event.topic in CREATION_TOPICS
    if creates != (event.version == 1):
        return ("an aggregate is created by its creation event, at version 1" if creates
                else "version 1 of an aggregate must be its creation event")
    expected = expected_id(event.topic, event.state) if creates else None
    if expected is not None and expected != event.aggregate:
        return (f"the aggregate's id is not {expected}, the id its natural key gives: it would "
                "take another record's place")
    return None
