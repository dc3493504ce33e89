"""The report's comparison: a dot plot of crimes per 1,000 residents a year across the area, its force area, the rest
of the force area, peers and England and Wales (the area highlighted), and the table rows under it."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..assess.present import join_and, sentence_case, theme_name
from .charts import GREY, INK, MUTED, NAVY, NAVY_MID, RISE, TEXT_WIDTH_IN, _new_figure, figure_to_svg
from .chartcache import cached_chart
from .formatting import fmt_int, fmt_pct, fmt_rate

SHORT_SOURCES = {"police-uk-street": "police.uk street files", "police-uk-api": "police.uk API",
                 "extract": "force extract", "home-office-table": "Home Office tables"}
NATIONAL_KINDS = ("england-and-wales", "england", "wales")
KIND_LABELS = {"area": "this area", "england-and-wales": "national", "england": "national", "wales": "national",
               "force": "force area",
               "force-excluding": "rest of force area", "peer": "peer", "local-authority": "local authority"}


def compared_rates(r: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(now, before): the two rates a row's change compares: over the months held in both periods when some
    are held in one only (``matched_rate_per_1000``), else the rates of every month held."""
    if r.get("matched_rate_per_1000") is not None:
        return r["matched_rate_per_1000"], r.get("matched_previous_rate_per_1000")
    return r.get("rate_per_1000"), r.get("previous_rate_per_1000")


def comparison_rows(comparators: Any) -> list[dict[str, Any]]:
    """Rows for the comparison table: the area first, then the others by rate (highest first), formatted."""
    rows = [dict(r) for r in (comparators or []) if isinstance(r, Mapping)]
    if not rows:
        return []
    area, rest = rows[0], rows[1:]
    if area.get("kind") != "area":  # a list of equals (local authorities): all by rate
        rest, area = rows, None
    rest.sort(key=lambda r: (r.get("rate_per_1000") is None, -(r.get("rate_per_1000") or 0)))
    out = []
    for r in ([area] if area else []) + rest:
        p = r.get("p_value")
        out.append({
            **r,
            "kind_label": KIND_LABELS.get(r.get("kind"), r.get("kind")),
            "national": r.get("kind") in NATIONAL_KINDS,
            "current_text": fmt_int(r.get("current")),
            "rate_text": fmt_rate(r.get("rate_per_1000")),
            "previous_rate_text": fmt_rate(r.get("previous_rate_per_1000")),
            "like_now_text": fmt_rate(compared_rates(r)[0]),
            "like_before_text": fmt_rate(compared_rates(r)[1]),
            "matched": r.get("matched_rate_per_1000") is not None,
            "change_text": fmt_pct(r.get("rate_change_pct")),
            "rank_text": f"{r['rank']} of {r['of']}" if r.get("rank") else "",
            "difference_text": ("" if p is None else ("significant" if r.get("significant") else "not significant")),
            "source_short": SHORT_SOURCES.get(r.get("source_kind"), r.get("source_kind") or "not available"),
            "population_text": (f"{fmt_int(r['population'])} ({r['population_year']})"
                                if r.get("population") is not None else "–"),
        })
    return out


def comparison_notes(rows: list[dict[str, Any]]) -> list[str]:
    """Footnotes under the table: each distinct population source and note, once."""
    notes: list[str] = []
    for r in rows:
        text = f"Population: {r['population_source']}." if r.get("population_source") else None
        if text and text not in notes:
            notes.append(text)
    by_note: dict[str, list[str]] = {}
    for r in rows:
        if r.get("note"):
            by_note.setdefault(str(r["note"]), []).append(str(r.get("name")))
    for note, names in by_note.items():
        notes.append(f"{note[:1].upper()}{note[1:]}: {', '.join(names)}.")
    return notes


@cached_chart("comparison_dot_plot_svg")
def comparison_dot_plot_svg(comparators: Sequence[Mapping[str, Any]]) -> str | None:
    """Dot plot of current rates (filled) and previous rates (hollow, joined by a line) per 1,000 residents a year;
    the area in red and bold, the national rate as a dashed reference line. None when fewer than two rates."""
    rows = [r for r in comparators if isinstance(r, Mapping) and r.get("rate_per_1000") is not None]
    if len(rows) < 2:
        return None
    # With months held in one period only, both dots are the rates the change compares (months held in both).
    rows = [{**r, "rate_per_1000": compared_rates(r)[0], "previous_rate_per_1000": compared_rates(r)[1]} for r in rows]
    rows.sort(key=lambda r: r["rate_per_1000"])
    n = len(rows)
    fig = _new_figure(TEXT_WIDTH_IN, 0.9 + 0.32 * n)
    ax = fig.add_subplot(1, 1, 1)
    hi = max(max(r["rate_per_1000"], r.get("previous_rate_per_1000") or 0) for r in rows)
    for i, r in enumerate(rows):
        is_area = r.get("kind") == "area"
        colour = RISE if is_area else (MUTED if r.get("kind") in NATIONAL_KINDS else NAVY)
        prev = r.get("previous_rate_per_1000")
        if prev is not None:
            ax.plot([prev, r["rate_per_1000"]], [i, i], color=GREY, linewidth=1.2, zorder=1)
            ax.scatter([prev], [i], s=28, facecolors="white", edgecolors=NAVY_MID, linewidths=1.1, zorder=2)
        ax.scatter([r["rate_per_1000"]], [i], s=70 if is_area else 42, color=colour, zorder=3)
        ax.annotate(f"{r['rate_per_1000']:.1f}", (max(r["rate_per_1000"], prev or 0), i), xytext=(7, 0),
                    textcoords="offset points",
                    va="center", fontsize=8, color=INK, fontweight="bold" if is_area else "normal")
        if r.get("kind") in NATIONAL_KINDS:
            ax.axvline(r["rate_per_1000"], color=MUTED, linestyle="--", linewidth=0.8, zorder=0)
    ax.set_yticks(range(n))
    labels = ax.set_yticklabels([r.get("name") or r.get("code") or "" for r in rows])
    for lab, r in zip(labels, rows):
        if r.get("kind") == "area":
            lab.set_fontweight("bold")
            lab.set_color(RISE)
    ax.set_xlim(0, hi * 1.15)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel("crimes per 1,000 residents a year (hollow: comparison period)")
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    ax.grid(axis="x", color=GREY, linewidth=0.5, alpha=0.6)
    ax.set_axisbelow(True)
    return figure_to_svg(fig)


