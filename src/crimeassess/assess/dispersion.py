"""Overdispersion of monthly crime counts (quasi-Poisson Pearson dispersion).

Recorded crime varies from month to month far more than a Poisson count would (variance/mean of 2–17 on
real police.uk data), so a test that assumes Poisson variation calls ordinary noise "significant". Each family
of compared counts (the area total, themes, police.uk categories, wards) gets a dispersion estimate from the
monthly series the store holds:

* every series (one per ward, theme or category) is fitted with a Poisson log-linear model of its own level
  and linear trend, plus month-of-year effects when the series spans at least two years, plus a step for
  each level shift found in it (``steps.py``: a recording change is a change of level, not noise)
  (statsmodels ``GLM``, ``family=Poisson``);
* the family's dispersion is the pooled Pearson statistic, Σ X² / Σ residual df, across its series
  (McCullagh & Nelder's quasi-Poisson estimate), floored at 1 (never less variable than Poisson);
* with fewer than ``MIN_DF`` residual degrees of freedom the estimate is not made (``value`` None) and the
  tests fall back to the exact conditional Poisson test, saying so.

Attributes of the result are documented on :class:`Dispersion`.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import fitworker

#: Fewest pooled residual degrees of freedom for an estimate; below this the exact Poisson test is used.
MIN_DF = 6
#: Series with a mean below this many crimes a month carry too little information and are left out.
MIN_MEAN = 2.0
#: At most this many series (the largest) enter one family's estimate, to bound the time taken.
MAX_SERIES = 80
#: Months of history used, ending at the current period's last month.
WINDOW_MONTHS = 36
#: A series spanning at least this many months gets month-of-year effects.
SEASONAL_MONTHS = 24

METHOD = ("quasi-Poisson: pooled Pearson chi-square / residual df of Poisson log-linear models of each "
          "monthly series (own level and trend, plus month of year over two years or more)")


@dataclass(frozen=True)
class Dispersion:
    """A family's dispersion estimate.

    Attributes
    ----------
    value : float | None
        The dispersion used by the tests (raw estimate floored at 1), or None when there was too little history.
    raw : float | None
        Σ X² / Σ df before flooring.
    df : int
        Pooled residual degrees of freedom.
    series : int
        Number of monthly series that entered the estimate.
    months : int
        Most months held in any one series.
    note : str | None
        Why no estimate was made, when value is None.
    """

    value: float | None
    raw: float | None
    df: int
    series: int
    months: int
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: value, raw, df, series, months, method, note."""
        return {"value": None if self.value is None else round(self.value, 3),
                "raw": None if self.raw is None else round(self.raw, 3), "df": self.df, "series": self.series,
                "months": self.months, "method": METHOD, "note": self.note}


def _design(t: np.ndarray, seasonal: bool, steps: Sequence[int] = ()) -> np.ndarray:
    cols = [np.ones_like(t, dtype=float), (t - t.mean()) / 12.0]
    if seasonal:
        moy = t % 12
        for k in range(1, 12):
            cols.append((moy == k).astype(float))
    for s in steps:
        col = (t >= s).astype(float)
        if 0 < col.sum() < len(col):
            cols.append(col)
    return np.column_stack(cols)


def pearson_fit(months: Sequence[int], counts: Sequence[int], steps: Sequence[int] = ()) -> tuple[float, int]:
    """Pearson X² and residual df of one series' Poisson level + trend (+ month of year, + steps) model.

    months: month indices (year × 12 + month − 1), any order, gaps allowed; counts: crimes in each; steps:
    month indices of level shifts (the first month at the new level).
    """
    # statsmodels costs about a second to import: only assessments that test significance pay for it.
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    t = np.asarray(months, dtype=float)
    y = np.asarray(counts, dtype=float)
    seasonal = (t.max() - t.min() + 1) >= SEASONAL_MONTHS and len(np.unique(t % 12)) == 12
    x = _design(t, seasonal, steps)
    df = len(y) - x.shape[1]
    if df <= 0:
        return 0.0, 0
    with warnings.catch_warnings():  # a perfectly flat series is fitted exactly: nothing to warn about
        warnings.simplefilter("ignore")
        res = GLM(y, x, family=families.Poisson()).fit()
    return float(res.pearson_chi2), int(res.df_resid)


def estimate(series: Mapping[str, Mapping[int, int]], min_df: int = MIN_DF,
             steps: Mapping[str, Sequence[int]] | None = None) -> Dispersion:
    """Pooled dispersion of a family of monthly series: ``{series id: {month index: count}}``, with any level
    shifts ``{series id: [month index, …]}`` modelled as steps.

    Months absent from a series' mapping are months the store does not hold (not zero); a series' zero
    months must be given as 0.
    """
    return estimate_many([(series, steps)], min_df)[0]


def estimate_many(families: Sequence[tuple[Mapping[str, Mapping[int, int]], Mapping[str, Sequence[int]] | None]],
                  min_df: int = MIN_DF) -> list[Dispersion]:
    """:func:`estimate` of each ``(series, steps)``, their Poisson fits made together (in a CLI command's
    worker: see fitworker.py)."""
    chosen, fits = [], []
    for series, steps in families:
        usable = []
        for sid, by_month in series.items():
            if len(by_month) < 3:
                continue
            vals = list(by_month.values())
            mean = sum(vals) / len(vals)
            if mean < MIN_MEAN:
                continue
            usable.append((sum(vals), sid, by_month))
        usable.sort(key=lambda u: (-u[0], str(u[1])))
        usable = usable[:MAX_SERIES]
        chosen.append(usable)
        for _, sid, by_month in usable:
            ms = sorted(by_month)
            fits.append((ms, [by_month[m] for m in ms], list((steps or {}).get(sid, ()))))
    results = iter(fitworker.call_many(pearson_fit, fits))
    out = []
    for usable in chosen:
        chi2, df, longest = 0.0, 0, 0
        for _, _sid, by_month in usable:
            x2, d = next(results)
            chi2 += x2
            df += d
            longest = max(longest, len(by_month))
        if df < min_df:
            out.append(Dispersion(None, None, df, len(usable), longest,
                                  note=(f"too little monthly history to estimate overdispersion ({df} residual df, "
                                        f"{min_df} needed): the exact Poisson test was used")))
        else:
            raw = chi2 / df
            out.append(Dispersion(max(1.0, raw), raw, df, len(usable), longest))
    return out
