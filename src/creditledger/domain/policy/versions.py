"""The versions of the write policy a ledger's genesis may declare."""

POLICY_V1 = "creditledger-policy/1"
"""The write policy of ledgers created by :class:`~creditledger.CreditBank`: the rules of
:mod:`.rules`, and no event type they do not name."""
POLICY_V2 = "creditledger-policy/2"
"""The write policy of ledgers :class:`~creditledger.CreditBank` creates since issue 17: the
rules of version 1, and personal data only sealed (``docs/privacy.md``): an event that carries
a learner's personal data in plaintext is refused, by the writer and by ``verify``."""
POLICY_OPEN = "creditledger-policy/open"
"""A bare event store, not a credit bank: any registered key but an auditor's may write any
event (the key checks of the store still hold). :class:`~creditledger.CreditBank` refuses to open
such a ledger."""
POLICIES = frozenset({"", POLICY_V1, POLICY_V2, POLICY_OPEN})
"""The policies a genesis may declare. ``""`` (a ledger written before the policy existed, or a
bare store): the same rules for the credit bank's own event types; other event types are let
through."""
