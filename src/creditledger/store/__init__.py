"""The store: a signed, hash-linked event log on eventsourcing, on SQLite or PostgreSQL.

- :mod:`.format` — what an event's hash and a commit's signature cover (``EventLink``,
  ``CommitStatement``), bytes for bytes;
- :mod:`.mapper` — event state to canonical stored bytes and back (msgspec);
- :mod:`.registry` — the key registry, kept in the ledger as events, and the ``KeyBook``
  that says which key may sign when;
- :mod:`.chain` — linking, signing and the signer check of one commit, shared by both backends;
- :mod:`.merkle` — the RFC 9162 tree written with each commit; :mod:`.tree` reads it back;
- :mod:`.sqlite`, :mod:`.postgres` (and :mod:`.postgres_connect`) — the recorders of each
  backend, thin shells that open the transaction that orders commits;
- :mod:`.readers` — read-only access for the auditor's tools, in one snapshot;
- :mod:`.ledger` — :class:`~.ledger.Ledger`, the eventsourcing application that puts it together.

The store knows no credit bank rules: it stores, links and signs whatever aggregates it is given.
"""
