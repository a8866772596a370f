"""Which data category every model field holds: one table, read by whoever must know.

Every concrete and many-to-many field of every model in the project's own apps is declared
here (tests/test_data_classification.py fails on a field that is not), so that no field can
reach a response without someone having decided which disclosure decision governs it.
tests/test_data_classification.py also checks the referral representation against it: each
disclosed value comes from a field of its key's category, and a withheld category leaves no
value of its fields. The subject-access report (audit/report.py) and retention
(referrals/retention.py) keep field lists of their own today.

A declaration is one of:
- a `Category` (DESIGN.md, *Data categories*): the field holds data of that category;
- a tuple of categories: the field may hold any of them, depending on whose record it is (a
  person's identifier is `subject.identity` for the man, `partner.identity` for the partner)
  or on what someone wrote (free text). A reader must see every category of the tuple that
  applies to the record before it may read the field;
- `NONE`: no personal data. Keys (public ids are random UUIDs, so that an id alone says
  nothing), links between rows, references to agencies (organisations, not people), clients,
  statuses of agreements, timestamps of housekeeping, and access records' ids and category
  names (DESIGN.md, *Audit*: records hold ids and categories, never personal data values);
- `STAFF`: personal data of the hub's own users, agency staff (names, e-mail, log-ins). It is
  in none of DESIGN's categories: it is never part of a referral, and the disclosure decision
  does not govern it. Kept apart from `NONE` so that no one mistakes it for non-personal data.

Two rules bend the "agency references are NONE" line, both from DESIGN.md: which victim service
supports the partner (`partner_service`) is `partner.identity` wherever it is held, and a
referral's own administrative columns (id, status, parties, programme, dates) are
`referral.admin`, disclosed to every party.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeAlias

from core.vocabulary import PARTNER_CATEGORIES, Category

if TYPE_CHECKING:
    from django.db.models import Model

NONE = "none"
STAFF = "staff"

Classification: TypeAlias = Category | tuple[Category, ...] | str

# The apps whose models this table covers: the project's own (the test checks that no other
# app of this repository has models).
PROJECT_APPS: tuple[str, ...] = ("agencies", "referrals", "consent", "sharing_policies", "audit")

C = Category

# A person record serves the man and the partner alike: its category is whose it is.
PERSON_IDENTITY = (C.SUBJECT_IDENTITY, C.PARTNER_IDENTITY)
# Free text that someone writes about a case may hold whatever that person knows of it: it is
# as confidential as the most confidential category it may hold.
ANY_CASE_DATA = tuple(c for c in Category if c is not C.REFERRAL_ADMIN)
# A consent is what its data subject told an agency about his or her own data. For the partner
# that is partner.disclosures (it shows she is in touch with an agency, and what she wants);
# the man has no such category, and his consent goes with who he is.
# The categories an amendment may change (referrals.services.AMENDABLE).
AMENDABLE = (
    C.SUBJECT_IDENTITY,
    C.SUBJECT_CONTACT,
    C.OFFENCE,
    C.RISK,
    C.PARTNER_IDENTITY,
    C.PARTNER_CONTACT,
    C.CHILDREN,
)
CONSENT_STATEMENT = (C.SUBJECT_IDENTITY, C.PARTNER_DISCLOSURES)

FIELD_CATEGORIES: dict[str, Classification] = {
    # --- agencies: organisations, their OAuth clients, their staff ------------------------
    "agencies.Agency.id": NONE,
    "agencies.Agency.name": NONE,
    "agencies.Agency.kind": NONE,
    "agencies.Agency.active": NONE,
    "agencies.Agency.created_at": NONE,
    "agencies.User.id": NONE,
    # A salted hash of a secret, read only by the log-in check.
    "agencies.User.password": NONE,
    "agencies.User.last_login": STAFF,
    "agencies.User.is_superuser": NONE,
    "agencies.User.username": STAFF,
    "agencies.User.first_name": STAFF,
    "agencies.User.last_name": STAFF,
    "agencies.User.email": STAFF,
    "agencies.User.is_staff": NONE,
    "agencies.User.is_active": NONE,
    "agencies.User.date_joined": STAFF,
    "agencies.User.groups": NONE,
    "agencies.User.user_permissions": NONE,
    "agencies.StaffMembership.id": NONE,
    "agencies.StaffMembership.user": NONE,
    "agencies.StaffMembership.agency": NONE,
    "agencies.StaffMembership.role": NONE,
    "agencies.StaffMembership.changes_seen": NONE,
    # An OAuth client is an agency's system: its name, secret and settings describe software.
    "agencies.Client.id": NONE,
    "agencies.Client.client_id": NONE,
    "agencies.Client.user": NONE,
    "agencies.Client.redirect_uris": NONE,
    "agencies.Client.post_logout_redirect_uris": NONE,
    "agencies.Client.client_type": NONE,
    "agencies.Client.authorization_grant_type": NONE,
    "agencies.Client.client_secret": NONE,
    "agencies.Client.hash_client_secret": NONE,
    "agencies.Client.name": NONE,
    "agencies.Client.skip_authorization": NONE,
    "agencies.Client.created": NONE,
    "agencies.Client.updated": NONE,
    "agencies.Client.algorithm": NONE,
    "agencies.Client.allowed_origins": NONE,
    "agencies.Client.registration_source": NONE,
    "agencies.Client.cimd_expires_at": NONE,
    "agencies.Client.agency": NONE,
    "agencies.Client.scopes": NONE,
    "agencies.Client.default_purpose": NONE,
    "agencies.Client.purposes": NONE,
    "agencies.Client.active": NONE,
    # What an authorization code's exchange issued (agencies.revocation): a digest and ids.
    "agencies.CodeExchange.id": NONE,
    "agencies.CodeExchange.code_digest": NONE,
    "agencies.CodeExchange.client": NONE,
    "agencies.CodeExchange.access_token_id": NONE,
    "agencies.CodeExchange.token_family": NONE,
    "agencies.CodeExchange.exchanged_at": NONE,
    # --- referrals: the catalogue ----------------------------------------------------------
    "referrals.Programme.id": NONE,
    "referrals.Programme.provider": NONE,
    "referrals.Programme.name": NONE,
    "referrals.Programme.approach": NONE,
    "referrals.Programme.modality": NONE,
    "referrals.Programme.capacity": NONE,
    "referrals.Programme.active": NONE,
    "referrals.Programme.created_at": NONE,
    "referrals.Programme.updated_at": NONE,
    # --- referrals: people -----------------------------------------------------------------
    # DESIGN puts the person id in subject.identity / partner.identity: it ties one person's
    # referrals together, so it tells more than a referral's own id does.
    "referrals.Person.id": PERSON_IDENTITY,
    "referrals.Person.created_at": NONE,
    "referrals.PersonIdentifier.id": NONE,
    "referrals.PersonIdentifier.person": PERSON_IDENTITY,
    # The system names the register that knows the person (police, prison...): part of the
    # identifier, and telling on its own.
    "referrals.PersonIdentifier.system": PERSON_IDENTITY,
    "referrals.PersonIdentifier.value": PERSON_IDENTITY,
    "referrals.PersonIdentifier.normalised": PERSON_IDENTITY,
    # A housekeeping number (0, or the rank of a legacy spelling clash): no personal data.
    "referrals.PersonIdentifier.collision": NONE,
    # --- referrals: the referral, one field per category -----------------------------------
    "referrals.Referral.id": C.REFERRAL_ADMIN,
    "referrals.Referral.status": C.REFERRAL_ADMIN,
    "referrals.Referral.referrer": C.REFERRAL_ADMIN,
    "referrals.Referral.provider": C.REFERRAL_ADMIN,
    "referrals.Referral.programme": C.REFERRAL_ADMIN,
    "referrals.Referral.observers": C.REFERRAL_ADMIN,
    "referrals.Referral.created_at": C.REFERRAL_ADMIN,
    # When referral.admin last changed; other categories' changes are dated by their own rows.
    "referrals.Referral.updated_at": C.REFERRAL_ADMIN,
    # Which of the referrer's systems created it: an OAuth client id, like every *_client.
    "referrals.Referral.created_by_client": NONE,
    # The tombstone's date: kept with the ids, status and parties once the rest is erased.
    "referrals.Referral.erased_at": C.REFERRAL_ADMIN,
    "referrals.Referral.partner_service": C.PARTNER_IDENTITY,
    "referrals.Referral.partner": C.PARTNER_IDENTITY,
    "referrals.Referral.partner_identity": C.PARTNER_IDENTITY,
    "referrals.Referral.subject": C.SUBJECT_IDENTITY,
    "referrals.Referral.subject_identity": C.SUBJECT_IDENTITY,
    "referrals.Referral.subject_contact": C.SUBJECT_CONTACT,
    # What the partner said never belongs here (DESIGN.md): the API docs tell integrators so.
    "referrals.Referral.offence": C.OFFENCE,
    "referrals.Referral.risk": C.RISK,
    "referrals.Referral.partner_contact": C.PARTNER_CONTACT,
    "referrals.Referral.children": C.CHILDREN,
    # --- referrals: entries of a category --------------------------------------------------
    # An entry's own random id and its link to the referral say nothing; everything else in
    # it does (when she spoke, to whom, what kind of contact it was).
    "referrals.PartnerDisclosure.id": NONE,
    "referrals.PartnerDisclosure.referral": NONE,
    # Which agency she told is part of what she told; and when that agency is her support
    # service, naming it says who supports her (partner.identity): the representation names
    # it by kind to those who may not see partner.identity.
    "referrals.PartnerDisclosure.supplier": (C.PARTNER_DISCLOSURES, C.PARTNER_IDENTITY),
    # Also moves the `updated_at` (referral.admin) of a reader that sees the entry.
    "referrals.PartnerDisclosure.recorded_at": (C.REFERRAL_ADMIN, C.PARTNER_DISCLOSURES),
    "referrals.PartnerDisclosure.disclosed_on": C.PARTNER_DISCLOSURES,
    "referrals.PartnerDisclosure.summary": C.PARTNER_DISCLOSURES,
    "referrals.PartnerDisclosure.kind": C.PARTNER_DISCLOSURES,
    "referrals.PartnerDisclosure.details": C.PARTNER_DISCLOSURES,
    "referrals.Report.id": NONE,
    "referrals.Report.referral": NONE,
    # Whether there was an assessment, attendance or a risk change, and when, is progress.
    "referrals.Report.kind": C.PROGRAMME_PROGRESS,
    "referrals.Report.content": C.PROGRAMME_PROGRESS,
    # Also moves the `updated_at` (referral.admin) of a reader that sees progress.
    "referrals.Report.written_at": (C.REFERRAL_ADMIN, C.PROGRAMME_PROGRESS),
    # Always the referral's provider, which referral.admin names anyway.
    "referrals.Report.written_by": NONE,
    "referrals.Report.written_by_client": NONE,
    # --- referrals: history ----------------------------------------------------------------
    "referrals.Transition.id": NONE,
    "referrals.Transition.referral": NONE,
    # The moves are the history of the referral's status, which every party sees (DESIGN.md:
    # history shows moves to every party); a reason code is a word from a fixed list.
    "referrals.Transition.from_status": C.REFERRAL_ADMIN,
    "referrals.Transition.to_status": C.REFERRAL_ADMIN,
    "referrals.Transition.reason_code": C.REFERRAL_ADMIN,
    # Free text behind a decline, termination or withdrawal: what lies behind the code is his
    # offending, his risk, his progress or his moving away. Never what the partner said (the
    # API tells integrators so), hence no partner category.
    "referrals.Transition.reason": (
        C.SUBJECT_CONTACT,
        C.OFFENCE,
        C.RISK,
        C.PROGRAMME_PROGRESS,
    ),
    "referrals.Transition.at": C.REFERRAL_ADMIN,
    "referrals.Transition.by": NONE,
    "referrals.Transition.by_client": NONE,
    # A staff member's random user id.
    "referrals.Transition.by_person": NONE,
    "referrals.Amendment.id": NONE,
    "referrals.Amendment.referral": NONE,
    # When the changed categories changed: shown, in the history and as the `updated_at`
    # (referral.admin) of a referral, only to a reader that sees one of them.
    "referrals.Amendment.at": (C.REFERRAL_ADMIN, *AMENDABLE),
    "referrals.Amendment.by": NONE,
    "referrals.Amendment.by_client": NONE,
    # Old and new values of the amendable categories (referrals.services.AMENDABLE), and the
    # referrer's words about why they changed: either may hold any of them.
    "referrals.Amendment.reason": AMENDABLE,
    "referrals.Amendment.changes": AMENDABLE,
    "referrals.PartnerContactTask.id": NONE,
    "referrals.PartnerContactTask.referral": NONE,
    "referrals.PartnerContactTask.partner_service": C.PARTNER_IDENTITY,
    "referrals.PartnerContactTask.created_at": NONE,
    # --- referrals: plumbing ---------------------------------------------------------------
    # Events carry ids and types only ("ids and types only: fetch the resource to see it").
    "referrals.Event.id": NONE,
    "referrals.Event.recipient": NONE,
    "referrals.Event.position": NONE,
    "referrals.Event.referral": NONE,
    "referrals.Event.type": NONE,
    "referrals.Event.at": NONE,
    "referrals.Event.about": NONE,
    "referrals.FeedCounter.agency": NONE,
    "referrals.FeedCounter.last_position": NONE,
    "referrals.IdempotencyKey.id": NONE,
    "referrals.IdempotencyKey.client": NONE,
    # An opaque token the client chose.
    "referrals.IdempotencyKey.key": NONE,
    # A SHA-256 of a whole body: compared, never read back.
    "referrals.IdempotencyKey.body_hash": NONE,
    "referrals.IdempotencyKey.referral": NONE,
    "referrals.IdempotencyKey.created_at": NONE,
    # --- consent ---------------------------------------------------------------------------
    "consent.Consent.id": NONE,
    "consent.Consent.referral": NONE,
    # A role ("subject" or "partner"), never a person.
    "consent.Consent.data_subject": NONE,
    # The decision reads them, but they are the data subject's own wishes; a partner's may
    # name the service that supports her among its recipients.
    "consent.Consent.provisions": (*CONSENT_STATEMENT, C.PARTNER_IDENTITY),
    "consent.Consent.valid_from": NONE,
    "consent.Consent.valid_to": NONE,
    # How consent was given and a reference to it (a form, a call): free text of the recorder.
    "consent.Consent.evidence": CONSENT_STATEMENT,
    "consent.Consent.recorded_by": NONE,
    "consent.Consent.recorded_by_client": NONE,
    "consent.Consent.recorded_at": NONE,
    "consent.Consent.withdrawn_at": NONE,
    "consent.Consent.withdrawn_by": NONE,
    "consent.Consent.withdrawal_reason": CONSENT_STATEMENT,
    # --- sharing_policies: agreements between organisations --------------------------------
    "sharing_policies.Agreement.id": NONE,
    "sharing_policies.Agreement.provider": NONE,
    "sharing_policies.Agreement.current_version": NONE,
    "sharing_policies.Agreement.created_at": NONE,
    "sharing_policies.AgreementVersion.id": NONE,
    "sharing_policies.AgreementVersion.agreement": NONE,
    "sharing_policies.AgreementVersion.version": NONE,
    "sharing_policies.AgreementVersion.name": NONE,
    "sharing_policies.AgreementVersion.provider": NONE,
    "sharing_policies.AgreementVersion.recipient": NONE,
    "sharing_policies.AgreementVersion.recipient_kind": NONE,
    "sharing_policies.AgreementVersion.purposes": NONE,
    "sharing_policies.AgreementVersion.grants": NONE,
    "sharing_policies.AgreementVersion.valid_from": NONE,
    "sharing_policies.AgreementVersion.valid_to": NONE,
    "sharing_policies.AgreementVersion.review_date": NONE,
    "sharing_policies.AgreementVersion.status": NONE,
    "sharing_policies.AgreementVersion.created_at": NONE,
    "sharing_policies.AgreementVersion.created_by": NONE,
    "sharing_policies.AgreementVersion.created_by_client": NONE,
    # --- audit: ids and category names, except what people write ---------------------------
    "audit.AccessRecord.id": NONE,
    "audit.AccessRecord.at": NONE,
    "audit.AccessRecord.agency": NONE,
    "audit.AccessRecord.agency_ref": NONE,
    "audit.AccessRecord.agency_kind": NONE,
    "audit.AccessRecord.client": NONE,
    # The staff member behind a person's token: a random user id.
    "audit.AccessRecord.person": NONE,
    "audit.AccessRecord.purpose": NONE,
    # Free text written by the requester to justify an emergency release: it can hold anything
    # the requester knows of the case (typically risk, and what the partner reported). Records
    # never change, so it cannot be cut down later; only DPOs read it, and `accesses/` never
    # shows it (DESIGN.md).
    "audit.AccessRecord.justification": ANY_CASE_DATA,
    "audit.AccessRecord.flagged": NONE,
    "audit.AccessRecord.method": NONE,
    # Paths and queries hold ids and filters: no endpoint takes personal data in its URL.
    "audit.AccessRecord.path": NONE,
    "audit.AccessRecord.query": NONE,
    "audit.AccessRecord.status": NONE,
    "audit.AccessRecord.outcome": NONE,
    # Usually an agency's server; with a person's token, possibly a staff member's device.
    "audit.AccessRecord.ip": STAFF,
    "audit.AccessRecord.request_id": NONE,
    "audit.AccessRecord.referrals": NONE,
    # Person ids as references, which DESIGN has records hold instead of values.
    "audit.AccessRecord.persons": NONE,
    "audit.AccessRecord.disclosed": NONE,
    "audit.AccessRecord.withheld": NONE,
    "audit.AccessRecord.decisions": NONE,
    "audit.AccessRecord.tried": NONE,
    "audit.AccessRecord.channel": NONE,
    "audit.AccessRecord.burst": NONE,
    "audit.AccessIndexEntry.id": NONE,
    "audit.AccessIndexEntry.record": NONE,
    "audit.AccessIndexEntry.kind": NONE,
    # A referral id, person id, category name or agency id, copied from its record.
    "audit.AccessIndexEntry.value": NONE,
    "audit.AccessIndexEntry.at": NONE,
    "audit.FlagReview.id": NONE,
    "audit.FlagReview.record": NONE,
    "audit.FlagReview.at": NONE,
    "audit.FlagReview.agency": NONE,
    "audit.FlagReview.client": NONE,
    "audit.FlagReview.person": NONE,
    # A DPO's words on a flagged access: like the justification it reviews, anything.
    "audit.FlagReview.note": ANY_CASE_DATA,
    "audit.SealBatch.number": NONE,
    "audit.SealBatch.sealed_at": NONE,
    "audit.SealBatch.size": NONE,
    "audit.SealBatch.first_at": NONE,
    "audit.SealBatch.last_at": NONE,
    "audit.SealBatch.previous_hash": NONE,
    "audit.SealBatch.hash": NONE,
    "audit.SealedRecord.record": NONE,
    "audit.SealedRecord.batch": NONE,
    "audit.SealedRecord.position": NONE,
    "audit.RefusalBurst.id": NONE,
    "audit.RefusalBurst.key": NONE,
    "audit.RefusalBurst.agency": NONE,
    "audit.RefusalBurst.client": NONE,
    "audit.RefusalBurst.tried": NONE,
    "audit.RefusalBurst.ip": NONE,
    "audit.RefusalBurst.method": NONE,
    "audit.RefusalBurst.path": NONE,
    "audit.RefusalBurst.status": NONE,
    "audit.RefusalBurst.channel": NONE,
    "audit.RefusalBurst.count": NONE,
    "audit.RefusalBurst.first_at": NONE,
    "audit.RefusalBurst.last_at": NONE,
}


class Unclassified(LookupError):
    """A field that declares no category: it may not be read for anyone."""


def field_key(model_label: str, field: str) -> str:
    """The table's key: `app_label.ModelName.field_name`."""
    return f"{model_label}.{field}"


