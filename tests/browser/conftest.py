"""Browser tests: Debian's Chromium (never a downloaded browser) driven by pytest-playwright
against pytest-django's live server (WEB-NOTES.md, *Browser tests*).

Every page a test visits goes through `check_page`: GOV.UK Frontend's JavaScript ran, no console
error and no Content-Security-Policy violation, axe-core finds no WCAG 2.0-2.2 A or AA violation,
no sideways scroll at 320 px, and its title is its own.
"""

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# axe-core, vendored by `make assets` so that the tests need no Node.
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# Chromium as root in CI, on a machine whose network is closed: without the background
# networking flags it keeps trying to reach Google's hosts (machines/python-svc.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Records CSP violations however the browser reports them (the console wording varies).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI}`);
});
"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        absent = f"{CHROMIUM} is absent: apt-get install -y chromium (.ci/run does)"
        if os.environ.get("BROWSER_TESTS_REQUIRED") == "1":
            pytest.fail(absent)
        pytest.skip(absent)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="package", autouse=True)
def orm_beside_the_browser() -> Iterator[None]:
    """Playwright's sync API keeps an event loop running in this thread, and Django then
    refuses ORM calls from it (SynchronousOnlyOperation): the test database's setup and the
    tests' own data need them. Only while this package's tests run."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


# pytest-playwright's fixtures, narrowed from the session to this package: Playwright stops
# (and its event loop with it) when the browser tests end, so that the rest of the run keeps
# Django's check for ORM calls from an event loop.


@pytest.fixture(scope="package")
def playwright(orm_beside_the_browser: None, _pw_api_request_contexts: Any) -> Iterator[Playwright]:
    with sync_playwright() as pw:
        if _pw_api_request_contexts:
            _pw_api_request_contexts.instrument(pw)
        yield pw


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(
    browser_type_launch_args: dict[str, Any], browser_type: BrowserType
) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict[str, Any]:
    return {}


class PageChecks:
    """What every visited page must satisfy; console errors are gathered from the start."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console_errors: list[str] = []
        self.titles: dict[str, str] = {}
        page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.add_init_script(WATCH_CSP)

    def __call__(self, name: str, *, status: int | None = None) -> None:
        """`status`: the error status this page is meant to answer with (Chromium logs any
        error status of a document as a console error)."""
        if status is not None:
            expected = f"the server responded with a status of {status}"
            self.console_errors[:] = [e for e in self.console_errors if expected not in e]
        page = self.page
        page.wait_for_load_state("load")
        path = urlsplit(page.url).path
        assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')"), (
            f"{path}: GOV.UK Frontend's JavaScript cannot run"
        )
        # initAll ran: every component on the page was started.
        assert page.evaluate(
            "[...document.querySelectorAll('[data-module]')]"
            ".every((e) => e.hasAttribute(`data-${e.dataset.module}-init`))"
        ), f"{path}: GOV.UK Frontend's components were not started"
        assert page.evaluate("window.__cspViolations") == [], path
        assert self.console_errors == [], path
        self.assert_no_axe_violations(path)
        self.assert_title_is_its_own(path)
        self.assert_no_sideways_scroll_at_320px(path)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def assert_no_axe_violations(self, path: str) -> None:
        # Evaluated by the test, not a <script> of the page: the page's CSP is untouched.
        self.page.evaluate(AXE.read_text())
        violations = self.page.evaluate(
            "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
            ".violations.map((v) => ({id: v.id, help: v.help, nodes: v.nodes.map((n) => n.html)}))",
            AXE_TAGS,
        )
        assert violations == [], f"{path}: {json.dumps(violations, indent=1)}"

    def assert_title_is_its_own(self, path: str) -> None:
        title = self.page.title()
        others = {p for p, t in self.titles.items() if t == title and p != path}
        assert not others, f"{path} has the title of {others}: {title}"
        self.titles[path] = title

    def assert_no_sideways_scroll_at_320px(self, path: str) -> None:
        size = self.page.viewport_size
        self.page.set_viewport_size({"width": 320, "height": 640})
        try:
            overflow = self.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways at 320 px by {overflow} px"
        finally:
            if size:
                self.page.set_viewport_size(size)


@pytest.fixture
def check_page(page: Any) -> Iterator[PageChecks]:
    checks = PageChecks(page)
    yield checks
    assert checks.console_errors == [], "console errors after the last check"


PASSWORD = "a-long-password-for-the-browser"


@pytest.fixture
def officer(transactional_db: None) -> Any:
    """Jo Bloggs, a practitioner of a probation service, with PASSWORD."""
    from agencies.models import Agency, AgencyKind, StaffMembership, StaffRole, User

    agency = Agency.objects.create(name="Northshire Probation", kind=AgencyKind.PROBATION)
    user = User.objects.create_user(
        username="jo.bloggs", password=PASSWORD, first_name="Jo", last_name="Bloggs"
    )
    StaffMembership.objects.create(user=user, agency=agency, role=StaffRole.PRACTITIONER)
    return user
