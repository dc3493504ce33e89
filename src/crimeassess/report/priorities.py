"""Context for the report's (and dashboard's) priorities section, from the assessment's ``priorities`` and
``outcomes`` blocks: tables ready to render, and the hour × day heat map as shaded table cells."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..assess.present import significance


def _d(x: Any) -> dict[str, Any]:
    return dict(x) if isinstance(x, Mapping) else {}


def heat_cells(heatmap: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    """Rows of {day, cells: [{n, style}]} with a background shade proportional to the count."""
    if not heatmap:
        return None
    counts = heatmap.get("counts") or []
    top = max((max(r) for r in counts if r), default=0)
    rows = []
    for day, r in zip(heatmap.get("days") or [], counts):
        cells = []
        for n in r:
            x = n / top if top else 0.0
            style = (f"background: rgba(178, 24, 43, {0.06 + 0.9 * x:.2f});" + (" color: #ffffff;" if x > 0.55 else "")
                     if n else "")
            cells.append({"n": n, "style": style})
        rows.append({"day": day[:3], "cells": cells})
    return rows


def outcome_rows(outcome: Mapping[str, Any] | None, groups: Mapping[str, str], reported: list[str]
                 ) -> list[dict[str, Any]] | None:
    """The reported outcome groups: label, counts, shares and change in points."""
    if not outcome:
        return None
    g = _d(outcome.get("groups"))
    return [{"id": k, "label": groups.get(k, k), **_d(g.get(k))} for k in reported if k in g]


def priorities_context(a: Mapping[str, Any]) -> dict[str, Any]:
    """Template keys: ``priorities`` (items), ``priorities_where`` (the area's where tables),
    ``outcomes`` (the block), ``priorities_snapped_note`` and ``outcomes_caveat`` (only when a priority shows
    outcomes)."""
    block, outcomes = _d(a.get("priorities")), _d(a.get("outcomes"))
    groups, reported = _d(outcomes.get("groups")), list(outcomes.get("reported_groups") or [])
    items = []
    for it in block.get("items") or []:
        it = _d(it)
        when, where = _d(it.get("when")), _d(it.get("where"))
        it["sig_label"] = significance(it) if it.get("available") else ""
        it["heat"] = heat_cells(when.get("heatmap"))
        it["heat_unknown"] = _d(when.get("heatmap")).get("unknown_time")
        it["weekend"] = when.get("weekend")
        it["locations"] = (_d(where.get("locations")).get("rows") or [])[:6]
        it["location_basis"] = _d(where.get("locations")).get("basis")
        it["repeats"] = _d(where.get("repeat_locations"))
        it["outcome_rows"] = outcome_rows(it.get("outcome"), groups, reported)
        items.append(it)
    shown = any(it["outcome_rows"] for it in items)
    return {"priorities": items, "priorities_where": _d(block.get("where")), "outcomes": outcomes,
            "priorities_snapped_note": block.get("snapped_note"),
            "outcomes_caveat": outcomes.get("caveat") if shown else None}


OUTCOME_COLUMNS = ["theme", "theme_label", "group", "group_label", "current", "previous", "share", "previous_share",
                   "change_points", "basis"]
PLACE_COLUMNS = ["scope", "table", "basis", "name", "lsoa_code", "latitude", "longitude", "current", "previous",
                 "matched_current", "matched_previous", "change", "pct_change", "lsoa_name", "ward_name"]


def outcome_csv_rows(a: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``outcomes.csv``: one row per theme and outcome group (counts of the compared crimes, shares in %)."""
    o = _d(a.get("outcomes"))
    groups = _d(o.get("groups"))
    return [{"theme": t.get("id"), "theme_label": t.get("label"), "group": g, "group_label": groups.get(g, g),
             **_d(v), "basis": o.get("basis")}
            for t in o.get("themes") or [] for g, v in _d(t.get("groups")).items()]


def place_csv_rows(a: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``places.csv``: the where tables (location type or police.uk place, repeat locations, zones) of all crime
    (scope ``all_crime``) and of each available priority (scope = its theme id)."""
    block = _d(a.get("priorities"))
    scopes = [("all_crime", _d(block.get("where")))]
    scopes += [(it.get("id"), _d(it.get("where"))) for it in block.get("items") or [] if it.get("available")]
    rows = []
    for scope, where in scopes:
        for table in ("locations", "repeat_locations"):
            t = _d(where.get(table))
            for r in t.get("rows") or []:
                rows.append({"scope": scope, "table": table, "basis": t.get("basis"),
                             "name": r.get("name", r.get("location")), **r})
        for z in where.get("zones") or []:
            rows.append({"scope": scope, "table": "zones", "basis": "zone", **z})
    return rows
