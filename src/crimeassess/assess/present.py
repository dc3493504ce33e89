"""The one presentation layer: how every output (terminal, report, dashboard, findings) writes numbers and words.

Conventions: thousands separators ("31,589"); percentages to one decimal ("8.9%"); one minus sign, the
Unicode "−" (U+2212); one mark for a missing value, the en dash "–" (a missing value is never shown as 0);
signed changes "+145" / "−145"; periods in words ("March 2018", "2017/18", "April–September 2017");
theme names lower case mid-sentence except acronyms and proper nouns; ordinals in words up to tenth
("fourth") and in figures after ("11th"); UK-style lists without an Oxford comma ("A, B and C").

:func:`print_assessment` writes an assessment for the terminal with these functions. The strict functions
(:func:`count`, :func:`pct`, …) raise :class:`InputError` for a value that is not a
number; :data:`FILTERS` holds lenient versions for Jinja templates, which also take Jinja's Undefined and
pass unexpected text through unchanged.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from numbers import Real
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import InputError

MINUS = "\u2212"
#: The one mark for a missing value (None, NaN, a change from zero) in every output.
BLANK = "\u2013"
#: Dagger after a % change from small numbers.
SMALL_MARK = "\u2020"

MONTHS = ["January", "February", "March", "April", "May", "June",
          "July", "August", "September", "October", "November", "December"]
_ORDINAL_WORDS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

#: Period kind -> the adjective in "the fourth consecutive annual rise".
RUN_NOUNS: dict[str, str] = {"fy": "annual", "year": "annual", "quarter": "quarterly", "month": "monthly"}
#: Words kept as written mid-sentence (besides all-capital acronyms such as ASB).
PROPER_WORDS = frozenset({"Home", "Office", "ONS", "Police.uk", "England", "Wales", "British", "Transport", "Police"})


# ------------------------------------------------------------------------------------------------- numbers
def is_missing(value: Any) -> bool:
    """True for None, NaN, empty text and Jinja's Undefined."""
    if value is None or (isinstance(value, str) and value == ""):
        return True
    if type(value).__name__.endswith("Undefined"):
        return True
    return isinstance(value, float) and math.isnan(value)


def _number(x: object, what: str) -> float | int | None:
    if is_missing(x):
        return None
    if isinstance(x, bool) or not isinstance(x, Real):
        raise InputError(f"{what} must be a number, not {x!r}")
    return x


def _signed(body: str, negative: bool, positive: bool, signed: bool) -> str:
    if negative:
        return MINUS + body
    return ("+" + body) if (signed and positive) else body


def count(n: int | float | None, signed: bool = False) -> str:
    """31589 -> '31,589'; -145 -> '−145'; signed=True adds '+' to positives; None -> '–'.

    Floats are rounded to the nearest whole number.
    """
    v = _number(n, "count")
    if v is None:
        return BLANK
    i = int(round(v))
    return _signed(f"{abs(i):,}", i < 0, i > 0, signed)


def change(n: int | float | None) -> str:
    """A signed change in a count: 145 -> '+145', -145 -> '−145', 0 -> '0'."""
    return count(n, signed=True)


def pct(x: float | None, signed: bool = False, digits: int = 1) -> str:
    """8.94 -> '8.9%'; -5.9 -> '−5.9%'; signed=True gives '+16.0%'; values rounding to zero give '0.0%'.

    None (e.g. a change from a zero base) gives '–'.
    """
    v = _number(x, "percentage")
    if v is None:
        return BLANK
    if math.isinf(v):
        raise InputError("a percentage must be finite (a change from zero is None, not infinite)")
    r = round(float(v), digits)
    if r == 0:
        return f"{0:.{digits}f}%"
    return _signed(f"{abs(r):,.{digits}f}%", r < 0, r > 0, signed)


def pct_change(x: float | None) -> str:
    """A % change as tables show it, always signed: '+8.9%', '−5.9%', '0.0%', '–'."""
    return pct(x, signed=True)


def share(x: float | None, digits: int = 1) -> str:
    """A 0–1 share as a percentage: 0.983 -> '98.3%'."""
    v = _number(x, "share")
    return BLANK if v is None else pct(float(v) * 100, digits=digits)


