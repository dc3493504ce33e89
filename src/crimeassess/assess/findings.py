"""Plain-English findings from an assessment dict (see docs/assessment-schema.md).

``findings(assessment)`` returns an ordered list of sentences of the kind an executive summary or press
release carries:

1. incomplete coverage, always first;
2. the total, its change on the comparison period and the current run of rises/falls;
3. the largest statistically significant rises and falls among themes (police.uk categories when there are
   no themes), then honest wording for the rest: not statistically significant, broadly unchanged, or too
   few to judge;
4. wards: how many fell, where most, and the largest rise;
5. ONS recording-practice caveats for themes whose trends recording drives;
6. anti-social behaviour, separately (it is not counted as crime);
7. themes the data cannot measure (never described as zero).

Missing or None values are skipped or stated as unavailable; they never raise. Malformed values (a count
that is text, a table that is not a list) raise InputError.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crimeassess.assess.runs import Run, current_run
from crimeassess.assess.stats import (
    ALPHA,
    DEFAULT_METHOD,
    SMALL_NUMBER_THRESHOLD,
    _as_count,
    annotate_table,
    pct_change,
)
from crimeassess.assess.wording import (
    format_int,
    format_pct,
    join_and,
    ordinal_word,
    plural,
    sentence_case,
)
from crimeassess.errors import InputError

#: A non-significant change smaller than this (in %) is worded "broadly unchanged".
BROADLY_UNCHANGED_PCT = 2.5
#: How many significant rises (and, separately, falls) get their own sentence.
MAX_HEADLINES = 3
#: Theme ids that get their own sentences rather than a place among the theme changes.
OWN_SENTENCE_THEMES = frozenset({"total", "anti_social_behaviour"})

#: How many items a summary list names before "and N other themes".
MAX_LISTED = 5

#: Period kind -> the adjective in "the fourth consecutive annual rise".
RUN_NOUNS: dict[str, str] = {"fy": "annual", "year": "annual", "quarter": "quarterly", "month": "monthly"}

#: ONS-style caveats for themes whose police-recorded trends are driven by recording practice.
CAVEATS: dict[str, str] = {
    "hate_crime": (
        "Increases in police-recorded hate crime partly reflect improvements in recording and more victims "
        "coming forward; ONS advises against reading them as a rise in hate crime."
    ),
    "sexual_offences": (
        "Police-recorded sexual offences are affected by improvements in recording and by more victims "
        "reporting, including non-recent offences; ONS advises that rises do not necessarily mean more "
        "sexual offences are taking place."
    ),
    "rape": (
        "Police-recorded rape partly reflects improvements in recording and more victims coming forward, "
        "including to report non-recent offences; ONS advises that changes do not necessarily show a change "
        "in the number of rapes."
    ),
    "domestic_abuse": (
        "Police-recorded domestic abuse-related crime partly reflects better identification and recording by "
        "the police and more victims reporting; ONS advises that it is not a reliable measure of trends in "
        "domestic abuse."
    ),
    "violence_without_injury": (
        "Rises in police-recorded violence without injury are driven largely by improvements in crime "
        "recording; ONS advises that the Crime Survey for England and Wales is the better guide to trends "
        "in violence."
    ),
    "public_order": (
        "Rises in police-recorded public order offences partly reflect improvements in crime recording; ONS "
        "advises caution in reading them as a real increase."
    ),
}
#: Theme ids that always carry a caveat (the CAVEATS keys).
CAVEAT_THEMES = frozenset(CAVEATS)


# ---------------------------------------------------------------------------------------------- helpers


def _get(d: Any, key: str) -> Any:
    return d.get(key) if isinstance(d, Mapping) else None


def _text(v: Any) -> str | None:
    return v.strip() if isinstance(v, str) and v.strip() else None


def _bool(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


@dataclass(frozen=True)
class _Row:
    """One compared count, normalised for wording."""

    id: str
    label: str
    available: bool
    current: int | None
    previous: int | None
    change: int | None
    pct: float | None
    z: float
    significant: bool | None
    small: bool | None
    run: Run | None
    caveat: str | None

    @property
    def compared(self) -> bool:
        return self.available and self.previous is not None

    @property
    def counts(self) -> str:
        return f"{format_int(self.previous)} to {format_int(self.current)}"


def _run_of(row: Mapping[str, Any]) -> Run | None:
    run = row.get("run")
    if isinstance(run, Mapping) and "direction" in run:
        length = run.get("length")
        if isinstance(length, bool) or not isinstance(length, int):
            raise InputError(f"run length must be a whole number, not {length!r}")
        return Run(str(run["direction"]), length)
    series = row.get("series")
    if isinstance(series, Sequence) and not isinstance(series, (str, bytes)) and series:
        return current_run(series)
    return None


@dataclass(frozen=True)
class _Settings:
    method: str
    alpha: float
    threshold: int
    exposure_ratio: float


def _settings(assessment: Mapping[str, Any]) -> _Settings:
    st = _get(assessment, "statistics")
    method = _get(st, "adjustment") or DEFAULT_METHOD
    alpha = _get(st, "alpha")
    threshold = _get(st, "small_number_threshold")
    cov = _get(assessment, "coverage")
    cur_m, prev_m = _get(cov, "current_months"), _get(cov, "previous_months")
    ratio = 1.0
    if isinstance(cur_m, int) and isinstance(prev_m, int) and cur_m > 0 and prev_m > 0:
        ratio = cur_m / prev_m
    return _Settings(method, ALPHA if alpha is None else alpha,
                     SMALL_NUMBER_THRESHOLD if threshold is None else threshold, ratio)


def _rows(table: Any, settings: _Settings, what: str) -> list[_Row]:
    """Normalise a table; statistics missing from rows with counts are computed (fallback only)."""
    if table is None:
        return []
    if isinstance(table, Mapping):
        table = [table]
    if isinstance(table, (str, bytes)) or not isinstance(table, Sequence):
        raise InputError(f"assessment {what} must be a list of dicts, not {type(table).__name__}")
    rows: list[Mapping[str, Any]] = []
    for i, r in enumerate(table):
        if not isinstance(r, Mapping):
            raise InputError(f"assessment {what}[{i}] must be a dict, not {type(r).__name__}")
        rows.append(r)
    needs_stats = any(
        _get(r, "current") is not None and _get(r, "previous") is not None
        and (_bool(r.get("significant")) is None or _bool(r.get("small_numbers")) is None)
        for r in rows
    )
    if needs_stats:
        annotated = annotate_table(
            [{**r, "current": r.get("current"), "previous": r.get("previous")} for r in rows],
            method=settings.method, alpha=settings.alpha, threshold=settings.threshold,
            exposure_ratio=settings.exposure_ratio,
        )
        # keep the row's own values; only fill what was missing
        rows = [{**a, **{k: v for k, v in r.items() if v is not None}} for r, a in zip(rows, annotated)]
    out = []
    for i, r in enumerate(rows):
        rid = str(r.get("id") or r.get("code") or "")
        label = _text(r.get("label")) or _text(r.get("name")) or rid or f"{what} {i + 1}"
        cur = _as_count(r.get("current"), f"{label} current")
        prev = _as_count(r.get("previous"), f"{label} previous")
        available = r.get("available") is not False and cur is not None
        change = cur - prev if cur is not None and prev is not None else None
        pct = r.get("pct_change")
        if isinstance(pct, bool) or not isinstance(pct, (int, float)) or not math.isfinite(pct):
            pct = pct_change(cur, prev)
        z = r.get("z")
        z = float(z) if isinstance(z, (int, float)) and not isinstance(z, bool) and math.isfinite(z) else 0.0
        out.append(_Row(
            id=rid, label=label, available=available, current=cur if available else None,
            previous=prev if available else None, change=change if available else None,
            pct=round(float(pct), 1) if available and pct is not None else None, z=z,
            significant=_bool(r.get("significant")), small=_bool(r.get("small_numbers")),
            run=_run_of(r) if available else None, caveat=_text(r.get("caveat")),
        ))
    return out


def _rank(r: _Row) -> tuple[float, int, str]:
    """Most significant first (largest |Z|), then largest absolute change, then by name."""
    return (-abs(r.z), -abs(r.change or 0), r.label)


def _run_clause(run: Run | None, direction: str, noun: str | None) -> str | None:
    """'the fourth consecutive annual rise' when the run has at least two steps in ``direction``."""
    if run is None or run.direction != direction or run.length < 2:
        return None
    kind = f"{noun} " if noun else ""
    return f"the {ordinal_word(run.length)} consecutive {kind}{direction}"


def _month_ranges(months: Sequence[Any]) -> list[str]:
    """['2017-04', '2017-05', '2017-06', '2017-10', '2017-11'] -> ['2017-04 to 2017-06', '2017-10', '2017-11']."""
    parsed: list[tuple[int, str]] = []
    others: list[str] = []
    for m in months:
        s = str(m)
        try:
            y, mo = s.split("-")
            parsed.append((int(y) * 12 + int(mo) - 1, s))
        except ValueError:
            others.append(s)
    parsed.sort()
    out: list[str] = []
    i = 0
    while i < len(parsed):
        j = i
        while j + 1 < len(parsed) and parsed[j + 1][0] == parsed[j][0] + 1:
            j += 1
        if j - i >= 2:  # three or more consecutive months read better as a range
            out.append(f"{parsed[i][1]} to {parsed[j][1]}")
        else:
            out.extend(p[1] for p in parsed[i:j + 1])
        i = j + 1
    return out + others


def _listed(items: list[str], noun: str) -> str:
    """Name at most MAX_LISTED items, then 'and N other <noun>s'."""
    if len(items) <= MAX_LISTED:
        return join_and(items)
    rest = len(items) - MAX_LISTED
    return join_and(items[:MAX_LISTED] + [f"{rest} other {noun if rest == 1 else noun + 's'}"])


# ---------------------------------------------------------------------------------------------- sections


def _coverage_sentence(assessment: Mapping[str, Any], period: str, compare: str | None) -> list[str]:
    cov = _get(assessment, "coverage")
    if not isinstance(cov, Mapping):
        return []
    def _int(v: Any) -> int | None:
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    expected = _int(cov.get("months_expected"))
    # The comparison may span a different number of months (day-based periods): it has its own expectation.
    prev_expected = _int(cov.get("previous_months_expected")) or expected

    def side(months: Any, missing: Any, exp: int | None) -> tuple[int | None, list[str]]:
        miss = [str(m) for m in missing] if isinstance(missing, Sequence) and not isinstance(missing, str) else []
        have = _int(months)
        if have is None and exp is not None and miss:
            have = exp - len(miss)
        return have, miss

    cur_have, cur_miss = side(cov.get("current_months"), cov.get("missing_current"), expected)
    prev_have, prev_miss = side(cov.get("previous_months"), cov.get("missing_previous"), prev_expected)
    cur_short = bool(cur_miss) or (cur_have is not None and expected is not None and cur_have < expected)
    prev_short = compare is not None and (
        bool(prev_miss) or (prev_have is not None and prev_expected is not None and prev_have < prev_expected))
    if not cur_short and not prev_short:
        if cov.get("complete") is False:
            return ["Coverage is incomplete: not every month of the periods compared is in the store; "
                    "changes below may compare unequal periods."]
        return []

    parts: list[str] = []
    for short, have, miss, label, exp in ((cur_short, cur_have, cur_miss, period, expected),
                                          (prev_short, prev_have, prev_miss, compare, prev_expected)):
        if not short:
            continue
        gap = f" (missing {', '.join(_month_ranges(miss))})" if miss else ""
        if have is not None and exp is not None:
            if not parts:
                verb = "is" if have == 1 else "are"
                parts.append(f"{have} of {plural(exp, 'month')} {verb} in the store for {label}{gap}")
            else:
                parts.append(f"{have} of {exp} for {label}{gap}")
        else:
            parts.append(f"{label} is incomplete{gap}")
    if compare is None:
        tail = "the figures below do not cover the whole period"
    elif cur_have is not None and cur_have == prev_have:
        tail = "both periods are equally short, but the figures below do not cover either in full"
    else:
        tail = "changes below compare unequal periods"
    return [f"Coverage is incomplete: {join_and(parts)}; {tail}."]


def _change_sentence(subject: str, row: _Row, compare: str | None, noun: str | None) -> str:
    """'<subject>, up 8.9% on 2016/17 (29,000); the fourth consecutive annual rise.' and its variants."""
    if row.previous is None:
        if compare is None:
            return f"{subject}; no comparison period is available."
        return f"{subject}; no figure for {compare} is available for comparison."
    compare = compare or "the previous period"
    if row.small:
        return f"{subject}, compared with {format_int(row.previous)} in {compare}; too few to judge a change."
    if row.change == 0:
        return f"{subject}, the same as in {compare}."
    direction = "rise" if (row.change or 0) > 0 else "fall"
    run = _run_clause(row.run, direction, noun)
    run_txt = f"; {run}" if run else ""
    if row.pct is None:  # from a zero base
        return f"{subject}, up from none in {compare}{run_txt}."
    if row.significant is False and abs(row.pct) < BROADLY_UNCHANGED_PCT:
        return (f"{subject}, broadly unchanged from {compare} "
                f"({format_int(row.previous)}; {format_pct(row.pct, signed=True)}).")
    updown = "up" if direction == "rise" else "down"
    caution = ", not a statistically significant change" if row.significant is False else ""
    return (f"{subject}, {updown} {format_pct(abs(row.pct))} on {compare} ({format_int(row.previous)})"
            f"{caution}{run_txt}.")


def _total_sentences(assessment: Mapping[str, Any], settings: _Settings, area: str, period: str,
                     compare: str | None, noun: str | None) -> list[str]:
    total = _get(assessment, "total")
    if not isinstance(total, Mapping):
        return []
    (row,) = _rows(total, settings, "total")
    if row.current is None:
        return [f"The number of crimes recorded in {area} in {period} is not available."]
    verb = "was" if row.current == 1 else "were"
    subject = f"{plural(row.current, 'crime')} {verb} recorded in {area} in {period}"
    return [_change_sentence(subject, row, compare, noun)]


def _asb_sentences(assessment: Mapping[str, Any], settings: _Settings, period: str,
                   compare: str | None, noun: str | None) -> list[str]:
    asb = _get(assessment, "anti_social_behaviour")
    if not isinstance(asb, Mapping):
        return []
    (row,) = _rows(asb, settings, "anti_social_behaviour")
    if row.current is None:
        return []
    verb = "was" if row.current == 1 else "were"
    subject = (f"{plural(row.current, 'incident of anti-social behaviour', 'incidents of anti-social behaviour')}"
               f" {verb} recorded in {period} (not counted as crime)")
    return [_change_sentence(subject, row, compare, noun)]


def _theme_sentences(rows: list[_Row], period: str, compare: str | None, noun: str | None,
                     item: str) -> list[str]:
    compared = [r for r in rows if r.compared]
    out: list[str] = []
    small = [r for r in compared if r.small]
    judged = [r for r in compared if not r.small]
    sig = [r for r in judged if r.significant and r.change]
    rises = sorted((r for r in sig if (r.change or 0) > 0), key=_rank)
    falls = sorted((r for r in sig if (r.change or 0) < 0), key=_rank)
    rest = [r for r in judged if r not in sig]
    unchanged = [r for r in rest if r.change == 0 or (r.pct is not None and abs(r.pct) < BROADLY_UNCHANGED_PCT)]
    moved = sorted((r for r in rest if r not in unchanged), key=_rank)

    for group, verb, direction in ((rises, "rose", "rise"), (falls, "fell", "fall")):
        for r in group[:MAX_HEADLINES]:
            run = _run_clause(r.run, direction, noun)
            run_txt = f", {run}" if run else ""
            if r.pct is None:
                out.append(f"{sentence_case(r.label)} {verb} from {format_int(r.previous)} to "
                           f"{format_int(r.current)}{run_txt}.")
            else:
                out.append(f"{sentence_case(r.label)} {verb} {format_pct(abs(r.pct))} ({r.counts}){run_txt}.")
        extra = group[MAX_HEADLINES:]
        if extra:
            out.append(f"{sentence_case(_listed([r.label for r in extra], item))} also {verb} significantly.")

    if len(moved) == 1:
        r = moved[0]
        verb = "rose" if (r.change or 0) > 0 else "fell"
        how = f"from {r.counts}" if r.pct is None else f"{format_pct(abs(r.pct))} ({r.counts})"
        out.append(f"{sentence_case(r.label)} {verb} {how}, not statistically significant.")
    elif moved:
        items = []
        for r in moved:
            updown = "up" if (r.change or 0) > 0 else "down"
            items.append(f"{r.label} ({r.counts})" if r.pct is None
                         else f"{r.label} ({updown} {format_pct(abs(r.pct))}, {r.counts})")
        out.append(f"Changes in {_listed(items, item)} were not statistically significant.")

    if len(unchanged) == 1:
        out.append(f"{sentence_case(unchanged[0].label)} was broadly unchanged ({unchanged[0].counts}).")
    elif unchanged:
        items = [f"{r.label} ({r.counts})" for r in unchanged]
        out.append(f"{sentence_case(_listed(items, item))} were broadly unchanged.")

    if small:
        items = [f"{r.label} ({r.counts})" for r in small]
        if len(small) == 1:
            out.append(f"{sentence_case(small[0].label)} had too few crimes to judge a change ({small[0].counts}).")
        else:
            out.append(f"{sentence_case(_listed(items, item))} had too few crimes to judge a change.")

    uncompared = [r for r in rows if r.available and r.previous is None]
    if uncompared:
        items = [f"{r.label} ({format_int(r.current)} in {period})" for r in uncompared]
        against = f"with {compare} " if compare else ""
        out.append(f"No comparison {against}is available for {_listed(items, item)}.")
    return out


def _ward_sentences(assessment: Mapping[str, Any], settings: _Settings) -> list[str]:
    rows = _rows(_get(assessment, "wards"), settings, "wards")
    if not rows:
        return _ward_summary_sentence(_get(assessment, "wards_summary"))
    known = [r for r in rows if r.compared]
    missing = len(rows) - len(known)
    missing_txt = [f"Figures for {plural(missing, 'ward')} are not available."] if missing else []
    n = len(known)
    if n == 0:
        return ["Ward figures are not available for comparison."]
    falls = sorted((r for r in known if (r.change or 0) < 0),
                   key=lambda r: (r.pct if r.pct is not None else 0.0, r.change or 0, r.label))
    rises = sorted((r for r in known if (r.change or 0) > 0),
                   key=lambda r: (-(r.change or 0), -(r.pct if r.pct is not None else math.inf), r.label))
    d, u = len(falls), len(rises)
    z = n - d - u

    def fall_txt(r: _Row) -> str:
        return f"{r.label} ({format_pct(r.pct)})"

    def rise_txt(r: _Row) -> str:
        pct = "from 0" if r.pct is None else format_pct(r.pct, signed=True)
        return f"{r.label} ({format_int(r.change, signed=True)}, {pct})"

    wards = plural(n, "ward")
    if n == 1:
        r = known[0]
        if d:
            s = f"Crime fell in the only ward, {fall_txt(r)}."
        elif u:
            s = f"Crime rose in the only ward, {rise_txt(r)}."
        else:
            s = f"Crime was unchanged in the only ward, {r.label}."
    elif z == n:
        s = f"Crime was unchanged in all {wards}."
    elif d == n:
        s = f"Crime fell in all {wards}, most in {fall_txt(falls[0])}."
    elif u == n:
        s = f"Crime rose in all {wards}; the largest rise was in {rise_txt(rises[0])}."
    else:
        largest_rise = "the only rise was in" if u == 1 else "the largest rise was in"
        if d:
            where = f", {fall_txt(falls[0])}" if d == 1 else f", most in {fall_txt(falls[0])}"
            s = f"Crime fell in {d} of {wards}{where}"
            s += f", and was unchanged in {z}" if z else ""
            s += f"; {largest_rise} {rise_txt(rises[0])}." if u else "."
        else:
            s = f"Crime rose in {u} of {wards} and was unchanged in {z}; {largest_rise} {rise_txt(rises[0])}."
    out = [s]

    judged = [r for r in known if r.significant is not None]
    if judged and n > 1:
        sig = [r for r in judged if r.significant and r.change]
        if not sig:
            out.append("No ward's change was statistically significant.")
        else:
            up = sum(1 for r in sig if (r.change or 0) > 0)
            parts = [p for p in (plural(up, "rise") if up else "",
                                 plural(len(sig) - up, "fall") if len(sig) > up else "") if p]
            named = sorted(sig, key=lambda r: -abs(r.pct if r.pct is not None else 0.0))[:MAX_LISTED]
            names = join_and([f"{r.label} ({format_pct(r.pct, signed=True)})" if r.pct is not None else r.label
                              for r in named])
            more = f" and {plural(len(sig) - len(named), 'other')}" if len(sig) > len(named) else ""
            out.append(f"The change was statistically significant in {len(sig)} of {wards} "
                       f"({', '.join(parts)}): {names}{more}.")
    return out + missing_txt


def _ward_summary_sentence(summary: Any) -> list[str]:
    """Fallback when only wards_summary {up, down, unchanged, total} is given."""
    if not isinstance(summary, Mapping):
        return []
    vals = {k: summary.get(k) for k in ("up", "down", "unchanged", "total")}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in vals.values()) or vals["total"] <= 0:
        return []
    parts = [f"fell in {vals['down']} of {plural(vals['total'], 'ward')}"]
    if vals["up"]:
        parts.append(f"rose in {vals['up']}")
    if vals["unchanged"]:
        parts.append(f"was unchanged in {vals['unchanged']}")
    return [f"Crime {join_and(parts)}."]


#: Themes whose police-recorded rises ONS attributes largely to recording practice: their caveat goes with any
#: apparent rise, significant or not. Other caveats go only with a statistically significant change.
RECORDING_DRIVEN = frozenset({"hate_crime", "sexual_offences", "rape", "domestic_abuse"})


def _caveat_sentences(rows: list[_Row]) -> list[str]:
    out: list[str] = []
    for r in rows:
        if not r.available:
            continue
        rising = r.pct is not None and r.pct >= BROADLY_UNCHANGED_PCT
        if not (r.significant or (r.id.replace("-", "_") in RECORDING_DRIVEN and rising)):
            continue
        text = r.caveat or CAVEATS.get(r.id.replace("-", "_"))
        if not text:
            continue
        text = sentence_case(text if text.endswith((".", "!", "?")) else text + ".")
        if text not in out:
            out.append(text)
    return out


def _unavailable_sentences(rows: list[_Row]) -> list[str]:
    gone = [r.label for r in rows if not r.available]
    if not gone:
        return []
    return [f"{sentence_case(join_and(gone))} cannot be measured from these data."]


# ---------------------------------------------------------------------------------------------- public


def findings(assessment: Mapping[str, Any]) -> list[str]:
    """Ordered plain-English findings for an assessment dict (docs/assessment-schema.md), or any object
    with a ``to_dict()`` giving one.

    Statistics missing from rows (p-values, significance, small numbers) are computed with the settings in
    ``assessment['statistics']``; None or missing sections are skipped, never treated as zero.
    """
    if not isinstance(assessment, Mapping) and callable(getattr(assessment, "to_dict", None)):
        assessment = assessment.to_dict()
    if not isinstance(assessment, Mapping):
        raise InputError(f"findings needs an assessment dict, not {type(assessment).__name__}")
    settings = _settings(assessment)
    area = _text(_get(_get(assessment, "area"), "name")) or "the area"
    period = _text(_get(_get(assessment, "period"), "label")) or "the current period"
    compare_block = _get(assessment, "compare")
    compare = _text(_get(compare_block, "label")) or ("the previous period" if compare_block else None)
    kind = _text(_get(_get(assessment, "period"), "kind"))
    noun = RUN_NOUNS.get(kind.lower()) if kind else None

    # The total and anti-social behaviour have sentences of their own.
    raw_themes = _get(assessment, "themes")
    if isinstance(raw_themes, list):
        raw_themes = [t for t in raw_themes if not (isinstance(t, dict) and t.get("id") in OWN_SENTENCE_THEMES)]
    themes = _rows(raw_themes, settings, "themes")
    item = "theme"
    if not themes:
        themes = _rows(_get(assessment, "categories"), settings, "categories")
        item = "crime type"

    out: list[str] = []
    out += _coverage_sentence(assessment, period, compare)
    out += _total_sentences(assessment, settings, area, period, compare, noun)
    out += [s for s in [_comparator_sentence(assessment.get("comparators"))] if s]
    out += _theme_sentences(themes, period, compare, noun, item)
    out += _ward_sentences(assessment, settings)
    out += _caveat_sentences(themes)
    out += _asb_sentences(assessment, settings, period, compare, noun)
    out += _unavailable_sentences(themes)
    return out


def _comparator_sentence(rows: Any) -> str | None:
    """The comparison sentence (assess/comparators.py), when the assessment has comparators with a rate."""
    if not isinstance(rows, list) or not rows:
        return None
    from .comparators import comparator_sentence

    return comparator_sentence(rows)
