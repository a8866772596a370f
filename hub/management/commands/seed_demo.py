"""A small, realistic, entirely fictional world to try the hub with."""

import json
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from agencies.actors import Actor
from agencies.models import Agency, AgencyKind, Client, StaffMembership, StaffRole, User
from agencies.registration import registration_for
from agencies.services import client_create, client_rotate_secret
from consent.serializers import ConsentCreateSerializer
from consent.services import consent_record
from referrals.models import Programme, Referral
from referrals.serializers import ReferralCreateSerializer
from referrals.services import referral_create
from sharing_policies.models import AgreementVersion
from sharing_policies.serializers import AgreementCreateSerializer
from sharing_policies.services import agreement_create

DEMO_CLIENT_NAME = "Demo client"

# (name, kind, scopes, default purpose, the other purposes its client may declare)
AGENCIES = [
    (
        "Northshire Magistrates' Court",
        AgencyKind.COURT,
        "referrals:read referrals:write",
        "court_compliance",
        "",
    ),
    (
        "Northshire Probation Service",
        AgencyKind.PROBATION,
        "referrals:read referrals:write consent:read consent:write policies:read policies:write",
        "risk_management",
        "court_compliance marac",
    ),
    (
        "Northshire Police",
        AgencyKind.POLICE,
        "referrals:read referrals:write policies:read",
        "risk_management",
        "marac",
    ),
    (
        "Northshire Women's Aid",
        AgencyKind.VICTIM_SERVICE,
        "referrals:read referrals:write consent:read consent:write policies:read policies:write",
        "partner_safety",
        "marac",
    ),
    (
        "Turning Point Programmes",
        AgencyKind.PROGRAMME_PROVIDER,
        "referrals:read referrals:write policies:read policies:write",
        "programme_delivery",
        "",
    ),
    (
        "Safer Families Project",
        AgencyKind.PROGRAMME_PROVIDER,
        "referrals:read referrals:write policies:read policies:write",
        "programme_delivery",
        "",
    ),
    (
        "Northshire Children's Services",
        AgencyKind.CHILDREN_SERVICES,
        "referrals:read referrals:write",
        "risk_management",
        "marac",
    ),
    (
        "Referral Hub Operator",
        AgencyKind.HUB_OPERATOR,
        "audit:read policies:read policies:write",
        "audit",
        "",
    ),
]

# One person per agency who can sign in to the web pages: (agency, user name, role).
PEOPLE = [
    ("Northshire Magistrates' Court", "court.officer", StaffRole.PRACTITIONER),
    ("Northshire Probation Service", "probation.officer", StaffRole.PRACTITIONER),
    ("Northshire Police", "police.officer", StaffRole.PRACTITIONER),
    ("Northshire Women's Aid", "womens-aid.worker", StaffRole.PRACTITIONER),
    ("Turning Point Programmes", "turning-point.worker", StaffRole.PRACTITIONER),
    ("Safer Families Project", "safer-families.worker", StaffRole.PRACTITIONER),
    ("Northshire Children's Services", "childrens.officer", StaffRole.PRACTITIONER),
    ("Referral Hub Operator", "hub.dpo", StaffRole.DATA_PROTECTION_OFFICER),
]

# (provider, name, approach, modality, capacity)
PROGRAMMES = [
    ("Turning Point Programmes", "Building Better Relationships", "criminological", "group", 12),
    ("Turning Point Programmes", "One-to-one Change Work", "psychotherapeutic", "individual", 20),
    ("Safer Families Project", "Caring Dads", "family", "group", 10),
    # Listed to show that the hub refuses referrals to couple work.
    (
        "Safer Families Project",
        "Relationship Counselling for Couples",
        "psychotherapeutic",
        "couples",
        8,
    ),
]

PROBATION = "Northshire Probation Service"
POLICE = "Northshire Police"
COURT = "Northshire Magistrates' Court"
WOMENS_AID = "Northshire Women's Aid"
TURNING_POINT = "Turning Point Programmes"
SAFER_FAMILIES = "Safer Families Project"
CHILDRENS = "Northshire Children's Services"

