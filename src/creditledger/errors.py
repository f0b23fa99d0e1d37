"""Every error creditledger raises on purpose, under one base class (错误).

A school system catches :class:`CreditLedgerError` for all of them, or a narrower class where it
wants to react to one case. Errors about input name the field and the problem. The families:

- input and rules: :class:`ValidationError`, :class:`NotFoundError`, :class:`NotAuthorisedError`,
  :class:`ConflictError` (with the domain's own refusals, :class:`AlreadyExistsError` for a
  duplicate of anything, and :class:`ConcurrentWriteError` for a command that kept losing the
  race for its records, as subclasses);
- the store: :class:`LedgerError` and its subclasses (unusable file, read-only ledger, existing
  key file, unsigned commit, key not valid, server unavailable or busy);
- the auditor's checks: :class:`TamperedLedgerError`, :class:`BundleVerificationError`,
  :class:`InvalidCredentialError` (:class:`OffSchemaCredentialError` for a credential off
  a schema it names), :class:`CheckpointError`, :class:`InconsistentLedgerError`,
  :class:`CorruptTreeError`, :class:`WitnessError` (a witness refusing a checkpoint);
- batch import and read models: :class:`ImportRejectedError`, :class:`ProjectionTimeout`.

This module imports nothing of the library, so every layer may raise these errors. Errors that
carry a report (``TamperedLedgerError.report``, ``ImportRejectedError.report``...) hold the
report object of the layer that made it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID


class CreditLedgerError(Exception):
    """Base class of every error raised by creditledger on purpose."""


# -- input and rules ----------------------------------------------------------------------------


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
    """The signing principal may not perform this command (权限)."""


class ConflictError(CreditLedgerError):
    """The command conflicts with what is already recorded (e.g. a duplicate achievement)."""


class AlreadyExistsError(ConflictError):
    """Something with this identity is already recorded: an institution, programme, course,
    certificate, learner account, alliance, key or module; the same class for every kind.
    ``kind`` and ``key`` name it, ``field`` the argument that gave its identity (if one did).

    A command that would record a thing a second time is refused whole; to change a thing,
    use its own command (rename, revise, correct...)."""

    def __init__(self, kind: str, key: str, field: str | None = None, *,
                 detail: str = "") -> None:
        where = f"{field}: " if field else ""
        super().__init__(f"{where}{kind} {key} is already recorded{detail}")
        self.kind = kind
        self.key = key
        self.field = field


class ConcurrentWriteError(ConflictError):
    """Other writers changed the records a command works on every time it ran (each run
    loaded them afresh and checked everything again): nothing was written; run it again.

    What every command of the bank raises when it keeps losing the race for one of its
    records (a learner's account, an offering's seats...), instead of eventsourcing's own
    ``RecordConflictError``."""


class PersonalDataErasedError(ConflictError):
    """The learner's personal data was erased (crypto-shredded): it can be neither read nor
    corrected again; the learner remains a pseudonymous id."""


class ReadOnlySnapshotError(CreditLedgerError):
    """A query's result is a read-only snapshot: change the ledger through a bank command."""


# -- the domain's refusals (achievements and accounts) -----------------------------------------


class AlreadyRevokedError(ConflictError):
    """The achievement was already revoked; revocation happens once."""


class DuplicateCreditError(AlreadyExistsError):
    """The learner account was already credited for this achievement."""

    def __init__(self, achievement_id: object) -> None:
        super().__init__("credit for achievement", str(achievement_id))


class AlreadyReversedError(ConflictError):
    """The credit for this achievement was already reversed."""


class DuplicateAchievementError(AlreadyExistsError):
    """An achievement with the same natural key is recorded with different facts."""

    def __init__(self, achievement_id: object, fields: tuple[str, ...]) -> None:
        listed = ", ".join(fields)
        ConflictError.__init__(
            self,
            f"achievement {achievement_id} is already recorded with different {listed}; "
            "this is not a retry of the same command"
        )
        self.kind, self.key, self.field = "achievement", str(achievement_id), None
        self.achievement_id = achievement_id
        self.fields = fields


# -- credit transfers (学分转换): a refused conversion records nothing ---------------------------

_CENT = Decimal("0.01")


class ConditionNotMetError(ValidationError):
    """A source does not meet a condition of the rule (score, level, validity, age, kind)."""

    def __init__(self, achievement_id: UUID, condition: str, problem: str) -> None:
        super().__init__("source_achievement_ids", f"achievement {achievement_id}: {problem}")
        self.achievement_id = achievement_id
        self.condition = condition


