"""Theme selectors beyond codes (location type, time, days, zones, hotspots), the built-in priority themes and
extract outcomes, on a crafted force extract; every count is recounted from the CSV with the csv module."""
from __future__ import annotations

import csv
import json
import math
import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from crimeassess.assess.engine import assess
from crimeassess.classify.outcomes import classify_outcome, load_outcome_map
from crimeassess.classify.selectors import minute_of_day, parse_selectors
from crimeassess.classify.themes import load_themes
from crimeassess.errors import ThemeError
from crimeassess.ingest import ingest
from crimeassess.store import Store

SEXUAL = {"19C": "Rape of a female aged 16 and over", "20A": "Sexual assault on a female aged 13 and over"}
VIOLENCE = {"8N": "Assault with injury", "105A": "Assault without injury"}
DRUGS = {"92D": "Possession of cannabis"}
LOCATIONS = ["Licensed premises", "licensed PREMISES ", "Park/open space", "Dwelling", "Street/road", ""]
LSOAS = [f"E0190000{i}" for i in range(10)]  # 10 LSOAs: hotspot share 0.2 -> the top 2
OUTCOMES = ["Charged/summonsed", "Investigation complete: no suspect identified", "Under investigation",
            "Community resolution", "Evidential difficulties: suspect identified; victim supports action",
            "Outcome 3", "NFA - victim withdrew", ""]
BOX = (-1.42, 50.89, -1.39, 50.91)  # the test zone (WGS84 lon/lat)


def _rows(seed: int = 3) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows, n = [], 0
    drug_weight = [1, 9, 2, 7, 1, 1, 3, 1, 1, 1]  # LSOA 1 and 3 are where drug offences concentrate
    for start, count in ((date(2016, 4, 1), 900), (date(2017, 4, 1), 1000)):
        for _ in range(count):
            n += 1
            kind = rng.choices(["sexual", "violence", "drugs"], [4, 4, 2])[0]
            code = rng.choice(list({"sexual": SEXUAL, "violence": VIOLENCE, "drugs": DRUGS}[kind]))
            lsoa = (rng.choices(LSOAS, drug_weight)[0] if kind == "drugs" else rng.choice(LSOAS))
            inside = rng.random() < 0.3
            lon = rng.uniform(BOX[0] + 0.001, BOX[2] - 0.001) if inside else rng.uniform(-1.38, -1.30)
            lat = rng.uniform(BOX[1] + 0.001, BOX[3] - 0.001) if inside else rng.uniform(50.92, 50.95)
            t = rng.choice(["", "25:10", f"{rng.randrange(24):02d}:{rng.randrange(60):02d}",
                            f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"])
            rows.append({
                "crime_id": f"X{n:05d}", "recorded_date": (start + timedelta(days=rng.randrange(365))).isoformat(),
                "offence_code": code, "occurred_time": t, "location_type": rng.choice(LOCATIONS),
                "lsoa_code": lsoa, "ward_code": "E05900001", "ward_name": "Harbour",
                "local_authority_code": "E06900001", "local_authority_name": "Testport",
                "latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}",
                "domestic_flag": rng.choice(["Y", "N", "N"]), "outcome": rng.choice(OUTCOMES),
            })
    return rows


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("selectors")
    rows = _rows()
    path = d / "extract.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    ingest([path], Store(d / "store"))
    zone = d / "zone.geojson"
    x0, y0, x1, y1 = BOX
    zone.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "name": "Test NTE zone"}, "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1],
                                                                                 [x0, y1], [x0, y0]]]}}]}))
    themes = d / "my-themes.toml"
    themes.write_text(
        '[themes.zone_sexual]\nlabel = "Sexual offences in the zone"\ngroups = ["Sexual offences"]\n'
        'zones = ["zone.geojson"]\n\n'
        '[themes.saturday_nights]\nlabel = "Saturday-night violence"\ngroups = ["Violence against the person"]\n'
        'time_from = "20:00"\ntime_to = "06:00"\ndays = ["Saturday"]\n\n'
        '[themes.sexual_offences_night_time_economy]\nzones = ["zone.geojson"]\n\n'
        '[outcomes]\n"NFA - victim withdrew" = "evidential_difficulties"\n')
    return path, d / "store", themes


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _fy(r: dict[str, str]) -> str:
    return "cur" if r["recorded_date"] >= "2017-04-01" else "prev"


def _minute(t: str) -> int | None:
    if len(t) != 5 or t[2] != ":":
        return None
    h, m = int(t[:2]), int(t[3:])
    return h * 60 + m if h < 24 else None


def _night(r: dict[str, str]) -> bool:
    m = _minute(r["occurred_time"])
    return m is not None and (m >= 20 * 60 or m < 6 * 60)


