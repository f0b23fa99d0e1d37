"""Domain-specific errors, each a subclass of the library's error hierarchy.

A school system can catch :class:`~creditledger.errors.ConflictError` for all of them, or the
narrower class when it wants to react to one case.
"""

from __future__ import annotations

from creditledger.errors import ConflictError


class AlreadyRevokedError(ConflictError):
    """The achievement was already revoked; revocation happens once."""


class DuplicateCreditError(ConflictError):
    """The learner account was already credited for this achievement."""


class AlreadyReversedError(ConflictError):
    """The credit for this achievement was already reversed."""


class DuplicateAchievementError(ConflictError):
    """An achievement with the same natural key is recorded with different facts."""

    def __init__(self, achievement_id: object, fields: tuple[str, ...]) -> None:
        listed = ", ".join(fields)
        super().__init__(
            f"achievement {achievement_id} is already recorded with different {listed}; "
            "this is not a retry of the same command"
        )
        self.achievement_id = achievement_id
        self.fields = fields
