"""Render an assessment dict (docs/assessment-schema.md) to one self-contained HTML file and a PDF.

The HTML carries its CSS inline and its charts and map as SVG data URIs: it makes no request of any kind.
The PDF is printed by WeasyPrint from the same HTML with the print rules of ``report.css`` (A4, running
header, "Page N of M", a contents list with page numbers); WeasyPrint is only allowed ``data:`` URLs.
"""
from __future__ import annotations

import base64
import datetime as _dt
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import jinja2

from ..assess import present as fmt
from ..assess.periods import months_in_words
from ..assess.present import SMALL_MARK, compress_months, outlier_sentence, run_phrase, sentence_case, significance
from ..errors import CrimeAssessError, InputError
from ..sources.registry import find_kind, source_description
from .charts import (density_map_svg, expected_band_svg, monthly_chart_svg, theme_change_chart_svg,
                     trend_chart_svg)
from .priorities import priorities_context
from .wardmap import ward_map_svg

TEMPLATES = Path(__file__).with_name("templates")
#: The attribution of a report drawn with no boundaries (ONS lookups only): it uses no OS data.
ATTRIBUTION_NO_OS = "Contains public sector information licensed under the Open Government Licence v3.0."
ATTRIBUTION = ATTRIBUTION_NO_OS + " Contains OS data \u00a9 Crown copyright and database right."
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_ISO_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by :func:`render_report` (``pdf`` is None when PDF output was not asked for)."""

    html: Path
    pdf: Path | None


class _Missing(dict):
    """A dict that answers None for absent keys, so templates never fail on a sparse assessment."""

    def __missing__(self, key: str) -> None:
        return None


def _d(value: Any) -> _Missing:
    return _Missing(value) if isinstance(value, Mapping) else _Missing()


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def svg_data_uri(svg: str | None) -> str | None:
    """SVG text -> ``data:image/svg+xml;base64,...`` (None stays None)."""
    if not svg:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _cell(key: str, value: Any) -> str:
    """Format one data-quality cell: month lists compressed, rates/shares as %, the rest generic."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and _MONTH_RE.match(v) for v in value):
        return compress_months(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        k = key.lower()
        if ("rate" in k or "share" in k) and 0 <= float(value) <= 1:
            return fmt.share(value, digits=2)
    if isinstance(value, str):  # ids and clock times in words: a source kind, a force, when a table was loaded
        if key in ("source", "kind") and find_kind(value):
            return find_kind(value).title
        if key == "force":
            return fmt.force_label(value)
        if _ISO_TIME_RE.match(value):
            return fmt.date_label(value)
    return fmt.value(value)


_DQ_TITLES = {
    "months": "Months present by source and force",
    "inputs": "Input files",
    "geography_inputs": "Geography and population tables (vintages)",
    "quarantined_rows": "Rows quarantined at ingest",
    "unplaced": "Crimes in the same forces' data with no usable location (placed in no area)",
    "blank_lsoa_rate": "Records with a blank LSOA",
    "placement": "How crimes were placed in wards",
    "anomalies": "Anomalous months (counts over the whole of the forces' data, not only this area)",
    "stray_forces": "Records of other forces (not deciding coverage)",
    "missing_months": "Missing months, by series and period",
    "level_shifts": "Step changes in monthly series (may reflect recording changes)",
    "notes": "Notes",
}
_DQ_COLUMNS = {
    "months": ["source", "force", "months_present", "months_missing"],
    "inputs": ["path", "kind", "force", "months", "rows", "quarantined", "live", "superseded_by"],
    "geography_inputs": ["kind", "name", "file", "rows"],
    "anomalies": ["month", "category", "count", "expected", "note"],
    "missing_months": ["series", "period", "months"],
    "level_shifts": ["label", "month", "direction", "before", "after", "ratio"],
}


_FAMILY_WORDS = {"total": "total", "categories": "police.uk category", "themes": "theme"}


def distinct_shifts(shifts: list[Any]) -> list[Any]:
    """Step changes once each: a theme that counts exactly a police.uk category's crimes (violence and sexual
    offences) steps with it and was listed twice under one label. A label two different series share is told
    apart by its family ("theme"). Copies: the JSON keeps every family's entry."""
    out: list[Any] = []
    seen: set[tuple[Any, ...]] = set()
    for s in shifts:
        if not isinstance(s, Mapping):
            out.append(s)
            continue
        key = tuple(s.get(c) for c in ("label", "month", "direction", "before", "after"))
        if key not in seen:
            seen.add(key)
            out.append(dict(s))
    by_label: dict[Any, set[Any]] = {}
    for s in out:
        if isinstance(s, Mapping):
            by_label.setdefault(s.get("label"), set()).add(s.get("family"))
    for s in out:
        if isinstance(s, Mapping) and len(by_label[s.get("label")]) > 1 and s.get("family") in _FAMILY_WORDS:
            s["label"] = f"{s.get('label')} ({_FAMILY_WORDS[s['family']]})"
    for s in out:  # the label says which series: its raw id and family are for the JSON
        if isinstance(s, dict):
            s.pop("series", None)
            s.pop("family", None)
    return out


def _dq_block(key: str, value: Any) -> dict[str, Any] | None:
    """Turn one data_quality entry into a renderable block (table, key/value list, text or list)."""
    title = _DQ_TITLES.get(key, fmt.humanise_key(key))
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if not value:
            return {"title": title, "kind": "text", "text": "None."}
        if all(isinstance(v, Mapping) for v in value):
            preferred = [c for c in _DQ_COLUMNS.get(key, []) if any(c in v for v in value)]
            extra: list[str] = []
            for v in value:
                for c in v:
                    if c not in preferred and c not in extra:
                        extra.append(c)
            cols = preferred + extra
            rows = [[_cell(c, v.get(c)) for c in cols] for v in value]
            numeric = [
                all(isinstance(v.get(c), (int, float)) and not isinstance(v.get(c), bool)
                    for v in value if v.get(c) is not None) and any(v.get(c) is not None for v in value)
                for c in cols
            ]
            return {"title": title, "kind": "table", "columns": [fmt.humanise_key(c) for c in cols],
                    "numeric": numeric, "rows": rows}
        return {"title": title, "kind": "list", "items": [fmt.value(v) for v in value]}
    if isinstance(value, Mapping):
        return {"title": title, "kind": "kv", "items": [(fmt.humanise_key(k), _cell(str(k), v)) for k, v in value.items()]}
    return {"title": title, "kind": "text", "text": _cell(key, value)}


def _compared_inputs(inputs: list[Any], period: Any, compare: Any) -> tuple[list[Any], str | None]:
    """The input files holding a month of the two compared periods, and a sentence on the others (a national
    archive's other years, listed, ran to pages). The JSON lists all."""
    spans = [(p.get("start", "")[:7], p.get("end", "")[:7]) for p in (period, compare)
             if isinstance(p, Mapping) and p.get("start") and p.get("end")]

    def compared(i: Any) -> bool:
        months = i.get("months") if isinstance(i, Mapping) else None
        if not spans or not isinstance(months, list) or not months:
            return True
        return any(lo <= str(m)[:7] <= hi for m in months for lo, hi in spans)

    shown = [i for i in inputs if compared(i)]
    rest = [i for i in inputs if not compared(i)]
    if not rest:
        return inputs, None
    months = sorted({str(m)[:7] for i in rest for m in i.get("months") or []})
    when = f" ({compress_months(months)})" if months else ""
    return shown, (f"Only the input files holding months of the two compared periods are listed; "
                   f"{fmt.count(len(rest))} more{when}, outside them, {'is' if len(rest) == 1 else 'are'} listed in "
                   "assessment.json "
                   "(data_quality.inputs).")


_SIG_MARKS = {"significant rise": "\u25b2 ", "significant fall": "\u25bc "}


def _sig_info(item: Mapping[str, Any]) -> dict[str, str]:
    """Significance text (present.significance, with an arrow for a significant change) and CSS class."""
    label = significance(item)
    if not label:
        return {"text": fmt.BLANK, "cls": ""}
    return {"text": _SIG_MARKS.get(label, "") + sentence_case(label), "cls": fmt.significance_class(item)}


def _stat_row(item: Any) -> dict[str, Any]:
    d = _d(item)
    d["sig"] = _sig_info(d)
    d["dir"] = fmt.direction(d.get("change"))
    return d


def _run_text(run: Any, period_kind: str | None, noun: str = "recorded crime") -> str | None:
    """'The fourth consecutive annual rise in recorded crime.' (None without a run of two or more)."""
    phrase = run_phrase(_d(run), period_kind)
    return f"{sentence_case(phrase)} in {noun}." if phrase else None


def _words(p: Mapping[str, Any]) -> str | None:
    """A period block in words ('March 2018'), or its label."""
    try:
        return fmt.period_words(p) if p.get("kind") else p.get("label")
    except (KeyError, ValueError, TypeError):
        return p.get("label")


def like_for_like(coverage: Mapping[str, Any], period: Mapping[str, Any], compare: Mapping[str, Any]) -> dict[str, Any]:
    """How the changes shown were compared: the basis, column labels and one sentence for readers.

    matched: True when only some months are held in both periods; the change columns then compare those
    months (``cur_label`` against ``prev_label``) and the period's own total is shown as held so far."""
    basis = coverage.get("basis") or ("complete" if coverage.get("complete", True) is not False else "none")
    mc = [str(m) for m in coverage.get("matched_months") or []]
    mp = [str(m) for m in coverage.get("matched_previous_months") or []]
    matched = basis == "matched_months" and bool(mc)
    held, expected = coverage.get("current_months"), coverage.get("months_expected")
    short = isinstance(held, int) and isinstance(expected, int) and held < expected
    p_words = _words(period) or "Current"
    held_label = f"{p_words} so far" if short else p_words
    held_note = f"{held} of {expected} months held" if short else None
    sentence = None
    if matched:
        sentence = (f"Changes compare only the months held for both periods: {months_in_words(mc)} against "
                    f"{months_in_words(mp)}.")
    elif basis == "none" and coverage.get("complete") is False:
        sentence = "No month is held for both periods, so no change is given."
    elif basis == "unequal_lengths":
        sentence = "The periods are of different lengths, so no change is given."
    def col(months: list[str], p: Mapping[str, Any], default: str) -> str:
        words = months_in_words(months)
        return words if len(words) <= 22 else f"{p.get('label') or default}, months in both"

    return {"basis": basis, "matched": matched, "held_label": held_label, "held_note": held_note,
            "cur_label": col(mc, period, "Current") if matched else p_words,
            "prev_label": col(mp, compare, "Previous") if matched else (_words(compare) or "Previous"),
            "sentence": sentence}


def _asb_coverage(asb: Mapping[str, Any] | None, coverage: Mapping[str, Any], period: Mapping[str, Any],
                  compare: Mapping[str, Any]) -> Mapping[str, Any]:
    """Anti-social behaviour's own coverage (police.uk files beside a force extract may differ from crime's)."""
    if not asb or not asb.get("basis"):
        return coverage
    missing = [str(m) for m in asb.get("missing_months") or []]
    return {"basis": asb.get("basis"), "matched_months": asb.get("matched_months"),
            "matched_previous_months": asb.get("matched_previous_months"),
            "current_months": asb.get("current_months"), "months_expected": coverage.get("months_expected"),
            "complete": not missing}


#: How a crime was placed in its ward (the assessment's ``geography.placed_by`` keys), in words.
PLACED_BY_LABELS = {"source": "by their own codes", "lsoa": "through their LSOA", "point": "from their map point"}


def placement_text(source: Mapping[str, Any], geography: Mapping[str, Any], period_label: str | None) -> str:
    """The methodology's account of how crimes were placed in wards: the ways this source allows, how many of the
    current period's crimes each placed, and (police.uk only) the snapping of map points."""
    kind = find_kind(source.get("kind"))
    police_uk = bool(kind) and kind.id.startswith("police-uk")
    own = "police.uk" if police_uk else ("the extract" if kind and kind.id == "extract" else "the source")
    ways = ([f"by the ward or local authority code {own} gives"] if kind and kind.area_codes else []) + [
        f"through the 2011 LSOA {own} gives, using the ONS best-fit LSOA-to-ward lookup",
        "from the " + ("anonymised " if police_uk else "") + "map point"]
    where = "in wards" + (f" as at {geography['ward_vintage']}" if geography.get("ward_vintage") else "")
    text = f"Crimes are placed {where} {', else '.join(ways)}."
    by = _d(geography.get("placed_by"))
    got = [(how, int(by[k])) for k, how in PLACED_BY_LABELS.items() if isinstance(by.get(k), (int, float)) and by[k]]
    when = f"of {period_label}" if period_label else "of the current period"
    if len(got) == 1:
        n = got[0][1]
        text += f" All {fmt.count(n)} {'crime' if n == 1 else 'crimes'} {when} were placed {got[0][0]}."
    elif got:
        parts = [f"{fmt.count(n)} {how}" for how, n in got]
        text += f" Of the crimes {when}, {', '.join(parts[:-1])} and {parts[-1]}."
    if police_uk:
        text += (" Police.uk map points are moved to the nearest of a set of anonymous locations, so small-area "
                 "counts are approximate.")
    un = geography.get("unplaced")
    if isinstance(un, (int, float)) and un:
        text += (f" {fmt.count(un)} {'crime' if un == 1 else 'crimes'} {when} in the same data had no usable location, "
                 f"so {'it' if un == 1 else 'they'} could not be placed in any area and {'is' if un == 1 else 'are'} "
                 "counted in none.")
    return text


def crime_attribution(source: Mapping[str, Any], asb: Mapping[str, Any] | None,
                      comparison: list[Mapping[str, Any]]) -> list[tuple[str, bool]]:
    """Where the report's crime data came from, as (sentence, published under the OGL) pairs: the assessment's
    source, anti-social behaviour when it came from another source, and the Home Office tables when a comparison
    row came from them."""
    def said(kind_id: str | None) -> tuple[str, bool] | None:
        if not kind_id:
            return None
        if kind_id.startswith("police-uk"):
            return "from data.police.uk", True
        if kind_id == "home-office-table":
            return "from the Home Office police recorded crime tables", True
        if kind_id == "extract":
            many = len(_list(source.get("forces"))) > 1
            return ("from the forces' own crime extracts" if many else "from the force's own crime extract"), False
        return f"from {source_description(kind_id)}", False

    out: list[tuple[str, bool]] = []
    main = said(source.get("kind"))
    if main:
        out.append((f"Police recorded crime {main[0]}", main[1]))
    asb_kind = (asb or {}).get("source")
    if asb and asb.get("available", True) is not False and asb_kind and asb_kind != source.get("kind"):
        a = said(asb_kind)
        if a:
            out.append((f"Anti-social behaviour {a[0]}", a[1]))
    if any(r.get("source_kind") == "home-office-table" for r in comparison if isinstance(r, Mapping)):
        h = said("home-office-table")
        if h:
            out.append((f"Comparisons {h[0]}", h[1]))
    return out


def _check(assessment: Any) -> Mapping[str, Any]:
    if not isinstance(assessment, Mapping):
        raise InputError("assessment must be a dict as documented in docs/assessment-schema.md")
    for key in ("area", "period", "total"):
        if not isinstance(assessment.get(key), Mapping):
            raise InputError(f"assessment has no '{key}' object (see docs/assessment-schema.md)")
    return assessment


def beyond_context(a: Mapping[str, Any], wards_geo: Any = None) -> dict[str, Any]:
    """Expected versus observed, hotspots and harm (issue 16): the blocks, their charts and table rows."""
    e, h, hm = _d(a.get("expected")), _d(a.get("hotspots")), _d(a.get("harm"))
    total = _d(e.get("total"))
    grid, lsoa = _d(h.get("grid")), _d(h.get("lsoa"))
    lsoa_rows = sorted([_d(r) for r in _list(lsoa.get("rows")) if _d(r).get("category")],
                       key=lambda r: (["new", "intensifying", "persistent", "diminishing"].index(r["category"]),
                                      -(r.get("z") or 0)))
    density = None
    if h.get("available") and grid.get("rows"):
        try:
            density = density_map_svg(_list(grid.get("rows")), cell=h.get("cell_size") or 250,
                                      bandwidth=h.get("bandwidth") or 400, wards_geo=wards_geo, caveat=h.get("caveat"))
        except CrimeAssessError:
            density = density_map_svg(_list(grid.get("rows")), cell=h.get("cell_size") or 250,
                                      bandwidth=h.get("bandwidth") or 400, caveat=h.get("caveat"))
    return {
        "present": bool(a.get("expected") or a.get("hotspots") or a.get("harm")),
        "expected": e if a.get("expected") else None,
        "expected_total": total if e.get("total") else None,
        "expected_sentence": (_list(e.get("findings")) or [None])[0],
        "expected_outside": [_d(x) for x in _list(e.get("themes")) + _list(e.get("wards")) if _d(x).get("outside")],
        "band_svg": svg_data_uri(expected_band_svg(_list(total.get("months")), e.get("level") or 0.99)),
        "hotspots": h if a.get("hotspots") else None,
        # the caveat is in the figure's caption (the findings give it sentence-cased)
        "hotspot_findings": [f for f in _list(h.get("findings"))
                             if str(f).lower() != str(h.get("caveat") or "").lower()],
        "lsoa_hotspots": lsoa_rows[:15],
        "lsoa_hotspots_more": max(0, len(lsoa_rows) - 15),
        "density_svg": svg_data_uri(density),
        "harm": hm if a.get("harm") else None,
        "harm_rows": [_d(hm.get("total"))] + [_d(t) for t in _list(hm.get("themes"))] if hm.get("total") else [],
        "harm_wards": sorted([_d(w) for w in _list(hm.get("wards"))], key=lambda w: -(w.get("harm_current") or 0)),
    }


def build_context(assessment: Mapping[str, Any], wards_geo: Any = None) -> dict[str, Any]:
    """Everything the template needs, derived from the assessment (charts and map included as data URIs)."""
    a = _check(assessment)
    area, period, compare = _d(a.get("area")), _d(a.get("period")), _d(a.get("compare"))
    source, geography, population = _d(a.get("source")), _d(a.get("geography")), _d(a.get("population"))
    coverage, total, stats = _d(a.get("coverage")), _stat_row(a.get("total")), _d(a.get("statistics"))
    small_threshold = stats.get("small_number_threshold")

    themes = [_stat_row(t) for t in _list(a.get("themes"))]
    for t in themes:
        t["available"] = t.get("available", True) is not False
    themes_no_pct = [t for t in themes if t["available"] and t.get("pct_change") is None]
    theme_labels = {t.get("id"): t.get("label") or t.get("id") for t in themes}
    # a caveat only where it applies: a theme measured here, and a dated change only when the periods straddle it
    from ..assess.findings import _straddles

    for t in themes:
        t["show_caveat"] = bool(t.get("caveat") and t["available"] and _straddles(t.get("caveat_from"), a))
    caveats = [(t.get("label") or t.get("id"), t.get("caveat")) for t in themes if t["show_caveat"]]

    wards = [_stat_row(w) for w in _list(a.get("wards"))]
    ward_theme_ids: list[str] = []
    for w in wards:
        for wt in _list(w.get("themes")):
            tid = _d(wt).get("id")
            if tid is not None and tid not in ward_theme_ids:
                ward_theme_ids.append(tid)
        w["theme_map"] = {_d(wt).get("id"): _stat_row(wt) for wt in _list(w.get("themes"))}
    # Unavailable themes never appear as columns (their counts are null, not 0).
    unavailable = {t.get("id") for t in themes if not t["available"]}
    ward_theme_ids = [tid for tid in ward_theme_ids if tid not in unavailable]
    # At most 5 theme columns per table so the matrix fits an A4 page with long theme names (6 overflowed the
    # page: "Violence without injury" was cut off); chunks are balanced in size.
    n_chunks = max(1, -(-len(ward_theme_ids) // 5))
    size = max(1, -(-len(ward_theme_ids) // n_chunks))
    ward_theme_chunks = [ward_theme_ids[i:i + size] for i in range(0, len(ward_theme_ids), size)]

    ward_map = None
    map_note = None
    if wards and wards_geo is not None:
        ward_map = ward_map_svg(wards, wards_geo)
    elif wards:
        map_note = "No ward boundaries were supplied, so the ward map is not shown; the table below gives the figures."

    categories = [_stat_row(c) for c in _list(a.get("categories"))]
    asb = _stat_row(a.get("anti_social_behaviour")) if isinstance(a.get("anti_social_behaviour"), Mapping) else None

    dq_raw = a.get("data_quality")
    dq_blocks = []
    if isinstance(dq_raw, Mapping):
        for k, v in dq_raw.items():
            note = None
            if k == "inputs" and isinstance(v, list):
                v, note = _compared_inputs(v, a.get("period"), a.get("compare"))
            if k == "level_shifts" and isinstance(v, list):
                v = distinct_shifts(v)
            block = _dq_block(str(k), v)
            if block:
                block["note"] = note
                dq_blocks.append(block)
    elif dq_raw is not None:
        dq_blocks.append({"title": "Data quality", "kind": "text", "text": fmt.value(dq_raw)})

    forces = _list(source.get("forces"))
    source_text = source_description(source.get("kind"))

    toc = [  # (anchor, the number its heading shows, title): the contents list numbers as the body does
        ("sec-findings", "1", "Key findings"),
        ("sec-total", "2", "Total recorded crime"),
        ("sec-themes", "3", "Crime by theme"),
        *([("sec-priorities", "3a", "Priority themes: where, when and with what outcome")]
          if _d(a.get("priorities")).get("items") else []),
        ("sec-wards", "4", "Crime by ward"),
        ("sec-categories", "5", "Police.uk crime categories"),
        ("sec-asb", "6", "Anti-social behaviour"),
        ("sec-beyond", "7", "Expected, hotspots and harm"),
        ("sec-quality", "8", "Data quality"),
        ("sec-method", "9", "Methodology and sources"),
    ]
    from .comparison import comparison_dot_plot_svg, comparison_notes, comparison_rows, theme_rate_table

    comparison = comparison_rows(a.get("comparators"))
    local_authorities = comparison_rows(a.get("local_authorities"))
    comparison_svg = svg_data_uri(comparison_dot_plot_svg(comparison)) if comparison else None
    generated = a.get("generated_at") or _dt.datetime.now(_dt.timezone.utc).isoformat()
    return {
        "a": a,
        "area": area,
        "period": period,
        "compare": compare,
        "source": source,
        "source_text": source_text,
        "forces": forces,
        "geography": geography,
        "placed_by": _d(geography.get("placed_by")),
        "PLACED_BY_LABELS": PLACED_BY_LABELS,
        "agreement": _d(geography.get("agreement")) if geography.get("agreement") else None,
        "population": population if a.get("population") else None,
        "coverage": coverage,
        "generated": generated,
        "total": total,
        "run_text": _run_text(total.get("run"), period.get("kind")),
        "trend_svg": svg_data_uri(trend_chart_svg(_list(total.get("series")), period, compare)),
        # a month's own series is already monthly: the line adds something only for longer periods
        "monthly_svg": (svg_data_uri(monthly_chart_svg(_list(total.get("monthly")), period, compare))
                        if period.get("kind") != "month" else None),
        "lfl": like_for_like(coverage, period, compare),
        "asb_lfl": like_for_like(_asb_coverage(asb, coverage, period, compare), period, compare),
        "dispersion": _d(_d(stats.get("dispersion")).get("total")),
        "dispersion_outliers": outlier_sentence(_d(_d(stats.get("dispersion")).get("total"))),
        "level_shifts": [_d(x) for x in _list(_d(a.get("data_quality")).get("level_shifts"))],
        "series": [_d(s) for s in _list(total.get("series"))],
        "themes": themes,
        "themes_no_pct": themes_no_pct,
        "theme_chart": svg_data_uri(theme_change_chart_svg(themes, small_mark=SMALL_MARK)),
        "theme_labels": theme_labels,
        "caveats": caveats,
        "wards": wards,
        "wards_summary": _d(a.get("wards_summary")) if a.get("wards_summary") else None,
        "ward_theme_ids": ward_theme_ids,
        "ward_theme_chunks": ward_theme_chunks,
        "ward_map": svg_data_uri(ward_map.svg) if ward_map else None,
        "ward_map_info": ward_map,
        "map_note": map_note,
        "categories": categories,
        "asb": asb,
        "unplaced": _d(a.get("unplaced")) if a.get("unplaced") is not None else None,
        "dq_blocks": dq_blocks,
        "statistics": stats,
        "small_threshold": small_threshold,
        "small_mark": SMALL_MARK,
        "shift_mark": "\u00a7",  # a row whose series stepped between the periods (shift_note)
        "findings": [str(f) for f in _list(a.get("findings"))],
        "comparison": comparison,
        "comparison_svg": comparison_svg,
        "comparison_notes": comparison_notes(comparison),
        "local_authorities": local_authorities,
        "theme_rates": theme_rate_table(a),
        "beyond": beyond_context(a, wards_geo),
        "toc": toc,
        "attribution": ATTRIBUTION if (geography.get("boundaries") or geography.get("ward_geometry")
                                       or _d(a.get("hotspots")).get("lsoa")) else ATTRIBUTION_NO_OS,
        "crime_attribution": crime_attribution(source, asb, _list(a.get("comparators"))),
        "placement_text": placement_text(source, geography, period.get("label")),
        "ogl_url": OGL_URL,
        "css": (TEMPLATES / "report.css").read_text(encoding="utf-8"),
        **priorities_context(a),
    }


@functools.lru_cache(maxsize=None)
def _environment() -> jinja2.Environment:
    """The report's Jinja environment, one per process: it keeps the compiled templates (compiling
    report.html.j2 takes about 75 ms, which every report paid again; the render worker's warm-up compiles them
    for its first report). Templates edited on disk are still reloaded (Jinja's auto_reload)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every value from the data is escaped
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.ChainableUndefined,
    )
    env.filters.update(fmt.FILTERS)
    env.globals["DASH"] = fmt.BLANK
    return env


def render_html(assessment: Mapping[str, Any], *, wards_geo: Any = None) -> str:
    """Render the assessment to one self-contained HTML document (as text)."""
    context = build_context(assessment, wards_geo)
    return _environment().get_template("report.html.j2").render(**context)


def print_pdf(html: str, pdf_path: Path) -> Path:
    """Print HTML to PDF with WeasyPrint (no cache); only ``data:`` URLs may be fetched (nothing leaves the
    machine)."""
    # WeasyPrint takes seconds to import: only when a PDF is asked for (the dashboard never does).
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # WeasyPrint logs every CSS property it does not support at WARNING; they are expected (screen-only
    # rules) and would only clutter the CLI.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = URLFetcher(allowed_protocols=["data"])
    HTML(string=html, url_fetcher=fetcher, media_type="print").write_pdf(str(pdf_path))
    return pdf_path


def html_to_pdf(html: str, pdf_path: Path) -> Path:
    """Print HTML to PDF with WeasyPrint, or copy the PDF already printed from the same HTML by the same WeasyPrint
    (``report/chartcache.py``); only ``data:`` URLs may be fetched (nothing leaves the machine)."""
    from .chartcache import cached_pdf

    return cached_pdf(html, Path(pdf_path), print_pdf)


def render_report(
    assessment: dict[str, Any],
    out_dir: Path,
    *,
    wards_geo: Any = None,
    pdf: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> ReportFiles:
    """Write ``report.html`` (self-contained) and, if ``pdf``, ``report.pdf`` into ``out_dir``.

    ``wards_geo`` is a GeoDataFrame with columns code, name, geometry (EPSG:27700) for the assessment's
    wards; without it the report shows a note instead of the ward map. Raises :class:`InputError` for an
    assessment without area/period/total and :class:`GeographyError` for unusable ward boundaries.
    ``on_stage`` is told each stage ("rendering the HTML report", "printing the PDF") as it starts.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create report folder {out}: {exc.strerror}") from exc
    say = on_stage or (lambda stage: None)
    say("rendering the HTML report")
    html = render_html(assessment, wards_geo=wards_geo)
    html_path = out / "report.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = None
    if pdf:
        say("printing the PDF")
        try:
            pdf_path = html_to_pdf(html, out / "report.pdf")
        except CrimeAssessError:
            raise
        except OSError as exc:
            raise InputError(f"cannot write {out / 'report.pdf'}: {exc}") from exc
    return ReportFiles(html=html_path, pdf=pdf_path)
