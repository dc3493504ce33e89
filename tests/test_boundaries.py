"""Boundary reading: GeoJSON, TopoJSON, GeoPackage, Shapefile; CRS detection; field detection."""
from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from crimeassess.errors import InputError
from crimeassess.geography.boundaries import decode_topojson, read_boundaries, to_wgs84
from crimeassess.geography.lookups import detect_geography_kind

COLUMNS = ["code", "name", "level", "vintage", "lad_code", "lad_name", "geometry"]


def _soton(shared_data: Path) -> Path:
    return shared_data / "geography" / "boundaries" / "southampton"


# ---------------------------------------------------------------------------------------- real files


@pytest.mark.realdata
def test_topojson_and_geojson_wards_agree(shared_data: Path) -> None:
    topo = read_boundaries(_soton(shared_data) / "wards-2013-topojson.json")
    geo = read_boundaries(_soton(shared_data) / "wards-16-pre2023.geojson")
    for g in (topo, geo):
        assert list(g.columns) == COLUMNS
        assert g.crs.to_epsg() == 27700
        assert (g["level"] == "ward").all()
        assert g.geometry.is_valid.all()
    assert topo["vintage"].iloc[0] == "WD13"
    assert geo["vintage"].iloc[0] == "WD22"
    assert len(topo) == 16
    assert set(topo["code"]) == set(geo["code"]) == {f"E0500{n}" for n in range(2455, 2471)}
    t, g = topo.set_index("code"), geo.set_index("code").reindex(topo["code"])
    assert (t["name"] == g["name"]).all()
    ratio = t.area / g.area
    print(f"TopoJSON/GeoJSON ward area ratio: min {ratio.min():.4f} max {ratio.max():.4f}")
    assert ((ratio - 1).abs() < 0.01).all()
    # the shapes overlap, not just match in size
    overlap = t.geometry.intersection(g.geometry).area / g.area
    assert (overlap > 0.98).all()


@pytest.mark.realdata
def test_lsoa_msoa_files(shared_data: Path) -> None:
    lookup = shared_data / "geography" / "lookups" / "LSOA11_WD17_LAD17_EW_LU.csv"
    with open(lookup, encoding="utf-8-sig", newline="") as fh:
        soton = {r["LSOA11CD"] for r in csv.DictReader(fh) if r["LAD17CD"] == "E06000045"}
    lsoa = read_boundaries(_soton(shared_data) / "lsoa11.geojson")  # declared CRS84
    assert set(lsoa["code"]) == soton
    assert (lsoa["level"] == "lsoa").all() and lsoa["vintage"].iloc[0] == "LSOA11"
    minx, miny, maxx, maxy = lsoa.total_bounds
    assert 430_000 < minx < maxx < 455_000 and 100_000 < miny < maxy < 125_000  # Southampton in BNG
    msoa = read_boundaries(_soton(shared_data) / "msoa11.geojson")
    assert len(msoa) == 32 and (msoa["level"] == "msoa").all()
    # LSOAs nest in MSOAs: the city's total area agrees
    assert abs(lsoa.area.sum() / msoa.area.sum() - 1) < 0.005


@pytest.mark.realdata
def test_wgs84_round_trip(shared_data: Path) -> None:
    geo = read_boundaries(_soton(shared_data) / "wards-16-pre2023.geojson")
    wgs = to_wgs84(geo)
    assert wgs.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = wgs.total_bounds
    assert -1.6 < minx < maxx < -1.2 and 50.8 < miny < maxy < 51.0
    back = wgs.to_crs(27700)
    assert np.allclose(back.area.to_numpy(), geo.area.to_numpy(), rtol=1e-6)
    assert list(wgs["code"]) == list(geo["code"])


@pytest.mark.realdata
def test_geojson_without_crs_detected_by_coordinates(shared_data: Path, tmp_path: Path) -> None:
    src = _soton(shared_data) / "wards-16-pre2023.geojson"
    ref = read_boundaries(src)
    doc = json.loads(src.read_text())
    doc.pop("crs")  # eastings/northings like 440000,110000 with no crs member
    p = tmp_path / "nocrs.geojson"
    p.write_text(json.dumps(doc))
    got = read_boundaries(p)
    assert got.crs.to_epsg() == 27700
    assert np.allclose(got.area.to_numpy(), ref.area.to_numpy(), rtol=1e-9)

    wgs_doc = json.loads(to_wgs84(ref).to_json())
    wgs_doc.pop("crs", None)
    p2 = tmp_path / "nocrs-wgs.geojson"
    p2.write_text(json.dumps(wgs_doc))
    got2 = read_boundaries(p2, code_field="code", name_field="name")
    assert np.allclose(got2.area.to_numpy(), ref.area.to_numpy(), rtol=1e-6)
    assert got2["level"].iloc[0] == "ward" and got2["vintage"].iloc[0] is None


