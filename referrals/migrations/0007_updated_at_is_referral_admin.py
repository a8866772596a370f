"""`Referral.updated_at` now says when referral.admin last changed (created, moved); amendments
no longer move it, so that a reader's `updated_at` tells no more than its view (DESIGN.md, *The
disclosure decision*). Referrals amended before this set it back to their last move."""

from django.db import migrations
from django.db.models import Exists, F, OuterRef, Subquery


def back_to_the_last_move(apps, schema_editor):
    Referral = apps.get_model("referrals", "Referral")
    Amendment = apps.get_model("referrals", "Amendment")
    Transition = apps.get_model("referrals", "Transition")
    moves = Transition.objects.filter(referral=OuterRef("pk"))
    amended = Referral.objects.filter(Exists(Amendment.objects.filter(referral=OuterRef("pk"))))
    amended.filter(Exists(moves)).update(
        updated_at=Subquery(moves.order_by("-at").values("at")[:1])
    )
    # Never moved: its admin data is as created. A referral that is past `submitted` with no
    # recorded move (an import) keeps its time, which retention counts from.
    amended.filter(status="submitted").exclude(Exists(moves)).update(updated_at=F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("referrals", "0006_referral_erased_at"),
    ]

    operations = [
        migrations.RunPython(back_to_the_last_move, migrations.RunPython.noop),
    ]
