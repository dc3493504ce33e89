"""The priorities section: for each built-in priority theme its level, like-for-like change and significance
(from the assessment's ``themes``), where (location types, police.uk places, repeat locations) and when (hour
× day of week, calendar months) it happens, how its crimes ended (``outcomes``), one plain-English paragraph,
and, when an input is missing, one line saying which input would enable it.

Also the selector tables the theme predicates use (:func:`prepare_selector_tables`: user zones and hotspot
LSOAs), built once per assessment before anything is counted.

police.uk map points are snapped to anonymised points shared by nearby addresses: a "repeat location" from
police.uk is a map point and its label ("On or near Nightclub"), never an address; the section says so
wherever they are used. Extract points are exact, so repeat locations from an extract are given by LSOA.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import duckdb

from .. import sql
from ..classify.selectors import HOUR_SQL, PLACE_TEXT_SQL, WEEKDAYS, Selectors, hotspot_table, night_day_sql
from ..sources.registry import get_kind
from . import present
from .periods import Period

SNAPPED_NOTE = ("police.uk map points are snapped to anonymised points shared by nearby addresses: a location "
                "here is a map point and its label, not an address.")
#: police.uk labels of points of interest (the rest of "On or near …" are street names).
POLICEUK_PLACES = (
    "Supermarket", "Parking Area", "Shopping Area", "Sports/Recreation Area", "Petrol Station", "Nightclub",
    "Park/Open Space", "Further/Higher Educational Building", "Bus/Coach Station", "Police Station",
    "Theatre/Concert Hall", "Hospital", "Prison", "Motorway Service Area", "Ferry Terminal",
    "Conference/Exhibition Centre", "Pedestrian Subway", "Airport/Airfield", "Theme/Adventure Park",
)
TOP = 10
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Priority:
    """A built-in priority: its theme, whether Friday–Sunday nights are shown apart, and the input that
    enables it when the data cannot support it."""

    theme: str
    enable: str
    weekend: bool = False


PRIORITIES: tuple[Priority, ...] = (
    Priority("drug_related_violence", "A force extract with Home Office offence codes and LSOA codes would enable "
             "this priority (police.uk cannot separate violence from sexual offences)."),
    Priority("sexual_offences_night_time_economy", "A force extract with offence codes, location types and times "
             "of day would enable this priority.", weekend=True),
    Priority("sexual_offences_parks", "A force extract with offence codes and location types (or a parks zone "
             "file added to the theme) would enable this priority."),
    Priority("domestic_abuse", "A force extract with a domestic abuse flag would enable this priority."),
    Priority("hate_crime", "A force extract with a hate crime flag would enable this priority."),
)


# ------------------------------------------------------------------------------------------------ selectors
def prepare_selector_tables(con: duckdb.DuckDBPyConnection, themes: list[Any], kind: str,
                            preds: dict[str, str | None]) -> dict[str, str | None]:
    """Build the zone and hotspot tables the themes' predicates use (over ``area_rows`` and ``pc``) and return
    the predicates, with themes whose hotspot theme this source cannot support made unavailable (None)."""
    out = dict(preds)
    done: set[str] = set()
    con.execute("CREATE OR REPLACE TEMP TABLE zone_names(path VARCHAR, name VARCHAR)")
    for t in themes:
        s: Selectors = t.selectors
        if out.get(t.id) is None:
            continue
        for z in s.zones:
            if z not in done:
                from ..geography.zones import register_zone  # geopandas: only for themes with zones

                _n, name = register_zone(con, z, Selectors.zone_table(z))
                con.execute("INSERT INTO zone_names VALUES (?, ?)", [z, name])
                done.add(z)
        if s.hotspots_of:
            base = out.get(s.hotspots_of)
            if base is None:
                out[t.id] = None
                continue
            _hotspots(con, s.hotspots_of, base, s.hotspot_share)
    return out


def _hotspots(con: duckdb.DuckDBPyConnection, theme_id: str, pred: str, share: float) -> None:
    """Table of the LSOAs making up the top ``share`` of the area's LSOAs by ``pred`` over the compared months
    (all months of both periods when none is held in both)."""
    n_lsoa = con.execute("SELECT count(DISTINCT lsoa_code) FROM area_rows WHERE lsoa_code IS NOT NULL").fetchall()[0][0]
    k = max(1, math.ceil(share * n_lsoa)) if n_lsoa else 0
    matched = con.execute("SELECT count(*) FROM pc WHERE matched").fetchall()[0][0]
    cond = "matched" if matched else "true"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {hotspot_table(theme_id)} AS
        SELECT lsoa_code, n FROM (SELECT lsoa_code, count(*) AS n FROM pc WHERE {cond} AND lsoa_code IS NOT NULL
        AND ({pred}) GROUP BY 1) ORDER BY n DESC, lsoa_code LIMIT {k}""")