# (name, provider, recipient agency or None, recipient kind or None, purposes, grants)
AGREEMENTS = [
    (
        "Probation to programme provider: programme delivery",
        PROBATION,
        TURNING_POINT,
        None,
        ["programme_delivery"],
        [
            ("subject.identity", "public_task"),
            ("offence", "public_task"),
            ("risk", "public_task"),
            # Only while the man consents (see his consent below).
            ("subject.contact", "consent"),
        ],
    ),
    (
        "Police to programme provider: programme delivery",
        POLICE,
        SAFER_FAMILIES,
        None,
        ["programme_delivery"],
        [("subject.identity", "public_task"), ("risk", "public_task")],
    ),
    (
        "Court to programme provider: court-ordered programmes",
        COURT,
        TURNING_POINT,
        None,
        ["programme_delivery"],
        [("subject.identity", "legal_obligation"), ("offence", "legal_obligation")],
    ),
    (
        "Probation to the partner's support service: partner safety",
        PROBATION,
        WOMENS_AID,
        None,
        ["partner_safety"],
        [
            ("partner.identity", "public_task"),
            ("partner.contact", "consent"),
            ("risk", "legitimate_interests"),
            ("children", "public_task"),
        ],
    ),
    (
        "Programme provider to the partner's support service: partner safety",
        TURNING_POINT,
        WOMENS_AID,
        None,
        ["partner_safety"],
        [("programme.progress", "legitimate_interests")],
    ),
    (
        "Programme provider to courts: compliance with programme requirements",
        TURNING_POINT,
        None,
        "court",
        ["court_compliance"],
        [("programme.progress", "legal_obligation")],
    ),
    (
        "Probation to courts: compliance",
        PROBATION,
        None,
        "court",
        ["court_compliance"],
        [("subject.identity", "legal_obligation"), ("offence", "legal_obligation")],
    ),
    (
        "Police to children's services: risk sharing for MARAC",
        POLICE,
        CHILDRENS,
        None,
        ["marac", "risk_management"],
        [("subject.identity", "public_task"), ("risk", "public_task"), ("children", "public_task")],
    ),
]


