"""A database outage answers fast, with 503 (issue 11, item 7; DESIGN.md, HTTP conventions).

The hub reaches PostgreSQL through a TCP proxy started inside the test; stopping the proxy
makes the database unreachable (refused, or accepted and never answered) without touching the
shared server. While it is down every request, the token endpoint included, answers a 503
problem with Retry-After within the pool timeout, and /readyz within a second; when the proxy
resumes, the hub serves again without a restart.

Between requests the test closes the connection as a WSGI server does at the end of each
request (Django's test client skips that), so each request takes its connection from the pool.
"""

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import psycopg_pool
import pytest
from django.db import OperationalError, close_old_connections, connection
from rest_framework.test import APIClient

from agencies.models import AgencyKind
from agencies.services import client_create
from audit.models import AccessRecord
from core.problems import database_unreachable
from tests.conftest import basic_auth

PROBLEM = "application/problem+json"
# DESIGN.md: 503 "within a second"; the pool timeout is 0.5 s, the rest is margin for CI.
FAST = 1.0
RECOVERY_WITHIN = 15.0


class DatabaseProxy:
    """A TCP proxy to the test database that can be stopped and resumed on the same port.

    `stop("refuse")` closes the listener and every relayed connection (a server that is
    down); `stop("hang")` keeps listening but never answers (a server that is unreachable).
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.mode = "forward"
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.threads: list[threading.Thread] = []
        self.start()

    def start(self) -> None:
        self.mode = "forward"
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self._spawn(self._accept, self.listener)

    def stop(self, how: str = "refuse") -> None:
        self.mode = how
        with self.lock:
            relayed, self.sockets = self.sockets, []
        for sock in relayed:
            self._close(sock)
        if how == "refuse" and self.listener is not None:
            self._close(self.listener)
            self.listener = None

    def resume(self) -> None:
        if self.listener is None:
            self.start()
        self.mode = "forward"

    def close(self) -> None:
        self.stop("refuse")
        for thread in self.threads:
            thread.join(timeout=5)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    @staticmethod
    def _close(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: the database is down
            with self.lock:
                self.sockets.append(client)
            if self.mode == "hang":
                continue  # accepted, never answered
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                self._close(client)
                continue
            with self.lock:
                self.sockets.append(upstream)
            self._spawn(self._relay, client, upstream)

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 0.5)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            self._close(a)
            self._close(b)


@pytest.fixture
def proxied_database() -> Iterator[DatabaseProxy]:
    """The default database reached through a proxy, with a pool of its own."""
    settings = connection.settings_dict
    saved = (settings["HOST"], settings["PORT"])
    proxy = DatabaseProxy(settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432))
    connection.close()
    connection.close_pool()
    settings["HOST"], settings["PORT"] = "127.0.0.1", str(proxy.port)
    try:
        yield proxy
    finally:
        proxy.close()
        connection.close()
        connection.close_pool()
        settings["HOST"], settings["PORT"] = saved


def as_served(send: Callable[[], Any]) -> tuple[Any, float]:
    """One request as a WSGI server runs it: connections released after it; and its time."""
    close_old_connections()
    started = time.monotonic()
    try:
        response = send()
    finally:
        elapsed = time.monotonic() - started
        close_old_connections()
    return response, elapsed


@pytest.fixture
def caller(world: dict[str, Any]) -> dict[str, Any]:
    """A probation client's credentials, and a bearer client holding a token."""
    issued = client_create(
        agency_id=world[AgencyKind.PROBATION].id,
        scopes=["referrals:read", "referrals:write"],
        purpose="risk_management",
    )
    auth = basic_auth(issued.client.client_id, issued.client_secret)
    token = APIClient().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION=auth,
    )
    assert token.status_code == 200, token.content
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access_token']}")
    # Errors outside DRF (the token endpoint) reach Django's handler, as in production.
    bearer.raise_request_exception = False
    return {"auth": auth, "bearer": bearer}


