"""One row per normalised identifier and system (collisions kept by 0009 apart)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("referrals", "0009_normalise_identifiers")]

    operations = [
        migrations.AddConstraint(
            model_name="personidentifier",
            constraint=models.UniqueConstraint(
                fields=("system", "normalised", "collision"),
                name="identifier_normalised_unique_in_system",
            ),
        ),
    ]
