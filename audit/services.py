"""Writing access records. Callers write a served request's record inside the transaction
that reads or writes its data, and a refused or failed request's record in its own."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.db import transaction
from django.http import QueryDict
from django.utils.dateparse import parse_date, parse_datetime
from uuid6 import uuid7

from agencies.actors import Actor
from audit.models import AccessIndexEntry, AccessRecord, IndexKind, Outcome
from core.conditional import etag_of
from core.context import Origin, RequestContext, Served
from core.vocabulary import CATEGORY_VALUES, PURPOSE_VALUES
from referrals.models import Status
from sharing_policies.decision import Decision

DENIED_STATUSES = frozenset({401, 403, 404, 429})


def time_ordered_uuid() -> UUID:
    """A new access record's id: a version 7 UUID (RFC 9562, by the uuid6 library), the time in
    milliseconds then random bits, so that records written one after another take adjacent keys.

    Records are only ever appended, and their id leads the records' primary key and the index
    entries' unique (record, kind, value) index (and led the entries' own record index, dropped
    since as redundant). A random (version 4) id put each new record in a random leaf of each,
    so the pages a write touched grew with the number of records stored: once those indexes
    outgrew shared memory, each write read pages back in and, after every checkpoint, logged
    them whole (measured at 100,000 and 1,000,000 records: 0.5 and 2.1 full-page images, 12 and
    22 kB of WAL per record written; with these ids 0 and 7.8 kB at both). These ids append at
    the indexes' right-hand edge, whatever the total. Set where records are written (here and
    `audit.bursts`), not as the model's default, so that the migrations name no project code.
    """
    return UUID(int=uuid7().int)


@dataclass
class AccessDetails:
    """What a request touched: filled in by the view as it works, written once at the end."""

    referrals: list[UUID] = field(default_factory=list)
    persons: list[UUID] = field(default_factory=list)
    decisions: list[tuple[UUID, Decision]] = field(default_factory=list)

    def add(self, referral_id: UUID, decision: Decision, persons: Iterable[UUID] = ()) -> None:
        self.referrals.append(referral_id)
        self.persons.extend(p for p in persons if p not in self.persons)
        self.decisions.append((referral_id, decision))


def is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def is_moment(value: str) -> bool:
    try:
        return bool(parse_datetime(value) or parse_date(value))
    except ValueError:
        return False


def one_of(*choices: Iterable[str]) -> Callable[[str], bool]:
    allowed = frozenset(str(c) for group in choices for c in group)
    return allowed.__contains__


def matching(pattern: str) -> Callable[[str], bool]:
    return lambda value: re.fullmatch(pattern, value) is not None


BOOLEAN_WORDS = ("true", "false", "True", "False", "1", "0")
# Every query parameter the API takes, and what a value of it looks like. A record keeps a
# parameter's value only when it looks like that (ids, dates, numbers, vocabulary words);
# anything else, and any unknown parameter's value, is replaced with REDACTED: a query string
# is the caller's text, and `?family_name=...` must never reach an append-only record.
QUERY_VALUES: dict[str, Callable[[str], bool]] = {
    "after": str.isdigit,
    "page_size": str.isdigit,
    "agency": is_uuid,
    "person": is_uuid,
    "programme": is_uuid,
    "referral": is_uuid,
    "created_after": is_moment,
    "created_before": is_moment,
    "updated_since": is_moment,
    "from": is_moment,
    "to": is_moment,
    "category": one_of(CATEGORY_VALUES),
    "purpose": one_of(PURPOSE_VALUES),
    "outcome": one_of(Outcome.values),
    "status": one_of(Status.values),
    "emergency": one_of(BOOLEAN_WORDS),
    "flagged": one_of(BOOLEAN_WORDS),
    "review_overdue": one_of(BOOLEAN_WORDS),
    "anchor": matching(r"[1-9][0-9]*:[0-9a-fA-F]{64}"),
    # DOT's generated client ids: long, letters and digits only.
    "client": matching(r"[A-Za-z0-9]{20,100}"),
    # DRF's cursors: base64 of a position.
    "cursor": matching(r"[A-Za-z0-9+/=_%-]{4,400}"),
}
REDACTED = "redacted"


def recorded_query(query: QueryDict) -> str:
    """The query string as a record may keep it (see QUERY_VALUES)."""
    kept = []
    for name, values in query.lists():
        for value in values:
            looks_right = QUERY_VALUES.get(name)
            kept.append((name, value if looks_right and looks_right(value) else REDACTED))
    return urlencode(kept)


def access_record_write(
    *,
    origin: Origin,
    actor: Actor | None,
    status: int,
    purpose: str = "",
    justification: str = "",
    details: AccessDetails | None = None,
    tried: str = "",
) -> AccessRecord:
    """One access record (and its search index entries) in the caller's transaction. Use
    `record_served` or `audit.bursts.record_refused` rather than this: they say where."""
    details = details or AccessDetails()
    disclosed: set[str] = set()
    withheld: dict[str, str] = {}
    per_referral = []
    for referral_id, decision in details.decisions:
        disclosed |= {str(c) for c in decision.disclosed}
        for w in decision.withheld:
            withheld.setdefault(str(w.category), str(w.reason))
        per_referral.append(
            {
                "referral": str(referral_id),
                "disclosed": sorted(str(c) for c in decision.disclosed),
                "withheld": [
                    {"category": str(w.category), "reason": str(w.reason)}
                    for w in decision.withheld
                ],
                # What each disclosure rested on: an agreement version and its lawful basis
                # (and, for consent, the consent), or the requester's own data (rule 0).
                "bases": [
                    {
                        "category": str(b.category),
                        "lawful_basis": b.lawful_basis,
                        "agreement": str(b.agreement) if b.agreement else None,
                        "agreement_version": b.agreement_version,
                        "consent": str(b.consent) if b.consent else None,
                        "supplier": str(b.supplier) if b.supplier else None,
                    }
                    for b in decision.bases
                ],
            }
        )
    if status < 400:
        outcome = Outcome.SERVED
    elif status < 500:
        outcome = Outcome.REFUSED
    else:
        outcome = Outcome.FAILED
    record = AccessRecord.objects.create(
        id=time_ordered_uuid(),
        agency=actor.agency if actor else None,
        agency_ref=str(actor.agency.id) if actor else "",
        agency_kind=actor.agency.kind if actor else "",
        client=actor.client_id if actor else "",
        person=str(actor.person.id) if actor and actor.person else "",
        purpose=purpose,
        justification=justification,
        # Emergency releases and denied attempts are for a DPO to review.
        flagged=bool(justification) or status in DENIED_STATUSES,
        method=origin.method,
        path=origin.path[:500],
        query=recorded_query(origin.query)[:2000],
        status=status,
        outcome=outcome,
        ip=origin.ip,
        request_id=origin.request_id,
        referrals=[str(r) for r in details.referrals],
        persons=[str(p) for p in details.persons],
        disclosed=sorted(disclosed),
        withheld=[{"category": c, "reason": r} for c, r in sorted(withheld.items())],
        decisions=per_referral,
        tried=tried[:150],
        channel=origin.channel,
    )
    AccessIndexEntry.objects.bulk_create(index_entries_of(record))
    return record


def record_served(context: RequestContext, status: int, details: AccessDetails) -> AccessRecord:
    """A served request's access record, written inside the transaction that read or wrote its
    data: if that transaction rolls back, the record goes with it (and the request is recorded
    as refused or failed instead, by `audit.bursts.record_refused`)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("A served request's record belongs in its data's transaction.")
    return access_record_write(
        origin=context.origin,
        actor=context.actor,
        status=status,
        purpose=context.purpose,
        justification=context.justification,
        details=details,
    )


