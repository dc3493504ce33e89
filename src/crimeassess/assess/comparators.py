"""How does this area compare? Rates per 1,000 residents a year for the area, England and Wales, its police force
area, the force area excluding named areas, and peers (named, or a peer-group file), each from police.uk (or force
extract) records when the store holds the comparator's forces, else from the Home Office recorded crime tables.

Rules (docs/comparators.md):

- a rate is crimes per 1,000 residents **per year**: count / months × 12 / population × 1,000, the population
  being the estimate for the period's year (the nearest loaded year, named in each row);
- like for like: a comparator from records counts only the months held for its forces *and* for the area; a Home
  Office comparator needs periods made of whole financial quarters;
- ``rate_change_pct`` compares the two periods over the months held in both (paired in order), each with its own
  population; null when no month is held in both;
- the area's difference from a disjoint comparator (peers, the force area excluding named areas) is tested over
  the same months with the population ratio as exposure, by ``stats.compare`` (its default test; ``dispersion``
  is passed on when given and the stats module takes it); comparators containing the area (England and Wales,
  the force area) are not tested against it;
- ``rank`` / ``of``: the area among its peers by rate, 1 = highest.

Aggregated Home Office counts are never added to record counts: each row has one source.
"""
from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from .. import sql
from ..errors import AreaNotFoundError, InputError
from ..geography.areas import Area, resolve_area
from ..geography.population import ENGLAND, ENGLAND_AND_WALES, WALES, PopulationIndex, estimate_year_for, population_index
from ..sources.homeoffice import SOURCE_LABEL as HO_LABEL
from ..sources.homeoffice import WELSH_FORCES, force_slug_of, load_counts, quarter_months
from ..aggregate import register_cube, register_live_aggregates
from ..store import Store
from . import stats
from .periods import Period, comparison_for, parse_period

RECORD_SOURCES = ["extract", "police-uk-street", "police-uk-api"]
RECORD_LABELS = {
    "extract": "force crime extract (Home Office offence codes)",
    "police-uk-street": "police.uk street-level crime files",
    "police-uk-api": "police.uk API (crimes-street)",
}
KINDS = ("area", "england-and-wales", "england", "wales", "force", "force-excluding", "peer", "local-authority")
#: The national comparator: kind -> (GSS code, name)
NATIONAL = {"england-and-wales": (ENGLAND_AND_WALES, "England and Wales"), "england": (ENGLAND, "England"),
            "wales": (WALES, "Wales")}


@dataclass(frozen=True)
class Comparator:
    """One row of the comparison table.

    Attributes: kind ('area', 'england-and-wales', 'force', 'force-excluding', 'peer'), code, name, source (label),
    current/previous (counts over ``months`` / ``previous_months``, the months held), rate_per_1000 /
    previous_rate_per_1000 (crimes per 1,000 residents a year over those months), rate_change_pct (the change in
    the rate over ``matched_months``, the current months held in both periods, each period with its own
    population), matched_rate_per_1000 / matched_previous_rate_per_1000 (the two rates that change compares,
    over the months held in both; null when every month held is in both, so the rates above are they), rank/of
    (among the area and its peers), source_kind, population
    (and its year and source), p_value/significant (the area's rate against this one), note.
    """

    kind: str
    code: str | None
    name: str
    source: str | None
    current: int | None = None
    previous: int | None = None
    rate_per_1000: float | None = None
    previous_rate_per_1000: float | None = None
    rate_change_pct: float | None = None
    matched_rate_per_1000: float | None = None
    matched_previous_rate_per_1000: float | None = None
    rank: int | None = None
    of: int | None = None
    source_kind: str | None = None
    months: list[str] = field(default_factory=list)
    previous_months: list[str] = field(default_factory=list)
    matched_months: list[str] = field(default_factory=list)
    population: int | None = None
    population_year: int | None = None
    previous_population: int | None = None
    population_source: str | None = None
    p_value: float | None = None
    significant: bool | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: {kind, code, name, source, current, previous, rate_per_1000, previous_rate_per_1000,
        rate_change_pct, rank, of} plus the extra keys above."""
        return asdict(self)


def annual_rate(count: int | None, months: int, population: int | None) -> float | None:
    """Crimes per 1,000 residents a year: count / months × 12 / population × 1,000, one decimal."""
    if count is None or not months or not population:
        return None
    return round(count / months * 12 / population * 1000, 1)


def read_peer_file(path: str | Path) -> dict[str, list[str]]:
    """Peer groups from a TOML file (``[groups]`` name = [codes or names], or top-level name = [...]) or a CSV with
    columns ``group`` and ``code`` (or ``area``/``name``). Returns group name -> list of area codes or names."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: peer-group file not found")
    text = p.read_text(encoding="utf-8-sig")
    groups: dict[str, list[str]] = {}
    if p.suffix.lower() == ".toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{p.name}: not valid TOML ({exc})") from None
        src = doc.get("groups", doc)
        for name, members in src.items():
            if isinstance(members, dict):
                members = members.get("areas") or members.get("codes") or []
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise InputError(f"{p.name}: group {name!r} must be a list of area codes or names")
            groups[str(name)] = [m.strip() for m in members if m.strip()]
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows:
            raise InputError(f"{p.name}: peer-group CSV has no rows")
        cols = {c.strip().lower(): c for c in rows[0] if c}
        gcol = cols.get("group") or cols.get("group_name") or cols.get("peer_group")
        acol = cols.get("code") or cols.get("area_code") or cols.get("area") or cols.get("name")
        if not gcol or not acol:
            raise InputError(f"{p.name}: peer-group CSV needs 'group' and 'code' (or 'area') columns")
        for n, r in enumerate(rows, start=2):
            g, a = (r.get(gcol) or "").strip(), (r.get(acol) or "").strip()
            if not g or not a:
                raise InputError(f"{p.name}: line {n}: group and area must both be given")
            groups.setdefault(g, []).append(a)
    if not groups:
        raise InputError(f"{p.name}: no peer groups")
    return groups


