"""Expected versus observed (after Ashby): what the years before a period predict for it, and what was recorded.

For each monthly series of an area (its total, every available theme and every ward) with at least
``MIN_HISTORY`` consecutive months held immediately before the period, a seasonal exponential-smoothing model
is fitted to that history (its latest ``MAX_HISTORY`` months at most) and forecast over the period's months:

* the model is ETS(A,Ad,A): additive errors, additive damped trend and additive month-of-year seasonality
  (statsmodels ``ETSModel``, maximum likelihood, heuristic initial states), fitted to the monthly counts;
* each month's **prediction interval** (``LEVEL``, 99%) is the model's analytic interval
  (``get_prediction(...).summary_frame``), floored at zero;
* the period's expected **total** and its interval come from ``N_SIMULATIONS`` simulated future paths of the
  fitted model (``simulate(..., anchor="end")`` with a fixed seed), summed over the months held;
* a series is forecast only when its history averages at least ``MIN_MEAN`` crimes a month; smaller series
  are listed as too small.

The months, themes and wards whose observed counts fall outside their interval are listed. Even a 99% interval
leaves about one month in a hundred outside it by chance, and the model's interval assumes the years before
carry on, so a listed month is a prompt to look, not a proof.
The wording is Ashby's: "if the factors underlying crime stayed broadly the same, we would expect …".

Attributes of the results are documented on :class:`SeriesForecast` and :class:`Expected`.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import sql
from . import present
from .periods import Period, month_from_index, month_index

#: Theme ids left out: the total (its own row) and anti-social behaviour (not crime).
NOT_CRIME_THEMES = frozenset({"total", "anti_social_behaviour"})

#: Fewest consecutive months of history (immediately before the period) needed to forecast a series.
MIN_HISTORY = 36
#: Most months of history fitted (the latest): five seasonal cycles. Older years describe older recording
#: practice (e.g. before the 2014 recording audit) and, in a national archive, only add fitting time.
MAX_HISTORY = 60
#: Series whose history averages fewer crimes a month than this are not forecast.
MIN_MEAN = 10.0
#: Prediction interval level (99%: a 95% band leaves one month in twenty outside it by chance).
LEVEL = 0.99
#: Simulated paths for the interval of the period's total.
N_SIMULATIONS = 500
#: Seed of the simulations (results are reproducible).
SEED = 20240401

MODEL = ("ETS(A,Ad,A): additive errors, damped additive trend and additive monthly seasonality "
         "(statsmodels ETSModel, maximum likelihood)")


@dataclass
class SeriesForecast:
    """One series' forecast for the period against what was recorded.

    Attributes
    ----------
    id : str
        ``total``, a theme id or a ward code.
    label : str
        The series' name ("Total recorded crime", a theme's label, a ward's name).
    family : str
        ``total``, ``themes`` or ``wards``.
    history : list[str]
        The months the model was fitted to (oldest first).
    months : list[dict]
        One per month of the period held: ``month``, ``observed``, ``expected``, ``lower``, ``upper``
        (rounded to one decimal) and ``outside`` ("above", "below" or None).
    observed : int
        Crimes recorded in the months held.
    expected : float
        The forecast total over those months.
    lower, upper : float
        The ``LEVEL`` prediction interval of that total (simulated paths).
    outside : str | None
        "above" or "below" when the observed total falls outside the interval, else None.
    """

    id: str
    label: str
    family: str
    history: list[str]
    months: list[dict[str, Any]]
    observed: int
    expected: float
    lower: float
    upper: float
    outside: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "family": self.family, "history_start": self.history[0],
                "history_end": self.history[-1], "history_months": len(self.history), "months": self.months,
                "observed": self.observed, "expected": round(self.expected, 1), "lower": round(self.lower, 1),
                "upper": round(self.upper, 1), "outside": self.outside}


@dataclass
class Expected:
    """The expected-versus-observed block of an assessment (``assessment["expected"]``).

    Attributes
    ----------
    available : bool
        Whether the total could be forecast.
    note : str | None
        Why not, when it could not (too little history, a day-based period, a gap).
    model, level : str, float
        The model and the prediction interval level.
    total : SeriesForecast | None
        The area's total.
    themes, wards : list[SeriesForecast]
        Every theme and ward that could be forecast.
    too_small : list[str]
        Labels of series with too few crimes a month to forecast.
    findings : list[str]
        The sentences the findings carry.
    """

    available: bool
    note: str | None = None
    model: str = MODEL
    level: float = LEVEL
    total: SeriesForecast | None = None
    themes: list[SeriesForecast] = field(default_factory=list)
    wards: list[SeriesForecast] = field(default_factory=list)
    too_small: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def outside(self) -> list[SeriesForecast]:
        """Themes and wards whose period total fell outside its interval."""
        return [s for s in self.themes + self.wards if s.outside]

    def to_dict(self) -> dict[str, Any]:
        return {"available": self.available, "note": self.note, "model": self.model, "level": self.level,
                "min_history_months": MIN_HISTORY, "max_history_months": MAX_HISTORY, "min_mean": MIN_MEAN,
                "total": self.total.to_dict() if self.total else None,
                "themes": [s.to_dict() for s in self.themes], "wards": [s.to_dict() for s in self.wards],
                "outside": [{"id": s.id, "label": s.label, "family": s.family, "outside": s.outside}
                            for s in self.outside()],
                "too_small": self.too_small, "findings": self.findings}


def history_run(period_start: str, present: set[str]) -> list[str]:
    """The consecutive months held that end the month before `period_start` (oldest first), MAX_HISTORY at most."""
    out: list[str] = []
    i = month_index(period_start) - 1
    while month_from_index(i) in present and len(out) < MAX_HISTORY:
        out.append(month_from_index(i))
        i -= 1
    return out[::-1]


def forecast(history: Sequence[float], horizon: int, level: float = LEVEL, *, held: Sequence[int] | None = None,
             seed: int = SEED, simulations: int = N_SIMULATIONS) -> dict[str, Any]:
    """Fit ETS(A,Ad,A) to a monthly `history` and forecast `horizon` months.

    Returns ``mean``, ``lower``, ``upper`` (arrays of length `horizon`, lower floored at 0) and the period
    total over the positions `held` (default: all): ``total``, ``total_lower``, ``total_upper``."""
    # statsmodels costs about a second to import: only assessments with enough history pay for it.
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    import pandas as pd  # in the fitting process only (a CLI command's fit worker)

    y = pd.Series(np.asarray(history, dtype=float))  # a Series: ETSModel's prediction frame needs an index
    n = y.size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ETSModel(y, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=12,
                       initialization_method="heuristic").fit(disp=False)
        frame = res.get_prediction(start=n, end=n + horizon - 1).summary_frame(alpha=1 - level)
        sims = np.asarray(res.simulate(nsimulations=horizon, repetitions=simulations, anchor="end",
                                       rng=np.random.default_rng(seed))).reshape(horizon, simulations)
    pos = list(range(horizon)) if held is None else list(held)
    totals = sims[pos, :].sum(axis=0)
    a = (1 - level) / 2
    return {"mean": np.asarray(frame["mean"]), "lower": np.maximum(np.asarray(frame["pi_lower"]), 0.0),
            "upper": np.asarray(frame["pi_upper"]),
            "total": float(np.asarray(frame["mean"])[pos].sum()),
            "total_lower": max(float(np.quantile(totals, a)), 0.0), "total_upper": float(np.quantile(totals, 1 - a))}


def _side(observed: float, lower: float, upper: float) -> str | None:
    """Outside the interval as shown (bounds rounded to whole crimes), so the label follows the numbers."""
    return "above" if observed > round(upper) else "below" if observed < round(lower) else None


def series_forecast(sid: str, label: str, family: str, counts: Mapping[str, int], history: list[str],
                    period_months: list[str], held: list[str]) -> SeriesForecast:
    """Forecast one series (monthly `counts` by YYYY-MM) over `period_months` from `history`; compare the
    months `held`."""
    pos = [period_months.index(m) for m in held]
    f = forecast([counts.get(m, 0) for m in history], len(period_months), held=pos)
    return _compared(sid, label, family, counts, history, period_months, held, f)


def _compared(sid: str, label: str, family: str, counts: Mapping[str, int], history: list[str],
              period_months: list[str], held: list[str], f: Mapping[str, Any]) -> SeriesForecast:
    """The series' forecast `f` (:func:`forecast`) against what was recorded in the months `held`."""
    months = []
    for m in held:
        i = period_months.index(m)
        obs = int(counts.get(m, 0))
        lo, hi = float(f["lower"][i]), float(f["upper"][i])
        months.append({"month": m, "observed": obs, "expected": round(float(f["mean"][i]), 1),
                       "lower": round(lo, 1), "upper": round(hi, 1), "outside": _side(obs, lo, hi)})
    observed = int(sum(counts.get(m, 0) for m in held))
    return SeriesForecast(sid, label, family, history, months, observed, f["total"], f["total_lower"],
                          f["total_upper"], _side(observed, f["total_lower"], f["total_upper"]))


