"""Significance of a change between two recorded-crime counts.

For each compared count (total, theme, ward, ward × theme) we report:

* an exact two-sided test for two Poisson counts. Conditional on n = current + previous, under equal rates
  current ~ Binomial(n, r / (1 + r)), where r is the exposure ratio (current exposure / previous exposure:
  1 for equal-length periods and populations; e.g. 10/12 when the current period has 10 months in the store
  and the previous one 12). The p-value is scipy.stats.binomtest's two-sided one (the "minimum likelihood"
  method, as R's poisson.test / binom.test);
* Wheeler's Poisson Z, Z = 2(√current − √previous) (with an exposure ratio, previous is first scaled to the
  current exposure: Z = 2(√current − √(r·previous))). |Z| > 3 is Wheeler's rule of thumb for a real change;
  it is reported for readers, the decision uses the exact test;
* by default, the quasi-Poisson score test: the same conditional comparison with its variance multiplied by
  the family's dispersion φ (see ``dispersion.py``), z = (C − nπ) / √(φ nπ(1 − π)), π = r / (1 + r),
  n = C + P, two-sided normal p-value. For φ = 1 it is the score test of two Poisson rates
  (statsmodels' ``test_poisson_2indep(method="score")``). Options: ``exact`` (the exact conditional test,
  which assumes Poisson counts) and ``wheeler`` (Wheeler's Z read as a normal deviate);
* the p-value adjusted across each table (Holm by default, Benjamini–Hochberg as an option), and
  ``significant`` = adjusted p < alpha (0.05), except that rows where both counts are below the small-number
  threshold are never significant and are flagged ``small_numbers``.

Percentage change is rounded to one decimal and is None from a zero base (never infinite).
"""
from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from crimeassess.assess.normal import ndtr
from crimeassess.errors import InputError

#: Rows where BOTH counts are below this are "small numbers": never significant. Override per call.
SMALL_NUMBER_THRESHOLD = 10
#: Significance level applied to adjusted p-values.
ALPHA = 0.05
#: Default multiple-comparison adjustment across a table.
DEFAULT_METHOD = "holm"
#: Accepted adjustment methods: Holm (family-wise error), Benjamini–Hochberg (false discovery rate), none.
METHODS = ("holm", "bh", "none")
#: The significance tests: quasi-Poisson score test (default), exact conditional Poisson test, Wheeler's Z.
TESTS = ("quasi-poisson", "exact", "wheeler")
DEFAULT_TEST = "quasi-poisson"
#: Human-readable names of the tests, for the assessment's "statistics" block.
TEST_NAMES = {
    "quasi-poisson": "quasi-Poisson score test for two counts (variance scaled by the estimated dispersion)",
    "exact": "exact conditional binomial test for two Poisson counts",
    "wheeler": "Wheeler's Poisson Z, 2(√current − √previous), read as a normal deviate",
}
TEST_NAME = TEST_NAMES["exact"]
#: Decimal places Z is reported to.
Z_DECIMALS = 2

_METHOD_ALIASES = {
    "holm": "holm",
    "holm-bonferroni": "holm",
    "bh": "bh",
    "fdr_bh": "bh",
    "benjamini-hochberg": "bh",
    "none": "none",
}


