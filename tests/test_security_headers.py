"""Security headers on every class of response (issue 12, item 5): a Content-Security-Policy on
every response, the strict one or, on the two docs pages, their own documented one (hub.docs);
no inline script anywhere unless bound to the response's nonce; `X-Forwarded-Proto` believed
only from a proxy (hub.proxies), so a client cannot pass plain http off as https."""

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from agencies.models import AgencyKind
from hub import docs
from hub.proxies import secure_proxy_ssl_header
from tests.conftest import referral_body

HEADER = "Content-Security-Policy"
NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=]+)'")
# Keywords, nonces, hashes and the two schemes the docs pages need: never a host, never `*`.
ALLOWED_SOURCE = re.compile(
    r"^('self'|'none'|'nonce-[A-Za-z0-9+/=]+'|'sha256-[A-Za-z0-9+/=]+'|data:|blob:)$"
)
STATIC_FILE = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"


def policy_of(response: Any) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as {directive: [source, ...]}."""
    assert HEADER in response.headers, "no Content-Security-Policy"
    policy = {}
    for part in response.headers[HEADER].split(";"):
        name, *sources = part.split()
        policy[name] = sources
    return policy


def strict_policy() -> dict[str, list[str]]:
    return {k: list(v) for k, v in django_settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].items()}


def widened(extra: dict[str, list[Any]], nonce: str | None) -> dict[str, list[str]]:
    """The strict policy with a docs page's additions, its nonce written out (or left out, as
    django-csp does where the response used none)."""
    policy = strict_policy()
    for directive, sources in extra.items():
        written = [
            f"'nonce-{nonce}'" if s is docs.NONCE else s
            for s in sources
            if s is not docs.NONCE or nonce
        ]
        policy[directive] = policy.get(directive, []) + written
    return policy


def nonce_of(response: Any) -> str:
    found = NONCE.search(response.headers[HEADER])
    assert found, "the page's policy carries no nonce"
    return found.group(1)


@pytest.fixture
def report_person(api_client_for: Callable[..., Any], world: dict[str, Any]) -> Any:
    referrer = api_client_for(world[AgencyKind.PROBATION])
    referral = referrer.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    ).json()
    return referral["subject"]["identity"]["id"]


def fetch(kind: str, client: Client, api_client_for: Callable[..., Any], world: Any) -> Any:
    """One response of each class the hub serves."""
    if kind == "api json":
        return api_client_for(world[AgencyKind.PROBATION]).get("/api/v1/programmes/")
    if kind == "api problem 401":
        return client.get("/api/v1/programmes/")
    if kind == "api problem 404":
        client = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER])
        return client.get(f"/api/v1/programmes/{uuid.uuid4()}/")
    paths = {
        "openapi schema": "/api/schema/",
        "swagger ui": "/api/docs/",
        "swagger ui init script": "/api/docs/?script=",
        "redoc": "/api/redoc/",
        "sign-in page": "/accounts/login/",
        "admin sign-in page": "/admin/login/",
        "page not found": "/nowhere/",
        "health probe": "/healthz",
        "static file": STATIC_FILE,
    }
    return drained(client.get(paths[kind]))


def drained(response: Any) -> Any:
    """The response, a streamed file (whitenoise) read and closed."""
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
        response.close()
    return response


STRICT_CLASSES = [
    "api json",
    "api problem 401",
    "api problem 404",
    "page not found",
    "openapi schema",
    "sign-in page",
    "admin sign-in page",
    "health probe",
    "static file",
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", STRICT_CLASSES)
def test_every_response_class_carries_the_strict_policy(kind, client, api_client_for, world):
    response = fetch(kind, client, api_client_for, world)

    assert response.status_code < 500, response.status_code
    assert policy_of(response) == strict_policy()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_strict_policy_allows_nothing_but_the_hub_itself():
    policy = strict_policy()

    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    for directive in ("script-src", "style-src", "img-src", "font-src", "connect-src"):
        assert policy[directive] == ["'self'"], directive


@pytest.mark.django_db
def test_the_subject_reports_download_carries_the_strict_policy(
    api_client_for, world, report_person
):
    operator = api_client_for(world[AgencyKind.HUB_OPERATOR])

    response = operator.get(
        f"/api/v1/audit/subjects/{report_person}/report/", HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    # A download, never shown by the browser under this header; and it holds no script.
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert policy_of(response) == strict_policy()
    assert "<script" not in response.content.decode()
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "extra"),
    [("/api/docs/", docs.SWAGGER_UI_POLICY), ("/api/redoc/", docs.REDOC_POLICY)],
)
def test_each_docs_page_carries_the_strict_policy_widened_only_by_its_own(client, path, extra):
    response = client.get(path)

    assert response.status_code == 200
    assert policy_of(response) == widened(extra, nonce_of(response))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_swagger_uis_init_script_carries_its_pages_policy_without_a_nonce(client):
    response = client.get("/api/docs/?script=")

    assert response.status_code == 200
    assert policy_of(response) == widened(docs.SWAGGER_UI_POLICY, None)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_each_docs_page_gets_a_fresh_nonce(client):
    assert nonce_of(client.get("/api/redoc/")) != nonce_of(client.get("/api/redoc/"))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [*STRICT_CLASSES, "swagger ui", "swagger ui init script", "redoc"])
def test_no_policy_allows_eval_inline_code_or_another_host(kind, client, api_client_for, world):
    response = fetch(kind, client, api_client_for, world)

    for directive, sources in policy_of(response).items():
        for source in sources:
            assert ALLOWED_SOURCE.match(source), (directive, source)


HTML_PAGES = ["/api/docs/", "/api/redoc/", "/accounts/login/", "/admin/login/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", HTML_PAGES)
def test_every_inline_script_or_style_is_bound_to_the_responses_nonce(client, path):
    response = client.get(path)
    html = response.content.decode()
    found = NONCE.search(response.headers[HEADER])
    nonce = found.group(1) if found else None

    for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        assert re.search(r'\bsrc="/', attributes), f"not from the hub: {attributes}"
        assert body.strip() == "", f"inline script: {body[:80]}"
    for attributes in re.findall(r"<style\b([^>]*)>", html):
        assert nonce is not None and f'nonce="{nonce}"' in attributes, attributes
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert not re.search(r'\sstyle="', html), "inline style attribute"


@pytest.mark.django_db
@pytest.mark.parametrize("path", HTML_PAGES)
def test_every_asset_of_an_html_page_comes_from_the_hub(client, path):
    html = client.get(path).content.decode()

    for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
        assert url == "" or url.startswith(("/", "#", "?")), url
        assert not url.startswith("//"), url


@pytest.mark.django_db
def test_redoc_starts_without_inline_script_and_knows_the_nonce(client):
    response = client.get("/api/redoc/")
    html = response.content.decode()

    starter = re.search(r'<script src="/static/hub/redoc-init.js"([^>]*)>', html)
    assert starter, "ReDoc's starter script is missing"
    assert 'data-spec-url="/api/schema/"' in starter.group(1)
    assert f'nonce="{nonce_of(response)}"' in starter.group(1)
    assert drained(client.get("/static/hub/redoc-init.js")).status_code == 200


def test_swagger_ui_loads_its_init_script_from_the_hub(client):
    html = client.get("/api/docs/").content.decode()

    assert '<script src="/api/docs/?script="></script>' in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content


def test_swagger_ui_page_lets_its_oauth2_popup_report_back(client):
    # As drf-spectacular's stock Swagger view does.
    assert client.get("/api/docs/").headers["Cross-Origin-Opener-Policy"] == "unsafe-none"


# --- X-Forwarded-Proto -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num_proxies", "expected"),
    [
        (0, None),
        (1, ("HTTP_X_FORWARDED_PROTO", "https")),
        (2, ("HTTP_X_FORWARDED_PROTO", "https")),
    ],
)
def test_forwarded_proto_is_believed_only_behind_a_proxy(num_proxies, expected):
    assert secure_proxy_ssl_header(num_proxies) == expected


def test_without_proxies_the_settings_do_not_believe_forwarded_proto(settings):
    assert settings.NUM_PROXIES == 0
    assert settings.SECURE_PROXY_SSL_HEADER is None


def test_a_forged_forwarded_proto_does_not_pass_plain_http_for_https(settings, client):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/api/schema/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 301
    assert response.headers["Location"] == "https://testserver/api/schema/"
    assert "Strict-Transport-Security" not in response.headers


def test_a_forged_forwarded_proto_earns_no_hsts(client):
    response = client.get("/api/schema/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


def test_behind_a_proxy_its_forwarded_proto_is_believed(settings, client):
    settings.SECURE_PROXY_SSL_HEADER = secure_proxy_ssl_header(1)
    settings.SECURE_SSL_REDIRECT = True

    forwarded = client.get("/api/schema/", HTTP_X_FORWARDED_PROTO="https")
    plain = client.get("/api/schema/")

    assert forwarded.status_code == 200
    assert forwarded.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert plain.status_code == 301