def _monthly_counts(con: Any, rows_where: str, preds: Mapping[str, str], months: list[str], table: str = "placed",
                    weight: str = "1") -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Monthly counts of each predicate (by id) and of the total predicate by ward, over `months` (each row of
    `table` standing for `weight` records)."""
    ids = list(preds)
    sel = ", ".join(f"coalesce(sum({weight}) FILTER (WHERE {preds[i]}), 0)" for i in ids)
    by: dict[str, dict[str, int]] = {i: {} for i in ids}
    for r in con.execute(f"SELECT month, {sel} FROM {table} WHERE ({rows_where}) AND month IN {sql.in_list(months)} "
                         "GROUP BY 1").fetchall():
        for j, i in enumerate(ids):
            by[i][r[0]] = int(r[1 + j])
    wards: dict[str, dict[str, int]] = {}
    for code, m, n in con.execute(
            f"SELECT p_ward_code, month, sum({weight}) FROM {table} WHERE ({rows_where}) AND ({preds['total']}) "
            f"AND p_ward_code IS NOT NULL AND month IN {sql.in_list(months)} GROUP BY 1, 2").fetchall():
        wards.setdefault(code, {})[m] = int(n)
    return by, wards


def expected_block(con: Any, rows_where: str, total_pred: str, theme_preds: Mapping[str, str | None],
                   labels: Mapping[str, str], cur: Period, present: set[str], wards: Mapping[str, str],
                   area_name: str, table: str = "placed", weight: str = "1") -> Expected:
    """Expected versus observed for the area selected by `rows_where` (SQL over `table`: the `placed` view or
    the engine's `area_hist` view of the area's rows, each standing for `weight` records) in `cur`.

    `present` is the set of months the store holds for the area's source; `wards` maps ward code → name."""
    return start_expected(con, rows_where, total_pred, theme_preds, labels, cur, present, area_name, table,
                          weight).finish(wards)


