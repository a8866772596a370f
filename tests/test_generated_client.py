"""The committed schema works with a public generator: openapi-python-client builds a client from
`openapi/schema.yaml` without an error or a warning, and that client works against a live hub."""

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from agencies.models import AgencyKind
from agencies.registration import SCOPE_CEILINGS
from agencies.services import client_create
from referrals.models import Referral
from tests.conftest import DECLARABLE_PURPOSES, SCHEMA_PATH, referral_body, request_token

PACKAGE = "generated_hub_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The generator's run on the committed schema, and its output on sys.path."""
    root = tmp_path_factory.mktemp("generated")
    started = time.monotonic()
    run = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(SCHEMA_PATH),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        # Offline; its post-generation hooks run ruff, which comes from the same virtualenv.
        env={"PATH": f"{GENERATOR.parent}{os.pathsep}/usr/bin:/bin", "HOME": str(root)},
        timeout=300,
        check=False,
    )
    sys.path.insert(0, str(root))
    try:
        yield {"run": run, "seconds": time.monotonic() - started}
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_every_operation_has_a_summary():
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if not operation.get("summary")
    ]
    assert missing == []


def test_the_report_discriminator_maps_each_kind_of_report():
    schema = yaml.safe_load(SCHEMA_PATH.read_text())["components"]["schemas"]
    discriminator = schema["ReportRequestRequest"]["discriminator"]
    assert discriminator["propertyName"] == "kind"
    assert discriminator["mapping"] == {
        "assessment": "#/components/schemas/AssessmentReportRequest",
        "attendance": "#/components/schemas/AttendanceReportRequest",
        "risk_change": "#/components/schemas/RiskChangeReportRequest",
        "completion": "#/components/schemas/CompletionReportRequest",
    }


def test_the_generator_builds_a_client_without_errors_or_warnings(generated):
    run = generated["run"]
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "Warning" not in output and "Error" not in output, output
    assert generated["seconds"] < 120, generated["seconds"]


def token_for(agency: Any, purpose: str) -> str:
    issued = client_create(
        agency_id=agency.id,
        scopes=sorted(SCOPE_CEILINGS[agency.kind]),
        purpose=purpose,
        purposes=DECLARABLE_PURPOSES,
    )
    response = request_token(issued.client.client_id, issued.client_secret)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.mark.django_db(transaction=True)
def test_the_generated_client_works_against_a_live_hub(generated, live_server, world):
    assert generated["run"].returncode == 0, generated["run"].stdout + generated["run"].stderr
    client_module = module("client")
    models = module("models")
    list_programmes = module("api.programmes.v1_programmes_list")
    create_referral = module("api.referrals.v1_referrals_create")
    read_referral = module("api.referrals.v1_referrals_retrieve")
    write_report = module("api.referrals.v1_referrals_reports_create")
    read_reports = module("api.referrals.v1_referrals_reports_retrieve")

    def hub(agency: Any, purpose: str) -> Any:
        return client_module.AuthenticatedClient(
            base_url=live_server.url,
            token=token_for(agency, purpose),
            raise_on_unexpected_status=True,
        )

    referrer = hub(world[AgencyKind.PROBATION], "risk_management")
    provider = hub(world[AgencyKind.PROGRAMME_PROVIDER], "programme_delivery")
    programme = world["programme"]

    with referrer as http:
        page = list_programmes.sync(client=http)
        assert isinstance(page, models.PaginatedProgrammeList)
        (listed,) = [p for p in page.results if str(p.id) == str(programme.id)]
        assert isinstance(listed, models.Programme)
        assert listed.name == programme.name
        assert str(listed.provider) == str(programme.provider_id)

        fields = referral_body(programme.id)
        fields["risk"]["tool"] = "dash"  # the documented value (the hub also takes `DASH`)
        body = models.ReferralCreateRequest.from_dict(fields)
        created = create_referral.sync(client=http, body=body)
        assert isinstance(created, models.Referral), created
        assert str(created.programme) == str(programme.id)
        assert created.status == models.ReferralStatusEnum.SUBMITTED
        assert created.referrer == str(world[AgencyKind.PROBATION].id)

        read = read_referral.sync_detailed(referral_id=created.id, client=http)
        assert read.status_code == 200
        assert isinstance(read.parsed, models.Referral)
        assert read.parsed.id == created.id
        assert read.headers["ETag"]

    # A report back, sent through the discriminated union of report requests.
    Referral.objects.filter(id=created.id).update(status="assessment")
    with provider as http:
        report = write_report.sync(
            referral_id=created.id,
            client=http,
            body=models.AssessmentReportRequest(
                kind=models.AssessmentReportKindEnum.ASSESSMENT,
                suitable=True,
                summary="Motivated.",
            ),
        )
        assert isinstance(report, models.Report), report
        assert report.kind == models.ReportKindEnum.ASSESSMENT
        assert report.suitable is True

        reports = read_reports.sync(referral_id=created.id, client=http)
        assert [str(r.id) for r in reports.results] == [str(report.id)]

    # The problem responses come back typed as well.
    with client_module.AuthenticatedClient(base_url=live_server.url, token="not-a-token") as http:
        refused = read_referral.sync_detailed(referral_id=created.id, client=http)
        assert refused.status_code == 401
        assert isinstance(refused.parsed, models.Problem)
        assert refused.parsed.status == 401
