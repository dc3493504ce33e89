"""Golden tests of the overdispersion estimate and the quasi-Poisson test against statsmodels, and the
calibration of the whole test family on overdispersed synthetic wards."""
from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.stats.rates import test_poisson_2indep as poisson_2indep

from crimeassess.assess import dispersion
from crimeassess.assess.stats import annotate_table, compare, normal_p, quasi_poisson_z

# A fixed monthly series (36 months) with trend, seasonality and extra-Poisson noise.
SERIES = [212, 198, 240, 251, 266, 290, 301, 288, 255, 241, 220, 230,
          225, 210, 262, 270, 281, 322, 318, 296, 270, 250, 236, 248,
          240, 231, 275, 296, 300, 351, 340, 318, 280, 266, 244, 261]


def _sm_design(t: np.ndarray, seasonal: bool) -> np.ndarray:
    cols = [np.ones_like(t), (t - t.mean()) / 12.0]
    if seasonal:
        cols += [(t % 12 == k).astype(float) for k in range(1, 12)]
    return np.column_stack(cols)


def test_pearson_dispersion_matches_statsmodels_quasi_poisson() -> None:
    t = np.arange(36, dtype=float) + 2017 * 12
    y = np.array(SERIES, dtype=float)
    res = sm.GLM(y, _sm_design(t, True), family=sm.families.Poisson()).fit(scale="X2")
    got = dispersion.estimate({"s": {int(m): int(c) for m, c in zip(t, y)}})
    assert got.df == 36 - 13
    assert got.raw == pytest.approx(res.scale, rel=1e-9)  # statsmodels' quasi-Poisson scale: Pearson X²/df
    # Short series (no seasonality): level and trend only
    y9 = y[:9]
    res9 = sm.GLM(y9, _sm_design(t[:9], False), family=sm.families.Poisson()).fit(scale="X2")
    got9 = dispersion.estimate({"s": {int(m): int(c) for m, c in zip(t[:9], y9)}})
    assert got9.df == 7 and got9.raw == pytest.approx(res9.scale, rel=1e-9)


def test_pooled_dispersion_is_sum_chi2_over_sum_df() -> None:
    t = np.arange(12, dtype=float)
    a = np.array(SERIES[:12], dtype=float)
    b = np.array(SERIES[12:24], dtype=float) / 3
    b = np.round(b)
    chi, df = 0.0, 0
    for y in (a, b):
        r = sm.GLM(y, _sm_design(t, False), family=sm.families.Poisson()).fit()
        chi += r.pearson_chi2
        df += r.df_resid
    got = dispersion.estimate({"a": dict(enumerate(a.astype(int))), "b": dict(enumerate(b.astype(int)))})
    assert got.raw == pytest.approx(chi / df, rel=1e-9) and got.df == df


def test_too_little_history_falls_back_to_exact() -> None:
    d = dispersion.estimate({"s": {1: 100, 2: 110, 3: 95}})
    assert d.value is None and "exact Poisson test" in d.note
    # quasi-poisson without a dispersion is the exact test
    assert compare(150, 120, dispersion=None).p_value == compare(150, 120, test="exact").p_value


def test_dispersion_never_below_one() -> None:
    flat = {i: 100 for i in range(24)}
    d = dispersion.estimate({"s": flat})
    assert d.raw == pytest.approx(0.0, abs=1e-9) and d.value == 1.0


@pytest.mark.parametrize("c,p,phi", [(250, 194, 1.0), (2682, 2367, 5.8), (1211, 1044, 2.6), (10, 40, 3.0)])
def test_quasi_poisson_score_test_matches_statsmodels(c: int, p: int, phi: float) -> None:
    """With φ = 1 the statistic is statsmodels' score test of two Poisson rates; with φ it is divided by √φ."""
    st, pv = poisson_2indep(c, 1.0, p, 1.0, method="score")
    z = quasi_poisson_z(c, p, 1.0, 1.0)
    assert z == pytest.approx(st, rel=1e-9) and normal_p(z) == pytest.approx(pv, rel=1e-9)
    zq = quasi_poisson_z(c, p, 1.0, phi)
    assert zq == pytest.approx(st / math.sqrt(phi), rel=1e-9)
    comp = compare(c, p, dispersion=phi)
    assert comp.p_value == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(abs(zq) / math.sqrt(2)))), abs=1e-12)


def test_quasi_poisson_glm_wald_agrees_in_direction_and_size() -> None:
    """The score test and statsmodels' quasi-Poisson GLM (Wald) on the same two counts tell the same story."""
    c, p, phi = 2682, 2367, 5.8
    res = sm.GLM(np.array([c, p], float), np.array([[1, 1], [1, 0]], float),
                 family=sm.families.Poisson()).fit(scale=phi)
    z_wald = res.params[1] / res.bse[1]
    assert quasi_poisson_z(c, p, 1.0, phi) == pytest.approx(z_wald, rel=0.02)


