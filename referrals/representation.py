"""The referrals app's response shapes: for each, one serializer that renders the body and is
what the OpenAPI schema documents (issue 13, item 3). A referral as one agency may see it, its
reports, its history, the partner-contact task, the change feed and the lifecycle.

A shape of one referral is rendered for one reader, the context holding its disclosure decision
and naming rule (`reader_context`). Every key belongs to a data category (DESIGN.md, *Data
categories*: each serializer's `Meta.categories`); a key of a category the decision withholds
is never read from the referral: it is left out (or, where the shape keeps the key, given its
empty value), and `withheld` lists the withheld categories the shape holds, with their reasons.

Stored JSON (the man's identity and contact, the offence, risk, the partner's identity and
contact, the children, what a report or a partner.disclosures entry says) is served as stored,
documented by the request serializers that validated it (referrals.serializers). Passing it
through DRF fields would change what agencies have always been served, and the ETags over it:
keys stored before a field existed would be dropped, a missing optional key would become null
and PostgreSQL's jsonb key order would be replaced by the fields'.
"""

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, ClassVar

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import SkipField

from core.serializers import timestamp
from core.vocabulary import CATEGORY_VALUES, WITHHOLD_REASON_VALUES, Category
from referrals.models import Amendment, EventType, Referral, Status, Transition
from referrals.selectors import parties_of, updated_at_seen
from referrals.serializers import (
    ATTENDANCE,
    REPORT_SERIALIZERS,
    ChildViewSerializer,
    DisclosureSerializer,
    OffenceSerializer,
    PartnerContactSerializer,
    PartnerIdentitySerializer,
    RiskSerializer,
    SubjectContactSerializer,
    SubjectIdentitySerializer,
    age_on,
)
from referrals.states import RISK_LEVELS, RISK_TOOLS
from sharing_policies.decision import Decision
from sharing_policies.naming import Naming, may_name_partner_service, naming_in_referral

ADMIN = Category.REFERRAL_ADMIN


def referral_naming(referral: Referral, decision: Decision) -> Naming:
    """The naming rule (sharing_policies.naming) for the reader this decision was made for."""
    return naming_in_referral(parties=parties_of(referral), decision=decision)


def reader_context(referral: Referral, decision: Decision) -> dict[str, Any]:
    """The context of a shape of this referral for one reader: its disclosure decision, and
    whom it may be told of (a victim service only by its kind, where the rule says so)."""
    return {"decision": decision, "naming": referral_naming(referral, decision)}


def rendered(field: serializers.Field, instance: Any) -> Any:
    """One field's value, as DRF's `Serializer.to_representation` renders it (None as null).
    Raises SkipField for an optional attribute the instance lacks."""
    attribute = field.get_attribute(instance)
    return None if attribute is None else field.to_representation(attribute)


# --- Fields --------------------------------------------------------------------------------------


class Timestamp(serializers.DateTimeField):
    """A moment as the API writes it: ISO 8601 in UTC, with a `Z` (core.serializers)."""

    def to_representation(self, value: Any) -> str:
        return timestamp(value)


class AgencyName(serializers.CharField):
    """An agency as this reader may be told of it: its id, or only its kind,
    `victim_service`, where the naming rule (sharing_policies.naming) says so."""

    def to_representation(self, value: Any) -> str | None:
        return self.context["naming"].agency(value)


class AgencyIds(serializers.ListField):
    """Agencies (a related manager) as their ids, sorted."""

    def to_representation(self, data: Any) -> list[str]:
        return sorted(str(agency.id) for agency in data.all())


class SeenUpdatedAt(Timestamp):
    """When this reader's view last changed (referrals.selectors.updated_at_seen), never when
    something withheld from it did."""

    def get_attribute(self, instance: Referral) -> Any:
        return updated_at_seen(instance, self.context["decision"])


