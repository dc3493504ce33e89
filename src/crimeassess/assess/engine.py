"""The assessment: counts for a period against a comparison period, by total, category, theme and ward."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..errors import CrimeAssessError, GeographyError, PeriodError
from ..geography.areas import Area, boundary_vintages, resolve_area, ward_vintages
from ..schema import ASB_ID, CRIME_TYPES, CURRENT_CRIME_TYPES
from ..store import Store
from . import stats
from .periods import Period, comparison_for, parse_period
from .runs import current_run

SOURCE_PRIORITY = ["extract", "police-uk-street", "police-uk-api"]
SOURCE_LABELS = {
    "extract": "force crime extract (Home Office offence codes)",
    "police-uk-street": "police.uk street-level crime files",
    "police-uk-api": "police.uk API (crimes-street)",
}
MAX_SERIES = 15  # periods in a series, at most
# Queries here end in .fetchall(): in DuckDB 2.x a result read with fetchone() stays open, and registering a
# DataFrame on the connection afterwards fails ("connection has an unfinished result").


@dataclass
class Assessment:
    """An assessment result. `data` is the JSON-ready dict (docs/assessment-schema.md)."""

    data: dict[str, Any]
    ward_geometry: Any = field(default=None, repr=False)  # GeoDataFrame (EPSG:27700) when boundaries are loaded

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.data, indent=indent, ensure_ascii=False)

    # DataFrame views for the Python API
    def total(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in self.data["total"].items() if k not in ("series", "run")}])

    def categories(self) -> pd.DataFrame:
        return pd.DataFrame(self.data["categories"])

    def themes(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in t.items() if k not in ("series", "run")} for t in self.data.get("themes", [])])

    def wards(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in w.items() if k not in ("themes", "run", "series")} for w in self.data["wards"]])

    def series(self) -> pd.DataFrame:
        return pd.DataFrame(self.data["total"].get("series", []))


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _in_list(values: list[str]) -> str:
    return "(" + ",".join(_q(v) for v in values) + ")" if values else "(NULL)"


def _load_themes(theme_files: list[Path] | None) -> list[Any]:
    from ..classify.themes import load_themes

    return list(load_themes(extra_paths=[Path(p) for p in (theme_files or [])]).values())


def _register_offences(con: duckdb.DuckDBPyConnection) -> None:
    from ..classify.offences import offence_table

    df = offence_table()[["code", "group", "subgroup", "in_total_recorded_crime"]].rename(
        columns={"group": "ho_group", "subgroup": "ho_subgroup", "in_total_recorded_crime": "ho_in_total"})
    con.register("offences_df", df)
    con.execute("CREATE OR REPLACE TEMP TABLE offences AS SELECT upper(code) AS code, ho_group, ho_subgroup, "
                "CAST(ho_in_total AS BOOLEAN) AS ho_in_total FROM offences_df")
    con.unregister("offences_df")


def _prepare_placed(con: duckdb.DuckDBPyConnection, store: Store, vintage: str | None, placement: str) -> dict[str, Any]:
    """Create the `placed` view: every live record with its ward and local authority, and how it was placed.

    auto: the record's own codes (extracts), else LSOA best fit, else point in polygon; lsoa: no points;
    point: points only, for every record.
    """
    derived = boundary_vintages(store).get(vintage) if vintage and store.geography_file("lsoa_ward", vintage) is None else None
    if derived:
        from ..geography.placing import derived_lookup

        con.register("derived_lk", derived_lookup(store, derived))
        con.execute("CREATE OR REPLACE TEMP TABLE lk AS SELECT lsoa_code::VARCHAR lsoa_code, ward_code::VARCHAR ward_code, "
                    "ward_name::VARCHAR ward_name, lad_code::VARCHAR lad_code, lad_name::VARCHAR lad_name FROM derived_lk")
        con.unregister("derived_lk")
    elif vintage:
        f = store.geography_file("lsoa_ward", vintage)
        if f is None:
            raise GeographyError(f"ward vintage {vintage} is not loaded; loaded: {', '.join(_all_vintages(store)) or 'none'}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE lk AS SELECT lsoa_code, ward_code, ward_name, lad_code, lad_name "
                    f"FROM read_parquet({_q(str(f))})")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE lk(lsoa_code VARCHAR, ward_code VARCHAR, ward_name VARCHAR, "
                    "lad_code VARCHAR, lad_name VARCHAR)")
    point_info = _point_placement(con, store, vintage, placement, derived)
    if derived:
        point_info["derived_lookup"] = ("LSOAs assigned to the boundary-defined wards by a point inside each LSOA"
                                        if con.execute("SELECT count(*) FROM lk").fetchall()[0][0]
                                        else "no LSOA polygons: crimes placed by their map points only")
    if placement == "point":
        method = "CASE WHEN pp.lad_code IS NOT NULL OR pp.ward_code IS NOT NULL THEN 'point' END"
        ward, lad = "pp.ward_code", "pp.lad_code"
    else:
        method = ("CASE WHEN r.ward_code IS NOT NULL OR r.lad_code IS NOT NULL THEN 'source' "
                  "WHEN lk.lad_code IS NOT NULL THEN 'lsoa' WHEN pp.lad_code IS NOT NULL THEN 'point' END")
        if placement == "lsoa":
            ward, lad = "coalesce(r.ward_code, lk.ward_code)", "coalesce(r.lad_code, lk.lad_code)"
        else:
            ward = "coalesce(r.ward_code, lk.ward_code, pp.ward_code)"
            lad = "coalesce(r.lad_code, lk.lad_code, pp.lad_code)"
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW placed AS
        SELECT r.*, o.ho_group, o.ho_subgroup, coalesce(o.ho_in_total, false) AS ho_in_total,
          {method} AS placed_by, {ward} AS p_ward_code, {lad} AS p_lad_code,
          pp.ward_code AS point_ward_code, lk.ward_code AS lsoa_ward_code
        FROM records r
        LEFT JOIN lk ON r.lsoa_code = lk.lsoa_code
        LEFT JOIN point_place pp ON r.uid = pp.uid
        LEFT JOIN offences o ON upper(r.offence_code) = o.code
    """)
    return point_info


