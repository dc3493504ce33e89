"""The official Home Office total beside the police.uk count, for the data quality section."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from ..geography.areas import Area, resolve_area
from ..sources.homeoffice import SOURCE_LABEL, force_slug_of, load_counts
from ..store import Store
from .comparators import _Geo, _ho_total, _quarters
from .periods import Period, parse_period

EXPLANATION = ("police.uk omits crimes it cannot locate (no usable location, or withheld) and its files are "
               "extracted at a different date from the Home Office tables, after later reclassifications and "
               "cancellations; the Home Office total also excludes fraud, as published.")


def official_total(
    store: Store | str | Path | None,
    area: str | Area,
    period: str | Period,
    *,
    police_count: int | None,
    complete: bool = True,
    con: duckdb.DuckDBPyConnection | None = None,
) -> dict[str, Any] | None:
    """The Home Office total recorded crime (excluding fraud) for the area and period beside ``police_count`` (the
    assessment's total), with the difference and why they differ; None when no loaded table gives the area for
    whole quarters of the period. Areas: a CSP table for local authorities / CSPs (the CSPs exactly covering
    them), the force table for a police force area. ``complete`` False (months missing from the records) gives
    no difference, only both figures."""
    st = store if isinstance(store, Store) else Store(store)
    cur = period if isinstance(period, Period) else parse_period(period)
    quarters = _quarters(cur)
    if not quarters or not st.geography_entries("homeoffice"):  # no table: nothing to load (nor pandas to import)
        return None
    counts = load_counts(st)
    if counts.empty:
        return None
    own = con is None
    con = con or st.connect()
    try:
        a = area if isinstance(area, Area) else resolve_area(area, st, con)
        geo = _Geo(st, con)
        lads = geo.lads(a)
        official = None
        scope = None
        if a.level == "pfa":
            official = _ho_total(counts, quarters, force=force_slug_of(a.name))
            scope = f"force table, {a.name}"
        elif a.level in ("lad", "csp"):
            csps = geo.csps_of(lads)
            if csps:
                official = _ho_total(counts, quarters, csp_codes=[c for c, _ in csps], csp_names=[n for _, n in csps])
                scope = "CSP table, " + ", ".join(n for _, n in csps)
    finally:
        if own:
            con.close()
    if official is None:
        return None
    out: dict[str, Any] = {"source": SOURCE_LABEL, "table": scope,
                           "quarters": [f"{fy} Q{q}" for fy, q in quarters],
                           "home_office_total": official, "police_uk_count": police_count,
                           "difference": None, "difference_pct": None, "explanation": EXPLANATION}
    if police_count is not None and complete:
        out["difference"] = police_count - official
        out["difference_pct"] = round(100.0 * (police_count - official) / official, 1) if official else None
    elif not complete:
        out["note"] = "the records miss months of this period, so the two are not compared"
    return out