class Stored(serializers.Field):
    """JSON served exactly as stored (see the module's docstring), documented by
    `documented_as`, the request serializer that validated it."""

    def __init__(self, documented_as: serializers.BaseSerializer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        extend_schema_field(documented_as)(self)

    def to_representation(self, value: Any) -> Any:
        return value


class OfReferral(Stored):
    """Stored JSON of a referral that takes more than one of its columns to serve: rendered
    from the referral itself (`source="*"` unless given)."""

    def __init__(self, documented_as: serializers.BaseSerializer, **kwargs: Any) -> None:
        kwargs.setdefault("source", "*")
        super().__init__(documented_as, **kwargs)


class PersonIdentity(OfReferral):
    """A person's identity as stored, after their person id in the hub (`subject` or
    `partner`); null where the referral names no such person."""

    def __init__(self, documented_as: serializers.BaseSerializer, *, person: str, **kwargs: Any):
        self.person = person
        super().__init__(documented_as, **kwargs)

    def to_representation(self, value: Referral) -> dict[str, Any] | None:
        person_id = getattr(value, f"{self.person}_id")
        if person_id is None:
            return None
        return {"id": str(person_id), **(getattr(value, f"{self.person}_identity") or {})}


class DisclosureEntries(OfReferral):
    """partner.disclosures: the entries of the suppliers the decision lets this reader see
    (`Decision.disclosure_entries_from`), each naming its supplier as the naming rule allows;
    only those of one `kind` where given. What an entry says (`details`) is stored JSON."""

    def __init__(
        self, documented_as: serializers.BaseSerializer, *, kind: str | None = None, **kwargs: Any
    ) -> None:
        self.kind = kind
        super().__init__(documented_as, **kwargs)

    def to_representation(self, value: Referral) -> list[dict[str, Any]]:
        visible_from = self.context["decision"].disclosure_entries_from
        naming = self.context["naming"]
        entries = [
            {
                "id": str(entry.id),
                "supplier": naming.agency(entry.supplier_id),
                "recorded_at": timestamp(entry.recorded_at),
                **({"disclosed_on": entry.disclosed_on.isoformat()} if entry.disclosed_on else {}),
                "kind": entry.kind,
                **entry.details,
                "summary": entry.summary,
            }
            for entry in value.disclosures.all()
            if visible_from is not None and entry.supplier_id in visible_from
        ]
        if self.kind is None:
            return entries
        return [entry for entry in entries if entry.get("kind") == self.kind]


class Children(OfReferral):
    """The children as stored, each one's age as of today where its date of birth is known."""

    def to_representation(self, value: Referral) -> Any:
        if not isinstance(value.children, list):
            return value.children or []
        today = timezone.localdate()
        return [child_today(child, today) for child in value.children]


def child_today(child: Any, today: date) -> Any:
    born = child.get("date_of_birth") if isinstance(child, dict) else None
    try:
        return {**child, "age": age_on(date.fromisoformat(born), today)} if born else child
    except (TypeError, ValueError):  # not a date (stored before dates were checked)
        return child


# --- Shapes of one referral for one reader -------------------------------------------------------


class DecidedSerializer(serializers.Serializer):
    # A shape of one referral for one reader (the context: `reader_context`). Its `Meta` says
    # which data category each key belongs to (`categories`), the keys every reader gets
    # (`always`: none of a category's data, such as `withheld`), the keys shown by a rule of
    # their own (`shown_by`: decision -> shown), and the keys kept, empty, when their category
    # is withheld (`kept_empty`). A nested shape (a group such as `subject`) is present when
    # any of its keys is. A key with none of these fails when the class is defined: nothing
    # reaches a body without a category. Only the keys shown are read from the instance.
    # `holding`: the categories of this shape one use of it answers with (the partner-contact
    # task holds the partner's identity and contact; her disclosures are its `attempts`).
    # (Comments, not a docstring: the schema would give it to every shape.)

    class Meta:
        categories: ClassVar[dict[str, Category]] = {}
        always: ClassVar[tuple[str, ...]] = ()
        shown_by: ClassVar[dict[str, Callable[[Decision], bool]]] = {}
        kept_empty: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        meta = cls.Meta
        for name, field in cls._declared_fields.items():
            grouped = isinstance(field, DecidedSerializer)
            if not (grouped or name in meta.categories or name in meta.always):
                raise TypeError(
                    f"{cls.__name__}.{name} belongs to no data category: name it in "
                    "Meta.categories (or Meta.always, for what holds no category's data)."
                )

    def __init__(self, *args: Any, holding: Iterable[Category] | None = None, **kwargs: Any):
        self.holding = None if holding is None else frozenset(holding)
        super().__init__(*args, **kwargs)

    def shows(self, name: str, decision: Decision) -> bool:
        """Whether this reader gets the key `name` of this shape."""
        field, meta = self.fields[name], self.Meta
        if isinstance(field, DecidedSerializer):
            return any(field.shows(member, decision) for member in field.fields)
        if name in meta.always:
            return True
        category = meta.categories[name]
        if self.holding is not None and category not in self.holding:
            return False
        rule = meta.shown_by.get(name)
        return rule(decision) if rule else decision.sees(category)

    def categories_held(self) -> frozenset[Category]:
        """The categories this shape (as used here) holds: those its `withheld` speaks of."""
        held: set[Category] = set()
        for name, field in self.fields.items():
            if isinstance(field, DecidedSerializer):
                held |= field.categories_held()
            elif name in self.Meta.categories:
                held.add(self.Meta.categories[name])
        return frozenset(held if self.holding is None else held & self.holding)

    def places(self) -> dict[Category, tuple[str, ...]]:
        """Where this shape keeps each category's data: the key of the one field that is the
        category (DESIGN.md: a category's name is its path), `referral.admin`'s keys and keys
        shown by a rule of their own aside."""
        places: dict[Category, tuple[str, ...]] = {}
        for name, field in self.fields.items():
            if isinstance(field, DecidedSerializer):
                places.update({c: (name, *path) for c, path in field.places().items()})
            elif name in self.Meta.categories and name not in self.Meta.shown_by:
                category = self.Meta.categories[name]
                if category is not ADMIN:
                    places[category] = (name,)
        return places

    def by_category(self) -> dict[Category, Any]:
        """This rendering (`.data`), category by category: each category shown, taken from its
        place."""
        found: dict[Category, Any] = {}
        for category, path in self.places().items():
            value = self.data
            for key in path:
                if not isinstance(value, dict) or key not in value:
                    break
                value = value[key]
            else:
                found[category] = value
        return found

    def to_representation(self, instance: Any) -> dict[str, Any]:
        decision = self.context.get("decision")
        if not isinstance(decision, Decision):
            raise TypeError(f"{type(self).__name__} renders for a reader: give it reader_context.")
        body: dict[str, Any] = {}
        for name, field in self.fields.items():
            if not self.shows(name, decision):
                if name in self.Meta.kept_empty:
                    body[name] = []
                continue  # withheld: never read
            try:
                body[name] = rendered(field, instance)
            except SkipField:
                continue
        return body


class WithheldSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=CATEGORY_VALUES)
    reason = serializers.ChoiceField(choices=WITHHOLD_REASON_VALUES)


