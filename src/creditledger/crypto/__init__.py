"""Cryptography and formats with no knowledge of the credit bank: Ed25519 keys (:mod:`.keys`),
RFC 9162 Merkle trees and proofs (:mod:`.merkle`, :mod:`.merkle_tree`), C2SP signed notes and
checkpoints (:mod:`.note`) and did:key (:mod:`.did`). Primitives come from ``cryptography`` and
``hashlib`` only; canonical JSON (RFC 8785) and RDF canonicalisation come from ``rfc8785`` and
``pyld``, in :mod:`creditledger.audit.vc.integrity`."""
