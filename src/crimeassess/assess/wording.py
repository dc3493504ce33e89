"""Number and word formatting for plain-English findings and reports.

Prose conventions: thousands separators ("31,589"), percentages to one decimal ("8.9%"), the Unicode minus
sign "−" (U+2212) for negative numbers, ordinals in words up to tenth ("fourth") and in figures after
("11th"), UK-style lists without an Oxford comma ("A, B and C").
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

from crimeassess.errors import InputError

MINUS = "\u2212"
#: What the formatters print for an unavailable (None) value.
NOT_AVAILABLE = "n/a"

_ORDINAL_WORDS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]


def _number(x: object, what: str) -> float | int | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, Real):
        raise InputError(f"{what} must be a number, not {x!r}")
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def format_int(n: int | float | None, signed: bool = False) -> str:
    """31589 -> '31,589'; -145 -> '−145'; signed=True adds '+' to positives; None -> 'n/a'.

    Floats are rounded to the nearest whole number.
    """
    v = _number(n, "format_int value")
    if v is None:
        return NOT_AVAILABLE
    i = int(round(v))
    body = f"{abs(i):,}"
    if i < 0:
        return MINUS + body
    if signed and i > 0:
        return "+" + body
    return body


def format_pct(x: float | None, signed: bool = False) -> str:
    """8.94 -> '8.9%'; -5.9 -> '−5.9%'; signed=True gives '+16.0%'; values rounding to zero give '0.0%'.

    None (e.g. a change from a zero base) gives 'n/a'.
    """
    v = _number(x, "format_pct value")
    if v is None:
        return NOT_AVAILABLE
    if math.isinf(v):
        raise InputError("format_pct value must be finite (a change from zero is None, not infinite)")
    r = round(float(v), 1)
    if r == 0:
        return "0.0%"
    body = f"{abs(r):,.1f}%"
    if r < 0:
        return MINUS + body
    return ("+" + body) if signed else body


def ordinal_word(n: int) -> str:
    """1 -> 'first' … 10 -> 'tenth', then figures: 11 -> '11th', 22 -> '22nd', 113 -> '113th'."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"ordinal_word needs a whole number of at least 1, not {n!r}")
    if n <= len(_ORDINAL_WORDS):
        return _ORDINAL_WORDS[n - 1]
    if n % 100 in (11, 12, 13):
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def pluralise(word: str) -> str:
    """English plural of the last word of a phrase: ward -> wards, property -> properties, box -> boxes."""
    head, sep, last = word.rpartition(" ")
    low = last.lower()
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        last = last[:-1] + "ies"
    elif low.endswith(("s", "x", "z", "ch", "sh")):
        last = last + "es"
    else:
        last = last + "s"
    return head + sep + last


def plural(n: int | float | None, word: str, plural_form: str | None = None) -> str:
    """The count and the right form of the word: plural(1, 'ward') -> '1 ward'; plural(1044, 'crime') ->
    '1,044 crimes'. Pass plural_form for irregular phrases ('incident of ASB' -> 'incidents of ASB')."""
    v = _number(n, "plural count")
    if v is None:
        return f"{NOT_AVAILABLE} {plural_form or pluralise(word)}"
    form = word if v == 1 else (plural_form or pluralise(word))
    return f"{format_int(v)} {form}"


def join_and(items: Sequence[str], conjunction: str = "and") -> str:
    """['A'] -> 'A'; ['A', 'B'] -> 'A and B'; ['A', 'B', 'C'] -> 'A, B and C'; [] -> ''."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def sentence_case(text: str) -> str:
    """Capitalise the first character only ('knife crime' -> 'Knife crime'; 'ASB' stays 'ASB')."""
    return text[:1].upper() + text[1:] if text else text
