"""Data quality for an assessment: months present per source and force, inputs and revisions, blank LSOAs,
quarantine, and months whose counts are anomalous against their neighbours."""
from __future__ import annotations

import math
import statistics
from typing import Any

import duckdb

from ..schema import CRIME_TYPES
from .. import sql
from ..sources.registry import get_kind
from ..store import Store
from .periods import Period, month_from_index, month_index

#: A month is anomalous when its count is below LOW or above HIGH times the median of its neighbours and the
#: Poisson deviance (Wheeler's Z against the neighbours' median) exceeds Z_MIN. Neighbours: up to
#: NEIGHBOURS present months on each side. Categories with a neighbour median below MIN_EXPECTED are skipped.
LOW, HIGH, Z_MIN, NEIGHBOURS, MIN_EXPECTED = 0.6, 1.6, 4.0, 3, 30
FORCE_SHARE_TEXT = "2%"


def plural_records(n: int) -> str:
    return f"{n:,} record" + ("" if n == 1 else "s")


_q = sql.literal


def _short(path: str) -> str:
    """A file's name (with its zip, if any) rather than the whole path: tables stay readable."""
    from pathlib import PurePath

    outer, _, member = path.partition("!")
    return PurePath(outer).name + (f"!{PurePath(member).name}" if member else "")


def anomalies(counts: dict[str, dict[str, int]], months: list[str]) -> list[dict[str, Any]]:
    """Months whose count of a category is far from the median of neighbouring months.

    counts: category -> month -> count (months with data only). months: the months present, in order.
    """
    out = []
    for cat, by_month in counts.items():
        for i, m in enumerate(months):
            neigh = months[max(0, i - NEIGHBOURS):i] + months[i + 1:i + 1 + NEIGHBOURS]
            vals = [by_month.get(n, 0) for n in neigh]
            if len(vals) < 2:
                continue
            expected = statistics.median(vals)
            if expected < MIN_EXPECTED:
                continue
            c = by_month.get(m, 0)
            z = 2 * (math.sqrt(c) - math.sqrt(expected))
            ratio = c / expected
            if (ratio < LOW or ratio > HIGH) and abs(z) >= Z_MIN:
                out.append({"month": m, "category": CRIME_TYPES.get(cat, cat), "count": int(c), "expected": round(expected),
                            "note": (f"{'far fewer' if ratio < 1 else 'far more'} than neighbouring months "
                                     f"({ratio:.0%} of their median)")})
    return sorted(out, key=lambda a: (a["month"], a["category"]))


def _months_rows(con: duckdb.DuckDBPyConnection, kind: str, forces: list[str], span: list[str]) -> list[dict[str, Any]]:
    """Months present and missing in the span, per source kind and force feeding the area."""
    by_src: dict[tuple[str, str], set[str]] = {}
    for k, scope, m in con.execute("SELECT source_kind, scope, month FROM live_slices").fetchall():
        if (k == kind and get_kind(k).scope == "file") or scope in forces:
            by_src.setdefault((k, scope), set()).add(m)
    return [{"source": k, "force": scope or None, "months_present": sorted(m for m in ms if m in set(span)),
             "months_missing": [m for m in span if m not in ms]} for (k, scope), ms in sorted(by_src.items())]


def _inputs(store: Store, kind: str, forces: list[str]) -> list[dict[str, Any]]:
    """The inputs of the chosen source that feed the area's forces, with what superseded them."""
    by_id = {i["input_id"]: i for i in store.inputs()}
    out = []
    for i in by_id.values():
        if i["kind"] != kind:
            continue
        if get_kind(kind).scope != "file" and not (set((i.get("force") or "").split(",")) & set(forces)):
            continue
        sup = [_short(by_id[s["input_id"]]["path"]) for s in i.get("superseded_by", []) if s["input_id"] in by_id]
        out.append({"path": _short(i["path"]), "kind": i["kind"], "force": i.get("force"), "months": i["months"],
                    "rows": i["rows_loaded"], "quarantined": i["rows_quarantined"], "live": i.get("live", False),
                    "sha256": i["sha256"][:12], "superseded_by": ", ".join(sup) or None})
    return out


