"""Older months counted from the geography cube (engine._split_month): the same assessment as from the records.

An assessment reads records only from the comparison period on; the series, the 36-month dispersion window
and the expected-count history before that come from the aggregate store's cube when it places the rows exactly
as the records are placed. The demo city's police.uk street files hold five financial years, so 2024/25
(compared with 2023/24) splits at 2023-04. The whole assessment dict must equal the one read from every
month's records, and the series must equal a recount of the street CSVs."""
from __future__ import annotations

import csv
from collections import Counter
from typing import Any

import pytest

from crimeassess.assess import engine


def _both(store: Any, area: str, period: str, *, split_too: bool = True, **kw: Any) -> tuple[dict, dict | None, list]:
    """The assessment as the engine makes it (and the months it split at), and with every month from records."""
    splits: list[str | None] = []
    orig = engine._split_month

    def recorded(*a: Any, **k: Any) -> str | None:
        splits.append(orig(*a, **k))
        return splits[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "_split_month", recorded)
        split = engine.assess(area, period, store=store, **kw).to_dict()
        whole = None
        if split_too:
            mp.setattr(engine, "_split_month", lambda *a, **k: None)
            whole = engine.assess(area, period, store=store, **kw).to_dict()
    for d in (split, whole):
        if d:
            d.pop("generated_at", None)
    return split, whole, splits


@pytest.fixture(scope="module")
def authority(demo_store: Any) -> tuple[dict, dict | None, list]:
    return _both(demo_store.store, demo_store.area, demo_store.period, source="police-uk-street")


def test_split_assessment_equals_records(authority: tuple[dict, dict | None, list]) -> None:
    split, whole, splits = authority
    assert splits and splits[0] == "2023-04"  # the cube stood in for 2020-04 .. 2023-03
    assert split == whole


def test_split_ward_equals_records(demo_store: Any) -> None:
    split, whole, splits = _both(demo_store.store, "Kingsmead", demo_store.period, source="police-uk-street")
    assert splits and splits[0] == "2023-04"
    assert split == whole


def test_split_series_recounted(demo_store: Any, authority: tuple[dict, dict | None, list]) -> None:
    city = demo_store.city
    with open(city.lsoa_ward_lookup, encoding="utf-8-sig", newline="") as fh:
        lsoas = {r["LSOA11CD"] for r in csv.DictReader(fh) if r["LAD23CD"] == city.lad_code}
    by_fy: Counter[str] = Counter()
    for f in city.street_files:
        with open(f, encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                if r["LSOA code"] in lsoas and r["Crime type"] != "Anti-social behaviour":
                    y, m = int(r["Month"][:4]), int(r["Month"][5:7])
                    start = y if m >= 4 else y - 1
                    by_fy[f"{start}/{(start + 1) % 100:02d}"] += 1
    split, _whole, splits = authority
    assert splits[0] == "2023-04"
    series = {s["label"]: s["count"] for s in split["total"]["series"]}
    assert series == {fy: by_fy[fy] for fy in city.financial_years}
    assert by_fy["2020/21"] > 0


def test_no_split_when_a_theme_reads_what_the_cube_lacks(demo_store: Any) -> None:
    # The force extract's themes read location types and hotspot LSOAs: every month comes from the records.
    _split, _whole, splits = _both(demo_store.store, demo_store.area, demo_store.period, split_too=False)
    assert splits and all(s is None for s in splits)