def _point_placement(con: duckdb.DuckDBPyConnection, store: Store, vintage: str | None, placement: str,
                     derived: str | None = None) -> dict[str, Any]:
    """Fill `point_place(uid, ward_code, lad_code)` by point-in-polygon where ward boundaries are loaded."""
    con.execute("CREATE OR REPLACE TEMP TABLE point_place(uid VARCHAR, ward_code VARCHAR, lad_code VARCHAR)")
    if placement == "lsoa":
        return {"boundaries": None}
    from ..geography.placing import point_place_records

    return point_place_records(con, store, vintage, boundary_name=derived)


def _choose_source(con: duckdb.DuckDBPyConnection, where: str, months: list[str], source: str | None) -> str | None:
    rows = dict(con.execute(f"SELECT source_kind, count(*) FROM placed WHERE {where} AND month IN {_in_list(months)} "
                            "GROUP BY 1").fetchall())
    if source:
        if source not in SOURCE_PRIORITY:
            raise CrimeAssessError(f"unknown source {source!r}; choose from {', '.join(SOURCE_PRIORITY)}")
        return source
    for k in SOURCE_PRIORITY:
        if rows.get(k):
            return k
    anyrows = dict(con.execute(f"SELECT source_kind, count(*) FROM placed WHERE {where} GROUP BY 1").fetchall())
    for k in SOURCE_PRIORITY:
        if anyrows.get(k):
            return k
    return None


def _series_periods(period: Period, present: set[str]) -> list[Period]:
    """The current period and those before it, back while the store has any data (oldest first)."""
    out = [period]
    p = period
    for _ in range(MAX_SERIES - 1):
        p = p.previous()
        if not any(m in present for m in p.months):
            break
        out.append(p)
    return out[::-1]


def _span(p: Period) -> dict[str, str]:
    """A series entry's start and end: months, or days (YYYY-MM-DD) for day-based periods."""
    if p.by_day:
        return {"start": p.first_day.isoformat(), "end": p.last_day.isoformat()}
    return {"start": p.start, "end": p.end}


def _period_cond(p: Period) -> str:
    """SQL condition selecting a period's records: by recorded date for day-based periods, else by month."""
    if p.by_day:
        return f"(recorded_date BETWEEN DATE '{p.first_day.isoformat()}' AND DATE '{p.last_day.isoformat()}')"
    return f"(month IN {_in_list(p.months)})"


