"""The demo city's planted priority stories are found by the assessment and the report: night-time sexual
offences concentrated in the harbour zone, and domestic-abuse charges rising. Recounted from the extract files
with the csv module (zone membership with shapely/pyproj on the zone file itself)."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
import shapely
from pyproj import Transformer

from crimeassess.assess.engine import assess
from crimeassess.report.render import render_html

OFFENCES_CSV = Path(__file__).resolve().parents[1] / "src/crimeassess/classify/data/offences.csv"


@pytest.fixture(scope="module")
def found(demo_store) -> dict:
    city = demo_store.city
    return assess(demo_store.area, demo_store.period, store=demo_store.store, themes=[city.themes_file]).to_dict()


def _extract_rows(city, fy: str) -> list[dict[str, str]]:
    with open(city.root / "extract" / f"demo-force-extract-{fy.replace('/', '-')}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _night(t: str) -> bool:
    if len(t) != 5:
        return False
    m = int(t[:2]) * 60 + int(t[3:])
    return m >= 1200 or m < 360


def test_night_time_sexual_offences_concentrate_in_the_zone(demo_store, found) -> None:
    city = demo_store.city
    with open(OFFENCES_CSV, newline="", encoding="utf-8") as f:
        sexual = {r["code"].upper() for r in csv.DictReader(f) if r["group"] == "Sexual offences"}
    zone = shapely.from_geojson(json.dumps(json.loads(city.nte_zone.read_text())["features"][0]["geometry"]))
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)

    def counts(fy: str) -> tuple[int, int]:
        theme = in_zone = 0
        for r in _extract_rows(city, fy):
            if r["offence_code"].upper() not in sexual or not _night(r["occurred_time"]):
                continue
            x, y = to_bng.transform(float(r["longitude"]), float(r["latitude"]))
            inside = zone.contains(shapely.Point(x, y))
            if r["location_type"] == "Licensed premises" or inside:
                theme += 1
                in_zone += inside
        return theme, in_zone

    cur, cur_zone = counts(city.current_fy)
    prev, prev_zone = counts(city.previous_fy)
    item = next(p for p in found["priorities"]["items"] if p["id"] == "sexual_offences_night_time_economy")
    assert (item["current"], item["previous"]) == (cur, prev)
    z = item["where"]["zones"][0]
    assert (z["current"], z["previous"]) == (cur_zone, prev_zone)
    story = city.stories["nte_sexual_offences_zone"]
    assert (story["current"], story["previous"], story["in_zone_current"]) == (cur, prev, cur_zone)
    # the planted story: a rise, and most of it in the one zone
    assert cur > prev * 1.2 and cur_zone / cur > 0.75
    assert f"{cur_zone:,} ({100 * cur_zone / cur:.1f}%) were in the Harbour night-time economy zone" in item["paragraph"]
    html = render_html(found)
    assert "Harbour night-time economy zone" in html and "Priority themes: where, when and with what outcome" in html


def test_domestic_abuse_charges_rise(demo_store, found) -> None:
    city = demo_store.city
    got = {}
    for fy in (city.previous_fy, city.current_fy):
        rows = [r for r in _extract_rows(city, fy) if r["domestic_flag"] == "Y"]
        got[fy] = (sum(r["outcome"] == "Charged/summonsed" for r in rows), len(rows))
    da = found["outcomes"]["domestic_abuse"]
    (pc, pn), (cc, cn) = got[city.previous_fy], got[city.current_fy]
    assert (da["charges"], da["current"], da["previous_charges"], da["previous"]) == (cc, cn, pc, pn)
    assert da["charge_share"] == round(100 * cc / cn, 1) and da["previous_charge_share"] == round(100 * pc / pn, 1)
    assert da["change_points"] > 5  # the planted rise
    story = city.stories["domestic_abuse_charges"]
    assert (story["current_charges"], story["previous_charges"]) == (cc, pc)
    item = next(p for p in found["priorities"]["items"] if p["id"] == "domestic_abuse")
    assert (f"{100 * cc / cn:.1f}% ended in a charge or summons, against {100 * pc / pn:.1f}% in "
            f"{city.previous_fy}") in item["paragraph"]
    assert "not at the same age" in item["paragraph"]  # the extract's outcomes carry no dates


def test_outcome_words_are_the_extracts_own(demo_store, found) -> None:
    """Every demo extract outcome is in the built-in table: nothing is reported unmapped."""
    assert found["outcomes"]["unmapped"] == []
    words = Counter(r["outcome"] for r in _extract_rows(demo_store.city, demo_store.city.current_fy))
    assert "Under investigation" in words and words["Charged/summonsed"] > 0


def test_public_output_leaves_the_priority_detail_out(found) -> None:
    from crimeassess.suppress import suppress_assessment

    pub = suppress_assessment(found)
    assert pub["priorities"]["items"] == [] and "public-safe" in pub["priorities"]["withheld"]
    assert pub["outcomes"]["available"] is False and pub["outcomes"]["themes"] == []
    assert "sec-priorities" not in render_html(pub)


CHARGED = {"Suspect charged", "Offender sent to prison", "Offender given community sentence", "Offender fined",
           "Offender given suspended prison sentence", "Defendant found not guilty", "Court result unavailable",
           "Offender given conditional discharge", "Offender ordered to pay compensation"}


def test_police_uk_outcomes_compared_at_the_same_age(demo_store) -> None:
    """With the demo's police.uk outcomes files, police.uk crimes are joined to their outcomes by Crime ID and
    each year's crimes are taken at the same age (March of its following year)."""
    city = demo_store.city
    a = assess(demo_store.area, demo_store.period, store=demo_store.store, source="police-uk-street").to_dict()
    o = a["outcomes"]
    assert o["basis"] == "same_age" and (o["as_of"], o["previous_as_of"]) == ("2025-03", "2024-03")
    cur_months = a["coverage"]["matched_months"]
    prev_months = a["coverage"]["matched_previous_months"]
    assert "2023-11" not in prev_months and "2024-11" not in cur_months  # the missing street month, like for like
    root = city.root / "police-uk"

    def ids(months: list[str]) -> list[str]:
        out = []
        for m in months:
            with open(root / m / f"{m}-demo-street.csv", newline="", encoding="utf-8") as f:
                out += [r["Crime ID"] for r in csv.DictReader(f) if r["Crime ID"] and r["LSOA code"]]
        return out

    def latest(cutoff: str) -> dict[str, str]:
        got: dict[str, str] = {}
        for p in sorted(root.glob("*/*-demo-outcomes.csv")):
            if p.name[:7] <= cutoff:
                with open(p, newline="", encoding="utf-8") as f:
                    got.update((r["Crime ID"], r["Outcome type"]) for r in csv.DictReader(f))
        return got

    cur_ids, prev_ids = ids(cur_months), ids(prev_months)
    now, then = latest("2025-03"), latest("2024-03")
    charged = (sum(now.get(i) in CHARGED for i in cur_ids), sum(then.get(i) in CHARGED for i in prev_ids))
    waiting = (sum(i not in now for i in cur_ids), sum(i not in then for i in prev_ids))
    total = next(t for t in o["themes"] if t["id"] == "total")
    assert (total["current"], total["previous"]) == (len(cur_ids), len(prev_ids))
    g = total["groups"]
    assert (g["charge_summons"]["current"], g["charge_summons"]["previous"]) == charged
    assert (g["under_investigation"]["current"], g["under_investigation"]["previous"]) == waiting
    # at the same age the share still under investigation is alike in both years (the extract's latest
    # outcomes differ by far more: the lag the caveat warns of)
    assert abs(g["under_investigation"]["change_points"]) < 5