_q = sql.literal  # the project's one SQL quoting helper
_in = sql.in_list


class _Geo:
    """LAD ↔ CSP ↔ PFA relations from the loaded lookups."""

    def __init__(self, st: Store, con: duckdb.DuckDBPyConnection) -> None:
        self.lad_rows: list[tuple[str, str, str, str, str, str]] = []
        for e in st.geography_entries("lad_csp_pfa"):
            self.lad_rows += con.execute(
                "SELECT DISTINCT lad_code, lad_name, csp_code, csp_name, pfa_code, pfa_name FROM read_parquet(?)",
                [str(st.geography_path(e))]).fetchall()
        self.lad_rows = sorted(set(self.lad_rows))

    def lads(self, a: Area) -> list[str]:
        if a.level == "lad":
            return [a.code]
        if a.level == "ward":
            return list(a.lad_codes)
        i = {"csp": 2, "pfa": 4}.get(a.level)
        if i is None:
            return list(a.lad_codes)
        return sorted({r[0] for r in self.lad_rows if r[i] == a.code}) or list(a.lad_codes)

    def pfa_of(self, lads: list[str]) -> tuple[str, str] | None:
        pf = {(r[4], r[5]) for r in self.lad_rows if r[0] in lads}
        return next(iter(pf)) if len(pf) == 1 else None

    def forces_of(self, lads: list[str]) -> list[str]:
        return sorted({force_slug_of(r[5]) for r in self.lad_rows if r[0] in lads})

    def csps_of(self, lads: list[str]) -> list[tuple[str, str]] | None:
        """The CSPs exactly covering these LADs, or None when a CSP would cover more."""
        csps = {(r[2], r[3]) for r in self.lad_rows if r[0] in lads}
        for code, _n in csps:
            if not {r[0] for r in self.lad_rows if r[2] == code} <= set(lads):
                return None
        return sorted(csps) if csps else None


@dataclass
class _Unit:
    kind: str
    code: str | None
    name: str
    lads: list[str]
    pop_codes: list[str]
    contains_area: bool = False
    exclude_lads: list[str] = field(default_factory=list)
    ward: str | None = None  # a ward area is counted by ward, not by its local authority