def points(x: float | None, digits: int = 1) -> str:
    """A change in percentage points, signed: 2.14 -> '+2.1 points'; -0.3 -> '−0.3 points'; None -> '–'."""
    v = _number(x, "points")
    if v is None:
        return BLANK
    r = round(float(v), digits)
    if r == 0:
        return f"{0:.{digits}f} points"
    return _signed(f"{abs(r):,.{digits}f} points", r < 0, r > 0, True)


def rate(x: float | None, digits: int = 1) -> str:
    """A rate per 1,000: 133.42 -> '133.4'; None -> '–'."""
    v = _number(x, "rate")
    if v is None:
        return BLANK
    r = round(float(v), digits)
    return _signed(f"{abs(r):,.{digits}f}", r < 0, False, False)


def p_value(p: float | None) -> str:
    """'<0.001', '0.023', '0.41'."""
    v = _number(p, "p-value")
    if v is None:
        return BLANK
    if v < 0.001:
        return "<0.001"
    return f"{v:.3f}" if v < 0.01 else f"{v:.2f}"


def p_statement(p: float | None) -> str:
    """'p < 0.001', 'p = 0.023'."""
    text = p_value(p)
    return "p < 0.001" if text == "<0.001" else f"p = {text}"


def direction(value: Any) -> str:
    """'up' / 'down' / 'unchanged' for a signed change; '' when missing."""
    if is_missing(value) or isinstance(value, bool) or not isinstance(value, Real):
        return ""
    return "up" if value > 0 else "down" if value < 0 else "unchanged"


# ------------------------------------------------------------------------------------------------- words
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
        return f"{BLANK} {plural_form or pluralise(word)}"
    form = word if v == 1 else (plural_form or pluralise(word))
    return f"{count(v)} {form}"


