"""The error hierarchy of creditledger.

Every error the library raises on purpose derives from :class:`CreditLedgerError`, so a
school system can catch one base class. Errors about input name the field and the problem.
"""

from __future__ import annotations


class CreditLedgerError(Exception):
    """Base class of every error raised by creditledger on purpose."""


class ValidationError(CreditLedgerError, ValueError):
    """An input value is invalid. ``field`` names it, ``problem`` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class NotFoundError(CreditLedgerError, LookupError):
    """A referenced thing (learner, course, certificate, key, ...) does not exist."""

    def __init__(self, kind: str, key: str, field: str | None = None) -> None:
        where = f"{field}: " if field else ""
        super().__init__(f"{where}unknown {kind} {key!r}")
        self.kind = kind
        self.key = key
        self.field = field


class NotAuthorisedError(CreditLedgerError, PermissionError):
    """The signing principal may not perform this command."""


class ConflictError(CreditLedgerError):
    """The command conflicts with what is already recorded (e.g. a duplicate achievement)."""


class LedgerError(CreditLedgerError):
    """Base class for errors of the ledger store itself."""


class UnusableLedgerError(LedgerError):
    """The file is missing, not a creditledger ledger, corrupt, or a key cannot be read."""


class UnsignedCommitError(LedgerError):
    """A write reached the store without a signer: every commit must be signed."""


class KeyNotValidError(LedgerError):
    """The signer's key is unknown, not yet valid, or revoked at commit time."""


class LedgerUnavailableError(LedgerError):
    """The ledger's database server cannot be reached (connection refused or lost).

    Nothing of the failed call was written unless the connection was lost while its commit was
    in flight; reload before retrying a command (it will see its own events if they landed).
    """


class LedgerBusyError(LedgerError):
    """The ledger's database server refused an operation for now: a lock not granted in time, a
    deadlock, a cancelled statement. Its transaction was rolled back; retrying may succeed."""
