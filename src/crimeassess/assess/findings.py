"""Plain-English findings from an assessment dict (see docs/assessment-schema.md).

``findings(assessment)`` returns an ordered list of sentences of the kind an executive summary or press
release carries:

1. incomplete coverage, always first, with the months held and the like-for-like basis in words;
2. the total: with complete periods, its count and the current run first ("31,589 crimes were recorded in
   Southampton in 2017/18, the fourth consecutive annual rise"), then its change; with incomplete periods,
   the count "held so far" and only the like-for-like change over the months held in both periods;
3. the largest statistically significant rises and falls among themes (police.uk categories when there are
   no themes), then honest wording for the rest: "rose 30% (150 to 195), within the range normal variation
   produces", broadly unchanged, or too few to judge; a step change in a series the periods span is named;
4. wards: how many fell, where most, and the largest rise (like for like);
5. caveats, once each, only for themes reported, and dated caveats only when the periods straddle the date;
6. anti-social behaviour, separately (it is not counted as crime);
7. themes the data cannot measure (never described as zero).

Every change is the like-for-like one (``change``/``pct_change`` over ``matched_current``/``matched_previous``);
totals of unequal coverage never get a percentage.

Missing or None values are skipped or stated as unavailable; they never raise. Malformed values (a count
that is text, a table that is not a list) raise InputError.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crimeassess.assess.periods import month_from_index, month_in_words, month_index, months_in_words, period_words
from crimeassess.assess.comparators import comparator_sentence
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
    """One compared count, normalised for wording. current/previous: everything held; mcur/mprev: the
    like-for-like counts the change is computed on (equal to current/previous with complete coverage)."""

    id: str
    label: str
    available: bool
    current: int | None
    previous: int | None
    mcur: int | None
    mprev: int | None
    change: int | None
    pct: float | None
    z: float
    significant: bool | None
    small: bool | None
    run: Run | None
    caveat: str | None
    caveat_from: str | None = None
    shift: Mapping[str, Any] | None = None

    @property
    def compared(self) -> bool:
        return self.available and self.mprev is not None and self.mcur is not None

    @property
    def counts(self) -> str:
        return f"{format_int(self.mprev)} to {format_int(self.mcur)}"


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
        _get(r, "current") is not None and _get(r, "previous") is not None and "matched_current" not in r
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
        if "matched_current" in r:  # like-for-like counts; None when no month is held in both periods
            mcur = _as_count(r.get("matched_current"), f"{label} matched_current")
            mprev = _as_count(r.get("matched_previous"), f"{label} matched_previous")
        else:
            mcur, mprev = cur, prev
        change = mcur - mprev if mcur is not None and mprev is not None else None
        pct = r.get("pct_change")
        if isinstance(pct, bool) or not isinstance(pct, (int, float)) or not math.isfinite(pct):
            pct = pct_change(mcur, mprev)
        z = r.get("z")
        z = float(z) if isinstance(z, (int, float)) and not isinstance(z, bool) and math.isfinite(z) else 0.0
        shift = r.get("level_shift")
        out.append(_Row(
            id=rid, label=label, available=available, current=cur if available else None,
            previous=prev if available else None, mcur=mcur if available else None,
            mprev=mprev if available else None, change=change if available else None,
            pct=round(float(pct), 1) if available and pct is not None else None, z=z,
            significant=_bool(r.get("significant")), small=_bool(r.get("small_numbers")),
            run=_run_of(r) if available else None, caveat=_text(r.get("caveat")),
            caveat_from=_text(r.get("caveat_from")), shift=shift if isinstance(shift, Mapping) else None,
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

#: How a change within normal variation is worded.
NORMAL_VARIATION = "within the range normal variation produces"


def _mid(label: str) -> str:
    """A theme name mid-sentence: lower case, except acronyms and proper nouns ('ASB', 'Home Office')."""
    first, _, rest = label.partition(" ")
    if len(first) > 1 and (first.isupper() or any(ch.isupper() for ch in first[1:])):
        return label
    return label[:1].lower() + label[1:]


@dataclass(frozen=True)
class _Basis:
    """What the changes compare: the basis (complete | matched_months | none | unequal_lengths), the months
    held in each period, and the words for them."""

    basis: str
    cur_months: list[str]
    prev_months: list[str]
    held: int | None
    expected: int | None
    held_months: list[str]
    same_names: bool

    @property
    def complete(self) -> bool:
        return self.basis == "complete"

    @property
    def comparable(self) -> bool:
        return self.basis in ("complete", "matched_months")

    @property
    def when(self) -> str:
        """' in March' for like-for-like changes over some months; '' with complete periods."""
        if self.basis != "matched_months":
            return ""
        return " in " + months_in_words(self.cur_months, year=not self.same_names)

    @property
    def both(self) -> str:
        """'March' (or 'March 2018 against February 2018')."""
        if self.same_names:
            return months_in_words(self.cur_months, year=False)
        return f"{months_in_words(self.cur_months)} against {months_in_words(self.prev_months)}"


def _basis(cov: Any, period_block: Any) -> _Basis:
    cov = cov if isinstance(cov, Mapping) else {}
    months = [str(m) for m in cov.get("matched_months") or []]
    prev = [str(m) for m in cov.get("matched_previous_months") or []]
    basis = _text(cov.get("basis"))
    if basis is None:  # an assessment dict from before like-for-like matching: judge by the month counts
        full = not cov.get("missing_current") and not cov.get("missing_previous")
        basis = "complete" if full else "none"
    p_months: list[str] = []
    if isinstance(period_block, Mapping) and _text(period_block.get("start")) and _text(period_block.get("end")):
        try:
            a, b = month_index(period_block["start"]), month_index(period_block["end"])
            p_months = [month_from_index(i) for i in range(a, b + 1)]
        except ValueError:
            p_months = []
    missing = set(str(m) for m in cov.get("missing_current") or [])
    held = cov.get("current_months") if isinstance(cov.get("current_months"), int) else None
    expected = cov.get("months_expected") if isinstance(cov.get("months_expected"), int) else None
    same = bool(months) and all(a[5:] == b[5:] for a, b in zip(months, prev))
    return _Basis(basis, months, prev, held, expected, [m for m in p_months if m not in missing], same)


def _coverage_sentence(assessment: Mapping[str, Any], period: str, compare: str | None, b: _Basis) -> list[str]:
    cov = _get(assessment, "coverage")
    if not isinstance(cov, Mapping):
        return []

    def _int(v: Any) -> int | None:
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    expected = _int(cov.get("months_expected"))
    prev_expected = _int(cov.get("previous_months_expected")) or expected
    parts: list[str] = []
    for have, miss, label, exp in ((_int(cov.get("current_months")), cov.get("missing_current") or [], period, expected),
                                   (_int(cov.get("previous_months")), cov.get("missing_previous") or [], compare,
                                    prev_expected)):
        if label is None or not (miss or (have is not None and exp is not None and have < exp)):
            continue
        gap = f" (missing {months_in_words([str(m) for m in miss])})" if miss else ""
        if have == 0:
            parts.append(f"no month of {label}")
        elif have is not None and exp is not None:
            parts.append(f"{have} of the {plural(exp, 'month')} of {label}{gap}")
        else:
            parts.append(f"{label} is incomplete{gap}")
    out = []
    if parts:
        out.append(f"Coverage is incomplete: the store holds {join_and(parts)}.")
    if b.basis == "matched_months":
        both = "years" if b.same_names else "periods"
        out.append(f"Changes below compare only the months held for both {both}: {b.both}.")
    elif b.basis == "none" and compare is not None and parts:
        out.append("No month is held for both periods, so no change is given.")
    elif b.basis == "unequal_lengths":
        out.append(f"{sentence_case(period)} and {compare} are of different lengths, so no change is given.")
    return out


def _judgement(row: _Row) -> str:
    """Whether a change is more than normal variation, in words that follow the numbers shown."""
    if row.small:
        return "too few to judge a change"
    if row.significant:
        return "a statistically significant change"
    return NORMAL_VARIATION


def _shift_clause(row: _Row) -> str:
    if not row.shift or not _text(row.shift.get("month")):
        return ""
    try:
        when = month_in_words(str(row.shift["month"]))
    except (ValueError, IndexError):
        return ""
    return (f"; the series stepped {'up' if row.shift.get('direction') == 'up' else 'down'} in {when}, "
            "which may reflect a change in recording")


def _count_sentence(subject: str, partial_subject: str, row: _Row, compare: str | None, noun: str | None,
                    b: _Basis, run_first: bool) -> str:
    """A count and its like-for-like change: '31,589 crimes were recorded …, the fourth consecutive annual rise;
    up 0.9% on 2016/17 (31,300), within the range normal variation produces.'"""
    if not b.complete and b.held is not None and b.expected is not None and b.held < b.expected:
        subject = partial_subject
    if compare is None:
        return f"{subject}; no comparison period is available."
    if row.previous is None and row.mprev is None:
        return f"{subject}; no figure for {compare} is available for comparison."
    if b.basis == "unequal_lengths" or not b.comparable or not row.compared:
        return f"{subject}; no months are held for both periods, so no change is given."
    shift = _shift_clause(row)
    if b.basis == "matched_months":
        both = "years" if b.same_names else "periods"
        pct = "" if row.pct is None else f", {format_pct(row.pct, signed=True)}"
        return (f"{subject}. Comparing the months held for both {both}, {b.both}: {format_int(row.mcur)} against "
                f"{format_int(row.mprev)}{pct}, {_judgement(row)}{shift}.")
    direction = "rise" if (row.change or 0) > 0 else "fall"
    run = _run_clause(row.run, direction, noun) if run_first and row.change else None
    lead = f"{subject}, {run}" if run else subject
    if row.small:
        return f"{lead}; {format_int(row.mprev)} in {compare}, too few to judge a change."
    if row.change == 0:
        return f"{lead}, the same as in {compare}."
    if row.pct is None:
        return f"{lead}, up from none in {compare}{shift}."
    if row.significant is not True and abs(row.pct) < BROADLY_UNCHANGED_PCT:
        return (f"{lead}; broadly unchanged from {compare} ({format_int(row.mprev)}, "
                f"{format_pct(row.pct, signed=True)}){shift}.")
    updown = "up" if direction == "rise" else "down"
    return (f"{lead}; {updown} {format_pct(abs(row.pct))} on {compare} ({format_int(row.mprev)}), "
            f"{_judgement(row)}{shift}.")