def _as_count(value: Any, what: str) -> int | None:
    """A non-negative whole count, or None for 'unavailable' (None or NaN)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(f"{what} must be a whole number of crimes, not {value!r}")
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not value.is_integer():
            raise InputError(f"{what} must be a whole number of crimes, not {value!r}")
        value = int(value)
    try:
        n = operator.index(value)
    except TypeError:
        raise InputError(f"{what} must be a whole number of crimes, not {value!r}") from None
    if n < 0:
        raise InputError(f"{what} must not be negative, got {n}")
    return n


def _check_exposure(exposure_ratio: Any) -> float:
    try:
        r = float(exposure_ratio)
    except (TypeError, ValueError):
        raise InputError(f"exposure_ratio must be a positive number, not {exposure_ratio!r}") from None
    if not math.isfinite(r) or r <= 0:
        raise InputError(f"exposure_ratio must be a positive finite number, not {exposure_ratio!r}")
    return r


def _check_threshold(threshold: Any) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise InputError(f"small-number threshold must be a whole number >= 0, not {threshold!r}")
    return threshold


def _check_alpha(alpha: Any) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise InputError(f"alpha must be a number between 0 and 1, not {alpha!r}") from None
    if not 0 < a < 1:
        raise InputError(f"alpha must be between 0 and 1 (exclusive), not {alpha!r}")
    return a


def _check_method(method: Any) -> str:
    key = str(method).strip().lower()
    if key not in _METHOD_ALIASES:
        raise InputError(f"unknown p-value adjustment {method!r}; use one of: {', '.join(METHODS)}")
    return _METHOD_ALIASES[key]


def exact_p_value(current: int, previous: int, exposure_ratio: float = 1.0) -> float:
    """Two-sided exact p-value that two Poisson counts have equal rates (conditional binomial test).

    exposure_ratio = current exposure / previous exposure (period length × population). Both counts zero
    gives 1.0 (no evidence of any change).
    """
    c = _as_count(current, "current")
    p = _as_count(previous, "previous")
    if c is None or p is None:
        raise InputError("exact_p_value needs two counts, got None")
    r = _check_exposure(exposure_ratio)
    n = c + p
    if n == 0:
        return 1.0
    return binom_two_sided(c, n, r / (1.0 + r))


def _pmf(k: int, n: int, p: float) -> float:
    from scipy import special  # the exact test only: the default test needs no SciPy (see normal.py)

    return math.exp(special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
                    + special.xlogy(k, p) + special.xlog1py(n - k, -p))


def binom_two_sided(k: int, n: int, p: float) -> float:
    """Two-sided exact binomial p-value, "minimum likelihood" method: the probability of every outcome no more
    likely than k. Same rule as scipy.stats.binomtest (tested against it), built on scipy.special so that
    importing crimeassess does not pay for all of scipy.stats (about a second at start-up)."""
    if n == 0:
        return 1.0
    from scipy import special

    d = _pmf(k, n, p)
    rerr = 1 + 1e-7
    mode_side = p * n
    if k == mode_side:
        return 1.0
    if k < mode_side:
        # count outcomes on the upper side no more likely than k: pmf falls from ceil(pn) to n
        lo, hi = math.ceil(mode_side), n
        if _pmf(hi, n, p) > d * rerr:
            y = 0
        else:
            while lo < hi:  # first i in [ceil(pn), n] with pmf(i) <= d*rerr
                mid = (lo + hi) // 2
                if _pmf(mid, n, p) <= d * rerr:
                    hi = mid
                else:
                    lo = mid + 1
            y = n - lo + 1
        pval = special.bdtr(k, n, p) + (special.bdtrc(n - y, n, p) if y > 0 else 0.0)
    else:
        lo, hi = 0, math.floor(mode_side)
        if _pmf(lo, n, p) > d * rerr:
            y = 0
        else:
            while lo < hi:  # last i in [0, floor(pn)] with pmf(i) <= d*rerr
                mid = (lo + hi + 1) // 2
                if _pmf(mid, n, p) <= d * rerr:
                    lo = mid
                else:
                    hi = mid - 1
            y = lo + 1
        pval = (special.bdtr(y - 1, n, p) if y > 0 else 0.0) + special.bdtrc(k - 1, n, p)
    return float(min(1.0, pval))


def quasi_poisson_z(current: int, previous: int, exposure_ratio: float = 1.0, dispersion: float = 1.0) -> float:
    """Score statistic for equal rates with variance scaled by ``dispersion``: (C − nπ)/√(φ nπ(1−π))."""
    c = _as_count(current, "current")
    p = _as_count(previous, "previous")
    if c is None or p is None:
        raise InputError("quasi_poisson_z needs two counts, got None")
    r = _check_exposure(exposure_ratio)
    phi = _check_exposure(dispersion)
    n = c + p
    if n == 0:
        return 0.0
    pi = r / (1.0 + r)
    return (c - n * pi) / math.sqrt(phi * n * pi * (1.0 - pi))


def normal_p(z: float) -> float:
    """Two-sided normal p-value of a z statistic."""
    return float(min(1.0, 2.0 * ndtr(-abs(z))))


def poisson_z(current: int, previous: int, exposure_ratio: float = 1.0) -> float:
    """Wheeler's Poisson Z: 2(√current − √(exposure_ratio × previous)); unrounded."""
    c = _as_count(current, "current")
    p = _as_count(previous, "previous")
    if c is None or p is None:
        raise InputError("poisson_z needs two counts, got None")
    r = _check_exposure(exposure_ratio)
    return 2.0 * (math.sqrt(c) - math.sqrt(r * p))


