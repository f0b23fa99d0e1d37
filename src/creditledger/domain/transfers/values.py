"""Values of the credit transfer ledger (学分转换): accounts, transfers, exemptions.

Every conversion is a set of balanced transfers, TigerBeetle style: each transfer debits one
account and credits another by the same amount, so the sum of all balances is always zero.
Accounts are named by structured strings, one family per role:

=======================================================  ========================================
account                                                  role
=======================================================  ========================================
``achievement/<achievement uuid>``                       a source: at most its recognised credits
                                                         may be drawn from it
``requirement/<institution>/<programme>/<kind>/<code>``  a target: a course, module or category
                                                         of the learner's programme
``conversion-loss``                                      what a ratio conversion (折算) does not
                                                         pass on (rounding down, ratio below 1)
=======================================================  ========================================

A mistake or a revocation is never edited away: it is compensated by further transfers
(``reversal``), and a pending transfer is closed by ``posted_from_pending`` or ``voided``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Self
from uuid import UUID

import msgspec

from creditledger.domain.values import (
    AchievementKind,
    Category,
    CertificateLevel,
    LabelledEnum,
)
from creditledger.errors import ValidationError

#: The account that absorbs what rounding or a ratio below 1 does not pass on.
CONVERSION_LOSS = "conversion-loss"
ACHIEVEMENT_PREFIX = "achievement/"
REQUIREMENT_PREFIX = "requirement/"


class Labelled(LabelledEnum):
    """A labelled enum of the transfer ledger; its Chinese terms live in this module's table."""

    @property
    def zh(self) -> str:
        return _LABELS[type(self).__name__][self.value]


class TargetKind(Labelled):
    """What a conversion credits in the target programme: a course, a module or a category."""

    COURSE = "course"
    MODULE = "module"
    CATEGORY = "category"


class TransferKind(Labelled):
    """The kind of a transfer, as in TigerBeetle's flags.

    ``pending`` reserves credits (补考: until a makeup assessment passes); ``posted_from_pending``
    and ``voided`` close a pending transfer; ``reversal`` compensates a posted one.
    """

    POSTED = "posted"
    PENDING = "pending"
    POSTED_FROM_PENDING = "posted_from_pending"
    VOIDED = "voided"
    REVERSAL = "reversal"


class ConversionStatus(Labelled):
    """Where a conversion stands: pending a makeup, posted, voided, or reversed on revocation."""

    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    REVERSED = "reversed"


_LABELS: dict[str, dict[str, str]] = {
    "ConversionStatus": {"pending": "待定", "posted": "已记账", "voided": "已作废",
                         "reversed": "已冲正"},
    "TargetKind": {"course": "课程", "module": "课程模块", "category": "课程类别"},
    "TransferKind": {
        "posted": "记账",
        "pending": "待定",
        "posted_from_pending": "待定转记账",
        "voided": "作废",
        "reversal": "冲正",
    },
    "RuleKind": {"correspondence": "课程对应", "level": "课程等级", "module": "课程模块",
                 "ratio": "折算"},
    "TransferScope": {"between_majors": "校内专业间", "inter_institution": "校际",
                      "non_degree": "非学历教育"},
    "AmountKind": {"target_credits": "目标学分", "fixed": "固定学分", "by_level": "按等级",
                   "ratio": "按比例"},
    "RatioBasis": {"credits": "学分", "hours": "学时"},
    "CapScope": {"source_kind": "每类成果", "programme": "每专业", "year": "每年",
                 "source_institution": "每来源机构", "certificate_count": "证书数"},
}


class ConversionTarget(msgspec.Struct, frozen=True, kw_only=True):
    """A requirement of a programme: course ``code``, module ``code`` or category ``code``."""

    institution: str
    programme_code: str
    kind: TargetKind
    code: str

    @property
    def account(self) -> str:
        """The requirement account this target is credited in."""
        parts = (self.institution, self.programme_code, self.kind.value, self.code)
        return REQUIREMENT_PREFIX + "/".join(parts)

    @property
    def programme(self) -> tuple[str, str]:
        """The programme (institution, code) the target belongs to."""
        return (self.institution, self.programme_code)

    def label(self) -> str:
        """A short human name, e.g. ``course GZCC/530302/KJ2103``."""
        return f"{self.kind.value} {self.institution}/{self.programme_code}/{self.code}"


