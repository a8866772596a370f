"""Data classification is enforced: every model field declares its data category, and the
referral's representation renders each field only where DESIGN.md places its category.

Data-driven: the fields come from the models themselves, so a field added without a
declaration fails the first test at once; the referral is filled field by field from its
models, so a new field is planted (and traced) without touching this module.
"""

import datetime
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import models

from agencies.models import AgencyKind
from core.serializers import timestamp
from core.vocabulary import Category, WithholdReason
from referrals.models import PartnerDisclosure, Person, Referral, Report
from referrals.representation import render_referral
from sharing_policies.classification import (
    FIELD_CATEGORIES,
    NONE,
    PROJECT_APPS,
    STAFF,
    Unclassified,
    categories_of,
    classification_of,
    fields_in,
    fields_to_declare,
    personal_fields,
    staff_fields,
)
from sharing_policies.decision import Decision, Role, Withheld
from tests import factories

C = Category

# Where DESIGN.md (*Bodies*) puts each key of a referral's representation.
DESIGN_PLACES: dict[tuple[str, ...], Category] = {
    ("id",): C.REFERRAL_ADMIN,
    ("status",): C.REFERRAL_ADMIN,
    ("referrer",): C.REFERRAL_ADMIN,
    ("provider",): C.REFERRAL_ADMIN,
    ("observers",): C.REFERRAL_ADMIN,
    ("programme",): C.REFERRAL_ADMIN,
    ("created_at",): C.REFERRAL_ADMIN,
    ("updated_at",): C.REFERRAL_ADMIN,
    ("partner_service",): C.PARTNER_IDENTITY,
    ("subject", "identity"): C.SUBJECT_IDENTITY,
    ("subject", "contact"): C.SUBJECT_CONTACT,
    ("offence",): C.OFFENCE,
    ("risk",): C.RISK,
    ("programme_progress",): C.PROGRAMME_PROGRESS,
    ("partner", "identity"): C.PARTNER_IDENTITY,
    ("partner", "contact"): C.PARTNER_CONTACT,
    ("partner", "disclosures"): C.PARTNER_DISCLOSURES,
    ("children",): C.CHILDREN,
}
# The decision's own output, not data read from the referral.
DECISION_KEYS = frozenset({"withheld"})
WITHHOLDABLE = [c for c in Category if c is not C.REFERRAL_ADMIN]


# --- the table covers every field, and only fields --------------------------------------------


def test_every_app_of_this_repository_with_models_is_classified():
    ours = {
        config.label
        for config in apps.get_app_configs()
        if "site-packages" not in Path(config.path).parts and list(config.get_models())
    }
    assert ours <= set(PROJECT_APPS), (
        f"Apps {sorted(ours - set(PROJECT_APPS))} have models: add them to PROJECT_APPS in "
        "sharing_policies/classification.py and declare their fields."
    )


def test_every_field_of_every_model_declares_its_category():
    undeclared = [key for key in fields_to_declare() if key not in FIELD_CATEGORIES]
    assert not undeclared, (
        "These model fields declare no data category. Declare each in FIELD_CATEGORIES in "
        "sharing_policies/classification.py (a Category from DESIGN.md, a tuple of them, NONE "
        "or STAFF), so that no field can reach a response without passing the disclosure "
        "decision:\n  " + "\n  ".join(undeclared)
    )


def test_no_declaration_names_a_field_that_does_not_exist():
    stale = sorted(set(FIELD_CATEGORIES) - set(fields_to_declare()))
    assert not stale, (
        "FIELD_CATEGORIES in sharing_policies/classification.py declares fields that no model "
        "has (renamed or removed?):\n  " + "\n  ".join(stale)
    )


def test_every_declaration_is_a_category_a_tuple_of_categories_none_or_staff():
    assert {NONE, STAFF}.isdisjoint(c.value for c in Category)
    invalid = []
    for key, declared in FIELD_CATEGORIES.items():
        if isinstance(declared, tuple):
            valid = (
                len(declared) >= 2
                and len(set(declared)) == len(declared)
                and all(isinstance(c, Category) for c in declared)
            )
        else:
            valid = isinstance(declared, Category) or declared in (NONE, STAFF)
        if not valid:
            invalid.append(f"{key}: {declared!r}")
    assert not invalid, (
        "Declare a Category, a tuple of two or more distinct Categories, NONE or STAFF:\n  "
        + "\n  ".join(invalid)
    )


# --- the public helpers ------------------------------------------------------------------------


def test_an_undeclared_field_has_no_categories_but_an_error():
    with pytest.raises(Unclassified, match=r"sharing_policies/classification\.py"):
        categories_of("referrals.Referral", "no_such_field")