def _one_row(assessment: Mapping[str, Any], key: str, settings: _Settings) -> _Row | None:
    """The assessment's single-row block ``key`` (total, anti-social behaviour) normalised, or None."""
    block = _get(assessment, key)
    return _rows(block, settings, key)[0] if isinstance(block, Mapping) else None


def _total_sentences(assessment: Mapping[str, Any], settings: _Settings, area: str, period: str,
                     compare: str | None, noun: str | None, b: _Basis) -> list[str]:
    row = _one_row(assessment, "total", settings)
    if row is None:
        return []
    if row.current is None:
        return [f"The number of crimes recorded in {area} in {period} is not available."]
    verb = "was" if row.current == 1 else "were"
    subject = f"{plural(row.current, 'crime')} {verb} recorded in {area} in {period}"
    partial = (f"{plural(row.current, 'crime')} {verb} recorded in {area} in the {plural(b.held, 'month')} of "
               f"{period} held so far ({months_in_words(b.held_months)})")
    out = [_count_sentence(subject, partial, row, compare, noun, b, run_first=True)]
    est = total.get("annual_estimate") if isinstance(total := _get(assessment, "total"), Mapping) else None
    if isinstance(est, Mapping) and isinstance(est.get("value"), int):
        out.append(f"Estimated for the whole of {period} from the months held: about {format_int(est['value'])} "
                   f"crimes (95% interval {format_int(est.get('low'))} to {format_int(est.get('high'))}; "
                   f"{est.get('note')}). This is an estimate, not a count, and no change is computed from it.")
    return out


