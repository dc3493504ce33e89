"""Population by LSOA (Census 2011 table, ONS mid-year estimates) and sums to wards/LADs."""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from crimeassess.errors import InputError
from crimeassess.geography.lookups import detect_geography_kind, read_lsoa_ward_lookup
from crimeassess.geography.population import aggregate_population, read_population


@pytest.mark.realdata
def test_census_2011_southampton_wards_sum_to_lsoas(shared_data: Path) -> None:
    census = shared_data / "population" / "census-2011-lsoa-population-households.csv"
    lookup_path = shared_data / "geography" / "lookups" / "LSOA11_WD17_LAD17_EW_LU.csv"

    # independent count with the csv module: the first "Persons" column is all usual residents
    with open(lookup_path, encoding="utf-8-sig", newline="") as fh:
        soton = {r["LSOA11CD"] for r in csv.DictReader(fh) if r["LAD17CD"] == "E06000045"}
    with open(census, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        ci, pi, hi = header.index("LSOA Code"), header.index("Persons"), header.index("Households")
        data = list(reader)
    residents_csv = sum(int(r[pi].replace(",", "")) for r in data if r[ci] in soton)
    households_csv = sum(int(r[hi].replace(",", "")) for r in data if r[ci] in soton)
    assert len(soton) == 148

    pop, meta = read_population(census)
    assert meta["source"] == "Census 2011 usual residents" and meta["year"] == 2011
    assert list(pop.columns) == ["lsoa_code", "residents", "households"]
    assert len(pop) == len(data) and meta["rows"] == len(data)
    assert pop["lsoa_code"].is_unique

    lookup, _ = read_lsoa_ward_lookup(lookup_path)
    soton_lookup = lookup[lookup["lad_code"] == "E06000045"]
    wards = aggregate_population(pop, soton_lookup, by="ward_code")
    assert len(wards) == 16
    assert list(wards.columns) == ["ward_code", "ward_name", "lsoas", "lsoas_without_population", "residents", "households"]
    assert wards["lsoas"].sum() == 148 and wards["lsoas_without_population"].sum() == 0
    assert int(wards["residents"].sum()) == residents_csv
    assert int(wards["households"].sum()) == households_csv
    print(f"\nSouthampton 2011 usual residents: {residents_csv} in 148 LSOAs and 16 wards")

    lads = aggregate_population(pop, lookup, by="lad_code")
    assert int(lads.set_index("lad_code").loc["E06000045", "residents"]) == residents_csv


MYE_HEADER = ["LSOA Code", "LSOA Name", "LA Code (2018 boundaries)", "LA name (2018 boundaries)", "All Ages"]
MYE_HEADER += [str(a) for a in range(90)] + ["90+"]


def _mye(path: Path, rows: list[tuple[str, str]], title: str | None = "Mid-2018 Population Estimates for LSOAs") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        if title:
            w.writerow([title])
            w.writerow([])
        w.writerow(MYE_HEADER)
        for code, total in rows:
            w.writerow([code, "Somewhere 001A", "E06000045", "Southampton", total] + ["1"] * 91)
        w.writerow([])
    return path


def test_mid_year_estimates(tmp_path: Path) -> None:
    p = _mye(tmp_path / "sape.csv", [("E01017136", "1,702"), ("E01017137", "1523"), ("W01001913", "1,440")])
    assert detect_geography_kind(p) == "population"
    pop, meta = read_population(p)
    assert meta["source"] == "ONS mid-year estimates" and meta["year"] == 2018
    assert pop["residents"].tolist() == [1702, 1523, 1440]
    assert pop["households"].isna().all()

    q = _mye(tmp_path / "SAPE21DT1a-mid-2017-lsoa.csv", [("E01017136", "1,700")], title=None)
    assert read_population(q)[1]["year"] == 2017  # year from the file name
    assert read_population(q, year=2016)[1]["year"] == 2016
    r = _mye(tmp_path / "estimates.csv", [("E01017136", "1,700")], title=None)
    with pytest.raises(InputError, match="estimate year"):
        read_population(r)

    lookup = pd.DataFrame(
        {
            "lsoa_code": ["E01017136", "E01017137", "E01099999"],
            "ward_code": ["E05000001", "E05000001", "E05000002"],
            "ward_name": ["One", "One", "Two"],
        }
    )
    agg = aggregate_population(pop, lookup).set_index("ward_code")
    assert int(agg.loc["E05000001", "residents"]) == 1702 + 1523
    assert agg.loc["E05000002", "lsoas_without_population"] == 1
    assert pd.isna(agg.loc["E05000002", "residents"])  # no figure at all, not a zero
    assert pd.isna(agg.loc["E05000001", "households"])  # estimates carry no households


def test_population_errors(tmp_path: Path) -> None:
    bad = _mye(tmp_path / "bad.csv", [("E01017136", "1,702"), ("E01017137", "lots")])
    with pytest.raises(InputError, match="line 5: All Ages 'lots' is not a number"):
        read_population(bad)
    dup = _mye(tmp_path / "dup.csv", [("E01017136", "1"), ("E01017136", "2")])
    with pytest.raises(InputError, match="more than once"):
        read_population(dup)
    notcode = _mye(tmp_path / "notcode.csv", [("E06000045", "236,882")])
    with pytest.raises(InputError, match="not an LSOA code"):
        read_population(notcode)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not a population-by-LSOA table"):
        read_population(other)
    census_like = tmp_path / "census.csv"
    census_like.write_text('LSOA Code,LSOA Name,,Persons,Persons,Persons,Households\nE01000001,x,,"1,465",,,\n')
    pop, meta = read_population(census_like)
    assert meta["year"] == 2011 and pop["residents"].tolist() == [1465] and pop["households"].isna().all()
    with pytest.raises(InputError, match="lookup has no column"):
        aggregate_population(pop, pd.DataFrame({"lsoa_code": ["E01000001"]}), by="ward_code")
