"""The assessment as typed objects (frozen dataclasses with documented attributes).

``AssessmentResult.to_dict()`` is the only JSON boundary: it gives exactly the object documented in
docs/assessment-schema.md (``tests/test_golden_assessment.py`` pins it). Every record keeps keys it does not
model in ``extra`` (added by later versions or by a plug-in), so nothing is lost on the way through, and an
attribute that a row does not carry (e.g. ``series`` on an unavailable theme) is left out of its dict rather
than written as null.

Example::

    res = assess("Southampton", "2017/18", store="my-store").result
    res.total.pct_change, res.total.significant, res.coverage.basis
    [(w.name, w.change) for w in res.wards if w.significant]
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .runs import Run


class _Missing:
    """Marks an attribute a record does not carry (left out of its dict)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


@dataclass(frozen=True)
class _Record:
    """Common machinery: build from a dict (unknown keys into ``extra``), write back to one."""

    #: field name -> record class for nested records (a list of them, or one).
    NESTED: ClassVar[dict[str, type]] = {}
    #: fields written first (a row's identity before its figures).
    FIRST: ClassVar[tuple[str, ...]] = ()
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:
        names = _field_names(cls)
        kw: dict[str, Any] = {}
        for n in names:
            if n not in d:
                kw[n] = MISSING
                continue
            v = d[n]
            sub = cls.NESTED.get(n)
            if sub is not None and v is not None:
                if isinstance(v, list):
                    v = tuple(sub.from_dict(x) if isinstance(x, Mapping) else x for x in v)
                elif isinstance(v, Mapping):
                    v = sub.from_dict(v)
            kw[n] = v
        return cls(extra={k: v for k, v in d.items() if k not in names}, **kw)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (docs/assessment-schema.md)."""
        out: dict[str, Any] = {}
        names = _field_names(type(self))
        for name in [*self.FIRST, *(n for n in names if n not in self.FIRST)]:
            v = getattr(self, name)
            if v is MISSING:
                continue
            out[name] = _plain(v)
        out.update(self.extra)
        return out


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    """A record class's field names but ``extra`` (cached: a ward table builds thousands of records)."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.name != "extra")


def _plain(v: Any) -> Any:
    if isinstance(v, _Record):
        return v.to_dict()
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


@dataclass(frozen=True)
class SeriesPoint(_Record):
    """One period of a series.

    Attributes
    ----------
    label, start, end : str
        The period's label and first/last month (days for day-based periods).
    count : int | None
        Crimes in the months held; None when the store holds none of the period's months.
    complete : bool
        Every month of the period is held.
    months_held, months : int
        Months held, and months in the period.
    """

    label: str = MISSING
    start: str = MISSING
    end: str = MISSING
    count: int | None = MISSING
    complete: bool = MISSING
    months_held: int = MISSING
    months: int = MISSING


