"""Which periods a store can assess: the months it holds, the whole periods they cover, a sensible default.

Period arithmetic is :mod:`crimeassess.assess.periods`' (``parse_period``, ``Period.months``,
``Period.year_earlier``); this module only asks which of those periods the store's months cover.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Protocol

from .periods import month_from_index, month_index, parse_period
from .present import month_label


class _HasInputs(Protocol):
    def inputs(self, *, live_only: bool = False) -> list[dict[str, Any]]: ...


def store_months(store: _HasInputs) -> list[str]:
    """Months (YYYY-MM) with live data in the store, oldest first."""
    months: set[str] = set()
    for i in store.inputs(live_only=True):
        if i.get("kind") == "police-uk-outcomes":  # outcomes are about crimes held elsewhere, not crimes
            continue
        months.update(i.get("live_months") or i.get("months") or [])
    return sorted(m for m in months if re.fullmatch(r"\d{4}-\d{2}", str(m)))


def _covered(spec: str, have: set[str]) -> bool:
    return set(parse_period(spec).months) <= have


def _fy_spec(start_year: int) -> str:
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def whole_periods(months: Iterable[str]) -> list[tuple[str, str]]:
    """(period, kind in words) for every financial year, calendar year, rolling twelve months to the last
    month, and quarter that ``months`` cover completely, latest first; then every month, latest first."""
    months = sorted(set(months))
    if not months:
        return []
    have = set(months)
    first_y, last_y = int(months[0][:4]), int(months[-1][:4])
    out: list[tuple[str, str]] = []
    for y in range(last_y, first_y - 1, -1):
        if _covered(_fy_spec(y), have):
            out.append((_fy_spec(y), "financial year"))
        if _covered(str(y), have):
            out.append((str(y), "calendar year"))
    if _covered(f"12m-{months[-1]}", have):
        out.append((f"12m-{months[-1]}", "rolling twelve months"))
    for y in range(last_y, first_y - 1, -1):
        for q in range(4, 0, -1):
            if _covered(f"{y}Q{q}", have):
                out.append((f"{y}Q{q}", "quarter"))
    out.extend((m, month_label(m)) for m in reversed(months))
    return out


#: The period hint when the store holds nothing to draw examples from.
PERIOD_EXAMPLES = "2018-03, 2017/18, 2017Q3, 2017-04..2017-09 or 12m-2018-03"


def period_examples(months: Iterable[str]) -> str:
    """A hint of the period forms, with periods the store holds (its latest month, a financial year and a
    quarter it covers, the six months to its latest month, the twelve months to it)."""
    months = sorted(set(months))
    if not months:
        return PERIOD_EXAMPLES
    whole = whole_periods(months)
    last = months[-1]
    start = month_from_index(month_index(last) - 5)
    ex = [last] + [next((v for v, kind in whole if kind == k), None) for k in ("financial year", "quarter")]
    ex += [f"{start}..{last}" if start in months else None]
    return ", ".join(e for e in ex if e) + f" or 12m-{last}"


def default_period(store: _HasInputs) -> str | None:
    """The latest complete financial year the store holds, else its latest month that has the same month a
    year earlier (so the default view has a comparison), else its latest month; None for an empty store."""
    return default_period_of(store_months(store))


def default_period_of(months: Iterable[str]) -> str | None:
    """:func:`default_period` for a given list of months held (e.g. one area's)."""
    months = sorted(set(months))
    if not months:
        return None
    fys = [spec for spec, kind in whole_periods(months) if kind == "financial year"]
    if fys:
        return fys[0]
    have = set(months)
    for m in reversed(months):
        if set(parse_period(m).year_earlier().months) <= have:
            return m
    return months[-1]


def period_suggestions(store: _HasInputs, limit: int = 40) -> list[tuple[str, str]]:
    """(value, description) suggestions for a period picker from the months the store holds."""
    return whole_periods(store_months(store))[:limit]
