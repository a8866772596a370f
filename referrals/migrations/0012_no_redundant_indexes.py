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
        ("agencies", "0004_staff_changes_seen"),
        ("referrals", "0011_risk_tools_coded"),
    ]

    operations = [
        drop_index(
            "event",
            "recipient",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="agencies.agency",
            ),
            "referrals_event",
            "recipient_id",
            "referrals_event_recipient_id_60a1807a",
        ),
        drop_index(
            "programme",
            "provider",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="programmes",
                to="agencies.agency",
            ),
            "referrals_programme",
            "provider_id",
            "referrals_programme_provider_id_a4139139",
        ),
        drop_index(
            "referral",
            "referrer",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="referrals_made",
                to="agencies.agency",
            ),
            "referrals_referral",
            "referrer_id",
            "referrals_referral_referrer_id_c4bd6f93",
        ),
    ]