class _Counter:
    """Counts by local authority and month from the store's live records (own codes, else LSOA → LAD).

    Read from the aggregate store (view `agg`, aggregate.py) when the connection has it: no record is touched.
    A theme whose predicate needs record columns the aggregates do not keep (place text, location type, time)
    is counted from the records themselves (`all_records` when the engine narrowed `records` to the area)."""

    def __init__(self, st: Store, con: duckdb.DuckDBPyConnection, months: list[str]) -> None:
        self.con = con
        from ..classify.themes import load_themes

        self.themes = load_themes()
        self.slices: dict[str, dict[str, set[str]]] = {}  # months held by source kind and scope (live_slices)
        self.months = months
        # One table of the months' rows per connection and set of months, shared by every call on it.
        import hashlib

        key = hashlib.sha1(",".join(months).encode()).hexdigest()[:12]
        self.table, self.rtable = "cmp_agg_" + key, "cmp_rows_" + key
        lk_entries = st.geography_entries("lsoa_ward")
        self._newest = sorted(lk_entries, key=lambda e: e["name"])[-1] if lk_entries else None
        self._st = st
        lookup = st.geography_path(self._newest) if self._newest else None
        self.has_agg = bool(sql.has_relation(con, "cmp_cube")) or (
            register_cube(con, st, lookup, "cmp_cube") and register_cube(con, st, lookup, "cmp_cube_lad", lad_only=True))
        if not self.has_agg:
            self.table = self.rtable
        # The counts of every authority are the same for every area assessed over these months: kept per store
        # state in this process (the dashboard and repeated calls count them once), the table built when needed.
        self.cache: dict[tuple[str, str, str], dict[tuple[str, str, str], int]] = st.derived(
            f"comparator_counts:{key}:{self.has_agg}", dict)
        if not sql.has_relation(con, "cmp_off"):  # offence groups (also for the Home Office tables)
            from ..classify.offences import offence_join_columns

            sql.create_table(con, "cmp_off", offence_join_columns())

    def _ensure_table(self) -> None:
        """The months' rows (cube or records) as this connection's table, built on first use."""
        con, st, newest = self.con, self._st, self._newest
        if sql.has_relation(con, self.table):
            return
        if newest is not None:
            con.execute("CREATE OR REPLACE TEMP TABLE cmp_lk AS SELECT DISTINCT lsoa_code, ward_code, lad_code "
                        "FROM read_parquet(?)", [str(st.geography_path(newest))])
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE cmp_lk(lsoa_code VARCHAR, ward_code VARCHAR, lad_code VARCHAR)")
        if self.has_agg:  # the cube is placed already (own codes, else the newest lookup)
            self._from_cube(self.table, ward=False)
        else:
            self._materialise(self.table, self._records())

    def _from_cube(self, table: str, *, ward: bool) -> None:
        """The months' cube rows by local authority (and by ward with `ward`), offence groups joined."""
        ward_col = "r.ward_code" if ward else "NULL::VARCHAR"
        self.con.execute(f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT r.source_kind, r.force, r.month, r.category_id, r.is_crime, r.offence_code, r.knife_flag,
                   r.hate_flag, r.domestic_flag, o.ho_group, o.ho_subgroup, coalesce(o.ho_in_total, false) AS ho_in_total,
                   r.lad_code AS c_lad, {ward_col} AS c_ward, sum(r.n)::BIGINT AS n
            FROM {"cmp_cube" if ward else "cmp_cube_lad"} r LEFT JOIN cmp_off o ON upper(r.offence_code) = o.code
            WHERE r.month IN {_in(self.months)} GROUP BY ALL""")

    def _records(self) -> str:
        return "all_records" if sql.has_relation(self.con, "all_records") else "records"

    def _materialise(self, table: str, source: str) -> None:
        self.con.execute(f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT r.*, o.ho_group, o.ho_subgroup, coalesce(o.ho_in_total, false) AS ho_in_total,
                   CASE WHEN r.lad_code IS NOT NULL THEN r.lad_code ELSE lk.lad_code END AS c_lad,
                   CASE WHEN r.lad_code IS NOT NULL THEN r.ward_code ELSE lk.ward_code END AS c_ward
            FROM {source} r LEFT JOIN cmp_lk lk ON r.lsoa_code = lk.lsoa_code
            LEFT JOIN cmp_off o ON upper(r.offence_code) = o.code
            WHERE r.month IN {_in(self.months)}""")

    def _where(self, pred: str, col: str = "c_lad") -> tuple[str, str] | None:
        """(table, count expression) able to count rows matching `pred` by `col`, or None (see `_usable`)."""
        self._ensure_table()
        table = self.table
        if self.has_agg and col == "c_ward":
            table = self.table + "_w"
            if not sql.has_relation(self.con, table):
                self._from_cube(table, ward=True)
        if self._usable(pred, table):
            return table, ("sum(n)" if self.has_agg else "count(*)")
        if self.has_agg:
            if not sql.has_relation(self.con, self.rtable):
                self._materialise(self.rtable, self._records())
            if self._usable(pred, self.rtable):
                return self.rtable, "count(*)"
        return None

    def prefetch(self, kind: str, themes: list[str], *, col: str = "c_lad") -> None:
        """Count several themes in one pass per table (fills the cache by_lad_month reads)."""
        preds = [(t, self.themes[t].predicate(kind)) for t in themes
                 if t in self.themes and (kind, t, col) not in self.cache]
        preds = [(t, p) for t, p in preds if p is not None]
        if not preds:
            return
        by_table: dict[tuple[str, str], list[tuple[str, str]]] = {}
        first = self._where("true", col)  # the main table; one check for all the predicates when they all run on it
        if preds and first is not None and self._usable(" AND ".join(f"({p})" for _t, p in preds), first[0]):
            by_table[first] = preds
        else:
            for t, p in preds:
                w = self._where(p, col)
                if w is not None:
                    by_table.setdefault(w, []).append((t, p))
        for (table, cnt), group in by_table.items():
            sel = ", ".join(f"coalesce({cnt} FILTER (WHERE {p}), 0)" for _t, p in group)
            res = self.con.execute(f"SELECT {col}, coalesce(force, ''), month, {sel} FROM {table} WHERE source_kind = ? "
                                   f"AND {col} IS NOT NULL GROUP BY 1, 2, 3", [kind]).fetchall()
            for j, (t, _p) in enumerate(group):
                self.cache[(kind, t, col)] = {(r[0], r[1], r[2]): int(r[3 + j]) for r in res if r[3 + j]}

    def _usable(self, pred: str, table: str | None = None) -> bool:
        """Whether a theme's predicate can run on the comparison rows (a zone or hotspot selector needs tables
        that only the area's own assessment prepares: such themes are not compared across areas)."""
        try:
            self.con.execute(f"SELECT count(*) FROM (SELECT * FROM {table or self.table} LIMIT 0) WHERE {pred}").fetchall()
            return True
        except duckdb.Error:
            return False

    def by_lad_month(self, kind: str, theme: str = "total", *, col: str = "c_lad") -> dict[tuple[str, str], int]:
        """(local authority, force, month) -> count of the theme's crimes (col='c_ward': by ward)."""
        key = (kind, theme, col)
        if key not in self.cache:
            pred = self.themes[theme].predicate(kind) if theme in self.themes else None
            w = self._where(pred, col) if pred is not None else None
            if w is None:
                self.cache[key] = {}
            else:
                table, cnt = w
                self.cache[key] = {(lad, f, m): int(n) for lad, f, m, n in self.con.execute(
                    f"SELECT {col}, coalesce(force, ''), month, {cnt} FROM {table} WHERE source_kind = ? "
                    f"AND ({pred}) AND {col} IS NOT NULL GROUP BY 1, 2, 3", [kind]).fetchall()}
        return self.cache[key]

    def held(self, kind: str, forces: list[str]) -> set[str]:
        """Months the store holds for every one of these forces in this source kind."""
        if not forces:
            return set()
        if kind not in self.slices:  # one query per source kind, not one per force
            by_scope: dict[str, set[str]] = {}
            for scope, m in self.con.execute("SELECT DISTINCT scope, month FROM live_slices WHERE source_kind = ?",
                                             [kind]).fetchall():
                by_scope.setdefault(scope, set()).add(m)
            self.slices[kind] = by_scope

        def months(scope: str) -> set[str]:
            return set(self.slices[kind].get(scope, ()))

        # a force with no input of its own: inputs naming no force (an extract ingested without --force) stand in
        sets = [months(f) or months("") for f in forces]
        return set.intersection(*sets)


def _connect(st: Store) -> duckdb.DuckDBPyConnection:
    """A connection with the live aggregates registered (view `agg`) when they can be read."""
    con = st.connect()
    register_live_aggregates(con, st)
    return con


def _quarters(p: Period) -> list[tuple[str, int]] | None:
    """The financial-year quarters making up a period exactly, or None."""
    if p.by_day:
        return None
    months = p.months
    if len(months) % 3:
        return None
    out = []
    for i in range(0, len(months), 3):
        m = months[i]
        y, mm = int(m[:4]), int(m[5:7])
        if (mm - 4) % 3:
            return None
        fy_start = y if mm >= 4 else y - 1
        fy = f"{fy_start}/{(fy_start + 1) % 100:02d}"
        q = (mm - 4) % 12 // 3 + 1
        if quarter_months(fy, q) != months[i:i + 3]:
            return None
        out.append((fy, q))
    return out