def pct_change(current: int | None, previous: int | None) -> float | None:
    """Percentage change rounded to one decimal; None from a zero base or when either count is None."""
    c = _as_count(current, "current")
    p = _as_count(previous, "previous")
    if c is None or p is None or p == 0:
        return None
    return round(100.0 * (c - p) / p, 1)


@dataclass(frozen=True)
class Comparison:
    """One compared count. Statistics are None when either count is unavailable (None)."""

    current: int | None
    previous: int | None
    change: int | None
    pct_change: float | None
    p_value: float | None
    z: float | None
    small_numbers: bool | None

    @property
    def available(self) -> bool:
        """True when both counts are known."""
        return self.current is not None and self.previous is not None

    def significant(self, alpha: float = ALPHA) -> bool:
        """Unadjusted decision for a lone comparison: p < alpha and not small numbers."""
        return bool(self.available and not self.small_numbers and self.p_value is not None
                    and self.p_value < _check_alpha(alpha))

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)


def compare(
    current: int | None,
    previous: int | None,
    *,
    exposure_ratio: float = 1.0,
    threshold: int = SMALL_NUMBER_THRESHOLD,
    test: str = DEFAULT_TEST,
    dispersion: float | None = None,
) -> Comparison:
    """Compare a current count with a previous one: change, pct_change, p-value and z of ``test``, and the
    small-numbers flag (both counts below ``threshold``). None counts give None statistics.

    quasi-poisson with ``dispersion`` None (too little history to estimate it) falls back to the exact test.
    ``z`` is the test's statistic (Wheeler's Z for the exact test, which has none of its own).
    """
    c = _as_count(current, "current")
    p = _as_count(previous, "previous")
    r = _check_exposure(exposure_ratio)
    t = _check_threshold(threshold)
    test = check_test(test)
    if c is None or p is None:
        return Comparison(c, p, None, None, None, None, None)
    wz = poisson_z(c, p, r)
    if test == "quasi-poisson" and dispersion is not None:
        z = quasi_poisson_z(c, p, r, dispersion)
        pv = normal_p(z)
    elif test == "wheeler":
        z, pv = wz, normal_p(wz)
    else:
        z, pv = wz, exact_p_value(c, p, r)
    return Comparison(
        current=c,
        previous=p,
        change=c - p,
        pct_change=pct_change(c, p),
        p_value=pv,
        z=round(z, Z_DECIMALS),
        small_numbers=(c < t and p < t),
    )


def check_test(test: Any) -> str:
    """A test name from TESTS (case-insensitive), or InputError."""
    key = str(test).strip().lower().replace("_", "-")
    if key == "quasipoisson":
        key = "quasi-poisson"
    if key not in TESTS:
        raise InputError(f"unknown significance test {test!r}; use one of: {', '.join(TESTS)}")
    return key