def _period_table(con: duckdb.DuckDBPyConnection, periods: list[Period], cur: Period, cmp: Period, rows_where: str) -> None:
    """Materialise the area's rows once (table `area_rows`), then views `pc` (rows of the current and comparison
    periods, column `which`) and `ps` (rows of the series periods, column `idx`) over it."""
    cc, pcnd = _period_cond(cur), _period_cond(cmp)
    any_cond = " OR ".join([_period_cond(p) for p in periods] + [cc, pcnd])
    con.execute(f"CREATE OR REPLACE TEMP TABLE area_rows AS SELECT * FROM placed WHERE ({rows_where}) AND ({any_cond})")
    con.execute(f"CREATE OR REPLACE TEMP VIEW pc AS SELECT *, CASE WHEN {cc} THEN 'cur' ELSE 'prev' END AS which "
                f"FROM area_rows WHERE {cc} OR {pcnd}")
    cases = " ".join(f"WHEN {_period_cond(p)} THEN {i}" for i, p in enumerate(periods))
    series_cond = " OR ".join(_period_cond(p) for p in periods)
    con.execute(f"CREATE OR REPLACE TEMP VIEW ps AS SELECT *, CASE {cases} END AS idx FROM area_rows WHERE {series_cond}")


def assess(
    area: str,
    period: str | Period,
    compare: str | Period | None = None,
    store: Store | str | Path | None = None,
    *,
    source: str | None = None,
    ward_vintage: str | None = None,
    placement: str = "auto",
    themes: list[str | Path] | None = None,
    area_file: str | Path | None = None,
    adjustment: str = stats.DEFAULT_METHOD,
    small_number_threshold: int = stats.SMALL_NUMBER_THRESHOLD,
    peers: list[str] | None = None,
    exclude: list[str] | None = None,
    peer_file: str | Path | None = None,
) -> Assessment:
    """Assess recorded crime in `area` for `period` against `compare` (default: same months a year earlier).

    `peers`, `exclude` and `peer_file` shape the `comparators` list (assess/comparators.py)."""
    st = store if isinstance(store, Store) else Store(store)
    cur = period if isinstance(period, Period) else parse_period(period)
    cmp = compare if isinstance(compare, Period) else comparison_for(cur, compare)
    if placement not in ("auto", "lsoa", "point"):
        raise CrimeAssessError(f"placement must be auto, lsoa or point, not {placement!r}")
    con = st.connect()
    try:
        return _assess(con, st, area, cur, cmp, source=source, ward_vintage=ward_vintage, placement=placement,
                       theme_files=[Path(t) for t in themes or []], area_file=area_file, adjustment=adjustment,
                       threshold=small_number_threshold, peers=peers, exclude=exclude, peer_file=peer_file)
    finally:
        con.close()


def _all_vintages(store: Store) -> list[str]:
    return ward_vintages(store) + sorted(boundary_vintages(store))


def _area_where(a: Area, lad_codes: list[str]) -> str:
    if a.level == "custom":
        return "uid IN (SELECT uid FROM custom_area)"
    if a.level == "ward":
        return f"p_ward_code = {_q(a.code)}"
    return f"p_lad_code IN {_in_list(lad_codes)}"


def _lads_of(a: Area, store: Store, con: duckdb.DuckDBPyConnection) -> list[str]:
    if a.level in ("lad", "ward"):
        return a.lad_codes
    col = {"csp": "csp_code", "pfa": "pfa_code"}[a.level]
    lads: set[str] = set()
    for e in store.geography_entries("lad_csp_pfa"):
        lads |= {r[0] for r in con.execute(
            f"SELECT DISTINCT lad_code FROM read_parquet({_q(str(store.path / e['file']))}) WHERE {col} = ?", [a.code]).fetchall()}
    return sorted(lads)


