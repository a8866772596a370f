"""The embedded SQLite default under concurrent audited reads, against the served app.

Every audited read also writes its access record; with SQLite's default deferred
transactions two such requests at once fail with "database is locked". The hub opens
immediate transactions, so they queue instead. This runs the real server in its own process.
"""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUESTS_PER_CLIENT = 15


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, *, data: bytes | None = None, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def served_hub(tmp_path):
    database = tmp_path / "hub.sqlite3"
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "concurrency-test",
        "DEBUG": "0",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run(
        [*manage, "seed_demo", "--force"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    lines = [json.loads(line) for line in seeded.stdout.decode().splitlines()]
    clients = [line for line in lines if "client_id" in line]
    port = free_port()
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if call(f"{base}/healthz", headers={})[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield base, clients, database
    finally:
        server.terminate()
        server.wait(timeout=10)


def token_for(base: str, client: dict) -> str:
    basic = b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    status, body = call(
        f"{base}/o/token/",
        data=b"grant_type=client_credentials",
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert status == 200, body
    return json.loads(body)["access_token"]


def test_two_agencies_reading_at_once_are_all_served_and_all_recorded(served_hub):
    base, clients, database = served_hub
    readers = [c for c in clients if c["kind"] in ("probation", "police")]
    tokens = [token_for(base, c) for c in readers]

    def read(token: str) -> int:
        return call(f"{base}/api/v1/referrals/", headers={"Authorization": f"Bearer {token}"})[0]

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(read, [t for t in tokens for _ in range(REQUESTS_PER_CLIENT)]))

    assert statuses == [200] * len(statuses)
    with sqlite3.connect(database) as db:
        (recorded,) = db.execute(
            "SELECT count(*) FROM audit_accessrecord WHERE status = 200 AND method = 'GET'"
        ).fetchone()
    assert recorded == len(statuses)
