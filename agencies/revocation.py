"""Tokens outlive none of their reasons: revoking what a person, a client, an agency or an
authorization code was given.

A token acts for its client's agency, and for a person only while that person is active staff
of that agency (agencies.authentication). When a reason goes, its tokens go at once, and not
only at the next API call: a refresh token would otherwise keep minting access tokens.

- A person deactivated, or leaving (or moving from) their agency: their tokens are revoked.
- A client deactivated, or moved to another agency: its tokens are revoked.
- An agency deactivated: the tokens of all its clients are revoked.
- An authorization code used twice: the second use is refused and what the first use issued is
  revoked (RFC 6749 section 4.1.2: "If an authorization code is used more than once, the
  authorization server MUST deny the request and SHOULD revoke (when possible) all tokens
  previously issued based on that authorization code").

Revoking is what DOT's own RefreshToken.revoke() and RefreshToken.revoke_family() do, set-based:
refresh tokens are marked revoked (kept, so that a replay is recognised and answered
invalid_grant), access tokens are deleted. Outstanding authorization codes are deleted too.
Each function runs in one transaction, nested in the caller's if there is one (the admin saves
inside one, so a deactivation and its revocation commit together).
"""

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)

from agencies.models import CodeExchange


def revoke_person_tokens(user_id: Any) -> None:
    """Every token and outstanding code of this person, whichever client they came through."""
    _revoke(Q(user_id=user_id))


def revoke_client_tokens(client_id: Any) -> None:
    """Every token of this client (`Client.pk`): its own (client credentials) and people's."""
    _revoke(Q(application_id=client_id))


def revoke_agency_tokens(agency_id: Any) -> None:
    """Every token of every client of this agency."""
    _revoke(Q(application__agency_id=agency_id))


def _revoke(which: Q) -> None:
    access_tokens = get_access_token_model().objects.filter(which)
    refresh_tokens = get_refresh_token_model().objects.filter(which)
    with transaction.atomic():
        _revoke_refresh_tokens(refresh_tokens)
        access_tokens.delete()
        get_grant_model().objects.filter(which).delete()


def _revoke_refresh_tokens(refresh_tokens: QuerySet) -> None:
    """Marks the live ones revoked and deletes their access tokens, as RefreshToken.revoke() does
    for one token and RefreshToken.revoke_family() for a family."""
    live = refresh_tokens.filter(revoked__isnull=True)
    access_token_ids = list(
        live.exclude(access_token=None).values_list("access_token_id", flat=True)
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            # `updated` is auto_now, which a queryset update does not set.
            live.update(revoked=now, updated=now)
    except IntegrityError:
        # (token_checksum, revoked) is unique: two live rows with one checksum cannot share a
        # timestamp (DOT #1816). Fall back to DOT's row-by-row revocation, as revoke_family does.
        for token in live:
            token.revoke()
    get_access_token_model().objects.filter(pk__in=access_token_ids).delete()


# --- authorization codes (RFC 6749 section 4.1.2) ------------------------------------------------


def code_digest(code: str) -> str:
    """SHA-256 of the code: codes are long and random, so a plain digest cannot be reversed,
    as DOT's own token checksums."""
    return hashlib.sha256(code.encode()).hexdigest()


def remember_code_exchange(*, code: str, client: Any, access_token_checksum: str) -> None:
    """Records what the exchange of `code` issued: the access token, and the refresh-token
    family it starts (rotation keeps every successor in that family).

    Also forgets the exchanges whose tokens can no longer be used, which keeps the table to at
    most one row per code whose tokens are still alive.
    """
    access_token = (
        get_access_token_model()
        .objects.filter(token_checksum=access_token_checksum)
        .values("pk")
        .first()
    )
    if access_token is None:
        return
    token_family = (
        get_refresh_token_model()
        .objects.filter(access_token_id=access_token["pk"])
        .values_list("token_family", flat=True)
        .first()
    )
    CodeExchange.objects.create(
        code_digest=code_digest(code),
        client=client,
        access_token_id=access_token["pk"],
        token_family=token_family,
    )
    forget_spent_code_exchanges()


def revoke_code_tokens(*, code: str, client: Any) -> bool:
    """Revokes what earlier exchanges of `code` by this client issued, successors included;
    True if there was any. The memory of those exchanges goes with them."""
    exchanges = CodeExchange.objects.filter(code_digest=code_digest(code), client=client)
    found = list(exchanges.values_list("pk", "access_token_id", "token_family"))
    if not found:
        return False
    with transaction.atomic():
        families = {family for _, _, family in found if family is not None}
        first_access_tokens = {token for _, token, _ in found if token is not None}
        refresh_tokens = get_refresh_token_model().objects.filter(token_family__in=families)
        _revoke_refresh_tokens(refresh_tokens)
        # The first access token, and any the family's refresh tokens minted that survived.
        get_access_token_model().objects.filter(
            Q(pk__in=first_access_tokens) | Q(source_refresh_token__token_family__in=families)
        ).delete()
        CodeExchange.objects.filter(pk__in=[pk for pk, _, _ in found]).delete()
    return True


def forget_spent_code_exchanges() -> int:
    """Deletes the remembered exchanges whose tokens can no longer be used; their number.

    Spent: the first access token is gone or expired, and no refresh token of the family is
    still live (unrevoked, with an access token whose expiry plus REFRESH_TOKEN_EXPIRE_SECONDS
    is still ahead, which is DOT's own validity rule in validate_refresh_token). So an entry
    lives at most REFRESH_TOKEN_EXPIRE_SECONDS after its family was last refreshed, whether or
    not `cleartokens` runs. Called at each code exchange; safe to call from a schedule.
    """
    now = timezone.now()
    live_refresh = get_refresh_token_model().objects.filter(
        token_family=OuterRef("token_family"),
        revoked__isnull=True,
        access_token__isnull=False,
    )
    lifetime = refresh_token_expire_timedelta()
    if lifetime is not None:
        live_refresh = live_refresh.filter(access_token__expires__gt=now - lifetime)
    live_access = get_access_token_model().objects.filter(
        pk=OuterRef("access_token_id"), expires__gt=now
    )
    deleted, _ = (
        CodeExchange.objects.exclude(Exists(live_access)).exclude(Exists(live_refresh)).delete()
    )
    return deleted