def _pick_vintage(store: Store, con: duckdb.DuckDBPyConnection, a: Area, lad_codes: list[str], asked: str | None) -> str | None:
    vintages = ward_vintages(store)
    if asked:
        v = asked.upper()
        f = store.geography_file("lsoa_ward", v)
        derived = boundary_vintages(store)
        if f is None and v in derived:
            from ..geography.placing import boundary_ward_table

            wt = boundary_ward_table(store, derived[v])
            covers = (wt["ward_code"] == a.code).any() if a.level == "ward" else wt["lad_code"].isin(lad_codes).any()
            if not covers:
                raise GeographyError(f"ward vintage {v} does not cover {a.name} ({a.code})")
            return v
        if f is None:
            raise GeographyError(f"ward vintage {v} is not loaded; loaded: {', '.join(_all_vintages(store)) or 'none'}")
        n = con.execute(f"SELECT count(*) FROM read_parquet({_q(str(f))}) WHERE lad_code IN {_in_list(lad_codes)}"
                        + (f" OR ward_code = {_q(a.code)}" if a.level == "ward" else "")).fetchall()[0][0]
        if not n:
            raise GeographyError(f"ward vintage {v} does not cover {a.name} ({a.code})")
        return v
    for v in vintages:
        f = store.geography_file("lsoa_ward", v)
        cond = f"ward_code = {_q(a.code)}" if a.level == "ward" else f"lad_code IN {_in_list(lad_codes)}"
        if con.execute(f"SELECT count(*) FROM read_parquet({_q(str(f))}) WHERE {cond}").fetchall()[0][0]:
            return v
    # No lookup covers the area (e.g. a ward that exists only in newer boundaries): a boundary-defined set
    from ..geography.placing import boundary_ward_table

    for v, name in sorted(boundary_vintages(store).items(), reverse=True):
        wt = boundary_ward_table(store, name)
        if (wt["ward_code"] == a.code).any() if a.level == "ward" else wt["lad_code"].isin(lad_codes).any():
            return v
    return None


