"""The hub's OAuth2 validator: tokens for people only when they are staff of the client's agency."""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from agencies.authentication import is_staff_of


class HubOAuth2Validator(OAuth2Validator):
    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        # A person's token acts for the client's agency, so the person must be staff there.
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        return is_staff_of(request.user, client.agency_id)
