"""Personal learning accounts (个人学习账号), R2 and R21, and their credit balances."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from creditledger.domain.achievement import Achievement
from creditledger.domain.base import BankAggregate
from creditledger.domain.ids import learner_account_id
from creditledger.domain.validation import (
    validate_code,
    validate_credits,
    validate_learner_id,
    validate_name,
    validate_note,
    validate_personal_data,
)
from creditledger.domain.values import (
    AchievementStatus,
    Category,
    Erasure,
    LearnerType,
    PersonalData,
    RevocationReason,
)
from creditledger.errors import (
    AlreadyExistsError,
    AlreadyReversedError,
    ConflictError,
    DuplicateCreditError,
    NotFoundError,
    PersonalDataErasedError,
    ValidationError,
)

_ZERO = Decimal("0.00")


class CreditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One credit line of an account: the achievement, its category and amount."""

    achievement_id: UUID
    category: Category
    amount: Decimal


class Reversal(msgspec.Struct, frozen=True, kw_only=True):
    """Why a credit line was reversed (compensated, never edited)."""

    reason: RevocationReason
    note: str


class LearnerAccount(BankAggregate):
    """The personal learning account of one learner: an in-school student or a member of society.

    The account is keyed by a stable opaque ``learner_id``; the learner's identity is kept apart
    as :class:`PersonalData`. Credits accumulate per category (学分积累) as ``Credited`` entries,
    one per achievement; a mistaken or revoked credit is compensated by a ``Reversed`` entry,
    never edited, so the balance of a category is always credited minus reversed.

    ``personal_data`` is ``None`` where it cannot be read here: sealed and no key-encryption
    key given, or erased (``erasure`` then says why, by whom). In the events a ledger of policy
    2 stores it sealed: a string (see :data:`~creditledger.domain.values.SEALED_PREFIX`) that
    only the learner's data key opens.

    Create with :meth:`open`. Events: ``Opened``, ``Credited``, ``Reversed``, ``Enrolled``,
    ``PersonalDataCorrected``, ``PersonalDataErased``.
    """

    @event("Opened")
    def __init__(
        self,
        learner_id: str,
        learner_type: LearnerType,
        personal_data: PersonalData | str,
        home_institution: str | None,
        programme_code: str | None,
    ) -> None:
        self.learner_id = learner_id
        self.learner_type = learner_type
        self.personal_data = _readable(personal_data)
        self.erasure: Erasure | None = None
        self.home_institution = home_institution
        self.programme_code = programme_code
        self.entries: dict[UUID, CreditEntry] = {}
        self.reversals: dict[UUID, Reversal] = {}
        self._balances: dict[Category, Decimal] = dict.fromkeys(Category, _ZERO)

    @classmethod
    def create_id(cls, learner_id: str) -> UUID:
        """The account's id, derived from the opaque learner id."""
        return learner_account_id(learner_id)

    @classmethod
    def open(
        cls,
        *,
        learner_id: str,
        learner_type: LearnerType | str,
        personal_data: PersonalData,
        home_institution: str | None = None,
        programme_code: str | None = None,
    ) -> LearnerAccount:
        """Open an account. A student needs a home institution and programme; a member of
        society may have neither yet (they enrol later, R21).
        """
        kind = LearnerType.parse(learner_type, "learner_type")
        person = validate_personal_data(personal_data)
        institution, programme = _placement(kind, home_institution, programme_code)
        return cls(
            learner_id=validate_learner_id(learner_id, personal_data=person),
            learner_type=kind,
            personal_data=person,
            home_institution=institution,
            programme_code=programme,
        )

    # Credits -------------------------------------------------------------------------------

    def credit(self, achievement_id: UUID, category: Category | str, amount: Decimal) -> None:
        """Credit ``amount`` in ``category`` for an achievement; once per achievement."""
        if not isinstance(achievement_id, UUID):
            raise ValidationError("achievement_id", "must be a UUID")
        parsed = Category.parse(category, "category")
        credits = validate_credits(amount, "amount")
        if achievement_id in self.entries:
            raise DuplicateCreditError(achievement_id)
        self._credited(achievement_id=achievement_id, category=parsed, amount=credits)

    @event("Credited")
    def _credited(self, achievement_id: UUID, category: Category, amount: Decimal) -> None:
        entry = CreditEntry(achievement_id=achievement_id, category=category, amount=amount)
        self.entries[achievement_id] = entry
        self._balances[category] += amount

    def reverse(self, achievement_id: UUID, reason: RevocationReason | str, note: str = "") -> None:
        """Reverse the whole credit of an achievement (a compensating entry).

        Refused if the achievement was never credited (:class:`NotFoundError`) or was already
        reversed (:class:`AlreadyReversedError`).
        """
        parsed = RevocationReason.parse(reason, "reason")
        text = validate_note(note)
        entry = self.entries.get(achievement_id)
        if entry is None:
            raise NotFoundError("credited achievement", str(achievement_id), "achievement_id")
        if achievement_id in self.reversals:
            raise AlreadyReversedError(f"credit for achievement {achievement_id} already reversed")
        self._reversed(
            achievement_id=achievement_id,
            category=entry.category,
            amount=entry.amount,
            reason=parsed,
            note=text,
        )

    @event("Reversed")
    def _reversed(
        self,
        achievement_id: UUID,
        category: Category,
        amount: Decimal,
        reason: RevocationReason,
        note: str,
    ) -> None:
        self.reversals[achievement_id] = Reversal(reason=reason, note=note)
        self._balances[category] -= amount

    def credit_achievement(self, achievement: Achievement) -> None:
        """Credit a recognised achievement of this learner with its category and credits."""
        self._check_owns(achievement)
        if achievement.status is not AchievementStatus.RECOGNISED:
            raise ConflictError(f"achievement {achievement.id} is revoked and cannot be credited")
        self.credit(achievement.id, achievement.category, achievement.credits)

    def reverse_achievement(self, achievement: Achievement) -> None:
        """Reverse the credit of a revoked achievement, giving the revocation's reason."""
        self._check_owns(achievement)
        revocation = achievement.revocation
        if revocation is None:
            raise ConflictError(f"achievement {achievement.id} is not revoked")
        self.reverse(achievement.id, revocation.reason, revocation.note)

    def balance(self, category: Category | str) -> Decimal:
        """Credits in ``category``: credited minus reversed."""
        return self._balances[Category.parse(category, "category")]

    def balances(self) -> dict[Category, Decimal]:
        """Credits per category, every category present (zero if none)."""
        return dict(self._balances)

    def total_balance(self) -> Decimal:
        """Credits over all categories."""
        return sum(self._balances.values(), _ZERO)

    def is_credited(self, achievement_id: UUID) -> bool:
        """Whether the achievement is credited and not reversed."""
        return achievement_id in self.entries and achievement_id not in self.reversals

    # Identity and placement ----------------------------------------------------------------

    def enrol(self, *, institution: str, programme_code: str) -> None:
        """Record entry into a degree programme (e.g. a member of society, R21)."""
        school = validate_code(institution, "institution")
        programme = validate_code(programme_code, "programme_code")
        if (school, programme) == (self.home_institution, self.programme_code):
            raise AlreadyExistsError("enrolment", f"in {school}/{programme}")
        self._enrolled(institution=school, programme_code=programme)

    @event("Enrolled")
    def _enrolled(self, institution: str, programme_code: str) -> None:
        self.home_institution = institution
        self.programme_code = programme_code

    def correct_personal_data(self, personal_data: PersonalData) -> None:
        """Correct the learner's identity fields; the learner id (and account id) stay.
        Refused once they were erased (:class:`PersonalDataErasedError`)."""
        self._refuse_if_erased()
        person = validate_personal_data(personal_data)
        validate_learner_id(self.learner_id, personal_data=person)
        if person != self.personal_data:
            self._personal_data_corrected(personal_data=person)

    @event("PersonalDataCorrected")
    def _personal_data_corrected(self, personal_data: PersonalData | str) -> None:
        self.personal_data = _readable(personal_data)

    @property
    def is_erased(self) -> bool:
        """Whether the learner's personal data was erased (the account and credits stay)."""
        return self.erasure is not None

    def erase_personal_data(self, *, reason: str, legal_basis: str, erased_by: str,
                            staff_id: str | None = None) -> bool:
        """Record the erasure of the learner's personal data (删除个人信息); ``False`` (and
        nothing recorded) if it was erased already. Destroying the data key is the key
        store's part; this event is the signed receipt: why, under which basis, by whom."""
        if self.erasure is not None:
            return False
        self._personal_data_erased(erasure=Erasure(
            reason=validate_name(reason, "reason", max_length=2000),
            legal_basis=validate_name(legal_basis, "legal_basis"),
            erased_by=validate_code(erased_by, "erased_by"),
            staff_id=None if staff_id is None else validate_code(staff_id, "staff_id")))
        return True

    @event("PersonalDataErased")
    def _personal_data_erased(self, erasure: Erasure) -> None:
        self.erasure = erasure
        self.personal_data = None

    def _refuse_if_erased(self) -> None:
        if self.erasure is not None:
            raise PersonalDataErasedError(
                f"the personal data of {self.learner_id} was erased "
                f"({self.erasure.legal_basis}); it cannot be read or corrected again")

    def _check_owns(self, achievement: Achievement) -> None:
        if achievement.learner_id != self.learner_id:
            raise ValidationError(
                "achievement", f"belongs to another learner, not to {self.learner_id}"
            )


def _readable(personal_data: PersonalData | str) -> PersonalData | None:
    """Personal data as the aggregate keeps it: ``None`` for a sealed value the store could
    not open (no key-encryption key given, or the learner's data key erased)."""
    return personal_data if isinstance(personal_data, PersonalData) else None


def _placement(
    kind: LearnerType, institution: str | None, programme_code: str | None
) -> tuple[str | None, str | None]:
    if kind is LearnerType.STUDENT:
        if institution is None:
            raise ValidationError("home_institution", "a student needs a home institution")
        if programme_code is None:
            raise ValidationError("programme_code", "a student needs a programme")
    if programme_code is not None and institution is None:
        raise ValidationError("home_institution", "a programme needs its institution")
    return (
        None if institution is None else validate_code(institution, "home_institution"),
        None if programme_code is None else validate_code(programme_code, "programme_code"),
    )