class Command(BaseCommand):
    help = (
        "Creates demo agencies, clients, people, programmes and referrals (idempotent). Each "
        "run gives the demo clients fresh secrets and the demo people fresh passwords, and "
        "prints one JSON object per client and one per person."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even though DEBUG is off.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo refuses to run with DEBUG off; add --force if you mean it."
            )
        with transaction.atomic():
            lines = [self.seed_agency(*spec) for spec in AGENCIES]
            lines += [self.seed_person(*spec) for spec in PEOPLE]
            self.seed_programmes()
            self.seed_agreements()
            self.seed_referrals()
        for line in lines:
            self.stdout.write(json.dumps(line))

    def seed_agency(
        self, name: str, kind: str, scopes: str, purpose: str, purposes: str
    ) -> dict[str, str]:
        agency, _ = Agency.objects.get_or_create(name=name, defaults={"kind": kind})
        client = Client.objects.filter(agency=agency, name=DEMO_CLIENT_NAME).first()
        if client is None:
            issued = client_create(
                agency_id=agency.id,
                scopes=scopes.split(),
                purpose=purpose,
                purposes=purposes.split(),
                name=DEMO_CLIENT_NAME,
            )
            client, secret = issued.client, issued.client_secret
        else:
            registration = registration_for(
                kind=kind, scopes=scopes.split(), purposes=purposes.split(), default_purpose=purpose
            )
            client.scopes = " ".join(registration.scopes)
            client.purposes = " ".join(registration.purposes)
            client.default_purpose = registration.default_purpose
            secret = client_rotate_secret(client=client)
        return {
            "agency": agency.name,
            "kind": agency.kind,
            "client_id": client.client_id,
            "client_secret": secret,
            "scopes": client.scopes,
            "purpose": client.default_purpose,
            "purposes": client.purposes,
        }

    def seed_person(self, agency_name: str, username: str, role: str) -> dict[str, str]:
        """A demo person with a fresh password each run (never a staff member of the admin)."""
        agency = Agency.objects.get(name=agency_name)
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(username=username).first() or User(username=username)
        user.is_active, user.is_staff = True, False
        user.set_password(password)
        user.save()
        StaffMembership.objects.update_or_create(
            user=user, defaults={"agency": agency, "role": role}
        )
        return {
            "agency": agency.name,
            "kind": agency.kind,
            "username": username,
            "password": password,
            "role": role,
        }

    def seed_programmes(self) -> None:
        for provider, name, approach, modality, capacity in PROGRAMMES:
            Programme.objects.get_or_create(
                provider=Agency.objects.get(name=provider),
                name=name,
                defaults={"approach": approach, "modality": modality, "capacity": capacity},
            )

    def seed_agreements(self) -> None:
        agency = {a.name: a for a in Agency.objects.all()}
        start = timezone.localdate().replace(month=1, day=1)
        for name, provider, recipient, recipient_kind, purposes, grants in AGREEMENTS:
            if AgreementVersion.objects.filter(name=name).exists():
                continue
            serializer = AgreementCreateSerializer(
                data={
                    "name": name,
                    "provider": str(agency[provider].id),
                    "recipient": str(agency[recipient].id) if recipient else None,
                    "recipient_kind": recipient_kind,
                    "purposes": purposes,
                    "grants": [{"category": c, "lawful_basis": b} for c, b in grants],
                    "valid_from": start.isoformat(),
                    "valid_to": start.replace(year=start.year + 3).isoformat(),
                    "review_date": start.replace(year=start.year + 1).isoformat(),
                    "status": "active",
                }
            )
            serializer.is_valid(raise_exception=True)
            agreement_create(actor=self.actor(provider), data=serializer.validated_data)

    def consent(self, *, actor: Actor, referral: Referral, data: dict[str, Any]) -> None:
        serializer = ConsentCreateSerializer(data={"referral": str(referral.id), **data})
        serializer.is_valid(raise_exception=True)
        consent_record(actor=actor, referral=referral, data=serializer.validated_data)

    def seed_referrals(self) -> None:
        if Referral.objects.filter(created_by_client__in=self.demo_client_ids()).exists():
            return
        agency = {a.name: a for a in Agency.objects.all()}
        programme = {p.name: p for p in Programme.objects.all()}
        probation = self.actor(PROBATION)
        first = self.refer(
            actor=probation,
            data={
                "programme": programme["Building Better Relationships"].id,
                "subject": {
                    "identity": {
                        "given_name": "Daniel",
                        "family_name": "Example",
                        "date_of_birth": "1986-03-14",
                        "identifiers": [{"system": "demo.probation.case", "value": "NPS-0001"}],
                        "aliases": ["Danny Example"],
                    },
                    "contact": {"address": "1 Demo Street, Northshire", "phone": "01632 960001"},
                },
                "offence": {
                    "summary": "Assault by beating of a partner; first conviction.",
                    "court_order": {
                        "court": "Northshire Magistrates' Court",
                        "made_on": "2026-09-01",
                        "requirements": ["Accredited programme requirement, 26 sessions"],
                    },
                },
                "risk": {
                    "level": "high",
                    "tool": "oasys_rosh",
                    "summary": "Escalating control.",
                    "marac": True,
                },
                "partner": {
                    "identity": {
                        "name": "Sarah Sample",
                        "relationship": {"status": "former", "separated_on": "2026-05-20"},
                    },
                    "contact": {
                        "address": "Withheld refuge address",
                        "phone": "01632 960002",
                        "safe_contact": "Weekday mornings only; do not leave messages.",
                    },
                    "disclosures": [{"summary": "Told the officer the threats began last year."}],
                },
                "partner_service": agency["Northshire Women's Aid"].id,
                "observers": [agency["Northshire Magistrates' Court"].id],
                "children": [
                    {
                        "name": "Lily Sample",
                        "date_of_birth": "2022-04-09",
                        "notes": "Attends nursery; known to children's services.",
                    }
                ],
            },
        )
        # She lets her support service have her contact details; he refuses courts his risk.
        self.consent(
            actor=probation,
            referral=first,
            data={
                "data_subject": "partner",
                "provisions": [
                    {
                        "type": "permit",
                        "categories": ["partner.contact"],
                        "recipient_kinds": ["victim_service"],
                        "purposes": ["partner_safety"],
                    }
                ],
                "valid_from": timezone.localdate().isoformat(),
                "evidence": {"method": "verbal_recorded", "reference": "Call log 2026-0142"},
            },
        )
        self.consent(
            actor=probation,
            referral=first,
            data={
                "data_subject": "subject",
                "provisions": [
                    {"type": "deny", "categories": ["risk"], "recipient_kinds": ["court"]}
                ],
                "valid_from": timezone.localdate().isoformat(),
                "evidence": {"method": "signed_form", "reference": "NPS-0001/C1"},
            },
        )
        # He lets the programme reach him directly (withdrawn, the provider stops seeing it).
        self.consent(
            actor=probation,
            referral=first,
            data={
                "data_subject": "subject",
                "provisions": [
                    {
                        "type": "permit",
                        "categories": ["subject.contact"],
                        "recipient_kinds": ["programme_provider"],
                        "purposes": ["programme_delivery"],
                    }
                ],
                "valid_from": timezone.localdate().isoformat(),
                "evidence": {"method": "signed_form", "reference": "NPS-0001/C2"},
            },
        )
        self.refer(
            actor=self.actor(POLICE),
            data={
                "programme": programme["Caring Dads"].id,
                "subject": {
                    "identity": {
                        "given_name": "Mark",
                        "family_name": "Placeholder",
                        "date_of_birth": "1979-11-02",
                        "identifiers": [{"system": "demo.police.pnc", "value": "79/000001X"}],
                    }
                },
                "risk": {"level": "medium", "tool": "dash", "summary": "Verbal abuse, no weapons."},
                "observers": [agency["Northshire Children's Services"].id],
            },
        )
        self.refer(
            actor=self.actor("Northshire Magistrates' Court"),
            data={
                "programme": programme["One-to-one Change Work"].id,
                "subject": {
                    "identity": {
                        "given_name": "Paul",
                        "family_name": "Specimen",
                        "date_of_birth": "1991-06-30",
                    }
                },
                "offence": {"summary": "Breach of a non-molestation order."},
            },
        )

    def refer(self, *, actor: Actor, data: dict[str, Any]) -> Referral:
        serializer = ReferralCreateSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        return referral_create(actor=actor, data=serializer.validated_data)

    def demo_client_ids(self) -> list[str]:
        return list(
            Client.objects.filter(name=DEMO_CLIENT_NAME).values_list("client_id", flat=True)
        )

    def actor(self, agency_name: str) -> Actor:
        client = Client.objects.select_related("agency").get(
            agency__name=agency_name, name=DEMO_CLIENT_NAME
        )
        return Actor(
            agency=client.agency, client=client, person=None, scopes=frozenset(client.scope_list)
        )
