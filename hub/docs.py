"""The API docs pages (Swagger UI, ReDoc) and the Content-Security-Policy each one needs.

django-csp's middleware sends the strict `CONTENT_SECURITY_POLICY` (hub.settings) on every
response. Only these two pages widen it, each for its own view and no further than it needs:
never `'unsafe-inline'` or `'unsafe-eval'`, never another host. Their scripts, stylesheets and
favicon come from the hub itself (drf-spectacular-sidecar); they have no inline script, and
their <style> elements carry the request's nonce (two of ReDoc's are allowed by hash).
"""

from csp.constants import NONCE
from csp.decorators import csp_update
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# Swagger UI, served split (its init script is a file, `?script`, so no inline script): the
# page's inline <style> by nonce, and the `data:` images swagger-ui.css draws its icons with.
SWAGGER_UI_POLICY = {"style-src": [NONCE], "img-src": ["data:"]}

# ReDoc: the <style> elements it creates carry the nonce it is given (hub/static/hub/
# redoc-init.js), its search index runs in a worker made from a `blob:` URL, and it draws a few
# images from `data:` URLs. Two <style> elements are inserted by its bundle before it knows the
# nonce: perfect-scrollbar's stylesheet and an empty one, allowed by their hashes (of
# drf-spectacular-sidecar's redoc.standalone.js; after an upgrade the browser's console names
# the new hash, and until then only the sidebar's scrollbar styling is lost). ReDoc's footer
# logo comes from cdn.redoc.ly and stays blocked.
REDOC_STYLE_HASHES = [
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # empty
]
REDOC_POLICY = {
    "style-src": [NONCE, *REDOC_STYLE_HASHES],
    "img-src": ["data:"],
    "worker-src": ["blob:"],
}


class SwaggerUIView(SpectacularSwaggerSplitView):
    """Swagger UI with its init script served as a file (the page needs no inline script)."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if request.GET.get("script") is None:
            # As drf-spectacular's one-page view does: the OAuth2 sign-in popup reports back
            # to its opener.
            response["Cross-Origin-Opener-Policy"] = "unsafe-none"
        return response


swagger_ui = csp_update(SWAGGER_UI_POLICY)(SwaggerUIView.as_view(url_name="schema"))
redoc = csp_update(REDOC_POLICY)(SpectacularRedocView.as_view(url_name="schema"))
