"""The assessment: counts for a period against a comparison period, by total, category, theme and ward."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..classify.outcomes import load_outcome_map
from ..errors import CrimeAssessError, GeographyError, NoDataError, PeriodError
from ..geography.areas import Area, boundary_vintages, resolve_area, ward_vintages
from ..schema import ASB_ID, CRIME_TYPES, CURRENT_CRIME_TYPES
from .. import sql
from ..sources.registry import get_kind, source_labels, source_priority, with_capability
from ..store import Store
from . import dispersion, priorities, stats, steps
from .outcomes import outcomes_block
from .findings import findings
from .quality import data_quality
from .periods import Period, comparison_for, month_from_index, month_index, month_runs, parse_period
from .runs import current_run

SOURCE_PRIORITY = source_priority()
SOURCE_LABELS = source_labels()
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


_q = sql.literal
_in_list = sql.in_list


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
    """The current period and up to MAX_SERIES − 1 before it (oldest first), from the oldest that has any month
    in the store. Periods in a gap stay in the series as incomplete (count None), so a run never spans a gap
    and the comparison period is in the series whenever the store holds it."""
    out = [period]
    p = period
    for _ in range(MAX_SERIES - 1):
        p = p.series_step()
        out.append(p)
    while len(out) > 1 and not any(m in present for m in out[-1].months):
        out.pop()
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


def _window(cur: Period, present: set[str]) -> list[str]:
    """Months held in the dispersion window: up to WINDOW_MONTHS ending at the current period's last month."""
    end = month_index(cur.end)
    return [m for m in (month_from_index(i) for i in range(end - dispersion.WINDOW_MONTHS + 1, end + 1))
            if m in present]


def _period_table(con: duckdb.DuckDBPyConnection, periods: list[Period], cur: Period, cmp: Period, rows_where: str,
                  window: list[str], matched_cur: list[str], matched_prev: list[str]) -> None:
    """Materialise the area's rows once (table `area_rows`), then views `pc` (rows of the current and comparison
    periods, columns `which` and `matched`: the row's month is held in both periods) and `ps` (rows of the series
    periods, column `idx`) over it."""
    cc, pcnd = _period_cond(cur), _period_cond(cmp)
    any_cond = " OR ".join([_period_cond(p) for p in periods] + [cc, pcnd, f"month IN {_in_list(window)}"])
    con.execute(f"CREATE OR REPLACE TEMP TABLE area_rows AS SELECT * FROM placed WHERE ({rows_where}) AND ({any_cond})")
    if cur.by_day:
        matched = "true" if matched_cur else "false"
    else:
        matched = (f"CASE WHEN {cc} THEN month IN {_in_list(matched_cur)} "
                   f"ELSE month IN {_in_list(matched_prev)} END")
    con.execute(f"CREATE OR REPLACE TEMP VIEW pc AS SELECT *, CASE WHEN {cc} THEN 'cur' ELSE 'prev' END AS which, "
                f"{matched} AS matched FROM area_rows WHERE {cc} OR {pcnd}")
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
    test: str = stats.DEFAULT_TEST,
) -> Assessment:
    """Assess recorded crime in `area` for `period` against `compare` (default: same months a year earlier)."""
    st = store if isinstance(store, Store) else Store(store)
    cur = period if isinstance(period, Period) else parse_period(period)
    cmp = compare if isinstance(compare, Period) else comparison_for(cur, compare)
    if placement not in ("auto", "lsoa", "point"):
        raise CrimeAssessError(f"placement must be auto, lsoa or point, not {placement!r}")
    con = st.connect()
    try:
        return _assess(con, st, area, cur, cmp, source=source, ward_vintage=ward_vintage, placement=placement,
                       theme_files=[Path(t) for t in themes or []], area_file=area_file, adjustment=adjustment,
                       threshold=small_number_threshold, test=stats.check_test(test))
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
            "SELECT DISTINCT lad_code FROM read_parquet(?) WHERE " + col + " = ?", [str(store.geography_path(e)), a.code]).fetchall()}
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


#: A force holding less than this share of an area's records is "stray" (e.g. a neighbouring force's few
#: crimes in border LSOAs): its records are counted and listed in data quality, but its months never make the
#: area's months "missing".
FORCE_SHARE = 0.02


@dataclass(frozen=True)
class _Target:
    """What is assessed: the area, its local authorities, ward vintage and the SQL selecting its rows."""

    area: Area
    lad_codes: list[str]
    vintage: str | None
    where: str


def _resolve_target(con, st: Store, area_text: str, area_file, ward_vintage: str | None) -> _Target:
    if area_file:
        from ..geography.placing import custom_area_uids

        code, name = custom_area_uids(con, Path(area_file))
        a = Area(code, name, "custom")
        vintages = ward_vintages(st)
        vintage = ward_vintage.upper() if ward_vintage else (vintages[0] if vintages else None)
        return _Target(a, [], vintage, _area_where(a, []))
    a = resolve_area(area_text, st, con)
    lad_codes = _lads_of(a, st, con)
    return _Target(a, lad_codes, _pick_vintage(st, con, a, lad_codes, ward_vintage), _area_where(a, lad_codes))