def _asb_sentences(assessment: Mapping[str, Any], settings: _Settings, period: str,
                   compare: str | None, noun: str | None, b: _Basis) -> list[str]:
    asb = _get(assessment, "anti_social_behaviour")
    row = _one_row(assessment, "anti_social_behaviour", settings)
    if row is None or row.current is None:
        return []
    if _text(asb.get("basis")):  # its own months (police.uk beside a force extract) decide its basis
        pm = _get(assessment, "period")
        cm = _get(assessment, "compare")
        missing = [str(m) for m in asb.get("missing_months") or []]
        in_cur = set(_basis({}, pm).held_months)
        in_cmp = set(_basis({}, cm).held_months)
        b = _basis({"basis": asb.get("basis"), "matched_months": asb.get("matched_months"),
                    "matched_previous_months": asb.get("matched_previous_months"),
                    "missing_current": [m for m in missing if m in in_cur],
                    "missing_previous": [m for m in missing if m in in_cmp],
                    "current_months": asb.get("current_months"), "months_expected": len(in_cur) or None}, pm)
    noun_txt = plural(row.current, 'incident of anti-social behaviour', 'incidents of anti-social behaviour')
    verb = "was" if row.current == 1 else "were"
    subject = f"{noun_txt} {verb} recorded in {period} (not counted as crime)"
    partial = (f"{noun_txt} {verb} recorded in the {plural(b.held, 'month')} of {period} held so far "
               f"({months_in_words(b.held_months)}; not counted as crime)")
    return [_count_sentence(subject, partial, row, compare, noun, b, run_first=False)]


