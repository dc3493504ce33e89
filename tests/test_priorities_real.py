"""Real police.uk data: Southampton's location-text table and repeat locations for April–September 2017,
recounted from the street files with the csv module."""
from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from crimeassess.assess.engine import assess
from crimeassess.assess.priorities import POLICEUK_PLACES
from crimeassess.geography.load import load_geography
from crimeassess.ingest import ingest
from crimeassess.store import Store

MONTHS = [f"2017-{m:02d}" for m in range(4, 10)]
EARLIER = ["2017-02", "2017-03"]
SOUTHAMPTON = "E06000045"


@pytest.fixture(scope="module")
def soton(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = Store(tmp_path_factory.mktemp("soton") / "store")
    arch = shared_data / "police-uk" / "archive"
    ingest([arch / m / f"{m}-hampshire-street.csv" for m in EARLIER + MONTHS], st)
    load_geography([shared_data / "geography" / "lookups" / "LSOA11_WD17_LAD17_EW_LU.csv"], st)
    return st


def _rows(shared: Path, months: list[str]) -> list[dict[str, str]]:
    with open(shared / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as f:
        lsoas = {r["LSOA11CD"] for r in csv.DictReader(f) if r["LAD17CD"] == SOUTHAMPTON}
    out = []
    for m in months:
        with open(shared / f"police-uk/archive/{m}/{m}-hampshire-street.csv", newline="", encoding="utf-8-sig") as f:
            out += [r for r in csv.DictReader(f) if r["LSOA code"] in lsoas and r["Crime type"] != "Anti-social behaviour"]
    return out


def _place(location: str) -> str:
    text = re.sub(r"^On or near ", "", location)
    if not location or location.lower() == "no location":
        return "No location"
    return text if text in POLICEUK_PLACES else "Street or road (named)"


def test_southampton_location_text_table_and_repeat_locations(soton: Store, shared_data: Path) -> None:
    rows = _rows(shared_data, MONTHS)
    a = assess("Southampton", "2017-04..2017-09", store=soton).to_dict()
    assert a["total"]["current"] == len(rows) > 8000
    where = a["priorities"]["where"]
    table = where["locations"]
    assert table["basis"] == "policeuk_location_text" and "snapped" in table["note"]
    want = Counter(_place(r["Location"]) for r in rows)
    assert {r["name"]: r["current"] for r in table["rows"]} == dict(want)
    assert want["Nightclub"] > 50 and want["Supermarket"] > 100  # the real city centre shows through
    assert all(r["previous"] is None and r["change"] is None for r in table["rows"])  # 2016 is not held
    # repeat locations: map points (label + point), top 10 by count
    points = Counter((r["Location"], round(float(r["Latitude"]), 6), round(float(r["Longitude"]), 6))
                     for r in rows if r["Latitude"])
    top = sorted(points.items(), key=lambda x: (-x[1], x[0]))[:10]
    got = [((r["location"], r["latitude"], r["longitude"]), r["current"]) for r in where["repeat_locations"]["rows"]]
    assert got == top
    assert where["repeat_locations"]["basis"] == "policeuk_map_point" and "not an address" in where["repeat_locations"]["note"]
    # the priority themes need an extract: each says which input would enable it
    for item in a["priorities"]["items"]:
        assert not item["available"] and "force extract" in item["missing"][0], item


def test_southampton_changes_are_like_for_like(soton: Store, shared_data: Path) -> None:
    """Against the six months before, only February and March 2017 are held: August and September 2017 are
    compared with them, and every change in the table is on those months."""
    a = assess("Southampton", "2017-04..2017-09", compare="previous", store=soton).to_dict()
    assert a["coverage"]["matched_months"] == ["2017-08", "2017-09"]
    cur = Counter(_place(r["Location"]) for r in _rows(shared_data, ["2017-08", "2017-09"]))
    prev = Counter(_place(r["Location"]) for r in _rows(shared_data, EARLIER))
    for r in a["priorities"]["where"]["locations"]["rows"]:
        assert (r["matched_current"], r["matched_previous"]) == (cur[r["name"]], prev[r["name"]]), r["name"]
        assert r["change"] == cur[r["name"]] - prev[r["name"]]
