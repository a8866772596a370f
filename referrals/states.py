"""The referral lifecycle as data: one table, read by the service, by `referrals/states/` and by
the OpenAPI description. Change a move here and every reader follows."""

from dataclasses import dataclass

from referrals.models import Status
from sharing_policies.decision import Role

OPEN_STATUSES: tuple[Status, ...] = (
    Status.SUBMITTED,
    Status.ACKNOWLEDGED,
    Status.ASSESSMENT,
    Status.ACCEPTED,
    Status.IN_PROGRAMME,
)

# Never rename one: outcomes are counted by code. Add codes freely.
REASON_CODES: tuple[str, ...] = (
    "unsuitable",
    "not_engaging",
    "further_offence",
    "breach",
    "moved_area",
    "subject_declined",
    "risk_too_high",
    "other",
)


@dataclass(frozen=True)
class Move:
    source: Status
    target: Status
    by: Role
    needs_reason: bool = False

    def as_document(self) -> dict[str, object]:
        return {
            "from": self.source.value,
            "to": self.target.value,
            "by": self.by.value,
            "requires": ["reason_code", "reason"] if self.needs_reason else [],
        }


# The provider moves its own referrals; the referrer withdraws them.
MOVES: tuple[Move, ...] = (
    Move(Status.SUBMITTED, Status.ACKNOWLEDGED, Role.PROVIDER),
    Move(Status.ACKNOWLEDGED, Status.ASSESSMENT, Role.PROVIDER),
    Move(Status.ASSESSMENT, Status.ACCEPTED, Role.PROVIDER),
    Move(Status.ASSESSMENT, Status.DECLINED, Role.PROVIDER, needs_reason=True),
    Move(Status.ACCEPTED, Status.IN_PROGRAMME, Role.PROVIDER),
    Move(Status.IN_PROGRAMME, Status.COMPLETED, Role.PROVIDER),
    Move(Status.IN_PROGRAMME, Status.TERMINATED, Role.PROVIDER, needs_reason=True),
    *(Move(status, Status.WITHDRAWN, Role.REFERRER, needs_reason=True) for status in OPEN_STATUSES),
)

# Which reports a provider may write in each status (DESIGN.md, *Bodies*).
REPORT_KINDS: dict[Status, tuple[str, ...]] = {
    Status.SUBMITTED: (),
    Status.ACKNOWLEDGED: ("risk_change",),
    Status.ASSESSMENT: ("assessment", "risk_change"),
    Status.ACCEPTED: ("risk_change",),
    Status.IN_PROGRAMME: ("attendance", "risk_change", "completion"),
}


def moves_from(status: str) -> list[Move]:
    return [move for move in MOVES if move.source == status]


def states_document() -> dict[str, object]:
    return {
        "statuses": [s.value for s in Status],
        "open": [s.value for s in OPEN_STATUSES],
        "initial": Status.SUBMITTED.value,
        "moves": [move.as_document() for move in MOVES],
        "reason_codes": list(REASON_CODES),
        "report_kinds": {status.value: list(REPORT_KINDS.get(status, ())) for status in Status},
    }