def _in_zone(r: dict[str, str]) -> bool:
    lon, lat = float(r["longitude"]), float(r["latitude"])
    return BOX[0] < lon < BOX[2] and BOX[1] < lat < BOX[3]


def _count(rows: list[dict[str, str]], pick) -> Counter:
    return Counter(_fy(r) for r in rows if pick(r))


def _theme(a: dict, tid: str) -> dict:
    return next(t for t in a["themes"] if t["id"] == tid)


def test_builtin_priority_themes_count_like_a_recount(crafted) -> None:
    path, store, _ = crafted
    rows = _read(path)
    a = assess("Testport", "2017/18", store=store).to_dict()
    lic = lambda r: r["location_type"].strip().lower() == "licensed premises"  # noqa: E731
    park = lambda r: r["location_type"].strip().lower() == "park/open space"  # noqa: E731
    nte = _count(rows, lambda r: r["offence_code"] in SEXUAL and lic(r) and _night(r))
    parks = _count(rows, lambda r: r["offence_code"] in SEXUAL and park(r))
    t = _theme(a, "sexual_offences_night_time_economy")
    assert (t["current"], t["previous"]) == (nte["cur"], nte["prev"]) and nte["cur"] > 20
    t = _theme(a, "sexual_offences_parks")
    assert (t["current"], t["previous"]) == (parks["cur"], parks["prev"]) and parks["cur"] > 20
    # hotspots: the top fifth of the 10 LSOAs (2) by drug offences over both years
    drugs = Counter(r["lsoa_code"] for r in rows if r["offence_code"] in DRUGS)
    k = math.ceil(0.2 * len({r["lsoa_code"] for r in rows}))
    hot = {code for code, _ in sorted(drugs.items(), key=lambda x: (-x[1], x[0]))[:k]}
    assert hot == {LSOAS[1], LSOAS[3]}
    drv = _count(rows, lambda r: r["offence_code"] in VIOLENCE and r["lsoa_code"] in hot)
    t = _theme(a, "drug_related_violence")
    assert (t["current"], t["previous"]) == (drv["cur"], drv["prev"])
    # the weekend split of the NTE priority: Friday-Sunday nights, small hours counted with the evening before
    def weekend(r: dict[str, str]) -> bool:
        d = date.fromisoformat(r["recorded_date"])
        if _minute(r["occurred_time"]) < 360:
            d -= timedelta(days=1)
        return d.weekday() >= 4
    wk = _count(rows, lambda r: r["offence_code"] in SEXUAL and lic(r) and _night(r) and weekend(r))
    item = next(p for p in a["priorities"]["items"] if p["id"] == "sexual_offences_night_time_economy")
    assert (item["when"]["weekend"]["current"], item["when"]["weekend"]["previous"]) == (wk["cur"], wk["prev"])
    # the location table counts spellings that differ only in case as one place, named by the commonest
    spellings = Counter(r["location_type"].strip() for r in rows
                        if r["offence_code"] in SEXUAL and lic(r) and _night(r))
    commonest = sorted(spellings.items(), key=lambda x: (-x[1], x[0]))[0][0]
    assert [(r["name"], r["current"]) for r in item["where"]["locations"]["rows"]] == [(commonest, nte["cur"])]
    # the heat map holds the current period's NTE crimes by recorded day and occurred hour
    grid = Counter((date.fromisoformat(r["recorded_date"]).weekday(), _minute(r["occurred_time"]) // 60)
                   for r in rows if _fy(r) == "cur" and r["offence_code"] in SEXUAL and lic(r) and _night(r))
    hm = item["when"]["heatmap"]
    assert {(d, h): n for d in range(7) for h in range(24) if (n := hm["counts"][d][h])} == dict(grid)
    assert hm["unknown_time"] == 0  # the theme needs a time, so none is unknown
    # the location-type table of the parks priority is all parks; the first paragraph names the level
    item = next(p for p in a["priorities"]["items"] if p["id"] == "sexual_offences_parks")
    assert [r["name"].lower() for r in item["where"]["locations"]["rows"]] == ["park/open space"]
    assert item["paragraph"].startswith(f"Sexual offences in parks and open spaces: {parks['cur']:,} recorded")


def test_user_selectors_zone_days_and_override(crafted) -> None:
    path, store, themes = crafted
    rows = _read(path)
    a = assess("Testport", "2017/18", store=store, themes=[themes]).to_dict()
    zone = _count(rows, lambda r: r["offence_code"] in SEXUAL and _in_zone(r))
    t = _theme(a, "zone_sexual")
    assert (t["current"], t["previous"]) == (zone["cur"], zone["prev"]) and zone["cur"] > 50

    def sat_night(r: dict[str, str]) -> bool:
        m = _minute(r["occurred_time"])
        if m is None or not (m >= 1200 or m < 360):
            return False
        d = date.fromisoformat(r["recorded_date"]) - timedelta(days=1 if m < 360 else 0)
        return d.weekday() == 5
    sat = _count(rows, lambda r: r["offence_code"] in VIOLENCE and sat_night(r))
    t = _theme(a, "saturday_nights")
    assert (t["current"], t["previous"]) == (sat["cur"], sat["prev"]) and sat["cur"] >= 5
    # a user zone added to the built-in NTE theme widens its place: licensed premises OR the zone
    nte = _count(rows, lambda r: r["offence_code"] in SEXUAL and _night(r) and (
        r["location_type"].strip().lower() == "licensed premises" or _in_zone(r)))
    t = _theme(a, "sexual_offences_night_time_economy")
    assert (t["current"], t["previous"]) == (nte["cur"], nte["prev"])


def test_extract_outcomes_block(crafted) -> None:
    path, store, themes = crafted
    rows = _read(path)
    a = assess("Testport", "2017/18", store=store, themes=[themes]).to_dict()
    o = a["outcomes"]
    assert o["available"] and o["basis"] == "latest" and "12 months longer" in o["caveat"]
    sexual = next(t for t in o["themes"] if t["id"] == "sexual_offences")
    want = {"Charged/summonsed": "charge_summons", "Outcome 3": "caution", "Under investigation": "under_investigation",
            "Investigation complete: no suspect identified": "no_suspect",
            "Community resolution": "community_resolution", "NFA - victim withdrew": "evidential_difficulties",
            "Evidential difficulties: suspect identified; victim supports action": "evidential_difficulties",
            "": "not_known"}
    got = Counter((_fy(r), want[r["outcome"]]) for r in rows if r["offence_code"] in SEXUAL)
    total = Counter(_fy(r) for r in rows if r["offence_code"] in SEXUAL)
    for g in ("charge_summons", "caution", "evidential_difficulties", "no_suspect", "not_known"):
        assert (sexual["groups"][g]["current"], sexual["groups"][g]["previous"]) == (got["cur", g], got["prev", g])
        assert sexual["groups"][g]["share"] == round(100 * got["cur", g] / total["cur"], 1)
    da = o["domestic_abuse"]
    dac = Counter(_fy(r) for r in rows if r["domestic_flag"] == "Y" and r["outcome"] == "Charged/summonsed")
    assert (da["charges"], da["previous_charges"]) == (dac["cur"], dac["prev"])
    # without the user's [outcomes] table the force's own wording is reported unmapped, never guessed
    b = assess("Testport", "2017/18", store=store).to_dict()["outcomes"]
    nfa = sum(r["outcome"] == "NFA - victim withdrew" for r in rows)
    assert {u["outcome"]: u["count"] for u in b["unmapped"]} == {"NFA - victim withdrew": nfa}


def test_selector_validation(tmp_path: Path) -> None:
    with pytest.raises(ThemeError, match="time HH:MM"):
        parse_selectors("t", {"time_from": "8pm", "time_to": "06:00"}, None)
    with pytest.raises(ThemeError, match="both time_from and time_to"):
        parse_selectors("t", {"time_from": "20:00"}, None)
    with pytest.raises(ThemeError, match="unknown day"):
        parse_selectors("t", {"days": ["Caturday"]}, None)
    with pytest.raises(ThemeError, match="does not exist"):
        parse_selectors("t", {"zones": ["nowhere.geojson"]}, tmp_path)
    bad = tmp_path / "t.toml"
    bad.write_text('[themes.x]\nlabel = "X"\ngroups = ["Sexual offences"]\nhotspots_of = "no_such_theme"\n')
    with pytest.raises(ThemeError, match="hotspots_of"):
        load_themes([bad])
    bad.write_text('[outcomes]\n"NFA" = "sort_of_charged"\n')
    with pytest.raises(ThemeError, match="unknown group"):
        load_outcome_map([bad])
    assert minute_of_day("2018-03-31 21:15") == 1275 and minute_of_day("25:00") is None
    assert classify_outcome("Awaiting court outcome") == "charge_summons"
    assert classify_outcome("OC18 no suspect") == "no_suspect" and classify_outcome("  ") is None


def test_priority_themes_need_an_extract() -> None:
    themes = load_themes()
    for tid in ("sexual_offences_night_time_economy", "sexual_offences_parks", "drug_related_violence"):
        assert themes[tid].supported_sources() == ["extract"]
        assert themes[tid].description
    assert "not violence known to be drug-motivated" in themes["drug_related_violence"].description.replace("NOT", "not")


def test_sql_and_python_agree_on_where_and_when(tmp_path: Path) -> None:
    """Theme.predicate (SQL) and Theme.matches (Python) select the same crafted records."""
    import duckdb

    from crimeassess.classify.offences import offence_table
    from crimeassess.sources.base import records_table

    toml = tmp_path / "t.toml"
    toml.write_text(
        '[themes.fri_sat_nights]\nlabel = "Fri/Sat nights"\ngroups = ["Sexual offences", "Violence against the person"]\n'
        'time_from = "22:00"\ntime_to = "04:30"\ndays = ["fri", "SAT"]\n\n'
        '[themes.daytime_parks]\nlabel = "Daytime parks"\nlocation_types = ["Park/open space"]\n'
        'location_texts = ["Park/Open Space"]\ntime_from = "09:00"\ntime_to = "17:00"\n\n'
        '[themes.puk_places]\nlabel = "Nightclubs"\nlocation_texts = ["Nightclub", "Parking Area"]\n')
    themes = load_themes([toml])
    rng = random.Random(5)
    recs = []
    for i in range(600):
        kind = rng.choice(["extract", "police-uk-street"])
        recs.append({
            "uid": f"u{i}", "source_kind": kind, "is_crime": True,
            "category_id": "violence-and-sexual-offences",
            "offence_code": rng.choice(["19C", "8N", "92D"]) if kind == "extract" else None,
            "recorded_date": date(2024, 1, 1) + timedelta(days=rng.randrange(60)) if kind == "extract" else None,
            "occurred_time": rng.choice(["", "03:59", "04:30", "22:00", "21:59", "12:00", "x", "9:15",
                                         "2024-01-05 23:10"]) if kind == "extract" else None,
            "location_type": rng.choice(["Park/open space", "PARK/OPEN SPACE", "Dwelling", None]) if kind == "extract" else None,
            "location": None if kind == "extract" else rng.choice(["On or near Nightclub", "On or near nightclub ",
                                                                   "On or near Park/Open Space", "On or near High St",
                                                                   "On or near Parking Area", None]),
        })
    cols = {k: [r[k] for r in recs] for k in recs[0]}
    con = duckdb.connect()
    con.register("rec", records_table(cols))
    off = offence_table()[["code", "group", "subgroup", "in_total_recorded_crime"]].rename(
        columns={"group": "ho_group", "subgroup": "ho_subgroup", "in_total_recorded_crime": "ho_in_total"})
    con.register("off", off)
    con.execute("CREATE TABLE r AS SELECT rec.*, off.ho_group, off.ho_subgroup, off.ho_in_total FROM rec "
                "LEFT JOIN off ON rec.offence_code = off.code")
    for tid in ("fri_sat_nights", "daytime_parks", "puk_places"):
        t = themes[tid]
        for kind in ("extract", "police-uk-street"):
            pred = t.predicate(kind)
            py = {r["uid"] for r in recs if r["source_kind"] == kind and t.matches(r)}
            if pred is None:
                assert py == set(), (tid, kind)
                continue
            sql = {u for (u,) in con.execute(f"SELECT uid FROM r WHERE source_kind = ? AND {pred}", [kind]).fetchall()}
            assert sql == py and sql, (tid, kind)
    assert themes["fri_sat_nights"].supported_sources() == ["extract"]
    assert themes["puk_places"].supported_sources() == ["police-uk-street", "police-uk-api"]


def test_minute_of_day_sql_parses_like_minute_of_day() -> None:
    """The SQL the time-of-day windows use (one parse a row, through a list lambda) gives the minutes and hours
    `minute_of_day` gives, for times, date-times, impossible and partial times, several times in one text, nulls."""
    import duckdb

    from crimeassess.classify.selectors import HOUR_SQL, MINUTE_OF_DAY_SQL

    texts = ["21:15", "2018-03-31 21:15", "9:05", "24:00", "23:59", "00:00", "0:00", "7:5", "123:45", "ab", "",
             None, "12:60", "x 1:02 y 3:04", "99:99 10:10", "1:2:3", " 08:30 ", "2018-03-31T23:30:00Z", "-1:30"]
    con = duckdb.connect()
    con.execute("CREATE TABLE t(i INTEGER, occurred_time VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    got = con.execute(f"SELECT {MINUTE_OF_DAY_SQL}, {HOUR_SQL} FROM t ORDER BY i").fetchall()
    want = [(m, None if m is None else m // 60) for m in map(minute_of_day, texts)]
    assert got == want
    assert sum(m is not None for m, _h in got) == 11
