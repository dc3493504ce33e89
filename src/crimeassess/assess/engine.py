"""The assessment: counts for a period against a comparison period, by total, category, theme and ward."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ..classify.outcomes import load_outcome_map
from ..errors import CrimeAssessError, GeographyError, NoDataError, PeriodError
from ..geography.areas import Area, boundary_vintages, resolve_area, ward_vintages
from ..geography.resolve import all_vintages, lads_of, pick_vintage
from ..schema import ASB_ID, CRIME_TYPES, CURRENT_CRIME_TYPES
from .. import sql
from ..sources.registry import get_kind, source_labels, source_priority, with_capability
from ..aggregate import register_cube, register_live_aggregates
from ..store import API_KIND, Store
from . import dispersion, expected, fitworker, harm, hotspots, priorities, stats, steps
from .outcomes import OUTCOMES_KIND, outcomes_block
from .counts import (_Counter, _monthly, _monthly_line, _nsum, _period_cond, _period_table, _series_periods, _span,
                     _ward_rows, _window)
from .comparators import add_comparisons
from .estimate import annual_estimate
from .findings import findings
from .official import official_total
from .result import AssessmentResult
from .quality import data_quality
from .periods import Period, comparison_for, month_index, month_runs, parse_period
from .runs import current_run

if TYPE_CHECKING:
    import pandas as pd

SOURCE_PRIORITY = source_priority()
SOURCE_LABELS = source_labels()
# Queries here end in .fetchall(): in DuckDB 2.x a result read with fetchone() stays open, and registering a
# DataFrame on the connection afterwards fails ("connection has an unfinished result").


@dataclass
class Assessment:
    """An assessment: ``result`` (typed, see :mod:`crimeassess.assess.result`) and, when ward boundaries are
    loaded, ``ward_geometry`` (a GeoDataFrame in EPSG:27700). ``to_dict()`` is the JSON of
    docs/assessment-schema.md; the DataFrame views serve analysts."""

    result: AssessmentResult
    ward_geometry: Any = field(default=None, repr=False)
    _dict: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The assessment JSON (built once; callers may read, not rely on changing it)."""
        if self._dict is None:
            self._dict = self.result.to_dict()
        return self._dict

    @property
    def data(self) -> dict[str, Any]:
        """Same as :meth:`to_dict` (the name earlier versions used)."""
        return self.to_dict()

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    # DataFrame views for the Python API (pandas is imported here: a command never needs it)
    def total(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in self.data["total"].items() if k not in ("series", "run", "monthly")}])

    def categories(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.data["categories"])

    def themes(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in t.items() if k not in ("series", "run")} for t in self.data.get("themes", [])])

    def wards(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in w.items() if k not in ("themes", "run", "series")} for w in self.data["wards"]])

    def series(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.data["total"].get("series", []))


_q = sql.literal
_in_list = sql.in_list


def _load_themes(theme_files: list[Path] | None) -> list[Any]:
    from ..classify.themes import load_themes

    return list(load_themes(extra_paths=[Path(p) for p in (theme_files or [])]).values())


def _register_offences(con: duckdb.DuckDBPyConnection) -> None:
    from ..classify.offences import offence_join_columns

    cols = offence_join_columns()
    sql.create_table(con, "offences", {c: cols[c] for c in ("code", "ho_group", "ho_subgroup", "ho_in_total")})


def _narrow_records(con: duckdb.DuckDBPyConnection, st: Store, tgt: "_Target", placement: str) -> dict[str, Any]:
    """Read only the forces that can hold the area's records.

    The aggregate store (aggregate.py) says which forces have records placed in the area by their own codes or
    their LSOA, and which have records that only a map point could place (no own codes, LSOA not in the
    lookup): all their records are kept, so every count, force-wide measure and point placement is what the
    whole store gives. The view `records` is replaced by these forces' records (a constant filter DuckDB uses
    to skip Parquet row groups); the whole store stays as `all_records` (comparisons read the aggregates).
    Nothing is narrowed for a drawn area, point-only placement, or when the aggregates cannot be read."""
    info: dict[str, Any] = {"narrowed": False}
    if tgt.area.level == "custom" or placement == "point" or not register_live_aggregates(con, st):
        return info
    lookup = st.geography_file("lsoa_ward", tgt.vintage) if tgt.vintage else None
    if (lookup is not None or not tgt.vintage) and register_cube(con, st, lookup, "area_cube"):
        rel, ward, lad, point = "area_cube a", "a.ward_code", "a.lad_code", "a.point_only"
    else:  # a boundary-defined vintage (lookup derived at run time): place the aggregate by `lk` here
        rel = "agg a LEFT JOIN (SELECT DISTINCT lsoa_code, ward_code, lad_code FROM lk) lk ON a.lsoa_code = lk.lsoa_code"
        ward, lad = "coalesce(a.ward_code, lk.ward_code)", "coalesce(a.lad_code, lk.lad_code)"
        point = f"(a.has_point AND ({ward} IS NULL OR {lad} IS NULL))"
    hit = f"{ward} = {_q(tgt.area.code)}" if tgt.area.level == "ward" else f"{lad} IN {_in_list(tgt.lad_codes)}"
    if placement == "lsoa":
        point = "false"
    # two scans, not one with OR: each condition alone lets DuckDB skip the cube's row groups by their statistics
    forces = [r[0] for r in con.execute(f"SELECT DISTINCT a.force FROM {rel} WHERE {hit} UNION "
                                        f"SELECT DISTINCT a.force FROM {rel} WHERE {point}").fetchall()]
    # Within those forces the area's rows have one of its LSOAs or codes of their own, unless a map point could
    # place a row (a point-only row in these forces): then no such pre-filter is exact.
    prefilter = None
    in_forces = " OR ".join(([f"a.force IN {_in_list([f for f in forces if f])}"] if any(forces) else [])
                            + (["a.force IS NULL"] if None in forces else [])) or "false"
    if rel.startswith("area_cube") and (placement == "lsoa" or not con.execute(
            f"SELECT count(*) FROM area_cube a WHERE a.point_only AND ({in_forces})").fetchall()[0][0]):
        cond = f"ward_code = {_q(tgt.area.code)}" if tgt.area.level == "ward" else f"lad_code IN {_in_list(tgt.lad_codes)}"
        lsoas = [r[0] for r in con.execute(f"SELECT DISTINCT lsoa_code FROM lk WHERE {cond} AND lsoa_code IS NOT NULL "
                                           "ORDER BY 1").fetchall()]
        # Rows with codes of their own come only from kinds that may carry them: without such inputs the
        # pre-filter is one IN list, which DuckDB applies in the scan (an OR is applied after every column is read).
        has_own = st.holds(*with_capability("area_codes"))
        parts = ([f"lsoa_code IN {_in_list(lsoas)}"] if lsoas else []) + (
            ["lad_code IS NOT NULL OR ward_code IS NOT NULL"] if has_own else [])
        prefilter = " OR ".join(parts) or "false"
    named = sorted(f for f in forces if f is not None)
    con.execute("ALTER VIEW records RENAME TO all_records")
    info = {"narrowed": True, "forces_read": named + (["(none)"] if None in forces else []), "prefilter": prefilter,
            "_forces": forces}
    _records_view(con, st, forces)
    return info