class CapExceededError(ConflictError):
    """A conversion would break a cap (转换上限): which cap, and by how much.

    ``limit``, ``current``, ``requested`` and ``excess`` are credits, or a number of
    certificates for the certificate-count cap.
    """

    def __init__(
        self, *, rule_id: str, scope: str, key: str, limit: Decimal, current: Decimal,
        requested: Decimal, unit: str = "credits",
    ) -> None:
        if unit == "credits":
            limit, current, requested = (v.quantize(_CENT) for v in (limit, current, requested))
        self.rule_id = rule_id
        self.scope = scope
        self.key = key
        self.limit = limit
        self.current = current
        self.requested = requested
        self.excess = current + requested - limit
        keyed = f" {key}" if key else ""
        super().__init__(
            f"cap {scope}{keyed} ({limit} {unit}) would be exceeded by {self.excess}: "
            f"{current} already converted, {requested} requested (rule {rule_id})"
        )


class InsufficientCreditsError(ConflictError):
    """The sources have fewer credits left than the conversion draws (no double counting)."""

    def __init__(self, achievement_ids: tuple[UUID, ...], available: Decimal, needed: Decimal):
        names = ", ".join(str(a) for a in achievement_ids)
        super().__init__(
            f"achievement(s) {names} have {available} credits left to convert; {needed} needed"
        )
        self.achievement_ids = achievement_ids
        self.available = available
        self.needed = needed


class AlreadyExemptError(ConflictError):
    """The course or module is already exempt (or waiting for a makeup to be)."""


class SourceAlreadyUsedError(ConflictError):
    """The achievement already backs an exemption, and the rules do not let it be shared."""

    def __init__(self, achievement_id: UUID, exempted: str) -> None:
        super().__init__(
            f"achievement {achievement_id} already backs the exemption of {exempted}; "
            "only shareable rules let one achievement satisfy two exemptions"
        )
        self.achievement_id = achievement_id
        self.exempted = exempted


class AgreementNotInForceError(ConflictError):
    """No countersigned version of the agreement is valid on the conversion date."""

    def __init__(self, code: str, day: date, detail: str) -> None:
        super().__init__(f"agreement {code} is not in force on {day}: {detail}")
        self.code = code
        self.day = day


class NotPendingError(ConflictError):
    """The conversion is not pending (already posted, voided or reversed)."""


# -- the alliance (课程互选): each names what was refused and why; none writes anything ----------


class IllegalTransitionError(ConflictError):
    """A command does not apply to the thing's current state (e.g. assessing a learner who was
    never admitted). ``state`` is the current state, ``needed`` what the command requires."""

    def __init__(self, what: str, state: str, needed: str) -> None:
        super().__init__(f"{what} is {state}; {needed}")
        self.what = what
        self.state = state
        self.needed = needed


class CapacityError(ConflictError):
    """The offering has no seat left (人数限额): ``capacity`` learners are admitted."""

    def __init__(self, offering: str, capacity: int) -> None:
        super().__init__(f"{offering} is full: all {capacity} seats (人数限额) are taken")
        self.offering = offering
        self.capacity = capacity


class DisqualifiedError(IllegalTransitionError):
    """The learner was absent a third or more of the course's hours: no assessment (R13)."""

    def __init__(self, what: str, absent_hours: int, total_hours: int) -> None:
        super().__init__(what, "disqualified",
                         f"absent {absent_hours} of {total_hours} hours (at least one third): "
                         "no assessment (取消考核资格)")
        self.absent_hours = absent_hours
        self.total_hours = total_hours


class DeadlinePassedError(ValidationError):
    """An offering plan arrived after its deadline (30 June / 31 December, R11)."""

    def __init__(self, semester: str, deadline: date, today: date) -> None:
        super().__init__("semester", f"the plan for {semester} was due by {deadline}; "
                                     f"today is {today}")
        self.deadline = deadline


class CertificateRevokedError(ConflictError):
    """The course certificate was revoked by its offering school."""


# -- the store ------------------------------------------------------------------------------------


class LedgerError(CreditLedgerError):
    """Base class for errors of the ledger store itself."""


class UnusableLedgerError(LedgerError):
    """The file is missing, not a creditledger ledger, corrupt, or a key cannot be read."""


class ReadOnlyLedgerError(UnusableLedgerError):
    """A write to a ledger opened read-only: asked for (``read_only=True``), or because the file
    or its folder is not writable. The message names the ledger and why; nothing was written."""


