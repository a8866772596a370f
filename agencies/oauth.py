"""The hub's OAuth2 validator: tokens for people only when they are staff of the client's agency,
and what an authorization code issued is revoked when the code is used again."""

import hashlib
from typing import Any

from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from agencies import revocation
from agencies.authentication import is_staff_of


class HubOAuth2Validator(OAuth2Validator):
    def _load_access_token(self, token: str) -> AccessToken | None:
        # DOT's lookup (by the token's SHA-256), with what every authenticated request reads
        # next: the client's agency (AgencyTokenAuthentication) and a person's membership
        # (is_staff_of). One query instead of three; a deactivation still shows at once.
        return (
            AccessToken.objects.select_related(
                "application", "application__agency", "user", "user__membership"
            )
            .filter(token_checksum=hashlib.sha256(token.encode("utf-8")).hexdigest())
            .first()
        )

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            # DOT deletes a code at its first exchange, so a code it no longer knows may be a
            # replay: RFC 6749 section 4.1.2 says deny it (invalid_grant, as DOT does) and
            # revoke what its first exchange issued. Committed although the answer is a 400.
            revocation.revoke_code_tokens(code=code, client=client)
            return False
        # A person's token acts for the client's agency, so the person must be staff there.
        return is_staff_of(request.user, client.agency_id)

    def _save_bearer_token(self, token: dict, request: Any, *args: Any, **kwargs: Any) -> None:
        # Runs inside DOT's transaction for the new tokens (save_bearer_token).
        super()._save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code":
            revocation.remember_code_exchange(
                code=request.code,
                client=request.client,
                access_token_checksum=hashlib.sha256(token["access_token"].encode()).hexdigest(),
            )

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        try:
            super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        except errors.InvalidGrantError:
            # Two exchanges of one code raced past validate_code; the other consumed it first.
            # Both issued tokens and both are remembered: revoke them all.
            revocation.revoke_code_tokens(code=code, client=request.client)
            raise

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        # Revocation on deactivation (agencies.signals) removes such tokens; this also holds
        # when a person was deactivated without a save (a queryset update sends no signal).
        return is_staff_of(request.user, client.agency_id)
