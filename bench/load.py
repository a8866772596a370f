"""The load generator: an asyncio + httpx client, run as its own process by scripts/bench_hub.py.

It reads one run's spec per line on stdin and answers one JSON line per run on stdout:
requests done, errors, throughput and latency percentiles. `concurrency` clients each keep one
request (or one pair of requests) in flight, on their own keep-alive connection, for `warmup`
seconds untimed and then `seconds` timed.

Why an async Python client rather than wrk or locust: every scenario needs per-request logic
(a fresh identifier per create, the If-Match of the previous amendment's ETag, a consent used
once then read, a random feed position), which wrk only does in Lua scripts and locust with a
gevent runtime and its own web UI and stats; httpx is already in the virtualenv, and a
coroutine per client gives exact per-request latencies with little CPU. Its cost is the same
for the hub and the baseline, which run against the same server in the same way.
"""

import asyncio
import copy
import json
import random
import statistics
import sys
import time
import uuid
from typing import Any

import httpx


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


class Run:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.kind = spec["kind"]
        self.headers = spec.get("headers", {})
        self.latencies: list[float] = []
        self.errors = 0
        self.statuses: dict[str, int] = {}
        self.error_sample = ""
        self.recording = False
        self.stop = False
        # Consumed once (consent withdrawals): a shared queue.
        self.pool = list(spec.get("pool", []))

    def note(self, response: httpx.Response, expected: tuple[int, ...]) -> bool:
        key = str(response.status_code)
        if self.recording:
            self.statuses[key] = self.statuses.get(key, 0) + 1
        if response.status_code not in expected:
            if self.recording:
                self.errors += 1
            if not self.error_sample:
                self.error_sample = f"{response.status_code} {response.text[:300]}"
            return False
        return True

    async def client(self, http: httpx.AsyncClient, n: int) -> None:
        spec, rng = self.spec, random.Random(n)  # noqa: S311 (load, not secrets)
        state: dict[str, Any] = {}
        if self.kind == "amend":
            state["path"] = spec["paths"][n % len(spec["paths"])]
            got = await http.get(state["path"], headers=self.headers)
            state["etag"] = got.headers.get("ETag", "")
            state["level"] = 0
        while not self.stop:
            start = time.perf_counter()
            ok = await self.once(http, rng, state)
            took = (time.perf_counter() - start) * 1000
            if ok is None:
                return
            if self.recording and ok:
                self.latencies.append(took)

    async def once(self, http: httpx.AsyncClient, rng: random.Random, state: dict) -> Any:
        spec, headers = self.spec, self.headers
        if self.kind == "get":
            path = rng.choice(spec["paths"])
            return self.note(await http.get(path, headers=headers), (200,))
        if self.kind == "create":
            body = copy.deepcopy(spec["body"])
            for identifier in body["subject"]["identity"]["identifiers"]:
                identifier["value"] = f"B{uuid.uuid4().hex[:20]}"
            response = await http.post(spec["path"], json=body, headers=headers)
            return self.note(response, (201,))
        if self.kind == "amend":
            levels = spec["levels"]
            state["level"] += 1
            body = {
                "risk": {"level": levels[state["level"] % len(levels)]},
                "amendment_reason": "Bench.",
            }
            sent = {**headers, "If-Match": state["etag"]}
            response = await http.patch(state["path"], json=body, headers=sent)
            state["etag"] = response.headers.get("ETag", state["etag"])
            return self.note(response, (200,))
        if self.kind == "withdraw_read":
            if not self.pool:
                return None
            withdraw, read = self.pool.pop()
            first = await http.post(withdraw, json={"reason": "He asked."}, headers=headers)
            if not self.note(first, (200,)):
                return False
            return self.note(await http.get(read, headers=headers), (200,))
        if self.kind == "token":
            response = await http.post(
                spec["path"], data={"grant_type": "client_credentials"}, headers=headers
            )
            return self.note(response, (200,))
        raise ValueError(self.kind)

    async def go(self) -> dict[str, Any]:
        spec = self.spec
        concurrency = spec["concurrency"]
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=spec["base"], limits=limits, timeout=60) as http:
            tasks = [asyncio.create_task(self.client(http, n)) for n in range(concurrency)]
            await asyncio.sleep(spec["warmup"])
            self.recording = True
            started = time.perf_counter()
            done, _ = await asyncio.wait(tasks, timeout=spec["seconds"])
            self.recording = False
            elapsed = time.perf_counter() - started
            self.stop = True
            await asyncio.gather(*tasks, return_exceptions=True)
        lat = sorted(self.latencies)
        return {
            "requests": len(lat),
            "errors": self.errors,
            "statuses": self.statuses,
            "error_sample": self.error_sample,
            "seconds": round(elapsed, 3),
            "throughput": len(lat) / elapsed if elapsed else 0.0,
            "p50": percentile(lat, 50),
            "p95": percentile(lat, 95),
            "p99": percentile(lat, 99),
            "mean": statistics.fmean(lat) if lat else float("nan"),
            "exhausted": bool(done) and not self.pool and self.kind == "withdraw_read",
        }


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        result = asyncio.run(Run(json.loads(line)).go())
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