def join_and(items: Sequence[str], conjunction: str = "and") -> str:
    """['A'] -> 'A'; ['A', 'B'] -> 'A and B'; ['A', 'B', 'C'] -> 'A, B and C'; [] -> ''."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def sentence_case(text: str) -> str:
    """Capitalise the first character only ('knife crime' -> 'Knife crime'; 'ASB' stays 'ASB')."""
    return text[:1].upper() + text[1:] if text else text


def theme_name(label: str) -> str:
    """A theme or category name mid-sentence: 'Serious knife crime' -> 'serious knife crime';
    'ASB' and 'Home Office …' keep their capitals."""
    if not label:
        return label
    first, sep, rest = label.partition(" ")
    if (len(first) > 1 and first.isupper()) or first in PROPER_WORDS or any(c.isupper() for c in first[1:]):
        return label
    return first[:1].lower() + first[1:] + sep + rest


def humanise_key(key: Any) -> str:
    """'months_missing' -> 'Months missing'; 'blank_lsoa_rate' -> 'Blank LSOA rate'."""
    words = str(key).replace("_", " ").replace("-", " ").split()
    return sentence_case(" ".join(_ACRONYMS.get(w.lower(), w) for w in words))


_ACRONYMS = {"lsoa": "LSOA", "msoa": "MSOA", "asb": "ASB", "id": "ID", "url": "URL", "pct": "%",
             "csv": "CSV", "api": "API", "ons": "ONS", "pfa": "PFA", "csp": "CSP", "lad": "LAD"}


# ---------------------------------------------------------------------------------------- runs, significance
def run_phrase(run: Any, period_kind: str | None = None, direction_word: str | None = None) -> str | None:
    """'the fourth consecutive annual rise' for a run of at least two steps (None otherwise).

    ``run`` is a mapping or object with ``direction`` ('rise' | 'fall' | 'none') and ``length``; with
    ``direction_word`` only a run in that direction is described.
    """
    get = run.get if isinstance(run, Mapping) else (lambda k: getattr(run, k, None))
    if run is None:
        return None
    d, n = get("direction"), get("length")
    if d not in ("rise", "fall") or not isinstance(n, int) or n < 2 or (direction_word and d != direction_word):
        return None
    noun = RUN_NOUNS.get((period_kind or "").lower())
    return f"the {ordinal_word(n)} consecutive {noun + ' ' if noun else ''}{d}"


def significance(row: Mapping[str, Any]) -> str:
    """The one significance label of a compared count: 'significant rise', 'significant fall' (by the sign
    of the test statistic ``z`` when given, else of the change), 'not significant', 'small numbers' (too few
    to test) or '' (no test)."""
    if not isinstance(row, Mapping):
        return ""
    if row.get("significant"):
        # The test's direction (Wheeler's Z) is the rate's: with months missing, a count can rise while the
        # monthly rate falls significantly.
        z, ch = row.get("z"), row.get("change")
        d = z if isinstance(z, Real) and z != 0 else ch
        return "significant fall" if isinstance(d, Real) and d < 0 else "significant rise"
    if row.get("small_numbers"):
        return "small numbers"
    if row.get("p_value") is not None or row.get("p_adjusted") is not None:
        return "not significant"
    return ""  # no test: nothing compared (no counts in one period), so nothing to call significant or not


def significance_class(row: Mapping[str, Any]) -> str:
    """CSS class for :func:`significance`: sig-rise, sig-fall, sig-small, sig-none or ''."""
    return {"significant rise": "sig-rise", "significant fall": "sig-fall", "small numbers": "sig-small",
            "not significant": "sig-none"}.get(significance(row), "")


# ------------------------------------------------------------------------------------------------ periods
def month_label(value: Any) -> str:
    """'2018-03' -> 'March 2018' (other text is returned unchanged)."""
    if is_missing(value):
        return BLANK
    m = _MONTH_RE.match(str(value))
    return f"{MONTHS[int(m.group(2)) - 1]} {m.group(1)}" if m else str(value)


def month_short(value: Any) -> str:
    """'2018-03' -> 'Mar 2018'."""
    m = _MONTH_RE.match(str(value)) if not is_missing(value) else None
    return f"{MONTHS[int(m.group(2)) - 1][:3]} {m.group(1)}" if m else month_label(value)


def date_label(value: Any) -> str:
    """ISO date/time -> '25 November 2026'; unparseable text is returned unchanged."""
    if is_missing(value):
        return BLANK
    if isinstance(value, (_dt.date, _dt.datetime)):
        d = value
    else:
        text = str(value).strip()
        try:
            d = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def month_span(start: Any, end: Any) -> str:
    """('2017-04', '2018-03') -> 'April 2017 to March 2018'."""
    if is_missing(start) and is_missing(end):
        return BLANK
    if start == end:
        return month_label(start)
    return f"{month_label(start)} to {month_label(end)}"


def month_range_words(start: str, end: str) -> str:
    """('2017-04', '2017-09') -> 'April–September 2017'; across years 'November 2017–February 2018'."""
    a, b = _MONTH_RE.match(start), _MONTH_RE.match(end)
    if not (a and b):
        return f"{start}\u2013{end}"
    if start == end:
        return month_label(start)
    if a.group(1) == b.group(1):
        return f"{MONTHS[int(a.group(2)) - 1]}\u2013{MONTHS[int(b.group(2)) - 1]} {a.group(1)}"
    return f"{month_label(start)}\u2013{month_label(end)}"


def outlier_sentence(disp: Mapping[str, Any] | None, series: str = "total") -> str | None:
    """How the dispersion estimate treated additive outliers of one series: 'October 2024 lay far outside the
    total's other months (an additive outlier, such as a backlog recorded at once), so the estimate gave it a
    term of its own (a one-month pulse, not a step); it still counts in every figure.' None without any."""
    months = [o.get("month") for o in (disp or {}).get("outliers") or [] if o.get("series") == series]
    if not months:
        return None
    one = len(months) == 1
    return (f"{join_and([month_label(m) for m in sorted(months)])} lay far outside the {series}'s other months "
            f"({'an additive outlier' if one else 'additive outliers'}, such as a backlog recorded at once), so the "
            f"estimate gave "
            f"{'it a term' if one else 'each a term'} of its own (a one-month pulse, not a step); "
            f"{'it still counts' if one else 'they still count'} in every figure.")


def compress_months(months: Iterable[Any]) -> str:
    """['2017-02','2017-03','2017-04','2018-03'] -> 'Feb 2017 – Apr 2017, Mar 2018'; [] -> 'none'; one month
    given as text ('2017-04') -> 'Apr 2017' (not its characters)."""
    if isinstance(months, str):
        months = [months]
    items = sorted({str(m) for m in months if m is not None})
    if not items:
        return "none"
    if not all(_MONTH_RE.match(m) for m in items):
        return ", ".join(items)

    def idx(m: str) -> int:
        return int(m[:4]) * 12 + int(m[5:]) - 1

    runs: list[list[str]] = []
    for m in items:
        if runs and idx(m) == idx(runs[-1][-1]) + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(month_short(r[0]) if len(r) == 1 else f"{month_short(r[0])} \u2013 {month_short(r[-1])}"
                     for r in runs)


