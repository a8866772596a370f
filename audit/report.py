"""The subject-access report: what the hub holds about one person, in the categories whose data
subject that person is, and every disclosure of it.

For a referred man: his identity, contact, offence, risk and programme progress; never his
partner's details, the children's notes or what she said. For a partner: her categories. A
victim service is named only by its kind, in what is held and among the recipients: naming it
could locate her. Every report is a draft for a DPO to review before release.

This module decides what the report holds and what the person is told of each disclosure (the
naming rule); audit.serializers.SubjectReportSerializer renders it.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from audit.models import AccessRecord, IndexKind, Outcome
from audit.selectors import indexed
from audit.serializers import HeldReferral, SeenBasis, SeenDisclosure, SubjectReport
from core.vocabulary import PARTNER_CATEGORIES, Category
from referrals.models import Person, Referral
from referrals.representation import ReferralSerializer, reader_context
from sharing_policies.decision import OWN_DATA, Decision
from sharing_policies.naming import Naming
from sharing_policies.selectors import agencies_led_to, agency_kinds

SUBJECT_OWN = (
    Category.SUBJECT_IDENTITY,
    Category.SUBJECT_CONTACT,
    Category.OFFENCE,
    Category.RISK,
    Category.PROGRAMME_PROGRESS,
)
PARTNER_OWN = tuple(c for c in Category if c in PARTNER_CATEGORIES)
DRAFT = "draft_for_dpo_review"
REVIEW_NOTICE = (
    "Draft for review by a data-protection officer before release: check that nothing in it "
    "identifies or locates anyone else, and redact what the law allows or requires."
)


def own_categories(role: str) -> tuple[Category, ...]:
    return SUBJECT_OWN if role == "subject" else PARTNER_OWN


def held_data(referral: Referral, role: str) -> dict[str, Any]:
    """The person's own categories of one referral, rendered as a read would render them."""
    categories = own_categories(role)
    everything = Decision(
        roles=frozenset(),
        disclosed=frozenset(categories),
        withheld=(),
        disclosure_entries_from=frozenset(d.supplier_id for d in referral.disclosures.all()),
    )
    shape = ReferralSerializer(referral, context=reader_context(referral, everything))
    rendered = shape.by_category()
    data = {str(c): rendered[c] for c in categories}
    if Category.PARTNER_DISCLOSURES in categories:
        entries = data[Category.PARTNER_DISCLOSURES]
        suppliers = {e["id"]: referral_supplier(e["supplier"]) for e in entries}
        naming = report_naming(s for s in suppliers.values() if s)
        for entry in entries:
            entry["supplier"] = naming.agency(suppliers[entry["id"]]) or entry["supplier"]
    return data


def referral_supplier(value: str | None) -> UUID | None:
    """A disclosure entry's supplier id (None when rendering already gave only a kind)."""
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def report_naming(agencies: Iterable[UUID]) -> Naming:
    """The naming rule for a report released to a person outside the hub: a victim service
    is named by its kind alone, and nothing that leads to one is named."""
    return Naming.from_kinds(reader=None, kinds=agency_kinds(agencies))


def disclosures_of(person: Person, roles: dict[UUID, tuple[Referral, str]]) -> list[SeenDisclosure]:
    """Every served request that disclosed one of the person's categories to another agency."""
    records = (
        AccessRecord.objects.filter(outcome=Outcome.SERVED)
        .filter(id__in=indexed(IndexKind.REFERRAL, *roles))
        .order_by("at", "id")
    )
    found: list[tuple[AccessRecord, UUID, list[dict[str, Any]]]] = []
    for record in records.iterator(chunk_size=500):
        for decision in record.decisions:
            referral_id = UUID(decision["referral"])
            if referral_id not in roles:
                continue
            _, role = roles[referral_id]
            mine = {str(c) for c in own_categories(role)}
            # A party reading what it supplied itself is no disclosure to it (rule 0's
            # OWN_DATA basis; the referrer's reports back are REPORTING_BACK, a disclosure).
            bases = [
                b
                for b in decision.get("bases", ())
                if b["category"] in mine and b["lawful_basis"] != OWN_DATA
            ]
            if bases:
                found.append((record, referral_id, bases))
    refs = {
        UUID(b[key])
        for _, _, bases in found
        for b in bases
        for key in ("agreement", "consent")
        if b.get(key)
    }
    led = agencies_led_to(agreements=refs, consents=refs)
    naming = report_naming(
        [*(UUID(record.agency_ref) for record, _, _ in found if record.agency_ref)]
        + [a for agencies in led.values() for a in agencies]
    )

    def seen(basis: dict[str, Any]) -> SeenBasis:
        basis_refs = [UUID(basis[k]) for k in ("agreement", "consent") if basis.get(k)]
        return SeenBasis(
            basis=basis, named=naming.basis_named(supplier=None, refs=basis_refs, led=led)
        )

    return [
        SeenDisclosure(
            record=record,
            referral=referral_id,
            categories=sorted({b["category"] for b in bases}),
            basis=[seen(b) for b in bases],
            recipient_named=naming.names(UUID(record.agency_ref) if record.agency_ref else None),
        )
        for record, referral_id, bases in found
    ]


def subject_report(*, person: Person, now: datetime) -> SubjectReport:
    referrals = Referral.objects.prefetch_related("disclosures", "reports", "observers")
    roles: dict[UUID, tuple[Referral, str]] = {}
    for referral in referrals.filter(subject=person).order_by("created_at"):
        roles[referral.id] = (referral, "subject")
    for referral in referrals.filter(partner=person).order_by("created_at"):
        roles.setdefault(referral.id, (referral, "partner"))
    held = [
        HeldReferral(
            referral=referral,
            role=role,
            data=held_data(referral, role),
            # How the man's referral stands is not the partner's data.
            status_shown=role == "subject",
        )
        for referral, role in roles.values()
    ]
    categories = sorted({str(c) for _, role in roles.values() for c in own_categories(role)})
    return SubjectReport(
        person=person.id,
        prepared_at=now,
        status=DRAFT,
        notice=REVIEW_NOTICE,
        categories=categories,
        held=held,
        disclosures=disclosures_of(person, roles),
    )