class WithheldList(serializers.ListSerializer):
    # `withheld`: the categories of its shape that the decision withholds, each with the first
    # reason that applies (DESIGN.md); never their content. Read from the decision, not the
    # instance.

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=WithheldSerializer(), **kwargs)

    def get_attribute(self, instance: Any) -> list[Any]:
        held = self.parent.categories_held()
        return [w for w in self.context["decision"].withheld if w.category in held]


class ReportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=list(REPORT_SERIALIZERS))
    written_at = Timestamp()
    # What the provider wrote (Report.content), as stored: these document its keys.
    suitable = serializers.BooleanField(required=False)
    session_date = serializers.DateField(required=False)
    attendance = serializers.ChoiceField(choices=ATTENDANCE, required=False)
    level = serializers.ChoiceField(choices=RISK_LEVELS, required=False)
    tool = serializers.ChoiceField(choices=list(RISK_TOOLS), required=False)
    urgent = serializers.BooleanField(required=False)
    completed = serializers.BooleanField(required=False)
    summary = serializers.CharField(required=False)

    # The report's own columns; then its content, as stored (see the module's docstring).
    COLUMNS = ("id", "kind", "written_at")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        columns = {name: rendered(self.fields[name], instance) for name in self.COLUMNS}
        return {**columns, **instance.content}


