"""Periods: months, month ranges, financial years, calendar years, quarters and rolling twelve months."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from ..errors import PeriodError


def month_index(m: str) -> int:
    y, mm = m.split("-")
    return int(y) * 12 + int(mm) - 1


def month_from_index(i: int) -> str:
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def add_months(m: str, n: int) -> str:
    return month_from_index(month_index(m) + n)


DAY_KINDS = ("week", "28d", "ytd", "cytd", "days")


@dataclass(frozen=True)
class Period:
    """A labelled run of whole months (kind month|range|fy|year|quarter|rolling12), or of days for
    CompStat-style periods (kind week|28d|ytd|cytd, with `first_day`/`last_day`), which need recorded dates."""

    label: str
    start: str  # YYYY-MM
    end: str  # YYYY-MM inclusive
    kind: str
    first_day: date | None = None
    last_day: date | None = None

    @property
    def by_day(self) -> bool:
        return self.first_day is not None

    @property
    def months(self) -> list[str]:
        return [month_from_index(i) for i in range(month_index(self.start), month_index(self.end) + 1)]

    @property
    def n_days(self) -> int | None:
        return (self.last_day - self.first_day).days + 1 if self.first_day and self.last_day else None

    @property
    def n_months(self) -> int:
        return month_index(self.end) - month_index(self.start) + 1

    def shift(self, months: int) -> "Period":
        """The same kind of period moved by `months` (e.g. -12 for a year earlier)."""
        if self.by_day:
            if months % 12:
                raise PeriodError(f"{self.label}: day-based periods shift by whole years only")
            return self.year_earlier() if months == -12 else day_period(self.kind, _shift_year(self.first_day, months // 12),
                                                                        _shift_year(self.last_day, months // 12))
        start, end = add_months(self.start, months), add_months(self.end, months)
        return Period(_label(self.kind, start, end), start, end, self.kind)

    def year_earlier(self) -> "Period":
        """The same period a year before: the same ISO week, the same 28 days 52 weeks earlier (keeping
        weekdays, as CompStat does), the same span of the previous year for year-to-date."""
        if not self.by_day:
            return self.shift(-12)
        if self.kind in ("week", "28d"):
            return day_period(self.kind, self.first_day - timedelta(days=364), self.last_day - timedelta(days=364))
        return day_period(self.kind, _shift_year(self.first_day, -1), _shift_year(self.last_day, -1))

    def previous(self) -> "Period":
        """The period immediately before, of the same length (`--compare previous`): the six months before a
        six-month range, the 28 days before 28 days, the same number of days before a year to date."""
        if self.by_day:
            n = self.n_days or 0
            first, last = self.first_day - timedelta(days=n), self.last_day - timedelta(days=n)
            if self.kind in ("ytd", "cytd"):  # the days before a year to date are not a year to date
                return Period(f"{first.isoformat()}..{last.isoformat()}", first.strftime("%Y-%m"),
                              last.strftime("%Y-%m"), "days", first, last)
            return day_period(self.kind, first, last)
        return self.shift(-self.n_months)

    def series_step(self) -> "Period":
        """The period before this one in a series: the one just before, except that a year to date steps back a
        year (the same span of the previous financial or calendar year)."""
        if self.kind in ("ytd", "cytd"):
            return self.year_earlier()
        return self.previous()

    def to_dict(self) -> dict[str, str]:
        d = {"label": self.label, "start": self.start, "end": self.end, "kind": self.kind}
        if self.by_day:
            d.update(first_day=self.first_day.isoformat(), last_day=self.last_day.isoformat())
        return d


def _shift_year(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def day_period(kind: str, first: date, last: date) -> Period:
    """A day-based period; its label follows the kind (2018-W10, 28d-2018-03-31, ytd-2018-03-31)."""
    if kind == "week":
        y, w, _ = first.isocalendar()
        label = f"{y}-W{w:02d}"
    else:
        label = f"{kind}-{last.isoformat()}"
    return Period(label, first.strftime("%Y-%m"), last.strftime("%Y-%m"), kind, first, last)


def _label(kind: str, start: str, end: str) -> str:
    y, m = int(start[:4]), int(start[5:])
    if kind == "month":
        return start
    if kind == "fy":
        return f"{y}/{(y + 1) % 100:02d}"
    if kind == "year":
        return str(y)
    if kind == "quarter":
        return f"{y}Q{(m - 1) // 3 + 1}"
    if kind == "rolling12":
        return f"12m-{end}"
    return f"{start}..{end}"


_MONTH = r"(\d{4})-(0[1-9]|1[0-2])"
#: The longest period accepted: ten years of months (a range such as 1940-01..2020-12 is refused).
MAX_PERIOD_MONTHS = 120
#: Years a period may fall in (police recorded crime in these sources starts in the 2000s).
MIN_YEAR, MAX_YEAR = 1990, 2100


def parse_period(text: str) -> Period:
    """Parse '2018-03', '2017-04..2017-09', '2017/18', '2017', '2017Q3' or '12m-2018-03'.

    A period longer than MAX_PERIOD_MONTHS or outside MIN_YEAR..MAX_YEAR raises PeriodError.
    """
    try:
        p = _parse_period(text)
        years = (int(p.start[:4]), int(p.end[:4])) if p.start[:1].isdigit() else (MIN_YEAR - 1, MIN_YEAR - 1)
    except (ValueError, OverflowError) as exc:  # dates at the edge of the calendar (year 1, 9999)
        raise PeriodError(f"period {str(text).strip()!r} is not a usable date range ({exc})") from None
    if not (MIN_YEAR <= years[0] and years[1] <= MAX_YEAR):
        raise PeriodError(f"period {text.strip()!r} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    if p.n_months > MAX_PERIOD_MONTHS:
        raise PeriodError(f"period {text.strip()!r} spans {p.n_months} months; the longest period is "
                          f"{MAX_PERIOD_MONTHS} months ({MAX_PERIOD_MONTHS // 12} years)")
    return p


def _parse_period(text: str) -> Period:
    s = str(text).strip()
    if m := re.fullmatch(_MONTH, s):
        return Period(s, s, s, "month")
    if m := re.fullmatch(rf"({_MONTH})\s*\.\.\s*({_MONTH})", s):
        a, b = m.group(1), m.group(4)
        if month_index(b) < month_index(a):
            raise PeriodError(f"period {text!r}: end {b} is before start {a}")
        return Period(f"{a}..{b}", a, b, "range")
    if m := re.fullmatch(r"(\d{4})/(\d{2}|\d{4})", s):
        y = int(m.group(1))
        nxt = int(m.group(2))
        if (nxt if nxt >= 100 else (y // 100) * 100 + nxt + (100 if nxt < y % 100 else 0)) != y + 1:
            raise PeriodError(f"period {text!r}: a financial year is two consecutive years, e.g. 2017/18")
        return Period(f"{y}/{(y + 1) % 100:02d}", f"{y}-04", f"{y + 1}-03", "fy")
    if m := re.fullmatch(r"(\d{4})", s):
        y = int(s)
        return Period(s, f"{y}-01", f"{y}-12", "year")
    if m := re.fullmatch(r"(\d{4})\s*Q([1-4])", s, flags=re.I):
        y, q = int(m.group(1)), int(m.group(2))
        start = f"{y}-{3 * q - 2:02d}"
        return Period(f"{y}Q{q}", start, add_months(start, 2), "quarter")
    if m := re.fullmatch(rf"12m-({_MONTH})", s, flags=re.I):
        end = m.group(1)
        return Period(f"12m-{end}", add_months(end, -11), end, "rolling12")
    if m := re.fullmatch(r"(\d{4})-W(\d{2})", s, flags=re.I):
        try:
            first = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise PeriodError(f"period {text!r}: no such ISO week") from None
        return day_period("week", first, first + timedelta(days=6))
    if m := re.fullmatch(r"(28d|ytd|cytd)-(\d{4}-\d{2}-\d{2})", s, flags=re.I):
        kind = m.group(1).lower()
        try:
            last = date.fromisoformat(m.group(2))
        except ValueError:
            raise PeriodError(f"period {text!r}: {m.group(2)} is not a date") from None
        if kind == "28d":
            first = last - timedelta(days=27)
        elif kind == "cytd":
            first = date(last.year, 1, 1)
        else:  # financial year to date, from 1 April
            first = date(last.year if last.month >= 4 else last.year - 1, 4, 1)
        return day_period(kind, first, last)
    raise PeriodError(
        f"period {text!r} not understood; use a month 2018-03, a range 2017-04..2017-09, a financial year "
        "2017/18, a calendar year 2017, a quarter 2017Q3, rolling twelve months 12m-2018-03, or (extracts with "
        "recorded dates) an ISO week 2018-W10, 28 days 28d-2018-03-31, or year to date ytd-2018-03-31 / cytd-2018-03-31"
    )


def default_comparison(p: Period) -> Period:
    """The same months (or days) one year earlier."""
    return p.year_earlier()


def comparison_for(p: Period, text: str | None) -> Period:
    """`--compare`: a period, 'previous' (the period just before, CompStat's prior 28 days), or the default."""
    if not text:
        return default_comparison(p)
    if text.strip().lower() in ("previous", "prior"):
        return p.previous()
    return parse_period(text)


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")


def month_in_words(m: str, *, year: bool = True) -> str:
    """'2018-03' -> 'March 2018' (or 'March')."""
    i = month_index(m)
    name = _MONTH_NAMES[i % 12]
    return f"{name} {i // 12}" if year else name


def month_runs(months: list[str]) -> list[tuple[str, str]]:
    """Consecutive runs of months, oldest first: ['2017-02', '2017-03', '2017-05'] -> [('2017-02', '2017-03'),
    ('2017-05', '2017-05')]."""
    idx = sorted({month_index(m) for m in months})
    runs: list[tuple[str, str]] = []
    for i in idx:
        if runs and month_index(runs[-1][1]) == i - 1:
            runs[-1] = (runs[-1][0], month_from_index(i))
        else:
            runs.append((month_from_index(i), month_from_index(i)))
    return runs


def months_in_words(months: list[str], *, year: bool = True) -> str:
    """Months as words, runs joined with an en dash: 'February–September 2017 and March–April 2018';
    without years: 'April–September and March'."""
    parts = []
    for a, b in month_runs(months):
        if a == b:
            parts.append(month_in_words(a, year=year))
        elif not year or a[:4] == b[:4]:
            parts.append(f"{month_in_words(a, year=False)}–{month_in_words(b, year=year)}")
        else:
            parts.append(f"{month_in_words(a)}–{month_in_words(b)}")
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _day_words(d: date) -> str:
    return f"{d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"


def period_words(p: "Period | dict") -> str:
    """A period in words: 'March 2018', '2017/18', 'April–September 2017', 'the twelve months to March 2018',
    'the 28 days to 31 March 2018', 'the week beginning 5 March 2018', 'the financial year to 31 March 2018'."""
    if isinstance(p, dict):
        first = date.fromisoformat(p["first_day"]) if p.get("first_day") else None
        last = date.fromisoformat(p["last_day"]) if p.get("last_day") else None
        p = Period(p["label"], p["start"], p["end"], p["kind"], first, last)
    if p.kind in ("fy", "year"):
        return p.label
    if p.kind == "month":
        return month_in_words(p.start)
    if p.kind in ("range", "quarter"):
        return months_in_words(p.months)
    if p.kind == "rolling12":
        return f"the twelve months to {month_in_words(p.end)}"
    if p.kind == "week":
        return f"the week beginning {_day_words(p.first_day)}"
    if p.kind == "28d":
        return f"the 28 days to {_day_words(p.last_day)}"
    if p.kind == "ytd":
        return f"the financial year to {_day_words(p.last_day)}"
    if p.kind == "cytd":
        return f"{p.last_day.year} to {_day_words(p.last_day)}"
    if p.by_day:
        return f"{_day_words(p.first_day)} to {_day_words(p.last_day)}"
    return p.label
