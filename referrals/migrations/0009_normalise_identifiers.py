"""Normalises every held identifier. Two rows of one system that normalise alike (`PNC-1` and
`pnc-1`, stored before normalisation) may belong to two people, and the hub cannot tell whether
they are one man: both rows and both people are kept, the later rows numbered 1, 2... in
`collision`, so that the identifier names several people and matching treats it so (a caller is
matched to the one it knows, else to a new person; DESIGN.md, *Bodies*).

The normalisation is written here, a copy of `referrals.identifiers.normalise` as it was when
this migration was written, not imported: a migration must mean the same whatever the code later
says. A later change to the normalisation that held rows must follow is a new migration."""

import unicodedata

from django.db import migrations

# Registers whose identifiers differ by case: none.
CASE_SENSITIVE_SYSTEMS = frozenset()

# Dashes that are not dash punctuation (category Pd, folded below): the minus signs.
MINUS_SIGNS = frozenset("\u2212\u207b\u208b")


def folded(char):
    category = unicodedata.category(char)
    if category == "Cf":
        # Format characters are invisible by definition: zero-width space and joiners, word
        # joiner, byte-order mark, soft hyphen, bidirectional marks.
        return ""
    if category == "Pd" or char in MINUS_SIGNS:
        return "-"
    digit = unicodedata.decimal(char, None)
    # NFKC leaves the decimal digits of other scripts (Arabic-Indic, Devanagari...) alone.
    return str(digit) if digit is not None else char


def normalise(*, system, value):
    """NFKC, invisible characters removed, dashes to '-', every script's decimal digits to
    ASCII, case folded unless `system` is case-sensitive, surrounding whitespace stripped."""
    text = "".join(folded(char) for char in unicodedata.normalize("NFKC", value))
    if system not in CASE_SENSITIVE_SYSTEMS:
        # Case folding can leave text outside NFKC, so normalise once more.
        text = unicodedata.normalize("NFKC", text.casefold())
    return text.strip()


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