def _records_view(con: duckdb.DuckDBPyConnection, st: Store, forces: list[str | None], since: str | None = None) -> None:
    """(Re)create view `records`: the live records of `forces` (None: rows with no force), from `since` (a month)
    on when given, reading only the Parquet files that hold such slices (each file's footer costs a read, and a
    national store has hundreds)."""
    named = sorted(f for f in forces if f is not None)
    scopes = set(named) | ({""} if None in forces else set())
    live = st.live_inputs()
    files = [i.file for i in live if i.kind == API_KIND
             or any(sc in scopes and (since is None or mo >= since) for sc, mo in i.slices)]
    conds = ([f"force IN {_in_list(named)}"] if named else []) + (["force IS NULL"] if None in forces else [])
    cond = f"({' OR '.join(conds) or 'false'})" + (f" AND month >= {_q(since)}" if since else "")
    files = list(dict.fromkeys(files))
    con.execute("DROP VIEW IF EXISTS records")
    if not files:
        con.execute("CREATE VIEW records AS SELECT * FROM all_records WHERE false")
        return
    con.execute(f"CREATE OR REPLACE TEMP VIEW records_live AS {_live_sql(st, live, files)}")
    con.execute(f"CREATE VIEW records AS SELECT * FROM ({st.dedupe_sql('records_live', st.holds(API_KIND))}) WHERE {cond}")
    if since:
        # police.uk outcomes are joined to the compared crimes by Crime ID whatever the outcome's month
        # (outcomes.py): an outcome row dated before `since` must still be found, as it is when every month is
        # read. View `outcome_records`: these forces' outcomes rows of every month (only that join reads it).
        out = list(dict.fromkeys(i.file for i in live if i.kind == OUTCOMES_KIND and any(sc in scopes for sc, _ in i.slices)))
        ocond = f"source_kind = {_q(OUTCOMES_KIND)} AND ({' OR '.join(conds) or 'false'})"
        con.execute("CREATE OR REPLACE TEMP VIEW outcome_records AS "
                    + (f"SELECT * FROM ({_live_sql(st, live, out)}) WHERE {ocond}" if out
                       else "SELECT * FROM records WHERE false"))


def _live_sql(st: Store, live: list[Any], files: list[str]) -> str:
    """The live rows of these records `files` (read by name only when one of them is not RECORD_SCHEMA)."""
    chosen = set(files)
    return st.live_rows_sql(files, st.uniform_schema([i for i in live if i.file in chosen]))


