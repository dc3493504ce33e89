"""Periods: months, month ranges, financial years, calendar years, quarters and rolling twelve months."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import PeriodError


def month_index(m: str) -> int:
    y, mm = m.split("-")
    return int(y) * 12 + int(mm) - 1


def month_from_index(i: int) -> str:
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def add_months(m: str, n: int) -> str:
    return month_from_index(month_index(m) + n)


@dataclass(frozen=True)
class Period:
    """A run of whole months with a label. kind: month|range|fy|year|quarter|rolling12."""

    label: str
    start: str  # YYYY-MM
    end: str  # YYYY-MM inclusive
    kind: str

    @property
    def months(self) -> list[str]:
        return [month_from_index(i) for i in range(month_index(self.start), month_index(self.end) + 1)]

    @property
    def n_months(self) -> int:
        return month_index(self.end) - month_index(self.start) + 1

    def shift(self, months: int) -> "Period":
        """The same kind of period moved by `months` (e.g. -12 for a year earlier)."""
        start, end = add_months(self.start, months), add_months(self.end, months)
        return Period(_label(self.kind, start, end), start, end, self.kind)

    def previous(self) -> "Period":
        """The period immediately before, of the same length (for series)."""
        return self.shift(-self.n_months) if self.kind in ("fy", "year", "rolling12", "quarter", "month") else self.shift(-12)

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "start": self.start, "end": self.end, "kind": self.kind}


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


def parse_period(text: str) -> Period:
    """Parse '2018-03', '2017-04..2017-09', '2017/18', '2017', '2017Q3' or '12m-2018-03'."""
    s = text.strip()
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
    raise PeriodError(
        f"period {text!r} not understood; use a month 2018-03, a range 2017-04..2017-09, a financial year "
        "2017/18, a calendar year 2017, a quarter 2017Q3 or rolling twelve months 12m-2018-03"
    )


def default_comparison(p: Period) -> Period:
    """The same months one year earlier."""
    return p.shift(-12)
