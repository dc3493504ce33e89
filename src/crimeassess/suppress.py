"""Public-safe output: small-number suppression of an assessment before it is published.

Force extracts are not open data: a ward × theme cell of 2 crimes can identify victims. `suppress_assessment`
works on the assessment dict (`Assessment.to_dict()`) at output time, so the JSON, the CSV tables, the HTML/PDF
report and the dashboard all show the same suppressed figures:

* **Primary suppression**: every count below the threshold (default 5, zero included) — a current or previous
  count of the total, anti-social behaviour, unplaced crimes, a category, a theme, a ward, a ward × theme cell,
  a series point, an anomalous month, a placement count — is replaced by the text ``"<5"``.
* **Secondary suppression**: where published figures add up (wards plus unplaced make the total, for the
  current and the comparison period and for every period of the ward series; categories make the total; the
  wards of one theme make the theme's count), a group with exactly one suppressed cell has its smallest other
  cell suppressed too, shown as ``"[c]"``, so no suppressed cell can be recovered by subtraction.
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
from collections.abc import Callable, Iterable
from typing import Any

#: Counts below this are suppressed in public output (`--public`).
DEFAULT_THRESHOLD = 5
#: What a secondarily suppressed cell shows.
SECONDARY_MARK = "[c]"
COUNT_KEYS = ("current", "previous")
DERIVED_KEYS = ("change", "pct_change", "rate_per_1000", "z", "p_value", "p_adjusted", "significant")


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

    @staticmethod
    def withhold_derived(r: dict[str, Any]) -> None:
        for k in DERIVED_KEYS:
            if k in r:
                r[k] = None
        if isinstance(r.get("run"), dict):
            r["run"] = {"direction": None, "length": None}

    def group(self, cells: Iterable[tuple[dict[str, Any], str]], on_secondary: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Secondary suppression over cells that add up to a published total."""
        cells = [(d, k) for d, k in cells if isinstance(d, dict) and k in d and d[k] is not None]
        hidden = [c for c in cells if is_suppressed(c[0][c[1]])]
        if len(hidden) != 1:
            return
        shown = [c for c in cells if _is_count(c[0][c[1]])]
        if not shown:
            return
        d, k = min(shown, key=lambda c: c[0][c[1]])
        self.values.add(int(d[k]))
        d[k] = SECONDARY_MARK
        self.secondary += 1
        if on_secondary:
            on_secondary(d)


def suppress_assessment(a: dict[str, Any], threshold: int = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """A copy of assessment dict `a` with small counts suppressed (see the module docstring)."""
    if threshold < 1:
        from .errors import CrimeAssessError

        raise CrimeAssessError(f"suppression threshold must be at least 1, not {threshold}")
    a = copy.deepcopy(a)
    s = _Suppressor(threshold)
    period = (a.get("period") or {}).get("label")
    compare = (a.get("compare") or {}).get("label")

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

    # secondary: wards + unplaced = total, for the current and comparison periods
    unplaced = a.get("unplaced") if isinstance(a.get("unplaced"), dict) else {}
    for key in COUNT_KEYS:
        s.group([(w, key) for w in wards] + [(unplaced, key)], s.withhold_derived)
    # categories = total
    for key in COUNT_KEYS:
        s.group([(r, key) for r in a.get("categories") or []], s.withhold_derived)
    # the wards of one theme add up to (at most) the theme's count
    theme_ids = sorted({t.get("id") for w in wards for t in w.get("themes") or []} - {None})
    for tid in theme_ids:
        cells = [t for w in wards for t in w.get("themes") or [] if t.get("id") == tid]
        for key in COUNT_KEYS:
            s.group([(t, key) for t in cells], s.withhold_derived)
    # each ward's series point for the current/comparison period is that ward's current/previous count
    for w in wards:
        for p in w.get("series") or []:
            if p.get("label") == period and is_suppressed(w.get("current")):
                p["count"] = w["current"]
            elif p.get("label") == compare and is_suppressed(w.get("previous")):
                p["count"] = w["previous"]
    # the wards' series points of one period add up too
    labels = sorted({p.get("label") for w in wards for p in w.get("series") or []} - {None})
    for label in labels:
        s.group([(p, "count") for w in wards for p in w.get("series") or [] if p.get("label") == label])
    # a ward whose series point for the current period was suppressed second shows it in its current count too
    for w in wards:
        for p in w.get("series") or []:
            if p.get("label") == period and is_suppressed(p.get("count")) and not is_suppressed(w.get("current")):
                s.values.add(int(w["current"]))
                w["current"] = p["count"]
                s.withhold_derived(w)

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

    # findings quoting a withheld figure
    findings = a.get("findings") or []
    kept = [f for f in findings if not _quotes(f, s.values)]
    withheld = len(findings) - len(kept)
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