def served(
    context: RequestContext,
    details: AccessDetails,
    body: Any,
    *,
    status: int = 200,
    etag: bool = True,
) -> Served:
    """What a use case answers with once it has written the served request's access record
    (`record_served`, inside the caller's transaction): the body, its status and, with `etag`,
    an entity tag over exactly that body (core.conditional)."""
    record_served(context, status, details)
    return Served(body, status=status, etag=etag_of(body) if etag else None, recorded=True)


def index_entries_of(record: AccessRecord) -> list[AccessIndexEntry]:
    """The search index entries a record implies: one per referral and person it touched (the
    person behind the token too), disclosed category, and agency that may see it (the
    requester and every supplier of what it disclosed). The chain's verifier rebuilds them
    from the record to check that none was added or removed."""
    return [
        AccessIndexEntry(record=record, kind=kind, value=value, at=record.at)
        for kind, value in index_values_of(record)
    ]


def index_values_of(record: Any) -> list[tuple[str, Any]]:
    """(kind, value) of each entry of `index_entries_of`, in its order, from anything with the
    record's `referrals`, `persons`, `person`, `disclosed`, `agency_ref` and `decisions`: the
    chain's verifier reads records as rows, not models."""
    persons = dict.fromkeys([*record.persons, *([record.person] if record.person else [])])
    agencies = dict.fromkeys(
        [
            *([record.agency_ref] if record.agency_ref else []),
            *sorted(
                {
                    basis["supplier"]
                    for decision in record.decisions
                    for basis in decision.get("bases", ())
                    if basis.get("supplier")
                }
            ),
        ]
    )
    return [
        *((IndexKind.REFERRAL, v) for v in dict.fromkeys(record.referrals)),
        *((IndexKind.PERSON, v) for v in persons),
        *((IndexKind.CATEGORY, v) for v in record.disclosed),
        *((IndexKind.AGENCY, v) for v in agencies),
    ]
