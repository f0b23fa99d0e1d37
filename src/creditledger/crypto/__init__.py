"""Cryptography and formats with no knowledge of the credit bank: Ed25519 keys (:mod:`.keys`),
RFC 9162 Merkle trees and proofs (:mod:`.merkle`, :mod:`.merkle_tree`), C2SP signed notes and
checkpoints (:mod:`.note`), the JSON Canonicalization Scheme (:mod:`.jcs`) and did:key
(:mod:`.did`). Primitives come from ``cryptography`` and ``hashlib`` only."""