class KeyFileExistsError(UnusableLedgerError, FileExistsError):
    """:meth:`SigningKey.save` refuses to overwrite an existing file (a key may be there)."""


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


class KeyEncryptionKeyError(LedgerError):
    """Base class of the errors about the school's key-encryption key (KEK), which wraps the
    learners' data keys in the ledger's key store (see ``docs/privacy.md``)."""


class KeyEncryptionKeyRequiredError(KeyEncryptionKeyError):
    """The command seals, reads or erases personal data, and no key-encryption key was given
    when the ledger was opened: nothing was written."""


class WrongKeyEncryptionKeyError(KeyEncryptionKeyError):
    """The key-encryption key given does not open the ledger's key store (a wrong passphrase or
    key file): nothing was written, nothing erased."""


class CorruptTreeError(LedgerError):
    """The stored Merkle nodes do not match the ledger's events."""


# -- the auditor's checks ---------------------------------------------------------------------


class TamperedLedgerError(LedgerError):
    """The ledger fails verification. ``report.fault`` (a
    :class:`~creditledger.audit.verify.Fault`) says where and how."""

    def __init__(self, report: Any) -> None:
        fault = report.fault
        assert fault is not None
        where = f" (aggregate {fault.aggregate})" if fault.aggregate else ""
        super().__init__(f"position {fault.position}: {fault.kind.value}{where}: {fault.detail}")
        self.report = report
        self.fault = fault


class BundleVerificationError(LedgerError):
    """A transcript bundle fails verification; ``fault`` (a
    :class:`~creditledger.audit.bundle.BundleFault`) says how."""

    def __init__(self, fault: Any) -> None:
        super().__init__(str(fault))
        self.fault = fault


class InconsistentLedgerError(LedgerError):
    """Two checkpoints of a ledger disagree: the older is not a prefix of the newer."""


class CheckpointError(CreditLedgerError, ValueError):
    """A checkpoint or signed note is malformed, or its signatures do not verify."""


class WitnessError(CreditLedgerError):
    """A witness refuses a checkpoint. ``status`` is the C2SP ``tlog-witness`` HTTP status the
    refusal maps to: 400 malformed request, 403 not signed by the log's key, 404 a log the
    witness does not follow, 409 conflict (see :class:`WitnessConflictError`), 422 a
    consistency proof that does not verify."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class WitnessConflictError(WitnessError):
    """The checkpoint conflicts with what the witness cosigned (409): its old size is not the
    witness's latest size (``latest_size``), or it has a different root at the same size (a
    split view)."""

    def __init__(self, message: str, latest_size: int, *, split_view: bool = False) -> None:
        super().__init__(message, 409)
        self.latest_size = latest_size
        self.split_view = split_view  # True: another root at a size already cosigned


class InvalidCredentialError(ValidationError):
    """The document is not a valid certificate; ``reason`` says why (field ``document``)."""

    def __init__(self, reason: str) -> None:
        super().__init__("document", reason)
        self.reason = reason

    def within(self, where: str) -> InvalidCredentialError:
        """The same error, of the same class, its reason prefixed by ``where`` (the check or
        the embedded credential it was found in)."""
        return InvalidCredentialError(f"{where}: {self.reason}")


class OffSchemaCredentialError(InvalidCredentialError):
    """The credential is not valid against a JSON Schema it names that creditledger ships
    (1EdTech's Open Badges 3.0 schema, or creditledger's extension schema): ``schema`` is its
    URL, ``problems`` what the schema finds wrong (``path: message``, in document order)."""

    def __init__(self, schema: str, problems: list[str], where: str = "") -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{where}not valid against {schema}: {problems[0]}{more}")
        self.schema = schema
        self.problems = list(problems)
        self._where = where

    def within(self, where: str) -> OffSchemaCredentialError:
        return OffSchemaCredentialError(self.schema, self.problems, f"{where}: {self._where}")


# -- batch import and read models -----------------------------------------------------------


class ImportRejectedError(ValidationError):
    """The file has bad rows and no rejects file was given: nothing was written. ``report``
    is the :class:`~creditledger.services.batch.ImportReport`, listing every bad row."""

    def __init__(self, report: Any) -> None:
        first = report.rejected[0]
        super().__init__(first.field, f"line {first.line}: {first.problem} "
                                      f"({len(report.rejected)} bad rows; nothing written)")
        self.report = report


class ProjectionTimeout(CreditLedgerError, TimeoutError):
    """A projection did not reach the awaited position in time."""
