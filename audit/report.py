"""The subject-access report: what the hub holds about one person, in the categories whose data
subject that person is, and every disclosure of it.

For a referred man: his identity, contact, offence, risk and programme progress; never his
partner's details, the children's notes or what she said. For a partner: her categories. A
victim service is named only by its kind, in what is held and among the recipients: naming it
could locate her. Every report is a draft for a DPO to review before release.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from audit.models import AccessRecord, IndexKind, Outcome
from audit.selectors import indexed
from core.serializers import timestamp
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


def disclosures_of(person: Person, roles: dict[UUID, tuple[Referral, str]]) -> list[dict[str, Any]]:
    """Every served request that disclosed one of the person's categories to another agency."""
    records = (
        AccessRecord.objects.filter(outcome=Outcome.SERVED)
        .filter(id__in=indexed(IndexKind.REFERRAL, *roles))
        .order_by("at", "id")
    )
    disclosures = []
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
            if not bases:
                continue
            disclosures.append(
                {
                    "at": record.at,
                    "recipient": record.agency_ref,
                    "recipient_kind": record.agency_kind,
                    "referral": str(referral_id),
                    "categories": sorted({b["category"] for b in bases}),
                    "purpose": record.purpose or None,
                    "basis": [{k: v for k, v in b.items() if k != "supplier"} for b in bases],
                }
            )
    refs = {
        UUID(b[key])
        for d in disclosures
        for b in d["basis"]
        for key in ("agreement", "consent")
        if b.get(key)
    }
    led = agencies_led_to(agreements=refs, consents=refs)
    naming = report_naming(
        [*(UUID(d["recipient"]) for d in disclosures if d["recipient"])]
        + [a for agencies in led.values() for a in agencies]
    )
    for disclosure in disclosures:
        disclosure["at"] = timestamp(disclosure["at"])
        recipient = UUID(disclosure["recipient"]) if disclosure["recipient"] else None
        if not naming.names(recipient):
            disclosure["recipient"] = None
        for basis in disclosure["basis"]:
            basis_refs = [UUID(basis[k]) for k in ("agreement", "consent") if basis.get(k)]
            if not naming.basis_named(supplier=None, refs=basis_refs, led=led):
                basis.update(agreement=None, agreement_version=None, consent=None)
    return disclosures


def subject_report(*, person: Person, now: datetime) -> dict[str, Any]:
    referrals = Referral.objects.prefetch_related("disclosures", "reports", "observers")
    roles: dict[UUID, tuple[Referral, str]] = {}
    for referral in referrals.filter(subject=person).order_by("created_at"):
        roles[referral.id] = (referral, "subject")
    for referral in referrals.filter(partner=person).order_by("created_at"):
        roles.setdefault(referral.id, (referral, "partner"))
    held = [
        {
            "referral": str(referral.id),
            "role": role,
            # How the man's referral stands is not the partner's data.
            "status": referral.status if role == "subject" else None,
            "created_at": timestamp(referral.created_at),
            "data": held_data(referral, role),
        }
        for referral, role in roles.values()
    ]
    categories = sorted({str(c) for _, role in roles.values() for c in own_categories(role)})
    return {
        "person": str(person.id),
        "prepared_at": timestamp(now),
        "status": "draft_for_dpo_review",
        "notice": REVIEW_NOTICE,
        "categories": categories,
        "held": held,
        "disclosures": disclosures_of(person, roles),
    }