def outage_requests(caller: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    bearer = caller["bearer"]
    anonymous = APIClient()
    anonymous.raise_request_exception = False
    return {
        "list referrals": lambda: bearer.get("/api/v1/referrals/"),
        "create referral": lambda: bearer.post("/api/v1/referrals/", {}, format="json"),
        "agency directory": lambda: bearer.get("/api/v1/agencies/"),
        "token": lambda: anonymous.post(
            "/o/token/",
            {"grant_type": "client_credentials"},
            format="multipart",
            HTTP_AUTHORIZATION=caller["auth"],
        ),
    }


def assert_fast_503(response: Any, elapsed: float, name: str) -> None:
    assert response.status_code == 503, (name, response.status_code, response.content)
    assert response["Content-Type"].split(";")[0] == PROBLEM, name
    assert int(response["Retry-After"]) > 0, name
    assert response.json()["status"] == 503, name
    assert "psycopg" not in response.content.decode(), name
    assert "127.0.0.1" not in response.content.decode(), name
    assert elapsed < FAST, f"{name} took {elapsed:.2f} s"


def wait_until_ready() -> float:
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_WITHIN:
        response, _ = as_served(lambda: APIClient().get("/readyz"))
        if response.status_code == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail(f"the hub did not recover within {RECOVERY_WITHIN} s of the database")


@pytest.mark.parametrize("how", ["refuse", "hang"])
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)  # committed: each request takes a pooled connection
def test_unreachable_database_answers_503_with_retry_after_fast_and_recovers(
    proxied_database, caller, how
):
    requests = outage_requests(caller)
    healthy, _ = as_served(requests["list referrals"])
    assert healthy.status_code == 200, healthy.content

    proxied_database.stop(how)
    for name, send in requests.items():
        assert_fast_503(*as_served(send), name)

    proxied_database.resume()
    wait_until_ready()
    for name in ("list referrals", "agency directory", "token"):
        response, _ = as_served(requests[name])
        assert response.status_code == 200, (name, response.content)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_readyz_answers_503_within_a_second_while_the_database_is_unreachable(
    proxied_database,
):
    ready, _ = as_served(lambda: APIClient().get("/readyz"))
    assert ready.status_code == 200

    proxied_database.stop("hang")
    for _ in range(3):
        response, elapsed = as_served(lambda: APIClient().get("/readyz"))
        assert response.status_code == 503
        assert response["Retry-After"]
        assert elapsed < FAST, f"/readyz took {elapsed:.2f} s"

    proxied_database.resume()
    assert wait_until_ready() < RECOVERY_WITHIN


# --- what counts as unreachable (any database) ---------------------------------------------------


def django_error_from(cause: Exception) -> OperationalError:
    """A driver error as Django raises it: wrapped, the driver's error as its cause."""
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as wrapped:
        return wrapped


class Deadlock(psycopg.OperationalError):
    sqlstate = "40P01"


class AdminShutdown(psycopg.OperationalError):
    sqlstate = "57P01"


@pytest.mark.parametrize(
    ("cause", "unreachable"),
    [
        (psycopg_pool.PoolTimeout("couldn't get a connection after 0.50 sec"), True),
        (psycopg.OperationalError("connection refused"), True),
        (AdminShutdown("terminating connection due to administrator command"), True),
        (Deadlock("deadlock detected"), False),
        (RuntimeError("not a driver error"), False),
    ],
    ids=["pool-timeout", "refused", "admin-shutdown", "deadlock", "other"],
)
def test_only_a_connection_failure_counts_as_the_database_unreachable(cause, unreachable):
    assert database_unreachable(django_error_from(cause)) is unreachable


@pytest.mark.django_db
def test_a_pool_timeout_in_a_view_is_a_503_with_retry_after_and_no_500(
    api_client_for, world, monkeypatch
):
    def unreachable(**kwargs: Any) -> None:
        raise django_error_from(psycopg_pool.PoolTimeout("couldn't get a connection"))

    monkeypatch.setattr("referrals.selectors.referrals_visible_to", unreachable)
    client = APIClient()  # without the schema check: no operation documents a 503 yet
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_client_for(world[AgencyKind.PROBATION]).access_token}"
    )
    records = AccessRecord.objects.count()

    response = client.get("/api/v1/referrals/")

    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert int(response["Retry-After"]) > 0
    assert "couldn't get a connection" not in response.content.decode()
    # Its record could not be written either: the hub does not wait a second pool timeout.
    assert AccessRecord.objects.count() == records


@pytest.mark.django_db
def test_a_pool_timeout_at_the_token_endpoint_is_a_503_not_a_500(make_agency, monkeypatch):
    issued = client_create(agency_id=make_agency().id, scopes=["referrals:read"])

    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise django_error_from(psycopg_pool.PoolTimeout("couldn't get a connection"))

    monkeypatch.setattr(
        "oauth2_provider.oauth2_validators.OAuth2Validator.authenticate_client", unreachable
    )
    anonymous = APIClient()
    anonymous.raise_request_exception = False

    response = anonymous.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION=basic_auth(issued.client.client_id, issued.client_secret),
    )

    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert int(response["Retry-After"]) > 0
