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

    @property
    def requires(self) -> tuple[str, ...]:
        """What a transition body must carry for this move."""
        return ("reason_code", "reason") if self.needs_reason else ()


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


@dataclass(frozen=True)
class Lifecycle:
    """The whole table, as `referrals/states/` serves it (referrals.representation's
    StatesSerializer)."""

    statuses: tuple[Status, ...]
    open: tuple[Status, ...]
    initial: Status
    moves: tuple[Move, ...]
    reason_codes: tuple[str, ...]
    report_kinds: dict[Status, tuple[str, ...]]
    risk_tools: dict[str, tuple[str, ...]]


LIFECYCLE = Lifecycle(
    statuses=tuple(Status),
    open=OPEN_STATUSES,
    initial=Status.SUBMITTED,
    moves=MOVES,
    reason_codes=REASON_CODES,
    report_kinds={status: REPORT_KINDS.get(status, ()) for status in Status},
    risk_tools=RISK_TOOLS,
)