@dataclass(frozen=True)
class Compared(_Record):
    """A compared count: the current and comparison periods, like for like, with its test and rate.

    Attributes
    ----------
    current, previous : int | None
        Crimes held in each period (None when the period has no month in the store).
    matched_current, matched_previous : int | None
        The like-for-like counts: the months held in both periods. ``change`` and the test use these.
    change : int | None
        matched_current − matched_previous.
    pct_change : float | None
        % change like for like, one decimal; None from a zero base.
    p_value, p_adjusted : float | None
        The test's p-value, and adjusted within the row's family.
    z : float | None
        The test statistic (its sign is the direction).
    significant : bool
        Adjusted p < alpha and not small numbers.
    small_numbers : bool | None
        Both counts below the small-number threshold.
    dispersion : float | None
        The family's dispersion used by the test (None: the exact Poisson test was used).
    rate_per_1000, previous_rate_per_1000 : float | None
        Crimes per 1,000 residents (households for burglary) a year, each period with its own population.
    rate_change_pct : float | None
        The like-for-like rate change.
    matched_rate_per_1000, matched_previous_rate_per_1000 : float | None
        The two rates ``rate_change_pct`` compares: a year over the months held in both periods.
    rate_base : str
        "residents" or "households".
    run : Run
        The current run of rises or falls.
    series : tuple[SeriesPoint, ...]
        This and earlier periods, oldest first.
    level_shift : dict | None
        A step change in the series between the comparison's start and the period's end.
    """

    current: int | None = MISSING
    previous: int | None = MISSING
    matched_current: int | None = MISSING
    matched_previous: int | None = MISSING
    change: int | None = MISSING
    pct_change: float | None = MISSING
    p_value: float | None = MISSING
    p_adjusted: float | None = MISSING
    z: float | None = MISSING
    significant: bool = MISSING
    small_numbers: bool | None = MISSING
    dispersion: float | None = MISSING
    rate_per_1000: float | None = MISSING
    previous_rate_per_1000: float | None = MISSING
    rate_change_pct: float | None = MISSING
    matched_rate_per_1000: float | None = MISSING
    matched_previous_rate_per_1000: float | None = MISSING
    rate_base: str = MISSING
    run: Any = MISSING
    series: tuple[SeriesPoint, ...] = MISSING
    level_shift: Mapping[str, Any] | None = MISSING
    NESTED: ClassVar[dict[str, type]] = {"series": SeriesPoint}

    @property
    def run_object(self) -> Run | None:
        """``run`` as a :class:`~crimeassess.assess.runs.Run`."""
        r = self.run
        return Run(r["direction"], r["length"]) if isinstance(r, Mapping) else None


@dataclass(frozen=True)
class Total(Compared):
    """The area's total recorded crime (a :class:`Compared`), with ``monthly``: every month held from the
    comparison's start to the period's end, as ``{"month", "count"}``; and ``annual_estimate``: for a year of
    which only some months are held, an estimate of the whole year (``assess/estimate.py``), else None."""

    monthly: tuple[Mapping[str, Any], ...] = MISSING
    annual_estimate: Mapping[str, Any] | None = MISSING


@dataclass(frozen=True)
class CategoryRow(Compared):
    """A police.uk crime category (``id``, ``label``) compared."""

    id: str = MISSING
    label: str = MISSING
    FIRST: ClassVar[tuple[str, ...]] = ("id", "label")


@dataclass(frozen=True)
class ThemeRow(Compared):
    """A theme compared. ``available`` False: the source can't measure it (counts None, never 0);
    ``caveat`` and ``caveat_from`` (YYYY-MM of a dated change) as in the theme catalogue."""

    id: str = MISSING
    label: str = MISSING
    available: bool = MISSING
    caveat: str | None = MISSING
    caveat_from: str | None = MISSING
    FIRST: ClassVar[tuple[str, ...]] = ("id", "label", "available", "caveat", "caveat_from")


@dataclass(frozen=True)
class WardThemeRow(Compared):
    """A theme within a ward (``id``)."""

    id: str = MISSING
    FIRST: ClassVar[tuple[str, ...]] = ("id",)


@dataclass(frozen=True)
class WardRow(Compared):
    """A ward compared: ``code``, ``name``, ``rank`` (by current count), ``population`` and ``themes``."""

    code: str = MISSING
    name: str | None = MISSING
    rank: int = MISSING
    population: int | None = MISSING
    themes: tuple[WardThemeRow, ...] = MISSING
    NESTED: ClassVar[dict[str, type]] = {"series": SeriesPoint, "themes": WardThemeRow}
    FIRST: ClassVar[tuple[str, ...]] = ("code", "name")


@dataclass(frozen=True)
class AsbRow(Compared):
    """Anti-social behaviour (never crime), compared like for like on its own months.

    Attributes: ``available``, ``source`` (the source kind it came from), ``basis``, ``matched_months``,
    ``matched_previous_months``, ``current_months``, ``previous_months``, ``complete``, ``missing_months``.
    """

    available: bool = MISSING
    source: str | None = MISSING
    basis: str = MISSING
    matched_months: list[str] = MISSING
    matched_previous_months: list[str] = MISSING
    current_months: int = MISSING
    previous_months: int = MISSING
    complete: bool = MISSING
    missing_months: list[str] = MISSING