def classification_of(model_label: str, field: str) -> Classification:
    """A field's declaration, as written in the table."""
    key = field_key(model_label, field)
    try:
        return FIELD_CATEGORIES[key]
    except KeyError:
        raise Unclassified(
            f"{key} declares no data category: add it to sharing_policies/classification.py."
        ) from None


def categories_of(
    model_label: str, field: str, *, data_subject: str | None = None
) -> frozenset[Category]:
    """The categories a field may hold (none for `NONE` and `STAFF`).

    `data_subject` ("subject" for the man, "partner") narrows a record's field to the
    categories of the person whose record it is; `referral.admin` goes with the man's.
    An undeclared field is `Unclassified`: deny by default.
    """
    declared = classification_of(model_label, field)
    if declared in (NONE, STAFF):
        return frozenset()
    categories = frozenset(declared) if isinstance(declared, tuple) else frozenset({declared})
    if data_subject is None:
        return categories
    if data_subject == "partner":
        return categories & PARTNER_CATEGORIES
    if data_subject == "subject":
        return categories - PARTNER_CATEGORIES
    raise ValueError(f"Unknown data subject {data_subject!r}: use 'subject' or 'partner'.")


def label_of(model: "type[Model] | str") -> str:
    return model if isinstance(model, str) else model._meta.label


