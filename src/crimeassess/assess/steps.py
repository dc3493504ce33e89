"""Step changes (level shifts) in monthly series, which often mark a change in recording rather than in crime.

Each series (a police.uk category or a theme, months the store holds, oldest first) is put on the log scale,
log(count + 1), and searched for changes in mean with ruptures' PELT over the l2 cost (``KernelCPD`` with the
linear kernel). The penalty is a
BIC-style ``PENALTY_FACTOR × σ² × log n`` (month-of-year effects removed first when the series
spans two years or more), σ being a robust estimate of the month-to-month noise (the median
absolute first difference, scaled to a standard deviation). A change is reported only when both sides hold at
least ``MIN_SIZE`` months, the levels differ by at least ``MIN_RATIO`` (in either direction) and the higher
side's 10th percentile is above the lower side's 90th, so ordinary seasonality and noise are not flagged.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .periods import month_from_index

#: Fewest months in a series before it is searched, and fewest on each side of a step.
MIN_MONTHS, MIN_SIZE = 6, 2
#: With two years or more, month-of-year effects are removed first and each side needs this many months.
SEASONAL_MONTHS, MIN_SIZE_LONG = 24, 4
#: Smallest ratio between the mean levels either side of a step (e.g. 1.3 = 30% higher or lower).
MIN_RATIO = 1.3
#: Series with a mean below this many crimes a month are not searched.
MIN_MEAN = 10.0
#: Multiplier of σ² log n in the penalty.
PENALTY_FACTOR = 3.0


@dataclass(frozen=True)
class Step:
    """A level shift.

    Attributes
    ----------
    month : str
        First month (YYYY-MM) at the new level.
    direction : str
        "up" or "down".
    before, after : float
        Mean monthly counts of the months held on each side (within the series searched).
    ratio : float
        after / before.
    """

    month: str
    direction: str
    before: float
    after: float
    ratio: float

    def to_dict(self) -> dict[str, Any]:
        return {"month": self.month, "direction": self.direction, "before": round(self.before, 1),
                "after": round(self.after, 1), "ratio": round(self.ratio, 2)}


def level_shifts(by_month: Mapping[int, int]) -> list[Step]:
    """Level shifts in one monthly series ``{month index: count}`` (months held only)."""
    months = sorted(by_month)
    if len(months) < MIN_MONTHS:
        return []
    y = np.array([by_month[m] for m in months], dtype=float)
    if y.mean() < MIN_MEAN:
        return []
    x = np.log(y + 1.0)
    moy = np.array(months) % 12
    seasonal = len(months) >= SEASONAL_MONTHS and len(set(moy.tolist())) == 12
    if seasonal:  # remove month-of-year effects so that a winter peak is not read as a step
        effects = {k: float(x[moy == k].mean()) for k in range(12)}
        x = x - np.array([effects[k] for k in moy]) + float(x.mean())
    min_size = MIN_SIZE_LONG if seasonal else MIN_SIZE
    diffs = np.abs(np.diff(x))
    sigma = 1.4826 * float(np.median(diffs)) / math.sqrt(2.0)
    # Poisson noise on the log scale is at least 1/√mean: a floor for series that move very smoothly.
    sigma = max(sigma, 1.0 / math.sqrt(max(float(y.mean()), 1.0)))
    pen = PENALTY_FACTOR * sigma ** 2 * math.log(len(x))
    # ruptures costs about a second to import: only assessments that scan series pay for it.
    import ruptures

    # KernelCPD's linear kernel is the l2 cost, searched by PELT in C: the same optimum as Pelt(model="l2"),
    # about 100 times faster, and exact where the Python Pelt's pruning settles for a slightly worse split.
    if len(x) < 2 * min_size:  # no split leaves both sides min_size long (KernelCPD would raise)
        return []
    ends = [int(e) for e in ruptures.KernelCPD(kernel="linear", min_size=min_size, jump=1)
            .fit(x.reshape(-1, 1)).predict(pen=pen)]
    out: list[Step] = []
    bounds = [0, *ends]
    for i in range(1, len(bounds) - 1):
        a, b, c = bounds[i - 1], bounds[i], bounds[i + 1]
        # A recording change moves the whole level: nearly every month on one side lies beyond nearly every
        # month on the other (10th/90th percentiles). Seasonal swings and noise rarely do.
        ya = np.exp(x) - 1.0  # counts, deseasonalised when seasonality was removed
        before, after = float(ya[a:b].mean()), float(ya[b:c].mean())
        if before <= 0:
            continue
        ratio = after / before
        lo_side, hi_side = (ya[a:b], ya[b:c]) if ratio > 1 else (ya[b:c], ya[a:b])
        separated = float(np.quantile(hi_side, 0.1)) > float(np.quantile(lo_side, 0.9))
        if separated and (ratio >= MIN_RATIO or ratio <= 1 / MIN_RATIO):
            out.append(Step(month_from_index(months[b]), "up" if ratio > 1 else "down", before, after, ratio))
    return out
