"""Domain exceptions shared by the hub's apps; `core.problems` maps each to an HTTP status."""


class DomainError(Exception):
    """A request that the hub's rules refuse."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra: dict[str, object] = {}  # extension members of the problem body


class NotAParty(DomainError):
    """The caller is not a party to the referral, so for it the referral does not exist."""


class RoleNotPermitted(DomainError):
    """The caller's agency may not take this action in its role."""


class UnknownReference(DomainError):
    """A well-formed id in the request names nothing the hub holds."""


class PolicyViolation(DomainError):
    """A well-formed request that a rule of the hub refuses."""


class Conflict(DomainError):
    """The request conflicts with the current state (a repeated withdrawal, say)."""


class Gone(DomainError):
    """The object existed, but retention erased its data; told only to those who could see it."""


class IllegalTransition(DomainError):
    """The move is not allowed from the referral's current status (referrals/states.py)."""

    def __init__(self, detail: str, *, allowed: list[str]) -> None:
        super().__init__(detail, field="to")
        self.extra = {"allowed": allowed}