def personal_fields(
    model: "type[Model] | str", *, data_subject: str | None = None
) -> dict[str, frozenset[Category]]:
    """The fields of a model that hold data of some category, with their categories."""
    label = label_of(model)
    prefix = f"{label}."
    found = {}
    for key in FIELD_CATEGORIES:
        if not key.startswith(prefix):
            continue
        field = key.removeprefix(prefix)
        categories = categories_of(label, field, data_subject=data_subject)
        if categories:
            found[field] = categories
    return found


def fields_in(model: "type[Model] | str", category: Category | str) -> tuple[str, ...]:
    """The fields of a model that may hold `category` ("which fields of Referral hold X")."""
    return tuple(
        field
        for field, categories in personal_fields(model).items()
        if Category(category) in categories
    )


def staff_fields(model: "type[Model] | str") -> tuple[str, ...]:
    """The fields of a model that hold personal data of the hub's own staff."""
    prefix = f"{label_of(model)}."
    return tuple(
        key.removeprefix(prefix)
        for key, declared in FIELD_CATEGORIES.items()
        if key.startswith(prefix) and declared == STAFF
    )


def fields_to_declare(models: "Iterable[type[Model]] | None" = None) -> list[str]:
    """The keys every field of these models (by default, the project apps' models) needs:
    concrete fields, inherited ones included, and many-to-many fields."""
    if models is None:
        from django.apps import apps

        models = [m for label in PROJECT_APPS for m in apps.get_app_config(label).get_models()]
    return [
        field_key(model._meta.label, field.name)
        for model in models
        for field in (*model._meta.concrete_fields, *model._meta.many_to_many)
    ]