def _prepare_placed(con: duckdb.DuckDBPyConnection, store: Store, vintage: str | None, placement: str,
                    tgt: "_Target | None" = None,
                    split: Callable[[dict[str, Any]], str | None] | None = None) -> dict[str, Any]:
    """Create the `placed` view: every live record with its ward and local authority, and how it was placed.

    auto: the record's own codes (extracts), else LSOA best fit, else point in polygon; lsoa: no points;
    point: points only, for every record. With `tgt`, only the forces that can hold its records are read;
    with `split` too, ``split(narrowed)`` may return a month: only records from then on are read (and placed).
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
            raise GeographyError(f"ward vintage {vintage} is not loaded; loaded: {', '.join(all_vintages(store)) or 'none'}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE lk AS SELECT lsoa_code, ward_code, ward_name, lad_code, lad_name "
                    f"FROM read_parquet({_q(str(f))})")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE lk(lsoa_code VARCHAR, ward_code VARCHAR, ward_name VARCHAR, "
                    "lad_code VARCHAR, lad_name VARCHAR)")
    narrowed = _narrow_records(con, store, tgt, placement) if tgt is not None else {}
    if narrowed.get("narrowed") and split is not None and (since := split(narrowed)):
        narrowed["split"] = since
        _records_view(con, store, narrowed["_forces"], since)
    point_info = _point_placement(con, store, vintage, placement, derived)
    point_info["_narrowed"] = narrowed
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
    rows = dict(con.execute(f"SELECT source_kind, count(*) FROM area_all WHERE {where} AND month IN {_in_list(months)} "
                            "GROUP BY 1").fetchall())
    if source:
        if source not in SOURCE_PRIORITY:
            raise CrimeAssessError(f"unknown source {source!r}; choose from {', '.join(SOURCE_PRIORITY)}")
        return source
    for k in SOURCE_PRIORITY:
        if rows.get(k):
            return k
    anyrows = dict(con.execute(f"SELECT source_kind, sum(n) FROM area_hist WHERE {where} GROUP BY 1").fetchall())
    for k in SOURCE_PRIORITY:
        if anyrows.get(k):
            return k
    return None


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
    peers: list[str] | None = None,
    exclude: list[str] | None = None,
    peer_file: str | Path | None = None,
) -> Assessment:
    """Assess recorded crime in `area` for `period` against `compare` (default: same months a year earlier).

    `peers`, `exclude` and `peer_file` shape the `comparators` list (assess/comparators.py)."""
    st = store if isinstance(store, Store) else Store(store)
    st.require()
    cur = period if isinstance(period, Period) else parse_period(period)
    cmp = compare if isinstance(compare, Period) else comparison_for(cur, compare)
    if placement not in ("auto", "lsoa", "point"):
        raise CrimeAssessError(f"placement must be auto, lsoa or point, not {placement!r}")
    con = st.connect()
    try:
        return _assess(con, st, area, cur, cmp, source=source, ward_vintage=ward_vintage, placement=placement,
                       theme_files=[Path(t) for t in themes or []], area_file=area_file,
                       adjustment=stats._check_method(adjustment), threshold=small_number_threshold,
                       test=stats.check_test(test), peers=peers, exclude=exclude, peer_file=peer_file)
    finally:
        con.close()


def _area_where(a: Area, lad_codes: list[str]) -> str:
    if a.level == "custom":
        return "uid IN (SELECT uid FROM custom_area)"
    if a.level == "ward":
        return f"p_ward_code = {_q(a.code)}"
    return f"p_lad_code IN {_in_list(lad_codes)}"




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
    lad_codes = lads_of(a, st, con)
    return _Target(a, lad_codes, pick_vintage(st, con, a, lad_codes, ward_vintage), _area_where(a, lad_codes))


def _forces(con, where: str, kind: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    """The forces whose data feed the area (at least FORCE_SHARE of its records) and the stray others."""
    if not kind:
        return [], []
    rows = con.execute(f"SELECT coalesce(force, ''), sum(n)::BIGINT FROM area_hist WHERE {where} AND source_kind = ? "
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


def held_text(months: Iterable[str]) -> str:
    """Months held as runs: '2017-02 to 2017-09, 2018-03'."""
    return ", ".join(x if x == y else f"{x} to {y}" for x, y in month_runs(sorted(months)))


def _no_data(a: Area, cur: Period, kind: str | None, present: set[str]) -> NoDataError:
    if not kind or not present:
        return NoDataError(f"no data for {a.name} in the store")
    return NoDataError(f"no data for {a.name} in {cur.label}; the store holds {held_text(present)} for it")


def _exposure(cur: Period, cmp: Period) -> float:
    """Current / comparison exposure of the like-for-like counts: 1 for matched months; days for day periods."""
    if cur.by_day:
        return (cur.n_days or 1) / (cmp.n_days or cur.n_days or 1)
    return 1.0


def _dispersions(monthly: dict[str, dict[str, dict[int, int]]], asb_monthly: dict[int, int] | None,
                 shifts: list[dict[str, Any]]) -> dict[str, dispersion.Dispersion]:
    """One dispersion per family of tests, level shifts modelled as steps. The total uses its own series, or
    the categories' when short."""
    def steps_of(family: str) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for s in shifts:
            if s["family"] == family:
                out.setdefault(s["series"], []).append(month_index(s["month"]))
        return out

    # a step in a category (e.g. a recording change in violence) is a step in the total too
    component_steps = sorted({m for ms in [*steps_of("categories").values(), *steps_of("total").values()] for m in ms})
    cats, total, themes, wards, asb = dispersion.estimate_many([
        (monthly["categories"], steps_of("categories")),
        (monthly["total"], {"total": component_steps}),
        ({k: v for k, v in monthly["themes"].items() if k != "total"}, steps_of("themes")),
        (monthly["wards"], None),
        ({"asb": asb_monthly} if asb_monthly else {}, None)])
    if total.value is None and cats.value is not None:
        total = dataclasses.replace(cats, note="the total's own series is short: the police.uk categories' "
                                               "pooled dispersion was used")
    return {"total": total, "categories": cats, "themes": themes, "wards": wards,
            "ward_themes": dataclasses.replace(wards, note=wards.note or "ward totals' dispersion (conservative for "
                                               "ward × theme counts, which are smaller and less overdispersed)"),
            "anti_social_behaviour": asb}


def _level_shifts(monthly: dict[str, dict[str, dict[int, int]]], labels: dict[str, str]) -> list[dict[str, Any]]:
    """Step changes in the total, category and theme monthly series."""
    series = [(family, sid, by_month) for family in ("total", "categories", "themes")
              for sid, by_month in sorted(monthly[family].items())  # a fixed order (SQL groups come in any order)
              if not (family == "themes" and sid == "total")]
    found = fitworker.call_many(steps.level_shifts, [(by_month,) for _f, _s, by_month in series])
    return [{"series": sid, "family": family, "label": labels.get(sid, sid), **st_.to_dict()}
            for (family, sid, _m), shifts in zip(series, found) for st_ in shifts]


def _spanning(shifts: list[dict[str, Any]], family: str, sid: str, cur: Period, cmp: Period) -> dict[str, Any] | None:
    """The step change in a series that lies between the comparison period's start and the current period's end."""
    for s in shifts:
        if s["family"] == family and s["series"] == sid and cmp.start < s["month"] <= cur.end:
            return {k: s[k] for k in ("month", "direction", "before", "after", "ratio")}
    return None


