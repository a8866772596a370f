"""Template filters for GOV.UK forms."""

from datetime import timedelta

from django import forms, template
from django.forms.boundfield import BoundField

register = template.Library()


@register.filter
def first_input_id(field: BoundField) -> str:
    """The id an error summary links to: a radios or checkboxes group's first input (GOV.UK's
    error summary guidance), else the field's own input."""
    if isinstance(field.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return f"{field.auto_id}_0"
    return field.id_for_label


@register.filter
def minutes(duration: timedelta | None) -> int:
    """Whole minutes of a duration (a lockout's cool-off, say), rounded up."""
    if duration is None:
        return 0
    return -(-int(duration.total_seconds()) // 60)
