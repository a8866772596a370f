"""Token introspection for the hub operator only.

DOT lets any confidential client introspect any token; here only a client of the hub
operator, authenticated with its own credentials, may ask.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as oauth_views
from oauthlib.common import Request as OauthlibRequest

from agencies.models import AgencyKind


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectTokenView(oauth_views.IntrospectTokenView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, http_method, body, headers)
        if not core.server.request_validator.authenticate_client(oauth_request):
            response = JsonResponse({"error": "invalid_client"}, status=401)
            response["WWW-Authenticate"] = 'Basic realm="referral-hub"'
            return response
        if oauth_request.client.agency.kind != AgencyKind.HUB_OPERATOR:
            return JsonResponse(
                {
                    "error": "unauthorized_client",
                    "error_description": "Only the hub operator may introspect tokens.",
                },
                status=403,
            )
        return View.dispatch(self, request, *args, **kwargs)
