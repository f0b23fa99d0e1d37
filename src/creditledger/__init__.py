"""creditledger: a signed, hash-linked credit bank (学分银行) ledger for vocational schools.

The public API is re-exported here; see ``docs/`` for what each piece does.
"""

from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.errors import (
    ConflictError,
    CreditLedgerError,
    KeyNotValidError,
    LedgerError,
    NotAuthorisedError,
    NotFoundError,
    UnsignedCommitError,
    UnusableLedgerError,
    ValidationError,
)
from creditledger.head import SignedHead
from creditledger.ledger import Ledger
from creditledger.verify import (
    Fault,
    FaultKind,
    TamperedLedgerError,
    VerifyReport,
    sign_head,
    verify_ledger,
)

__all__ = [
    "ConflictError",
    "CreditLedgerError",
    "Fault",
    "FaultKind",
    "KeyNotValidError",
    "Ledger",
    "LedgerError",
    "NotAuthorisedError",
    "NotFoundError",
    "PublicKey",
    "SignedHead",
    "SigningKey",
    "TamperedLedgerError",
    "UnsignedCommitError",
    "UnusableLedgerError",
    "ValidationError",
    "VerifyReport",
    "sign_head",
    "verify_ledger",
]
