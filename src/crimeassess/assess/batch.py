"""Every area at once: the total and police.uk categories of each local authority, CSP, force area or ward,
like for like, from one pass over the aggregate store (aggregate.py's geography cube).

Each area is judged as its own assessment judges its total and categories (engine.py): the same source
choice (extract > street > API), the same forces deciding coverage (FORCE_SHARE), the same months compared
(months held in both periods), the same dispersion (per-series Poisson models over the same 36-month window,
level shifts as steps) and test, and rates per 1,000 residents with each period's nearest mid-year estimate.
So an area's row here carries the numbers and labels its own `assess` gives for the total.

What it does not do: wards within each area, themes, hotspots, forecasts, priorities and comparators (run
`crimeassess assess AREA` for the full document), and records that only a map point could place (no LSOA
in the lookup) are not counted here; the result's notes give their number when there are any.
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from .. import sql
from ..aggregate import register_cube, register_live_aggregates
from ..errors import CrimeAssessError, GeographyError, InputError, NoDataError
from ..geography.areas import ward_vintages
from ..schema import ASB_ID, CRIME_TYPES, CURRENT_CRIME_TYPES
from ..sources.registry import get_kind
from ..store import Store, atomic_write_bytes
from . import stats
from .counts import _Counter, _window
from .engine import (FORCE_SHARE, SOURCE_LABELS, SOURCE_PRIORITY, _coverage, _dispersions, _exposure, _level_shifts,
                     _load_themes, _nearest_population, _rate, _rate_change, _register_offences, _theme_pred, _years,
                     held_text)
from .periods import Period, comparison_for, month_index, parse_period

LEVELS = ("lad", "csp", "pfa", "ward")
#: Columns of summary.csv, in order (the first eight are the issue's contract).
SUMMARY_COLUMNS = ["code", "name", "current", "previous", "change", "pct_change", "rate_per_1000", "significant",
                   "level", "basis", "months_compared", "current_held", "previous_held", "p_value", "dispersion",
                   "previous_rate_per_1000", "rate_change_pct", "population", "source", "forces", "note"]


@dataclass
class AreaSummary:
    """One area's total and categories, judged like its own assessment.

    Attributes: ``code``, ``name``, ``level``; ``source`` (kind) and ``forces`` (deciding coverage);
    ``coverage`` (as in an assessment); ``total`` and ``categories`` (rows with current/previous held,
    matched_current/matched_previous, change, pct_change, p_value, significant, rates); ``dispersion``
    (total and categories families); ``note`` (why there is no comparison, when there is none).
    """

    code: str
    name: str
    level: str
    source: str | None = None
    forces: list[str] = field(default_factory=list)
    stray_forces: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)
    total: dict[str, Any] = field(default_factory=dict)
    categories: list[dict[str, Any]] = field(default_factory=list)
    dispersion: dict[str, Any] = field(default_factory=dict)
    population: dict[str, Any] | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"area": {"code": self.code, "name": self.name, "level": self.level},
                "source": {"kind": self.source, "label": SOURCE_LABELS.get(self.source or "", "no data"),
                           "forces": self.forces},
                "stray_forces": self.stray_forces, "coverage": self.coverage, "population": self.population,
                "total": self.total, "categories": self.categories, "dispersion": self.dispersion, "note": self.note}

    def summary_row(self) -> dict[str, Any]:
        """The summary.csv row: current/previous are the counts compared (months held in both periods)."""
        t, c = self.total, self.coverage
        return {"code": self.code, "name": self.name, "current": t.get("matched_current"),
                "previous": t.get("matched_previous"), "change": t.get("change"), "pct_change": t.get("pct_change"),
                "rate_per_1000": t.get("rate_per_1000"), "significant": t.get("significant"), "level": self.level,
                "basis": c.get("basis"), "months_compared": len(c.get("matched_months") or []) if c else None,
                "current_held": t.get("current"), "previous_held": t.get("previous"), "p_value": t.get("p_value"),
                "dispersion": t.get("dispersion"), "previous_rate_per_1000": t.get("previous_rate_per_1000"),
                "rate_change_pct": t.get("rate_change_pct"),
                "population": (self.population or {}).get("residents"), "source": self.source,
                "forces": ",".join(self.forces), "note": self.note}


@dataclass
class BatchAssessment:
    """Every area of one level for one period (see the module docstring).

    Attributes: ``level``, ``period``/``compare`` (Period), ``areas`` (AreaSummary, by code), ``notes``,
    ``statistics`` (the test and adjustment, as in an assessment), ``generated_at``, ``ward_vintage``.
    """

    level: str
    period: Period
    compare: Period
    areas: list[AreaSummary]
    notes: list[str]
    statistics: dict[str, Any]
    ward_vintage: str | None
    generated_at: str = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0)
                              .isoformat().replace("+00:00", "Z"))

    def area_dict(self, a: AreaSummary) -> dict[str, Any]:
        """One area's JSON document."""
        return {"schema_version": 1, "kind": "batch-summary", "generated_at": self.generated_at,
                **a.to_dict(), "period": self.period.to_dict(), "compare": self.compare.to_dict(),
                "ward_vintage": self.ward_vintage, "statistics": self.statistics, "notes": self.notes}

    def summary_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
        w.writeheader()
        for a in self.areas:
            w.writerow({k: ("" if v is None else v) for k, v in a.summary_row().items()})
        return buf.getvalue()

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``areas/<code>.json`` for every area and ``summary.csv`` (and ``notes.txt`` when there are
        notes) under `out_dir`; returns the files written."""
        out = Path(out_dir)
        files = []
        try:
            (out / "areas").mkdir(parents=True, exist_ok=True)
            for a in self.areas:
                p = out / "areas" / f"{_safe(a.code)}.json"
                atomic_write_bytes(p, json.dumps(self.area_dict(a), indent=1, ensure_ascii=False, default=str).encode())
                files.append(p)
            p = out / "summary.csv"
            atomic_write_bytes(p, self.summary_csv().encode())
        except OSError as exc:
            raise InputError(f"{out}: cannot write the results ({exc.strerror or exc})") from None
        files.append(p)
        return files


def _safe(code: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in code)


def assess_all_areas(
    level: str = "lad",
    period: str | Period = "",
    compare: str | Period | None = None,
    store: Store | str | Path | None = None,
    *,
    source: str | None = None,
    ward_vintage: str | None = None,
    adjustment: str = stats.DEFAULT_METHOD,
    small_number_threshold: int = stats.SMALL_NUMBER_THRESHOLD,
    test: str = stats.DEFAULT_TEST,
    progress: Callable[[int, int, str], None] | None = None,
) -> BatchAssessment:
    """Assess the total and categories of every area of `level` (lad, csp, pfa or ward) for `period`,
    reading the aggregate store once. Areas with no records of the chosen source are left out; areas with
    records but none in the period are kept with a note."""
    if level not in LEVELS:
        raise CrimeAssessError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    st = store if isinstance(store, Store) else Store(store)
    st.require()  # before anything is made in a mistyped folder
    cur = period if isinstance(period, Period) else parse_period(period)
    cmp = compare if isinstance(compare, Period) else comparison_for(cur, compare)
    if cur.by_day:
        raise CrimeAssessError("--all-areas counts months; use a month-based period")
    opts = {"adjustment": stats._check_method(adjustment), "threshold": small_number_threshold,
            "test": stats.check_test(test)}
    con = st.connect()
    try:
        return _batch(con, st, level, cur, cmp, source, ward_vintage, opts, progress)
    finally:
        con.close()


def _lookup(st: Store, asked: str | None) -> tuple[str | None, Path | None]:
    vintages = ward_vintages(st)
    if asked:
        f = st.geography_file("lsoa_ward", asked.upper())
        if f is None:
            raise GeographyError(f"ward vintage {asked} is not loaded; loaded: {', '.join(vintages) or 'none'}")
        return asked.upper(), f
    if not vintages:
        return None, None
    return vintages[0], st.geography_file("lsoa_ward", vintages[0])


def _units(con: duckdb.DuckDBPyConnection, st: Store, level: str, lookup: Path | None) -> None:
    """Table `units(code, name, lad_code, ward_code)`: which local authority (or ward) belongs to which area."""
    con.execute("CREATE OR REPLACE TEMP TABLE units(code VARCHAR, name VARCHAR, lad_code VARCHAR, ward_code VARCHAR)")
    if lookup is not None:
        if level == "ward":
            con.execute("INSERT INTO units SELECT DISTINCT ward_code, ward_name, NULL, ward_code FROM read_parquet(?)",
                        [str(lookup)])
        elif level == "lad":
            con.execute("INSERT INTO units SELECT DISTINCT lad_code, lad_name, lad_code, NULL FROM read_parquet(?)",
                        [str(lookup)])
    if level in ("csp", "pfa") or (level == "lad" and lookup is None):
        entries = st.geography_entries("lad_csp_pfa")
        if not entries and lookup is None:
            raise GeographyError("no geography loaded: load an LSOA→ward lookup (and LAD→CSP→PFA for csp/pfa) first")
        if not entries:
            raise GeographyError(f"--level {level} needs the LAD→CSP→PFA lookup: crimeassess geography load it first")
        for e in entries:
            c = {"lad": "lad", "csp": "csp", "pfa": "pfa"}[level]
            con.execute(f"INSERT INTO units SELECT DISTINCT {c}_code, {c}_name, lad_code, NULL FROM read_parquet(?)",
                        [str(st.geography_path(e))])
    con.execute("CREATE OR REPLACE TEMP TABLE units AS SELECT DISTINCT * FROM units")


def _batch(con, st: Store, level: str, cur: Period, cmp: Period, source: str | None, ward_vintage: str | None,
           opts: dict[str, Any], progress) -> BatchAssessment:
    vintage, lookup = _lookup(st, ward_vintage)
    if not register_live_aggregates(con, st) or not register_cube(con, st, lookup):
        raise CrimeAssessError(f"{st.path}: the aggregate store cannot be built here (read-only?); "
                               "run crimeassess build-aggregates with write access")
    _register_offences(con)
    _units(con, st, level, lookup)
    themes = _load_themes(None)
    kinds = [k for k in SOURCE_PRIORITY if k != "police-uk-outcomes"]
    preds = {k: _theme_pred(themes, "total", k) or "is_crime" for k in kinds}
    tot = " OR ".join(f"(c.source_kind = {sql.literal(k)} AND {p})" for k, p in preds.items()) or "false"
    join = "u.ward_code = c.ward_code" if level == "ward" else "u.lad_code = c.lad_code"
    rows = con.execute(f"""
        SELECT u.code, c.source_kind, coalesce(c.force, '') AS force, c.month, c.category_id, c.is_crime,
               sum(c.n)::BIGINT AS n, coalesce(sum(c.n) FILTER (WHERE {tot}), 0)::BIGINT AS total
        FROM (SELECT c.*, o.ho_group, o.ho_subgroup, coalesce(o.ho_in_total, false) AS ho_in_total FROM cube c
              LEFT JOIN offences o ON upper(c.offence_code) = o.code) c
        JOIN units u ON {join}
        WHERE NOT c.point_only OR (c.lad_code IS NOT NULL AND c.ward_code IS NOT NULL)
        GROUP BY ALL""").fetchall()
    point_only = con.execute("SELECT coalesce(sum(n), 0) FROM cube WHERE point_only AND "
                             "(lad_code IS NULL OR ward_code IS NULL)").fetchall()[0][0]
    names = dict(con.execute("SELECT code, any_value(name) FROM units GROUP BY 1").fetchall())
    by_unit: dict[str, list[tuple]] = {}
    for r in rows:
        by_unit.setdefault(r[0], []).append(r[1:])
    slices = _slices(con)
    pops = _populations(con, st, level, lookup, cur, cmp)
    codes = sorted(by_unit)
    jobs = [(code, names.get(code) or code, level, by_unit[code], cur, cmp, source, slices, pops.get(code), opts)
            for code in codes]
    out = _run(jobs, progress)
    if not any(a.coverage.get("current_months") for a in out):  # as a single area's assessment: an error
        kinds = [source] if source else [k for k in SOURCE_PRIORITY if k != "police-uk-outcomes"]
        held = set().union(*[m for (k, _s), m in slices.items() if k in kinds]) if slices else set()
        if not held:
            raise NoDataError(f"no data{f' of source {source}' if source else ''} in the store")
        raise NoDataError(f"no data for any area ({level}) in {cur.label}"
                          f"{f' from source {source}' if source else ''}; the store holds {held_text(held)}")
    notes = []
    if point_only:
        notes.append(f"{point_only:,} records have no LSOA in the {vintage or 'loaded'} lookup and could be placed only "
                     "by their map points; this batch does not count them (crimeassess assess AREA does, where "
                     "ward boundaries are loaded).")
    statistics = stats.statistics_block(opts["adjustment"], stats.ALPHA, opts["threshold"], opts["test"])
    return BatchAssessment(level, cur, cmp, out, notes, statistics, vintage)


#: Areas per worker process below which the batch runs in this process (starting a worker costs ~1 s).
MIN_AREAS_PER_WORKER = 40


def _one_job(job: tuple) -> "AreaSummary":
    return _one(*job)


def _run(jobs: list[tuple], progress) -> list["AreaSummary"]:
    """Judge every area: in worker processes (one per core) when there are many, else here. The statistics
    (Poisson models, change points) are the cost; the counts are already in memory."""
    workers = min(os.cpu_count() or 1, len(jobs) // MIN_AREAS_PER_WORKER)
    out: list[AreaSummary] = []
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for i, a in enumerate(pool.map(_one_job, jobs, chunksize=8)):
                if progress:
                    progress(i, len(jobs), a.name)
                out.append(a)
    else:
        for i, job in enumerate(jobs):
            if progress:
                progress(i, len(jobs), job[1])
            out.append(_one(*job))
    if progress:
        progress(len(jobs), len(jobs), "")
    return out


def _slices(con) -> dict[tuple[str, str], set[str]]:
    """(source kind, scope) → months held (live slices)."""
    out: dict[tuple[str, str], set[str]] = {}
    for kind, scope, month in con.execute("SELECT source_kind, scope, month FROM live_slices").fetchall():
        out.setdefault((kind, scope), set()).add(month)
    return out


def _populations(con, st: Store, level: str, lookup: Path | None, cur: Period, cmp: Period) -> dict[str, Any]:
    """Per area: residents and households of each period's nearest mid-year estimate (as engine._populations)."""
    entries = st.geography_entries("population")
    if not entries or lookup is None:
        return {}
    join = "u.ward_code = lk.ward_code" if level == "ward" else "u.lad_code = lk.lad_code"

    def sums(e: dict[str, Any]) -> dict[str, dict[str, Any]]:
        got = {}
        for c, res, hh, n_hh, matched, n in con.execute(
                f"SELECT u.code, sum(p.residents), sum(p.households), count(p.households), count(p.lsoa_code), "
                f"count(*) FROM units u JOIN (SELECT DISTINCT lsoa_code, ward_code, lad_code FROM "
                f"read_parquet({sql.literal(str(lookup))})) lk ON {join} "
                f"LEFT JOIN read_parquet({sql.literal(str(st.geography_path(e)))}) p ON p.lsoa_code = lk.lsoa_code "
                "GROUP BY 1").fetchall():
            if matched:
                got[c] = {"source": e.get("source"), "year": e.get("year"), "residents": int(res or 0),
                          "households": int(hh) if n_hh else None, "complete": matched == n}
        return got

    ec, ep = _nearest_population(entries, cur), _nearest_population(entries, cmp)
    now = sums(ec)
    before = now if ep is ec else sums(ep)
    out = {}
    for code, meta in now.items():
        b = before.get(code) or meta
        out[code] = {**meta, "previous_year": b["year"], "previous_residents": b["residents"],
                     "previous_households": b["households"],
                     "rate_unit": "per 1,000 residents a year (households for burglary)"}
    return out


