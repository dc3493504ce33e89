"""User zones (parks, a night-time-economy district …) for theme selectors: which records' map points fall
inside a polygon file. Files load like ``--area-file`` (GeoJSON, TopoJSON, GeoPackage, Shapefile; any CRS).

police.uk map points are snapped to anonymised points, so a zone selects the crimes *mapped* inside it: a
crime near a zone's edge may be mapped just outside (or inside) it.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CrimeAssessError, GeographyError
from .boundaries import read_boundaries
from .placement import place_points


def register_zone(con: duckdb.DuckDBPyConnection, path: str | Path, table: str, relation: str = "area_rows"
                  ) -> tuple[int, str]:
    """Create temp table ``table(uid)`` with the uids of ``relation``'s records inside the zone file; returns
    how many and the zone's name (its one feature's name, else the file name). A zone file that cannot be read
    raises GeographyError naming it."""
    try:
        gdf = read_boundaries(path, level="custom")
    except CrimeAssessError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        raise GeographyError(f"zone file {path} cannot be read: {exc}") from None
    one = gpd.GeoDataFrame({"code": ["zone"]}, geometry=[shapely.union_all(gdf.geometry.values)], crs=27700)
    minx, miny, maxx, maxy = one.to_crs(4326).total_bounds
    pts = con.execute(
        f"SELECT uid, longitude, latitude FROM {relation} WHERE longitude BETWEEN ? AND ? AND latitude BETWEEN ? AND ?",
        [minx - 0.01, maxx + 0.01, miny - 0.01, maxy + 0.01]).fetchdf()
    inside = place_points(pts["longitude"].to_numpy(), pts["latitude"].to_numpy(), one) if len(pts) else np.array([])
    df = pd.DataFrame({"uid": pts["uid"].to_numpy()[inside == "zone"] if len(pts) else np.array([], dtype=object)})
    con.register("zone_df", df)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT DISTINCT CAST(uid AS VARCHAR) AS uid FROM zone_df")
    con.unregister("zone_df")
    names = [str(n) for n in gdf["name"] if n] if "name" in gdf else []
    return len(df), (names[0] if len(names) == 1 else Path(path).stem)