def _assess(con, st: Store, area_text: str, cur: Period, cmp: Period, *, source, ward_vintage, placement,
            theme_files, area_file, adjustment, threshold, peers=None, exclude=None, peer_file=None) -> Assessment:
    _register_offences(con)
    if area_file:
        from ..geography.placing import custom_area_uids

        code, name = custom_area_uids(con, Path(area_file))
        a = Area(code, name, "custom")
        lad_codes: list[str] = []
        vintages = ward_vintages(st)
        vintage = ward_vintage.upper() if ward_vintage else (vintages[0] if vintages else None)
    else:
        a = resolve_area(area_text, st, con)
        lad_codes = _lads_of(a, st, con)
        vintage = _pick_vintage(st, con, a, lad_codes, ward_vintage)
    point_info = _prepare_placed(con, st, vintage, placement)
    where = _area_where(a, lad_codes)
    kind = _choose_source(con, where, cur.months + cmp.months, source)
    theme_list = _load_themes(theme_files)

    # Which forces' data feed this area, and which months the store holds for them.
    if kind:
        forces = [r[0] for r in con.execute(
            f"SELECT DISTINCT coalesce(force, '') FROM placed WHERE {where} AND source_kind = ? ORDER BY 1", [kind]).fetchall()]
        if kind == "police-uk-api":
            present_rows = con.execute("SELECT DISTINCT month FROM live_slices WHERE source_kind = ?", [kind]).fetchall()
            present = {r[0] for r in present_rows}
        else:
            per_force = {}
            for f in forces:
                per_force[f] = {r[0] for r in con.execute(
                    "SELECT DISTINCT month FROM live_slices WHERE source_kind = ? AND scope = ?", [kind, f]).fetchall()}
            present = set.intersection(*per_force.values()) if per_force else set()
    else:
        forces, present = [], set()

    missing_cur = [m for m in cur.months if m not in present]
    missing_prev = [m for m in cmp.months if m not in present]
    coverage = {
        "months_expected": cur.n_months,
        "current_months": cur.n_months - len(missing_cur),
        "previous_months": cmp.n_months - len(missing_prev),
        "complete": not missing_cur and not missing_prev and kind is not None,
        "missing_current": missing_cur,
        "missing_previous": missing_prev,
        "previous_months_expected": cmp.n_months,
    }
    # Rates of crime per month differ when months are missing: compare like with like in the tests.
    exposure = 1.0
    if coverage["current_months"] and coverage["previous_months"]:
        exposure = coverage["current_months"] / coverage["previous_months"]
    if cur.by_day:
        if kind not in (None, "extract"):
            raise PeriodError(f"period {cur.label} counts by recorded date, which only force extracts carry "
                              f"(this area's data is {SOURCE_LABELS.get(kind, kind)}); use a month-based period")
        exposure *= (cur.n_days or 1) / (cmp.n_days or cur.n_days or 1)

    periods = _series_periods(cur, present)
    src_cond = f"source_kind = {_q(kind)}" if kind else "false"
    _period_table(con, periods, cur, cmp, f"{where} AND {src_cond}")
    base = f"FROM pc c WHERE {where} AND {src_cond}"

    def cnt(pred: str) -> str:
        return (f"count(*) FILTER (WHERE c.which = 'cur' AND ({pred})) AS cur_n, "
                f"count(*) FILTER (WHERE c.which = 'prev' AND ({pred})) AS prev_n")

    total_pred = _theme_pred(theme_list, "total", kind) or "is_crime"
    cur_n, prev_n = con.execute(f"SELECT {cnt(total_pred)} {base}").fetchall()[0]
    asb_cur, asb_prev = con.execute(f"SELECT {cnt(f'category_id = {_q(ASB_ID)}')} {base}").fetchall()[0]

    # police.uk categories (ASB apart)
    cat_counts = {r[0]: (r[1], r[2]) for r in con.execute(
        f"SELECT category_id, {cnt('is_crime')} {base} AND is_crime GROUP BY 1").fetchall()}
    cat_ids = [c for c in CURRENT_CRIME_TYPES if c != ASB_ID] + sorted(
        c for c in cat_counts if c not in CURRENT_CRIME_TYPES)
    categories = [{"id": c, "label": CRIME_TYPES.get(c, c), "current": cat_counts.get(c, (0, 0))[0],
                   "previous": cat_counts.get(c, (0, 0))[1], "exposure_ratio": exposure} for c in cat_ids]

    # Themes: one pass over the rows for all themes, per series period
    theme_rows = []
    theme_preds = {}
    for t in theme_list:
        pred = t.predicate(kind) if kind else None
        theme_preds[t.id] = pred
    sel = ", ".join(f"count(*) FILTER (WHERE {pred}) AS \"{tid}\"" for tid, pred in theme_preds.items() if pred) or "0 AS dummy"
    series_counts = {r[0]: r[1:] for r in con.execute(
        f"SELECT pm.idx, count(*) FILTER (WHERE {total_pred}) AS total, {sel} FROM ps pm "
        f"WHERE {where} AND {src_cond} GROUP BY 1").fetchall()}
    avail_ids = [tid for tid, pred in theme_preds.items() if pred]
    cmp_counts = {r[0]: r[1:] for r in con.execute(
        f"SELECT c.which, {sel} FROM pc c WHERE {where} AND {src_cond} GROUP BY 1"
    ).fetchall()} if avail_ids else {}

    def series_of(col: int) -> list[dict[str, Any]]:
        out = []
        for i, p in enumerate(periods):
            complete = all(m in present for m in p.months)
            out.append({"label": p.label, **_span(p),
                        "count": int(series_counts.get(i, [0] * (len(avail_ids) + 1))[col]), "complete": complete})
        return out

    total_series = series_of(0)
    for t in theme_list:
        pred = theme_preds[t.id]
        row: dict[str, Any] = {"id": t.id, "label": t.label, "available": pred is not None,
                               "caveat": getattr(t, "caveat", None)}
        if pred is None:
            row.update(current=None, previous=None)
        else:
            j = avail_ids.index(t.id)
            row.update(current=int(cmp_counts.get("cur", [0] * len(avail_ids))[j]),
                       previous=int(cmp_counts.get("prev", [0] * len(avail_ids))[j]), exposure_ratio=exposure)
            row["series"] = series_of(j + 1)
            row["run"] = current_run(row["series"]).to_dict()
        theme_rows.append(row)

    # Wards: every ward of the area in the chosen vintage, even with no crime
    wards = _ward_rows(con, a, lad_codes, vintage, where, src_cond, total_pred, theme_preds, exposure, periods, present)

    # Unplaced: crimes of the same forces and months that could not be put in any area
    force_cond = f"coalesce(force, '') IN {_in_list(forces)}" if kind != "police-uk-api" else "true"
    un_cur, un_prev = con.execute(
        f"SELECT {cnt('is_crime')} FROM pc c "
        f"WHERE {src_cond} AND {force_cond} AND p_lad_code IS NULL AND p_ward_code IS NULL").fetchall()[0]
    placed_by = dict(con.execute(
        f"SELECT coalesce(placed_by, 'unplaced'), count(*) {base} AND is_crime AND c.which = 'cur' GROUP BY 1").fetchall())
    agreement = None
    agree_row = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE point_ward_code = lsoa_ward_code) {base} AND is_crime "
        "AND c.which = 'cur' AND point_ward_code IS NOT NULL AND lsoa_ward_code IS NOT NULL").fetchall()[0]
    if agree_row[0]:
        agreement = {"compared": agree_row[0], "agree": agree_row[1], "share": round(agree_row[1] / agree_row[0], 4)}

    population = _population(con, st, a, lad_codes, vintage)
    total = {"current": cur_n, "previous": prev_n, "exposure_ratio": exposure}
    asb = _asb_block(con, where, cur, cmp, kind, forces, (asb_cur, asb_prev), coverage, exposure)
    # A period with no months in the store has no count at all: null, never zero.
    if coverage["current_months"] == 0 or coverage["previous_months"] == 0:
        key = "current" if coverage["current_months"] == 0 else "previous"
        for r in [total, *categories, *theme_rows, *wards, *(t for w in wards for t in w["themes"])]:
            if r.get("available", True):
                r[key] = None
        if coverage["current_months"] == 0 and coverage["previous_months"] == 0:
            for r in [total, *categories, *theme_rows, *wards, *(t for w in wards for t in w["themes"])]:
                if r.get("available", True):
                    r["previous"] = None
    # significance: each table adjusted as a family
    total = stats.annotate_table([total], method=adjustment, threshold=threshold)[0]
    asb = stats.annotate_table([asb], method=adjustment, threshold=threshold)[0] if asb["available"] else {
        **asb, "change": None, "pct_change": None, "p_value": None, "p_adjusted": None, "z": None,
        "significant": False, "small_numbers": None}
    categories = stats.annotate_table(categories, method=adjustment, threshold=threshold)
    theme_rows = _annotate_available(theme_rows, adjustment, threshold)
    wards = stats.annotate_table(wards, method=adjustment, threshold=threshold)
    for w in wards:
        w["themes"] = _annotate_available(w["themes"], adjustment, threshold)
    total["series"] = total_series
    total["run"] = current_run(total_series).to_dict()
    _add_rates(total, categories, theme_rows, wards, population)
    for r in [total, asb, *categories, *theme_rows, *wards]:
        r.pop("exposure_ratio", None)
    for w in wards:
        for t in w["themes"]:
            t.pop("exposure_ratio", None)

    ward_changes = [w["change"] for w in wards if w.get("change") is not None]
    data: dict[str, Any] = {
        "schema_version": 1,
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "area": a.to_dict(),
        "period": cur.to_dict(),
        "compare": cmp.to_dict(),
        "source": {"kind": kind, "label": SOURCE_LABELS.get(kind or "", "no data"), "forces": [f for f in forces if f],
                   "inputs": _inputs_used(st, kind, forces)},
        "geography": {"ward_vintage": vintage, "placement": placement,
                      "placed_by": {k: placed_by.get(k, 0) for k in ("source", "lsoa", "point")},
                      "unplaced": un_cur, "agreement": agreement, **point_info},
        "population": population["meta"] if population else None,
        "coverage": coverage,
        "total": total,
        "anti_social_behaviour": asb,
        "unplaced": {"current": un_cur, "previous": un_prev,
                     "note": "crimes in the same forces' data with no usable location; not counted in any area"},
        "categories": categories,
        "themes": theme_rows,
        "wards": wards,
        "wards_summary": {"up": sum(c > 0 for c in ward_changes), "down": sum(c < 0 for c in ward_changes),
                          "unchanged": sum(c == 0 for c in ward_changes), "total": len(wards)},
        "statistics": stats.statistics_block(adjustment, stats.ALPHA, threshold),
    }
    from .findings import findings
    from .quality import data_quality

    data["data_quality"] = data_quality(con, st, kind=kind, forces=[f for f in forces], periods=periods, cur=cur,
                                        cmp=cmp, geography=data["geography"])
    from .comparators import add_comparisons

    add_comparisons(data, st, a, cur, cmp, source=kind, con=con, peers=peers, exclude=exclude, peer_file=peer_file)
    data["findings"] = findings(data)
    geo = None
    if vintage:
        from ..geography.placing import ward_geometry

        geo = ward_geometry(st, vintage, [w["code"] for w in wards])
    data["geography"]["ward_geometry"] = geo is not None
    return Assessment(data, ward_geometry=geo)