def _theme_sentences(rows: list[_Row], period: str, compare: str | None, noun: str | None,
                     item: str, b: _Basis) -> list[str]:
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
    when = b.when

    for group, verb, direction in ((rises, "rose", "rise"), (falls, "fell", "fall")):
        for r in group[:MAX_HEADLINES]:
            run = _run_clause(r.run, direction, noun) if b.complete else None
            run_txt = f", {run}" if run else ""
            if r.pct is None:
                out.append(f"{sentence_case(r.label)} {verb}{when} from {format_int(r.mprev)} to "
                           f"{format_int(r.mcur)}{run_txt}{_shift_clause(r)}.")
            else:
                out.append(f"{sentence_case(r.label)} {verb} {format_pct(abs(r.pct))}{when} ({r.counts})"
                           f"{run_txt}{_shift_clause(r)}.")
        extra = group[MAX_HEADLINES:]
        if extra:
            # a few are given with their numbers, as the headlines are; more are named only
            named = ([f"{_mid(r.label)} ({'up' if direction == 'rise' else 'down'} {format_pct(abs(r.pct))}, "
                      f"{r.counts})" if r.pct is not None else f"{_mid(r.label)} ({r.counts})" for r in extra]
                     if len(extra) <= MAX_HEADLINES else [_mid(r.label) for r in extra])
            out.append(f"{sentence_case(_listed(named, item))} also {verb} significantly{when}.")

    if len(moved) == 1:
        r = moved[0]
        verb = "rose" if (r.change or 0) > 0 else "fell"
        how = f"from {r.counts}" if r.pct is None else f"{format_pct(abs(r.pct))} ({r.counts})"
        out.append(f"{sentence_case(r.label)} {verb} {how}{when}, {NORMAL_VARIATION}{_shift_clause(r)}.")
    elif moved:
        items = []
        for r in moved:
            updown = "up" if (r.change or 0) > 0 else "down"
            items.append(f"{_mid(r.label)} ({r.counts})" if r.pct is None
                         else f"{_mid(r.label)} ({updown} {format_pct(abs(r.pct))}, {r.counts})")
        out.append(f"{sentence_case(_listed(items, item))} changed{when} {NORMAL_VARIATION}.")

    if len(unchanged) == 1:
        out.append(f"{sentence_case(unchanged[0].label)} was broadly unchanged{when} ({unchanged[0].counts}).")
    elif unchanged:
        items = [f"{_mid(r.label)} ({r.counts})" for r in unchanged]
        out.append(f"{sentence_case(_listed(items, item))} were broadly unchanged{when}.")

    if small:
        items = [f"{_mid(r.label)} ({r.counts})" for r in small]
        if len(small) == 1:
            out.append(f"{sentence_case(small[0].label)} had too few crimes to judge a change ({small[0].counts}).")
        else:
            out.append(f"{sentence_case(_listed(items, item))} had too few crimes to judge a change.")

    uncompared = [r for r in rows if r.available and not r.compared and r.previous is None and b.comparable]
    if uncompared:
        items = [f"{_mid(r.label)} ({format_int(r.current)} in {period})" for r in uncompared]
        against = f"with {compare} " if compare else ""
        out.append(f"No comparison {against}is available for {_listed(items, item)}.")
    return out


