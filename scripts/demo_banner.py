"""Prints `manage.py seed_demo`'s clients and people readably, with where to sign in and a curl
to try the API as probation.

Usage: manage.py seed_demo | python scripts/demo_banner.py http://127.0.0.1:8000
"""

import json
import shlex
import sys

TRY_AS_KIND = "probation"


def main() -> int:
    base_url = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    lines = [json.loads(line) for line in sys.stdin if line.strip()]
    clients = [line for line in lines if "client_id" in line]
    people = [line for line in lines if "username" in line]
    if not clients:
        print("seed_demo printed no clients.", file=sys.stderr)
        return 1

    print("\nDemo clients (fictional agencies; every `make run` gives them fresh secrets):\n")
    for client in clients:
        print(f"  {client['agency']} ({client['kind']})")
        for key in ("client_id", "client_secret", "scopes", "purpose", "purposes"):
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
    if people:
        print(f"Sign in to the web pages at {base_url}/ as one of the demo people (fresh")
        print("passwords every `make run`):\n")
        for person in people:
            name, password = person["username"], person["password"]
            print(f"  {name:<24}{password:<20}{person['role']} at {person['agency']}")
        print()
    print(f"API docs: {base_url}/api/docs/ (Swagger UI), {base_url}/api/redoc/ (ReDoc),")
    print(f"          {base_url}/api/schema/ (OpenAPI).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
