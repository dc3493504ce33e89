"""Small, dependency-free formatting filters for the report (numbers, percentages, months, dates).

Every filter accepts ``None`` (and Jinja's Undefined) and renders it as an en dash, so a missing value is
never shown as 0.
"""
from __future__ import annotations

import datetime as _dt
import math
from typing import Any

DASH = "\u2013"  # en dash: the report's mark for "no value"

_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]


def _missing(value: Any) -> bool:
    """True for None, Jinja Undefined, NaN and empty strings."""
    if value is None or value == "":
        return True
    if type(value).__name__.endswith("Undefined"):
        return True
    return isinstance(value, float) and math.isnan(value)


def fmt_int(value: Any) -> str:
    """12345 -> '12,345'; None -> '–'."""
    if _missing(value):
        return DASH
    try:
        return f"{int(round(float(value))):,}"
    except (TypeError, ValueError):
        return str(value)


def fmt_signed_int(value: Any) -> str:
    """Signed count change: 145 -> '+145', -145 -> '-145', 0 -> '0'."""
    if _missing(value):
        return DASH
    try:
        n = int(round(float(value)))
    except (TypeError, ValueError):
        return str(value)
    return f"+{n:,}" if n > 0 else f"{n:,}"


def fmt_pct(value: Any, signed: bool = True, digits: int = 1) -> str:
    """8.94 -> '+8.9%'; -14.1 -> '-14.1%'; None -> '–'."""
    if _missing(value):
        return DASH
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{x:.{digits}f}"
    if text.lstrip("-").strip("0.") == "":
        text = f"{0:.{digits}f}"  # avoid '-0.0'
        return text + "%"
    if signed and x > 0:
        text = "+" + text
    return text + "%"


def fmt_share(value: Any, digits: int = 1) -> str:
    """A 0–1 share as a percentage: 0.983 -> '98.3%'."""
    if _missing(value):
        return DASH
    try:
        return f"{float(value) * 100:.{digits}f}%"
    except (TypeError, ValueError):
        return str(value)


def fmt_rate(value: Any, digits: int = 1) -> str:
    """Rate per 1,000: 133.42 -> '133.4'; None -> '–'."""
    if _missing(value):
        return DASH
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def fmt_p(value: Any) -> str:
    """p-value: '<0.001', '0.023', '0.41'."""
    if _missing(value):
        return DASH
    try:
        p = float(value)
    except (TypeError, ValueError):
        return str(value)
    if p < 0.001:
        return "<0.001"
    if p < 0.01:
        return f"{p:.3f}"
    return f"{p:.2f}"


def fmt_month(value: Any) -> str:
    """'2018-03' -> 'March 2018' (other text is returned unchanged)."""
    if _missing(value):
        return DASH
    text = str(value)
    parts = text.split("-")
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit() and 1 <= int(parts[1]) <= 12:
        return f"{_MONTHS[int(parts[1]) - 1]} {parts[0]}"
    return text


def fmt_month_short(value: Any) -> str:
    """'2018-03' -> 'Mar 2018'."""
    full = fmt_month(value)
    if full == DASH or " " not in full:
        return full
    name, year = full.split(" ", 1)
    return f"{name[:3]} {year}"


def fmt_date(value: Any) -> str:
    """ISO date/time -> '25 November 2026'; unparseable text is returned unchanged."""
    if _missing(value):
        return DASH
    if isinstance(value, (_dt.date, _dt.datetime)):
        d = value
    else:
        text = str(value).strip()
        try:
            d = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def month_span(start: Any, end: Any) -> str:
    """('2017-04', '2018-03') -> 'April 2017 to March 2018'."""
    if _missing(start) and _missing(end):
        return DASH
    if start == end:
        return fmt_month(start)
    return f"{fmt_month(start)} to {fmt_month(end)}"


def fmt_value(value: Any) -> str:
    """Generic cell formatting for data-quality tables: ints with separators, floats to 3 s.f., lists joined."""
    if _missing(value):
        return DASH
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1:
            return f"{int(value):,}"
        return f"{value:,.4g}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        return ", ".join(fmt_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{humanise_key(k)}: {fmt_value(v)}" for k, v in value.items())
    return str(value)


def humanise_key(key: Any) -> str:
    """'months_missing' -> 'Months missing'."""
    words = str(key).replace("_", " ").replace("-", " ").split()
    words = [_ACRONYMS.get(w.lower(), w) for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else text


_ACRONYMS = {"lsoa": "LSOA", "msoa": "MSOA", "asb": "ASB", "id": "ID", "url": "URL", "pct": "%",
             "csv": "CSV", "api": "API", "ons": "ONS", "pfa": "PFA", "csp": "CSP", "lad": "LAD"}


def direction_word(change: Any) -> str:
    """'up' / 'down' / 'unchanged' / '' for a signed change."""
    if _missing(change):
        return ""
    try:
        x = float(change)
    except (TypeError, ValueError):
        return ""
    return "up" if x > 0 else "down" if x < 0 else "unchanged"


FILTERS = {
    "int": fmt_int,
    "signed": fmt_signed_int,
    "pct": fmt_pct,
    "share": fmt_share,
    "rate": fmt_rate,
    "pval": fmt_p,
    "month": fmt_month,
    "month_short": fmt_month_short,
    "date": fmt_date,
    "value": fmt_value,
    "human": humanise_key,
    "direction": direction_word,
}
