"""Resolving what an assessment covers: an area's local authorities and the ward vintage to use."""
from __future__ import annotations

import duckdb

from .. import sql
from ..errors import GeographyError
from ..store import Store
from .areas import Area, boundary_vintages, ward_vintages


def all_vintages(store: Store) -> list[str]:
    """Every ward vintage the store can assess: lookups, then ward sets known only from boundaries."""
    return ward_vintages(store) + sorted(boundary_vintages(store))


def lads_of(a: Area, store: Store, con: duckdb.DuckDBPyConnection) -> list[str]:
    """The local authority codes an area covers (a CSP's or force area's through the LAD→CSP→PFA lookups)."""
    if a.level in ("lad", "ward"):
        return a.lad_codes
    col = {"csp": "csp_code", "pfa": "pfa_code"}[a.level]
    lads: set[str] = set()
    for e in store.geography_entries("lad_csp_pfa"):
        lads |= {r[0] for r in con.execute(
            "SELECT DISTINCT lad_code FROM read_parquet(?) WHERE " + col + " = ?", [str(store.geography_path(e)), a.code]).fetchall()}
    return sorted(lads)


def pick_vintage(store: Store, con: duckdb.DuckDBPyConnection, a: Area, lad_codes: list[str], asked: str | None) -> str | None:
    """The ward vintage to assess `a` in: `asked` (checked to cover the area), else the newest loaded lookup
    covering it, else a boundary-defined ward set covering it; None when none does. GeographyError when the
    asked vintage is not loaded or does not cover the area."""
    vintages = ward_vintages(store)
    if asked:
        v = asked.upper()
        f = store.geography_file("lsoa_ward", v)
        derived = boundary_vintages(store)
        if f is None and v in derived:
            # geopandas costs about half a second to import: only boundary-defined ward sets pay for it.
            from .placing import boundary_ward_table

            wt = boundary_ward_table(store, derived[v])
            covers = (wt["ward_code"] == a.code).any() if a.level == "ward" else wt["lad_code"].isin(lad_codes).any()
            if not covers:
                raise GeographyError(f"ward vintage {v} does not cover {a.name} ({a.code})")
            return v
        if f is None:
            raise GeographyError(f"ward vintage {v} is not loaded; loaded: {', '.join(all_vintages(store)) or 'none'}")
        n = con.execute(f"SELECT count(*) FROM read_parquet({sql.literal(str(f))}) WHERE lad_code IN {sql.in_list(lad_codes)}"
                        + (f" OR ward_code = {sql.literal(a.code)}" if a.level == "ward" else "")).fetchall()[0][0]
        if not n:
            raise GeographyError(f"ward vintage {v} does not cover {a.name} ({a.code})")
        return v
    for v in vintages:
        f = store.geography_file("lsoa_ward", v)
        cond = f"ward_code = {sql.literal(a.code)}" if a.level == "ward" else f"lad_code IN {sql.in_list(lad_codes)}"
        if con.execute(f"SELECT count(*) FROM read_parquet({sql.literal(str(f))}) WHERE {cond}").fetchall()[0][0]:
            return v
    # No lookup covers the area (e.g. a ward that exists only in newer boundaries): a boundary-defined set.
    # geopandas costs about half a second to import: only this case pays for it.
    from .placing import boundary_ward_table

    for v, name in sorted(boundary_vintages(store).items(), reverse=True):
        wt = boundary_ward_table(store, name)
        if (wt["ward_code"] == a.code).any() if a.level == "ward" else wt["lad_code"].isin(lad_codes).any():
            return v
    return None