def _one(code: str, name: str, level: str, rows: list[tuple], cur: Period, cmp: Period, source: str | None,
         slices: dict[tuple[str, str], set[str]], pop: dict[str, Any] | None, opts: dict[str, Any]) -> AreaSummary:
    a = AreaSummary(code, name, level, population=pop)
    want = set(cur.months) | set(cmp.months)
    by_kind: dict[str, int] = {}
    for kind, _f, month, _c, _ic, n, _t in rows:
        if month in want:
            by_kind[kind] = by_kind.get(kind, 0) + n
    kind = source or next((k for k in SOURCE_PRIORITY if by_kind.get(k)), None) or next(
        (k for k in SOURCE_PRIORITY if any(r[0] == k for r in rows)), None)
    if kind is None:
        a.note = "no records"
        return a
    a.source = kind
    mine = [r for r in rows if r[0] == kind]
    per_force: dict[str, int] = {}
    for _k, f, *_rest, n, _t in mine:
        per_force[f] = per_force.get(f, 0) + n
    total_n = sum(per_force.values()) or 1
    ranked = sorted(per_force.items(), key=lambda kv: (-kv[1], kv[0]))
    main = sorted(f for f, n in ranked if n >= FORCE_SHARE * total_n)
    a.stray_forces = [{"force": f or None, "records": int(n), "share": round(n / total_n, 5)}
                      for f, n in ranked if n < FORCE_SHARE * total_n]
    a.forces = [f for f in main if f]
    if get_kind(kind).scope == "file":
        present = set().union(*[m for (k, _s), m in slices.items() if k == kind]) if slices else set()
    else:
        sets = [slices.get((kind, f), set()) for f in main]
        present = set.intersection(*sets) if sets else set()
    a.coverage = _coverage(cur, cmp, present, kind)
    if a.coverage["current_months"] == 0:
        a.note = f"no data in {cur.label}"
        return a
    window = _window(cur, present)
    widx = {m: month_index(m) for m in window}
    monthly: dict[str, dict[str, dict[int, int]]] = {"total": {"total": {i: 0 for i in widx.values()}},
                                                      "categories": {}, "themes": {}, "wards": {}}
    counts = {"total": [0, 0, 0, 0]}
    mc, mp = set(a.coverage["matched_months"]), set(a.coverage["matched_previous_months"])
    cur_m, cmp_m = set(cur.months), set(cmp.months)
    comparable = a.coverage["basis"] in ("complete", "matched_months")
    for _k, _f, month, cat, is_crime, n, tot in mine:
        if month in widx:
            monthly["total"]["total"][widx[month]] += tot
            if is_crime:
                monthly["categories"].setdefault(cat, {i: 0 for i in widx.values()})[widx[month]] += n
        for key, val in (("total", tot), (cat if is_crime else None, n)):
            if key is None:
                continue
            c = counts.setdefault(key, [0, 0, 0, 0])
            if month in cur_m:
                c[0] += val
                if month in mc:
                    c[2] += val
            elif month in cmp_m:
                c[1] += val
                if month in mp:
                    c[3] += val
    shifts = _level_shifts(monthly, {**CRIME_TYPES, "total": "Total recorded crime"})
    disp = _dispersions(monthly, None, shifts)
    counter = _Counter(None, "", a.coverage)
    exposure = _exposure(cur, cmp)
    total = {**counter.row(counts["total"]), "exposure_ratio": exposure}
    a.total = stats.annotate_table([{**total, "dispersion": disp["total"].value}], method=opts["adjustment"],
                                   threshold=opts["threshold"], test=opts["test"])[0]
    ids = [x for x in CURRENT_CRIME_TYPES if x != ASB_ID] + sorted(
        x for x in counts if x not in CURRENT_CRIME_TYPES and x != "total")
    cats = [{"id": x, "label": CRIME_TYPES.get(x, x), **counter.row(counts.get(x, [0, 0, 0, 0])),
             "exposure_ratio": exposure, "dispersion": disp["categories"].value} for x in ids]
    a.categories = stats.annotate_table(cats, method=opts["adjustment"], threshold=opts["threshold"], test=opts["test"])
    a.dispersion = {"total": disp["total"].to_dict(), "categories": disp["categories"].to_dict()}
    yc, yp = _years(cur, a.coverage["current_months"]), _years(cmp, a.coverage["previous_months"])
    p = pop or {}
    for row in [a.total, *a.categories]:
        households = row.get("id") == "burglary" and bool(p.get("households"))
        bc, bp = ((p.get("households"), p.get("previous_households")) if households
                  else (p.get("residents"), p.get("previous_residents")))
        row["rate_per_1000"] = _rate(row.get("current"), bc, yc)
        row["previous_rate_per_1000"] = _rate(row.get("previous"), bp, yp)
        row["rate_change_pct"] = _rate_change(row.get("matched_current"), row.get("matched_previous"), bc, bp)
        row["rate_base"] = "households" if households else "residents"
    if not comparable:
        a.note = {"none": "no month held in both periods: no change is given",
                  "unequal_lengths": "periods of different lengths: no change is given"}.get(a.coverage["basis"])
    elif level == "ward":
        # A ward's own assessment takes its tests from its authority's ward table (one family, the wards' pooled
        # dispersion), which a ward judged alone would contradict: the batch gives its counts and changes, and
        # leaves the test to that table rather than show another label.
        for row in [a.total, *a.categories]:
            row.update({k: None for k in ("p_value", "p_adjusted", "z", "significant", "dispersion")})
        a.dispersion = {}
        a.note = WARD_TEST_NOTE
    return a


#: Why a ward's row in a batch has no test (AreaSummary.note).
WARD_TEST_NOTE = ("significance is not given here: a ward's changes are tested in its local authority's ward table "
                  "(crimeassess assess --area <authority>), as its own assessment shows them")