@dataclass(frozen=True)
class Coverage(_Record):
    """Which months each period holds and how they were compared.

    Attributes
    ----------
    months_expected, previous_months_expected : int
        Months in the current and comparison periods.
    current_months, previous_months : int
        Months held.
    complete : bool
        Every month of both periods held.
    missing_current, missing_previous : list[str]
        Months not held.
    basis : str
        "complete", "matched_months" (only months held in both are compared), "none" or "unequal_lengths".
    matched_months, matched_previous_months : list[str]
        The months compared like for like, pairwise.
    """

    months_expected: int = MISSING
    current_months: int = MISSING
    previous_months: int = MISSING
    complete: bool = MISSING
    missing_current: list[str] = MISSING
    missing_previous: list[str] = MISSING
    previous_months_expected: int = MISSING
    basis: str = MISSING
    matched_months: list[str] = MISSING
    matched_previous_months: list[str] = MISSING


@dataclass(frozen=True)
class DataQuality(_Record):
    """The data-quality block: ``months`` per source and force, ``inputs`` and revisions, ``geography_inputs``,
    ``unplaced``, ``blank_lsoa_rate``, ``quarantined_rows``, ``placement``, ``anomalies``, ``stray_forces``,
    ``missing_months``, ``level_shifts`` and ``notes`` (see docs/assessment-schema.md)."""

    months: list[Mapping[str, Any]] = MISSING
    inputs: list[Mapping[str, Any]] = MISSING
    geography_inputs: list[Mapping[str, Any]] = MISSING
    unplaced: int | None = MISSING
    blank_lsoa_rate: float | None = MISSING
    quarantined_rows: int = MISSING
    placement: Mapping[str, Any] = MISSING
    anomalies: list[Mapping[str, Any]] = MISSING
    stray_forces: list[Mapping[str, Any]] = MISSING
    missing_months: list[Mapping[str, Any]] = MISSING
    level_shifts: list[Mapping[str, Any]] = MISSING
    notes: list[str] = MISSING


@dataclass(frozen=True)
class AssessmentResult(_Record):
    """A whole assessment.

    Attributes
    ----------
    schema_version : int
    generated_at : str
        ISO time, UTC.
    area, period, compare, source, geography, population, unplaced, wards_summary, statistics : dict
        As documented in docs/assessment-schema.md.
    coverage : Coverage
    total : Total
    anti_social_behaviour : AsbRow
    categories : tuple[CategoryRow, ...]
    themes : tuple[ThemeRow, ...]
    wards : tuple[WardRow, ...]
    data_quality : DataQuality
    findings : list[str]
        Plain-English findings, coverage first.
    """

    schema_version: int = MISSING
    generated_at: str = MISSING
    area: Mapping[str, Any] = MISSING
    period: Mapping[str, Any] = MISSING
    compare: Mapping[str, Any] = MISSING
    source: Mapping[str, Any] = MISSING
    geography: Mapping[str, Any] = MISSING
    population: Mapping[str, Any] | None = MISSING
    coverage: Coverage = MISSING
    total: Total = MISSING
    anti_social_behaviour: AsbRow = MISSING
    unplaced: Mapping[str, Any] = MISSING
    categories: tuple[CategoryRow, ...] = MISSING
    themes: tuple[ThemeRow, ...] = MISSING
    wards: tuple[WardRow, ...] = MISSING
    wards_summary: Mapping[str, Any] = MISSING
    statistics: Mapping[str, Any] = MISSING
    data_quality: DataQuality = MISSING
    findings: list[str] = MISSING
    NESTED: ClassVar[dict[str, type]] = {
        "coverage": Coverage, "total": Total, "anti_social_behaviour": AsbRow, "categories": CategoryRow,
        "themes": ThemeRow, "wards": WardRow, "data_quality": DataQuality}