# ------------------------------------------------------------------------------------------------ where
_COUNTS = ("count(*) FILTER (WHERE which = 'cur') AS c, count(*) FILTER (WHERE which = 'prev') AS p, "
           "count(*) FILTER (WHERE which = 'cur' AND matched) AS mc, count(*) FILTER (WHERE which = 'prev' AND matched) AS mp")


def _compare_rows(rows: list[tuple[Any, int, int, int, int]], comparable: bool, has_previous: bool = True
                  ) -> list[dict[str, Any]]:
    """Rows of (name, current, previous, matched current, matched previous): the counts held in each period,
    and the change like for like (the months held in both), null when no month is held in both."""
    out = []
    for key, c, p, mc, mp in rows:
        out.append({"name": key, "current": int(c), "previous": int(p) if has_previous else None,
                    "matched_current": int(mc) if comparable else None,
                    "matched_previous": int(mp) if comparable else None,
                    "change": int(mc) - int(mp) if comparable else None,
                    "pct_change": round(100.0 * (mc - mp) / mp, 1) if comparable and mp else None})
    return out


def location_table(con, kind: str, pred: str, comparable: bool, has_previous: bool = True) -> dict[str, Any] | None:
    """Counts by location type (extracts) or police.uk place label (points of interest; named streets together),
    held in the current and comparison periods, with the change like for like (matched months)."""
    k = get_kind(kind)
    if k.place_type:  # spellings that differ only in case are one place, named by its commonest spelling
        raw = "coalesce(nullif(trim(location_type), ''), 'Not recorded')"
        key = f"lower({raw})"
        basis, col = "location_type", "location_type"
    elif k.location_text:
        labels = " ".join(f"WHEN {present_sql(p.lower())} THEN {present_sql(p)}" for p in POLICEUK_PLACES)
        key = (f"CASE WHEN location IS NULL OR lower(trim(location)) IN ('no location', '') THEN 'No location' "
               f"ELSE coalesce(CASE {PLACE_TEXT_SQL} {labels} END, 'Street or road (named)') END")
        raw = key
        basis, col = "policeuk_location_text", "location"
    else:
        return None
    # the place key (text matching) is worked out once per distinct place, not once per crime
    rows = con.execute(
        f"WITH sel AS (SELECT * FROM pc WHERE ({pred})), "
        f"names AS (SELECT {col} AS {col}, {key} AS k_, {raw} AS raw_name FROM (SELECT DISTINCT {col} FROM sel)), "
        f"sub AS (SELECT sel.*, names.k_, names.raw_name FROM sel JOIN names ON sel.{col} IS NOT DISTINCT FROM "
        f"names.{col}), "
        "spelt AS (SELECT k_, raw_name, count(*) AS n FROM sub GROUP BY 1, 2), "
        "best AS (SELECT k_, first(raw_name ORDER BY n DESC, raw_name) AS best_name FROM spelt GROUP BY 1) "
        f"SELECT any_value(best.best_name), {_COUNTS} FROM sub JOIN best USING (k_) GROUP BY k_ "
        "ORDER BY c DESC, mc DESC, 1").fetchall()
    return {"basis": basis, "rows": _compare_rows(rows, comparable, has_previous),
            "note": SNAPPED_NOTE if basis == "policeuk_location_text" else None}


