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
        ("audit", "0006_refusal_burst_channel"),
    ]

    operations = [
        drop_index(
            "accessindexentry",
            "record",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="index_entries",
                to="audit.accessrecord",
            ),
            "audit_accessindexentry",
            "record_id",
            "audit_accessindexentry_record_id_593054b2",
        ),
        drop_index(
            "sealedrecord",
            "batch",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="members",
                to="audit.sealbatch",
            ),
            "audit_sealedrecord",
            "batch_id",
            "audit_sealedrecord_batch_id_bad358b6",
        ),
    ]
