"""Prints `manage.py seed_demo`'s clients readably, with a curl to try the API as probation.

Usage: manage.py seed_demo | python scripts/demo_banner.py http://127.0.0.1:8000
"""

import json
import shlex
import sys

TRY_AS_KIND = "probation"


def main() -> int:
    base_url = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    clients = [json.loads(line) for line in sys.stdin if line.strip()]
    if not clients:
        print("seed_demo printed no clients.", file=sys.stderr)
        return 1

    print("\nDemo clients (fictional agencies; every `make run` gives them fresh secrets):\n")
    for client in clients:
        print(f"  {client['agency']} ({client['kind']})")
        for key in ("client_id", "client_secret", "scopes", "purpose"):
            print(f"    {key + ':':<15}{client[key]}")
        print()

    trier = next((c for c in clients if c["kind"] == TRY_AS_KIND), None)
    if trier is None:
        print(f"seed_demo printed no {TRY_AS_KIND} client.", file=sys.stderr)
        return 1
    credentials = shlex.quote(f"{trier['client_id']}:{trier['client_secret']}")
    take_field = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    print(f"Try it as {trier['agency']}: get a token, then list the referrals it may see:\n")
    print(
        f"  TOKEN=$(curl -s -u {credentials} -d grant_type=client_credentials "
        f"{base_url}/o/token/ | {take_field})"
    )
    print(f'  curl -s -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/referrals/\n')
    print(f"API docs: {base_url}/api/docs/ (Swagger UI), {base_url}/api/redoc/ (ReDoc),")
    print(f"          {base_url}/api/schema/ (OpenAPI).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
