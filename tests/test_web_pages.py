"""The foundations of the web pages for people (issue 14, items 1 and 2), without a browser: the
root URL, the signed-in home page, the accessibility statement, the strict Content-Security-
Policy on each of them, and the committed assets they use (built by `make assets`; no GOV.UK
branding). tests/browser/ drives the same pages in Chromium."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from agencies.models import Agency, AgencyKind, StaffMembership, StaffRole, User

STATIC = Path(__file__).resolve().parents[1] / "hub" / "static" / "hub"


@pytest.fixture
def officer(db):
    agency = Agency.objects.create(name="Northshire Probation", kind=AgencyKind.PROBATION)
    user = User.objects.create_user(username="jo.bloggs", first_name="Jo", last_name="Bloggs")
    StaffMembership.objects.create(user=user, agency=agency, role=StaffRole.PRACTITIONER)
    return user


def test_the_root_sends_someone_signed_out_to_the_sign_in_page(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/"


@pytest.mark.django_db
def test_the_root_sends_someone_signed_in_to_their_agencys_referrals(client, officer):
    client.force_login(officer)

    response = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/referrals/"


def test_the_home_page_asks_someone_signed_out_to_sign_in(client):
    response = client.get("/home/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=/home/"


@pytest.mark.django_db
def test_the_home_page_names_the_person_their_agency_and_role(client, officer):
    client.force_login(officer)

    html = client.get("/home/").content.decode()

    assert "You are signed in as Jo Bloggs of Northshire Probation." in html
    assert "Practitioner" in html
    assert 'action="/accounts/logout/"' in html


@pytest.mark.django_db
def test_the_home_page_tells_someone_without_an_agency_that_they_see_nothing(client):
    client.force_login(User.objects.create_user(username="no.agency"))

    html = client.get("/home/").content.decode()

    assert "You are signed in as no.agency, who is not a member of any agency." in html


@pytest.mark.django_db
def test_signing_out_is_a_post_that_returns_to_the_sign_in_page(client, officer):
    client.force_login(officer)

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/"
    assert client.get("/home/").status_code == 302


def test_the_accessibility_statement_states_the_target_and_how_to_report_a_problem(client):
    response = client.get("/accessibility/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "<title>Accessibility statement \u2013 Referral hub</title>" in html
    assert "WCAG) version 2.2 to level AA" in html
    assert "Reporting accessibility problems" in html
    assert "Equality Advisory and Support Service (EASS)" in html


PAGES = ["/accounts/login/", "/accessibility/", "/home/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_strict_policy_and_no_inline_code(client, officer, path):
    client.force_login(officer)

    response = client.get(path)
    html = response.content.decode()

    assert response.status_code == 200
    policy = {
        name: sources
        for name, *sources in (
            part.split() for part in response.headers["Content-Security-Policy"].split(";")
        )
    }
    assert policy == {
        name: list(sources)
        for name, sources in django_settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].items()
    }
    for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        assert re.search(r'\bsrc="/static/hub/', attributes), attributes
        assert body.strip() == ""
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)
    for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
        assert url.startswith(("/", "#")) and not url.startswith("//"), url


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_layout_with_lang_skip_link_and_accessibility_link(
    client, officer, path
):
    client.force_login(officer)

    html = client.get(path).content.decode()

    assert '<html lang="en-gb"' in html
    assert html.index('src="/static/hub/supported.js"') < html.index('class="govuk-skip-link"')
    assert '<script type="module" src="/static/hub/init.js"></script>' in html
    assert 'href="/accessibility/"' in html


def test_the_sign_in_fields_say_what_the_browser_may_fill_in(client):
    html = client.get("/accounts/login/").content.decode()

    assert re.search(r'<input[^>]*name="username"[^>]*autocomplete="username"', html)
    assert re.search(r'<input[^>]*name="password"[^>]*autocomplete="current-password"', html)
    assert "autofocus" not in html


@pytest.mark.parametrize(
    "path",
    [
        "hub/dist/hub.css",
        "hub/dist/govuk-frontend.min.js",
        "hub/init.js",
        "hub/supported.js",
        "hub/images/favicon.svg",
        "hub/images/mark.svg",
    ],
)
@pytest.mark.django_db
def test_the_pages_assets_are_committed_and_served_without_node(client, path):
    response = client.get(f"/static/{path}")
    b"".join(response.streaming_content)
    response.close()

    assert response.status_code == 200


def test_the_stylesheet_carries_no_gov_uk_branding():
    css = (STATIC / "dist" / "hub.css").read_text()

    assert "GDS Transport" not in css
    assert "crest" not in css
    assert "@font-face" not in css
    # Every image it refers to is committed beside it.
    for url in re.findall(r"url\(([^)]*)\)", css):
        assert (STATIC / "dist" / url.strip("\"'")).is_file(), url


def test_every_url_name_is_given_once():
    """A page and an API endpoint of one name would send the page's links to the API."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def names(patterns, namespace=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from names(entry.url_patterns, inner)
            elif isinstance(entry, URLPattern) and entry.name:
                yield namespace + entry.name

    given = list(names(get_resolver().url_patterns))
    assert sorted(n for n in set(given) if given.count(n) > 1) == []


@pytest.mark.django_db
def test_staying_signed_in_without_script_goes_back_to_the_page_and_never_elsewhere(
    client, officer
):
    client.force_login(officer)

    back = client.post("/session/extend/", {"next": "/referrals/?tab=all"})
    away = client.post("/session/extend/", {"next": "https://elsewhere.example/"})
    scripted = client.post("/session/extend/", headers={"X-Requested-With": "fetch"})

    assert back.status_code == 302 and back.headers["Location"] == "/referrals/?tab=all"
    assert away.headers["Location"] == "/"
    assert scripted.status_code == 204


@pytest.mark.django_db
def test_a_session_lasts_the_idle_time_and_every_request_renews_it(client, officer, settings):
    client.force_login(officer)

    client.get("/home/")

    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_SAVE_EVERY_REQUEST
