"""Access records and everything written beside them become append-only in the database."""

from django.db import migrations

from audit import protection


def forwards(apps, schema_editor):
    protection.install(schema_editor.connection)


def backwards(apps, schema_editor):
    protection.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_search_index_review_and_seal")]

    operations = [migrations.RunPython(forwards, backwards)]
