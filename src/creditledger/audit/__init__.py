"""The auditor's toolkit: checks of a ledger, or of documents taken from it, with no trust in
the one who hands them over.

- :mod:`.verify` (with :mod:`.walker` and :mod:`.report`) — every hash, link and signature;
- :mod:`.head` — signed heads, so a cut-back ledger is caught;
- :mod:`.checkpoints` — C2SP checkpoints recorded in the ledger, and consistency proofs;
- :mod:`.bundle` and :mod:`.bundle_verify` — a learner's transcript bundle, checked offline;
- :mod:`.credential` — Open Badges 3.0 course certificates: their document, proofs and checks;
- :mod:`.export` — a PostgreSQL ledger copied into one SQLite file for offline checks.

It reads the store; it writes nothing but checkpoints.
"""
