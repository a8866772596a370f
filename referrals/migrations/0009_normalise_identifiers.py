"""Normalises every held identifier. Two rows of one system that normalise alike (`PNC-1` and
`pnc-1`, stored before normalisation) may belong to two people, and the hub cannot tell whether
they are one man: both rows and both people are kept, the later rows numbered 1, 2... in
`collision`, so that the identifier names several people and matching treats it so (a caller is
matched to the one it knows, else to a new person; DESIGN.md, *Bodies*)."""

from django.db import migrations

from referrals.identifiers import normalise


def normalise_all(apps, schema_editor):
    PersonIdentifier = apps.get_model("referrals", "PersonIdentifier")
    seen: dict[tuple[str, str], int] = {}
    rows = []
    for row in PersonIdentifier.objects.order_by("id").iterator():
        # An identifier longer than the column once normalised is refused today; a held one
        # is cut, which can at worst make it name several people.
        row.normalised = normalise(system=row.system, value=row.value)[:100]
        key = (row.system, row.normalised)
        row.collision = seen.get(key, 0)
        seen[key] = row.collision + 1
        rows.append(row)
    PersonIdentifier.objects.bulk_update(rows, ["normalised", "collision"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("referrals", "0008_identifier_normalised")]

    operations = [migrations.RunPython(normalise_all, migrations.RunPython.noop)]