def _ho_total(counts, quarters: list[tuple[str, int]] | None, *, force: str | None = None,
              csp_codes: list[str] | None = None, csp_names: list[str] | None = None,
              national: bool | str = False, selected=None) -> int | None:
    """A Home Office total over whole quarters, or None when the tables do not hold them all for the area.
    ``selected`` is the theme's rows of ``counts`` (default: total recorded crime, fraud excluded)."""
    if not quarters or counts is None or counts.empty:
        return None
    f = counts[counts["in_total_recorded_crime"]] if selected is None else selected
    total = 0
    for fy, q in quarters:
        when = (counts["financial_year"] == fy) & (counts["quarter"] == q)
        fwhen = (f["financial_year"] == fy) & (f["quarter"] == q)
        # a force or the nation from the force table, else from the CSP table (its CSPs add up to the forces)
        lvl = "pfa" if (when & (counts["level"] == "pfa")).any() else "csp"
        if national:  # True / 'england-and-wales', 'england' or 'wales'
            if not (when & (counts["level"] == lvl)).any():
                return None
            g = f[fwhen & (f["level"] == lvl)]
            if national in ("england", "wales"):
                welsh = g["force"].isin(WELSH_FORCES)
                g = g[welsh] if national == "wales" else g[~welsh]
            total += int(g["count"].sum())
            continue
        if csp_codes is not None:
            names = [n.lower() for n in csp_names or []]

            def hit(d):  # noqa: ANN001, ANN202
                return d["csp_code"].isin(csp_codes) | d["csp_name"].str.lower().isin(names)

            d = counts[when & (counts["level"] == "csp")]
            if d.empty or not hit(d).any():
                return None
            g = f[fwhen & (f["level"] == "csp")]
            total += int(g[hit(g)]["count"].sum())
            continue
        if not (when & (counts["level"] == lvl) & (counts["force"] == force)).any():
            return None
        total += int(f[fwhen & (f["level"] == lvl) & (f["force"] == force)]["count"].sum())
    return total


def _ho_theme_rows(con: duckdb.DuckDBPyConnection, counts, theme: Any):  # noqa: ANN201
    """The Home Office rows a theme selects, or None when the tables cannot give it (see _ho_theme_rows_many)."""
    return _ho_theme_rows_many(con, counts, [theme])[theme.id]


def _ho_theme_rows_many(con: duckdb.DuckDBPyConnection, counts, themes: list[Any]) -> dict[str, Any]:
    """Theme id -> the Home Office rows it selects (its force-extract definition applied to the offence codes), or
    None when the tables cannot give it (themes needing knife/hate/domestic flags, a place, time, day or hotspot
    selector, anti-social behaviour)."""
    out: dict[str, Any] = {}
    preds: list[tuple[str, str]] = []
    for t in themes:
        if counts is None or counts.empty:
            out[t.id] = None
        elif t.id == "total":
            out[t.id] = counts[counts["in_total_recorded_crime"]]
        elif t.flags or t.record_type != "crime" or t.selectors.any or t.predicate("extract") is None:
            out[t.id] = None  # the tables have offence codes by force and quarter: no flag, place, time or day
        else:
            preds.append((t.id, t.predicate("extract")))
    if not preds:
        return out
    df = counts[["offence_code", "in_total_recorded_crime"]].copy()
    df["_row"] = range(len(df))
    con.register("cmp_ho_df", df)
    try:
        cols = ", ".join(f"coalesce({p}, false)" for _t, p in preds)
        res = con.execute(f"""
            SELECT _row, {cols} FROM (
              SELECT h._row, true AS is_crime, upper(h.offence_code) AS offence_code,
                     coalesce(o1.ho_group, o2.ho_group) AS ho_group,
                     coalesce(o1.ho_subgroup, o2.ho_subgroup) AS ho_subgroup,
                     coalesce(o1.category_id, o2.category_id) AS category_id,
                     h.in_total_recorded_crime AS ho_in_total,
                     CAST(NULL AS BOOLEAN) AS knife_flag, CAST(NULL AS BOOLEAN) AS hate_flag,
                     CAST(NULL AS BOOLEAN) AS domestic_flag
              FROM cmp_ho_df h
              LEFT JOIN cmp_off o1 ON upper(h.offence_code) = o1.code
              LEFT JOIN cmp_off o2 ON upper(split_part(h.offence_code, '/', 1)) = o2.code)
            ORDER BY _row""").fetchall()
    finally:
        con.unregister("cmp_ho_df")
    for j, (tid, _p) in enumerate(preds):
        out[tid] = counts.iloc[[r[0] for r in res if r[1 + j]]]
    return out


_AGG_KEYS = ["level", "force", "csp_code", "csp_name", "financial_year", "quarter"]


def _ho_agg(rows):  # noqa: ANN001, ANN202
    """Counts summed by level, force, CSP and quarter (small: what _ho_total reads)."""
    if rows is None:
        return None
    if rows.empty:
        return rows[_AGG_KEYS + ["count"]].assign(in_total_recorded_crime=True)
    g = rows.fillna({"force": "", "csp_code": "", "csp_name": ""}).groupby(_AGG_KEYS, as_index=False)["count"].sum()
    return g.assign(in_total_recorded_crime=True)


def comparators(
    store: Store | str | Path | None,
    area: str | Area,
    period: str | Period,
    compare: str | Period | None = None,
    *,
    peers: list[str] | None = None,
    exclude: list[str] | None = None,
    peer_file: str | Path | None = None,
    source: str | None = None,
    theme: str = "total",
    con: duckdb.DuckDBPyConnection | None = None,
    alpha: float = stats.ALPHA,
    dispersion: float | None = None,
    national: str = "england-and-wales",
) -> list[Comparator]:
    """The comparison table for an area and period: the area itself, England and Wales, its force area, the force
    area excluding ``exclude`` (when given), and ``peers`` / the area's group in ``peer_file``, ranked by rate.

    Each row comes from live records (the assessment's source kind) when the store holds the row's forces for
    the months compared, else from the Home Office tables; ``source`` names it. ``national``: 'england-and-wales'
    (default), 'england' or 'wales' for the national row. ``dispersion`` (φ of the counts,
    when known) widens the difference test for overdispersion once ``stats.compare`` takes it. Raises
    AreaNotFoundError for a peer or excluded area that matches nothing.
    """
    st = store if isinstance(store, Store) else Store(store)
    cur = period if isinstance(period, Period) else parse_period(period)
    cmp = compare if isinstance(compare, Period) else comparison_for(cur, compare)
    own = con is None
    con = con or _connect(st)
    try:
        out = _comparators(st, con, area, cur, cmp, peers=peers or [], exclude=exclude or [], peer_file=peer_file,
                           source=source, theme=theme, alpha=alpha, dispersion=dispersion, national=national)
        return out.get(theme, [])
    finally:
        if own:
            con.close()


