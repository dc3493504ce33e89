"""Overdispersion of monthly crime counts (quasi-Poisson Pearson dispersion).

Recorded crime varies from month to month far more than a Poisson count would (variance/mean of 2–17 on
real police.uk data), so a test that assumes Poisson variation calls ordinary noise "significant". Each family
of compared counts (the area total, themes, police.uk categories, wards) gets a dispersion estimate from the
monthly series the store holds:

* every series (one per ward, theme or category) is fitted with a Poisson log-linear model of its own level
  and linear trend, plus month-of-year effects when the series spans at least two years, plus a step for
  each level shift found in it (``steps.py``: a recording change is a change of level, not noise)
  (statsmodels ``GLM``, ``family=Poisson``);
* a month far outside the rest of its series (an *additive outlier*: a backlog of crimes recorded in one month,
  a month of missing records) gets its own one-month pulse, as X-13ARIMA-SEATS's automatic outlier detection
  does: its Pearson residual exceeds ``OUTLIER_Z`` times a robust scale of the others (the median squared
  residual / 0.4549, the median of χ²₁), at most one such month a year of the series. One such month would
  otherwise set the "normal variation" of every test of its family: the demo city's 800 crimes moved into one
  month made the total's dispersion 7.7 instead of 1.1. The month still counts in every total and test;
  only the estimate of month-to-month noise leaves it out;
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
#: A month whose Pearson residual exceeds this many robust standard deviations is an additive outlier.
OUTLIER_Z = 4.0
#: Median of the χ² distribution with one degree of freedom: median(r²) / this estimates the dispersion.
CHI2_1_MEDIAN = 0.454936
#: Series shorter than this get no outlier months (too few residuals for a robust scale).
OUTLIER_MIN_MONTHS = 12

METHOD = ("quasi-Poisson: pooled Pearson chi-square / residual df of Poisson log-linear models of each "
          "monthly series (own level and trend, plus month of year over two years or more, plus a step at each "
          "level shift and a one-month pulse at each additive outlier)")


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
    outliers : tuple[tuple[str, int], ...]
        (series id, month index) of the months given their own pulse (additive outliers).
    """

    value: float | None
    raw: float | None
    df: int
    series: int
    months: int
    note: str | None = None
    outliers: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: value, raw, df, series, months, method, note, outliers ([{series, month}], month as
        YYYY-MM)."""
        return {"value": None if self.value is None else round(self.value, 3),
                "raw": None if self.raw is None else round(self.raw, 3), "df": self.df, "series": self.series,
                "months": self.months, "method": METHOD, "note": self.note,
                "outliers": [{"series": sid, "month": f"{m // 12:04d}-{m % 12 + 1:02d}"} for sid, m in self.outliers]}


def _design(t: np.ndarray, seasonal: bool, steps: Sequence[int] = (), pulses: Sequence[int] = ()) -> np.ndarray:
    cols = [np.ones_like(t, dtype=float), (t - t.mean()) / 12.0]
    if seasonal:
        moy = t % 12
        for k in range(1, 12):
            cols.append((moy == k).astype(float))
    for s in steps:
        col = (t >= s).astype(float)
        if 0 < col.sum() < len(col):
            cols.append(col)
    for m in pulses:
        cols.append((t == m).astype(float))
    return np.column_stack(cols)


def _next_outlier(t: np.ndarray, y: np.ndarray, mu: np.ndarray, taken: Sequence[int]) -> int | None:
    """The month with the largest Pearson residual if it exceeds OUTLIER_Z robust standard deviations."""
    r = (y - mu) / np.sqrt(np.maximum(mu, 1e-9))
    free = np.array([m not in taken for m in t])
    scale = max(1.0, float(np.median(r[free] ** 2)) / CHI2_1_MEDIAN)
    i = int(np.argmax(np.where(free, np.abs(r), -1.0)))
    return int(t[i]) if free[i] and r[i] ** 2 > OUTLIER_Z ** 2 * scale else None


def pearson_fit(months: Sequence[int], counts: Sequence[int], steps: Sequence[int] = ()
                ) -> tuple[float, int, tuple[int, ...]]:
    """Pearson X², residual df and additive-outlier months of one series' Poisson level + trend (+ month of
    year, + steps, + a pulse at each additive outlier) model.

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
        return 0.0, 0, ()
    pulses: list[int] = []
    # one outlier at a time, refitting after each (as X-13's forward addition): a spike shared out by its
    # month-of-year effect leaves the same month of other years looking low until the spike has its own pulse;
    # at most one a year of the series, keeping at least half the residual df
    most = min(len(y) // 12, df // 2) if len(y) >= OUTLIER_MIN_MONTHS else 0
    with warnings.catch_warnings():  # a perfectly flat series is fitted exactly: nothing to warn about
        warnings.simplefilter("ignore")
        res = GLM(y, x, family=families.Poisson()).fit()
        while len(pulses) < most:
            m = _next_outlier(t, y, np.asarray(res.mu), pulses)
            if m is None:
                break
            pulses.append(m)
            res = GLM(y, _design(t, seasonal, steps, pulses), family=families.Poisson()).fit()
    return float(res.pearson_chi2), int(res.df_resid), tuple(sorted(pulses))


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
        outliers: list[tuple[str, int]] = []
        for _, sid, by_month in usable:
            x2, d, pulses = next(results)
            chi2 += x2
            df += d
            longest = max(longest, len(by_month))
            outliers += [(str(sid), m) for m in pulses]
        if df < min_df:
            out.append(Dispersion(None, None, df, len(usable), longest,
                                  note=(f"too little monthly history to estimate overdispersion ({df} residual df, "
                                        f"{min_df} needed): the exact Poisson test was used")))
        else:
            raw = chi2 / df
            out.append(Dispersion(max(1.0, raw), raw, df, len(usable), longest, outliers=tuple(outliers)))
    return out