class PendingExpected:
    """An expected block whose forecasts are being fitted (:func:`start_expected`): :meth:`finish` returns the
    :class:`Expected`."""

    def __init__(self, done: Expected | None = None, *,
                 series: Sequence[tuple[str, str, str, Mapping[str, int]]] = (), batch: Any = None,
                 history: Sequence[str] = (), cur: Period | None = None, held: Sequence[str] = (),
                 too_small: Sequence[str] = (), area_name: str = "") -> None:
        self._done, self._series, self._batch = done, list(series), batch
        self._history, self._cur, self._held = list(history), cur, list(held)
        self._too_small, self._area_name = list(too_small), area_name

    @property
    def batch(self) -> Any:
        """The forecasts' ``fitworker.Batch``, or None when nothing is forecast."""
        return self._batch

    def finish(self, wards: Mapping[str, str]) -> Expected:
        """The block, with the area's `wards` (code → name, in the order listed): a ward not forecast is too
        small."""
        if self._done is not None:
            return self._done
        results = self._batch.results()
        assert self._cur is not None
        fitted = {(sid, family): _compared(sid, label, family, counts, self._history, self._cur.months, self._held, f)
                  for (sid, label, family, counts), f in zip(self._series, results)}
        out = Expected(True)
        out.total = fitted[("total", "total")]
        out.themes = [s for (_sid, family), s in fitted.items() if family == "themes"]
        out.too_small = list(self._too_small)
        for code, name in wards.items():  # the wards' series were fitted by code: named and ordered here
            s = fitted.get((code, "wards"))
            if s is None:
                out.too_small.append(name)
            else:
                s.label = name
                out.wards.append(s)
        out.findings = sentences(out, self._area_name, self._cur)
        self._done = out
        return out