def theme_comparators(
    store: Store | str | Path | None,
    area: str | Area,
    period: str | Period,
    compare: str | Period | None = None,
    *,
    themes: list[str] | None = None,
    peers: list[str] | None = None,
    exclude: list[str] | None = None,
    peer_file: str | Path | None = None,
    source: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    alpha: float = stats.ALPHA,
    dispersion: float | None = None,
    national: str = "england-and-wales",
) -> dict[str, list[Comparator]]:
    """``comparators`` for several themes at once (default: every catalogue theme), theme id -> rows; a theme
    neither the records nor the Home Office tables can give is left out. Rates are per 1,000 residents."""
    st = store if isinstance(store, Store) else Store(store)
    cur = period if isinstance(period, Period) else parse_period(period)
    cmp = compare if isinstance(compare, Period) else comparison_for(cur, compare)
    own = con is None
    con = con or _connect(st)
    try:
        if themes is None:
            from ..classify.themes import load_themes

            themes = [t for t in load_themes() if t != "anti_social_behaviour"]
        return _comparators(st, con, area, cur, cmp, peers=peers or [], exclude=exclude or [], peer_file=peer_file,
                            source=source, theme="total", themes=list(themes), alpha=alpha, dispersion=dispersion,
                            national=national)
    finally:
        if own:
            con.close()


def _comparators(st: Store, con, area, cur: Period, cmp: Period, *, peers, exclude, peer_file, source, theme,
                 alpha, dispersion=None, themes: list[str] | None = None,
                 national: str = "england-and-wales",
                 theme_dispersion: dict[str, float | None] | None = None) -> dict[str, list[Comparator]]:
    """The comparison rows of each theme in ``themes`` (default: ``theme`` alone), theme id -> rows; each theme's
    difference tests take its entry in ``theme_dispersion`` when it has one, else ``dispersion``."""
    if cur.by_day or cmp.by_day:
        return {}
    a = area if isinstance(area, Area) else resolve_area(area, st, con)
    if a.level == "custom":
        return {}
    geo = _Geo(st, con)
    area_lads = geo.lads(a)
    units = [_Unit("area", a.code, a.name, area_lads, [a.code], ward=a.code if a.level == "ward" else None)]
    if national not in NATIONAL:
        raise InputError(f"national comparator must be one of {', '.join(NATIONAL)}, not {national!r}")
    n_code, n_name = NATIONAL[national]
    units.append(_Unit(national, n_code, n_name, [], [n_code],
                       contains_area=True))
    pfa = geo.pfa_of(area_lads)
    if pfa:
        force_lads = sorted({r[0] for r in geo.lad_rows if r[4] == pfa[0]})
        if a.level != "pfa" and set(force_lads) != set(area_lads):  # a force of one area adds nothing
            units.append(_Unit("force", pfa[0], pfa[1], force_lads, [pfa[0]], contains_area=True))
        if exclude:
            ex: list[Area] = [resolve_area(x, st, con) for x in exclude]
            wards = [e.name for e in ex if e.level not in ("lad", "csp", "pfa")]
            if wards:
                raise InputError(f"--exclude takes local authorities or CSPs, not {wards[0]!r}")
            ex_lads = sorted({lad for e in ex for lad in geo.lads(e)})
            rest = [lad for lad in force_lads if lad not in ex_lads]
            names = " and ".join(e.name for e in ex)
            units.append(_Unit("force-excluding", None, f"{pfa[1]} excluding {names}", rest, rest,
                               contains_area=bool(set(area_lads) & set(rest)), exclude_lads=ex_lads))
    peer_names = list(peers)
    if peer_file:
        groups = read_peer_file(peer_file)
        hit = [g for g, members in groups.items() if any(m.lower() in (a.code.lower(), a.name.lower()) for m in members)]
        if len(hit) == 1 or len(groups) == 1:
            peer_names += groups[hit[0] if hit else next(iter(groups))]
        else:
            raise InputError(f"{Path(peer_file).name}: {'several' if hit else 'no'} peer groups hold {a.name} "
                             f"(groups: {', '.join(groups)})")
    seen = {a.code}
    for p in peer_names:
        try:
            pa_ = resolve_area(p, st, con)
        except AreaNotFoundError as exc:
            raise AreaNotFoundError(f"peer {exc}") from None  # suggestions would replace the area in links
        if pa_.code in seen:
            continue
        seen.add(pa_.code)
        units.append(_Unit("peer", pa_.code, pa_.name, geo.lads(pa_), [pa_.code],
                           ward=pa_.code if pa_.level == "ward" else None))

    pops = population_index(st)
    year_cur = estimate_year_for(cur.start, cur.end)
    year_prev = estimate_year_for(cmp.start, cmp.end)
    counter = _Counter(st, con, sorted(set(cur.months) | set(cmp.months)))
    kind = source or _area_kind(con, counter, area_lads, cur.months + cmp.months)
    # no Home Office table loaded: None (load_counts would build an empty DataFrame, importing pandas for it)
    ho = load_counts(st) if st.geography_entries("homeoffice") else None
    q_cur, q_prev = _quarters(cur), _quarters(cmp)
    pairs = list(zip(cur.months, cmp.months))
    area_held = counter.held(kind, _forces(geo, counter, kind, area_lads)) if kind and kind != "police-uk-api" else (
        {r[0] for r in con.execute("SELECT DISTINCT month FROM live_slices WHERE source_kind = ?", [kind]).fetchall()}
        if kind else set())

    theme_ids = themes or [theme]
    out: dict[str, list[Comparator]] = {}
    ho_all = _ho_agg(ho) if ho is not None and not ho.empty else ho
    if kind:
        counter.prefetch(kind, theme_ids, col="c_lad")
        if any(u.ward for u in units):
            counter.prefetch(kind, theme_ids, col="c_ward")
    unknown = [tid for tid in theme_ids if tid not in counter.themes]
    if unknown:
        raise InputError(f"unknown theme {unknown[0]!r}")
    ho_rows = _ho_theme_rows_many(con, ho, [counter.themes[tid] for tid in theme_ids])
    for tid in theme_ids:
        t = counter.themes[tid]
        ho_sel = _ho_agg(ho_rows[tid])
        if (not kind or t.predicate(kind) is None) and ho_sel is None:
            continue  # neither source gives the theme
        out[tid] = _theme_rows(
            t, units, cur=cur, cmp=cmp, kind=kind, counter=counter, geo=geo, pfa=pfa, ho=ho_all, ho_sel=ho_sel,
            q_cur=q_cur,
            q_prev=q_prev, pairs=pairs, area_held=area_held, pops=pops, year_cur=year_cur, year_prev=year_prev,
            alpha=alpha, dispersion=(theme_dispersion or {}).get(tid, dispersion), con=con)
    return out