def _day(d: Any) -> _dt.date | None:
    if isinstance(d, _dt.date):
        return d
    try:
        return _dt.date.fromisoformat(str(d))
    except ValueError:
        return None


def period_words(period: Any) -> str:
    """A period in words: 'March 2018', 'April–September 2017', '2017/18', '2017', 'July–September 2017'
    (a quarter), '12 months to March 2018', 'week 10 of 2018', '28 days to 31 March 2018',
    '2017/18 to 31 March 2018' (year to date), '2018 to 31 March' (calendar year to date).

    ``period`` is a :class:`~crimeassess.assess.periods.Period` or its ``to_dict()``.
    """
    get = period.get if isinstance(period, Mapping) else (lambda k: getattr(period, k, None))
    kind, label, start, end = get("kind"), get("label"), get("start"), get("end")
    first, last = _day(get("first_day")) if get("first_day") else None, _day(get("last_day")) if get("last_day") else None
    if kind == "month":
        return month_label(start)
    if kind in ("fy", "year"):
        return str(label)
    if kind in ("quarter", "range") and start and end:
        return month_range_words(start, end)
    if kind == "rolling12" and end:
        return f"12 months to {month_label(end)}"
    if kind == "week" and first:
        y, w, _ = first.isocalendar()
        return f"week {w} of {y}"
    if kind == "28d" and last:
        return f"28 days to {date_label(last)}"
    if kind == "ytd" and first and last:
        return f"{first.year}/{(first.year + 1) % 100:02d} to {date_label(last)}"
    if kind == "cytd" and last:
        return f"{last.year} to {last.day} {MONTHS[last.month - 1]}"
    return BLANK if is_missing(label) else str(label)


# ------------------------------------------------------------------------------------------ generic cells
def value(v: Any) -> str:
    """Generic cell formatting for data-quality tables: ints with separators, floats to 4 s.f., lists joined."""
    if is_missing(v):
        return BLANK
    if isinstance(v, bool):
        return "Yes" if v else "No"
    if isinstance(v, int):
        return count(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) >= 1:
            return count(v)
        return _signed(f"{abs(v):,.4g}", v < 0, False, False)
    if isinstance(v, (list, tuple)):
        return ", ".join(value(x) for x in v) if v else "none"
    if isinstance(v, Mapping):
        return "; ".join(f"{humanise_key(k)}: {value(x)}" for k, x in v.items())
    return str(v)


def _lenient(fn: Callable[..., str]) -> Callable[..., str]:
    """A template filter: blank for missing values, unexpected text passed through unchanged."""
    def filt(v: Any, *args: Any, **kwargs: Any) -> str:
        if is_missing(v):
            return BLANK
        try:
            return fn(v, *args, **kwargs)
        except InputError:
            return str(v)
    filt.__doc__ = fn.__doc__
    return filt


def force_label(slug: str | None) -> str:
    """A force's slug as a reader names it: 'hampshire' -> 'Hampshire', 'avon-and-somerset' -> 'Avon and Somerset',
    'city-of-london' -> 'City of London' (the store keeps slugs; a report or page shows names)."""
    if not slug:
        return BLANK
    return " ".join(w if w in ("and", "of") else w[:1].upper() + w[1:] for w in str(slug).split("-"))


