"""The registry of source kinds: one record per kind of input, saying how it is recognised, read and what it
can support. Ingest, themes, the engine, the report and the dashboard ask it instead of comparing strings.

Adding a source is one reader module in ``sources/`` plus one :class:`SourceKind` entry in :data:`KINDS`
(see docs/ARCHITECTURE.md, "How to add a source").
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .base import ReadResult, first_byte
from .extract import looks_like_extract, read_extract_bytes
from .homeoffice import looks_like_homeoffice_table
from .outcomes import read_outcomes_csv
from .policeuk import csv_kind, looks_like_api_json, read_api_json, read_street_csv


@dataclass(frozen=True)
class Sample:
    """What detection looks at: the file's bytes, its CSV header (empty for JSON) and the user's mapping."""

    data: bytes
    header: list[str]
    mapping: Path | None = None

    @property
    def is_json(self) -> bool:
        return first_byte(self.data) == b"["


Reader = Callable[..., ReadResult]


@dataclass(frozen=True)
class SourceKind:
    """One kind of input.

    Attributes
    ----------
    id : the value of ``source_kind`` in records, the manifest and the assessment JSON.
    label : how the assessment JSON names the source (``source.label``).
    title : a short name for pickers and tables ("Force extract").
    description : the longer name the report's methodology uses.
    priority : lower is preferred when several kinds cover an area (the engine picks one kind).
    detect : recognises a :class:`Sample` as this kind.
    reader : ``reader(data, input_id=, display_name=, mapping=, force=) -> ReadResult``; None for kinds that
        are recognised but not ingested (their files are listed as skipped).
    read_options : ingest options that change what the reader produces (part of the input id).
    scope : ``"force"`` when a later input replaces an earlier one for the same force and month,
        ``"file"`` when only the same file name replaces it (API responses are per polygon).
    offence_codes, flags, recorded_dates, asb, location_type, outcomes, aggregated_counts, area_codes :
        capabilities: Home Office offence codes; knife/hate/domestic flags; recorded dates (day-based
        periods); anti-social behaviour incidents; location type; outcomes; counts already aggregated rather
        than one row a crime; records that may carry their own LSOA/ward/local authority codes and names.
    place_type, location_text, occurred_times : where/when selectors (``classify.selectors``): a place type
        per crime (extract ``location_type``); police.uk location text ("On or near Nightclub"); a time of day.
    counts_crime : False for kinds whose records are not crimes to count (police.uk outcomes: events about
        crimes, joined to street crimes by Crime ID); such kinds are ingested but never chosen as the
        assessment's source, offered in pickers or given themes.
    """

    id: str
    label: str
    title: str
    description: str
    priority: int
    detect: Callable[[Sample], bool]
    reader: Reader | None = None
    read_options: tuple[str, ...] = ()
    scope: str = "force"
    offence_codes: bool = False
    flags: bool = False
    recorded_dates: bool = False
    asb: bool = False
    location_type: bool = False
    outcomes: bool = False
    aggregated_counts: bool = False
    area_codes: bool = False
    place_type: bool = False
    location_text: bool = False
    occurred_times: bool = False
    counts_crime: bool = True

    @property
    def ingestible(self) -> bool:
        return self.reader is not None

    def read(self, data: bytes, *, input_id: str, display_name: str, mapping: Path | None = None,
             force: str | None = None) -> ReadResult:
        """Read one input's bytes into canonical records and quarantine."""
        if self.reader is None:
            raise InputError(f"{display_name}: {self.id} files cannot be ingested")
        return self.reader(data, input_id=input_id, display_name=display_name, mapping=mapping, force=force)


def _street(data: bytes, *, input_id: str, display_name: str, **_: Any) -> ReadResult:
    return read_street_csv(data, input_id=input_id, display_name=display_name)


def _api(data: bytes, *, input_id: str, display_name: str, force: str | None = None, **_: Any) -> ReadResult:
    return read_api_json(data, input_id=input_id, display_name=display_name, force=force)


def _extract(data: bytes, *, input_id: str, display_name: str, mapping: Path | None = None,
             force: str | None = None) -> ReadResult:
    return read_extract_bytes(data, input_id=input_id, display_name=display_name, mapping=mapping, force=force)


def _outcomes(data: bytes, *, input_id: str, display_name: str, **_: Any) -> ReadResult:
    return read_outcomes_csv(data, input_id=input_id, display_name=display_name)


