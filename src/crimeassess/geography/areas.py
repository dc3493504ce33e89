"""Resolve an area name or GSS code at any level (ward, local authority, CSP, police force area)."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import duckdb
import pyarrow.parquet as pq

from ..errors import AreaNotFoundError, GeographyError
from ..sources.registry import area_code_kinds
from ..store import Store
from .placing import boundary_ward_table

LEVEL_ORDER = {"lad": 0, "csp": 1, "pfa": 2, "ward": 3}
LEVEL_NAMES = {"lad": "local authority", "csp": "community safety partnership", "pfa": "police force area",
               "ward": "ward", "custom": "custom area"}


@dataclass
class Area:
    """A resolved area: its code, name and level, and the local authorities it covers."""

    code: str
    name: str
    level: str  # 'ward' | 'lad' | 'csp' | 'pfa' | 'custom'
    lad_codes: list[str] = field(default_factory=list)
    ward_codes: list[str] = field(default_factory=list)  # only for level 'ward'

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "level": self.level}


def ward_vintages(store: Store) -> list[str]:
    """Loaded LSOA→ward lookup vintages, newest first (e.g. ['WD18', 'WD17'])."""
    names = [e["name"] for e in store.geography_entries("lsoa_ward")]
    return sorted(names, key=lambda v: int(re.sub(r"\D", "", v) or 0), reverse=True)


def boundary_vintages(store: Store) -> dict[str, str]:
    """Ward vintages defined by boundaries alone (no LSOA lookup of that vintage): vintage -> boundary table.

    Such a ward set (e.g. Southampton's 17 wards of May 2023, WD25 boundaries) is usable when every ward's local
    authority is known, from the boundary file itself (LADyyCD) or a loaded ward list.
    """
    lookups = set(ward_vintages(store))
    ward_lad: set[str] = set()
    for e in store.geography_entries("ward_lad"):
        ward_lad |= set(pq.read_table(store.geography_path(e), columns=["ward_code"]).column(0).to_pylist())
    out: dict[str, str] = {}
    for e in store.geography_entries("boundaries"):
        v = e.get("vintage")
        if e.get("level") != "ward" or not v or v in lookups:
            continue
        f = store.geography_path(e)
        cols = pq.read_schema(f).names
        t = pq.read_table(f, columns=[c for c in ("code", "lad_code") if c in cols]).to_pydict()
        lads = t.get("lad_code") or [None] * len(t["code"])
        if all(lad or code in ward_lad for code, lad in zip(t["code"], lads)):
            out[v] = e["name"]
    return out


def area_catalogue(store: Store, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """Every known area as (level, code, name, lad_code) from lookups and from extracts' own codes (read once per
    state of the store in a process: the dashboard and notebooks assess many areas)."""
    return list(store.derived("area_catalogue", lambda: _read_catalogue(store, con)))


def _read_catalogue(store: Store, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    rows: set[tuple[str, str, str, str]] = set()
    for f in store.geography_paths("lsoa_ward"):
        for lad, ladn, wd, wdn in con.execute(
            "SELECT DISTINCT lad_code, lad_name, ward_code, ward_name FROM read_parquet(?)", [str(f)]
        ).fetchall():
            rows.add(("lad", lad, ladn, lad))
            rows.add(("ward", wd, wdn, lad))
    for f in store.geography_paths("lad_csp_pfa"):
        for lad, ladn, csp, cspn, pfa, pfan in con.execute(
            "SELECT DISTINCT lad_code, lad_name, csp_code, csp_name, pfa_code, pfa_name FROM read_parquet(?)", [str(f)]
        ).fetchall():
            rows.add(("lad", lad, ladn, lad))
            rows.add(("csp", csp, cspn, lad))
            rows.add(("pfa", pfa, pfan, lad))
    # Ward sets defined by boundaries alone (see boundary_vintages)
    if store.geography_entries("boundaries"):
        for name in boundary_vintages(store).values():
            for wd, wdn, lad, ladn in boundary_ward_table(store, name).itertuples(index=False):
                rows.add(("ward", wd, wdn, lad))
                rows.add(("lad", lad, ladn or lad, lad))
    # Extracts may carry their own local authority and ward names and codes (read only when the store has some).
    kinds = [k for k in area_code_kinds() if any(i.get("kind") == k for i in store.inputs(live_only=True))]
    for lad, ladn, wd, wdn in [] if not kinds else con.execute(
        "SELECT DISTINCT lad_code, lad_name, ward_code, ward_name FROM records "
        "WHERE list_contains(?, source_kind) AND lad_code IS NOT NULL", [kinds]
    ).fetchall():
        rows.add(("lad", lad, ladn or lad, lad))
        if wd:
            rows.add(("ward", wd, wdn or wd, lad))
    return sorted(rows)


def resolve_area(text: str, store: Store, con: duckdb.DuckDBPyConnection, *, level: str | None = None) -> Area:
    """Find the area a user means. Codes match exactly; names case-insensitively.

    A name shared by several areas of the same level is ambiguous; across levels the broadest sensible level
    wins in the order local authority, CSP, police force area, ward (Southampton the LAD, not the CSP).
    """
    cat = area_catalogue(store, con)
    if not cat:
        raise GeographyError("no geography loaded: run `crimeassess geography load` with an ONS LSOA→ward→LAD lookup")
    q = text.strip()
    ql = q.lower()
    if level:
        cat = [r for r in cat if r[0] == level]
    by_code = [r for r in cat if r[1].lower() == ql]
    matches = by_code or [r for r in cat if (r[2] or "").lower() == ql]
    if not matches:
        names = sorted({r[2] for r in cat if r[2]} | {r[1] for r in cat})
        close = difflib.get_close_matches(q, names, n=5, cutoff=0.6)
        close += [n for n in names if ql and ql in n.lower() and n not in close][: 5 - len(close)]
        hint = f"; did you mean: {', '.join(close)}?" if close else ""
        raise AreaNotFoundError(f"area {q!r} not found{hint}", suggestions=close)
    levels = sorted({r[0] for r in matches}, key=lambda lv: LEVEL_ORDER.get(lv, 9))
    lv = levels[0]
    chosen = [r for r in matches if r[0] == lv]
    codes = sorted({r[1] for r in chosen})
    if len(codes) > 1:
        opts = []
        for c in codes:
            lad = next(r[3] for r in chosen if r[1] == c)
            ladn = next((r[2] for r in cat if r[0] == "lad" and r[1] == lad), lad)
            opts.append(f"{c} ({LEVEL_NAMES[lv]} in {ladn})")
        raise AreaNotFoundError(f"area {q!r} is ambiguous: {'; '.join(opts)}; give a GSS code", suggestions=codes)
    code = codes[0]
    name = next(r[2] for r in chosen if r[1] == code) or code
    lads = sorted({r[3] for r in chosen if r[1] == code})
    return Area(code, name, lv, lad_codes=lads, ward_codes=[code] if lv == "ward" else [])


def _counting(con: duckdb.DuckDBPyConnection, store: Store) -> tuple[str, str]:
    """(relation, count expression) for whole-store counts: the aggregate store when it can be read, else the
    records."""
    from ..aggregate import register_live_aggregates

    return ("agg", "sum(n)") if register_live_aggregates(con, store) else ("records", "count(*)")


def records_per_lad(store: Store) -> dict[str, int]:
    """Live records per local authority code (through the loaded LSOA lookups, or the codes a record carries).

    For ordering pickers by where the data is, never for counting crime (assessments come from ``assess``).
    """
    if not store.exists() or not store.inputs(live_only=True):
        return {}
    files = [str(f) for f in store.geography_paths("lsoa_ward")]
    con = store.connect()
    try:
        rel, cnt = _counting(con, store)
        counts = dict(con.execute(
            f"SELECT lad_code, {cnt} FROM {rel} WHERE lad_code IS NOT NULL AND category_id IS NOT NULL GROUP BY 1").fetchall())
        if files:
            for lad, n in con.execute(
                f"SELECT lk.lad_code, sum(r.n) FROM (SELECT lsoa_code, {cnt} AS n FROM {rel} "
                "WHERE lad_code IS NULL AND category_id IS NOT NULL GROUP BY 1) r JOIN (SELECT DISTINCT lsoa_code, lad_code FROM "
                "read_parquet(?)) lk ON lk.lsoa_code = r.lsoa_code GROUP BY 1", [files]).fetchall():
                counts[lad] = counts.get(lad, 0) + int(n)
        return counts
    finally:
        con.close()


def months_per_lad(store: Store, min_share: float = 0.2) -> dict[str, list[str]]:
    """The months each local authority has data for: months whose record count is at least ``min_share`` of
    its median month (so a neighbouring force's few stray records never make a month "held"). For choosing
    a sensible default period per area; never for counting crime."""
    if not store.exists() or not store.inputs(live_only=True):
        return {}
    files = [str(f) for f in store.geography_paths("lsoa_ward")]
    con = store.connect()
    try:
        rel, cnt = _counting(con, store)
        rows = con.execute(f"SELECT lad_code, month, {cnt} FROM {rel} WHERE lad_code IS NOT NULL "
                           "AND category_id IS NOT NULL GROUP BY 1, 2"
                           ).fetchall()
        if files:
            rows += con.execute(
                f"SELECT lk.lad_code, r.month, sum(r.n) FROM (SELECT lsoa_code, month, {cnt} AS n FROM {rel} "
                "WHERE lad_code IS NULL AND category_id IS NOT NULL GROUP BY 1, 2) r JOIN (SELECT DISTINCT lsoa_code, lad_code FROM "
                "read_parquet(?)) lk ON lk.lsoa_code = r.lsoa_code GROUP BY 1, 2", [files]).fetchall()
    finally:
        con.close()
    by_lad: dict[str, dict[str, int]] = {}
    for lad, month, n in rows:
        by_lad.setdefault(lad, {})
        by_lad[lad][month] = by_lad[lad].get(month, 0) + int(n)
    out = {}
    for lad, months in by_lad.items():
        counts = sorted(months.values())
        median = counts[len(counts) // 2]
        out[lad] = sorted(m for m, n in months.items() if n >= min_share * median)
    return out
