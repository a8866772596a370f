"""Every string the web pages show a person is translatable (issue 14, item 2: "Every UI string
translatable (Django i18n)"): in the hub's templates, no text stands outside a translation tag,
a variable or markup. Read from the templates themselves, so that a page added later is held
to it from its first day."""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[1] / "hub" / "templates"
TAG_BLOCKS = re.compile(
    r"{%\s*(blocktranslate|blocktrans|comment)\b.*?{%\s*end(blocktranslate|blocktrans|comment)\s*%}",
    re.S,
)
DJANGO = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
MARKUP = re.compile(r"<!--.*?-->|<script.*?</script>|<style.*?</style>|<[^>]+>", re.S)
# What may stand outside a translation: punctuation and symbols between variables.
NOT_WORDS = re.compile(r"^[\s\W\d]*$")


def untranslated(source: str) -> list[str]:
    text = TAG_BLOCKS.sub(" ", source)
    text = DJANGO.sub(" ", text)
    text = MARKUP.sub(" ", text)
    text = text.replace("&nbsp;", " ").replace("&ndash;", " ").replace("&middot;", " ")
    return [line.strip() for line in text.splitlines() if not NOT_WORDS.match(line)]


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_no_template_shows_text_outside_a_translation(template):
    assert untranslated(template.read_text()) == []


def test_the_check_finds_untranslated_text():
    assert untranslated("<p>{% translate 'Fine' %}</p><p>Not fine</p>") == ["Not fine"]
    assert untranslated("<p>{{ name }} \u2013 {{ other }}</p>") == []