#: Every kind, in detection order (the first whose ``detect`` says yes wins).
KINDS: tuple[SourceKind, ...] = (
    SourceKind(
        id="police-uk-api", label="police.uk API (crimes-street)", title="police.uk API",
        description="police.uk API (data.police.uk crimes-street)", priority=3,
        detect=lambda s: s.is_json and looks_like_api_json(s.data), reader=_api, read_options=("force",),
        scope="file", asb=True, location_type=True, location_text=True),
    SourceKind(
        id="police-uk-street", label="police.uk street-level crime files", title="police.uk street files",
        description="police.uk street-level crime files (data.police.uk archive)", priority=2,
        detect=lambda s: csv_kind(s.header) == "street", reader=_street, asb=True, location_type=True,
        location_text=True),
    SourceKind(
        id="police-uk-outcomes", label="police.uk outcomes files", title="police.uk outcomes",
        description="police.uk outcomes files (data.police.uk archive)", priority=90,
        detect=lambda s: csv_kind(s.header) == "outcomes", reader=_outcomes, outcomes=True, counts_crime=False),
    SourceKind(
        id="police-uk-stop-and-search", label="police.uk stop and search files", title="police.uk stop and search",
        description="police.uk stop and search files (data.police.uk archive)", priority=91,
        detect=lambda s: csv_kind(s.header) == "stop-and-search"),
    SourceKind(
        id="extract", label="force crime extract (Home Office offence codes)", title="Force extract",
        description="police force crime extract", priority=1,
        detect=lambda s: bool(s.header) and looks_like_extract(s.header, mapping=s.mapping), reader=_extract,
        read_options=("mapping", "force"), offence_codes=True, flags=True, recorded_dates=True,
        location_type=True, outcomes=True, area_codes=True, place_type=True, occurred_times=True),
    SourceKind(
        id="home-office-table", label="Home Office police recorded crime tables", title="Home Office tables",
        description="Home Office police recorded crime open data tables (aggregated counts)", priority=80,
        detect=lambda s: bool(s.header) and looks_like_homeoffice_table(s.header), offence_codes=True,
        aggregated_counts=True),
)
_BY_ID = {k.id: k for k in KINDS}


def get_kind(kind_id: str) -> SourceKind:
    """The record of a kind; InputError naming the known kinds for an unknown id."""
    try:
        return _BY_ID[kind_id]
    except KeyError:
        raise InputError(f"unknown source {kind_id!r}; choose from {', '.join(source_priority())}") from None


def find_kind(kind_id: str | None) -> SourceKind | None:
    """The record of a kind, or None (for ids not in the registry, or None)."""
    return _BY_ID.get(kind_id) if kind_id else None


def ingestible_kinds() -> list[SourceKind]:
    """Kinds that ingest loads and an assessment can count crimes from, in order of preference (police.uk
    outcomes files are ingested too, but hold no crimes to count: see :func:`loaded_kinds`)."""
    return sorted((k for k in KINDS if k.ingestible and k.counts_crime), key=lambda k: k.priority)


def loaded_kinds() -> list[SourceKind]:
    """Every kind ingest loads, crime sources first."""
    return sorted((k for k in KINDS if k.ingestible), key=lambda k: k.priority)


def source_priority() -> list[str]:
    """Ids of the ingestible kinds, preferred first (the engine's ``SOURCE_PRIORITY``)."""
    return [k.id for k in ingestible_kinds()]


def source_labels() -> dict[str, str]:
    """id -> the label the assessment JSON uses (the engine's ``SOURCE_LABELS``)."""
    return {k.id: k.label for k in ingestible_kinds()}


def source_titles() -> dict[str, str]:
    """id -> short name for pickers ("Force extract"), preferred first."""
    return {k.id: k.title for k in ingestible_kinds()}


def source_description(kind_id: str | None) -> str:
    """The report's name for a kind; 'not stated' without one, the id itself when unknown."""
    k = find_kind(kind_id)
    return k.description if k else (kind_id or "not stated")


def area_code_kinds() -> list[str]:
    """Ids of the kinds whose records may carry their own area codes (a record's own codes win)."""
    return [k.id for k in KINDS if k.area_codes]


def with_capability(name: str) -> list[str]:
    """Ids of the ingestible kinds that have capability ``name`` (e.g. 'recorded_dates'), preferred first."""
    return [k.id for k in ingestible_kinds() if getattr(k, name)]


def detect(sample: Sample) -> SourceKind | None:
    """The first kind that recognises the sample, or None."""
    return next((k for k in KINDS if k.detect(sample)), None)
