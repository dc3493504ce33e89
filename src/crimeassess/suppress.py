"""Public-safe output: small-number suppression of an assessment before it is published.

Force extracts are not open data: a ward × theme cell of 2 crimes can identify victims. `suppress_assessment`
works on the assessment dict (`Assessment.to_dict()`) at output time, so the JSON, the CSV tables, the HTML/PDF
report and the dashboard all show the same suppressed figures:

* **Primary suppression**: every count below the threshold (default 5, zero included) — a current or previous
  count of the total, anti-social behaviour, unplaced crimes, a category, a theme, a ward, a ward × theme cell,
  a series point, an anomalous month, a placement count — is replaced by the text ``"<5"``.
* **Secondary suppression**: where published figures are bound by a sum or an equality (wards plus unplaced
  make the total, for the current and comparison periods and every period of the ward series; categories
  make the total; the wards of a theme make the theme; burglary is residential plus non-residential burglary,
  in the area and in each ward; a theme that is one police.uk category equals it; a row's current and
  previous counts are its series points for those periods), a relation with exactly one suppressed cell has
  its smallest other cell suppressed too, shown as ``"[c]"``, repeated until none is left with one — so no
  suppressed cell can be recovered by subtraction.
* **Derived figures** of a row with a suppressed count (change, % change, rate, Z, p-values, significance) are
  withheld (null), since they would give the count back.
* **Findings** that quote a suppressed figure are withheld, and a note says so.

Counts at or above the threshold are published exactly (no rounding of counts, so published figures still add
up where nothing is suppressed); rates and percentages keep their usual rounding. The result gains a
``suppression`` block: threshold, rule, and how many cells were suppressed.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

#: Counts below this are suppressed in public output (`--public`).
DEFAULT_THRESHOLD = 5
#: What a secondarily suppressed cell shows.
SECONDARY_MARK = "[c]"
COUNT_KEYS = ("current", "previous", "matched_current", "matched_previous")
DERIVED_KEYS = ("change", "pct_change", "rate_per_1000", "z", "p_value", "p_adjusted", "significant",
                "previous_rate_per_1000", "rate_change_pct")


def primary_mark(threshold: int) -> str:
    """The text a primarily suppressed count shows, e.g. '<5'."""
    return f"<{threshold}"


def is_suppressed(value: Any) -> bool:
    """True for a cell that suppression replaced (a '<N' or '[c]' mark)."""
    return isinstance(value, str) and (value == SECONDARY_MARK or bool(re.fullmatch(r"<\d+", value)))


def _is_count(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Suppressor:
    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.mark = primary_mark(threshold)
        self.primary = 0
        self.secondary = 0
        self.values: set[int] = set()  # every value withheld (findings quoting one are withheld too)

    def small(self, v: Any) -> bool:
        return _is_count(v) and v < self.threshold

    def cell(self, d: dict[str, Any] | None, key: str) -> bool:
        """Primary suppression of d[key]; True when the cell is (now) suppressed."""
        if not isinstance(d, dict):
            return False
        v = d.get(key)
        if is_suppressed(v):
            return True
        if self.small(v):
            self.values.add(int(v))
            d[key] = self.mark
            self.primary += 1
            return True
        return False

    def row(self, r: dict[str, Any] | None) -> None:
        """Primary suppression of a table row's counts; its derived figures go when a count went."""
        if not isinstance(r, dict):
            return
        hit = [self.cell(r, k) for k in COUNT_KEYS if k in r]
        if any(hit):
            self.withhold_derived(r)
        for s in r.get("series") or []:
            self.cell(s, "count")
        for s in r.get("monthly") or []:  # the total's monthly line
            self.cell(s, "count")

    @staticmethod
    def withhold_derived(r: dict[str, Any]) -> None:
        for k in DERIVED_KEYS:
            if k in r:
                r[k] = None
        if isinstance(r.get("run"), dict):
            r["run"] = {"direction": None, "length": None}

    def group(self, cells: Iterable[tuple[dict[str, Any], str]]) -> bool:
        """Secondary suppression over cells bound by one linear relation (a sum, or an equality): with exactly
        one suppressed, the smallest published one is suppressed too. True when a cell was suppressed."""
        cells = [(d, k) for d, k in cells if isinstance(d, dict) and k in d and d[k] is not None]
        hidden = [c for c in cells if is_suppressed(c[0][c[1]])]
        if len(hidden) != 1:
            return False
        shown = [c for c in cells if _is_count(c[0][c[1]])]
        if not shown:
            return False
        d, k = min(shown, key=lambda c: c[0][c[1]])
        self.values.add(int(d[k]))
        d[k] = SECONDARY_MARK
        self.secondary += 1
        if k in COUNT_KEYS:
            self.withhold_derived(d)
        return True


