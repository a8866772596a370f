"""Stored risk tools written as free text before tools were coded are folded to their code."""

import importlib

from django.apps import apps

from referrals.models import Referral
from tests.conftest import referral_body

migration = importlib.import_module("referrals.migrations.0011_risk_tools_coded")


def test_stored_tool_names_are_folded_to_their_codes(api_client_for, world):
    referrer = api_client_for(world["probation"])

    named = {
        "DASH": "dash",
        "OASys RoSH": "oasys_rosh",
        "sara": "sara",
        "Spousal Assault Form X": "Spousal Assault Form X",
    }
    made = {}
    for index, name in enumerate(named):
        body = referral_body(world["programme"].id)
        body["subject"]["identity"]["identifiers"] = [{"system": "test.pnc", "value": f"M{index}"}]
        made[name] = referrer.post("/api/v1/referrals/", body, format="json").json()["id"]
        Referral.objects.filter(id=made[name]).update(risk={"tool": name, "level": "high"})

    migration.fold_tools(apps, None)

    for name, referral_id in made.items():
        assert Referral.objects.get(id=referral_id).risk == {"tool": named[name], "level": "high"}