def _asb_block(con, where: str, cur: Period, cmp: Period, kind: str | None, forces: list[str],
               counts: tuple[int, int], coverage: dict[str, Any], exposure: float) -> dict[str, Any]:
    """Anti-social behaviour, never counted as crime. Force extracts hold no ASB, so it then comes from the same
    forces' police.uk street files, with that source's own month coverage."""
    if kind != "extract":
        cur_n, prev_n = counts
        return {"current": None if coverage["current_months"] == 0 else cur_n,
                "previous": None if coverage["previous_months"] == 0 else prev_n,
                "exposure_ratio": exposure, "available": kind is not None, "source": kind}
    alt = "police-uk-street"
    if cur.by_day or cmp.by_day:
        return {"current": None, "previous": None, "available": False, "source": None,
                "note": "anti-social behaviour comes from police.uk files, which have months, not recorded dates"}
    months = {r[0] for r in con.execute(
        f"SELECT DISTINCT month FROM live_slices WHERE source_kind = ? AND scope IN {_in_list(forces)}", [alt]).fetchall()}
    have_cur = [m for m in cur.months if m in months]
    have_prev = [m for m in cmp.months if m in months]
    if not have_cur and not have_prev:
        return {"current": None, "previous": None, "available": False, "source": None,
                "note": "force extracts hold no anti-social behaviour; no police.uk street files for these months"}
    cur_n, prev_n = con.execute(
        f"SELECT count(*) FILTER (WHERE {_period_cond(cur)}), count(*) FILTER (WHERE {_period_cond(cmp)}) "
        f"FROM placed WHERE {where} AND source_kind = ? AND category_id = ?", [alt, ASB_ID]).fetchall()[0]
    missing = [m for m in cur.months if m not in months] + [m for m in cmp.months if m not in months]
    return {"current": cur_n if have_cur else None, "previous": prev_n if have_prev else None,
            "exposure_ratio": (len(have_cur) / len(have_prev)) if have_cur and have_prev else 1.0,
            "available": True, "source": alt, "complete": not missing, "missing_months": missing}


