"""``assess/normal.py``'s ndtr is SciPy's ``scipy.special.ndtr``, the same double everywhere: every p-value of the
default test comes from it, so a last-bit difference would change the assessment JSON."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from crimeassess.assess import stats
from crimeassess.assess.normal import ndtr


def _same(xs: np.ndarray) -> list[float]:
    ref = special.ndtr(xs)
    return [float(x) for x, r in zip(xs, ref) if ndtr(float(x)) != r]


def test_equal_to_scipy_on_a_fine_grid_and_random_points() -> None:
    rng = np.random.default_rng(12)
    xs = np.concatenate([
        np.linspace(-40.0, 40.0, 80_001),            # every branch: erf, erfc below and above 8, underflow
        rng.uniform(-1.5, 1.5, 60_000),               # around the erf/erfc switch at |x|/sqrt(2) = 1
        rng.normal(0.0, 3.0, 60_000),                 # where the quasi-Poisson z of real counts falls
        np.array([0.0, -0.0, math.sqrt(2), -math.sqrt(2), np.nextafter(math.sqrt(2), 0), 8 * math.sqrt(2),
                  -8 * math.sqrt(2), 37.5, -37.5, 38.6, -38.6, np.inf, -np.inf, 5e-324, -5e-324]),
    ])
    assert _same(xs) == []


@settings(max_examples=400, deadline=None)
@given(st.floats(allow_nan=False, width=64))
def test_equal_to_scipy_for_any_double(x: float) -> None:
    assert ndtr(x) == special.ndtr(x)


def test_nan_gives_nan() -> None:
    assert math.isnan(ndtr(math.nan))


def test_normal_p_is_the_scipy_p_value() -> None:
    for z in (0.0, 0.5, -1.96, 1.959963984540054, 3.0, -7.5, 12.0, 40.0):
        assert stats.normal_p(z) == float(min(1.0, 2.0 * special.ndtr(-abs(z))))