def _ward_sentences(assessment: Mapping[str, Any], settings: _Settings, b: _Basis) -> list[str]:
    rows = _rows(_get(assessment, "wards"), settings, "wards")
    if not rows:
        return _ward_summary_sentence(_get(assessment, "wards_summary"))
    known = [r for r in rows if r.compared]
    missing = len(rows) - len(known)
    missing_txt = [f"Figures for {plural(missing, 'ward')} are not available."] if missing and b.comparable else []
    n = len(known)
    if n == 0:
        return ["Ward figures are not available for comparison."] if b.comparable else []
    falls = sorted((r for r in known if (r.change or 0) < 0),
                   key=lambda r: (r.pct if r.pct is not None else 0.0, r.change or 0, r.label))
    rises = sorted((r for r in known if (r.change or 0) > 0),
                   key=lambda r: (-(r.change or 0), -(r.pct if r.pct is not None else math.inf), r.label))
    d, u = len(falls), len(rises)
    z = n - d - u
    lead = f"In {b.both}, crime" if b.basis == "matched_months" else "Crime"

    def fall_txt(r: _Row) -> str:
        return f"{r.label} ({format_pct(r.pct)})"

    def rise_txt(r: _Row) -> str:
        pct = "from 0" if r.pct is None else format_pct(r.pct, signed=True)
        return f"{r.label} ({format_int(r.change, signed=True)}, {pct})"

    wards = plural(n, "ward")
    own = [w for w in _get(assessment, "wards") or [] if isinstance(w, Mapping)]
    if n == 1 and len(own) == 1 and own[0].get("code") == (_get(assessment, "area") or {}).get("code"):
        return missing_txt  # a ward's own page: its total's sentence has said how crime changed there
    if n == 1:
        r = known[0]
        s = (f"{lead} fell in {fall_txt(r)}." if d else f"{lead} rose in {rise_txt(r)}." if u
             else f"{lead} was unchanged in {r.label}.")
    elif z == n:
        s = f"{lead} was unchanged in all {wards}."
    elif d == n:
        s = f"{lead} fell in all {wards}, most in {fall_txt(falls[0])}."
    elif u == n:
        s = f"{lead} rose in all {wards}; the largest rise in number was in {rise_txt(rises[0])}."
    else:
        if d:
            where = f", {fall_txt(falls[0])}" if d == 1 else f", most in {fall_txt(falls[0])}"
            s = f"{lead} fell in {d} of {wards}{where}"
            s += f", and was unchanged in {z}" if z else ""
            s += f"; the largest rise in number was in {rise_txt(rises[0])}." if u else "."
        else:
            s = f"{lead} rose in {u} of {wards} and was unchanged in {z}; the largest rise in number was in {rise_txt(rises[0])}."
    out = [s]

    judged = [r for r in known if r.significant is not None]
    if judged and n > 1:
        sig = [r for r in judged if r.significant and r.change]
        if not sig:
            out.append("No ward's change was outside the range normal variation produces.")
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


def _straddles(month: str | None, assessment: Mapping[str, Any]) -> bool:
    """True when the dated change falls after the comparison period starts and by the current period's end."""
    if not month:
        return True
    start = _text(_get(_get(assessment, "compare"), "start"))
    end = _text(_get(_get(assessment, "period"), "end"))
    if not start or not end:
        return True
    return start < month <= end


