"""The committed schema is current, valid, and lists the scopes of every protected operation."""

import subprocess
import sys
from pathlib import Path

import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "openapi" / "schema.yaml"


def generate(tmp_path: Path) -> str:
    target = tmp_path / "schema.yaml"
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(target),
        ],
        cwd=ROOT,
        check=True,
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "schema-check", "DEBUG": "0"},
        capture_output=True,
    )
    return target.read_text()


def test_committed_schema_is_what_the_code_generates(tmp_path):
    assert generate(tmp_path) == COMMITTED.read_text(), (
        "openapi/schema.yaml is stale: run `make schema` and commit it"
    )


def test_committed_schema_is_valid_openapi():
    validate(yaml.safe_load(COMMITTED.read_text()))


def test_every_api_operation_lists_its_scopes_and_problem_responses():
    schema = yaml.safe_load(COMMITTED.read_text())
    scopes = schema["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"][
        "scopes"
    ]
    assert set(scopes) == {
        "referrals:read",
        "referrals:write",
        "consent:read",
        "consent:write",
        "policies:read",
        "policies:write",
        "audit:read",
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("security"), f"{where} looks public"
            for requirement in operation["security"]:
                assert set(requirement) == {"oauth2"}, where
                assert set(requirement["oauth2"]) <= set(scopes), where
            for status in ("400", "401", "403", "500"):
                assert status in operation["responses"], f"{where} does not document {status}"
                assert "application/problem+json" in operation["responses"][status]["content"]


def test_referral_endpoints_require_the_scopes_design_fixes():
    paths = yaml.safe_load(COMMITTED.read_text())["paths"]

    def scopes_of(path, method):
        return paths[path][method]["security"][0]["oauth2"]

    assert scopes_of("/api/v1/referrals/", "get") == ["referrals:read"]
    assert scopes_of("/api/v1/referrals/", "post") == ["referrals:write"]
    assert scopes_of("/api/v1/referrals/{referral_id}/", "get") == ["referrals:read"]
    assert scopes_of("/api/v1/programmes/", "get") == []
    assert scopes_of("/api/v1/programmes/", "post") == ["referrals:write"]
    assert scopes_of("/api/v1/agencies/", "get") == []
