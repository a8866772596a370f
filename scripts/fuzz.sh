#!/usr/bin/env bash
# Fuzzes the committed openapi/schema.yaml against a live hub (DEBUG off, throwaway SQLite
# database, demo data) with schemathesis, as the probation demo client. Bounded in examples per
# operation and round, and in wall-clock time (rounds repeat until the budget is spent). Exits
# non-zero on any failure schemathesis reports and on any server traceback.
#
# Tunable: FUZZ_PORT (8001), FUZZ_MAX_EXAMPLES (30), FUZZ_MAX_SECONDS (300), FUZZ_SEED (random).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
PORT=${FUZZ_PORT:-8001}
BASE_URL="http://127.0.0.1:$PORT"
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-30}
MAX_SECONDS=${FUZZ_MAX_SECONDS:-300}
DB_FILE="$PWD/var/fuzz.sqlite3"
SERVER_LOG=var/fuzz-server.log
REPORT_DIR="$PWD/var/fuzz-report"
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance

# The hub as deployed (DEBUG off), on a database of its own; nothing inherited from the caller's
# environment decides how it behaves.
export DATABASE_URL="sqlite:///$DB_FILE"
export SECRET_KEY=fuzz-only-secret-key-not-for-any-deployment
export DEBUG=0 SECURE_SSL_REDIRECT=0 ALLOWED_HOSTS=127.0.0.1
unset REDIS_URL CLIENT_RATE_LIMIT MAX_REQUEST_BODY_BYTES NUM_PROXIES LOG_LEVEL
# One token serves the whole run: it must outlive it.
export ACCESS_TOKEN_SECONDS=$((MAX_SECONDS + 600))

mkdir -p var
rm -f "$DB_FILE" "$DB_FILE-journal" "$DB_FILE-wal" "$DB_FILE-shm" "$SERVER_LOG"
rm -rf "$REPORT_DIR"

if curl -s -o /dev/null --max-time 2 "$BASE_URL/healthz"; then
  echo "fuzz: something already listens on $BASE_URL; stop it or set FUZZ_PORT." >&2
  exit 1
fi

echo "fuzz: migrating and seeding $DB_FILE"
"$PY" manage.py migrate --noinput >/dev/null
clients=$("$PY" manage.py seed_demo --force)

# The probation client: it refers (referrals:read referrals:write) and has a default purpose.
read -r client_id client_secret < <(
  "$PY" -c '
import json, sys
for line in sys.stdin:
    client = json.loads(line)
    if "client_id" not in client:
        continue  # a demo person, for the web pages
    scopes = client["scopes"].split()
    if client["kind"] == "probation" and {"referrals:read", "referrals:write"} <= set(scopes):
        print(client["client_id"], client["client_secret"])
        break
' <<<"$clients"
) || true
if [ -z "${client_id:-}" ]; then
  echo "fuzz: seed_demo printed no probation client with referrals:read referrals:write." >&2
  exit 1
fi

echo "fuzz: starting the hub on $BASE_URL (log: $SERVER_LOG)"
"$PY" manage.py runserver "127.0.0.1:$PORT" --noreload --insecure >"$SERVER_LOG" 2>&1 &
server_pid=$!
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
trap stop_server EXIT

for _ in $(seq 60); do
  curl -sf -o /dev/null --max-time 2 "$BASE_URL/healthz" && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "fuzz: the hub exited before it was ready:" >&2
    cat "$SERVER_LOG" >&2
    exit 1
  fi
  sleep 0.5
done
curl -sf -o /dev/null --max-time 2 "$BASE_URL/healthz" || {
  echo "fuzz: the hub did not answer $BASE_URL/healthz in 30 s." >&2
  exit 1
}

token=$(
  curl -sf -u "$client_id:$client_secret" -d grant_type=client_credentials "$BASE_URL/o/token/" \
    | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
)

seed_args=()
[ -n "${FUZZ_SEED:-}" ] && seed_args=(--seed "$FUZZ_SEED")

echo "fuzz: schemathesis, $MAX_EXAMPLES examples per operation and round, for $MAX_SECONDS s"
status=0
# --max-time is schemathesis's own budget (it stops gracefully, reporting what it found);
# `timeout` is only a backstop against a hang.
# Run from var/ so that schemathesis's cache (.schemathesis/, for `st replay`) stays out of the tree.
(cd var && timeout --signal=INT --kill-after=30 $((MAX_SECONDS + 120)) \
  ../.venv/bin/schemathesis run ../openapi/schema.yaml \
  --url "$BASE_URL" \
  --header "Authorization: Bearer $token" \
  --checks "$CHECKS" \
  --max-examples "$MAX_EXAMPLES" \
  --max-time "$MAX_SECONDS" \
  --request-timeout 20 \
  --generation-database none \
  --report junit --report-dir "$REPORT_DIR" \
  --no-color \
  "${seed_args[@]}") || status=$?

if [ "$status" -ne 0 ]; then
  echo "fuzz: to reproduce a failure, run its curl against a hub started as above, with a" \
    "probation token from /o/token/ where the curl says [Filtered]." >&2
fi
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "fuzz: schemathesis hung past its $MAX_SECONDS s budget and was stopped." >&2
fi
if grep -q "Traceback" "$SERVER_LOG"; then
  echo
  echo "fuzz: server tracebacks (full log: $SERVER_LOG):"
  # Each traceback block, without the one-line request log around it.
  awk '/^(Unhandled error|Internal Server Error|Traceback)/ {on=1} on && /^\[[0-9]/ {on=0} on' "$SERVER_LOG"
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
