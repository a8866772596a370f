"""One man, one person: a strong identifier matches however it was typed (issue 11, item 4)."""

import importlib
import itertools
from typing import Any
from uuid import UUID

import pytest
from django.apps import apps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies.models import AgencyKind
from referrals.identifiers import normalise
from referrals.models import Person, PersonIdentifier
from tests.conftest import referral_body

REFERRALS = "/api/v1/referrals/"
HELD = "PNC-TEST-0001"
SYSTEM = "uk.police.pnc"

DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
INVISIBLES = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
# Decimal digits of other scripts, each block's zero: Arabic-Indic, extended Arabic-Indic
# (Persian), Devanagari, Bengali, fullwidth.
ZEROS = "\u0660\u06f0\u0966\u09e6\uff10"


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def arabic_indic(text: str) -> str:
    return "".join(chr(0x0660 + int(c)) if c.isascii() and c.isdigit() else c for c in text)


SPELLINGS = {
    "case": "pnc-test-0001",
    "U+2010 hyphens": HELD.replace("-", "\u2010"),
    "fullwidth letters": fullwidth(HELD),
    "trailing zero-width space": HELD + "\u200b",
    "Arabic-Indic digits": arabic_indic(HELD),
}


def refer(client: Any, programme: Any, value: str, *, system: str = SYSTEM) -> Any:
    body = referral_body(programme.id)
    body["subject"]["identity"]["identifiers"] = [{"system": system, "value": value}]
    return client.post(REFERRALS, body, format="json")


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.content
    return response.json()


# --- the normal form (no database) ---------------------------------------------------------------


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_each_reported_spelling_normalises_like_the_held_number(spelling):
    assert normalise(system=SYSTEM, value=spelling) == normalise(system=SYSTEM, value=HELD)


def test_every_script_s_decimal_digits_every_dash_and_invisible_character_fold():
    for zero in ZEROS:
        assert normalise(system=SYSTEM, value=chr(ord(zero) + 7)) == "7"
    for dash in DASHES:
        assert normalise(system=SYSTEM, value=f"A{dash}1") == "a-1"
    for invisible in INVISIBLES:
        assert normalise(system=SYSTEM, value=f"{invisible}A{invisible}1{invisible}") == "a1"
    assert normalise(system=SYSTEM, value="\u00a0 A-1\u3000") == "a-1"


def test_different_numbers_stay_different():
    assert normalise(system=SYSTEM, value="PNC-TEST-0001") != normalise(
        system=SYSTEM, value="PNC-TEST-0010"
    )
    assert normalise(system=SYSTEM, value="A-1") != normalise(system=SYSTEM, value="A1")


# --- over HTTP -----------------------------------------------------------------------------------


@pytest.fixture
def held_man(api_client_for, world) -> str:
    """The man the hub holds as PNC-TEST-0001, referred by probation."""
    probation = api_client_for(world[AgencyKind.PROBATION])
    return created(refer(probation, world["programme"], HELD))["subject"]["identity"]["id"]


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_each_spelling_of_a_held_number_matches_the_man_held(
    api_client_for, world, held_man, spelling
):
    police = api_client_for(world[AgencyKind.POLICE])

    referral = created(refer(police, world["programme"], spelling))

    assert referral["subject"]["identity"]["id"] == held_man
    # What was sent is kept for display; the person keeps the number as first sent.
    assert referral["subject"]["identity"]["identifiers"] == [{"system": SYSTEM, "value": spelling}]
    assert list(PersonIdentifier.objects.values_list("person_id", "value")) == [
        (UUID(held_man), HELD)
    ]


@pytest.mark.django_db
def test_an_identifier_of_invisible_characters_only_is_refused_and_names_no_one(
    api_client_for, world
):
    police = api_client_for(world[AgencyKind.POLICE])

    response = refer(police, world["programme"], "\u200b\u2060\u00ad")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "subject.identity.identifiers.0.value"
    assert not PersonIdentifier.objects.exists()


# --- any two spellings that normalise alike match one person -------------------------------------


@st.composite
def respelt(draw: st.DrawFn, base: str) -> str:
    """`base` as another keyboard, paste or locale might have spelt it."""
    out = []
    for char in base:
        if char == "-":
            variant = draw(st.sampled_from("-" + DASHES))
        elif char.isdigit():
            variant = draw(st.sampled_from([char, *(chr(ord(z) + int(char)) for z in ZEROS)]))
        else:
            variant = draw(st.sampled_from([char.lower(), char.upper(), fullwidth(char)]))
        out.append(draw(st.text(st.sampled_from(INVISIBLES), max_size=2)) + variant)
    return "".join(out) + draw(st.text(st.sampled_from(INVISIBLES), max_size=2))


BASES = st.text(
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/"),
    min_size=1,
    max_size=20,
).filter(lambda b: normalise(system=SYSTEM, value=b) != "")
PAIRS = BASES.flatmap(lambda base: st.tuples(respelt(base), respelt(base)))


@given(PAIRS)
def test_respellings_normalise_alike(pair):
    first, second = pair
    assert normalise(system=SYSTEM, value=first) == normalise(system=SYSTEM, value=second)


SYSTEMS = itertools.count()


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(PAIRS)
def test_any_two_spellings_that_normalise_alike_match_one_person(api_client_for, world, pair):
    first, second = pair
    system = f"test.pnc.{next(SYSTEMS)}"  # a register of its own per example: nothing held yet
    police = api_client_for(world[AgencyKind.POLICE])
    probation = api_client_for(world[AgencyKind.PROBATION])

    one = created(refer(police, world["programme"], first, system=system))
    other = created(refer(probation, world["programme"], second, system=system))

    assert one["subject"]["identity"]["id"] == other["subject"]["identity"]["id"]
    assert PersonIdentifier.objects.filter(system=system).count() == 1


# --- identifiers held before normalisation -------------------------------------------------------


@pytest.mark.django_db
def test_held_spellings_that_collide_once_normalised_keep_both_people(api_client_for, world):
    migration = importlib.import_module("referrals.migrations.0009_normalise_identifiers")
    adam, bill = Person.objects.create(), Person.objects.create()
    # As stored before normalisation: the same number in two spellings, for two people.
    PersonIdentifier.objects.bulk_create(
        [
            PersonIdentifier(person=adam, system=SYSTEM, value=HELD, normalised="", collision=7),
            PersonIdentifier(person=bill, system=SYSTEM, value="pnc-test-0001", normalised=""),
        ]
    )

    migration.normalise_all(apps, None)

    rows = PersonIdentifier.objects.order_by("id").values_list("person", "normalised", "collision")
    assert list(rows) == [(adam.pk, "pnc-test-0001", 0), (bill.pk, "pnc-test-0001", 1)]
    # The number now names two people: a caller knowing neither gets a new person, bound to
    # nothing (DESIGN.md, *Bodies*: matching never tells what the hub holds).
    police = api_client_for(world[AgencyKind.POLICE])
    referral = created(refer(police, world["programme"], HELD))
    assert referral["subject"]["identity"]["id"] not in {str(adam.pk), str(bill.pk)}
    assert PersonIdentifier.objects.count() == 2
