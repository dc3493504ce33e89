"""A tiny synthetic city for report and public-safe tests: one local authority, four wards, police.uk street
files for two years of one month, with some small ward × theme counts (synthetic; not derived from real data)."""
from __future__ import annotations

from pathlib import Path

from crimeassess.geography.load import load_geography
from crimeassess.ingest import ingest
from crimeassess.store import Store
from policeuk_fixtures import row, street_csv

LAD = ("E06000901", "Smalltown")
WARDS = [("E05009001", "North"), ("E05009002", "South"), ("E05009003", "East"), ("E05009004", "=West()")]
LSOAS = {w[0]: [f"E0109{i}{j}" for j in range(2)] for i, w in enumerate(WARDS)}
# crimes per ward and crime type, for (2018-03, 2017-03): small cells on purpose
COUNTS = {
    "E05009001": {"Burglary": (12, 9), "Drugs": (3, 0), "Robbery": (6, 7), "Vehicle crime": (20, 18)},
    "E05009002": {"Burglary": (2, 6), "Drugs": (8, 11), "Robbery": (1, 0), "Vehicle crime": (15, 14)},
    "E05009003": {"Burglary": (7, 7), "Drugs": (0, 2), "Robbery": (9, 4), "Vehicle crime": (4, 25)},
    "E05009004": {"Burglary": (30, 22), "Drugs": (5, 5), "Robbery": (0, 1), "Vehicle crime": (11, 6)},
}


def build_small_city(folder: Path) -> Store:
    """Write the files and load them into folder/store."""
    folder.mkdir(parents=True, exist_ok=True)
    lu = ["LSOA11CD,LSOA11NM,WD17CD,WD17NM,LAD17CD,LAD17NM"]
    for code, name in WARDS:
        for lsoa in LSOAS[code]:
            lu.append(f"{lsoa},{LAD[1]} {lsoa[-3:]},{code},\"{name}\",{LAD[0]},{LAD[1]}")
    (folder / "LSOA11_WD17_LAD17_EW_LU.csv").write_text("\n".join(lu) + "\n")
    files = []
    for idx, month in enumerate(("2018-03", "2017-03")):
        rows = []
        for code, types in COUNTS.items():
            for ctype, pair in types.items():
                for k in range(pair[idx]):
                    lsoa = LSOAS[code][k % 2]
                    rows.append(row(f"{month}-{code}-{ctype[:3]}-{k}", month, ctype, lsoa=lsoa))
        p = folder / month / f"{month}-testshire-street.csv"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(street_csv(rows))
        files.append(p)
    st = Store(folder / "store")
    ingest(files, st)
    load_geography([folder / "LSOA11_WD17_LAD17_EW_LU.csv"], st)
    return st