def _theme_pred(theme_list: list[Any], tid: str, kind: str | None) -> str | None:
    for t in theme_list:
        if t.id == tid and kind:
            return t.predicate(kind)
    return None


def _annotate_available(rows: list[dict[str, Any]], adjustment: str, threshold: int) -> list[dict[str, Any]]:
    """Significance across the available themes; unavailable ones keep null counts and statistics."""
    avail = [r for r in rows if r.get("available", True)]
    done = iter(stats.annotate_table(avail, method=adjustment, threshold=threshold))
    out = []
    for r in rows:
        if r.get("available", True):
            out.append(next(done))
        else:
            out.append({**r, "current": None, "previous": None, "change": None, "pct_change": None, "p_value": None,
                        "p_adjusted": None, "z": None, "significant": False, "small_numbers": False})
    return out


def _ward_rows(con, a: Area, lad_codes, vintage, where, src_cond, total_pred, theme_preds, exposure, periods, present):
    if vintage and a.level != "custom":
        names = con.execute(
            "SELECT DISTINCT ward_code, ward_name FROM lk WHERE "
            + (f"ward_code = {_q(a.code)}" if a.level == "ward" else f"lad_code IN {_in_list(lad_codes)}")
            + " ORDER BY 1").fetchall()
    elif vintage:
        names = con.execute(f"SELECT DISTINCT p.p_ward_code, lk.ward_name FROM placed p JOIN (SELECT DISTINCT ward_code, "
                            f"ward_name FROM lk) lk ON lk.ward_code = p.p_ward_code WHERE {where} AND {src_cond} ORDER BY 1"
                            ).fetchall()
    else:
        names = con.execute(f"SELECT DISTINCT p_ward_code, any_value(ward_name) FROM placed WHERE {where} "
                            f"AND p_ward_code IS NOT NULL AND {src_cond} GROUP BY 1 ORDER BY 1").fetchall()
    avail = [(tid, pred) for tid, pred in theme_preds.items() if pred and tid != "total"]
    sel = ", ".join(
        f"count(*) FILTER (WHERE c.which = 'cur' AND ({pred})) AS \"c_{tid}\", "
        f"count(*) FILTER (WHERE c.which = 'prev' AND ({pred})) AS \"p_{tid}\"" for tid, pred in avail)
    q = (f"SELECT p_ward_code, count(*) FILTER (WHERE c.which = 'cur' AND ({total_pred})), "
         f"count(*) FILTER (WHERE c.which = 'prev' AND ({total_pred})){', ' + sel if sel else ''} "
         f"FROM pc c WHERE {where} AND {src_cond} GROUP BY 1")
    counts = {r[0]: r[1:] for r in con.execute(q).fetchall()}
    ser = {}
    for code, idx, n in con.execute(
        f"SELECT p_ward_code, pm.idx, count(*) FROM ps pm "
        f"WHERE {where} AND {src_cond} AND ({total_pred}) GROUP BY 1, 2").fetchall():
        ser[(code, idx)] = n
    rows = []
    zero = [0] * (2 + 2 * len(avail))
    for code, name in names:
        c = counts.get(code, zero)
        series = [{"label": p.label, **_span(p), "count": int(ser.get((code, i), 0)),
                   "complete": all(m in present for m in p.months)} for i, p in enumerate(periods)]
        wt = [{"id": tid, "current": int(c[2 + 2 * j]), "previous": int(c[3 + 2 * j]), "exposure_ratio": exposure}
              for j, (tid, _p) in enumerate(avail)]
        rows.append({"code": code, "name": name, "current": int(c[0]), "previous": int(c[1]),
                     "exposure_ratio": exposure, "series": series, "run": current_run(series).to_dict(), "themes": wt})
    rows.sort(key=lambda r: (-r["current"], r["name"] or ""))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def _population(con, st: Store, a: Area, lad_codes, vintage) -> dict[str, Any] | None:
    """Residents and households for the area and each ward, from the newest loaded population table."""
    entries = st.geography_entries("population")
    if not entries or not vintage:
        return None
    e = sorted(entries, key=lambda e: (e.get("year") or 0, e.get("loaded_at", "")))[-1]
    f = str(st.path / e["file"])
    cond = f"lk.ward_code = {_q(a.code)}" if a.level == "ward" else f"lk.lad_code IN {_in_list(lad_codes)}"
    rows = con.execute(
        f"SELECT lk.ward_code, sum(p.residents), sum(p.households), count(p.lsoa_code), count(*) FROM lk "
        f"LEFT JOIN read_parquet({_q(f)}) p ON p.lsoa_code = lk.lsoa_code WHERE {cond} GROUP BY 1").fetchall()
    if not rows or all(r[3] == 0 for r in rows):
        return None
    wards = {r[0]: {"residents": r[1], "households": r[2]} for r in rows}
    res = sum(r[1] or 0 for r in rows)
    hh = sum(r[2] or 0 for r in rows) if all(r[2] is not None for r in rows) else None
    complete = all(r[3] == r[4] for r in rows)
    meta = {"source": e.get("source"), "year": e.get("year"), "residents": int(res),
            "households": int(hh) if hh is not None else None, "complete": complete}
    return {"meta": meta, "wards": wards}


