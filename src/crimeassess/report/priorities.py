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