def _theme_rows(t: Any, units: list[_Unit], *, cur: Period, cmp: Period, kind: str | None, counter: _Counter,
                geo: _Geo, pfa, ho, ho_sel, q_cur, q_prev, pairs, area_held: set[str], pops: PopulationIndex,
                year_cur: int, year_prev: int, alpha: float, dispersion: float | None, con) -> list[Comparator]:
    """The comparison rows for one theme (``ho``: every Home Office count, aggregated; ``ho_sel``: the theme's)."""
    theme = t.id
    rec_ok = bool(kind) and t.predicate(kind) is not None
    rows: list[Comparator] = []
    area_counts: dict[str, int] = {}
    for u in units:
        rec = None
        if rec_ok and u.lads and (u.kind == "area" or kind != "police-uk-api"):
            forces = _forces(geo, counter, kind, u.lads)
            held = area_held if u.kind == "area" else counter.held(kind, forces) & area_held
            cm = [c for c in cur.months if c in held]
            pm = [p for p in cmp.months if p in held]
            both = [(c, p) for c, p in pairs if c in held and p in held]
            if cm:
                by = counter.by_lad_month(kind, theme, col="c_ward" if u.ward else "c_lad")
                lads = {u.ward} if u.ward else set(u.lads)
                # crimes recorded by the area's own forces (another force's strays over the border are left out,
                # so that the months held are those of the forces counted); the API has no force
                own = set(forces) | {""} if kind != "police-uk-api" else None  # no force named: not another's

                # this unit's counts by month, once (the cache holds every area's)
                mine: dict[str, int] = {}
                for (lad, f, m), v in by.items():
                    if lad in lads and (own is None or f in own):
                        mine[m] = mine.get(m, 0) + v

                def n(months: list[str], mine: dict[str, int] = mine) -> int:
                    return sum(mine.get(m, 0) for m in set(months))

                matched = (n([c for c, _ in both]), n([p for _, p in both]), len(both)) if both else None
                rec = (n(cm), n(pm) if pm else None, cm, pm, matched, [c for c, _ in both])
                if u.kind == "area":
                    area_counts = {m: n([m]) for m in cur.months + cmp.months}
        if rec is not None:
            cur_n, prev_n, mc, mp, matched, mm = rec
            src, skind = RECORD_LABELS.get(kind, kind), kind
            notes = []
            if len(mc) < len(cur.months):
                notes.append(f"{len(mc)} of {len(cur.months)} months held")
            if matched and matched[2] < max(len(mc), len(mp)):
                notes.append(f"{CHANGE_NOTE} {matched[2]} month{'s' if matched[2] > 1 else ''} held in both periods")
            note = "; ".join(notes) or None
        else:
            mc, mp, note, matched, mm = [], [], None, None, []
            ho_args: dict[str, Any] = {}
            if u.kind in NATIONAL:
                ho_args = {"national": u.kind}
            elif u.kind == "force":
                ho_args = {"force": force_slug_of(u.name)}
            elif u.kind in ("peer", "area") and not u.ward:  # the tables have no wards
                csps = geo.csps_of(u.lads)
                if csps:
                    ho_args = {"csp_codes": [c for c, _ in csps], "csp_names": [n for _, n in csps]}
            elif u.kind == "force-excluding" and pfa:
                ho_args = {"exclude": geo.csps_of(u.exclude_lads)}
            if ho_sel is None:
                ho_args = {}
            else:
                ho_args = {**ho_args, "selected": ho_sel} if ho_args and "exclude" not in ho_args else ho_args
            if "exclude" in ho_args:
                ex = ho_args["exclude"]
                f_c = _ho_total(ho, q_cur, force=force_slug_of(pfa[1]), selected=ho_sel)
                f_p = _ho_total(ho, q_prev, force=force_slug_of(pfa[1]), selected=ho_sel)
                ex_args = {"csp_codes": [c for c, _ in ex], "csp_names": [n for _, n in ex]} if ex else None
                e_c = _ho_total(ho, q_cur, selected=ho_sel, **ex_args) if ex_args else None
                e_p = _ho_total(ho, q_prev, selected=ho_sel, **ex_args) if ex_args else None
                cur_n = f_c - e_c if f_c is not None and e_c is not None else None
                prev_n = f_p - e_p if f_p is not None and e_p is not None else None
            elif ho_args:
                cur_n, prev_n = _ho_total(ho, q_cur, **ho_args), _ho_total(ho, q_prev, **ho_args)
            else:
                cur_n = prev_n = None
            if cur_n is not None:
                mc = cur.months
                mp = cmp.months if prev_n is not None else []
                if prev_n is not None and len(mc) == len(mp):
                    matched, mm = (cur_n, prev_n, len(mc)), list(mc)
                src, skind = HO_LABEL, "home-office-table"
            else:
                prev_n = None
                src, skind = None, None
                if ho_sel is None and ho is not None and not ho.empty:
                    note = "no records of its forces for these months; the Home Office tables cannot give this theme"
                elif ho is None or ho.empty:
                    note = "no records of its forces for these months and no Home Office table loaded"
                elif not q_cur:
                    note = (f"no records of its forces for these months; the Home Office tables count whole "
                            f"financial quarters and {cur.label} is not")
                else:
                    note = "no records of its forces for these months and no Home Office figure for these quarters"
        pop_c = pops.figure(u.pop_codes, year_cur) if u.pop_codes else None
        pop_p = pops.figure(u.pop_codes, year_prev) if u.pop_codes else None
        rate_c = annual_rate(cur_n, len(mc), pop_c.residents if pop_c else None)
        rate_p = annual_rate(prev_n, len(mp), pop_p.residents if pop_p else None) if prev_n is not None else None
        # like for like: the change compares the months held in both periods, each with its own population
        change = None
        if matched and matched[1] and pop_c and pop_p:
            change = round(100.0 * ((matched[0] / pop_c.residents) / (matched[1] / pop_p.residents) - 1.0), 1)
        like_c = like_p = None
        if matched and matched[1] is not None and matched[2] < max(len(mc), len(mp)):  # some months in one only
            like_c = annual_rate(matched[0], matched[2], pop_c.residents if pop_c else None)
            like_p = annual_rate(matched[1], matched[2], pop_p.residents if pop_p else None)
        if pop_c is None and cur_n is not None:
            note = (note + "; " if note else "") + "no population loaded for this area"
        rows.append(Comparator(
            kind=u.kind, code=u.code, name=u.name, source=src, current=cur_n, previous=prev_n,
            rate_per_1000=rate_c, previous_rate_per_1000=rate_p, rate_change_pct=change,
            matched_rate_per_1000=like_c, matched_previous_rate_per_1000=like_p, source_kind=skind,
            months=list(mc), previous_months=list(mp), matched_months=list(mm),
            population=pop_c.residents if pop_c else None, population_year=pop_c.year if pop_c else None,
            previous_population=pop_p.residents if pop_p else None,
            population_source=pop_c.label() if pop_c else None, note=note))

    rows = _test_against_area(rows, units, area_counts, alpha, dispersion)
    return _rank(rows)