HOUSEHOLD_THEMES = {"burglary", "burglary_residential"}


def _rate(n: int | None, base: int | float | None) -> float | None:
    if n is None or not base:
        return None
    return round(n / base * 1000, 1)


def _add_rates(total, categories, themes, wards, population) -> None:
    """rate_per_1000 residents (households for residential burglary); null without population data."""
    res = population["meta"]["residents"] if population else None
    hh = population["meta"]["households"] if population else None
    total["rate_per_1000"] = _rate(total["current"], res)
    for c in categories:
        c["rate_per_1000"] = _rate(c["current"], hh if c["id"] == "burglary" and hh else res)
    for t in themes:
        base = hh if (t["id"] in HOUSEHOLD_THEMES and hh) else res
        t["rate_per_1000"] = _rate(t.get("current"), base)
        t["rate_base"] = "households" if (t["id"] in HOUSEHOLD_THEMES and hh) else "residents"
    for w in wards:
        wp = (population or {}).get("wards", {}).get(w["code"]) if population else None
        w["rate_per_1000"] = _rate(w["current"], wp["residents"] if wp else None)
        w["population"] = wp["residents"] if wp else None


def _inputs_used(st: Store, kind: str | None, forces: list[str]) -> int:
    """Live inputs of the chosen source that feed this area's forces (all API inputs for the API)."""
    wanted = set(forces)
    return sum(1 for i in st.inputs(live_only=True) if i["kind"] == kind
               and (kind == "police-uk-api" or set((i.get("force") or "").split(",")) & wanted))