_RELATIONS: tuple[list[tuple[str, list[str]]], list[tuple[str, str]]] | None = None


def theme_relations() -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]]]:
    """From the built-in theme catalogue: partitions (a theme that is exactly the sum of others, e.g. burglary =
    residential + non-residential burglary) and equalities (a theme that is one police.uk category)."""
    global _RELATIONS
    if _RELATIONS is None:
        from .classify.themes import load_themes

        themes = load_themes()
        pure = {t.id: set(t.subgroups) for t in themes.values() if t.subgroups and not (t.codes or t.groups or t.flags)}
        partitions = []
        for pid, subs in pure.items():
            kids = sorted(k for k, ks in pure.items() if k != pid and ks < subs)
            if kids and sum(len(pure[k]) for k in kids) == len(subs) and set().union(*(pure[k] for k in kids)) == subs:
                partitions.append((pid, kids))
        equal = [(t.id, t.policeuk_categories[0]) for t in themes.values() if len(t.policeuk_categories) == 1]
        _RELATIONS = (partitions, equal)
    return _RELATIONS


def _relations(a: dict[str, Any]) -> list[list[tuple[dict[str, Any], str]]]:
    """Every group of published cells bound by a sum or an equality, as (dict, key) cells."""
    groups: list[list[tuple[dict[str, Any], str]]] = []
    total = a.get("total") if isinstance(a.get("total"), dict) else {}
    unplaced = a.get("unplaced") if isinstance(a.get("unplaced"), dict) else {}
    asb = a.get("anti_social_behaviour") if isinstance(a.get("anti_social_behaviour"), dict) else {}
    wards = [w for w in a.get("wards") or [] if isinstance(w, dict)]
    cats = {c.get("id"): c for c in a.get("categories") or [] if isinstance(c, dict)}
    themes = {t.get("id"): t for t in a.get("themes") or [] if isinstance(t, dict)}
    ward_themes = [{t.get("id"): t for t in w.get("themes") or [] if isinstance(t, dict)} for w in wards]
    partitions, equal = theme_relations()
    for key in COUNT_KEYS:
        groups.append([(w, key) for w in wards] + [(unplaced, key), (total, key)])  # wards + unplaced = total
        groups.append([(c, key) for c in cats.values()] + [(total, key)])  # categories = total
        for tid in sorted({t for wt in ward_themes for t in wt} - {None}):  # the wards of a theme
            groups.append([(wt[tid], key) for wt in ward_themes if tid in wt] + ([(themes[tid], key)] if tid in themes else []))
        for scope in [themes, *ward_themes]:  # e.g. burglary = residential + non-residential
            for parent, kids in partitions:
                if parent in scope and all(k in scope for k in kids):
                    groups.append([(scope[parent], key)] + [(scope[k], key) for k in kids])
        for tid, cid in equal:  # a theme that is one police.uk category
            if tid in themes and cid in cats:
                groups.append([(themes[tid], key), (cats[cid], key)])
        if "total" in themes:
            groups.append([(themes["total"], key), (total, key)])
        if "anti_social_behaviour" in themes:
            groups.append([(themes["anti_social_behaviour"], key), (asb, key)])
    period = (a.get("period") or {}).get("label")
    compare = (a.get("compare") or {}).get("label")
    for r in [total, asb, *themes.values(), *wards]:  # a series point of the current/comparison period
        for p in r.get("series") or []:
            if isinstance(p, dict) and p.get("label") in (period, compare):
                groups.append([(r, "current" if p.get("label") == period else "previous"), (p, "count")])
    # the monthly points of each period add up to its total held
    pm = a.get("period") or {}
    cm = a.get("compare") or {}
    for key, block in (("current", pm), ("previous", cm)):
        lo, hi = block.get("start"), block.get("end")
        pts = [m for m in total.get("monthly") or [] if isinstance(m, dict) and lo and hi and lo <= str(m.get("month")) <= hi]
        if pts:
            groups.append([(total, key)] + [(m, "count") for m in pts])
    labels = sorted({p.get("label") for w in wards for p in w.get("series") or [] if isinstance(p, dict)} - {None})
    for label in labels:  # the wards' series points of one period, and the total's
        groups.append([(p, "count") for r in [*wards, total] for p in r.get("series") or []
                       if isinstance(p, dict) and p.get("label") == label])
    return groups


