"""Geography in assessments: placement methods and agreement, areas at every level, vintages, population."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from crimeassess.assess.engine import assess
from crimeassess.errors import AreaNotFoundError, GeographyError
from crimeassess.geography.boundaries import to_wgs84
from crimeassess.geography.load import load_geography
from crimeassess.ingest import ingest
from crimeassess.store import Store

SOTON = "E06000045"


@pytest.fixture(scope="module")
def geo_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = Store(tmp_path_factory.mktemp("geo") / "store")
    arch = shared_data / "police-uk" / "archive"
    ingest([arch / "2017-04" / "2017-04-hampshire-street.csv", arch / "2017-05" / "2017-05-hampshire-street.csv"], st)
    lk = shared_data / "geography" / "lookups"
    b = shared_data / "geography" / "boundaries" / "southampton"
    load_geography([lk / "LSOA11_WD16_LAD16_EW_LU.csv", lk / "LSOA11_WD17_LAD17_EW_LU.csv",
                    lk / "LAD17_CSP17_PFA17_EW_LU.csv", b / "wards-16-pre2023.geojson", b / "lsoa11.geojson",
                    shared_data / "population" / "census-2011-lsoa-population-households.csv"], st)
    return st


def _lookup(shared: Path, vintage: str = "17") -> list[dict[str, str]]:
    with open(shared / f"geography/lookups/LSOA11_WD{vintage}_LAD{vintage}_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _crimes(shared: Path, month: str) -> list[dict[str, str]]:
    with open(shared / f"police-uk/archive/{month}/{month}-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
        return [r for r in csv.DictReader(fh) if r["Crime type"] != "Anti-social behaviour"]


def test_placement_methods_and_agreement(geo_store: Store) -> None:
    auto = assess("Southampton", "2017-05", "2017-04", geo_store).to_dict()
    g = auto["geography"]
    assert g["placement"] == "auto" and g["ward_vintage"] == "WD17"
    assert sum(g["placed_by"].values()) == auto["total"]["current"]
    # LSOA best fit and point in polygon agree on about 98% of Southampton's May 2017 crimes
    assert g["agreement"]["compared"] == auto["total"]["current"]
    assert 0.95 <= g["agreement"]["share"] <= 1.0
    pts = assess("Southampton", "2017-05", "2017-04", geo_store, placement="point").to_dict()
    assert pts["geography"]["placed_by"]["point"] == pts["total"]["current"]
    assert abs(pts["total"]["current"] - auto["total"]["current"]) / auto["total"]["current"] < 0.03
    lsoa = assess("Southampton", "2017-05", "2017-04", geo_store, placement="lsoa").to_dict()
    assert lsoa["total"]["current"] == auto["total"]["current"]  # every Hampshire crime has an LSOA


def test_areas_at_every_level(geo_store: Store, shared_data: Path) -> None:
    lk = _lookup(shared_data)
    with open(shared_data / "geography/lookups/LAD17_CSP17_PFA17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        lad_pfa = {r["LAD17CD"]: r["PFA17NM"] for r in csv.DictReader(fh)}
    lsoa_lad = {r["LSOA11CD"]: r["LAD17CD"] for r in lk}
    lsoa_ward = {r["LSOA11CD"]: r["WD17NM"] for r in lk if r["LAD17CD"] == SOTON}
    may = _crimes(shared_data, "2017-05")
    in_pfa = sum(lad_pfa.get(lsoa_lad.get(r["LSOA code"], ""), "") == "Hampshire" for r in may)
    pfa = assess("Hampshire", "2017-05", "2017-04", geo_store, placement="lsoa").to_dict()
    assert pfa["area"]["level"] == "pfa" and pfa["total"]["current"] == in_pfa
    ward = assess("Bargate", "2017-05", "2017-04", geo_store, placement="lsoa").to_dict()
    assert ward["area"]["level"] == "ward"
    assert ward["total"]["current"] == sum(lsoa_ward.get(r["LSOA code"]) == "Bargate" for r in may)
    assert [w["name"] for w in ward["wards"]] == ["Bargate"]
    with pytest.raises(AreaNotFoundError, match="did you mean"):
        assess("Hampshir", "2017-05", store=geo_store)


def test_csp_resolves_from_lookup(geo_store: Store, shared_data: Path) -> None:
    with open(shared_data / "geography/lookups/LAD17_CSP17_PFA17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r["LAD17CD"] == SOTON]
    csp_code = rows[0]["CSP17CD"]
    a = assess(csp_code, "2017-05", "2017-04", geo_store, placement="lsoa").to_dict()
    b = assess("Southampton", "2017-05", "2017-04", geo_store, placement="lsoa").to_dict()
    assert a["area"]["level"] == "csp" and a["total"] == b["total"]


def test_custom_polygon_area(geo_store: Store, shared_data: Path, tmp_path: Path) -> None:
    wards = json.loads((shared_data / "geography/boundaries/southampton/wards-16-pre2023.geojson").read_text())
    feat = next(f for f in wards["features"] if "Bargate" in json.dumps(f["properties"]))
    area = {"type": "FeatureCollection", "crs": wards.get("crs"),
            "features": [{"type": "Feature", "properties": {"name": "City centre"}, "geometry": feat["geometry"]}]}
    f = tmp_path / "my-area.geojson"
    f.write_text(json.dumps(area))
    custom = assess("", "2017-05", "2017-04", geo_store, area_file=f).to_dict()
    ward = assess("Bargate", "2017-05", "2017-04", geo_store, placement="point").to_dict()
    assert custom["area"]["level"] == "custom" and custom["area"]["name"] == "City centre"
    assert abs(custom["total"]["current"] - ward["total"]["current"]) <= max(3, 0.01 * ward["total"]["current"])


def test_ward_vintages(geo_store: Store, tmp_path: Path) -> None:
    a = assess("Southampton", "2017-05", "2017-04", geo_store, ward_vintage="WD16").to_dict()
    assert a["geography"]["ward_vintage"] == "WD16" and len(a["wards"]) == 16
    with pytest.raises(GeographyError, match="not loaded"):
        assess("Southampton", "2017-05", store=geo_store, ward_vintage="WD23")
    other = tmp_path / "LSOA11_WD99_LAD99_EW_LU.csv"
    other.write_text("LSOA11CD,LSOA11NM,WD99CD,WD99NM,LAD99CD,LAD99NM\nE01000001,City of London 001A,E05009288,Aldersgate,E09000001,City of London\n")
    load_geography([other], geo_store)
    with pytest.raises(GeographyError, match="does not cover"):
        assess("Southampton", "2017-05", store=geo_store, ward_vintage="WD99")


def test_population_and_rates(geo_store: Store, shared_data: Path) -> None:
    soton_lsoas = {r["LSOA11CD"] for r in _lookup(shared_data) if r["LAD17CD"] == SOTON}
    res = hh = 0
    with open(shared_data / "population/census-2011-lsoa-population-households.csv", newline="", encoding="utf-8-sig") as fh:
        rd = csv.reader(fh)
        header = next(rd)
        i_code, i_res, i_hh = header.index("LSOA Code"), header.index("Persons"), header.index("Households")
        for r in rd:
            if r and r[i_code] in soton_lsoas:
                res += int(r[i_res].replace(",", ""))
                hh += int(r[i_hh].replace(",", ""))
    a = assess("Southampton", "2017-05", "2017-04", geo_store, ward_vintage="WD17").to_dict()
    assert a["population"]["residents"] == res and a["population"]["households"] == hh
    assert a["population"]["year"] == 2011 and "Census" in a["population"]["source"]
    # per 1,000 residents a year: one month's count times 12
    assert a["total"]["rate_per_1000"] == round(a["total"]["current"] * 12 / res * 1000, 1)
    burg = next(t for t in a["themes"] if t["id"] == "burglary")
    assert burg["rate_per_1000"] == round(burg["current"] * 12 / hh * 1000, 1) and burg["rate_base"] == "households"
    assert sum(w["population"] for w in a["wards"]) == res


def test_rates_are_null_without_population(shared_data: Path, tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    ingest([shared_data / "police-uk/archive/2017-05/2017-05-hampshire-street.csv"], st)
    load_geography([shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv"], st)
    a = assess("Southampton", "2017-05", store=st).to_dict()
    assert a["population"] is None and a["total"]["rate_per_1000"] is None
    assert all(w["rate_per_1000"] is None for w in a["wards"])


def test_ward_geometry_in_both_crs(geo_store: Store) -> None:
    res = assess("Southampton", "2017-05", "2017-04", geo_store)
    g = res.ward_geometry
    assert g is not None and g.crs.to_epsg() == 27700 and len(g) == 16
    w = to_wgs84(g)
    minx, miny, maxx, maxy = w.total_bounds
    assert -1.6 < minx < maxx < -1.2 and 50.8 < miny < maxy < 51.0


def test_ward_set_defined_by_boundaries_alone(shared_data: Path, tmp_path: Path) -> None:
    """Southampton's 17 wards of May 2023 have boundaries (WD25) but no LSOA lookup here: LSOAs are assigned to
    them by a point inside each LSOA polygon, other crimes by their map points; 17 wards named in the output."""
    st = Store(tmp_path / "s")
    arch = shared_data / "police-uk" / "archive"
    ingest([arch / "2018-03" / "2018-03-hampshire-street.csv", arch / "2017-03" / "2017-03-hampshire-street.csv"], st)
    b = shared_data / "geography" / "boundaries" / "southampton"
    load_geography([shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", b / "wards-17-post2023.geojson",
                    b / "lsoa11.geojson"], st)
    wards17 = json.loads((b / "wards-17-post2023.geojson").read_text())["features"]
    names = {f["properties"]["WD25NM"] for f in wards17}
    old = assess("Southampton", "2018-03", store=st).to_dict()
    new = assess("Southampton", "2018-03", store=st, ward_vintage="WD25").to_dict()
    assert old["geography"]["ward_vintage"] == "WD17" and len(old["wards"]) == 16
    assert new["geography"]["ward_vintage"] == "WD25" and {w["name"] for w in new["wards"]} == names == \
        {w["name"] for w in new["wards"]} and len(new["wards"]) == 17
    assert sum(w["current"] for w in new["wards"]) == new["total"]["current"]
    assert sum(w["previous"] for w in new["wards"]) == new["total"]["previous"]
    assert abs(new["total"]["current"] - old["total"]["current"]) <= 0.01 * old["total"]["current"]
    # a ward that exists only in the new set resolves to it by default
    t = assess("Thornhill", "2018-03", store=st).to_dict()
    assert t["geography"]["ward_vintage"] == "WD25" and t["area"]["level"] == "ward"
    assert t["total"]["current"] == next(w["current"] for w in new["wards"] if w["name"] == "Thornhill")
