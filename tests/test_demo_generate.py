"""The seeded demo city: determinism, real file formats, valid geography and the planted stories.

The city is generated once per module; every expectation is recounted from the written files with the csv
and json modules, never taken from the generator's own arrays.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from scipy.stats import binomtest
from shapely.geometry import shape

from crimeassess.demo import DemoCity, generate_city, generate_street_csv, parse_fy
from crimeassess.errors import InputError, PeriodError

STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context").split(",")
EXTRACT_HEADER = ("crime_id,recorded_date,offence_code,offence_description,occurred_time,location_type,lsoa_code,"
                  "ward_code,ward_name,local_authority_code,local_authority_name,latitude,longitude,knife_flag,"
                  "hate_flag,domestic_flag,outcome").split(",")
CENSUS_HEADER = ["Region code", "Region name", "Local authority code", "Local authority name", "MSOA Code",
                 "MSOA Name", "LSOA Code", "LSOA Name", "", "Persons", "Persons", "Persons", "Hectares",
                 "Persons per hectare", "Households", "Persons per household"]
KNIFE_CODES = {"1", "2", "5D", "8N", "8P", "3B", "34A", "34B", "19C", "19D", "19E", "19F", "19G", "19H",
               "17A", "17B", "20A", "20B"}
RES_BURGLARY = {"28E", "28F", "28G", "28H", "29A"}
FYS = ["2020/21", "2021/22", "2022/23", "2023/24", "2024/25"]


def sha_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def city(demo_store) -> DemoCity:
    """The seed-2018 city of the session's demo store (conftest.py); read only."""
    return demo_store.city


@pytest.fixture(scope="module")
def extract(city: DemoCity) -> dict[str, list[dict[str, str]]]:
    out = {}
    for fy, path in zip(FYS, city.extract_files):
        with open(path, newline="", encoding="utf-8") as fh:
            out[fy] = list(csv.DictReader(fh))
    return out


@pytest.fixture(scope="module")
def street(city: DemoCity) -> dict[str, list[list[str]]]:
    out = {}
    for path in sorted((city.root / "police-uk").glob("*/*-street.csv")):
        header, rows = read_csv(path)
        assert header == STREET_HEADER, path
        out[path.parent.name] = rows
    return out


@pytest.fixture(scope="module")
def stories(city: DemoCity) -> dict:
    return json.loads(city.stories_json.read_text(encoding="utf-8"))["stories"]