def _forces(con, where: str, kind: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    """The forces whose data feed the area (at least FORCE_SHARE of its records) and the stray others."""
    if not kind:
        return [], []
    rows = con.execute(f"SELECT coalesce(force, ''), count(*) FROM placed WHERE {where} AND source_kind = ? "
                       "GROUP BY 1 ORDER BY 2 DESC, 1", [kind]).fetchall()
    total = sum(n for _, n in rows) or 1
    main = sorted(f for f, n in rows if n >= FORCE_SHARE * total)
    stray = [{"force": f or None, "records": int(n), "share": round(n / total, 5)}
             for f, n in rows if n < FORCE_SHARE * total]
    return main, stray


def _present_months(con, kind: str | None, forces: list[str]) -> set[str]:
    """Months the store holds for every feeding force (any month, for the API, which has no force)."""
    if not kind:
        return set()
    if get_kind(kind).scope == "file":  # API responses carry no force: every month held counts
        return {r[0] for r in con.execute("SELECT DISTINCT month FROM live_slices WHERE source_kind = ?", [kind]).fetchall()}
    per_force = [{r[0] for r in con.execute("SELECT DISTINCT month FROM live_slices WHERE source_kind = ? AND scope = ?",
                                            [kind, f]).fetchall()} for f in forces]
    return set.intersection(*per_force) if per_force else set()


def _match(cur: Period, cmp: Period, present: set[str]) -> tuple[list[str], list[str], str]:
    """Months compared like for like: (current months, comparison months, basis).

    basis: "complete" (every month of both periods held), "matched_months" (only months held in both: the i-th
    month of one period with the i-th of the other), "none" (no month held in both) or "unequal_lengths"
    (periods of different lengths, never compared as a percentage)."""
    if cur.by_day or cmp.by_day:
        full = all(m in present for m in cur.months) and all(m in present for m in cmp.months)
        return (cur.months, cmp.months, "complete") if full else ([], [], "none")
    if cur.n_months != cmp.n_months:
        return [], [], "unequal_lengths"
    pairs = [(c, p) for c, p in zip(cur.months, cmp.months) if c in present and p in present]
    if len(pairs) == cur.n_months:
        return cur.months, cmp.months, "complete"
    if not pairs:
        return [], [], "none"
    return [c for c, _ in pairs], [p for _, p in pairs], "matched_months"


def _coverage(cur: Period, cmp: Period, present: set[str], kind: str | None) -> dict[str, Any]:
    missing_cur = [m for m in cur.months if m not in present]
    missing_prev = [m for m in cmp.months if m not in present]
    mc, mp, basis = _match(cur, cmp, present)
    return {
        "months_expected": cur.n_months,
        "current_months": cur.n_months - len(missing_cur),
        "previous_months": cmp.n_months - len(missing_prev),
        "complete": not missing_cur and not missing_prev and kind is not None,
        "missing_current": missing_cur,
        "missing_previous": missing_prev,
        "previous_months_expected": cmp.n_months,
        "basis": basis,
        "matched_months": mc if basis != "complete" else cur.months,
        "matched_previous_months": mp if basis != "complete" else cmp.months,
    }


def _no_data(a: Area, cur: Period, kind: str | None, present: set[str]) -> NoDataError:
    if not kind or not present:
        return NoDataError(f"no data for {a.name} in the store")
    held = ", ".join(x if x == y else f"{x} to {y}" for x, y in month_runs(sorted(present)))
    return NoDataError(f"no data for {a.name} in {cur.label}; the store holds {held} for it")


def _exposure(cur: Period, cmp: Period) -> float:
    """Current / comparison exposure of the like-for-like counts: 1 for matched months; days for day periods."""
    if cur.by_day:
        return (cur.n_days or 1) / (cmp.n_days or cur.n_days or 1)
    return 1.0


class _Counter:
    """Counts of the current and comparison periods, in full and like for like, over view `pc`."""

    def __init__(self, con, base: str, cov: dict[str, Any]) -> None:
        self.con, self.base, self.cov = con, base, cov

    @staticmethod
    def select(pred: str, prefix: str = "") -> str:
        return (f"count(*) FILTER (WHERE c.which = 'cur' AND ({pred})) AS \"{prefix}c\", "
                f"count(*) FILTER (WHERE c.which = 'prev' AND ({pred})) AS \"{prefix}p\", "
                f"count(*) FILTER (WHERE c.which = 'cur' AND c.matched AND ({pred})) AS \"{prefix}mc\", "
                f"count(*) FILTER (WHERE c.which = 'prev' AND c.matched AND ({pred})) AS \"{prefix}mp\"")

    def row(self, values: Sequence[int]) -> dict[str, Any]:
        """current/previous (everything held) and matched_current/matched_previous (like for like)."""
        c, p, mc, mp = (int(v) for v in values)
        comparable = self.cov["basis"] in ("complete", "matched_months")
        return {"current": None if self.cov["current_months"] == 0 else c,
                "previous": None if self.cov["previous_months"] == 0 else p,
                "matched_current": mc if comparable else None,
                "matched_previous": mp if comparable else None}

    def one(self, pred: str) -> dict[str, Any]:
        return self.row(self.con.execute(f"SELECT {self.select(pred)} {self.base}").fetchall()[0])


def _monthly(con, where: str, src_cond: str, total_pred: str, theme_preds: dict[str, str | None],
             months: list[str]) -> dict[str, dict[str, dict[int, int]]]:
    """Monthly counts over the months held (zeros filled): total, themes, categories and wards."""
    idx = {m: month_index(m) for m in months}
    out: dict[str, dict[str, dict[int, int]]] = {"total": {}, "themes": {}, "categories": {}, "wards": {}}
    if not months:
        return out
    avail = [(tid, pred) for tid, pred in theme_preds.items() if pred]
    sel = "".join(f", count(*) FILTER (WHERE {pred})" for _, pred in avail)
    base = f"FROM area_rows WHERE {where} AND {src_cond} AND month IN {_in_list(months)}"
    zero = {i: 0 for i in idx.values()}
    out["total"]["total"] = dict(zero)
    for tid, _ in avail:
        out["themes"][tid] = dict(zero)
    for r in con.execute(f"SELECT month, count(*) FILTER (WHERE {total_pred}){sel} {base} GROUP BY 1").fetchall():
        out["total"]["total"][idx[r[0]]] = int(r[1])
        for j, (tid, _) in enumerate(avail):
            out["themes"][tid][idx[r[0]]] = int(r[2 + j])
    for cat, m, n in con.execute(f"SELECT category_id, month, count(*) {base} AND is_crime GROUP BY 1, 2").fetchall():
        out["categories"].setdefault(cat, dict(zero))[idx[m]] = int(n)
    for code, m, n in con.execute(f"SELECT p_ward_code, month, count(*) {base} AND ({total_pred}) "
                                  "AND p_ward_code IS NOT NULL GROUP BY 1, 2").fetchall():
        out["wards"].setdefault(code, dict(zero))[idx[m]] = int(n)
    return out


def _dispersions(monthly: dict[str, dict[str, dict[int, int]]], asb_monthly: dict[int, int] | None
                 ) -> dict[str, dispersion.Dispersion]:
    """One dispersion per family of tests. The total uses its own series, or the categories' when short."""
    cats = dispersion.estimate(monthly["categories"])
    total = dispersion.estimate(monthly["total"])
    if total.value is None and cats.value is not None:
        total = dataclasses.replace(cats, note="the total's own series is short: the police.uk categories' "
                                               "pooled dispersion was used")
    themes = dispersion.estimate({k: v for k, v in monthly["themes"].items() if k != "total"})
    wards = dispersion.estimate(monthly["wards"])
    asb = dispersion.estimate({"asb": asb_monthly}) if asb_monthly else dispersion.estimate({})
    return {"total": total, "categories": cats, "themes": themes, "wards": wards,
            "ward_themes": dataclasses.replace(wards, note=wards.note or "ward totals' dispersion (conservative for "
                                               "ward × theme counts, which are smaller and less overdispersed)"),
            "anti_social_behaviour": asb}


def _level_shifts(monthly: dict[str, dict[str, dict[int, int]]], labels: dict[str, str]) -> list[dict[str, Any]]:
    """Step changes in the total, category and theme monthly series."""
    out = []
    for family in ("total", "categories", "themes"):
        for sid, by_month in monthly[family].items():
            if family == "themes" and sid == "total":
                continue
            for st_ in steps.level_shifts(by_month):
                out.append({"series": sid, "family": family, "label": labels.get(sid, sid), **st_.to_dict()})
    return out


def _spanning(shifts: list[dict[str, Any]], family: str, sid: str, cur: Period, cmp: Period) -> dict[str, Any] | None:
    """The step change in a series that lies between the comparison period's start and the current period's end."""
    for s in shifts:
        if s["family"] == family and s["series"] == sid and cmp.start < s["month"] <= cur.end:
            return {k: s[k] for k in ("month", "direction", "before", "after", "ratio")}
    return None


def _assess(con, st: Store, area_text: str, cur: Period, cmp: Period, *, source, ward_vintage, placement,
            theme_files, area_file, adjustment, threshold, test) -> Assessment:
    _register_offences(con)
    tgt = _resolve_target(con, st, area_text, area_file, ward_vintage)
    a, lad_codes, vintage, where = tgt.area, tgt.lad_codes, tgt.vintage, tgt.where
    point_info = _prepare_placed(con, st, vintage, placement)
    kind = _choose_source(con, where, cur.months + cmp.months, source)
    theme_list = _load_themes(theme_files)
    if cur.by_day and kind is not None and not get_kind(kind).recorded_dates:
        raise PeriodError(f"period {cur.label} counts by recorded date, which only force extracts carry "
                          f"(this area's data is {SOURCE_LABELS.get(kind, kind)}); use a month-based period")

    forces, stray = _forces(con, where, kind)
    present = _present_months(con, kind, forces)
    coverage = _coverage(cur, cmp, present, kind)
    if coverage["current_months"] == 0 or kind is None:
        raise _no_data(a, cur, kind, present)
    exposure = _exposure(cur, cmp)

    periods = _series_periods(cur, present)
    window = _window(cur, present)
    src_cond = f"source_kind = {_q(kind)}"
    _period_table(con, periods, cur, cmp, f"{where} AND {src_cond}", window,
                  coverage["matched_months"], coverage["matched_previous_months"])
    counter = _Counter(con, f"FROM pc c WHERE {where} AND {src_cond}", coverage)

    total_pred = _theme_pred(theme_list, "total", kind) or "is_crime"
    theme_preds = {t.id: (t.predicate(kind) if kind else None) for t in theme_list}
    theme_preds = priorities.prepare_selector_tables(con, theme_list, kind, theme_preds)  # zones, hotspots
    monthly = _monthly(con, where, src_cond, total_pred, theme_preds, window)
    asb, asb_monthly = _asb_block(con, where, cur, cmp, kind, forces, counter, coverage, window)
    disp = _dispersions(monthly, asb_monthly)
    labels = {**{t.id: t.label for t in theme_list}, **CRIME_TYPES, "total": "Total recorded crime"}
    shifts = _level_shifts(monthly, labels)

    held_in = [sum(m in present for m in p.months) for p in periods]

    def series_from(counts: dict[int, int]) -> list[dict[str, Any]]:
        """Counts per series period; None where the store holds none of its months."""
        return [{"label": p.label, **_span(p), "count": int(counts.get(i, 0)) if held_in[i] else None,
                 "complete": held_in[i] == p.n_months, "months_held": held_in[i], "months": p.n_months}
                for i, p in enumerate(periods)]

    # Total and police.uk categories (ASB apart)
    total = {**counter.one(total_pred), "exposure_ratio": exposure}
    cat_counts = {r[0]: counter.row(r[1:]) for r in con.execute(
        f"SELECT category_id, {counter.select('is_crime')} {counter.base} AND is_crime GROUP BY 1").fetchall()}
    cat_ids = [c for c in CURRENT_CRIME_TYPES if c != ASB_ID] + sorted(c for c in cat_counts if c not in CURRENT_CRIME_TYPES)
    empty = counter.row((0, 0, 0, 0))
    categories = [{"id": c, "label": CRIME_TYPES.get(c, c), **cat_counts.get(c, empty), "exposure_ratio": exposure,
                   "level_shift": _spanning(shifts, "categories", c, cur, cmp)} for c in cat_ids]

    # Themes: one pass for all themes, then one per series period
    avail_ids = [tid for tid, pred in theme_preds.items() if pred]
    sel = ", ".join(counter.select(theme_preds[tid], f"{tid}_") for tid in avail_ids) or "0 AS dummy"
    tc = con.execute(f"SELECT {sel} {counter.base}").fetchall()[0] if avail_ids else ()
    ssel = ", ".join(f"count(*) FILTER (WHERE {theme_preds[tid]})" for tid in avail_ids)
    series_counts = {r[0]: r[1:] for r in con.execute(
        f"SELECT pm.idx, count(*) FILTER (WHERE {total_pred}){', ' + ssel if ssel else ''} FROM ps pm "
        f"WHERE {where} AND {src_cond} GROUP BY 1").fetchall()}

    def series_col(col: int) -> list[dict[str, Any]]:
        return series_from({i: v[col] for i, v in series_counts.items()})

    theme_rows = []
    for t in theme_list:
        row: dict[str, Any] = {"id": t.id, "label": t.label, "available": theme_preds[t.id] is not None,
                               "caveat": getattr(t, "caveat", None), "caveat_from": getattr(t, "caveat_from", None)}
        if theme_preds[t.id] is None:
            row.update(current=None, previous=None)
        else:
            j = avail_ids.index(t.id)
            row.update(counter.row(tc[4 * j:4 * j + 4]), exposure_ratio=exposure)
            row["series"] = series_col(j + 1)
            row["run"] = current_run(row["series"]).to_dict()
            row["level_shift"] = _spanning(shifts, "themes", t.id, cur, cmp)
        theme_rows.append(row)

    wards = _ward_rows(con, tgt, src_cond, total_pred, theme_preds, exposure, periods, present, counter, series_from)
    geography = _geography_block(con, counter, src_cond, kind, forces, cur, cmp, vintage, placement, point_info)

    # significance: each family adjusted as a table, with its own dispersion
    def ann(rows: list[dict[str, Any]], fam: str) -> list[dict[str, Any]]:
        d = disp[fam].value
        return stats.annotate_table([{**r, "dispersion": d} for r in rows], method=adjustment, threshold=threshold,
                                    test=test)

    total = ann([total], "total")[0]
    total["level_shift"] = _spanning(shifts, "total", "total", cur, cmp)
    asb = ann([asb], "anti_social_behaviour")[0] if asb["available"] else {
        **asb, "change": None, "pct_change": None, "p_value": None, "p_adjusted": None, "z": None,
        "significant": False, "small_numbers": None}
    categories = ann(categories, "categories")
    theme_rows = _annotate_available(theme_rows, lambda rows: ann(rows, "themes"))
    wards = ann(wards, "wards")
    for w in wards:
        w["themes"] = _annotate_available(w["themes"], lambda rows: ann(rows, "ward_themes"))
    total["series"] = series_col(0)
    total["run"] = current_run(total["series"]).to_dict()
    total["monthly"] = _monthly_line(con, counter.base, total_pred, cur, cmp, present)
    population = _populations(con, st, tgt, cur, cmp)
    _add_rates(total, categories, theme_rows, wards, population, coverage, cur, cmp)
    for r in [total, asb, *categories, *theme_rows, *wards, *(t for w in wards for t in w["themes"])]:
        r.pop("exposure_ratio", None)

    ward_changes = [w["change"] for w in wards if w.get("change") is not None]
    data: dict[str, Any] = {
        "schema_version": 1,
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "area": a.to_dict(),
        "period": cur.to_dict(),
        "compare": cmp.to_dict(),
        "source": {"kind": kind, "label": SOURCE_LABELS.get(kind or "", "no data"), "forces": [f for f in forces if f],
                   "inputs": _inputs_used(st, kind, forces)},
        "geography": geography,
        "population": population["meta"] if population else None,
        "coverage": coverage,
        "total": total,
        "anti_social_behaviour": asb,
        "unplaced": geography.pop("_unplaced"),
        "categories": categories,
        "themes": theme_rows,
        "wards": wards,
        "wards_summary": {"up": sum(c > 0 for c in ward_changes), "down": sum(c < 0 for c in ward_changes),
                          "unchanged": sum(c == 0 for c in ward_changes), "total": len(wards),
                          "compared": len(ward_changes)},
        "statistics": {**stats.statistics_block(adjustment, stats.ALPHA, threshold, test),
                       "families": FAMILIES, "dispersion": {k: v.to_dict() for k, v in disp.items()}},
    }
    data["data_quality"] = data_quality(con, st, kind=kind, forces=forces, periods=periods, cur=cur,
                                        cmp=cmp, geography=data["geography"], stray=stray, level_shifts=shifts,
                                        coverage=coverage, asb=asb)
    if a.level == "ward" and lad_codes and coverage["basis"] in ("complete", "matched_months"):
        _from_parent_family(data, st, lad_codes[0], cur, cmp, source=source, ward_vintage=vintage,
                            placement=placement, theme_files=theme_files, adjustment=adjustment,
                            threshold=threshold, test=test)
    # after the ward's tests are taken from its authority's family, so the priorities read as the themes do
    data["outcomes"] = outcomes_block(con, kind=kind, forces=forces, cur=cur, cmp=cmp, coverage=coverage,
                                      themes=[(t.id, t.label, theme_preds[t.id]) for t in theme_list
                                              if theme_preds.get(t.id) and t.record_type == "crime"],
                                      table=load_outcome_map(theme_files))
    data["priorities"] = priorities.priorities_block(con, data, kind=kind, themes=theme_list, preds=theme_preds,
                                                     cur=cur, cmp=cmp, window=window, total_pred=total_pred)
    data["findings"] = findings(data)
    # geopandas costs about half a second to import: only assessments with a ward vintage pay for it.
    from ..geography.placing import ward_geometry

    geo = ward_geometry(st, vintage, [w["code"] for w in wards]) if vintage else None
    data["geography"]["ward_geometry"] = geo is not None
    return Assessment(data, ward_geometry=geo)


_STAT_KEYS = ("p_value", "p_adjusted", "z", "significant", "small_numbers", "dispersion")


def _from_parent_family(data: dict[str, Any], st: Store, lad: str, cur: Period, cmp: Period, **opts: Any) -> None:
    """A ward's page takes its tests from its local authority's ward families (the ward's row in `wards`, and
    its themes in `ward_themes`), so a ward reads the same on its own page as in its authority's ward table."""
    code = data["area"]["code"]
    parent = assess(lad, cur, cmp, st, source=opts["source"], ward_vintage=opts["ward_vintage"],
                    placement=opts["placement"], themes=opts["theme_files"], adjustment=opts["adjustment"],
                    small_number_threshold=opts["threshold"], test=opts["test"]).to_dict()
    row = next((w for w in parent.get("wards", []) if w["code"] == code), None)
    if row is None:
        return
    data["total"].update({k: row.get(k) for k in _STAT_KEYS})
    by_id = {t["id"]: t for t in row.get("themes", [])}
    for t in data["themes"]:
        if t["id"] in by_id and t.get("available", True):
            t.update({k: by_id[t["id"]].get(k) for k in _STAT_KEYS})
    data["statistics"]["families"] = {**data["statistics"]["families"],
                                      "total": f"ward totals of {parent['area']['name']} (this ward's row)",
                                      "themes": f"the available themes within this ward, as in {parent['area']['name']}'s "
                                                "ward table"}
    data["statistics"]["dispersion"]["total"] = parent["statistics"]["dispersion"]["wards"]
    data["statistics"]["dispersion"]["themes"] = parent["statistics"]["dispersion"]["ward_themes"]


#: The multiple-testing families: each is one table whose p-values are adjusted together. The same family
#: (and so the same adjusted p-value and label) is used wherever its rows are shown.
FAMILIES = {
    "total": "the area's total (one test)",
    "categories": "police.uk crime categories of the area",
    "themes": "the available themes of the area",
    "wards": "ward totals of the area",
    "ward_themes": "the available themes within one ward",
    "anti_social_behaviour": "anti-social behaviour (one test)",
}


def _monthly_line(con, base: str, total_pred: str, cur: Period, cmp: Period, present: set[str]) -> list[dict[str, Any]]:
    """Crimes per month held, from the comparison period's first month to the current period's last."""
    lo, hi = min(month_index(cmp.start), month_index(cur.start)), month_index(cur.end)
    months = [month_from_index(i) for i in range(lo, hi + 1) if month_from_index(i) in present]
    if cur.by_day or not months:
        return []
    got = dict(con.execute(f"SELECT month, count(*) FROM area_rows WHERE ({total_pred}) AND month IN {_in_list(months)} "
                           "GROUP BY 1").fetchall())
    return [{"month": m, "count": int(got.get(m, 0))} for m in months]


def _geography_block(con, counter: _Counter, src_cond: str, kind: str, forces: list[str], cur: Period, cmp: Period,
                     vintage: str | None, placement: str, point_info: dict[str, Any]) -> dict[str, Any]:
    """Placement counts and agreement; `_unplaced` (popped by the caller) holds the unplaced block."""
    force_cond = f"coalesce(force, '') IN {_in_list(forces)}" if get_kind(kind).scope != "file" else "true"
    un_cur, un_prev = con.execute(
        f"SELECT count(*) FILTER (WHERE {_period_cond(cur)}), count(*) FILTER (WHERE {_period_cond(cmp)}) FROM placed "
        f"WHERE {src_cond} AND {force_cond} AND is_crime AND p_lad_code IS NULL AND p_ward_code IS NULL").fetchall()[0]
    placed_by = dict(con.execute(
        f"SELECT coalesce(placed_by, 'unplaced'), count(*) {counter.base} AND is_crime AND c.which = 'cur' GROUP BY 1"
    ).fetchall())
    agreement = None
    agree_row = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE point_ward_code = lsoa_ward_code) {counter.base} AND is_crime "
        "AND c.which = 'cur' AND point_ward_code IS NOT NULL AND lsoa_ward_code IS NOT NULL").fetchall()[0]
    if agree_row[0]:
        agreement = {"compared": agree_row[0], "agree": agree_row[1], "share": round(agree_row[1] / agree_row[0], 4)}
    return {"ward_vintage": vintage, "placement": placement,
            "placed_by": {k: placed_by.get(k, 0) for k in ("source", "lsoa", "point")},
            "unplaced": un_cur, "agreement": agreement, **point_info,
            "_unplaced": {"current": un_cur, "previous": un_prev,
                          "note": "crimes in the same forces' data with no usable location; not counted in any area"}}


