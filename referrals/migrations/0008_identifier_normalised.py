"""Strong identifiers get the normalised form that matching compares (issue 11, item 4); the
values are filled in by 0009 and the new unique key added by 0010."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("referrals", "0007_updated_at_is_referral_admin")]

    operations = [
        migrations.RemoveConstraint(
            model_name="personidentifier", name="identifier_unique_in_system"
        ),
        migrations.AddField(
            model_name="personidentifier",
            name="normalised",
            field=models.CharField(default="", max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="personidentifier",
            name="collision",
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