class ReportItems(serializers.ListField):
    """Reports, each as ReportSerializer renders it. The committed schema has described them
    as plain objects since progress was first served, and keeps doing so (it only grows)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=ReportSerializer(), **kwargs)
        extend_schema_field(
            {"type": "array", "items": {"type": "object", "additionalProperties": {}}}
        )(self)


class ProgrammeProgressSerializer(serializers.Serializer):
    reports = ReportItems(
        source="reports.all",
        help_text="The provider's reports: assessment, attendance, risk changes, completion.",
    )


@extend_schema_serializer(component_name="Subject")
class ReferralSubjectSerializer(DecidedSerializer):
    identity = PersonIdentity(SubjectIdentitySerializer(), person="subject", required=False)
    contact = Stored(
        SubjectContactSerializer(), source="subject_contact", required=False, allow_null=True
    )

    class Meta(DecidedSerializer.Meta):
        categories = {"identity": Category.SUBJECT_IDENTITY, "contact": Category.SUBJECT_CONTACT}


@extend_schema_serializer(component_name="Partner")
class ReferralPartnerSerializer(DecidedSerializer):
    identity = PersonIdentity(
        PartnerIdentitySerializer(), person="partner", required=False, allow_null=True
    )
    contact = Stored(
        PartnerContactSerializer(), source="partner_contact", required=False, allow_null=True
    )
    disclosures = DisclosureEntries(DisclosureSerializer(many=True), required=False)

    class Meta(DecidedSerializer.Meta):
        categories = {
            "identity": Category.PARTNER_IDENTITY,
            "contact": Category.PARTNER_CONTACT,
            "disclosures": Category.PARTNER_DISCLOSURES,
        }


class ReferralSerializer(DecidedSerializer):
    """A referral as the caller may see it: the key of every disclosed category, no other."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Status.choices)
    referrer = serializers.CharField(source="referrer_id")
    provider = serializers.CharField(source="provider_id")
    observers = AgencyIds(child=serializers.CharField())
    programme = serializers.UUIDField(source="programme_id")
    created_at = Timestamp()
    updated_at = SeenUpdatedAt()
    partner_service = AgencyName(
        source="partner_service_id",
        required=False,
        allow_null=True,
        help_text="Part of `partner.identity`; the partner service itself always sees it.",
    )
    subject = ReferralSubjectSerializer(source="*", required=False)
    offence = Stored(OffenceSerializer(), required=False, allow_null=True)
    risk = Stored(RiskSerializer(), required=False, allow_null=True)
    programme_progress = ProgrammeProgressSerializer(source="*", required=False)
    partner = ReferralPartnerSerializer(source="*", required=False)
    children = Children(ChildViewSerializer(many=True), required=False)
    withheld = WithheldList(
        help_text="Every category not disclosed to the caller, with the first reason that "
        "applies; never its content.",
    )

    class Meta(DecidedSerializer.Meta):
        categories = {
            **dict.fromkeys(
                (
                    "id",
                    "status",
                    "referrer",
                    "provider",
                    "observers",
                    "programme",
                    "created_at",
                    "updated_at",
                ),
                ADMIN,
            ),
            "partner_service": Category.PARTNER_IDENTITY,
            "offence": Category.OFFENCE,
            "risk": Category.RISK,
            "programme_progress": Category.PROGRAMME_PROGRESS,
            "children": Category.CHILDREN,
        }
        always = ("withheld",)
        # Part of partner.identity, yet the partner service always sees its own role: the
        # naming rule says to whom it is named.
        shown_by = {"partner_service": may_name_partner_service}


def render_referral(referral: Referral, decision: Decision) -> dict[str, Any]:
    """The reader's minimised view of a referral: every disclosed category's key, and no
    withheld one."""
    return ReferralSerializer(referral, context=reader_context(referral, decision)).data


def referral_rendering() -> Callable[[Referral, Decision], dict[str, Any]]:
    """`render_referral` for the referrals of a page, by one serializer whose fields are built
    once: building them for each referral was two fifths of a page of 50 (a profile of GET
    referrals/). Each referral is rendered with its own decision and naming rule: every field
    reads the context from the root serializer, which is given each referral's in turn."""
    serializer = ReferralSerializer()

    def render(referral: Referral, decision: Decision) -> dict[str, Any]:
        serializer._context = reader_context(referral, decision)
        return serializer.to_representation(referral)

    return render


class ReportListSerializer(DecidedSerializer):
    results = ReportSerializer(many=True, source="reports.all")
    withheld = WithheldList()

    class Meta(DecidedSerializer.Meta):
        categories = {"results": Category.PROGRAMME_PROGRESS}
        always = ("withheld",)
        kept_empty = ("results",)


class TaskField(serializers.DictField):
    """The partner-contact task itself (documented as an object since it was first served)."""

    def to_representation(self, value: Any) -> dict[str, str]:
        return {"id": str(value.id), "created_at": timestamp(value.created_at)}


class PartnerContactTaskSerializer(DecidedSerializer):
    # Renders {"task": the PartnerContactTask, "referral": its referral}.
    task = TaskField(help_text="`id`, `created_at`.")
    partner = ReferralPartnerSerializer(
        source="referral",
        required=False,
        help_text="As the disclosure decision allows.",
        holding=(Category.PARTNER_IDENTITY, Category.PARTNER_CONTACT),
    )
    attempts = DisclosureEntries(
        DisclosureSerializer(many=True), source="referral", kind="contact_attempt"
    )
    withheld = WithheldList()

    class Meta(DecidedSerializer.Meta):
        categories = {"attempts": Category.PARTNER_DISCLOSURES}
        always = ("task", "withheld")
        kept_empty = ("attempts",)


# --- The history ---------------------------------------------------------------------------------


class EntryKind(serializers.ChoiceField):
    def get_attribute(self, instance: Any) -> str:
        return HistoryEntrySerializer.KINDS[type(instance)]