def repeat_rows(rows: Iterable[Mapping[str, Any]] | None, limit: int | None = None) -> list[dict[str, Any]]:
    """The rows of a repeat-locations table a reader is shown: only places with more than one crime in the current
    period (one crime is no repeat), the first `limit`, and, among those shown, rows sharing a name and LSOA
    numbered ("map point 2 of 3": police.uk names many map points alike, "On or near Supermarket")."""
    shown = [dict(r) for r in rows or [] if isinstance(r, Mapping) and (r.get("current") or 0) >= 2][:limit]
    keys = [(r.get("location"), r.get("lsoa_name")) for r in shown]
    many, seen = Counter(keys), Counter()
    for r, k in zip(shown, keys):
        if many[k] > 1:
            seen[k] += 1
            r["point_note"] = f"map point {seen[k]} of {many[k]}"
        # what the row is called, and the rest in brackets: an LSOA by its name (as the hotspot table names it),
        # a map point by its label, with its LSOA, ward and number among alike-named points
        lsoa_row = r.get("location") == r.get("lsoa_code") and r.get("lsoa_name")
        r["label"] = r["lsoa_name"] if lsoa_row else r.get("location")
        extra = [r.get("lsoa_code") if lsoa_row else r.get("lsoa_name"), r.get("ward_name"), r.get("point_note")]
        r["detail"] = ", ".join(str(x) for x in extra if x)
    return shown


def step_note(rows: Iterable[Mapping[str, Any]] | None, total_label: str = "All crime") -> str | None:
    """The note under a table whose rows' series stepped between the two periods compared: 'The monthly series
    stepped up in Apr 2017 (Violence and sexual offences), between the two periods compared: the change may
    reflect a change in recording rather than in crime.' None when none did."""
    stepped = [r for r in rows or [] if isinstance(r, Mapping) and r.get("level_shift")]
    if not stepped:
        return None
    parts = [f"{r['level_shift'].get('direction')} in {compress_months([r['level_shift'].get('month')])} "
             f"({r.get('label') or total_label})" for r in stepped]
    return (f"The monthly series stepped {', '.join(parts)}, between the two periods compared: "
            f"{'the change' if len(stepped) == 1 else 'these changes'} may reflect a change in recording rather "
            "than in crime.")


#: Jinja filters shared by the report and the dashboard.
FILTERS: dict[str, Callable[..., Any]] = {
    "repeat_rows": repeat_rows,
    "step_note": step_note,
    "force": force_label,
    "int": _lenient(count),
    "signed": _lenient(change),
    "pct": _lenient(lambda v, signed=True, digits=1: pct(v, signed=signed, digits=digits)),
    "share": _lenient(share),
    "rate": _lenient(rate),
    "points": _lenient(points),
    "pval": _lenient(p_value),
    "pstat": _lenient(p_statement),
    "month": month_label,
    "month_short": month_short,
    "months": compress_months,
    "date": date_label,
    "value": value,
    "human": humanise_key,
    "direction": direction,
    "significance": significance,
    "theme_name": theme_name,
    "period_words": period_words,
    "span": lambda p: month_span((p or {}).get("start"), (p or {}).get("end")) if isinstance(p, Mapping) else BLANK,
}


# ------------------------------------------------------------------------------------------------ terminal
_COLUMNS = ("current", "previous", "change", "%", "per 1,000", "test")
#: Columns when only some months are held in both periods: the period's own total held so far, then the
#: like-for-like counts the change is computed on.
_MATCHED_COLUMNS = ("held so far", "compared", "against", "change", "%", "per 1,000", "test")


def compared_cells(row: Mapping[str, Any] | None, matched: bool = False) -> list[str]:
    """A compared count as every table writes it: current, previous, change, % change, rate per 1,000 and
    significance; with ``matched``, the total held so far, then the like-for-like counts."""
    r = row if isinstance(row, Mapping) else {}
    tail = [change(r.get("change")), pct_change(r.get("pct_change")), rate(r.get("rate_per_1000")), significance(r)]
    if matched:
        return [count(r.get("current")), count(r.get("matched_current")), count(r.get("matched_previous")), *tail]
    return [count(r.get("current")), count(r.get("previous")), *tail]


def _table(title: str, first: Sequence[str], matched: bool = False) -> Table:
    t = Table(title=title, title_justify="left")
    for c in first:
        t.add_column(c, justify="left" if c in ("", "ward", "code") else "right")
    for c in _MATCHED_COLUMNS if matched else _COLUMNS:
        t.add_column(c, justify="left" if c == "test" else "right")
    return t


