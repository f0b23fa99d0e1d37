"""The roles a key is registered with, and the signer of a commit as the policy sees it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a key may sign for its principal."""

    ROOT = "root"
    """The ledger's root: registers institutions and their keys, signs checkpoints."""
    ADMINISTRATOR = "administrator"
    """An institution's own key (registered by the root): everything its institution may do,
    and its staff's keys (管理员)."""
    REGISTRAR = "registrar"
    """教务/学籍: catalog, accounts, recognition and revocation, transfers, the home school's
    and the offering school's administrative steps."""
    ASSESSOR = "assessor"
    """教师/考评员: course results, attendance, assessments, exam sittings, certificates of a
    pass."""
    SECRETARIAT_OFFICER = "secretariat_officer"
    """联盟秘书处工作人员: the alliance, its catalog, the seal on certificates."""
    AUDITOR = "auditor"
    """审计 (read-only): signs nothing."""

    @property
    def zh(self) -> str:
        return _ZH[self]

    @classmethod
    def of_entry(cls, value: str) -> Role | None:
        """The role a registry entry names ("" in a ledger written before roles: an
        institution's administrator); None for a name that is no role."""
        if value == "":
            return cls.ADMINISTRATOR
        try:
            return cls(value)
        except ValueError:
            return None


_ZH = {Role.ROOT: "根密钥", Role.ADMINISTRATOR: "管理员", Role.REGISTRAR: "教务员",
       Role.ASSESSOR: "教师/考评员", Role.SECRETARIAT_OFFICER: "秘书处工作人员",
       Role.AUDITOR: "审计员（只读）"}

STAFF_ROLES = frozenset({Role.REGISTRAR, Role.ASSESSOR, Role.SECRETARIAT_OFFICER, Role.AUDITOR})
"""The roles an institution's administrator gives its staff's keys."""


@dataclass(frozen=True)
class Signer:
    """Who signed a commit: the principal its key is registered to, the key's role, and the
    staff member (empty for an institution's own key and the root)."""

    principal: str
    role: Role
    staff_id: str = ""

    def __str__(self) -> str:
        staff = f" {self.staff_id}" if self.staff_id else ""
        return f"{self.principal} ({self.role.value}{staff})"