def test_outcomes_and_places_csv(demo_store, found, tmp_path: Path) -> None:
    from crimeassess.report.build import write_tables

    city = demo_store.city
    files = write_tables(found, tmp_path)
    with open(files["outcomes.csv"], newline="", encoding="utf-8") as f:
        out = {(r["theme"], r["group"]): r for r in csv.DictReader(f)}
    da = {fy: [r for r in _extract_rows(city, fy) if r["domestic_flag"] == "Y"]
          for fy in (city.previous_fy, city.current_fy)}
    row = out["domestic_abuse", "charge_summons"]
    assert (int(row["current"]), int(row["previous"])) == (
        sum(r["outcome"] == "Charged/summonsed" for r in da[city.current_fy]),
        sum(r["outcome"] == "Charged/summonsed" for r in da[city.previous_fy]))
    with open(files["places.csv"], newline="", encoding="utf-8") as f:
        places = list(csv.DictReader(f))
    zone = [r for r in places if r["table"] == "zones"]
    story = city.stories["nte_sexual_offences_zone"]
    assert [(r["scope"], int(r["current"]), int(r["previous"])) for r in zone] == [
        ("sexual_offences_night_time_economy", story["in_zone_current"], story["in_zone_previous"])]
    dwell = next(r for r in places if r["scope"] == "all_crime" and r["name"] == "Dwelling")
    assert int(dwell["current"]) == sum(r["location_type"] == "Dwelling" for r in _extract_rows(city, city.current_fy))


def test_repeat_lsoas_are_named_by_their_ward(demo_store, found) -> None:
    """An extract's repeat locations are LSOAs: each row's count, recounted from the extract, and the ward the
    extract gives for that LSOA, so a reader sees where it is (a code alone says nothing); the report shows it."""
    city = demo_store.city
    rows = _extract_rows(city, city.current_fy)
    counts = Counter(r["lsoa_code"] for r in rows if r["lsoa_code"])
    wards: dict[str, set[str]] = {}
    for r in rows:
        wards.setdefault(r["lsoa_code"], set()).add(r["ward_name"])
    table = found["priorities"]["where"]["repeat_locations"]
    assert table["basis"] == "lsoa" and table["rows"]
    got = table["rows"]
    assert [r["current"] for r in got] == sorted(counts.values(), reverse=True)[:len(got)]
    for r in got:
        assert r["current"] == counts[r["lsoa_code"]]
        assert {r["ward_name"]} == wards[r["lsoa_code"]], r
    # named as the LSOA boundaries name them (the extract gives codes only), as the hotspot table does
    names = {f["properties"]["LSOA11CD"]: f["properties"]["LSOA11NM"]
             for f in json.loads(city.lsoa_geojson.read_text())["features"]}
    assert names and all(r["lsoa_name"] == names[r["lsoa_code"]] for r in got)
    html = render_html(found)
    first = got[0]
    assert f'{first["lsoa_name"]} <span class="muted">({first["lsoa_code"]}, {first["ward_name"]})</span>' in html