def print_assessment(a: Mapping[str, Any], console: Console) -> None:
    """Print an assessment dict for the terminal: coverage warning, findings, then totals, categories, themes
    and wards as Rich tables (like-for-like columns when only some months are held in both periods)."""
    cov = a["coverage"]
    matched = cov.get("basis") == "matched_months"
    console.rule(f"[bold]{a['area']['name']} ({a['area']['code']}): {period_words(a['period'])} against "
                 f"{period_words(a['compare'])}")
    notice = (a.get("source") or {}).get("notice")
    if notice:
        console.print(f"[bold red]{escape(str(notice))}[/]")
    if not cov["complete"]:
        miss = list(cov.get("missing_current", [])) + list(cov.get("missing_previous", []))
        how = {"matched_months": f"Changes compare only the months held in both periods: "
                                 f"{compress_months(cov.get('matched_months') or [])} against "
                                 f"{compress_months(cov.get('matched_previous_months') or [])}.",
               "none": "No month is held in both periods, so no change is given."}.get(cov.get("basis") or "none", "")
        console.print(f"[bold yellow]Coverage incomplete:[/] {cov['current_months']} of {cov['months_expected']} months "
                      f"in the current period and {cov['previous_months']} in the comparison are in the store"
                      + (f" (missing {compress_months(miss)})" if miss else "") + f". {how}")
    src = a.get("source") or {}
    console.print(f"Source: {src.get('label')}; ward vintage: {a['geography'].get('ward_vintage') or 'none'}")
    if a.get("findings"):
        console.print("\n[bold]Findings[/]")
        for f in a["findings"]:
            console.print(f" • {f}", highlight=False)
    t = _table("Total recorded crime", [""], matched)
    t.add_row("Total recorded crime", *compared_cells(a["total"], matched))
    asb = a.get("anti_social_behaviour") or {}
    asb_label = "Anti-social behaviour (not crime)"
    if not matched and asb.get("basis") == "matched_months":
        # its own months held in both periods differ from crime's: the counts its change compares, said so (the
        # whole period's count beside a like-for-like change did not add up); its rate over those months too
        asb = {**asb, "current": asb.get("matched_current"), "previous": asb.get("matched_previous"),
               "rate_per_1000": asb.get("matched_rate_per_1000")}
        n = len(asb.get("matched_months") or [])
        asb_label += f", the {n} months held in both periods"
    asb_cells = compared_cells(asb, matched)
    t.add_row(asb_label, *asb_cells)
    un = a.get("unplaced") or {}
    prev_cells = ["", ""] if matched else [count(un.get("previous"))]  # the comparison's total is not like for like
    t.add_row("Unplaced (force-wide, no location)", count(un.get("current")), *prev_cells, "", "", "", "")
    console.print(t)
    for key, title in (("categories", "police.uk crime types"), ("themes", "Themes")):
        rows = a.get(key) or []
        if not rows:
            continue
        t = _table(title, [""], matched)
        for r in rows:
            if r.get("available") is not False:
                t.add_row(r["label"], *compared_cells(r, matched))
        console.print(t)
        # anti-social behaviour a force extract lacks is counted from police.uk: its row is in the first table
        asb_shown = (a.get("anti_social_behaviour") or {}).get("available")
        gone = [r["label"] for r in rows if r.get("available") is False
                and not (r.get("id") == "anti_social_behaviour" and asb_shown)]
        if gone:
            console.print(f"Not available from this source: {', '.join(gone)}.", highlight=False)
    ws = a["wards_summary"]
    t = _table(f"Wards ({a['geography'].get('ward_vintage')}): {ws['up']} up, {ws['down']} down, "
               f"{ws['unchanged']} unchanged" + (" (like for like)" if matched else ""), ["rank", "ward", "code"],
               matched)
    for w in a["wards"]:
        t.add_row(str(w.get("rank", "")), w["name"] or "", w["code"], *compared_cells(w, matched))
    console.print(t)
    print_priorities(a, console)


def print_priorities(a: Mapping[str, Any], console: Console) -> None:
    """The priorities' paragraphs (or the input that would enable each) for the terminal."""
    items = (a.get("priorities") or {}).get("items") or []
    if not items:
        return
    console.print("\n[bold]Priority themes: where, when and with what outcome[/]")
    for it in items:
        text = it.get("paragraph") if it.get("available") else " ".join(it.get("missing") or [])
        if not it.get("available") and it.get("label"):  # the report and dashboard head it with its label
            text = f"{it['label']}: {text[:1].lower()}{text[1:]}"
        console.print(f" • {text}", highlight=False)