def _forces(geo: _Geo, counter: _Counter, kind: str, lads: list[str]) -> list[str]:
    """The forces whose records count for these local authorities: their police force area's (from the LAD→PFA
    lookup), else, without that lookup, the forces the records there name ('' for records naming none)."""
    return geo.forces_of(lads) or sorted({f for (lad, f, _m) in counter.by_lad_month(kind) if lad in set(lads)})


def _area_kind(con, counter: _Counter, lads: list[str], months: list[str]) -> str | None:
    """The record source for the area, in the assessment's priority order (extract > street > API)."""
    for k in RECORD_SOURCES:
        if any(lad in lads for (lad, _f, m) in counter.by_lad_month(k) if m in months):
            return k
    return None


def _test_against_area(rows: list[Comparator], units: list[_Unit], area_counts: dict[str, int],
                       alpha: float, dispersion: float | None = None) -> list[Comparator]:
    """p-value of the area's rate against each disjoint comparator over the comparator's months."""
    area = rows[0]
    out = [area]
    for r, u in zip(rows[1:], units[1:]):
        if u.contains_area or r.current is None or not r.population or not area.population or not r.months:
            out.append(r)
            continue
        if r.source_kind == area.source_kind and area_counts:
            a_n = sum(area_counts.get(m, 0) for m in r.months)
        elif r.months == area.months and area.current is not None:
            a_n = area.current
        else:
            out.append(r)
            continue
        ratio = area.population / r.population  # same months on both sides
        comp = _difference(a_n, max(r.current, 0), ratio, dispersion)
        out.append(replace(r, p_value=comp.p_value, significant=bool(comp.significant(alpha))))
    return out


def _difference(area_n: int, other_n: int, exposure_ratio: float, dispersion: float | None) -> stats.Comparison:
    """The area's count against another area's with the population ratio as exposure, through ``stats.compare``:
    the quasi-Poisson test with the area's ``dispersion`` (the exact Poisson test when it is None)."""
    return stats.compare(area_n, other_n, exposure_ratio=exposure_ratio, dispersion=dispersion)


def _rank(rows: list[Comparator]) -> list[Comparator]:
    """Rank the area among its peers by current rate (1 = highest); rows without a rate are not ranked."""
    idx = [i for i, r in enumerate(rows) if r.kind in ("area", "peer") and r.rate_per_1000 is not None]
    if not any(rows[i].kind == "peer" for i in idx):
        return rows
    order = sorted(idx, key=lambda i: -rows[i].rate_per_1000)
    out = list(rows)
    for rank, i in enumerate(order, 1):
        out[i] = replace(rows[i], rank=rank, of=len(order))
    return out


#: How a comparator's note begins its part on the change (``comparator_sentence`` leaves that part out).
CHANGE_NOTE = "change over the"