class BlankAsNull(serializers.CharField):
    def get_attribute(self, instance: Any) -> Any:
        return super().get_attribute(instance) or None


class SeenChanges(serializers.DictField):
    """An amendment's changes to the categories this reader sees."""

    def get_attribute(self, instance: Amendment) -> dict[str, Any]:
        decision = self.context["decision"]
        return {c: change for c, change in instance.changes.items() if decision.sees(c)}


class EntryReason(BlankAsNull):
    """Why: for an amendment, free text about every category it changed, so shown only to a
    reader who sees them all (a reason may speak of her contact)."""

    def get_attribute(self, instance: Any) -> Any:
        if isinstance(instance, Amendment):
            decision = self.context["decision"]
            if not all(decision.sees(category) for category in instance.changes):
                return None
        return super().get_attribute(instance)


class HistoryEntrySerializer(serializers.Serializer):
    type = EntryKind(choices=["transition", "amendment"])
    id = serializers.UUIDField()
    at = Timestamp()
    by = AgencyName(source="by_id", help_text="The agency that made the move or the amendment.")
    from_status = serializers.ChoiceField(choices=Status.choices, required=False)
    to_status = serializers.ChoiceField(choices=Status.choices, required=False)
    reason_code = BlankAsNull(allow_null=True, required=False)
    reason = EntryReason(allow_null=True)
    changes = SeenChanges(
        required=False,
        help_text="Amendments: {category: {old, new}}, only for categories you may see.",
    )

    KINDS: ClassVar[dict[type, str]] = {Transition: "transition", Amendment: "amendment"}
    # Each kind's keys, in the order entries have always been served in.
    KEYS: ClassVar[dict[str, tuple[str, ...]]] = {
        "transition": (
            "type",
            "id",
            "at",
            "by",
            "from_status",
            "to_status",
            "reason_code",
            "reason",
        ),
        "amendment": ("type", "id", "at", "by", "changes", "reason"),
    }

    def to_representation(self, instance: Any) -> dict[str, Any]:
        keys = self.KEYS[self.KINDS[type(instance)]]
        return {name: rendered(self.fields[name], instance) for name in keys}


class HistoryEntries(serializers.ListSerializer):
    # A referral's moves, and its amendments of something the reader sees, oldest first.

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=HistoryEntrySerializer(), **kwargs)

    def to_representation(self, data: Referral) -> list[dict[str, Any]]:
        decision = self.context["decision"]
        amendments = [a for a in data.amendments.all() if any(decision.sees(c) for c in a.changes)]
        entries = [self.child.to_representation(row) for row in data.transitions.all()]
        entries += [self.child.to_representation(row) for row in amendments]
        # By the moment as written, a move before an amendment written at the same one.
        return sorted(entries, key=lambda entry: entry["at"])


class HistorySerializer(serializers.Serializer):
    # Renders a referral (context: reader_context).
    results = HistoryEntries(source="*")


# --- The change feed -----------------------------------------------------------------------------


class EventSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    position = serializers.IntegerField(help_text="Its place in your feed: pass it as `after`.")
    type = serializers.ChoiceField(choices=EventType.choices)
    referral = serializers.UUIDField(source="referral_id")
    at = Timestamp()
    about = serializers.DictField(help_text="Ids and types only: fetch the resource to see it.")


class EventPageSerializer(serializers.Serializer):
    # Renders {"results": events, "next": the next page's address or None}.
    results = EventSerializer(many=True)
    next = serializers.URLField(
        allow_null=True, help_text="Where to poll next; null when there is nothing new yet."
    )


# --- The lifecycle -------------------------------------------------------------------------------


class MoveSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Status.choices, source="target")
    by = serializers.ChoiceField(choices=["provider", "referrer"])
    requires = serializers.ListField(child=serializers.CharField())

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so the field is added here.
        source = serializers.ChoiceField(choices=Status.choices, source="source")
        return {"from": source, **super().get_fields()}


class StatesSerializer(serializers.Serializer):
    # Renders referrals.states.LIFECYCLE.
    statuses = serializers.ListField(child=serializers.ChoiceField(choices=Status.choices))
    open = serializers.ListField(child=serializers.ChoiceField(choices=Status.choices))
    initial = serializers.ChoiceField(choices=Status.choices)
    moves = MoveSerializer(many=True)
    reason_codes = serializers.ListField(child=serializers.CharField())
    report_kinds = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    risk_tools = serializers.DictField(
        child=serializers.ListField(child=serializers.ChoiceField(choices=RISK_LEVELS)),
        help_text="Each risk tool and its levels, lowest first.",
    )