def _missing_months(cur: Period, cmp: Period, coverage: dict[str, Any] | None,
                    asb: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Months missing, by series (crime; anti-social behaviour, which may have its own source) and period."""
    cov = coverage or {}
    out = [{"series": "crime", "period": cur.label, "months": cov.get("missing_current", [])},
           {"series": "crime", "period": cmp.label, "months": cov.get("missing_previous", [])}]
    if asb and asb.get("available"):
        am = asb.get("missing_months", [])
        out += [{"series": "anti-social behaviour", "period": p.label, "months": [m for m in am if m in p.months]}
                for p in (cur, cmp)]
    return [m for m in out if m["months"]]


def _notes(kind: str, stray: list[dict[str, Any]]) -> list[str]:
    notes = []
    if kind.startswith("police-uk"):
        notes.append("police.uk locations are anonymised map points; crimes are placed in wards by their LSOA "
                     "(ONS best fit) where given.")
    if stray:
        names = ", ".join(f"{plural_records(s['records'])} from {s['force'] or 'no force'}" for s in stray)
        notes.append(f"Records of other forces in this area ({names}) are counted, but those forces' months do not "
                     f"decide which months are held (each holds under {FORCE_SHARE_TEXT} of the area's records).")
    return notes


def data_quality(con: duckdb.DuckDBPyConnection, store: Store, *, kind: str | None, forces: list[str],
                 periods: list[Period], cur: Period, cmp: Period, geography: dict[str, Any],
                 stray: list[dict[str, Any]] | None = None, level_shifts: list[dict[str, Any]] | None = None,
                 coverage: dict[str, Any] | None = None, asb: dict[str, Any] | None = None,
                 cube: str | None = None) -> dict[str, Any]:
    """The assessment's `data_quality` block (see docs/report.md). `cube`: a geography cube view (aggregate.py)
    on `con`, which counts every row of the store once whatever its placement: the force-wide monthly counts are
    then read from it (a tenth of the aggregate's rows)."""
    if not kind:
        return {"notes": ["No data for this area in the store."]}
    span = [month_from_index(i) for i in range(min(month_index(p.start) for p in [*periods, cmp]),
                                               month_index(cur.end) + 1)]
    inputs = _inputs(store, kind, forces)
    named = [f for f in forces if f]  # a plain IN lets DuckDB skip row groups of other forces
    force_cond = ("true" if get_kind(kind).scope == "file" else
                  f"(force IN {sql.in_list(named)}{' OR force IS NULL' if '' in forces else ''})" if named else
                  "force IS NULL")
    # force-wide counts: from the aggregate store when the connection has it (same rows, counted), else records
    rel, cnt = ("agg", "sum(n)") if sql.has_relation(con, "agg") else ("records", "count(*)")
    # One pass: counts by category and month over the span (it ends with the current period), and the current
    # period's crimes without an LSOA (the cube's `no_lsoa`).
    counts: dict[str, dict[str, int]] = {}
    n = blank = 0
    cur_months = set(cur.months)
    if cube:
        rel, cnt, no_lsoa = cube, "sum(n)", "coalesce(sum(n) FILTER (WHERE no_lsoa), 0)"
    else:
        no_lsoa = f"coalesce({cnt} FILTER (WHERE lsoa_code IS NULL), 0)"
    for cat, m, is_crime, c, b in con.execute(
            f"SELECT category_id, month, is_crime, {cnt}, {no_lsoa} FROM {rel} "
            f"WHERE source_kind = ? AND {force_cond} AND month IN {sql.in_list(span)} GROUP BY 1, 2, 3",
            [kind]).fetchall():
        by_month = counts.setdefault(cat, {})
        by_month[m] = by_month.get(m, 0) + int(c)
        if is_crime and m in cur_months:
            n, blank = n + int(c), blank + int(b)
    geo_inputs = [{"kind": e["kind"], "name": e["name"], "file": _short(e.get("path", "")), "rows": e.get("rows"),
                   "loaded_at": e.get("loaded_at")} for e in store.geography_entries()]
    return {
        "months": _months_rows(con, kind, forces, span),
        "inputs": inputs,
        "geography_inputs": geo_inputs,
        "unplaced": geography.get("unplaced"),
        "blank_lsoa_rate": round(blank / n, 4) if n else None,
        "quarantined_rows": sum(i["quarantined"] for i in inputs),
        "placement": {"method": geography.get("placement"), **(geography.get("placed_by") or {}),
                      "agreement_share": (geography.get("agreement") or {}).get("share"),
                      "ward_vintage": geography.get("ward_vintage")},
        "anomalies": anomalies(counts, sorted({m for ms in counts.values() for m in ms})),
        "stray_forces": stray or [],
        "missing_months": _missing_months(cur, cmp, coverage, asb),
        "level_shifts": level_shifts or [],
        "notes": _notes(kind, stray or []),
    }
