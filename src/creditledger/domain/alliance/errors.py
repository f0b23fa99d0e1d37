"""Errors of the alliance workflow: each names what was refused and why; none writes anything."""

from __future__ import annotations

from datetime import date

from creditledger.errors import ConflictError, ValidationError


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
