"""The registry of source kinds: detection, readers, capabilities, and the accessors the engine can switch to."""
from __future__ import annotations

import pytest

from crimeassess.assess import engine
from crimeassess.classify.themes import SOURCE_KINDS, load_themes
from crimeassess.errors import InputError
from crimeassess.sources.discover import detect_kind
from crimeassess.sources.registry import (
    KINDS,
    find_kind,
    get_kind,
    source_description,
    source_labels,
    source_priority,
    with_capability,
)

from policeuk_fixtures import row, street_csv

EXTRACT = b"crime_id,recorded_date,offence_code\n1,2018-03-01,8N\n"
API = b'[{"category": "burglary", "month": "2018-03", "location": {"latitude": "50.9", "longitude": "-1.4"}}]'
OUTCOMES = (b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
            b"Outcome type\n")


def test_accessors_match_the_engine() -> None:
    assert source_priority() == engine.SOURCE_PRIORITY
    assert source_labels() == engine.SOURCE_LABELS
    assert list(SOURCE_KINDS) == sorted(SOURCE_KINDS, key=lambda k: get_kind(k).priority)
    assert with_capability("recorded_dates") == ["extract"]
    assert with_capability("asb") == ["police-uk-street", "police-uk-api"]
    assert len({k.id for k in KINDS}) == len(KINDS)


@pytest.mark.parametrize("data,kind", [
    (street_csv([row("a", "2018-03", "Burglary")]), "police-uk-street"),
    (API, "police-uk-api"), (EXTRACT, "extract"), (OUTCOMES, "police-uk-outcomes"),
])
def test_detection(data: bytes, kind: str) -> None:
    assert detect_kind(data, "f") == kind
    assert get_kind(kind).ingestible  # outcomes files load too, but never count as crimes
    assert get_kind(kind).counts_crime == (kind != "police-uk-outcomes")


def test_unknown_kinds() -> None:
    with pytest.raises(InputError, match="extract, police-uk-street, police-uk-api"):
        get_kind("carrier-pigeon")
    assert find_kind("carrier-pigeon") is None and source_description(None) == "not stated"
    with pytest.raises(InputError, match="cannot be ingested"):
        get_kind("police-uk-stop-and-search").read(OUTCOMES, input_id="x", display_name="f")
    assert "police-uk-outcomes" not in source_priority()


def test_theme_support_follows_capabilities() -> None:
    themes = load_themes()
    assert themes["knife_crime"].supported_sources() == with_capability("flags")
    assert "extract" not in themes["anti_social_behaviour"].supported_sources()
    assert "no knife/hate/domestic flags" in themes["knife_crime"].unavailable_reason("police-uk-street")
