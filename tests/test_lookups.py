"""ONS lookup readers and content-based geography file detection."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from crimeassess.errors import InputError
from crimeassess.geography.lookups import (
    detect_geography_kind,
    read_lad_csp_pfa_lookup,
    read_lsoa_ward_lookup,
    read_ward_codes,
)

SOUTHAMPTON = "E06000045"
LSOA_COLUMNS = ["lsoa_code", "lsoa_name", "ward_code", "ward_name", "lad_code", "lad_name"]


def _csv_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.realdata
@pytest.mark.parametrize("yy", ["16", "17", "18"])
def test_real_lsoa_ward_lookup_southampton(shared_data: Path, yy: str) -> None:
    path = shared_data / "geography" / "lookups" / f"LSOA11_WD{yy}_LAD{yy}_EW_LU.csv"
    rows = _csv_rows(path)
    soton = [r for r in rows if r[f"LAD{yy}CD"] == SOUTHAMPTON]
    expected_lsoas = {r["LSOA11CD"] for r in soton}
    expected_wards = {r[f"WD{yy}CD"] for r in soton}

    df, vintage = read_lsoa_ward_lookup(path)
    assert vintage == f"WD{yy}"
    assert list(df.columns) == LSOA_COLUMNS
    assert len(df) == len(rows) == 34753
    assert df["lsoa_code"].is_unique
    sub = df[df["lad_code"] == SOUTHAMPTON]
    assert set(sub["lsoa_code"]) == expected_lsoas
    assert len(expected_lsoas) == 148
    assert set(sub["ward_code"]) == expected_wards
    assert len(expected_wards) == 16
    # a row carried through unchanged
    first = soton[0]
    got = sub.set_index("lsoa_code").loc[first["LSOA11CD"]]
    assert (got["ward_code"], got["ward_name"], got["lad_name"]) == (
        first[f"WD{yy}CD"],
        first[f"WD{yy}NM"],
        first[f"LAD{yy}NM"],
    )


@pytest.mark.realdata
@pytest.mark.parametrize("yy", ["17", "18"])
def test_real_lad_csp_pfa_lookup(shared_data: Path, yy: str) -> None:
    path = shared_data / "geography" / "lookups" / f"LAD{yy}_CSP{yy}_PFA{yy}_EW_LU.csv"
    rows = _csv_rows(path)
    df, vintage = read_lad_csp_pfa_lookup(path)
    assert vintage == f"LAD{yy}"
    assert list(df.columns) == ["lad_code", "lad_name", "csp_code", "csp_name", "pfa_code", "pfa_name"]
    assert len(df) == len({r[f"LAD{yy}CD"] for r in rows})
    want = next(r for r in rows if r[f"LAD{yy}CD"] == SOUTHAMPTON)
    got = df.set_index("lad_code").loc[SOUTHAMPTON]
    assert got["csp_code"] == want[f"CSP{yy}CD"]
    assert got["pfa_name"] == want[f"PFA{yy}NM"]


@pytest.mark.realdata
def test_real_ward_codes(shared_data: Path) -> None:
    path = shared_data / "geography" / "lookups" / "southampton-ward-codes-2016-and-2023.csv"
    rows = _csv_rows(path)
    df = read_ward_codes(path)
    assert list(df.columns) == ["ward_code", "ward_name", "lad_code", "lad_name", "vintage"]
    assert len(df) == len(rows)
    for year in ("2016", "2023"):
        assert set(df.loc[df["vintage"] == year, "ward_code"]) == {r["WDCD"] for r in rows if r["SOURCEFILE"] == year}


@pytest.mark.realdata
def test_detect_real_files(shared_data: Path, tmp_path: Path) -> None:
    geo = shared_data / "geography"
    expected = {
        geo / "lookups" / "LSOA11_WD16_LAD16_EW_LU.csv": "lsoa-ward-lookup",
        geo / "lookups" / "LSOA11_WD18_LAD18_EW_LU.csv": "lsoa-ward-lookup",
        geo / "lookups" / "LAD17_CSP17_PFA17_EW_LU.csv": "lad-csp-pfa-lookup",
        geo / "lookups" / "southampton-ward-codes-2016-and-2023.csv": "ward-codes",
        geo / "boundaries" / "southampton" / "wards-16-pre2023.geojson": "boundaries",
        geo / "boundaries" / "southampton" / "wards-2013-topojson.json": "boundaries",
        shared_data / "population" / "census-2011-lsoa-population-households.csv": "population",
    }
    for i, (path, kind) in enumerate(expected.items()):
        assert detect_geography_kind(path) == kind, path.name
        # by content, not by name: the same bytes under a meaningless name
        renamed = tmp_path / f"file{i}.dat"
        shutil.copyfile(path, renamed)
        assert detect_geography_kind(renamed) == kind, path.name
    with pytest.raises(InputError, match="not a recognised geography file"):
        detect_geography_kind(geo / "boundaries" / "southampton" / "SOURCE-drkane-geo-lookups-readme.md")


def test_bom_and_lowercase_headers(tmp_path: Path) -> None:
    p = tmp_path / "lu.csv"
    p.write_bytes(
        "\ufefflsoa11cd,lsoa11nm,wd19cd,wd19nm,wd19nmw,lad19cd,lad19nm,FID\r\n"
        "E01000001,City of London 001A,E05009288,Aldersgate,,E09000001,City of London,1\r\n"
        "E01000002,City of London 001B,E05009302,Cripplegate,,E09000001,City of London,2\r\n".encode()
    )
    assert detect_geography_kind(p) == "lsoa-ward-lookup"
    df, vintage = read_lsoa_ward_lookup(p)
    assert vintage == "WD19"
    assert df["lsoa_code"].tolist() == ["E01000001", "E01000002"]
    assert df["ward_name"].tolist() == ["Aldersgate", "Cripplegate"]


def test_lookup_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    missing.write_text("LSOA11CD,LSOA11NM,LAD17CD,LAD17NM\nE01000001,x,E09000001,y\n")
    with pytest.raises(InputError, match="ward_code"):
        read_lsoa_ward_lookup(missing)

    twice = tmp_path / "twice.csv"
    twice.write_text(
        "LSOA11CD,LSOA11NM,WD17CD,WD17NM,LAD17CD,LAD17NM\n"
        "E01000001,a,E05000001,w1,E09000001,l\nE01000001,a,E05000002,w2,E09000001,l\n"
    )
    with pytest.raises(InputError, match="more than one ward"):
        read_lsoa_ward_lookup(twice)

    blank = tmp_path / "blank.csv"
    blank.write_text("LSOA11CD,LSOA11NM,WD17CD,WD17NM,LAD17CD,LAD17NM\nE01000001,a,,w1,E09000001,l\n")
    with pytest.raises(InputError, match="empty ward_code on line 2"):
        read_lsoa_ward_lookup(blank)

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_lsoa_ward_lookup(empty)
    with pytest.raises(InputError, match="empty"):
        detect_geography_kind(empty)

    with pytest.raises(InputError, match="no such file"):
        detect_geography_kind(tmp_path / "nope.csv")

    notgeo = tmp_path / "x.json"
    notgeo.write_text('{"hello": [1, 2]}')
    with pytest.raises(InputError, match="not GeoJSON"):
        detect_geography_kind(notgeo)

    other = tmp_path / "crimes.csv"
    other.write_text("Crime ID,Month,Reported by\n1,2017-05,x\n")
    with pytest.raises(InputError, match="Crime ID"):
        detect_geography_kind(other)
