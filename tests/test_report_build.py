"""`crimeassess report` on real police.uk data: every file written, tables consistent, data quality honest."""
from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimeassess.assess.quality import anomalies
from crimeassess.cli import app
from crimeassess.geography.load import load_geography
from crimeassess.ingest import ingest
from crimeassess.store import Store
from conftest import require_tool


@pytest.fixture(scope="module")
def store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = Store(tmp_path_factory.mktemp("rep") / "store")
    arch = shared_data / "police-uk" / "archive"
    ingest([arch / m for m in ("2017-03", "2017-04", "2018-03", "2018-04")], st)
    b = shared_data / "geography" / "boundaries" / "southampton"
    load_geography([shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", b / "wards-16-pre2023.geojson",
                    shared_data / "population/census-2011-lsoa-population-households.csv"], st)
    return st


def test_report_writes_everything(store: Store, tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "report"
    r = CliRunner().invoke(app, ["report", "--area", "Southampton", "--period", "2018-04", "--out", str(out),
                                 "--store", str(store.path)])
    assert r.exit_code == 0, r.output
    for f in ("report.html", "report.pdf", "assessment.json", "totals.csv", "categories.csv", "themes.csv",
              "wards.csv", "ward_themes.csv", "series.csv"):
        assert (out / f).stat().st_size > 0, f
    a = json.loads((out / "assessment.json").read_text())
    with open(out / "wards.csv", newline="") as fh:
        wards = list(csv.DictReader(fh))
    assert len(wards) == 16
    assert sum(int(w["current"]) for w in wards) == a["total"]["current"]
    # every CSV read back: categories and ASB recounted from the police.uk file itself by LSOA
    soton = set()
    with open(shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if r["LAD17CD"] == "E06000045":
                soton.add(r["LSOA11CD"])
    by_type: dict[str, int] = {}
    with open(shared_data / "police-uk/archive/2018-04/2018-04-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if r["LSOA code"] in soton:
                by_type[r["Crime type"]] = by_type.get(r["Crime type"], 0) + 1
    with open(out / "categories.csv", newline="") as fh:
        cats = {c["label"]: c for c in csv.DictReader(fh)}
    assert {k: int(v["current"]) for k, v in cats.items() if int(v["current"])} == {
        k: v for k, v in by_type.items() if k != "Anti-social behaviour"}
    with open(out / "totals.csv", newline="") as fh:
        totals = {t["measure"]: t for t in csv.DictReader(fh)}
    assert int(totals["anti_social_behaviour"]["current"]) == by_type["Anti-social behaviour"]
    assert int(totals["total_recorded_crime"]["current"]) == sum(v for k, v in by_type.items() if k != "Anti-social behaviour")
    with open(out / "ward_themes.csv", newline="") as fh:
        wt = list(csv.DictReader(fh))
    assert len({r["ward_code"] for r in wt}) == 16
    burglary = sum(int(r["current"]) for r in wt if r["theme"] == "burglary")
    assert burglary == by_type["Burglary"]  # every Southampton LSOA lies in one of its wards
    with open(out / "series.csv", newline="") as fh:
        series = [r for r in csv.DictReader(fh) if r["measure"] == "total"]
    assert {r["label"]: int(r["count"]) for r in series if r["count"]}["2018-04"] == int(totals["total_recorded_crime"]["current"])
    # police.uk only: themes needing offence codes or flags are unavailable, shown as such, never 0
    with open(out / "themes.csv", newline="") as fh:
        knife = next(t for t in csv.DictReader(fh) if t["id"] == "knife_crime")
    assert knife["available"] == "False" and knife["current"] == ""
    html = (out / "report.html").read_text()
    assert "not available from this source" in html
    assert not re.search(r"""(src|href)\s*=\s*["']https?://(?!www\.nationalarchives\.gov\.uk)""", html)
    # the real April 2018 Hampshire anti-social behaviour shortfall is flagged as an anomalous month
    anomalies_found = a["data_quality"]["anomalies"]
    assert any(x["month"] == "2018-04" and x["category"] == "Anti-social behaviour" for x in anomalies_found)
    assert "Anomalous months" in html
    require_tool("pdfinfo", "poppler-utils; the report's other checks ran")
    require_tool("pdftotext", "poppler-utils")
    info = subprocess.run(["pdfinfo", str(out / "report.pdf")], capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 5 <= pages <= 16
    text = subprocess.run(["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True).stdout
    for heading in ("Key findings", "Total recorded crime", "Crime by ward", "Anti-social behaviour",
                    "Data quality", "Methodology", "Open Government Licence"):
        assert heading in text, heading


def test_report_errors_are_one_line(store: Store, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["report", "--area", "Nowhere", "--period", "2018-04", "--out", str(tmp_path / "x"),
                                 "--store", str(store.path)])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1


def test_anomaly_rule_golden() -> None:
    months = [f"2017-{m:02d}" for m in range(1, 8)]
    counts = {"anti-social-behaviour": dict(zip(months, [400, 410, 395, 120, 405, 398, 402])),
              "burglary": dict(zip(months, [50, 55, 48, 52, 60, 45, 51])),  # noise: never flagged
              "drugs": dict(zip(months, [3, 0, 5, 1, 9, 2, 4]))}  # too small to judge
    got = anomalies(counts, months)  # neighbours 400 410 395 | 405 398 402: median 401
    assert got == [{"month": "2017-04", "category": "Anti-social behaviour", "count": 120, "expected": 401,
                    "note": "far fewer than neighbouring months (30% of their median)"}]