def achievement_account(achievement_id: UUID) -> str:
    """The source account of an achievement."""
    return f"{ACHIEVEMENT_PREFIX}{achievement_id}"


def account_achievement(account: str) -> UUID | None:
    """The achievement id of a source account, or ``None`` for any other account."""
    if not account.startswith(ACHIEVEMENT_PREFIX):
        return None
    try:
        return UUID(account.removeprefix(ACHIEVEMENT_PREFIX))
    except ValueError:
        return None


class RuleVersionRef(msgspec.Struct, frozen=True, kw_only=True):
    """Which rule applied: its rule set (or agreement) id, that set's version, the rule id."""

    rule_set_id: UUID
    version: int
    rule_id: str


class AgreementRef(msgspec.Struct, frozen=True, kw_only=True):
    """Which bilateral agreement version (学分互认协议) a conversion relied on."""

    agreement_id: UUID
    code: str
    version: int
    valid_from: date
    valid_until: date


class Transfer(msgspec.Struct, frozen=True, kw_only=True):
    """One balanced movement of credits: ``amount`` from ``debit_account`` to ``credit_account``.

    ``pending_id`` names the pending transfer a ``posted_from_pending`` or ``voided`` one closes;
    ``reverses`` names the transfer a ``reversal`` compensates.
    """

    id: UUID
    debit_account: str
    credit_account: str
    amount: Decimal
    kind: TransferKind
    conversion_id: UUID
    rule: RuleVersionRef
    agreement: AgreementRef | None
    source_achievement_id: UUID
    on: date
    pending_id: UUID | None = None
    reverses: UUID | None = None


_CERTIFICATE_KINDS = (AchievementKind.X_CERTIFICATE, AchievementKind.QUALIFICATION_CERTIFICATE)


class SourceFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the application tells the ledger about one source achievement.

    ``achieved_on`` is when it was earned (the exam's recognition, a certificate's issue, a
    training's completion); ``institution`` and ``code`` identify the course or certificate;
    ``hours`` are the learning hours (学时) a ratio by hours converts.
    """

    achievement_id: UUID
    learner_id: str
    kind: AchievementKind
    title: str
    certified_by: str
    credits: Decimal
    category: Category
    recognised_on: date
    achieved_on: date
    revoked: bool = False
    institution: str | None = None
    code: str | None = None
    level: CertificateLevel | None = None
    score: Decimal | None = None
    expires_on: date | None = None
    hours: int | None = None

    @property
    def is_certificate(self) -> bool:
        """Whether it is a certificate (counted by a certificate-count cap)."""
        return self.kind in _CERTIFICATE_KINDS


class Exemption(msgspec.Struct, frozen=True, kw_only=True):
    """An exemption (免修): a course or module of a programme satisfied by converted credits."""

    target: ConversionTarget
    credits: Decimal
    conversion_id: UUID
    rule: RuleVersionRef
    source_achievement_ids: tuple[UUID, ...]
    shareable: bool
    granted_on: date


class AccountBalance(msgspec.Struct, kw_only=True):
    """Debits and credits of one account, pending and posted (TigerBeetle's four columns)."""

    debits_pending: Decimal = Decimal("0.00")
    debits_posted: Decimal = Decimal("0.00")
    credits_pending: Decimal = Decimal("0.00")
    credits_posted: Decimal = Decimal("0.00")

    @property
    def posted(self) -> Decimal:
        """Posted credits minus posted debits."""
        return self.credits_posted - self.debits_posted

    @property
    def pending(self) -> Decimal:
        """Pending credits minus pending debits."""
        return self.credits_pending - self.debits_pending

    @property
    def drawn(self) -> Decimal:
        """What has been drawn from a source account, reservations included."""
        return -(self.posted + self.pending)

    def copy(self) -> Self:
        return msgspec.structs.replace(self)


def parse_account(value: object, field: str = "account") -> str:
    """Return a well-formed account name, or raise :class:`ValidationError`."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be an account name, not {type(value).__name__}")
    if value == CONVERSION_LOSS or account_achievement(value) is not None:
        return value
    parts = value.removeprefix(REQUIREMENT_PREFIX).split("/")
    if value.startswith(REQUIREMENT_PREFIX) and len(parts) == 4 and all(parts):
        TargetKind.parse(parts[2], field)
        return value
    raise ValidationError(
        field, f"{value!r} is not achievement/<id>, requirement/<inst>/<prog>/<kind>/<code> "
        f"or {CONVERSION_LOSS}"
    )
