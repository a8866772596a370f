"""Foreign keys that lead another index lose their own: each row written paid for both, and the
other index serves every lookup by the key (its leading column)."""

import django.db.models.deletion
from django.db import migrations, models


def drop_index(model_name, name, field, table, column, index):
    """The field's state loses its index, and the database its index by name: SQL of this
    migration's own, because AlterField would rebuild the table on SQLite (and with it drop
    the append-only triggers of an audit table)."""
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
        database_operations=[
            migrations.RunSQL(
                sql=f'DROP INDEX "{index}"',
                reverse_sql=f'CREATE INDEX "{index}" ON "{table}" ("{column}")',
            )
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sharing_policies", "0001_initial"),
    ]

    operations = [
        drop_index(
            "agreementversion",
            "agreement",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="versions",
                to="sharing_policies.agreement",
            ),
            "sharing_policies_agreementversion",
            "agreement_id",
            "sharing_policies_agreementversion_agreement_id_49bbb800",
        ),
    ]
