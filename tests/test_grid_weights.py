"""Hotspot grid weights worked out from the grid equal libpysal's distance band of 1.5 cells plus the diagonal."""
from __future__ import annotations

import warnings

import numpy as np
from libpysal.weights import DistanceBand, fill_diagonal

from crimeassess.assess.hotspots import _grid_weights, gi_star


def test_grid_weights_equal_distance_band() -> None:
    rng = np.random.default_rng(3)
    nx, ny, cell = 40, 30, 250
    for share in (0.05, 0.3, 1.0):
        keep = np.flatnonzero(rng.random(nx * ny) < share)
        centre = np.column_stack([(keep // ny + 0.5) * cell, (keep % ny + 0.5) * cell])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            band = fill_diagonal(DistanceBand.from_array(centre, threshold=cell * 1.5, binary=True,
                                                         silence_warnings=True), 1)
        grid = _grid_weights(keep, nx, ny)
        assert all(sorted(band.neighbors[i]) == grid.neighbors[i] for i in range(keep.size))
        y = rng.poisson(2, size=keep.size).astype(float)
        a, b = gi_star(y, band), gi_star(y, grid)
        assert np.allclose(a["z"], b["z"]) and (a["hot"] == b["hot"]).all() and (a["cold"] == b["cold"]).all()


def test_a_point_far_from_the_rest_is_left_out_of_the_grid() -> None:
    # a city of ~600 points within 4 km, and one crime recorded 200 km away: the grid would span both
    from crimeassess.assess.hotspots import FAR_MIN_M, near_points

    rng = np.random.default_rng(7)
    x = np.concatenate([440_000 + rng.normal(0, 1_500, 600), [640_000.0]])
    y = np.concatenate([110_000 + rng.normal(0, 1_500, 600), [110_000.0]])
    keep = near_points(x, y)
    assert keep.sum() == 600 and not keep[-1]
    d = np.hypot(x - np.median(x), y - np.median(y))
    assert (d[keep] <= max(2 * np.percentile(d, 99), FAR_MIN_M)).all()
    # a compact city keeps every point
    assert near_points(x[:-1], y[:-1]).all()
