"""How a strong identifier is compared: one spelling per identifier, whatever the keyboard.

The same police number arrives typed, pasted from a PDF (U+2010 hyphens, a soft hyphen), from
a phone (fullwidth letters, a trailing zero-width space) or from a system set to Arabic digits.
Each spelling must find the man already held, or his history and subject-access report split
(DESIGN.md, *Bodies*: matching uses the same `system` and normalised `value`). What was sent is
kept for display on the referral; only the comparison uses `normalised`.
"""

import unicodedata

# What PersonIdentifier.value and .normalised hold.
IDENTIFIER_LENGTH = 100

# Registers whose identifiers differ by case. None known: PNC, NHS, prison and court numbers are
# issued in capitals and read back case-blind, and no register issues two numbers that differ
# only by case, so every system is case-blind until one is shown to be otherwise.
CASE_SENSITIVE_SYSTEMS: frozenset[str] = frozenset()

# Dashes that are not dash punctuation (category Pd, folded below): the minus signs.
MINUS_SIGNS = frozenset("\u2212\u207b\u208b")


def _folded(char: str) -> str:
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


def normalise(*, system: str, value: str) -> str:
    """The form of `value` that matching compares: NFKC, invisible characters removed, dashes
    to '-', every script's decimal digits to ASCII, case folded unless `system` is case-
    sensitive, surrounding whitespace stripped."""
    text = "".join(_folded(char) for char in unicodedata.normalize("NFKC", value))
    if system not in CASE_SENSITIVE_SYSTEMS:
        # Case folding can leave text outside NFKC, so normalise once more.
        text = unicodedata.normalize("NFKC", text.casefold())
    return text.strip()