#: Marks a theme rate from another source than its column's total (theme_rate_table).
OTHER_SOURCE_MARK = "\u2021"


def theme_rate_table(a: Mapping[str, Any], max_columns: int = 5) -> dict[str, Any] | None:
    """Rates per 1,000 residents a year by theme across the comparators: {columns: [names], rows: [{label, cells}],
    omitted: [names of comparators with no theme rate at all, left out of the columns], note: the rate base in
    words when the theme table gives some theme per households}, the area first, then up
    to ``max_columns`` - 1 others in the comparators' order; None without theme rows."""
    tc = a.get("theme_comparators") or {}
    if not isinstance(tc, Mapping) or not tc:
        return None
    comps = [r for r in (a.get("comparators") or []) if isinstance(r, Mapping)][:max_columns]
    names = [r.get("name") for r in comps]
    heads = [("rest of force area" if r.get("kind") == "force-excluding" else r.get("name")) for r in comps]
    labels = {t.get("id"): t.get("label") for t in (a.get("themes") or []) if isinstance(t, Mapping)}
    # a theme police.uk cannot give may come from the Home Office tables for a force or the nation: its cell is
    # then marked, as it counts other months (whole quarters) from another source than the column's total
    col_source = [r.get("source_kind") for r in comps]
    rows, other = [], set()
    for tid, items in tc.items():
        if tid == "anti_social_behaviour":  # not crime: the table is of crimes per 1,000
            continue
        by = {r.get("name"): r for r in items if isinstance(r, Mapping)}
        cells = []
        for n, src in zip(names, col_source):
            r = by.get(n) or {}
            cell = fmt_rate(r.get("rate_per_1000"))
            if not _blank(cell) and r.get("source_kind") and src and r.get("source_kind") != src:
                cell += OTHER_SOURCE_MARK
                other.add(r.get("source") or r.get("source_kind"))
            cells.append(cell)
        if any(not _blank(c) for c in cells):
            rows.append({"label": labels.get(tid) or tid, "cells": cells})
    if not rows:
        return None
    # a comparator with no rate for any theme (no records of its forces, no Home Office table) is named once
    # under the table rather than shown as a column of dashes
    keep = [i for i in range(len(heads)) if i == 0 or any(not _blank(r["cells"][i]) for r in rows)]
    # the theme table gives burglary per 1,000 households where households are known; here every area is on one base
    hh = [theme_name(str(t.get("label") or t.get("id"))) for t in (a.get("themes") or []) if isinstance(t, Mapping)
          and t.get("rate_base") == "households" and t.get("rate_per_1000") is not None and t.get("id") in tc]
    them = "it" if len(hh) == 1 else "them"
    note = (f"Every rate here is per 1,000 residents, {' and '.join(hh[:2])}{' and others' if len(hh) > 2 else ''} "
            f"too (the theme table gives {them} per 1,000 households).") if hh else None
    own = [labels.get(t) or t for t in (a.get("themes_not_compared") or []) if t != "anti_social_behaviour"]
    if own:
        one = len(own) == 1
        own_note = (f"{sentence_case(join_and([theme_name(str(x)) for x in own]))} {'is' if one else 'are'} defined "
                    f"by this report's theme file, so other areas are not counted the same way: "
                    f"{'it is' if one else 'they are'} not compared.")
        note = f"{note} {own_note}" if note else own_note
    if other:
        named = [x if str(x).lower().startswith("the ") else f"the {x}" for x in sorted(other)]
        src_note = (f"{OTHER_SOURCE_MARK} From {join_and(named)}, not the source of the column's total: "
                    "that source cannot give the theme, and these count their own months.")
        note = f"{note} {src_note}" if note else src_note
    return {"columns": [heads[i] for i in keep], "rows": [{**r, "cells": [r["cells"][i] for i in keep]} for r in rows],
            "omitted": [heads[i] for i in range(len(heads)) if i not in keep], "note": note}


def _blank(cell: str) -> bool:
    return cell in ("–", "-", "")
