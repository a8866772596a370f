"""Test data, one factory per state."""

import factory

from agencies.models import Agency, AgencyKind
from referrals.models import Approach, Modality, Programme


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Test agency {n}")
    kind = AgencyKind.PROBATION
    active = True


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme

    provider = factory.SubFactory(AgencyFactory, kind=AgencyKind.PROGRAMME_PROVIDER)
    name = factory.Sequence(lambda n: f"Programme {n}")
    approach = Approach.CRIMINOLOGICAL
    modality = Modality.GROUP
    capacity = 12
    active = True


class CouplesProgrammeFactory(ProgrammeFactory):
    modality = Modality.COUPLES
    approach = Approach.PSYCHOTHERAPEUTIC


class InactiveProgrammeFactory(ProgrammeFactory):
    active = False