def comparator_sentence(rows: list[dict[str, Any]] | list[Comparator]) -> str | None:
    """'Southampton: 125.2 crimes per 1,000 residents a year, above the England and Wales rate of 82.4 and below
    Portsmouth's 130.9.' Comparisons in the same direction are grouped; several peers are summarised by rank; the
    area's coverage note and significant differences are added in brackets. None when the area has no rate."""
    rs = [r.to_dict() if isinstance(r, Comparator) else r for r in rows]
    if not rs or rs[0].get("kind") != "area" or rs[0].get("rate_per_1000") is None:
        return None
    a = rs[0]
    ar = a["rate_per_1000"]

    def rel(r: dict[str, Any]) -> str:
        return "above" if ar > r["rate_per_1000"] else "below" if ar < r["rate_per_1000"] else "the same as"

    groups: dict[str, list[str]] = {}
    for r in rs[1:]:
        if r.get("rate_per_1000") is None or r["kind"] == "peer":
            continue
        label = f"the {r['name']} force area rate" if r["kind"] == "force" else f"the {r['name']} rate"
        groups.setdefault(rel(r), []).append(f"{label} of {r['rate_per_1000']:.1f}")
    peers = [r for r in rs[1:] if r["kind"] == "peer" and r.get("rate_per_1000") is not None]
    extra = None
    if len(peers) == 1:
        p = peers[0]
        groups.setdefault(rel(p), []).append(f"{p['name']}'s {p['rate_per_1000']:.1f}")
    elif peers and a.get("rank"):
        top = max(peers, key=lambda r: r["rate_per_1000"])
        if a["rank"] == 1:
            extra = f"the highest of {a['of']} with its peers, ahead of {top['name']}'s {top['rate_per_1000']:.1f}"
        else:
            extra = (f"{_ordinal(a['rank'])} highest of {a['of']} with its peers, after {top['name']}'s "
                     f"{top['rate_per_1000']:.1f}")
    parts = [f"{d} {_and(items)}" for d, items in groups.items()] + ([extra] if extra else [])
    s = f"{a['name']}: {ar:.1f} crimes per 1,000 residents a year"
    if parts:
        # groups of several comparisons are separated by ", and" so each "and" stays within its group
        s += ", " + (_and(parts) if all(len(v) == 1 for v in groups.values()) or len(parts) == 1
                     else ", ".join(parts[:-1]) + ", and " + parts[-1])
    # the area's coverage, said of its rate; its note on the change is for the table (the sentence gives none)
    notes = [f"its rate from the {n}" if n[0].isdigit() else n
             for n in (a.get("note") or "").split("; ") if n and not n.startswith(CHANGE_NOTE)]
    sig = [r["name"] for r in rs[1:] if r.get("significant")]
    if sig:
        notes.append(f"a significant difference from {_and(sig)}")
    if notes:
        s += f" ({'; '.join(notes)})"
    return s + "."


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def constituents(
    store: Store | str | Path | None,
    area: str | Area,
    period: str | Period,
    compare: str | Period | None = None,
    *,
    source: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> list[Comparator]:
    """The local authorities of a force area or CSP (kind 'local-authority'), ranked by rate per 1,000 residents a
    year (1 = highest, ``of`` = how many ranked), each from records or the Home Office tables as in
    ``comparators``; [] for other levels. This is what a large area lists instead of hundreds of wards."""
    st = store if isinstance(store, Store) else Store(store)
    own = con is None
    con = con or _connect(st)
    try:
        a = area if isinstance(area, Area) else resolve_area(area, st, con)
        if a.level not in ("pfa", "csp"):
            return []
        lads = _Geo(st, con).lads(a)
        rows = comparators(st, a, period, compare, peers=lads, source=source, con=con)
    finally:
        if own:
            con.close()
    out = [replace(r, kind="local-authority", p_value=None, significant=None, rank=None, of=None)
           for r in rows if r.kind == "peer"]
    ranked = sorted((r for r in out if r.rate_per_1000 is not None), key=lambda r: -r.rate_per_1000)
    pos = {id(r): i for i, r in enumerate(ranked, 1)}
    out = [replace(r, rank=pos.get(id(r)), of=len(ranked) if id(r) in pos else None) for r in out]
    return sorted(out, key=lambda r: (r.rank is None, r.rank or 0, r.name))


def add_comparisons(data: dict[str, Any], store: Store, area: Area, cur: Period, cmp: Period, *, source: str | None,
                    con: duckdb.DuckDBPyConnection, peers: list[str] | None = None, exclude: list[str] | None = None,
                    peer_file: str | Path | None = None, dispersion: float | None = None,
                    theme_dispersion: float | None = None, own_themes: list[str] | None = None) -> None:
    """Add ``comparators``, ``local_authorities``, ``theme_comparators`` and ``themes_not_compared`` to an
    assessment dict (the engine's one call; ``data['themes']`` names the themes compared). ``own_themes``: ids the assessment defined or redefined
    from a theme file (--themes): not compared, as other areas are counted by the built-in definitions."""
    from ..classify.themes import load_themes

    built_in = load_themes()  # user themes (--themes) are the area's own: not compared across areas
    # a theme file's definition under a built-in id would be compared with other areas counted by the built-in
    # one: the same label, two different counts (the area's own table and its comparison row disagreed)
    own = set(own_themes or [])
    themes = [t["id"] for t in data.get("themes") or []
              if t.get("id") != "total" and t.get("id") in built_in and t.get("id") not in own]
    # the total and the themes in one pass (as `comparators` and `theme_comparators` would give them): the
    # comparison units, populations and every authority's counts are worked out once
    rows = _comparators(store, con, area, cur, cmp, peers=peers or [], exclude=exclude or [], peer_file=peer_file,
                        source=source, theme="total", themes=["total", *themes], alpha=stats.ALPHA,
                        dispersion=theme_dispersion, theme_dispersion={"total": dispersion})
    data["comparators"] = [c.to_dict() for c in rows.pop("total", [])]
    data["local_authorities"] = [c.to_dict() for c in constituents(store, area, cur, cmp, source=source, con=con)]
    data["theme_comparators"] = {t: [c.to_dict() for c in r] for t, r in rows.items()}
    # themes defined (or redefined) by a theme file: named, so every view can say why they are not compared
    data["themes_not_compared"] = [t["id"] for t in data.get("themes") or [] if t.get("id") != "total"
                                   and (t.get("id") not in built_in or t.get("id") in own)]
