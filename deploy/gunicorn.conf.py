"""Gunicorn's configuration for the hub (`make serve`, deploy/hub-web.service).

Every value can be overridden from the environment (names below), so that one file serves a
laptop, CI and production. Read with gunicorn 27 (`gunicorn -c deploy/gunicorn.conf.py
hub.wsgi`).

Sizing: each worker process holds a PostgreSQL pool of `DATABASE_POOL_SIZE` connections (4 by
default) and serves `GUNICORN_THREADS` requests at a time; keep threads at most the pool size,
or a request waits `DATABASE_POOL_TIMEOUT` for a connection and is answered 503. Workers default
to the number of cores: the hub's requests spend their time in Python and the database, not in
waiting on the network.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

# A request that takes longer than this is a bug or a stuck database: the worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGHUP or SIGTERM, workers finish what they are serving for up to this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Workers are replaced now and then, one at a time, so that no slow leak grows without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200

# Which requests came over TLS is the hub's decision (NUM_PROXIES, hub/proxies.py), never
# gunicorn's: it trusts no forwarded scheme header from anyone.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}

# The access log names the method, the path without its query string (a query may hold search
# terms), the status, the size, the time taken and the hub's request id: never a query, a body,
# a header value or a user agent. Paths hold only random ids (DESIGN.md).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms %({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# No runtime control socket: restarts go through signals (systemd's ExecReload sends HUP).
control_socket_disable = True