@dataclass
class _Job:
    """One assessment in the making: what is assessed, from which data, and the pieces computed so far."""

    con: Any
    st: Store
    tgt: _Target
    cur: Period
    cmp: Period
    opts: dict[str, Any]
    kind: str = ""
    forces: list[str] = field(default_factory=list)
    stray: list[dict[str, Any]] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    coverage: dict[str, Any] = field(default_factory=dict)
    periods: list[Period] = field(default_factory=list)
    window: list[str] = field(default_factory=list)
    src_cond: str = ""
    counter: Any = None
    theme_list: list[Any] = field(default_factory=list)
    theme_preds: dict[str, str | None] = field(default_factory=dict)
    total_pred: str = "is_crime"
    point_info: dict[str, Any] = field(default_factory=dict)
    narrowed: dict[str, Any] = field(default_factory=dict)
    disp: dict[str, dispersion.Dispersion] = field(default_factory=dict)
    shifts: list[dict[str, Any]] = field(default_factory=list)
    monthly: dict[str, dict[str, dict[int, int]]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    population: dict[str, Any] | None = None
    split: str | None = None  # the first month read from the records; earlier ones from the cube (_split_month)
    expected: Any = None  # expected.PendingExpected: the forecasts, fitted while the assessment goes on

    @property
    def where(self) -> str:
        return self.tgt.where

    @property
    def exposure(self) -> float:
        return _exposure(self.cur, self.cmp)

    def series(self, counts: dict[int, int]) -> list[dict[str, Any]]:
        """Counts per series period (index → count); None where the store holds none of the period's months."""
        out = []
        for i, p in enumerate(self.periods):
            held = sum(m in self.present for m in p.months)
            out.append({"label": p.label, **_span(p), "count": int(counts.get(i, 0)) if held else None,
                        "complete": held == p.n_months, "months_held": held, "months": p.n_months})
        return out

    def spanning(self, family: str, sid: str) -> dict[str, Any] | None:
        return _spanning(self.shifts, family, sid, self.cur, self.cmp)

    def annotate(self, rows: list[dict[str, Any]], family: str) -> list[dict[str, Any]]:
        """Significance across one family's rows, with the family's dispersion."""
        d = self.disp[family].value
        return stats.annotate_table([{**r, "dispersion": d} for r in rows], method=self.opts["adjustment"],
                                    threshold=self.opts["threshold"], test=self.opts["test"])


#: Record columns no count, theme, hotspot, harm, outcome or priority reads from the area's rows: not copied
#: into `area_all` (at national scale reading the area's rows is the largest step, and grows with each column).
_UNREAD = ("crime_type", "force_name", "context", "line", "offence_description", "lad_name")


def _prepare(con, st: Store, area_text: str, cur: Period, cmp: Period, opts: dict[str, Any]) -> _Job:
    """Resolve the area, place the records, choose the source, find the months held and match them, and
    materialise the area's rows: everything the counts need."""
    _register_offences(con)
    job = _Job(con, st, _resolve_target(con, st, area_text, opts["area_file"], opts["ward_vintage"]), cur, cmp, opts)
    job.theme_list = _load_themes(opts["theme_files"])
    job.labels = {**{t.id: t.label for t in job.theme_list}, **CRIME_TYPES, "total": "Total recorded crime"}

    def split(narrowed: dict[str, Any]) -> str | None:
        job.narrowed = narrowed
        return _split_month(con, job, opts["source"])

    job.point_info = _prepare_placed(con, st, job.tgt.vintage, opts["placement"], job.tgt, split)
    job.narrowed = job.point_info.pop("_narrowed")
    job.split = job.narrowed.get("split")
    # The area's rows, every source, read once (every month, or from the split month on): the source choice, the
    # forces and the period tables below all read this table instead of scanning the records again.
    pre = job.narrowed.get("prefilter")
    # record_id is read only to join police.uk outcomes files: not copied when the store holds none
    unread = _UNREAD + (() if st.holds(OUTCOMES_KIND) else ("record_id",))
    con.execute(f"CREATE OR REPLACE TEMP TABLE area_all AS SELECT * EXCLUDE ({', '.join(unread)}) FROM placed "
                f"WHERE {job.where}" + (f" AND ({pre})" if pre else ""))
    # `area_hist`: every month's rows, each with its count `n` (1 for a record; the older months' cube counts
    # when the area is split). Whatever reads months before the split reads this.
    con.execute("CREATE OR REPLACE TEMP VIEW area_hist AS SELECT *, 1::BIGINT AS n FROM area_all"
                + (" UNION ALL BY NAME SELECT * FROM cube_old" if job.split else ""))
    kind = _choose_source(con, job.where, cur.months + cmp.months, opts["source"])
    if cur.by_day and kind is not None and not get_kind(kind).recorded_dates:
        raise PeriodError(f"period {cur.label} counts by recorded date, which only force extracts carry "
                          f"(this area's data is {SOURCE_LABELS.get(kind, kind)}); use a month-based period")
    job.forces, job.stray = _forces(con, job.where, kind)
    job.present = _present_months(con, kind, job.forces)
    job.coverage = _coverage(cur, cmp, job.present, kind)
    if job.coverage["current_months"] == 0 or kind is None:
        raise _no_data(job.tgt.area, cur, kind, job.present)
    job.kind = kind
    job.periods, job.window = _series_periods(cur, job.present), _window(cur, job.present)
    job.src_cond = f"source_kind = {_q(kind)}"
    _period_table(con, job.periods, cur, cmp, f"{job.where} AND {job.src_cond}", job.window,
                  job.coverage["matched_months"], job.coverage["matched_previous_months"], old=bool(job.split))
    job.counter = _Counter(con, f"FROM pc c WHERE {job.where} AND {job.src_cond}", job.coverage)
    job.total_pred = _theme_pred(job.theme_list, "total", kind) or "is_crime"
    job.theme_preds = priorities.prepare_selector_tables(  # zone and hotspot selectors need tables of their own
        con, job.theme_list, kind, {t.id: t.predicate(kind) for t in job.theme_list})
    return job


#: Columns of the geography cube (aggregate.py) as the area's rows name them: what a predicate may read for the
#: months an assessment takes from the cube.
_CUBE_ROW_COLUMNS = ("a.source_kind, a.force, a.month, a.category_id, a.is_crime, a.offence_code, a.knife_flag, "
                     "a.hate_flag, a.domestic_flag, o.ho_group, o.ho_subgroup, coalesce(o.ho_in_total, false) AS "
                     "ho_in_total, a.ward_code AS p_ward_code, a.lad_code AS p_lad_code, a.n")


def _split_month(con, job: _Job, source: str | None) -> str | None:
    """The first month read from the records, when the months before it can be counted from the geography cube;
    None to read every month's records.

    Only the series (up to 15 periods back), the 36-month dispersion window (monthly counts for the dispersions,
    level shifts and seasonality) and the expected-count history reach further back than the current and
    comparison periods, and they only count rows. The cube gives the same
    counts as the records when it placed the area's rows exactly as `placed` does (the narrowing pre-filter
    exists: no row in the area's forces needs a map point, or placement is by LSOA), the periods are months,
    and the total's and every theme's predicate reads only columns the cube has, for every source kind the
    older months hold (the source is chosen later, from the records). Creates table `cube_old`: the area's
    cube rows before that month."""
    cur, cmp = job.cur, job.cmp
    if (cur.by_day or cmp.by_day or not job.tgt.vintage or not job.narrowed.get("prefilter")
            or not sql.has_relation(con, "area_cube")):
        return None
    first = min(cmp.start, cur.start)
    # Only kinds an assessment can be of: nothing reads another kind's older rows (police.uk outcomes files, in
    # most police.uk downloads, would otherwise reach the theme predicates below, which raise ThemeError for a
    # kind they do not know, so the assessment failed where the records give one). A named source without
    # anti-social behaviour takes its ASB window from the street files (_asb_block): those too.
    allowed = [source] if source else list(SOURCE_PRIORITY)
    if source and not get_kind(source).asb:
        allowed += [k for k in with_capability("asb") if get_kind(k).scope == "force" and k not in allowed]
    con.execute(f"CREATE OR REPLACE TEMP TABLE cube_old AS SELECT * FROM (SELECT {_CUBE_ROW_COLUMNS} FROM area_cube a "
                f"LEFT JOIN offences o ON upper(a.offence_code) = o.code WHERE a.month < {_q(first)}) WHERE {job.where}"
                f" AND source_kind IN {_in_list(allowed)}")
    kinds = [r[0] for r in con.execute("SELECT DISTINCT source_kind FROM cube_old").fetchall()]
    if not kinds:
        return None
    for kind in kinds:
        preds = [_theme_pred(job.theme_list, "total", kind) or "is_crime"]
        preds += [p for t in job.theme_list if (p := t.predicate(kind))]
        for p in preds:
            try:  # a predicate reading a column or table the cube lacks (place, time, a zone) fails to bind
                con.execute(f"SELECT count(*) FROM cube_old WHERE false AND ({p})").fetchall()
            except duckdb.Error:
                return None
    return first


def _categories(job: _Job) -> list[dict[str, Any]]:
    """police.uk categories (ASB apart), every current one even with no crime."""
    c = job.counter
    got = {r[0]: c.row(r[1:]) for r in job.con.execute(
        f"SELECT category_id, {c.select('is_crime')} {c.base} AND is_crime GROUP BY 1").fetchall()}
    ids = [x for x in CURRENT_CRIME_TYPES if x != ASB_ID] + sorted(x for x in got if x not in CURRENT_CRIME_TYPES)
    empty = c.row((0, 0, 0, 0))
    return [{"id": x, "label": CRIME_TYPES.get(x, x), **got.get(x, empty), "exposure_ratio": job.exposure,
             "level_shift": job.spanning("categories", x)} for x in ids]


def _themes(job: _Job, totals: list[list[int]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Theme rows and the total's series. `totals`: [c, p, mc, mp] of each available theme, in order."""
    con, c, preds = job.con, job.counter, job.theme_preds
    avail = [tid for tid, pred in preds.items() if pred]
    tc = [v for acc in totals for v in acc]
    ssel = "".join(f", {_nsum(preds[tid])}" for tid in avail)
    by_idx = {r[0]: r[1:] for r in con.execute(
        f"SELECT pm.idx, {_nsum(job.total_pred)}{ssel} FROM ps pm "
        f"WHERE {job.where} AND {job.src_cond} GROUP BY 1").fetchall()}

    def series_col(col: int) -> list[dict[str, Any]]:
        return job.series({i: v[col] for i, v in by_idx.items()})

    rows = []
    for t in job.theme_list:
        row: dict[str, Any] = {"id": t.id, "label": t.label, "available": preds[t.id] is not None,
                               "caveat": getattr(t, "caveat", None), "caveat_from": getattr(t, "caveat_from", None)}
        if preds[t.id] is None:
            row.update(current=None, previous=None)
        else:
            j = avail.index(t.id)
            row.update(c.row(tc[4 * j:4 * j + 4]), exposure_ratio=job.exposure)
            row["series"] = series_col(j + 1)
            row["run"] = current_run(row["series"]).to_dict()
            row["level_shift"] = job.spanning("themes", t.id)
        rows.append(row)
    return rows, series_col(0)


def _judge(job: _Job, rows: dict[str, Any]) -> None:
    """Significance for each family, then the total's series, run and monthly line, and rates."""
    total = job.annotate([rows["total"]], "total")[0]
    total["level_shift"] = job.spanning("total", "total")
    asb = rows["asb"]
    rows["asb"] = job.annotate([asb], "anti_social_behaviour")[0] if asb["available"] else {
        **asb, "change": None, "pct_change": None, "p_value": None, "p_adjusted": None, "z": None,
        "significant": False, "small_numbers": None}
    rows["categories"] = job.annotate(rows["categories"], "categories")
    rows["themes"] = _annotate_available(rows["themes"], lambda rs: job.annotate(rs, "themes"))
    rows["wards"] = job.annotate(rows["wards"], "wards")
    for w in rows["wards"]:
        w["themes"] = _annotate_available(w["themes"], lambda rs: job.annotate(rs, "ward_themes"))
    total["series"] = rows.pop("total_series")
    total["run"] = current_run(total["series"]).to_dict()
    total["monthly"] = _monthly_line(job.con, job.counter.base, job.total_pred, job.cur, job.cmp, job.present)
    est = annual_estimate(job.cur, [m for m in job.cur.months if m in job.present], total["current"],
                          job.monthly["total"].get("total", {}), job.disp["total"].value)
    total["annual_estimate"] = est.to_dict() if est else None
    rows["total"] = total
    rows["population"] = job.population = _populations(job.con, job.st, job.tgt, job.cur, job.cmp)
    _add_rates(total, rows["categories"], rows["themes"], rows["wards"], rows["population"], job.coverage,
               job.cur, job.cmp, asb=rows["asb"])
    wards = rows["wards"]
    for r in [total, rows["asb"], *rows["categories"], *rows["themes"], *wards, *(t for w in wards for t in w["themes"])]:
        r.pop("exposure_ratio", None)


def _measure(job: _Job) -> dict[str, Any]:
    """Every count of the assessment, like for like, with the families' dispersions and step changes."""
    con = job.con
    monthly = job.monthly = _monthly(con, job.where, job.src_cond, job.total_pred, job.theme_preds, job.window)
    asb, asb_monthly = _asb_block(con, job.where, job.cur, job.cmp, job.kind, job.forces, job.counter, job.coverage,
                                  job.window)
    labels = job.labels
    job.shifts = _level_shifts(monthly, labels)
    job.disp = _dispersions(monthly, asb_monthly, job.shifts)
    # One pass counts the total and every theme by ward (unplaced rows are the group None): the area's counts
    # are their sums.
    avail = [tid for tid, pred in job.theme_preds.items() if pred]
    by_ward = job.counter.grouped([job.total_pred] + [job.theme_preds[t] for t in avail], "p_ward_code")
    sums = job.counter.summed(by_ward, 1 + len(avail))
    themes, total_series = _themes(job, sums[1:])
    ward_cols = [0] + [1 + j for j, t in enumerate(avail) if t != "total"]
    return {"total": {**job.counter.row(sums[0]), "exposure_ratio": job.exposure}, "asb": asb,
            "categories": _categories(job), "themes": themes, "total_series": total_series,
            "wards": _ward_rows(con, job.tgt, job.src_cond, job.total_pred, job.theme_preds, job.exposure,
                                job.periods, job.present, job.counter, job.series,
                                by_ward={k: [accs[i] for i in ward_cols] for k, accs in by_ward.items()}),
            "geography": _geography_block(con, job.counter, job.src_cond, job.kind, job.forces, job.cur, job.cmp,
                                          job.tgt.vintage, job.opts["placement"], job.point_info)}


def _assemble(job: _Job, rows: dict[str, Any]) -> dict[str, Any]:
    """The assessment dict (docs/assessment-schema.md) from the judged rows."""
    kind, forces, geography, wards = job.kind, job.forces, rows["geography"], rows["wards"]
    changes = [w["change"] for w in wards if w.get("change") is not None]
    o = job.opts
    return {
        "schema_version": 1,
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "area": job.tgt.area.to_dict(), "period": job.cur.to_dict(), "compare": job.cmp.to_dict(),
        "source": {"kind": kind, "label": SOURCE_LABELS.get(kind or "", "no data"), "forces": [f for f in forces if f],
                   "inputs": _inputs_used(job.st, kind, forces), "notice": job.st.notice()},
        "geography": geography,
        "population": rows["population"]["meta"] if rows["population"] else None,
        "coverage": job.coverage,
        "total": rows["total"],
        "anti_social_behaviour": rows["asb"],
        "unplaced": _held_only(geography.pop("_unplaced"), job.coverage),
        "categories": rows["categories"],
        "themes": rows["themes"],
        "wards": wards,
        "wards_summary": {"up": sum(c > 0 for c in changes), "down": sum(c < 0 for c in changes),
                          "unchanged": sum(c == 0 for c in changes), "total": len(wards), "compared": len(changes)},
        "statistics": {**stats.statistics_block(o["adjustment"], stats.ALPHA, o["threshold"], o["test"]),
                       "families": FAMILIES, "dispersion": {k: v.to_dict() for k, v in job.disp.items()}},
    }


def _held_only(block: dict[str, Any], coverage: dict[str, Any]) -> dict[str, Any]:
    """A count block with the previous period's count null when no month of it is held (unknown, never 0)."""
    if not coverage.get("previous_months"):
        block["previous"] = None
    return block


def _beyond(job: _Job, data: dict[str, Any]) -> None:
    """Expected versus observed, hotspots and harm (issue #16), over the area's rows."""
    con, cov, area = job.con, job.coverage, job.tgt.area
    where = f"{job.where} AND {job.src_cond}"
    wards = {w["code"]: w["name"] for w in data["wards"]}
    data["expected"] = job.expected.finish(wards).to_dict()
    data["hotspots"] = hotspots.hotspot_block(
        con, job.st, where, job.total_pred, cov["matched_months"], cov["matched_previous_months"],
        snapped=job.kind != "extract", dispersion=job.disp["wards"].value, area_name=area.name, cur=job.cur,
        cmp=job.cmp, table="area_rows").to_dict()
    data["harm"] = harm.harm_block(con, job.st, job.kind, where, job.total_pred, job.theme_preds, job.labels,
                                   cov["matched_months"], cov["matched_previous_months"], job.population, wards,
                                   area.name, job.cur, job.cmp, table="area_rows").to_dict()


def _lsoa_names(con: duckdb.DuckDBPyConnection, st: Store) -> None:
    """Table `lsoa_names` (code, name) from the loaded LSOA boundaries' attributes (no geometry is read), so an
    extract's LSOAs, which carry no name, are named as the hotspot table names them; empty without them."""
    files = [st.geography_path(e) for e in st.geography_entries("boundaries") if e.get("level") == "lsoa"]
    if files:
        con.execute(f"CREATE OR REPLACE TEMP TABLE lsoa_names AS SELECT code, min(name) AS name FROM "
                    f"read_parquet([{', '.join(sql.literal(f) for f in files)}]) GROUP BY 1")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE lsoa_names (code VARCHAR, name VARCHAR)")


def _priorities(job: _Job, data: dict[str, Any]) -> None:
    """Outcomes and the priorities section (issue #15). After a ward's tests are taken from its authority's
    family, so the priorities read as the themes do."""
    crime_themes = [(t.id, t.label, job.theme_preds[t.id]) for t in job.theme_list
                    if job.theme_preds.get(t.id) and t.record_type == "crime"]
    data["outcomes"] = outcomes_block(job.con, kind=job.kind, forces=job.forces, cur=job.cur, cmp=job.cmp,
                                      coverage=job.coverage, themes=crime_themes,
                                      table=load_outcome_map(job.opts["theme_files"]))
    if not get_kind(job.kind).location_text:  # repeat locations by LSOA, which such a source does not name
        _lsoa_names(job.con, job.st)
    data["priorities"] = priorities.priorities_block(job.con, data, kind=job.kind, themes=job.theme_list,
                                                     preds=job.theme_preds, cur=job.cur, cmp=job.cmp,
                                                     window=job.window, total_pred=job.total_pred)


def _assess(con, st: Store, area_text: str, cur: Period, cmp: Period, **opts: Any) -> Assessment:
    job = _prepare(con, st, area_text, cur, cmp, opts)
    # The forecasts are fitted in the fit worker while the rest of the assessment goes on (fitworker.py); the
    # wards are named when they are collected (_beyond).
    job.expected = expected.start_expected(
        con, f"{job.where} AND {job.src_cond}", job.total_pred, job.theme_preds, job.labels, job.cur, job.present,
        job.tgt.area.name, table="area_hist", weight="n")
    fitworker.no_batch(job.expected.batch)  # a command's worker imports the hotspots' libraries after its batch
    rows = _measure(job)
    _judge(job, rows)
    data = _assemble(job, rows)
    data["data_quality"] = data_quality(con, st, kind=job.kind, forces=job.forces, periods=job.periods, cur=cur,
                                        cmp=cmp, geography=data["geography"], stray=job.stray, level_shifts=job.shifts,
                                        coverage=job.coverage, asb=data["anti_social_behaviour"],
                                        cube="area_cube" if sql.has_relation(con, "area_cube") else None)
    tgt = job.tgt
    if tgt.area.level != "custom":
        data["data_quality"]["official_total"] = official_total(
            st, tgt.area, cur, police_count=data["total"]["current"], complete=job.coverage["complete"], con=con)
    add_comparisons(data, st, tgt.area, cur, cmp, source=job.kind, con=con, peers=opts.get("peers"),
                    exclude=opts.get("exclude"), peer_file=opts.get("peer_file"),
                    dispersion=job.disp["total"].value, theme_dispersion=job.disp["themes"].value,
                    own_themes=[t.id for t in job.theme_list if t.origin != "built-in"])
    _beyond(job, data)
    from_parent = (tgt.area.level == "ward" and bool(tgt.lad_codes)
                   and job.coverage["basis"] in ("complete", "matched_months"))
    if from_parent:
        _from_parent_family(data, st, tgt.lad_codes[0], cur, cmp, **{**opts, "ward_vintage": tgt.vintage})
    _share_tests(job, data, from_parent=from_parent)
    _priorities(job, data)
    data["findings"] = findings(data)
    from ..geography.placing import ward_geometry

    geo = ward_geometry(st, tgt.vintage, [w["code"] for w in data["wards"]]) if tgt.vintage else None
    data["geography"]["ward_geometry"] = geo is not None
    return Assessment(AssessmentResult.from_dict(data), ward_geometry=geo)


_STAT_KEYS = ("p_value", "p_adjusted", "z", "significant", "small_numbers", "dispersion")
_COUNT_KEYS = ("current", "previous", "matched_current", "matched_previous")


def _same_crimes(job: _Job, data: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(theme row, row) pairs that count exactly the same crimes: a theme whose predicate for this source is the
    total's, one police.uk category's, or anti-social behaviour's (from the same source), with the same counts."""
    from ..classify.themes import _in_list as theme_in_list

    cats = {f"(is_crime AND {theme_in_list('category_id', (c['id'],))})": c for c in data["categories"]}
    asb = data["anti_social_behaviour"]
    asb_pred = f"(NOT is_crime AND {theme_in_list('category_id', (ASB_ID,))})"
    pairs = []
    for t in data["themes"]:
        pred = job.theme_preds.get(t["id"])
        if not t.get("available", True) or pred is None:
            continue
        if pred == job.total_pred:
            other = data["total"]
        elif pred == asb_pred and asb.get("available") and asb.get("source") == job.kind:
            other = asb
        else:
            other = cats.get(pred)
        if other is not None and all(t.get(k) == other.get(k) for k in _COUNT_KEYS):
            pairs.append((t, other))
    return pairs


def _share_tests(job: _Job, data: dict[str, Any], *, from_parent: bool) -> None:
    """One comparison, one test: a theme that counts exactly the crimes of the total, of one police.uk category
    or of anti-social behaviour shows the same test as that row (p-values, z, label, dispersion), so the same
    change reads the same in every table and view. The theme takes the other row's test; on a ward's page whose
    themes come from its authority's ward table (`from_parent`), a category or anti-social behaviour takes the
    theme's instead, so the page agrees with that table (the total always has the authority's ward row)."""
    for theme, other in _same_crimes(job, data):
        if other is data["total"] or not from_parent:
            theme.update({k: other.get(k) for k in _STAT_KEYS})
        else:
            other.update({k: theme.get(k) for k in _STAT_KEYS})
        if other is data["anti_social_behaviour"]:  # the same series: its step change and rate, said in both
            if "level_shift" not in other:
                other["level_shift"] = theme.get("level_shift")
            for k in ("rate_per_1000", "previous_rate_per_1000", "rate_change_pct", "rate_base"):
                other.setdefault(k, theme.get(k))


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
    # Only where the authority's table shows the same counts: a theme defined relative to the area assessed
    # (e.g. the violence in its top 20% of LSOAs for drug offences) counts other crimes on the ward's page, and
    # the authority's test of its own counts would sit beside numbers it did not test.
    if all(data["total"].get(k) == row.get(k) for k in _COUNT_KEYS):
        data["total"].update({k: row.get(k) for k in _STAT_KEYS})
    by_id = {t["id"]: t for t in row.get("themes", [])}
    for t in data["themes"]:
        got = by_id.get(t["id"])
        if got and t.get("available", True) and all(t.get(k) == got.get(k) for k in _COUNT_KEYS):
            t.update({k: got.get(k) for k in _STAT_KEYS})
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
    "themes": "the available themes of the area (a theme counting exactly the crimes of the total, a police.uk "
              "category or anti-social behaviour shows that row's test)",
    "wards": "ward totals of the area",
    "ward_themes": "the available themes within one ward",
    "anti_social_behaviour": "anti-social behaviour (one test)",
}


def _geography_block(con, counter: _Counter, src_cond: str, kind: str, forces: list[str], cur: Period, cmp: Period,
                     vintage: str | None, placement: str, point_info: dict[str, Any]) -> dict[str, Any]:
    """Placement counts and agreement; `_unplaced` (popped by the caller) holds the unplaced block."""
    force_cond = f"coalesce(force, '') IN {_in_list(forces)}" if get_kind(kind).scope != "file" else "true"
    un_cur = un_prev = None
    if placement != "point" and not cur.by_day and sql.has_relation(con, "area_cube"):
        # From the geography cube when no unplaced row has a map point (nothing a point could place): exact.
        pointed, c, p = con.execute(
            f"SELECT coalesce(sum(n) FILTER (WHERE point_only), 0), "
            f"coalesce(sum(n) FILTER (WHERE {_period_cond(cur)}), 0), coalesce(sum(n) FILTER (WHERE {_period_cond(cmp)}), 0) "
            f"FROM area_cube WHERE {src_cond} AND {force_cond} AND is_crime AND lad_code IS NULL "
            f"AND ward_code IS NULL").fetchall()[0]
        if not pointed or placement == "lsoa":
            un_cur, un_prev = int(c), int(p)
    if un_cur is None:
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
        got = dict(con.execute(f"SELECT month, sum(n) FROM area_win WHERE {asb_pred} AND month IN {_in_list(window)} "
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
        f"FROM area_all WHERE {where} AND source_kind = ? AND category_id = ?", [alt, ASB_ID]).fetchall()[0]
    wmonths = [m for m in window if m in months]
    got = dict(con.execute(f"SELECT month, sum(n) FROM area_hist WHERE {where} AND source_kind = ? AND category_id = ? "
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


def _nearest_population(entries: list[dict[str, Any]], p: Period) -> dict[str, Any]:
    """The loaded population estimate whose year (mid-year, 30 June) is nearest the period's midpoint."""
    mid = _mid_year(p)
    return sorted(entries, key=lambda e: (abs((e.get("year") or 0) + 0.5 - mid), -(e.get("year") or 0),
                                          e.get("loaded_at", "")))[0]


def _populations(con, st: Store, tgt: _Target, cur: Period, cmp: Period) -> dict[str, Any] | None:
    """The population for each period: the loaded estimate whose year (mid-year, 30 June) is nearest the
    period's midpoint. `meta` describes the current period's, with `previous_year`/`previous_residents`."""
    entries = st.geography_entries("population")
    if not entries or not tgt.vintage or tgt.area.level == "custom":
        return None
    ec, ep = _nearest_population(entries, cur), _nearest_population(entries, cmp)
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


def _add_rates(total, categories, themes, wards, population, coverage, cur: Period, cmp: Period,
               asb: dict[str, Any] | None = None) -> None:
    """rate_per_1000 (a year, over the months held), previous_rate_per_1000, rate_change_pct (like for like,
    each period with its own population) and matched_rate_per_1000 / matched_previous_rate_per_1000 (the two
    rates that change compares: a year over the months held in both periods); residents, or households for
    burglary; null without population. Anti-social behaviour's rates are over its own months held (its source
    may hold other months than crime's)."""
    meta = population["meta"] if population else {}
    prev_meta = population["previous_meta"] if population else {}
    yc, yp = _years(cur, coverage["current_months"]), _years(cmp, coverage["previous_months"])

    def matched_years(cov: dict[str, Any]) -> tuple[float, float]:
        return (_years(cur, len(cov.get("matched_months") or [])),
                _years(cmp, len(cov.get("matched_previous_months") or [])))

    ymc, ymp = matched_years(coverage)

    def put(row: dict[str, Any], res_c, res_p, hh_c=None, hh_p=None, households: bool = False,
            years: tuple[float, float] | None = None, matched: tuple[float, float] | None = None) -> None:
        bc, bp = (hh_c, hh_p) if households and hh_c else (res_c, res_p)
        y_c, y_p = years or (yc, yp)
        m_c, m_p = matched or (ymc, ymp)
        row["rate_per_1000"] = _rate(row.get("current"), bc, y_c)
        row["previous_rate_per_1000"] = _rate(row.get("previous"), bp, y_p)
        row["rate_change_pct"] = _rate_change(row.get("matched_current"), row.get("matched_previous"), bc, bp)
        row["matched_rate_per_1000"] = _rate(row.get("matched_current"), bc, m_c)
        row["matched_previous_rate_per_1000"] = _rate(row.get("matched_previous"), bp, m_p)
        row["rate_base"] = "households" if households and hh_c else "residents"

    rc, rp = meta.get("residents"), prev_meta.get("residents")
    hc, hp = meta.get("households"), prev_meta.get("households")
    put(total, rc, rp)
    if asb is not None and asb.get("available"):
        put(asb, rc, rp, years=(_years(cur, asb.get("current_months") or 0), _years(cmp, asb.get("previous_months") or 0)),
            matched=matched_years(asb))
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