def fy_of(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    start = y if m >= 4 else y - 1
    return f"{start}/{(start + 1) % 100:02d}"


# ------------------------------------------------------------------------------------------ determinism
def test_same_seed_gives_byte_identical_files(city: DemoCity, tmp_path: Path) -> None:
    again = generate_city(tmp_path / "again", seed=2018)
    first, second = sha_tree(city.root), sha_tree(again.root)
    assert len(first) > 60
    assert first == second


def test_manifest_lists_every_file_with_its_hash(city: DemoCity) -> None:
    manifest = json.loads(city.manifest_json.read_text(encoding="utf-8"))
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    on_disk = sha_tree(city.root)
    on_disk.pop("manifest.json")
    assert listed == on_disk
    kinds = Counter(f["kind"] for f in manifest["files"])
    assert kinds["extract"] == 5 and kinds["police-uk-street"] == 59


def test_different_seed_gives_different_files(city: DemoCity, tmp_path: Path) -> None:
    other = generate_city(tmp_path / "other", seed=7, years=2)
    a, b = sha_tree(city.root), sha_tree(other.root)
    common = [k for k in b if k in a and k != "README.md"]
    assert "geography/lsoa.geojson" in common and "extract/demo-force-extract-2024-25.csv" in common
    assert all(a[k] != b[k] for k in common if k.startswith(("geography/lsoa", "geography/wards", "extract/")))


def test_bad_arguments_raise_named_errors(city: DemoCity, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not empty"):
        generate_city(city.root, seed=1)
    with pytest.raises(PeriodError):
        generate_city(tmp_path / "x", last_fy="2024")
    with pytest.raises(PeriodError):
        generate_city(tmp_path / "x", last_fy="2024/27")
    with pytest.raises(InputError):
        generate_city(tmp_path / "x", years=1)
    with pytest.raises(InputError):
        generate_city(tmp_path / "x", seed=-3)
    assert parse_fy("2019/20") == 2019 and parse_fy("2019-2020") == 2019


# ---------------------------------------------------------------------------------------------- formats
def test_street_files_have_police_uk_format(city: DemoCity, street: dict[str, list[list[str]]]) -> None:
    assert len(street) == 59 and len(city.street_files) == 59
    for path in city.street_files:
        data = path.read_bytes()
        assert data.count(b"\r\n") == data.count(b"\n"), f"{path} is not CRLF throughout"
    asb = crimes = noloc = 0
    for month, rows in street.items():
        for r in rows:
            assert len(r) == 12
            assert r[1] == month and r[2] == r[3] == "Demoshire Constabulary" and r[11] == ""
            if r[9] == "Anti-social behaviour":
                asb += 1
                assert r[0] == "" and r[10] == ""
            else:
                crimes += 1
                assert re.fullmatch(r"[0-9a-f]{64}", r[0]) and r[10]
            if r[6] == "No Location":
                noloc += 1
                assert r[4] == r[5] == r[7] == r[8] == ""
            else:
                assert r[6].startswith("On or near ") and re.fullmatch(r"E01099\d{3}", r[7])
                assert re.fullmatch(r"-?\d+\.\d{6}", r[4]) and re.fullmatch(r"\d+\.\d{6}", r[5])
    assert 0 < noloc < 0.01 * (asb + crimes)
    ids = [r[0] for rows in street.values() for r in rows if r[0]]
    assert len(ids) == len(set(ids))


def test_extract_files_have_canonical_schema(city: DemoCity, extract: dict) -> None:
    lookup = {r[0]: (r[2], r[3]) for r in read_csv(city.lsoa_ward_lookup)[1]}
    ids = set()
    for fy, path in zip(FYS, city.extract_files):
        header, _ = read_csv(path)
        assert header == EXTRACT_HEADER
        start = int(fy[:4])
        for r in extract[fy]:
            d = date.fromisoformat(r["recorded_date"])
            assert date(start, 4, 1) <= d <= date(start + 1, 3, 31)
            assert re.fullmatch(r"\d{1,3}[A-Z]?(\.\d{1,2})?", r["offence_code"]) and r["offence_description"]
            assert r["occurred_time"] == "" or re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", r["occurred_time"])
            assert {r["knife_flag"], r["hate_flag"], r["domestic_flag"]} <= {"Y", "N"}
            assert lookup[r["lsoa_code"]] == (r["ward_code"], r["ward_name"])
            assert r["local_authority_code"] == "E06009901" and r["outcome"] and r["location_type"]
            ids.add(r["crime_id"])
    assert len(ids) == sum(len(v) for v in extract.values())


def test_offence_codes_are_real_home_office_codes(extract: dict, shared_data: Path) -> None:
    with open(shared_data / "homeoffice" / "offence-code-mapping.csv", newline="", encoding="utf-8") as fh:
        real = set()
        for r in csv.DictReader(fh):
            real.update(r["Offence_Code"].split("/"))
    used = {r["offence_code"] for rows in extract.values() for r in rows}
    assert used - real == set()
    assert len(used) > 60


def test_fictional_codes_never_collide_with_real_ones(city: DemoCity, shared_data: Path) -> None:
    _, rows = read_csv(shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv")
    real = {r[0] for r in rows} | {r[2] for r in rows} | {r[5] for r in rows}
    _, ours = read_csv(city.lsoa_ward_lookup)
    assert len(real) > 30_000
    assert not ({r[0] for r in ours} | {r[2] for r in ours} | {r[5] for r in ours}) & real


def test_geography_files(city: DemoCity) -> None:
    lsoa = json.loads(city.lsoa_geojson.read_text(encoding="utf-8"))
    wards = json.loads(city.wards_geojson.read_text(encoding="utf-8"))
    for fc in (lsoa, wards):
        assert "27700" in fc["crs"]["properties"]["name"]
    assert len(wards["features"]) == 16 and 140 <= len(lsoa["features"]) <= 160
    lgeom = {f["properties"]["LSOA11CD"]: shape(f["geometry"]) for f in lsoa["features"]}
    wgeom = {f["properties"]["WD23CD"]: shape(f["geometry"]) for f in wards["features"]}
    assert all(re.fullmatch(r"E01099\d{3}", c) for c in lgeom)
    assert all(re.fullmatch(r"E050999\d\d", c) for c in wgeom)
    for geoms in (lgeom, wgeom):
        arr = np.array(list(geoms.values()), dtype=object)
        assert all(shapely.is_valid(arr)) and set(shapely.get_type_id(arr)) == {3}
        tree = shapely.STRtree(arr)
        i, j = tree.query(arr, predicate="intersects")
        keep = i < j
        overlap = shapely.area(shapely.intersection(arr[i[keep]], arr[j[keep]]))
        assert overlap.max() < 1.0  # shared edges only, no overlaps
        # plausible southern-England BNG location
        minx, miny, maxx, maxy = shapely.total_bounds(arr)
        assert 380_000 < minx < maxx < 520_000 and 80_000 < miny < maxy < 160_000
    # wards are unions of their LSOAs, per the lookup
    header, rows = read_csv(city.lsoa_ward_lookup)
    assert header == ["LSOA11CD", "LSOA11NM", "WD23CD", "WD23NM", "WD23NMW", "LAD23CD", "LAD23NM", "FID"]
    members = defaultdict(list)
    for r in rows:
        members[r[2]].append(lgeom[r[0]])
    for code, geom in wgeom.items():
        assert 5 <= len(members[code]) <= 14
        assert shapely.union_all(members[code]).symmetric_difference(geom).area < 1.0
    names = [f["properties"]["WD23NM"] for f in wards["features"]]
    assert len(set(names)) == 16
    header, rows = read_csv(city.lad_csp_pfa_lookup)
    assert header == ["LAD23CD", "LAD23NM", "CSP23CD", "CSP23NM", "PFA23CD", "PFA23NM", "FID"]
    assert rows == [["E06009901", "Demoport", "E22009901", "Demoport", "E23009901", "Demoshire", "1"]]
    # not a grid: LSOA shapes have many vertices
    assert np.median([len(g.exterior.coords) for g in lgeom.values()]) > 20


def test_population_file(city: DemoCity) -> None:
    header, rows = read_csv(city.population_csv)
    assert header == CENSUS_HEADER
    assert any('"1,' in line for line in city.population_csv.read_text(encoding="utf-8").splitlines()[1:])
    lsoas = {r[0] for r in read_csv(city.lsoa_ward_lookup)[1]}
    assert {r[6] for r in rows} == lsoas
    for r in rows:
        total, in_hh, communal, hh = (int(r[i].replace(",", "")) for i in (9, 10, 11, 14))
        assert 1_300 <= total <= 2_100 and total == in_hh + communal
        assert 1.9 <= in_hh / hh <= 2.8
        assert r[2] == "E06009901" and r[7].startswith("Demoport ")


def test_every_point_lies_in_its_lsoa(city: DemoCity, extract: dict, street: dict) -> None:
    lsoa = json.loads(city.lsoa_geojson.read_text(encoding="utf-8"))
    geoms = {f["properties"]["LSOA11CD"]: shape(f["geometry"]) for f in lsoa["features"]}
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    pts: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for rows in extract.values():
        for r in rows:
            pts[r["lsoa_code"]].append((float(r["longitude"]), float(r["latitude"])))
    for rows in street.values():
        for r in rows:
            if r[7]:
                pts[r[7]].append((float(r[4]), float(r[5])))
    checked = 0
    for code, lonlat in pts.items():
        a = np.array(lonlat)
        x, y = to_bng.transform(a[:, 0], a[:, 1])
        inside = shapely.contains_xy(geoms[code], x, y)
        assert inside.all(), f"{(~inside).sum()} points outside {code}"
        checked += len(a)
    assert checked > 250_000


# ---------------------------------------------------------------------------------------------- stories
def test_total_crime_rose_in_each_of_the_last_four_years(extract: dict, stories: dict) -> None:
    totals = [len(extract[fy]) for fy in FYS]
    assert all(25_000 <= t <= 32_000 for t in totals)
    for prev, cur in zip(totals, totals[1:]):
        assert cur > prev and binomtest(cur, cur + prev, 0.5).pvalue < 0.001
    assert [s["count"] for s in stories["total_rise"]["series"]] == totals
    assert stories["total_rise"]["run"] == {"direction": "rise", "length": 4}


def test_story_ward_has_a_significant_rise(extract: dict, stories: dict) -> None:
    code = stories["ward_rise"]["ward_code"]
    prev = sum(r["ward_code"] == code for r in extract["2023/24"])
    cur = sum(r["ward_code"] == code for r in extract["2024/25"])
    assert 200 <= prev <= 1500
    assert 20 <= 100 * (cur - prev) / prev <= 30
    assert binomtest(cur, cur + prev, 0.5).pvalue < 0.01
    assert (stories["ward_rise"]["previous"], stories["ward_rise"]["current"]) == (prev, cur)


def test_robbery_change_is_small_and_not_significant(extract: dict, street: dict, stories: dict) -> None:
    def rob(rows: list[dict]) -> int:
        return sum(r["offence_code"] in ("34A", "34B") for r in rows)

    prev, cur = rob(extract["2023/24"]), rob(extract["2024/25"])
    assert cur - prev == 3 and 40 <= prev <= 400
    assert binomtest(cur, cur + prev, 0.5).pvalue > 0.5
    puk_cur = sum(r[9] == "Robbery" for m, rows in street.items() if fy_of(m) == "2024/25" for r in rows)
    assert puk_cur == cur
    assert stories["robbery_flat"]["change"] == 3


def test_knife_crime_up_and_residential_burglary_down(extract: dict) -> None:
    def count(rows: list[dict], pred) -> int:  # noqa: ANN001
        return sum(1 for r in rows if pred(r))

    def knife(r: dict) -> bool:
        return r["knife_flag"] == "Y" and r["offence_code"] in KNIFE_CODES

    def burglary(r: dict) -> bool:
        return r["offence_code"] in RES_BURGLARY

    kp, kc = count(extract["2023/24"], knife), count(extract["2024/25"], knife)
    bp, bc = count(extract["2023/24"], burglary), count(extract["2024/25"], burglary)
    assert 20 <= 100 * (kc - kp) / kp <= 30
    assert -16 <= 100 * (bc - bp) / bp <= -12
    # the knife flag is only ever set on the ONS selected offences
    assert all(r["offence_code"] in KNIFE_CODES for rows in extract.values() for r in rows if r["knife_flag"] == "Y")


def test_one_police_uk_month_is_missing_and_the_rest_match_the_extract(
    city: DemoCity, extract: dict, street: dict, stories: dict
) -> None:
    missing = stories["missing_month"]["month"]
    assert fy_of(missing) == "2023/24" and missing not in street
    assert not (city.root / stories["missing_month"]["file"]).exists()
    expected = {f"{y}-{m:02d}" for y in range(2020, 2026) for m in range(1, 13)
                if f"{y}-{m:02d}" >= "2020-04" and f"{y}-{m:02d}" <= "2025-03"}
    assert set(street) == expected - {missing}
    by_month = Counter(r["recorded_date"][:7] for rows in extract.values() for r in rows)
    for month, rows in street.items():
        assert sum(r[9] != "Anti-social behaviour" for r in rows) == by_month[month]


def test_realistic_shares_and_patterns(extract: dict, street: dict) -> None:
    cur = extract["2024/25"]
    n = len(cur)
    assert 0.025 <= sum(r["hate_flag"] == "Y" for r in cur) / n <= 0.045
    assert 0.12 <= sum(r["domestic_flag"] == "Y" for r in cur) / n <= 0.18
    violence = [r for r in cur if r["offence_code"] in ("8N", "105A", "5D")]
    dow = Counter(date.fromisoformat(r["recorded_date"]).weekday() for r in violence)
    assert dow[5] > 1.2 * dow[1]  # Saturday busier than Tuesday
    for rows in extract.values():
        month = Counter(r["recorded_date"][5:7] for r in rows)
        summer = (month["06"] + month["07"] + month["08"]) / 92
        winter = (month["12"] + month["01"] + month["02"]) / 90
        assert summer > winter
    licensed = Counter(r["ward_name"] for r in cur if r["location_type"] == "Licensed premises")
    assert licensed.most_common(1)[0][1] > 0.5 * sum(licensed.values())
    puk = [r for m, rows in street.items() if fy_of(m) == "2024/25" for r in rows]
    asb = sum(r[9] == "Anti-social behaviour" for r in puk)
    assert 0.15 <= asb / (len(puk) - asb) <= 0.20
    vso = sum(r[9] == "Violence and sexual offences" for r in puk)
    assert 0.33 <= vso / (len(puk) - asb) <= 0.45


# ------------------------------------------------------------------------------------ generate_street_csv
def test_generate_street_csv(tmp_path: Path) -> None:
    a = generate_street_csv(tmp_path / "a.csv", 20_000, seed=3, month="2019-05")
    b = generate_street_csv(tmp_path / "b.csv", 20_000, seed=3, month="2019-05")
    c = generate_street_csv(tmp_path / "c.csv", 20_000, seed=4, month="2019-05")
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    data = a.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") == 20_001
    header, rows = read_csv(a)
    assert header == STREET_HEADER and len(rows) == 20_000
    assert all(len(r) == 12 and r[1] == "2019-05" for r in rows)
    asb = [r for r in rows if r[9] == "Anti-social behaviour"]
    assert 0.12 < len(asb) / len(rows) < 0.18 and all(r[0] == "" for r in asb)
    assert all(re.fullmatch(r"[0-9a-f]{64}", r[0]) for r in rows if r[9] != "Anti-social behaviour")
    assert any(r[6] == "No Location" and r[4] == r[7] == "" for r in rows)
    lf = generate_street_csv(tmp_path / "lf.csv", 10, seed=1, crlf=False).read_bytes()
    assert b"\r" not in lf
    with pytest.raises(InputError):
        generate_street_csv(tmp_path / "bad.csv", 10, month="2019-13")
    with pytest.raises(InputError):
        generate_street_csv(tmp_path / "bad.csv", -1)
