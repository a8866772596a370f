"""Agencies, their staff, and the OAuth2 clients through which their systems call the hub."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from oauth2_provider.models import AbstractApplication

from core.vocabulary import Purpose


class AgencyKind(models.TextChoices):
    COURT = "court"
    PROBATION = "probation"
    POLICE = "police"
    VICTIM_SERVICE = "victim_service"
    PROGRAMME_PROVIDER = "programme_provider"
    CHILDREN_SERVICES = "children_services"
    MARAC = "marac"
    HUB_OPERATOR = "hub_operator"


# Kinds that may refer a man into a programme (DESIGN.md, *Agencies and authentication*).
REFERRER_KINDS: frozenset[str] = frozenset(
    {
        AgencyKind.COURT,
        AgencyKind.PROBATION,
        AgencyKind.POLICE,
        AgencyKind.CHILDREN_SERVICES,
        AgencyKind.MARAC,
    }
)


class Agency(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=AgencyKind.choices)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class User(AbstractUser):
    """A person who signs in (staff of an agency, or the hub operator's administrators)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)


class StaffRole(models.TextChoices):
    PRACTITIONER = "practitioner"
    MANAGER = "manager"
    DATA_PROTECTION_OFFICER = "dpo"
    ADMINISTRATOR = "administrator"


class StaffMembership(models.Model):
    """A person belongs to exactly one agency, in one role."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="staff")
    role = models.CharField(max_length=32, choices=StaffRole.choices)
    # The last position of the agency's change feed this person has seen on the web pages
    # (*What's changed*); the header counts the events after it.
    changes_seen = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user} at {self.agency.name} ({self.role})"


class Client(AbstractApplication):
    """An OAuth2 client: it always acts for its one agency, within its registered scopes."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="clients")
    scopes = models.TextField(help_text="Space-separated scopes this client is registered with.")
    default_purpose = models.CharField(
        max_length=32, choices=[(p.value, p.value) for p in Purpose], blank=True
    )
    purposes = models.TextField(
        blank=True,
        help_text="Space-separated purposes this client may declare in X-Purpose "
        "(its default purpose among them).",
    )
    active = models.BooleanField(
        default=True, help_text="An inactive client gets no token; its tokens are revoked."
    )

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def purpose_list(self) -> list[str]:
        return self.purposes.split()

    def is_usable(self, request: object) -> bool:
        # An inactive client, or a client of an inactive agency, gets no token.
        return self.active and self.agency.active and super().is_usable(request)


class CodeExchange(models.Model):
    """What the exchange of one authorization code issued, so that a replay of the code can
    revoke it (RFC 6749 section 4.1.2; agencies.revocation).

    Only a SHA-256 digest of the code is kept, never the code. An entry is forgotten once
    nothing it points at can still be used (agencies.revocation.forget_spent_code_exchanges).
    """

    code_digest = models.CharField(max_length=64, db_index=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    # The first access token's id (DOT's AccessToken), or None. Not a foreign key: Django's
    # migration autodetector cannot resolve DOT's swappable token model, whose setting
    # OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL the hub does not define. Ids are never reused.
    access_token_id = models.BigIntegerField(null=True, blank=True)
    # The refresh-token family the exchange started: every rotation stays in it.
    token_family = models.UUIDField(null=True, blank=True)
    exchanged_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Code exchange #{self.pk} ({self.exchanged_at:%Y-%m-%d %H:%M})"
