"""Golden-value tests for the two-count Poisson comparison, Wheeler's Z and p-value adjustment."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest
from scipy.stats import false_discovery_control

from crimeassess.assess.stats import (
    TEST_NAMES,
    SMALL_NUMBER_THRESHOLD,
    Comparison,
    adjust_pvalues,
    annotate_table,
    compare,
    exact_p_value,
    pct_change,
    poisson_z,
    statistics_block,
)
from crimeassess.errors import InputError


def _exact_two_sided(k: int, n: int, p0: Fraction) -> float:
    """Independent two-sided binomial p-value in exact rational arithmetic: the probability of every
    outcome no more likely than the one observed (R's binom.test definition, with its 1e-7 tolerance)."""
    pmf = [Fraction(math.comb(n, i)) * p0**i * (1 - p0) ** (n - i) for i in range(n + 1)]
    limit = pmf[k] * Fraction(10_000_001, 10_000_000)
    return float(sum(x for x in pmf if x <= limit))


def test_worked_example_coxford():
    c = compare(1211, 1044)
    assert (c.current, c.previous, c.change, c.pct_change) == (1211, 1044, 167, 16.0)
    assert round(c.z, 1) == 5.0
    assert c.z == pytest.approx(2 * (math.sqrt(1211) - math.sqrt(1044)), abs=0.005)
    # equal rates, equal periods: by symmetry p = 2 P(X >= 1211), X ~ Bin(2255, 1/2); exact integers
    n = 1211 + 1044
    tail = sum(math.comb(n, k) for k in range(1211, n + 1))
    expected = float(Fraction(2 * tail, 2**n))
    assert c.p_value == pytest.approx(expected, rel=1e-9)
    assert c.small_numbers is False
    assert c.significant()


def test_exact_p_matches_r_binom_test_value():
    # R: binom.test(20, 30)$p.value == poisson.test(c(20, 10))$p.value == 0.09873715
    assert exact_p_value(20, 10) == pytest.approx(0.09873715, abs=1e-8)
    assert exact_p_value(10, 20) == pytest.approx(exact_p_value(20, 10))


@pytest.mark.parametrize("cur,prev,ratio", [(12, 20, 0.5), (30, 14, 10 / 12), (7, 1, 2.0), (0, 6, 1.0)])
def test_exact_p_with_exposure_ratio_matches_independent_computation(cur, prev, ratio):
    p0 = Fraction(ratio).limit_denominator(1000) / (1 + Fraction(ratio).limit_denominator(1000))
    assert exact_p_value(cur, prev, ratio) == pytest.approx(_exact_two_sided(cur, cur + prev, p0), rel=1e-9)


def test_exposure_ratio_removes_a_change_explained_by_exposure():
    # three times the exposure, three times the crimes: no evidence of a change in rate
    c = compare(30, 10, exposure_ratio=3.0)
    assert c.z == 0.0
    assert c.p_value == pytest.approx(1.0)
    assert c.pct_change == 200.0  # the raw change is still reported as it is
    # ten months against twelve: 100 vs 120 is exactly the expected proportion
    assert poisson_z(100, 120, 10 / 12) == pytest.approx(0.0, abs=1e-12)


def test_both_zero_and_zero_base():
    z = compare(0, 0)
    assert (z.change, z.pct_change, z.p_value, z.z, z.small_numbers) == (0, None, 1.0, 0.0, True)
    r = compare(25, 0)
    assert r.pct_change is None  # never infinite
    assert r.small_numbers is False
    assert r.p_value == pytest.approx(2 * 0.5**25)


@pytest.mark.parametrize(
    "cur,prev,expected",
    [(885, 1030, -14.1), (250, 194, 28.9), (1, 3, -66.7), (31589, 29000, 8.9), (5, 0, None), (0, 5, -100.0)],
)
def test_pct_change_one_decimal(cur, prev, expected):
    assert pct_change(cur, prev) == expected


def test_small_numbers_threshold():
    assert SMALL_NUMBER_THRESHOLD == 10
    assert compare(9, 9).small_numbers is True
    assert compare(10, 3).small_numbers is False  # only one below
    assert compare(9, 0).small_numbers is True
    assert compare(9, 0).p_value < 0.05 and not compare(9, 0).significant()
    assert compare(12, 3, threshold=20).small_numbers is True
    assert compare(9, 0, threshold=0).small_numbers is False


def test_none_counts_give_none_stats():
    c = compare(None, 40)
    assert c == Comparison(None, 40, None, None, None, None, None)
    assert not c.available and not c.significant()
    assert set(c.to_dict()) == {"current", "previous", "change", "pct_change", "p_value", "z", "small_numbers"}
    assert compare(float("nan"), 3).current is None


@pytest.mark.parametrize("bad", [-1, "12", True, 2.5, [3]])
def test_bad_counts_raise(bad):
    with pytest.raises(InputError):
        compare(bad, 4)


@pytest.mark.parametrize("kwargs", [{"exposure_ratio": 0}, {"exposure_ratio": -1}, {"exposure_ratio": float("inf")},
                                    {"exposure_ratio": "x"}, {"threshold": -1}, {"threshold": 2.5}])
def test_bad_options_raise(kwargs):
    with pytest.raises(InputError):
        compare(5, 4, **kwargs)


def test_holm_hand_computed():
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> monotone max .06
    got = adjust_pvalues([0.01, 0.04, None, 0.03, 0.005], "holm")
    assert got[2] is None
    assert got[:2] + got[3:] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust_pvalues([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1, default is Holm


def test_bh_hand_computed_and_against_scipy():
    # sorted: .005*4/1=.02, .01*4/2=.02, .03*4/3=.04, .04*4/4=.04 -> step-up min
    got = adjust_pvalues([0.01, 0.04, None, 0.03, 0.005], "bh")
    assert got[2] is None
    assert got[:2] + got[3:] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    ps = [0.001, 0.2, 0.03, 0.04, 0.9, 0.012, 0.5]
    assert adjust_pvalues(ps, "bh") == pytest.approx(list(false_discovery_control(ps)))


def test_adjust_edge_cases():
    assert adjust_pvalues([]) == []
    assert adjust_pvalues([None, None]) == [None, None]
    assert adjust_pvalues([0.02], "holm") == [0.02]
    assert adjust_pvalues([0.02, 0.5], "none") == [0.02, 0.5]
    with pytest.raises(InputError, match="unknown p-value adjustment"):
        adjust_pvalues([0.1], "bonferroni-ish")
    with pytest.raises(InputError):
        adjust_pvalues([1.5])


def _table():
    return [
        {"id": "a", "label": "A", "current": 40, "previous": 20},  # p = 0.0135
        {"id": "b", "current": 60, "previous": 40},  # p = 0.0569
        {"id": "c", "current": 100, "previous": 80},
        {"id": "d", "current": 200, "previous": 180},
        {"id": "e", "current": None, "previous": 12},  # unavailable: outside the family
        {"id": "f", "current": 9, "previous": 0},  # small numbers: p = 0.0039 but never significant
        {"id": "g", "current": 300, "previous": 200},  # p ~ 1e-5
    ]


def test_annotate_table_holm():
    rows = _table()
    out = annotate_table(rows)
    a, b, c, d, e, f, g = out
    assert rows[0] == {"id": "a", "label": "A", "current": 40, "previous": 20}  # input not mutated
    assert a["label"] == "A" and a["change"] == 20 and a["pct_change"] == 100.0
    tested = (a, b, c, d, f, g)
    expected = adjust_pvalues([r["p_value"] for r in tested], "holm")
    assert [r["p_adjusted"] for r in tested] == pytest.approx(expected)
    # a has the third smallest p of the 6 tested rows (g, f smaller): Holm multiplies it by 4
    assert a["p_adjusted"] == pytest.approx(4 * a["p_value"])
    assert a["p_value"] < 0.05 < a["p_adjusted"] and a["significant"] is False
    assert g["p_adjusted"] == pytest.approx(6 * g["p_value"]) and g["significant"] is True
    assert b["significant"] is False
    assert e["p_value"] is None and e["p_adjusted"] is None and e["significant"] is False
    assert e["small_numbers"] is None and e["change"] is None
    assert f["small_numbers"] is True and f["significant"] is False
    for r in out:
        assert {"change", "pct_change", "p_value", "p_adjusted", "z", "significant", "small_numbers"} <= set(r)


def test_annotate_table_bh_differs_from_holm():
    holm = annotate_table(_table(), method="holm")
    bh = annotate_table(_table(), method="bh")
    assert holm[0]["p_adjusted"] > bh[0]["p_adjusted"]
    assert holm[0]["significant"] is False and bh[0]["significant"] is True
    assert all(h["p_adjusted"] >= b["p_adjusted"] for h, b in zip(holm, bh) if h["p_adjusted"] is not None)


def test_annotate_table_alpha_threshold_and_errors():
    out = annotate_table([{"current": 40, "previous": 20}], alpha=0.01)
    assert out[0]["p_adjusted"] == pytest.approx(out[0]["p_value"])  # one-row table: no adjustment
    assert out[0]["significant"] is False
    assert annotate_table([{"current": 40, "previous": 20}], threshold=50)[0]["small_numbers"] is True
    assert annotate_table([{"current": 40, "previous": 20, "exposure_ratio": 2.0}])[0]["z"] == 0.0
    with pytest.raises(InputError, match="no 'previous'"):
        annotate_table([{"current": 3}])
    with pytest.raises(InputError, match="burglary"):
        annotate_table([{"id": "burglary", "current": "lots", "previous": 3}])
    with pytest.raises(InputError):
        annotate_table([{"current": 3, "previous": 4}], alpha=5)


def test_statistics_block():
    assert statistics_block() == {"test": TEST_NAMES["quasi-poisson"], "test_id": "quasi-poisson",
                                  "alpha": 0.05, "adjustment": "holm", "small_number_threshold": 10}
    assert statistics_block(test="exact")["test"] == "exact conditional binomial test for two Poisson counts"
    assert statistics_block("fdr_bh")["adjustment"] == "bh"


def test_binom_two_sided_matches_scipy_binomtest() -> None:
    """Our scipy.special implementation agrees with scipy.stats.binomtest on 2,000 random cases."""
    import random

    from scipy.stats import binomtest

    from crimeassess.assess.stats import binom_two_sided

    rng = random.Random(20180331)
    for _ in range(2000):
        n = rng.randint(1, 4000)
        k = rng.randint(0, n)
        p = rng.choice([0.5, 0.4, 0.6, 10 / 22, 0.3, 0.75])
        assert abs(binom_two_sided(k, n, p) - binomtest(k, n, p).pvalue) < 1e-9, (k, n, p)