def test_annotate_uses_matched_counts_and_keeps_held_totals() -> None:
    rows = [{"id": "a", "current": 18611, "previous": 4486, "matched_current": 2682, "matched_previous": 2367,
             "dispersion": 5.8}]
    (out,) = annotate_table(rows)
    assert out["current"] == 18611 and out["previous"] == 4486
    assert out["change"] == 315 and out["pct_change"] == 13.3
    z = (2682 - 2367) / math.sqrt(5.8 * (2682 + 2367))
    assert out["z"] == round(z, 2) and out["p_value"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)
    assert out["significant"] is False


def test_level_shifts_are_modelled_as_steps_not_noise() -> None:
    """A recording change (a step) is a change of level: with the step in the model the dispersion is the
    month-to-month noise around it, as statsmodels gives with the same step column."""
    t = np.arange(12, dtype=float)
    y = np.array([500, 560, 900, 950, 880, 1010, 930, 960, 990, 905, 970, 940], dtype=float)
    x = np.column_stack([np.ones_like(t), (t - t.mean()) / 12, (t >= 2).astype(float)])
    res = sm.GLM(y, x, family=sm.families.Poisson()).fit(scale="X2")
    series = {"s": {int(m): int(c) for m, c in zip(t, y)}}
    with_step = dispersion.estimate(series, steps={"s": [2]})
    without = dispersion.estimate(series)
    assert with_step.raw == pytest.approx(res.scale, rel=1e-9) and with_step.df == 12 - 3
    assert without.raw > 5 * with_step.raw


def test_annual_estimate_seasonal_and_proportional() -> None:
    from crimeassess.assess.estimate import annual_estimate
    from crimeassess.assess.periods import month_index, parse_period

    fy = parse_period("2017/18")
    held = [f"2017-{m:02d}" for m in range(4, 10)]  # April–September held
    count = 6000
    # an earlier complete year, summer-heavy: April–September hold 60% of it
    prior = {month_index(f"2016-{m:02d}"): (120 if m in range(4, 10) else 80) for m in range(4, 13)}
    prior.update({month_index(f"2017-{m:02d}"): 80 for m in range(1, 4)})
    e = annual_estimate(fy, held, count, prior, dispersion=4.0)
    share = 6 * 120 / (6 * 120 + 6 * 80)
    assert e.basis == "seasonal" and e.share == pytest.approx(share)
    assert e.value == round(count / share)
    half = 1.96 * math.sqrt(4.0 * count)
    assert (e.low, e.high) == (round((count - half) / share), round((count + half) / share))
    p = annual_estimate(fy, held, count, {}, dispersion=None)
    assert p.basis == "proportional" and p.value == 12000
    assert annual_estimate(fy, held[:2], count, {}, None) is None  # too few months
    assert annual_estimate(parse_period("2018-03"), ["2018-03"], 10, {}, None) is None  # not a year


def test_an_additive_outlier_gets_its_own_pulse() -> None:
    """Crimes of a year moved into one month (a backlog) made that month's residual set the family's "normal
    variation". The month gets its own pulse, found one at a time: the estimate is statsmodels' quasi-Poisson
    scale with that pulse column, close to the series' own without the spike; the other years' same month,
    pulled down by the month-of-year effect until the pulse is in, are not taken as outliers."""
    t = np.arange(36, dtype=float) + 2017 * 12
    y = np.array(SERIES, dtype=float)
    spiked = y.copy()
    spiked[30] += 300  # a backlog recorded in one month
    spiked[[24, 25, 26, 27, 28, 29]] -= 50  # taken from the months before it: the year's total is unchanged
    x = np.column_stack([_sm_design(t, True), (np.arange(36) == 30).astype(float)])
    res = sm.GLM(spiked, x, family=sm.families.Poisson()).fit(scale="X2")
    got = dispersion.estimate({"s": {int(m): int(c) for m, c in zip(t, spiked)}})
    assert got.outliers == (("s", int(t[30])),) and got.df == 36 - 14
    assert got.raw == pytest.approx(res.scale, rel=1e-9)
    plain = sm.GLM(spiked, _sm_design(t, True), family=sm.families.Poisson()).fit(scale="X2").scale
    clean = dispersion.estimate({"s": {int(m): int(c) for m, c in zip(t, y)}})
    assert plain > 5 and got.value == 1.0 and clean.outliers == ()  # 7.1 without the pulse, 0.88 with it
    assert got.to_dict()["outliers"] == [{"series": "s", "month": "2019-07"}]


def test_outliers_at_most_one_a_year_and_none_in_short_series() -> None:
    t = np.arange(36) + 2017 * 12
    y = np.array(SERIES)
    y[[5, 20, 33]] += 400  # three backlog months, one a year: each is taken (not the same month of year, which
    # the month-of-year effect would take as seasonal)
    y2 = y.copy()
    y2[10] += 400  # a fourth: one a year at most
    three = dispersion.estimate({"s": dict(zip(t.tolist(), y.tolist()))})
    four = dispersion.estimate({"s": dict(zip(t.tolist(), y2.tolist()))})
    assert len(three.outliers) == 3 and len(four.outliers) <= 3
    short = dispersion.estimate({"s": {i: (400 if i == 5 else 100) for i in range(11)}})
    assert short.outliers == ()
