"""An estimate for a whole year when only some of its months are held.

A year-long period (financial or calendar year, rolling twelve months) with at least ``MIN_MONTHS`` of its
months in the store gets an estimate of its full-year count: the count held divided by the share of a year's
crime those months usually hold. The share comes from the latest complete twelve months the store holds
before the period with every month of the same calendar months (seasonality from the series); failing that it
is months held / 12 (no seasonality). The interval is the quasi-Poisson one of the count held (±1.96 √(φ·C)),
scaled the same way; it does not allow for error in the seasonal share, so it is a lower bound on the
uncertainty, and says so. The estimate is never compared with anything: changes stay like for like.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .periods import Period, month_from_index, month_in_words, month_index

#: Fewest months held before a year is estimated.
MIN_MONTHS = 3


@dataclass(frozen=True)
class AnnualEstimate:
    """An estimated full-year count.

    Attributes
    ----------
    value, low, high : int
        The estimate and its 95% interval (from the count held; the seasonal share's own error not included).
    months_held : int
        Months of the period held.
    basis : str
        "seasonal" (the share from an earlier complete year) or "proportional" (months held / 12).
    share : float
        The share of a year's crime the months held usually hold.
    note : str
        The basis in words.
    """

    value: int
    low: int
    high: int
    months_held: int
    basis: str
    share: float
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high, "months_held": self.months_held,
                "basis": self.basis, "share": round(self.share, 4), "note": self.note}


def annual_estimate(period: Period, held: list[str], count: int | None, monthly: Mapping[int, int],
                    dispersion: float | None) -> AnnualEstimate | None:
    """The full-year estimate for ``period`` from ``count`` crimes in the months ``held`` (YYYY-MM), or None
    when the period is not a year, is complete, or holds fewer than MIN_MONTHS months. ``monthly``: month
    index → count for the months the store holds (the engine's monthly series)."""
    if period.n_months != 12 or period.by_day or count is None or not MIN_MONTHS <= len(held) < 12:
        return None
    held_idx = {month_index(m) % 12 for m in held}
    start = month_index(period.start)
    share, basis, note = len(held) / 12, "proportional", "in proportion to the months held, as no earlier complete year is held"
    # the latest complete twelve months before the period
    for end in range(start - 1, start - 1 - 36, -1):
        months = list(range(end - 11, end + 1))
        if all(m in monthly for m in months):
            total = sum(monthly[m] for m in months)
            part = sum(monthly[m] for m in months if m % 12 in held_idx)
            if total > 0 and part > 0:
                share, basis = part / total, "seasonal"
                note = f"the months held usually hold {share:.0%} of a year's crime, as in the twelve months to {_label(end)}"
            break
    phi = dispersion or 1.0
    half = 1.96 * math.sqrt(phi * count)
    return AnnualEstimate(round(count / share), max(count, round((count - half) / share)), round((count + half) / share),
                          len(held), basis, share, note)


def _label(i: int) -> str:
    return month_in_words(month_from_index(i))