def _caveat_sentences(rows: list[_Row], assessment: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for r in rows:
        if not r.compared or r.small:
            continue
        rising = r.pct is not None and r.pct >= BROADLY_UNCHANGED_PCT
        if not (r.significant or (r.id.replace("-", "_") in RECORDING_DRIVEN and rising)):
            continue
        if not _straddles(r.caveat_from, assessment):
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
    return [f"{sentence_case(join_and([_mid(g) for g in gone]))} cannot be measured from these data."]


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
    period_block = _get(assessment, "period")
    period = _words(period_block) or "the current period"
    compare_block = _get(assessment, "compare")
    compare = _words(compare_block) or ("the previous period" if compare_block else None)
    kind = _text(_get(period_block, "kind"))
    noun = RUN_NOUNS.get(kind.lower()) if kind else None
    b = _basis(_get(assessment, "coverage"), period_block)

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
    out += _coverage_sentence(assessment, period, compare, b)
    out += _anomaly_sentences(assessment)
    out += _total_sentences(assessment, settings, area, period, compare, noun, b)
    out += [s for s in [_comparator_sentence(assessment.get("comparators"))] if s]
    out += _theme_sentences(themes, period, compare, noun, item, b)
    out += _ward_sentences(assessment, settings, b)
    out += _caveat_sentences(themes, assessment)
    out += _asb_sentences(assessment, settings, period, compare, noun, b)
    out += _unavailable_sentences(themes)
    out += list(_get(_get(assessment, "expected"), "findings") or [])
    out += list(_get(_get(assessment, "hotspots"), "findings") or [])
    out += list(_get(_get(assessment, "harm"), "findings") or [])
    return out


def _period_months(block: Any) -> set[str]:
    """Every month of a period block ('start' to 'end'); empty when it cannot be read."""
    if not (isinstance(block, Mapping) and block.get("start") and block.get("end")):
        return set()
    try:
        return {month_from_index(i) for i in range(month_index(str(block["start"])[:7]),
                                                    month_index(str(block["end"])[:7]) + 1)}
    except (ValueError, TypeError):
        return set()


def _compared_months(block: Any) -> set[str] | None:
    """The months a change compares when only some are (basis 'matched_months': the matched months of both
    periods); None when it compares every month of both periods."""
    if isinstance(block, Mapping) and block.get("basis") == "matched_months":
        return {str(m) for m in (block.get("matched_months") or []) + (block.get("matched_previous_months") or [])}
    return None


#: A data check is said when an anomalous month's excess or shortfall is at least this share of its category's
#: count over the compared months of its period.
MATERIAL_SHARE = 0.1


def _anomaly_sentences(assessment: Mapping[str, Any]) -> list[str]:
    """Data checks before any change: a month the changes compare whose count of a category, in the whole of
    the forces' data, is far from its neighbouring months' (data_quality.anomalies): the change may reflect
    missing or extra records. Only months that are compared; none when the data have no such month."""
    dq = _get(assessment, "data_quality")
    found = [a for a in (_get(dq, "anomalies") or []) if isinstance(a, Mapping)]
    if not found:
        return []
    periods = [_period_months(b) for b in (_get(assessment, "period"), _get(assessment, "compare"))]
    every = set().union(*periods)

    def compared(block: Any) -> dict[str, int]:
        """month compared -> how many months its period compares (all of both periods, or the matched ones)."""
        ms = _compared_months(block)
        ms = every if ms is None else ms
        return {m: len(ms & p) for p in periods for m in ms & p}

    asb = _get(assessment, "anti_social_behaviour")
    crime_months = compared(_get(assessment, "coverage"))
    asb_months = compared(asb) if isinstance(asb, Mapping) and asb.get("basis") else crime_months
    forces = _get(_get(assessment, "source"), "forces") or []
    whose = "forces'" if len(forces) > 1 else "force's"
    out = []
    for a in found:
        cat = str(a.get("category") or "")
        m = str(a.get("month") or "")
        n = (asb_months if cat.lower() == "anti-social behaviour" else crime_months).get(m)
        count, expected = a.get("count"), a.get("expected")
        if not n or not isinstance(count, (int, float)) or not isinstance(expected, (int, float)) or not expected:
            continue
        # Said only where it can move a change: the month's excess or shortfall is at least MATERIAL_SHARE of
        # the category's count over the compared months of its period (one month of twelve rarely is).
        if abs(count - expected) < MATERIAL_SHARE * expected * n:
            continue
        fewer = count < expected
        out.append(f"Data check: the {whose} data hold far {'fewer' if fewer else 'more'} {cat.lower()} records "
                   f"for {month_in_words(m)} than for the months around it ({format_int(count)} against a median "
                   f"of {format_int(expected)}, {round(100 * count / expected)}%), so changes that include "
                   f"{month_in_words(m)} may reflect {'missing' if fewer else 'extra'} records rather than a real "
                   "change.")
    return out


def _words(block: Any) -> str | None:
    """A period block in words ('March 2018'); its label when it can't be read."""
    label = _text(_get(block, "label"))
    if not isinstance(block, Mapping) or not label:
        return label
    try:
        return period_words(dict(block))
    except (KeyError, ValueError, TypeError, IndexError, AttributeError):
        return label


def _comparator_sentence(rows: Any) -> str | None:
    """The comparison sentence (assess/comparators.py), when the assessment has comparators with a rate."""
    if not isinstance(rows, list) or not rows:
        return None
    return comparator_sentence(rows)
