"""Placement against stored boundaries: point-in-polygon for records without a usable LSOA, ward geometry
for maps, and user-drawn areas.

pandas, geopandas and shapely are imported by the functions that use them, once boundaries are found: an
assessment on a store without boundaries calls these functions and never imports them (0.4 s of a command)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow.parquet as pq

from ..errors import GeographyError
from ..store import Store

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd


def stored_boundaries(store: Store, name: str) -> gpd.GeoDataFrame:
    """Read a stored boundary table (GeoParquet written by `load_geography`) as a GeoDataFrame in EPSG:27700."""
    f = store.geography_file("boundaries", name)
    if f is None:
        raise GeographyError(f"boundaries {name!r} are not loaded")
    import geopandas as gpd
    import shapely

    df = pq.read_table(f).to_pandas()
    return gpd.GeoDataFrame(df.drop(columns=["geometry"]), geometry=shapely.from_wkb(df["geometry"].values), crs=27700)


def boundary_ward_table(store: Store, name: str) -> pd.DataFrame:
    """ward_code, ward_name, lad_code, lad_name of a stored ward boundary table (LAD from the file or a ward list)."""
    f = store.geography_file("boundaries", name)
    if f is None:
        raise GeographyError(f"boundaries {name!r} are not loaded")
    import pandas as pd

    cols = [c for c in ("code", "name", "lad_code", "lad_name") if c in pq.read_schema(f).names]
    g = pq.read_table(f, columns=cols).to_pandas()  # attributes only: no geometry to parse
    df = pd.DataFrame({"ward_code": g["code"], "ward_name": g["name"],
                       "lad_code": g["lad_code"] if "lad_code" in g else None,
                       "lad_name": g["lad_name"] if "lad_name" in g else None})
    for e in store.geography_entries("ward_lad"):
        wl = pq.read_table(store.geography_path(e)).to_pandas().drop_duplicates("ward_code").set_index("ward_code")
        miss = df["lad_code"].isna() & df["ward_code"].isin(wl.index)
        df.loc[miss, "lad_code"] = df.loc[miss, "ward_code"].map(wl["lad_code"])
        miss_n = df["lad_name"].isna() & df["ward_code"].isin(wl.index)
        df.loc[miss_n, "lad_name"] = df.loc[miss_n, "ward_code"].map(wl["lad_name"])
    return df


def derived_lookup(store: Store, boundary_name: str) -> pd.DataFrame:
    """An LSOA→ward→LAD lookup for a ward set known only by its boundaries, by the ONS best-fit idea: each LSOA
    goes to the ward holding a point inside it (its representative point; population-weighted centroids are
    not in the store). Needs LSOA polygons; without them the lookup is empty and placement is by points."""
    import geopandas as gpd
    import pandas as pd

    wards = stored_boundaries(store, boundary_name)
    table = boundary_ward_table(store, boundary_name)
    parts = []
    for e in store.geography_entries("boundaries"):
        if e.get("level") != "lsoa":
            continue
        lsoa = stored_boundaries(store, e["name"])
        pts = gpd.GeoDataFrame({"lsoa_code": lsoa["code"].to_numpy()},
                               geometry=lsoa.geometry.representative_point().to_numpy(), crs=27700)
        j = gpd.sjoin(pts, wards[["code", "geometry"]], predicate="within", how="inner")
        parts.append(pd.DataFrame({"lsoa_code": j["lsoa_code"].to_numpy(), "ward_code": j["code"].to_numpy()}))
    if not parts:
        return pd.DataFrame(columns=["lsoa_code", "ward_code", "ward_name", "lad_code", "lad_name"])
    lk = pd.concat(parts).drop_duplicates("lsoa_code").merge(table, on="ward_code", how="left")
    return lk[["lsoa_code", "ward_code", "ward_name", "lad_code", "lad_name"]]


def _codes(con: duckdb.DuckDBPyConnection, col: str) -> set[str]:
    return {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM lk").fetchall() if r[0]}


def matching_boundaries(store: Store, con: duckdb.DuckDBPyConnection, level: str, ward_codes: set[str] | None = None) -> tuple[str, gpd.GeoDataFrame] | None:
    """The stored boundary table of `level` whose codes best match the ward lookup vintage in table `lk`."""
    entries = [e for e in store.geography_entries("boundaries") if e.get("level") == level]
    if not entries:
        return None
    want = _codes(con, "ward_code" if level == "ward" else "lsoa_code")
    if ward_codes is not None and level == "ward":
        want &= ward_codes
    best: tuple[float, str] | None = None
    for e in entries:
        codes = {r[0] for r in con.execute("SELECT DISTINCT code FROM read_parquet(?)",
                                           [str(store.geography_path(e))]).fetchall()}
        if not codes or not want:
            continue
        share = len(codes & want) / len(codes)
        if share > 0.5 and (best is None or share > best[0]):
            best = (share, e["name"])
    if best is None:
        return None
    return best[1], stored_boundaries(store, best[1])


def point_place_records(con: duckdb.DuckDBPyConnection, store: Store, vintage: str | None,
                        boundary_name: str | None = None) -> dict[str, Any]:
    """Fill temp table `point_place(uid, ward_code, lad_code)` by point in polygon.

    Uses the given ward boundaries (a boundary-defined vintage), else ward polygons whose codes match the lookup
    vintage, else LSOA polygons (then the lookup gives the ward). Only records inside the polygons' bounding
    box are tested. Returns what was used.
    """
    if not vintage:
        return {"boundaries": None}
    found = (boundary_name, stored_boundaries(store, boundary_name)) if boundary_name else matching_boundaries(store, con, "ward")
    level = "ward"
    if found is None:
        found = matching_boundaries(store, con, "lsoa")
        level = "lsoa"
    if found is None:
        return {"boundaries": None}
    name, gdf = found
    minx, miny, maxx, maxy = gdf.to_crs(4326).total_bounds
    pad = 0.01
    pts = con.execute(
        "SELECT uid, longitude, latitude FROM records WHERE longitude BETWEEN ? AND ? AND latitude BETWEEN ? AND ?",
        [minx - pad, maxx + pad, miny - pad, maxy + pad]).fetchdf()
    if pts.empty:
        return {"boundaries": name, "boundary_level": level}
    import pandas as pd

    from .placement import place_points

    codes = place_points(pts["longitude"].to_numpy(), pts["latitude"].to_numpy(), gdf)
    df = pd.DataFrame({"uid": pts["uid"].to_numpy(), "code": codes})
    df = df[df["code"].notna()]
    con.register("pp_df", df)
    if level == "ward":
        wl = boundary_ward_table(store, name)[["ward_code", "lad_code"]]
        con.register("wl_df", wl)
        con.execute("INSERT INTO point_place SELECT d.uid, d.code, coalesce(w.lad_code, b.lad_code) FROM pp_df d "
                    "LEFT JOIN (SELECT DISTINCT ward_code, lad_code FROM lk) w ON w.ward_code = d.code "
                    "LEFT JOIN wl_df b ON b.ward_code = d.code")
        con.unregister("wl_df")
    else:
        con.execute("INSERT INTO point_place SELECT d.uid, lk.ward_code, lk.lad_code FROM pp_df d JOIN lk ON lk.lsoa_code = d.code")
    con.unregister("pp_df")
    return {"boundaries": name, "boundary_level": level}


def ward_geometry(store: Store, vintage: str | None, ward_codes: list[str]) -> gpd.GeoDataFrame | None:
    """Ward polygons (EPSG:27700; columns code, name, geometry) for the given wards, or None if not loaded.

    Chooses the stored ward boundaries holding most of the codes; for wards only LSOA polygons cover,
    dissolves the LSOAs by the lookup (ONS best fit), so a map is possible from LSOA boundaries alone.
    """
    if not ward_codes:
        return None
    want = set(ward_codes)
    best = None
    for e in store.geography_entries("boundaries"):
        if e.get("level") != "ward":
            continue
        g = stored_boundaries(store, e["name"])
        n = len(set(g["code"]) & want)
        if n and (best is None or n > best[0]):
            best = (n, g)
    if best is not None and best[0] == len(want):
        g = best[1]
        return g[g["code"].isin(want)][["code", "name", "geometry"]].reset_index(drop=True)
    if vintage:
        lk_file = store.geography_file("lsoa_ward", vintage)
        for e in store.geography_entries("boundaries"):
            if e.get("level") != "lsoa" or lk_file is None:
                continue
            lsoa = stored_boundaries(store, e["name"])
            lk = pq.read_table(lk_file, columns=["lsoa_code", "ward_code", "ward_name"]).to_pandas()
            lk = lk[lk["ward_code"].isin(want)]
            m = lsoa.merge(lk, left_on="code", right_on="lsoa_code")
            if m.empty:
                continue
            d = m.dissolve(by="ward_code", aggfunc={"ward_name": "first"}).reset_index()
            d = d.rename(columns={"ward_code": "code", "ward_name": "name"})
            if len(d) == len(want):
                return d[["code", "name", "geometry"]]
    if best is not None:
        g = best[1]
        return g[g["code"].isin(want)][["code", "name", "geometry"]].reset_index(drop=True)
    return None


def custom_area_uids(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, str]:
    """Register temp table `custom_area(uid)` with records inside a user-drawn polygon file; returns (code, name)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from .boundaries import read_boundaries
    from .placement import place_points

    gdf = read_boundaries(path, level="custom")
    geom = shapely.union_all(gdf.geometry.values)
    one = gpd.GeoDataFrame({"code": ["custom"]}, geometry=[geom], crs=27700)
    minx, miny, maxx, maxy = one.to_crs(4326).total_bounds
    pts = con.execute(
        "SELECT uid, longitude, latitude FROM records WHERE longitude BETWEEN ? AND ? AND latitude BETWEEN ? AND ?",
        [minx - 0.01, maxx + 0.01, miny - 0.01, maxy + 0.01]).fetchdf()
    inside = place_points(pts["longitude"].to_numpy(), pts["latitude"].to_numpy(), one) if len(pts) else np.array([])
    df = pd.DataFrame({"uid": pts["uid"].to_numpy()[inside == "custom"] if len(pts) else []})
    con.register("custom_df", df)
    con.execute("CREATE OR REPLACE TEMP TABLE custom_area AS SELECT DISTINCT uid::VARCHAR AS uid FROM custom_df")
    con.unregister("custom_df")
    name = str(gdf["name"].iloc[0]) if len(gdf) == 1 and gdf["name"].iloc[0] else Path(path).stem
    return "custom", name
