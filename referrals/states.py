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

# Risk as the tool grades it (DESIGN.md, *Data categories*): a level is one of its tool's.
RISK_TOOLS: dict[str, tuple[str, ...]] = {
    "dash": ("standard", "medium", "high"),
    "oasys_rosh": ("low", "medium", "high", "very_high"),
    "sara": ("low", "medium", "high"),
    "other": ("low", "medium", "high", "very_high"),
}
# Every tool's levels, for a level given without its tool (a risk change, an amendment).
RISK_LEVELS: tuple[str, ...] = tuple(
    dict.fromkeys(level for levels in RISK_TOOLS.values() for level in levels)
)
# Names that agencies' systems send for the coded tools (matched after case and spacing are
# folded): "DASH" was the hub's own example before tools were coded.
RISK_TOOL_ALIASES: dict[str, str] = {
    "dash_ric": "dash",
    "oasys": "oasys_rosh",
    "rosh": "oasys_rosh",
}


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
        "risk_tools": {tool: list(levels) for tool, levels in RISK_TOOLS.items()},
    }
