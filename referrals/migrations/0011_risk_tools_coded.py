"""Risk tools became coded values (`dash`, `oasys_rosh`, `sara`, `other`): stored free-text
names are folded to their code as the API folds them ("DASH" is `dash`); a name that is none of
them is left as it was (nothing sent is lost; its referrer can amend it). The mapping is written
here, not imported, so that this migration means the same whatever the code later says."""

import re

from django.db import migrations

CODES = {"dash", "oasys_rosh", "sara", "other"}
ALIASES = {"dash_ric": "dash", "oasys": "oasys_rosh", "rosh": "oasys_rosh"}


def coded(name):
    folded = re.sub(r"[\s-]+", "_", name.strip().lower())
    return ALIASES.get(folded, folded)


def fold_tools(apps, schema_editor):
    Referral = apps.get_model("referrals", "Referral")
    for referral in Referral.objects.exclude(risk=None).only("id", "risk").iterator():
        risk = referral.risk
        tool = risk.get("tool") if isinstance(risk, dict) else None
        if not isinstance(tool, str) or tool in CODES:
            continue
        code = coded(tool)
        if code in CODES:
            Referral.objects.filter(id=referral.id).update(risk={**risk, "tool": code})


class Migration(migrations.Migration):
    dependencies = [("referrals", "0010_identifier_normalised_unique")]

    operations = [migrations.RunPython(fold_tools, migrations.RunPython.noop)]
