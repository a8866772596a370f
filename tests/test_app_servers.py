"""Several app servers on one PostgreSQL with Redis as the shared cache (issue 15, item 1;
README, *Serving in production*).

Two gunicorn processes, started with the repository's own configuration
(deploy/gunicorn.conf.py), serve one database: the rate limits count across both, two sealers
started at once seal each record once and the chain verifies, and the change feed read across
both servers keeps its order with nothing lost or repeated.
"""

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from django.db import connection

from agencies.models import AgencyKind
from agencies.services import client_create
from audit.models import AccessRecord, SealedRecord
from tests import factories
from tests.conftest import one_worker_at_a_time, referral_body

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
# A Redis database of its own, emptied before and after.
REDIS_URL = "redis://127.0.0.1:6379/13"
FAILED_LIMIT = 6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        # Production settings, not the test run's (which raise the limits).
        "DJANGO_SETTINGS_MODULE": "hub.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "app-servers-test-key",
        "DEBUG": "0",
        # Per day, so that no window ends while the test runs.
        "FAILED_REQUEST_RATE_LIMIT": f"{FAILED_LIMIT}/day",
        **extra,
    }


@contextmanager
def app_server(**extra_env: str):
    port = free_port()
    env = server_env(GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1", **extra_env)
    process = subprocess.Popen(
        [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "hub.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if call(base, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the app server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def call(base, method, path, *, token=None, body=None, headers=None, form=None):
    data, sent = None, dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if body is not None:
        data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
    if form is not None:
        data = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(base + path, data=data, headers=sent, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def local_part(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def token_for(base, issued) -> str:
    secret = f"{issued.client.client_id}:{issued.client_secret}"
    basic = base64.b64encode(secret.encode()).decode()
    status, _, body = call(
        base,
        "POST",
        "/o/token/",
        form={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert status == 200, body
    return body["access_token"]


@pytest.fixture
def shared_redis() -> Iterator[Any]:
    """REDIS_URL's database, emptied, for this test alone: the test workers (pytest-xdist)
    take it in turn, whichever of them runs this file's tests."""
    redis = pytest.importorskip("redis")
    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379 (.ci/run starts one)")
    with one_worker_at_a_time(f"redis-{REDIS_URL.rsplit('/', 1)[1]}"):
        server.flushdb()
        yield server
        server.flushdb()


@pytest.fixture
def two_servers(shared_redis):
    with ExitStack() as stack:
        yield stack.enter_context(app_server()), stack.enter_context(app_server())


def test_the_rate_limits_count_across_app_servers(two_servers):
    first, second = two_servers
    forged = {"Authorization": "Bearer forged-token"}

    answers = [
        call(server, "GET", "/api/v1/referrals/", headers=forged)[0]
        for server in [first, second] * (FAILED_LIMIT // 2)
    ]
    after = [call(server, "GET", "/api/v1/referrals/", headers=forged) for server in two_servers]

    assert answers == [401] * FAILED_LIMIT
    assert [status for status, _, _ in after] == [429, 429]
    assert all(int(headers["Retry-After"]) >= 1 for _, headers, _ in after)


def test_two_sealers_at_once_seal_each_record_once_and_the_chain_verifies(two_servers, make_agency):
    reader = client_create(
        agency_id=make_agency(kind=AgencyKind.PROBATION).id,
        scopes=["referrals:read"],
        purpose="risk_management",
    )
    tokens = {server: token_for(server, reader) for server in two_servers}
    for n in range(40):
        server = two_servers[n % 2]
        assert call(server, "GET", "/api/v1/referrals/", token=tokens[server])[0] == 200
    total = AccessRecord.objects.count()

    sealers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "audit_seal", "--batch-size", "3"],
            cwd=ROOT,
            env=server_env(),
            stdout=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [json.loads(sealer.communicate(timeout=120)[0]) for sealer in sealers]
    verify = subprocess.run(
        [sys.executable, "manage.py", "audit_verify"],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        check=False,
    )

    assert total >= 40
    assert sum(output["sealed_records"] for output in outputs) == SealedRecord.objects.count()
    assert SealedRecord.objects.count() == AccessRecord.objects.count()
    assert verify.returncode == 0, verify.stdout


def test_the_change_feed_keeps_its_order_across_app_servers(two_servers, make_agency):
    probation = make_agency(kind=AgencyKind.PROBATION)
    provider = make_agency(kind=AgencyKind.PROGRAMME_PROVIDER)
    programme = factories.ProgrammeFactory(provider=provider)
    referrer = client_create(
        agency_id=probation.id, scopes=["referrals:write"], purpose="risk_management"
    )
    reader = client_create(
        agency_id=provider.id, scopes=["referrals:read"], purpose="programme_delivery"
    )
    tokens = {server: token_for(server, referrer) for server in two_servers}
    created = []
    for n in range(8):
        server = two_servers[n % 2]
        body = referral_body(programme.id)
        body["subject"]["identity"]["identifiers"] = [{"system": "test.pnc", "value": str(uuid4())}]
        status, _, referral = call(
            server, "POST", "/api/v1/referrals/", token=tokens[server], body=body
        )
        assert status == 201, referral
        created.append(referral["id"])

    read_token = token_for(two_servers[0], reader)
    seen, path, turn = [], "/api/v1/events/?page_size=3", 0
    while path:
        status, _, page = call(two_servers[turn % 2], "GET", path, token=read_token)
        assert status == 200, page
        seen += page["results"]
        path = page["next"] and local_part(page["next"])
        turn += 1
    whole = call(two_servers[1], "GET", "/api/v1/events/?page_size=100", token=read_token)[2]

    assert [event["id"] for event in seen] == [event["id"] for event in whole["results"]]
    assert len({event["id"] for event in seen}) == len(seen)
    assert [event["referral"] for event in seen if event["type"] == "created"] == created


def test_the_access_log_names_the_path_but_never_its_query_or_a_credential(tmp_path, make_agency):
    log = tmp_path / "access.log"
    agency = make_agency(kind=AgencyKind.HUB_OPERATOR)
    issued = client_create(agency_id=agency.id, scopes=["audit:read"], purpose=None)
    person = uuid4()

    with app_server(GUNICORN_ACCESS_LOG=str(log)) as base:
        token = token_for(base, issued)
        status, headers, _ = call(
            base,
            "GET",
            f"/api/v1/audit/events/?person={person}",
            token=token,
            headers={"X-Purpose": "audit", "User-Agent": "case-system/1.0 (Beth Private)"},
        )
    written = log.read_text()

    assert status == 422  # a person never shown to this DPO: an unknown id, like any other
    lines = [line for line in written.splitlines() if "/api/v1/audit/events/" in line]
    assert len(lines) == 1, written
    assert '"GET /api/v1/audit/events/" 422' in lines[0]
    assert headers["X-Request-ID"] in lines[0]
    for secret in (str(person), "person=", token, issued.client_secret, "Beth Private"):
        assert secret not in written
