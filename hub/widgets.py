"""GOV.UK Frontend's inputs as Django widgets, for every form of the web pages (one place for
their classes: govuk-input, govuk-textarea, govuk-select; WEB-NOTES.md)."""

from django import forms


def text_input(width: str = "", **attrs: str) -> forms.TextInput:
    """A text input; `width` is one of GOV.UK's fixed widths (10, 20, ...) or "" for the full."""
    css = f"govuk-input govuk-input--width-{width}" if width else "govuk-input"
    return forms.TextInput(attrs={"class": css, **attrs})


def textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"class": "govuk-textarea", "rows": rows})


def select() -> forms.Select:
    return forms.Select(attrs={"class": "govuk-select"})


def date_input() -> forms.DateInput:
    """The browser's date picker, which submits YYYY-MM-DD."""
    return forms.DateInput(attrs={"type": "date", "class": "govuk-input govuk-input--width-10"})


def datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(
        attrs={"type": "datetime-local", "class": "govuk-input govuk-input--width-20"}
    )