@pytest.mark.realdata
@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("ESRI Shapefile", ".shp")])
def test_geopackage_and_shapefile(shared_data: Path, tmp_path: Path, driver: str, suffix: str) -> None:
    src = _soton(shared_data) / "wards-16-pre2023.geojson"
    ref = read_boundaries(src)
    raw = gpd.read_file(src)[["WD22CD", "WD22NM", "geometry"]]
    out = tmp_path / f"wards{suffix}"
    raw.to_file(out, driver=driver)
    assert detect_geography_kind(out) == "boundaries"
    got = read_boundaries(out)
    assert list(got["code"]) == list(ref["code"])
    assert list(got["name"]) == list(ref["name"])
    assert got["vintage"].iloc[0] == "WD22" and (got["level"] == "ward").all()
    # GeoPackage promotes Polygon to MultiPolygon, so compare shapes, not types
    assert got.geometry.geom_equals(ref.geometry).all()
    assert np.allclose(got.area.to_numpy(), ref.area.to_numpy(), rtol=1e-12)


@pytest.mark.realdata
def test_zipped_shapefile(shared_data: Path, tmp_path: Path) -> None:
    ref = read_boundaries(_soton(shared_data) / "wards-16-pre2023.geojson")
    gpd.GeoDataFrame({"WD16CD": ref["code"], "WD16NM": ref["name"]}, geometry=ref.geometry).to_file(
        tmp_path / "w.shp"
    )
    z = tmp_path / "wards.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in tmp_path.glob("w.*"):
            zf.write(f, f.name)
    assert detect_geography_kind(z) == "boundaries"
    got = read_boundaries(z)
    assert list(got["code"]) == list(ref["code"]) and got["vintage"].iloc[0] == "WD16"


# ---------------------------------------------------------------------------------------- TopoJSON decoder


def _topology() -> dict:
    # Quantized (scale 0.5, translate 400000/100000) and delta-encoded arcs.
    # Arc 0: shared edge (10,0)->(10,10); arc 1: rest of left square (10,10)->(0,10)->(0,0)->(10,0);
    # arc 2: rest of right square (10,10)->(20,10)->(20,0)->(10,0); arc 3: hole in the left square;
    # arc 4: a separate square (30,0)-(32,2). Quantized units are half the real ones, so double them.
    def q(points: list[tuple[int, int]]) -> list[list[int]]:
        qp = [(2 * x, 2 * y) for x, y in points]
        return [list(qp[0])] + [[b[0] - a[0], b[1] - a[1]] for a, b in zip(qp, qp[1:])]

    arcs = [
        q([(10, 0), (10, 10)]),
        q([(10, 10), (0, 10), (0, 0), (10, 0)]),
        q([(10, 10), (20, 10), (20, 0), (10, 0)]),
        q([(2, 2), (2, 4), (4, 4), (4, 2), (2, 2)]),
        q([(30, 0), (32, 0), (32, 2), (30, 2), (30, 0)]),
    ]
    return {
        "type": "Topology",
        "transform": {"scale": [0.5, 0.5], "translate": [400000, 100000]},
        "arcs": arcs,
        "objects": {
            "areas": {
                "type": "GeometryCollection",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
                "geometries": [
                    {"type": "Polygon", "id": "A", "properties": {"nm": "left"}, "arcs": [[0, 1], [3]]},
                    {"type": "MultiPolygon", "id": "B", "properties": {"nm": "right"}, "arcs": [[[-3, -1]], [[4]]]},
                ],
            }
        },
    }


def test_decode_topojson_exact() -> None:
    props, geoms, crs = decode_topojson(_topology())
    assert [p["id"] for p in props] == ["A", "B"]
    assert crs["properties"]["name"].endswith("27700")
    left, right = geoms
    assert left.geom_type == "Polygon" and len(left.interiors) == 1
    assert left.area == pytest.approx(100 - 4)
    assert right.geom_type == "MultiPolygon" and right.area == pytest.approx(100 + 4)
    assert left.exterior.coords[0] == (400010.0, 100000.0)
    assert shapely.equals(
        right.geoms[0], shapely.box(400010, 100000, 400020, 100010)
    )  # reversed arcs joined correctly
    # the two squares share exactly the edge of arc 0
    shared = left.boundary.intersection(right.geoms[0].boundary)
    assert shared.length == pytest.approx(10)