def suppress_assessment(a: dict[str, Any], threshold: int = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """A copy of assessment dict `a` with small counts suppressed (see the module docstring)."""
    if threshold < 1:
        from .errors import CrimeAssessError

        raise CrimeAssessError(f"suppression threshold must be at least 1, not {threshold}")
    a = copy.deepcopy(a)
    s = _Suppressor(threshold)

    # primary
    s.row(a.get("total"))
    s.row(a.get("anti_social_behaviour"))
    s.row(a.get("unplaced"))
    for r in a.get("categories") or []:
        s.row(r)
    for r in a.get("themes") or []:
        s.row(r)
    wards = a.get("wards") or []
    for w in wards:
        s.row(w)
        for t in w.get("themes") or []:
            s.row(t)
    # comparators (an area row repeats the total's or a theme's count, so it is suppressed alike)
    for r in [*(a.get("comparators") or []), *(a.get("local_authorities") or []),
              *(x for rows in (a.get("theme_comparators") or {}).values() for x in rows)]:
        s.row(r)

    # secondary, until no relation has exactly one suppressed cell
    groups = _relations(a)
    while any([s.group(g) for g in groups]):
        pass

    # other small counts
    geo = a.get("geography") or {}
    s.cell(geo, "unplaced")
    for k in list((geo.get("placed_by") or {})):
        s.cell(geo["placed_by"], k)
    agreement = geo.get("agreement")
    if isinstance(agreement, dict) and (s.cell(agreement, "compared") | s.cell(agreement, "agree")):
        agreement["share"] = None
    dq = a.get("data_quality") or {}
    s.cell(dq, "unplaced")
    for k in ("source", "lsoa", "point"):
        s.cell(dq.get("placement"), k)
    for an in dq.get("anomalies") or []:
        s.cell(an, "count")

    # The priorities and outcomes detail (place, hour × day, repeat locations, outcome shares) holds many small
    # cells with no suppression of their own yet: public-safe output leaves it out and says so.
    note = "not published in public-safe output: its small place, time and outcome cells are not suppressed"
    if a.get("priorities") is not None:
        a["priorities"] = {"items": [], "where": None, "snapped_note": None, "withheld": note}
    if a.get("outcomes") is not None:
        a["outcomes"] = {"available": False, "themes": [], "withheld": note}
    extra_withheld = _suppress_beyond(a, s)

    # findings quoting a withheld figure
    findings = a.get("findings") or []
    kept = [f for f in findings if not _quotes(f, s.values)]
    withheld = len(findings) - len(kept) + extra_withheld
    if withheld or s.primary:
        kept.append(f"Figures below {threshold} are shown as \u201c{s.mark}\u201d, and others that would reveal them "
                    f"as \u201c{SECONDARY_MARK}\u201d (public-safe output); {withheld} finding(s) "
                    "quoting them are not shown.")
    a["findings"] = kept
    a["suppression"] = {
        "threshold": threshold, "primary_mark": s.mark, "secondary_mark": SECONDARY_MARK,
        "primary_cells": s.primary, "secondary_cells": s.secondary,
        "findings_withheld": withheld,
        "rule": "counts below the threshold (zero included) are suppressed; where figures add up, one more cell is "
                "suppressed so none can be recovered by subtraction; derived figures of suppressed rows are withheld",
    }
    return a


_NUM = re.compile(r"(?<![\w.,/-])(\d{1,3}(?:,\d{3})+|\d+)(?![\w%/]|[.,]\d)")


def _quotes(text: Any, values: set[int]) -> bool:
    """True if `text` holds a standalone whole number that is one of `values`."""
    if isinstance(text, dict):
        return any(_quotes(v, values) for v in text.values())
    if isinstance(text, list):
        return any(_quotes(v, values) for v in text)
    if not isinstance(text, str) or not values:
        return False
    return any(int(m.group(1).replace(",", "")) in values for m in _NUM.finditer(text))


def suppress_rows(rows: list[dict[str, Any]], keys: Iterable[str], threshold: int = DEFAULT_THRESHOLD) -> list[dict[str, Any]]:
    """Primary suppression of the given count columns of plain table rows (e.g. a CSV about to be written)."""
    s = _Suppressor(threshold)
    out = []
    for r in rows:
        r = dict(r)
        for k in keys:
            s.cell(r, k)
        out.append(r)
    return out


class SuppressedAssessment:
    """An Assessment seen through suppression: `to_dict()`/`to_json()` give the suppressed dict; everything
    else (ward geometry, the area) comes from the wrapped assessment. Used by `serve --public`."""

    def __init__(self, assessment: Any, threshold: int = DEFAULT_THRESHOLD) -> None:
        self._inner = assessment
        self.threshold = threshold
        self._dict: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        if self._dict is None:
            self._dict = suppress_assessment(self._inner.to_dict(), self.threshold)
        return copy.deepcopy(self._dict)

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def __getattr__(self, name: str) -> Any:
        if name in ("wards", "themes", "categories", "series", "total"):
            raise AttributeError(f"{name}() is not available from a public-safe assessment; use to_dict()")
        return getattr(self._inner, name)


def _suppress_beyond(a: dict[str, Any], s: _Suppressor) -> int:
    """Expected, hotspots and harm (issue 16) in public output: grid cells and months are never published
    one by one when any is small (they add up to published totals); LSOA rows are kept only for hotspots;
    counts below the threshold are marked and their derived figures withheld, with the harm finding naming
    such a row. Returns the number of findings withheld here."""
    e = a.get("expected")
    if isinstance(e, dict):
        series = [e.get("total"), *(e.get("themes") or []), *(e.get("wards") or [])]
        for r in [x for x in series if isinstance(x, dict)]:
            if any(s.small(m.get("observed")) for m in r.get("months") or []):
                for m in r["months"]:
                    s.values.add(int(m["observed"]))
                r["months"] = []
            if s.cell(r, "observed"):
                r.update(expected=None, lower=None, upper=None, outside=None)
    h = a.get("hotspots")
    if isinstance(h, dict):
        if isinstance(h.get("grid"), dict):
            h["grid"]["rows"] = []
        lsoa = h.get("lsoa")
        if isinstance(lsoa, dict):
            lsoa["rows"] = [r for r in lsoa.get("rows") or [] if r.get("hot") or r.get("previous_hot")]
            for r in lsoa["rows"]:
                if s.cell(r, "current") | s.cell(r, "previous"):
                    r["change"] = None
    hm = a.get("harm")
    if isinstance(hm, dict):
        # rows already withheld in the main tables (primary or secondary) are withheld here too
        hidden = {(fam, r.get("id") or r.get("code")) for fam in ("themes", "wards") for r in a.get(fam) or []
                  if isinstance(r, dict) and any(is_suppressed(r.get(k)) for k in COUNT_KEYS)}
        for fam, rows in (("total", [hm.get("total")]), ("themes", hm.get("themes") or []), ("wards", hm.get("wards") or [])):
            for r in rows:
                if isinstance(r, dict) and (fam, r.get("id")) in hidden:
                    for k in COUNT_KEYS:
                        if _is_count(r.get(k)):
                            s.values.add(int(r[k]))
                            r[k] = SECONDARY_MARK
                            s.secondary += 1
        gone = []
        for r in [hm.get("total"), *(hm.get("themes") or []), *(hm.get("wards") or [])]:
            if isinstance(r, dict) and (s.cell(r, "current") | s.cell(r, "previous")
                                        | any(is_suppressed(r.get(k)) for k in COUNT_KEYS)):
                r.update(pct_change=None, harm_current=None, harm_previous=None, harm_pct_change=None, score=None,
                         previous_score=None, differs=False)
                gone.append(str(r.get("label") or "").lower())
        findings = a.get("findings") or []
        kept = [f for f in findings if not (f in (hm.get("findings") or []) and any(g and g in f.lower() for g in gone))]
        a["findings"] = kept
        return len(findings) - len(kept)
    return 0