def _asb_block(con, where: str, cur: Period, cmp: Period, kind: str | None, forces: list[str], counter: _Counter,
               coverage: dict[str, Any], window: list[str]) -> tuple[dict[str, Any], dict[int, int] | None]:
    """Anti-social behaviour, never counted as crime, compared like for like on its own months, and its monthly
    series (for its dispersion). Force extracts hold no ASB: it then comes from the same forces' police.uk
    street files, with that source's own month coverage."""
    asb_pred = f"category_id = {_q(ASB_ID)}"
    if kind is None or get_kind(kind).asb:
        row = counter.one(asb_pred)
        got = dict(con.execute(f"SELECT month, count(*) FROM area_rows WHERE {asb_pred} AND month IN {_in_list(window)} "
                               "GROUP BY 1").fetchall())
        monthly = {month_index(m): int(got.get(m, 0)) for m in window}
        return ({**row, "exposure_ratio": _exposure(cur, cmp), "available": kind is not None, "source": kind,
                 "complete": coverage["complete"], "missing_months": coverage["missing_current"] + coverage["missing_previous"],
                 "current_months": coverage["current_months"], "previous_months": coverage["previous_months"],
                 "basis": coverage["basis"], "matched_months": coverage["matched_months"],
                 "matched_previous_months": coverage["matched_previous_months"]}, monthly)
    alt = next(k for k in with_capability("asb") if get_kind(k).scope == "force")  # the street files
    if cur.by_day or cmp.by_day:
        return ({"current": None, "previous": None, "available": False, "source": None,
                 "note": "anti-social behaviour comes from police.uk files, which have months, not recorded dates"}, None)
    months = _present_months(con, alt, forces)
    have_cur = [m for m in cur.months if m in months]
    have_prev = [m for m in cmp.months if m in months]
    if not have_cur and not have_prev:
        return ({"current": None, "previous": None, "available": False, "source": None,
                 "note": "force extracts hold no anti-social behaviour; no police.uk street files for these months"}, None)
    mc, mp, basis = _match(cur, cmp, months)
    comparable = basis in ("complete", "matched_months")
    c, p, xc, xp = con.execute(
        f"SELECT count(*) FILTER (WHERE {_period_cond(cur)}), count(*) FILTER (WHERE {_period_cond(cmp)}), "
        f"count(*) FILTER (WHERE month IN {_in_list(mc)}), count(*) FILTER (WHERE month IN {_in_list(mp)}) "
        f"FROM placed WHERE {where} AND source_kind = ? AND category_id = ?", [alt, ASB_ID]).fetchall()[0]
    wmonths = [m for m in window if m in months]
    got = dict(con.execute(f"SELECT month, count(*) FROM placed WHERE {where} AND source_kind = ? AND category_id = ? "
                           f"AND month IN {_in_list(wmonths)} GROUP BY 1", [alt, ASB_ID]).fetchall())
    missing = [m for m in cur.months if m not in months] + [m for m in cmp.months if m not in months]
    return ({"current": c if have_cur else None, "previous": p if have_prev else None,
             "matched_current": xc if comparable else None, "matched_previous": xp if comparable else None,
             "exposure_ratio": 1.0, "available": True, "source": alt, "complete": not missing,
             "missing_months": missing, "current_months": len(have_cur), "previous_months": len(have_prev),
             "basis": basis, "matched_months": mc if basis != "complete" else cur.months,
             "matched_previous_months": mp if basis != "complete" else cmp.months},
            {month_index(m): int(got.get(m, 0)) for m in wmonths})


