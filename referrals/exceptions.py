"""Referral lifecycle exceptions."""

from hub.exceptions import DomainError


class IllegalTransition(DomainError):
    """The move is not allowed from the referral's current status."""

    def __init__(self, detail: str, *, allowed: list[str]) -> None:
        super().__init__(detail, field="to")
        self.extra = {"allowed": allowed}
