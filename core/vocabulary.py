"""The fixed vocabulary of disclosure: data categories, purposes, lawful bases, reasons.

These names are part of the public contract (DESIGN.md); never rename one.
"""

from enum import StrEnum


class Category(StrEnum):
    REFERRAL_ADMIN = "referral.admin"
    SUBJECT_IDENTITY = "subject.identity"
    SUBJECT_CONTACT = "subject.contact"
    OFFENCE = "offence"
    RISK = "risk"
    PROGRAMME_PROGRESS = "programme.progress"
    PARTNER_IDENTITY = "partner.identity"
    PARTNER_CONTACT = "partner.contact"
    PARTNER_DISCLOSURES = "partner.disclosures"
    CHILDREN = "children"


# What concerns the partner and the children: never for the men's programme (rule 5).
VICTIM_CONFIDENTIAL: frozenset[Category] = frozenset(
    {
        Category.PARTNER_IDENTITY,
        Category.PARTNER_CONTACT,
        Category.PARTNER_DISCLOSURES,
        Category.CHILDREN,
    }
)


class Purpose(StrEnum):
    PROGRAMME_DELIVERY = "programme_delivery"
    RISK_MANAGEMENT = "risk_management"
    PARTNER_SAFETY = "partner_safety"
    COURT_COMPLIANCE = "court_compliance"
    MARAC = "marac"
    AUDIT = "audit"


PURPOSES: frozenset[str] = frozenset(p.value for p in Purpose)


class LawfulBasis(StrEnum):
    CONSENT = "consent"
    LEGAL_OBLIGATION = "legal_obligation"
    PUBLIC_TASK = "public_task"
    VITAL_INTERESTS = "vital_interests"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class WithholdReason(StrEnum):
    """Why a category is withheld; when several apply, the first in this order is given."""

    VICTIM_CONFIDENTIAL = "victim_confidential"
    NO_AGREEMENT = "no_agreement"
    CONSENT_DENIED = "consent_denied"
    EMERGENCY_ONLY = "emergency_only"
    NO_CONSENT = "no_consent"


# Whose data each category is: the man's (his consent governs it) or the partner's.
SUBJECT_CATEGORIES: frozenset[Category] = frozenset(
    {
        Category.SUBJECT_IDENTITY,
        Category.SUBJECT_CONTACT,
        Category.OFFENCE,
        Category.RISK,
        Category.PROGRAMME_PROGRESS,
    }
)
PARTNER_CATEGORIES: frozenset[Category] = VICTIM_CONFIDENTIAL

# Plain value lists, for serializer choices and the OpenAPI enums named after them.
CATEGORY_VALUES: list[str] = [c.value for c in Category]
PURPOSE_VALUES: list[str] = [p.value for p in Purpose]
LAWFUL_BASIS_VALUES: list[str] = [b.value for b in LawfulBasis]
WITHHOLD_REASON_VALUES: list[str] = [r.value for r in WithholdReason]
