"""Point-in-polygon placement of crime map points into areas, and agreement between two placements."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from pyproj import CRS, Transformer

if TYPE_CHECKING:  # geopandas and pandas are imported where used: hotspots need only to_bng
    import geopandas as gpd

from ..errors import GeographyError, InputError

# Made once (30 ms each); pyproj's Transformer is thread-safe from 3.1.
_TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)


def to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitudes and latitudes as British National Grid eastings and northings (metres)."""
    x, y = _TO_BNG.transform(lon, lat)
    return np.asarray(x), np.asarray(y)


def place_points(
    lon: Sequence[float] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    polygons: gpd.GeoDataFrame,
    *,
    code_col: str = "code",
) -> np.ndarray:
    """Return, for each WGS84 point, the code of the polygon containing it (None where outside or no point).

    ``polygons`` is a GeoDataFrame as returned by ``read_boundaries`` (any CRS; reprojected to EPSG:27700).
    Points are reprojected to British National Grid with pyproj and matched with a shapely STRtree,
    vectorised (1e6 points take seconds). A point on a border shared by several polygons (or in an
    overlap) goes to the lowest code, so the answer never depends on polygon order. Missing or
    non-finite coordinates give None. Result: numpy object array of str/None, same length as ``lon``.
    """
    import shapely  # here: hotspots import this module for to_bng alone

    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError(f"lon and lat must be 1-D and equally long (got {x.shape} and {y.shape})")
    if code_col not in polygons.columns:
        raise GeographyError(f"polygons have no {code_col!r} column")
    if polygons.crs is None:
        raise GeographyError("polygons have no CRS; read them with read_boundaries")
    polys = polygons if polygons.crs.equals(CRS.from_epsg(27700)) else polygons.to_crs(27700)

    out = np.full(x.shape[0], None, dtype=object)
    if len(polys) == 0 or x.size == 0:
        return out
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    # Each distinct point once: police.uk map points are snapped to anonymised points and an area's records share
    # a few thousand of them (the demo city: 68,139 distinct among 442,108), and the same point always gets the
    # same answer. np.unique on complex numbers sorts by (lon, lat); `back` maps every record to its point.
    uniq, back = np.unique(x[idx] + 1j * y[idx], return_inverse=True)
    ex, ny = _TO_BNG.transform(uniq.real, uniq.imag)
    points = shapely.points(ex, ny)

    codes = polys[code_col].astype(str).to_numpy()
    # rank[i] = position of polygon i's code in sorted order: the tie-break for border points.
    rank = np.empty(len(codes), dtype=np.int64)
    rank[np.argsort(codes, kind="stable")] = np.arange(len(codes))

    tree = shapely.STRtree(polys.geometry.to_numpy())
    pt_i, poly_i = tree.query(points, predicate="intersects")
    if pt_i.size:
        order = np.lexsort((rank[poly_i], pt_i))
        pt_i, poly_i = pt_i[order], poly_i[order]
        first = np.ones(pt_i.size, dtype=bool)
        first[1:] = pt_i[1:] != pt_i[:-1]
        per_point = np.full(uniq.size, None, dtype=object)
        per_point[pt_i[first]] = codes[poly_i[first]]
        out[idx] = per_point[back]
    return out


def _present(a: np.ndarray) -> np.ndarray:
    """True where a value is a real code (not None/NaN/empty string)."""
    import pandas as pd

    return np.asarray(pd.notna(a), dtype=bool) & (a != "")


def agreement(codes_a: Sequence | np.ndarray, codes_b: Sequence | np.ndarray) -> dict:
    """Compare two placements of the same records where both are non-null.

    Returns ``{'compared': n, 'agree': k, 'share': k / n}`` (share is None when nothing is compared).
    """
    a = np.asarray(codes_a, dtype=object)
    b = np.asarray(codes_b, dtype=object)
    if a.shape != b.shape:
        raise InputError(f"placements differ in length ({a.shape[0]} vs {b.shape[0]})")
    both = _present(a) & _present(b)
    compared = int(both.sum())
    agree = int((a[both] == b[both]).sum())
    return {"compared": compared, "agree": agree, "share": agree / compared if compared else None}