def start_expected(con: Any, rows_where: str, total_pred: str, theme_preds: Mapping[str, str | None],
                   labels: Mapping[str, str], cur: Period, present: set[str], area_name: str, table: str = "placed",
                   weight: str = "1") -> PendingExpected:
    """:func:`expected_block`, begun: counts the series now and hands their forecasts to the fit worker
    (:mod:`fitworker <crimeassess.assess.fitworker>`), so the caller can go on with other work before
    :meth:`PendingExpected.finish`. Every ward the rows hold is forecast by its code; :meth:`PendingExpected.finish`
    names and orders them."""
    if cur.by_day:
        return PendingExpected(Expected(False, "expected counts are forecast by month; this period counts by "
                                               "recorded date"))
    held = [m for m in cur.months if m in present]
    history = history_run(cur.start, present)
    if len(history) < MIN_HISTORY:
        return PendingExpected(Expected(False, f"a forecast needs {MIN_HISTORY} consecutive months held before "
                                               f"the period; the store holds {len(history)}"))
    if not held:
        return PendingExpected(Expected(False, "no month of the period is held"))
    preds = {"total": total_pred, **{t: p for t, p in theme_preds.items() if p and t not in NOT_CRIME_THEMES}}
    by, by_ward = _monthly_counts(con, rows_where, preds, history + held, table, weight)

    def big_enough(counts: Mapping[str, int]) -> bool:
        return sum(counts.get(m, 0) for m in history) / len(history) >= MIN_MEAN

    if not big_enough(by["total"]):
        return PendingExpected(Expected(False, f"too few crimes a month to forecast (fewer than {MIN_MEAN:g} on "
                                               "average)"))
    candidates = [("total", labels.get("total", "Total recorded crime"), "total", by["total"])]
    candidates += [(t, labels.get(t, t), "themes", by[t]) for t in preds if t != "total"]
    series = [c for c in candidates if big_enough(c[3])]
    too_small = [c[1] for c in candidates if not big_enough(c[3])]  # total and themes; wards at finish()
    series += [(code, code, "wards", by_ward[code]) for code in sorted(by_ward) if big_enough(by_ward[code])]
    pos = [cur.months.index(m) for m in held]
    jobs = [([counts.get(m, 0) for m in history], len(cur.months), pos) for _sid, _l, _f, counts in series]
    from . import fitworker

    fitworker.start_soon()  # when none runs: for this process's next assessments (it is not ready for this one)
    return PendingExpected(series=series, batch=fitworker.submit(jobs, forecast), history=history, cur=cur,
                           held=held, too_small=too_small, area_name=area_name)


def sentences(e: Expected, area_name: str, cur: Period) -> list[str]:
    """The findings: Ashby's wording for the total, then the months, themes and wards outside the interval."""
    t = e.total
    if t is None:
        return []
    when = present.period_words(cur)
    held = len(t.months)
    scope = when if held == len(cur.months) else f"the {present.plural(held, 'month')} of {when} held so far"
    level = present.pct(e.level * 100, digits=0)
    verdict = {"above": "more than the range expected", "below": "fewer than the range expected",
               None: "within the range expected"}[t.outside]
    out = [f"If the factors underlying crime stayed broadly the same, we would expect about "
           f"{present.count(t.expected)} crimes in {area_name} in {scope} ({level} prediction interval "
           f"{present.count(t.lower)} to {present.count(t.upper)}, forecast from the "
           f"{present.plural(len(t.history), 'month')} before it); {present.count(t.observed)} were recorded, "
           f"{verdict}."]
    odd = [m for m in t.months if m["outside"]]
    if odd:
        items = [f"{present.month_label(m['month'])} ({present.count(m['observed'])}, "
                 f"{'above' if m['outside'] == 'above' else 'below'} the range expected, {present.count(m['lower'])}"
                 f"–{present.count(m['upper'])})" for m in odd]
        out.append(f"Monthly totals outside the range expected: {present.join_and(items)}.")
    for fam, noun in (("themes", "Themes"), ("wards", "Wards")):
        rows = [s for s in (e.themes if fam == "themes" else e.wards) if s.outside]
        if rows:
            items = [f"{s.label if fam == 'wards' else present.theme_name(s.label)} ({present.count(s.observed)} "
                     f"against {present.count(s.lower)}–{present.count(s.upper)} expected)" for s in rows]
            # a forecast from each series' own trend and season: not the test of the change on the comparison
            # period, which may call the same row's change normal
            out.append(f"{noun} whose crimes in {scope} fell outside the range expected from their own trend and "
                       f"season: {present.join_and(items)}.")
    return out