def adjust_pvalues(p: Iterable[float | None], method: str = DEFAULT_METHOD) -> list[float | None]:
    """Adjust p-values for multiple comparisons: 'holm' (step-down, family-wise) or 'bh'
    (Benjamini–Hochberg step-up, false discovery rate); 'none' returns them unchanged.

    None entries are ignored (not counted in the family) and stay None; the result keeps input order.
    """
    m_name = _check_method(method)
    values = list(p)
    idx: list[int] = []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
            raise InputError(f"p-values must be numbers between 0 and 1, got {v!r} at position {i}")
        idx.append(i)
    out: list[float | None] = [None] * len(values)
    m = len(idx)
    if m == 0:
        return out
    order = sorted(idx, key=lambda i: float(values[i]))  # stable: ties keep input order
    if m_name == "none":
        for i in idx:
            out[i] = float(values[i])
    elif m_name == "holm":
        running = 0.0
        for rank, i in enumerate(order):  # rank 0 = smallest p, multiplied by m
            running = max(running, min(1.0, (m - rank) * float(values[i])))
            out[i] = running
    else:  # bh
        running = 1.0
        for rank in range(m - 1, -1, -1):
            i = order[rank]
            running = min(running, min(1.0, m / (rank + 1) * float(values[i])))
            out[i] = running
    return out


def annotate_table(
    rows: Sequence[Mapping[str, Any]],
    *,
    method: str = DEFAULT_METHOD,
    alpha: float = ALPHA,
    threshold: int = SMALL_NUMBER_THRESHOLD,
    exposure_ratio: float = 1.0,
    test: str = DEFAULT_TEST,
    dispersion: float | None = None,
) -> list[dict[str, Any]]:
    """Return copies of ``rows`` (dicts with ``current``/``previous``) with change, pct_change, p_value,
    p_adjusted, z, significant and small_numbers added.

    A row holding ``matched_current``/``matched_previous`` (the like-for-like counts over the months held in
    both periods) is compared on those; its ``current``/``previous`` (everything held) are kept as they are.
    p-values are adjusted across the whole table (rows with None counts are left out of the family and get
    None statistics, significant False). Small-number rows are kept in the family (conservative) but are
    never significant. A row may carry its own ``exposure_ratio`` and ``dispersion``, overriding the arguments.
    """
    m_name = _check_method(method)
    a = _check_alpha(alpha)
    t = _check_threshold(threshold)
    _check_exposure(exposure_ratio)
    comps: list[Comparison] = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InputError(f"table row {i} must be a dict with 'current' and 'previous', not {type(row).__name__}")
        missing = [k for k in ("current", "previous") if k not in row]
        if missing:
            raise InputError(f"table row {i} has no {' or '.join(repr(k) for k in missing)} key")
        matched = "matched_current" in row
        cur_v = row["matched_current"] if matched else row["current"]
        prev_v = row.get("matched_previous") if matched else row["previous"]
        try:
            comps.append(compare(cur_v, prev_v, exposure_ratio=row.get("exposure_ratio", exposure_ratio),
                                 threshold=t, test=test, dispersion=row.get("dispersion", dispersion)))
        except InputError as exc:
            label = row.get("id") or row.get("code") or row.get("name") or f"row {i}"
            raise InputError(f"{label}: {exc}") from None
    adjusted = adjust_pvalues([c.p_value for c in comps], m_name)
    out: list[dict[str, Any]] = []
    for row, comp, p_adj in zip(rows, comps, adjusted):
        new = dict(row)
        d = comp.to_dict()
        if "matched_current" in row:
            d.pop("current")
            d.pop("previous")
        new.update(d)
        new["p_adjusted"] = p_adj
        new["significant"] = bool(p_adj is not None and not comp.small_numbers and p_adj < a)
        out.append(new)
    return out


def statistics_block(method: str = DEFAULT_METHOD, alpha: float = ALPHA,
                     threshold: int = SMALL_NUMBER_THRESHOLD, test: str = DEFAULT_TEST) -> dict[str, Any]:
    """The assessment's ``statistics`` object describing how significance was judged."""
    t = check_test(test)
    return {"test": TEST_NAMES[t], "test_id": t, "alpha": _check_alpha(alpha), "adjustment": _check_method(method),
            "small_number_threshold": _check_threshold(threshold)}