def _theme_pred(theme_list: list[Any], tid: str, kind: str | None) -> str | None:
    for t in theme_list:
        if t.id == tid and kind:
            return t.predicate(kind)
    return None


def _annotate_available(rows: list[dict[str, Any]], annotate: Any) -> list[dict[str, Any]]:
    """Significance across the available themes; unavailable ones keep null counts and statistics."""
    avail = [r for r in rows if r.get("available", True)]
    done = iter(annotate(avail))
    out = []
    for r in rows:
        if r.get("available", True):
            out.append(next(done))
        else:
            out.append({**r, "current": None, "previous": None, "change": None, "pct_change": None, "p_value": None,
                        "p_adjusted": None, "z": None, "significant": False, "small_numbers": False})
    return out


def _ward_rows(con, tgt: _Target, src_cond: str, total_pred: str, theme_preds: dict[str, str | None], exposure: float,
               periods: list[Period], present: set[str], counter: _Counter, series_from: Any) -> list[dict[str, Any]]:
    """Every ward of the area in the chosen vintage, even with no crime: counts, series, run and themes."""
    a, lad_codes, vintage, where = tgt.area, tgt.lad_codes, tgt.vintage, tgt.where
    if vintage and a.level != "custom":
        names = con.execute(
            "SELECT DISTINCT ward_code, ward_name FROM lk WHERE "
            + (f"ward_code = {_q(a.code)}" if a.level == "ward" else f"lad_code IN {_in_list(lad_codes)}")
            + " ORDER BY 1").fetchall()
    elif vintage:
        names = con.execute(f"SELECT DISTINCT p.p_ward_code, lk.ward_name FROM area_rows p JOIN (SELECT DISTINCT ward_code, "
                            f"ward_name FROM lk) lk ON lk.ward_code = p.p_ward_code ORDER BY 1").fetchall()
    else:
        names = con.execute("SELECT DISTINCT p_ward_code, any_value(ward_name) FROM area_rows "
                            "WHERE p_ward_code IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall()
    avail = [(tid, pred) for tid, pred in theme_preds.items() if pred and tid != "total"]
    sel = "".join(", " + counter.select(pred, f"{tid}_") for tid, pred in avail)
    counts = {r[0]: r[1:] for r in con.execute(
        f"SELECT p_ward_code, {counter.select(total_pred)}{sel} {counter.base} GROUP BY 1").fetchall()}
    ser: dict[str, dict[int, int]] = {}
    for code, idx, n in con.execute(f"SELECT p_ward_code, pm.idx, count(*) FROM ps pm WHERE {where} AND {src_cond} "
                                    f"AND ({total_pred}) GROUP BY 1, 2").fetchall():
        ser.setdefault(code, {})[idx] = n
    rows = []
    zero = [0] * (4 + 4 * len(avail))
    for code, name in names:
        c = counts.get(code, zero)
        series = series_from(ser.get(code, {}))
        wt = [{"id": tid, **counter.row(c[4 + 4 * j:8 + 4 * j]), "exposure_ratio": exposure}
              for j, (tid, _p) in enumerate(avail)]
        rows.append({"code": code, "name": name, **counter.row(c[:4]), "exposure_ratio": exposure, "series": series,
                     "run": current_run(series).to_dict(), "themes": wt})
    rows.sort(key=lambda r: (-(r["current"] or 0), r["name"] or ""))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def _mid_year(p: Period) -> float:
    """The period's midpoint as a decimal year, to pick the nearest mid-year (30 June) population estimate."""
    a, b = month_index(p.start), month_index(p.end) + 1
    return (a + b) / 2 / 12


def _population(con, st: Store, tgt: _Target, entry: dict[str, Any]) -> dict[str, Any] | None:
    """Residents and households for the area and each ward from one loaded population table."""
    f = str(st.geography_path(entry))
    a, lad_codes = tgt.area, tgt.lad_codes
    cond = f"lk.ward_code = {_q(a.code)}" if a.level == "ward" else f"lk.lad_code IN {_in_list(lad_codes)}"
    rows = con.execute(
        f"SELECT lk.ward_code, sum(p.residents), sum(p.households), count(p.lsoa_code), count(*) FROM lk "
        f"LEFT JOIN read_parquet({_q(f)}) p ON p.lsoa_code = lk.lsoa_code WHERE {cond} GROUP BY 1").fetchall()
    if not rows or all(r[3] == 0 for r in rows):
        return None
    wards = {r[0]: {"residents": r[1], "households": r[2]} for r in rows}
    res = sum(r[1] or 0 for r in rows)
    hh = sum(r[2] or 0 for r in rows) if all(r[2] is not None for r in rows) else None
    meta = {"source": entry.get("source"), "year": entry.get("year"), "residents": int(res),
            "households": int(hh) if hh is not None else None, "complete": all(r[3] == r[4] for r in rows)}
    return {"meta": meta, "wards": wards}


def _populations(con, st: Store, tgt: _Target, cur: Period, cmp: Period) -> dict[str, Any] | None:
    """The population for each period: the loaded estimate whose year (mid-year, 30 June) is nearest the
    period's midpoint. `meta` describes the current period's, with `previous_year`/`previous_residents`."""
    entries = st.geography_entries("population")
    if not entries or not tgt.vintage or tgt.area.level == "custom":
        return None

    def pick(p: Period) -> dict[str, Any]:
        mid = _mid_year(p)
        return sorted(entries, key=lambda e: (abs((e.get("year") or 0) + 0.5 - mid), -(e.get("year") or 0),
                                              e.get("loaded_at", "")))[0]

    ec, ep = pick(cur), pick(cmp)
    now = _population(con, st, tgt, ec)
    if now is None:
        return None
    before = now if ep is ec else (_population(con, st, tgt, ep) or now)
    now["meta"].update(previous_year=before["meta"]["year"], previous_residents=before["meta"]["residents"],
                       previous_households=before["meta"]["households"],
                       rate_unit="per 1,000 residents a year (households for burglary)")
    return {"meta": now["meta"], "wards": now["wards"], "previous_wards": before["wards"],
            "previous_meta": before["meta"]}


HOUSEHOLD_THEMES = {"burglary", "burglary_residential"}


def _rate(n: int | None, base: int | float | None, years: float) -> float | None:
    """Crimes per 1,000 of `base` a year, from a count over `years` years."""
    if n is None or not base or not years:
        return None
    return round(n / years / base * 1000, 1)


def _rate_change(mc: int | None, mp: int | None, base_c: float | None, base_p: float | None) -> float | None:
    """% change in the like-for-like rate (matched months; each period's own population)."""
    if mc is None or not mp or not base_c or not base_p:
        return None
    return round(100.0 * ((mc / base_c) / (mp / base_p) - 1.0), 1)


def _years(p: Period, months_held: int) -> float:
    return (p.n_days or 0) / 365.25 if p.by_day else months_held / 12


def _add_rates(total, categories, themes, wards, population, coverage, cur: Period, cmp: Period) -> None:
    """rate_per_1000 (a year, over the months held), previous_rate_per_1000 and rate_change_pct (like for like,
    each period with its own population); residents, or households for burglary; null without population."""
    meta = population["meta"] if population else {}
    prev_meta = population["previous_meta"] if population else {}
    yc, yp = _years(cur, coverage["current_months"]), _years(cmp, coverage["previous_months"])

    def put(row: dict[str, Any], res_c, res_p, hh_c=None, hh_p=None, households: bool = False) -> None:
        bc, bp = (hh_c, hh_p) if households and hh_c else (res_c, res_p)
        row["rate_per_1000"] = _rate(row.get("current"), bc, yc)
        row["previous_rate_per_1000"] = _rate(row.get("previous"), bp, yp)
        row["rate_change_pct"] = _rate_change(row.get("matched_current"), row.get("matched_previous"), bc, bp)
        row["rate_base"] = "households" if households and hh_c else "residents"

    rc, rp = meta.get("residents"), prev_meta.get("residents")
    hc, hp = meta.get("households"), prev_meta.get("households")
    put(total, rc, rp)
    for c in categories:
        put(c, rc, rp, hc, hp, households=c["id"] == "burglary")
    for t in themes:
        put(t, rc, rp, hc, hp, households=t["id"] in HOUSEHOLD_THEMES)
    for w in wards:
        wp = (population or {}).get("wards", {}).get(w["code"])
        wpp = (population or {}).get("previous_wards", {}).get(w["code"])
        put(w, wp["residents"] if wp else None, wpp["residents"] if wpp else None)
        w["population"] = wp["residents"] if wp else None


def _inputs_used(st: Store, kind: str | None, forces: list[str]) -> int:
    """Live inputs of the chosen source that feed this area's forces (all API inputs for the API)."""
    wanted = set(forces)
    return sum(1 for i in st.inputs(live_only=True) if i["kind"] == kind
               and (get_kind(kind).scope == "file" or set((i.get("force") or "").split(",")) & wanted))