def test_a_person_identifier_is_the_identity_of_whose_record_it_is():
    assert categories_of("referrals.PersonIdentifier", "value", data_subject="subject") == {
        C.SUBJECT_IDENTITY
    }
    assert categories_of("referrals.PersonIdentifier", "value", data_subject="partner") == {
        C.PARTNER_IDENTITY
    }
    assert categories_of("referrals.PersonIdentifier", "value") == {
        C.SUBJECT_IDENTITY,
        C.PARTNER_IDENTITY,
    }


def test_fields_in_a_category_and_personal_fields_leave_out_none_and_staff():
    assert fields_in(Referral, C.PARTNER_CONTACT) == ("partner_contact",)
    assert fields_in("referrals.Referral", "partner.identity") == (
        "partner_service",
        "partner",
        "partner_identity",
    )
    referral_fields = personal_fields(Referral)
    assert "created_by_client" not in referral_fields
    assert referral_fields["risk"] == {C.RISK}
    assert personal_fields("agencies.User") == {}
    assert {"first_name", "last_name", "email"} <= set(staff_fields("agencies.User"))
    assert classification_of("audit.AccessRecord", "person") == NONE


# --- the referral's representation agrees with the table ---------------------------------------


def rendered(value: Any) -> Any:
    """A stored value as the representation writes it."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime):
        return timestamp(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def token(value: Any) -> tuple[str, Any]:
    # Typed, so that True and 1 are told apart.
    return (type(value).__name__, value)


def leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def declared_categories(key: str, whose: str | None) -> frozenset[Category]:
    """What a declared field may hold. Callers skip undeclared fields: such a field fits no
    place and may be shown to no one (deny by default)."""
    return categories_of(*key.rsplit(".", 1), data_subject=whose)


class Planted:
    """Values planted in a referral, each unique, and traced back to the field (and the data
    subject whose record it is) they were planted in."""

    def __init__(self) -> None:
        self.origins: dict[tuple[str, Any], set[tuple[str, str | None]]] = defaultdict(set)
        self.row_ids: set[str] = set()
        self.count = 0
        self.referral: Referral | None = None
        # Whose partner.disclosures entries the referral holds.
        self.suppliers: frozenset[uuid.UUID] = frozenset()

    def note(self, value: Any, key: str, whose: str | None = None) -> None:
        if value is None:
            return  # an empty field plants nothing to trace
        for _, leaf in leaves(json.loads(json.dumps(rendered(value), default=rendered))):
            self.origins[token(leaf)].add((key, whose))

    def fresh(self, field: models.Field) -> Any:
        self.count += 1
        n = self.count
        if isinstance(field, models.JSONField):
            return {
                f"{field.name}-text": self.text(field),
                f"{field.name}-nested": {f"{field.name}-inner": self.text(field)},
                f"{field.name}-list": [self.text(field)],
            }
        if isinstance(field, models.CharField | models.TextField):
            return self.text(field)
        if isinstance(field, models.DateTimeField):
            return datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=n)
        if isinstance(field, models.DateField):
            # Years apart from the timestamps', so that no date is part of a timestamp.
            return datetime.date(1991, 1, 1) + datetime.timedelta(days=n)
        if isinstance(field, models.BooleanField):
            return True
        if isinstance(field, models.IntegerField):
            return 20_000 + n
        if isinstance(field, models.UUIDField):
            return uuid.uuid4()
        if isinstance(field, models.GenericIPAddressField):
            return f"192.0.2.{n % 250 + 1}"
        raise TypeError(
            f"tests/test_data_classification.py does not know how to fill {field!r}: teach "
            "Planted.fresh its type."
        )

    def text(self, field: models.Field) -> str:
        self.count += 1
        return f"~{self.count}~{field.name}"[: field.max_length or None]

    def row(
        self, model: type[models.Model], whose: str | None = None, **given: Any
    ) -> models.Model:
        """A row of `model` with every concrete field filled (relations from `given`), each
        value noted with the field it came from."""
        values = dict(given)
        later = {}
        for field in model._meta.concrete_fields:
            if field.name in values or (field.primary_key and field.has_default()):
                continue
            if field.is_relation:
                if not field.null:
                    raise TypeError(f"Give row({model.__name__}) its {field.name}.")
                continue
            value = self.fresh(field)
            if isinstance(field, models.DateTimeField):
                later[field.name] = value  # auto_now(_add) would overwrite it on create
            else:
                values[field.name] = value
        many = {f.name: values.pop(f.name) for f in model._meta.many_to_many if f.name in values}
        instance = model.objects.create(**values)
        for name, related in many.items():
            getattr(instance, name).set(related)
        if later:
            model.objects.filter(pk=instance.pk).update(**later)
        instance = model.objects.get(pk=instance.pk)

        label = model._meta.label
        for field in model._meta.concrete_fields:
            key = f"{label}.{field.name}"
            self.note(getattr(instance, field.attname), key, whose)
            if field.primary_key:
                self.row_ids.add(key)
        for field in model._meta.many_to_many:
            for pk in getattr(instance, field.name).values_list("pk", flat=True):
                self.note(pk, f"{label}.{field.name}", whose)
        return instance

    def describe(self, value_token: tuple[str, Any]) -> str:
        origins = sorted(
            f"{key} ({FIELD_CATEGORIES.get(key, 'undeclared')!r})"
            for key, _ in self.origins[value_token]
        )
        return f"{value_token[1]!r} comes from {', '.join(origins)}"

    def may_show(self, value_token: tuple[str, Any], disclosed: frozenset[Category]) -> bool:
        """Some field this value came from may be read by whoever sees `disclosed`."""
        return any(
            declared_categories(key, whose) <= disclosed
            for key, whose in self.origins[value_token]
            if key in FIELD_CATEGORIES
        )

    def fits(self, value_token: tuple[str, Any], place: Category) -> bool:
        """Some field this value came from holds `place`'s category (or is a row's own id)."""
        return any(
            place in declared_categories(key, whose)
            or (key in self.row_ids and FIELD_CATEGORIES[key] == NONE)
            for key, whose in self.origins[value_token]
            if key in FIELD_CATEGORIES
        )


@pytest.fixture
def planted(make_agency):
    """A referral with every field of it, its people, disclosures and reports filled."""
    plant = Planted()
    referrer = make_agency(kind=AgencyKind.PROBATION)
    partner_service = make_agency(kind=AgencyKind.VICTIM_SERVICE)
    observer = make_agency(kind=AgencyKind.POLICE)
    programme = factories.ProgrammeFactory()
    man = plant.row(Person, "subject")
    partner = plant.row(Person, "partner")
    referral = plant.row(
        Referral,
        referrer=referrer,
        provider=programme.provider,
        programme=programme,
        partner_service=partner_service,
        subject=man,
        partner=partner,
        observers=[observer],
    )
    # One entry from her support service (named to others only with partner.identity), one
    # from the referrer.
    for supplier in (partner_service, referrer):
        plant.row(PartnerDisclosure, referral=referral, supplier=supplier)
    plant.row(Report, referral=referral, written_by=programme.provider)
    plant.referral = referral
    plant.suppliers = frozenset({partner_service.id, referrer.id})
    return plant


def render(plant: Planted, disclosed: frozenset[Category]) -> dict[str, Any]:
    decision = Decision(
        roles=frozenset({Role.OBSERVER}),
        disclosed=disclosed,
        withheld=tuple(
            Withheld(c, WithholdReason.NO_AGREEMENT) for c in Category if c not in disclosed
        ),
        disclosure_entries_from=(plant.suppliers if C.PARTNER_DISCLOSURES in disclosed else None),
    )
    referral = Referral.objects.get(pk=plant.referral.pk)
    return json.loads(json.dumps(render_referral(referral, decision)))


def place_of(path: tuple) -> Category | None:
    keys = tuple(p for p in path if isinstance(p, str))
    for end in range(len(keys), 0, -1):
        if keys[:end] in DESIGN_PLACES:
            return DESIGN_PLACES[keys[:end]]
    return None


def dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


@pytest.mark.django_db
def test_each_value_of_a_fully_disclosed_referral_comes_from_a_field_of_the_category_of_its_key(
    planted,
):
    body = render(planted, frozenset(Category))
    problems = []
    places_seen = set()
    for path, value in leaves(body):
        if path[0] in DECISION_KEYS:
            continue
        place = place_of(path)
        if place is None:
            problems.append(f"{dotted(path)}: DESIGN.md places no category at this key")
            continue
        places_seen.add(place)
        if not planted.origins.get(token(value)):
            problems.append(f"{dotted(path)}: {value!r} comes from no field of the referral")
        elif not planted.fits(token(value), place):
            problems.append(f"{dotted(path)} is {place}, but {planted.describe(token(value))}")
    assert not problems, "\n".join(problems)
    # Fully populated: every category rendered something.
    assert places_seen == set(Category)


@pytest.mark.django_db
@pytest.mark.parametrize("withheld", WITHHOLDABLE, ids=str)
def test_a_withheld_category_leaves_no_value_of_its_fields_in_the_referral(planted, withheld):
    disclosed = frozenset(Category) - {withheld}
    body = render(planted, disclosed)
    text = json.dumps(body)
    shown = {token(value) for _, value in leaves(body)}
    hidden = [t for t in planted.origins if not planted.may_show(t, disclosed)]
    assert hidden, f"nothing planted in {withheld}: the check would prove nothing"
    leaked = [
        planted.describe((kind, value))
        for kind, value in hidden
        if (kind, value) in shown or (isinstance(value, str) and value in text)
    ]
    assert not leaked, f"{withheld} is withheld, yet the referral shows:\n  " + "\n  ".join(leaked)
    assert {c["category"] for c in body["withheld"]} == {str(withheld)}