def test_read_topojson_file(tmp_path: Path) -> None:
    p = tmp_path / "t.topojson"
    p.write_text(json.dumps(_topology()))
    g = read_boundaries(p, level="custom")
    assert list(g["code"]) == ["A", "B"] and list(g["name"]) == ["left", "right"]
    assert (g["level"] == "custom").all() and g["vintage"].isna().all()
    assert g.area.tolist() == pytest.approx([96, 104])


# ---------------------------------------------------------------------------------------- edge cases


def _fc(features: list[dict], crs: str | None = "EPSG:27700") -> dict:
    doc: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return doc


def _feat(props: dict, coords: list) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": coords}}


def test_invalid_geometry_is_repaired(tmp_path: Path) -> None:
    bowtie = [[[440000, 110000], [441000, 111000], [441000, 110000], [440000, 111000], [440000, 110000]]]
    p = tmp_path / "bad.geojson"
    p.write_text(json.dumps(_fc([_feat({"lsoa11cd": "E01000001", "lsoa11nm": "x"}, bowtie)])))
    g = read_boundaries(p)
    assert g.geometry.is_valid.all()
    assert g.geometry.iloc[0].geom_type in ("Polygon", "MultiPolygon")
    assert g.area.iloc[0] == pytest.approx(500_000)  # two triangles of 250,000 m²
    assert g["level"].iloc[0] == "lsoa" and g["vintage"].iloc[0] == "LSOA11"


def test_duplicate_codes_are_dissolved(tmp_path: Path) -> None:
    a = [[[440000, 110000], [440100, 110000], [440100, 110100], [440000, 110100], [440000, 110000]]]
    b = [[[450000, 110000], [450100, 110000], [450100, 110100], [450000, 110100], [450000, 110000]]]
    p = tmp_path / "dup.geojson"
    p.write_text(json.dumps(_fc([_feat({"code": "E05000001", "name": "W"}, a), _feat({"code": "E05000001", "name": "W"}, b)])))
    g = read_boundaries(p)
    assert len(g) == 1 and g.area.iloc[0] == pytest.approx(20_000)
    assert g["level"].iloc[0] == "ward"  # from the E05 code prefix


def test_boundary_errors(tmp_path: Path) -> None:
    sq = [[[440000, 110000], [440100, 110000], [440100, 110100], [440000, 110000]]]
    p = tmp_path / "nocode.geojson"
    p.write_text(json.dumps(_fc([_feat({"colour": "red"}, sq)])))
    with pytest.raises(InputError, match="code_field"):
        read_boundaries(p)
    with pytest.raises(InputError, match="no field 'zzz'"):
        read_boundaries(p, code_field="zzz")
    with pytest.raises(InputError, match="level must be"):
        read_boundaries(p, level="county")

    far = tmp_path / "far.geojson"
    far.write_text(json.dumps(_fc([_feat({"code": "A"}, [[[5e6, 5e6], [5e6 + 1, 5e6], [5e6, 5e6 + 1], [5e6, 5e6]]])], crs=None)))
    with pytest.raises(InputError, match="neither WGS84 nor British National Grid"):
        read_boundaries(far)

    pts = tmp_path / "pts.geojson"
    pts.write_text(json.dumps(_fc([{"type": "Feature", "properties": {"code": "A"}, "geometry": {"type": "Point", "coordinates": [440000, 110000]}}])))
    with pytest.raises(InputError, match="must be polygons"):
        read_boundaries(pts)

    nogeom = tmp_path / "nogeom.geojson"
    nogeom.write_text(json.dumps(_fc([{"type": "Feature", "properties": {"code": "A"}, "geometry": None}])))
    with pytest.raises(InputError, match="has no geometry"):
        read_boundaries(nogeom)

    junk = tmp_path / "junk.geojson"
    junk.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        read_boundaries(junk)

    topo = _topology()
    topo["objects"]["other"] = topo["objects"]["areas"]
    tp = tmp_path / "two.json"
    tp.write_text(json.dumps(topo))
    with pytest.raises(InputError, match="choose one with layer="):
        read_boundaries(tp)
    assert len(read_boundaries(tp, layer="other")) == 2