def present_sql(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def repeat_locations(con, kind: str, pred: str, comparable: bool, has_previous: bool = True, top: int = TOP
                     ) -> dict[str, Any]:
    """The top locations by current count with their change: police.uk map points (label and point) or, for
    extracts (exact addresses), LSOAs."""
    k = get_kind(kind)
    if k.location_text:
        rows = con.execute(
            # the smallest LSOA code (and its name) when one map point carries several: any_value's pick
            # depends on row order and threads, so the same assessment could name a different LSOA each run
            f"SELECT location, round(latitude, 6), round(longitude, 6), min(lsoa_code), arg_min(lsoa_name, lsoa_code), "
            f"{_COUNTS} FROM pc "
            f"WHERE ({pred}) AND latitude IS NOT NULL GROUP BY 1, 2, 3 ORDER BY c DESC, mc DESC, 1, 2, 3 "
            f"LIMIT {int(top)}").fetchall()
        out = []
        for r in rows:
            o = _compare_rows([(r[0], *r[5:])], comparable, has_previous)[0]
            o.pop("name")
            out.append({"location": r[0], "latitude": r[1], "longitude": r[2], "lsoa_code": r[3], "lsoa_name": r[4],
                        **o})
        return {"basis": "policeuk_map_point", "rows": out, "note": SNAPPED_NOTE}
    # An LSOA code alone means nothing to a reader: its name when the source gives one, and the ward it lies in
    # (the source's own ward name, else the lookup's for the ward the row was placed in).
    tables = {t for t in ("lk", "lsoa_names") if sql.has_relation(con, t)}
    lk_join = ("LEFT JOIN (SELECT ward_code AS lk_wc, min(ward_name) AS lk_wn FROM lk GROUP BY 1) w "
               "ON w.lk_wc = pc.p_ward_code " if "lk" in tables else "")
    lk_join += ("LEFT JOIN (SELECT code AS ln_code, name AS ln_name FROM lsoa_names) n ON n.ln_code = pc.lsoa_code"
                if "lsoa_names" in tables else "")  # the LSOA boundaries' names (engine._lsoa_names)
    ward = "coalesce(pc.ward_name, w.lk_wn)" if "lk" in tables else "pc.ward_name"
    name = "coalesce(pc.lsoa_name, n.ln_name)" if "lsoa_names" in tables else "pc.lsoa_name"
    rows = con.execute(
        f"SELECT lsoa_code, min({name}), min({ward}), {_COUNTS} FROM pc {lk_join} WHERE ({pred}) "
        f"AND lsoa_code IS NOT NULL GROUP BY 1 ORDER BY c DESC, mc DESC, 1 LIMIT {int(top)}").fetchall()
    out = []
    for r in rows:
        o = _compare_rows([(r[0], *r[3:])], comparable, has_previous)[0]
        o.pop("name")
        out.append({"location": r[0], "lsoa_code": r[0], "lsoa_name": r[1], "ward_name": r[2], **o})
    return {"basis": "lsoa", "rows": out,
            "note": "Extract locations are exact addresses: repeat locations are shown by LSOA (neighbourhood)."}


# ------------------------------------------------------------------------------------------------ when
def heatmap(con, kind: str, pred: str) -> dict[str, Any] | None:
    """Current-period counts by day of week (recorded date) × hour of day (occurred time); extracts only."""
    k = get_kind(kind)
    if not (k.occurred_times and k.recorded_dates):
        return None
    rows = con.execute(f"SELECT isodow(recorded_date), {HOUR_SQL} AS h, count(*) FROM pc WHERE which = 'cur' "
                       f"AND ({pred}) GROUP BY 1, 2").fetchall()
    grid = [[0] * 24 for _ in range(7)]
    unknown = 0
    for d, h, n in rows:
        if h is None or d is None:
            unknown += int(n)
        else:
            grid[int(d) - 1][int(h)] += int(n)
    return {"days": list(DAY_NAMES), "hours": list(range(24)), "counts": grid, "unknown_time": unknown,
            "basis": "the current period's crimes by the day they were recorded and the hour they occurred"}


def seasonality(con, pred: str, window: list[str]) -> list[dict[str, Any]] | None:
    """Mean count per calendar month over the months held in the dispersion window (up to 36)."""
    if not window:
        return None
    got = dict(con.execute(f"SELECT month, coalesce(sum(n) FILTER (WHERE {pred}), 0) FROM area_win WHERE month IN "
                           f"({', '.join(present_sql(m) for m in window)}) GROUP BY 1").fetchall())
    by: dict[int, list[int]] = {}
    for m in window:
        by.setdefault(int(m[5:7]), []).append(int(got.get(m, 0)))
    return [{"month_of_year": i, "mean": round(sum(v) / len(v), 1), "months": len(v)} for i, v in sorted(by.items())]


def weekend_split(con, pred: str, comparable: bool, has_previous: bool = True) -> dict[str, Any]:
    """Friday-to-Sunday nights (a night's small hours before 06:00 count with the evening before)."""
    days = ", ".join(str(WEEKDAYS.index(d) + 1) for d in ("fri", "sat", "sun"))
    row = con.execute(f"SELECT 'weekend', {_COUNTS} FROM pc WHERE ({pred}) AND "
                      f"{night_day_sql(wraps_before='06:00')} IN ({days})").fetchall()[0]
    return {"label": "Friday to Sunday nights", **_compare_rows([row], comparable, has_previous)[0]}


def zone_counts(con, theme: Any, pred: str, comparable: bool, has_previous: bool = True) -> list[dict[str, Any]]:
    """The theme's crimes mapped inside each of its zones."""
    out = []
    for z in theme.selectors.zones:
        name = con.execute("SELECT name FROM zone_names WHERE path = ?", [z]).fetchall()
        row = con.execute(f"SELECT 'zone', {_COUNTS} FROM pc WHERE ({pred}) AND uid IN "
                          f"(SELECT uid FROM {Selectors.zone_table(z)})").fetchall()[0]
        out.append({**_compare_rows([row], comparable, has_previous)[0], "name": name[0][0] if name else z})
    return out


# ------------------------------------------------------------------------------------------------ section
def _paragraph(row: dict[str, Any], cur: Period, cmp: Period, where: dict[str, Any] | None,
               weekend: dict[str, Any] | None, outcome: dict[str, Any] | None, basis: str | None,
               zones: list[dict[str, Any]] | None = None) -> str:
    name = present.theme_name(row["label"])
    cw, pw = present.period_words(cur.to_dict()), present.period_words(cmp.to_dict())
    mc, mp = row.get("matched_current"), row.get("matched_previous")
    parts = [f"{present.sentence_case(name)}: {present.count(row.get('current'))} recorded in {cw}"]
    if mc is not None and mp is not None:
        label = present.significance(row)
        pc_ = f" ({present.pct_change(row.get('pct_change'))})" if row.get("pct_change") is not None else ""
        held = "" if mc == row.get("current") else f", comparing the months held in both: {present.count(mc)}"
        parts[0] += f"{held} against {present.count(mp)} in {pw}{pc_}"
        parts[0] += {"significant rise": ", a statistically significant rise",
                     "significant fall": ", a statistically significant fall",
                     "not significant": ", within the range normal variation produces",
                     "small numbers": ", too few to test"}.get(label, "")
    text = [parts[0] + "."]
    if weekend and row.get("current"):
        text.append(f"{present.count(weekend['current'])} of them were on Friday to Sunday nights.")
    for z in zones or []:
        if row.get("current"):
            text.append(f"{present.count(z['current'])} ({present.share(z['current'] / row['current'])}) were in "
                        f"the {z['name']}" + (f", against {present.count(z['previous'])} in {pw}." if z.get("previous")
                                               is not None else "."))
    if where and len([r for r in where.get("rows") or [] if r["current"]]) > 1:  # a place-defined theme: no news
        top = next((r for r in where["rows"] if r["name"] not in ("Not recorded", "No location")), None)
        if top and top["current"]:
            text.append(f"The commonest place was {top['name'].lower() if where['basis'] == 'location_type' else top['name']}"
                        f" ({present.count(top['current'])}).")
    if outcome and (outcome.get("current") or 0) >= 10:  # a share of a handful says nothing
        ch = outcome["groups"]["charge_summons"]
        age = " at the same age" if basis == "same_age" else " (latest outcomes, not at the same age)"
        text.append(f"{present.pct(ch['share'], signed=False)} ended in a charge or summons, against "
                    f"{present.pct(ch['previous_share'], signed=False)} in {pw}{age}.")
    return " ".join(text)


def priorities_block(con: duckdb.DuckDBPyConnection, data: dict[str, Any], *, kind: str, themes: list[Any],
                     preds: dict[str, str | None], cur: Period, cmp: Period, window: list[str],
                     total_pred: str) -> dict[str, Any]:
    """The assessment's ``priorities`` block (docs/assessment-schema.md)."""
    comparable = data["coverage"]["basis"] in ("complete", "matched_months")
    held_prev = data["coverage"]["previous_months"] > 0
    by_theme = {t["id"]: t for t in data.get("themes", [])}
    catalogue = {t.id: t for t in themes}
    out_by_theme = {t["id"]: t for t in (data.get("outcomes") or {}).get("themes", [])}
    basis = (data.get("outcomes") or {}).get("basis")
    items = []
    for pr in PRIORITIES:
        row, theme = by_theme.get(pr.theme), catalogue.get(pr.theme)
        if row is None or theme is None:
            continue
        pred = preds.get(pr.theme)
        item: dict[str, Any] = {"id": pr.theme, "label": row["label"], "description": theme.description,
                                "available": pred is not None, "missing": []}
        if pred is None:
            reason = theme.unavailable_reason(kind) or "the theme this priority rests on is unavailable"
            item["missing"].append(f"Not available from these data ({reason}). {pr.enable}")
            item.update(reason=reason, enable=pr.enable)
            items.append(item)
            continue
        item.update({k: row.get(k) for k in ("current", "previous", "matched_current", "matched_previous", "change",
                                             "pct_change", "p_value", "p_adjusted", "z", "significant",
                                             "small_numbers", "caveat")})
        item["significance"] = present.significance(row)
        where = location_table(con, kind, pred, comparable, held_prev)
        item["where"] = {"locations": where,
                         "repeat_locations": repeat_locations(con, kind, pred, comparable, held_prev)}
        item["when"] = {"heatmap": heatmap(con, kind, pred), "seasonality": seasonality(con, pred, window)}
        if pr.weekend and get_kind(kind).recorded_dates:
            item["when"]["weekend"] = weekend_split(con, pred, comparable, held_prev)
        if item["when"]["heatmap"] is None:
            item["missing"].append("Times of day need a force extract with occurred times.")
        outcome = out_by_theme.get(pr.theme)
        item["outcome"] = outcome
        if outcome is None:
            item["missing"].append((data.get("outcomes") or {}).get("enable")
                                   or "Outcomes need an extract outcome column or police.uk outcomes files.")
        item["where"]["zones"] = zone_counts(con, theme, pred, comparable, held_prev)
        item["paragraph"] = _paragraph(row, cur, cmp, where, item["when"].get("weekend"), outcome, basis,
                                       item["where"]["zones"])
        items.append(item)
    area_where = {"locations": location_table(con, kind, total_pred, comparable, held_prev),
                  "repeat_locations": repeat_locations(con, kind, total_pred, comparable, held_prev)}
    return {"items": items, "where": area_where, "snapped_note": SNAPPED_NOTE if get_kind(kind).location_text else None}
