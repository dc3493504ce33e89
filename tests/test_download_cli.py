"""`crimeassess download …` end to end against a local server in the publishers' layout, then assess."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from crimeassess.cli import app
from localserver import FakeCrimesApi, LocalServer


def test_download_everything_then_assess(shared_data: Path, tmp_path: Path) -> None:
    api = FakeCrimesApi.from_folder(shared_data / "police-uk" / "api-crimes-street-2018-06")
    store = str(tmp_path / "store")
    r = CliRunner()
    with LocalServer(shared_data, api=api) as srv:
        geo = r.invoke(app, ["download", "geography", "--ward-vintage", "WD17", "--area", "southampton",
                             "--base-url", srv.url, "--store", store, "--json"])
        assert geo.exit_code == 0, geo.output
        assert len(json.loads(geo.stdout)["loaded"]) == 3
        pop = r.invoke(app, ["download", "population", "--base-url", srv.url, "--store", store])
        assert pop.exit_code == 0, pop.output
        pol = r.invoke(app, ["download", "police-uk", "--force", "hampshire", "--from", "2018-02", "--to", "2018-03",
                             "--base-url", f"{srv.url}/police-uk/archive", "--layout", "monthly", "--store", store, "--json"])
        assert pol.exit_code == 0, pol.output
        d = json.loads(pol.stdout)
        assert d["missing"] == ["2018-02"] and len(d["files"]) == 1
        ap = r.invoke(app, ["download", "police-uk-api", "--area", "Southampton", "--month", "2018-06",
                            "--api-url", f"{srv.url}/api", "--rate", "1000", "--store", store, "--json"])
        assert ap.exit_code == 0, ap.output
        bad = r.invoke(app, ["download", "police-uk", "--force", "hampshire", "--from", "2017-05", "--to", "2017-05",
                             "--base-url", "http://127.0.0.1:9/nothing", "--layout", "monthly", "--store", store])
        assert bad.exit_code == 2 and "127.0.0.1:9" in bad.output and "Traceback" not in bad.output
    out = r.invoke(app, ["assess", "--area", "Southampton", "--period", "2018-03", "--store", store, "--format", "json"])
    assert out.exit_code == 0, out.output
    a = json.loads(out.stdout)
    # recount March 2018 Southampton crimes from the original files
    with open(shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        soton = {x["LSOA11CD"] for x in csv.DictReader(fh) if x["LAD17CD"] == "E06000045"}
    with open(shared_data / "police-uk/archive/2018-03/2018-03-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
        n = sum(1 for x in csv.DictReader(fh) if x["LSOA code"] in soton and x["Crime type"] != "Anti-social behaviour")
    assert a["total"]["current"] == n and a["population"]["residents"] > 200_000
    # API month: distinct crimes by id, placed by point in polygon (the API gives no LSOA)
    june = r.invoke(app, ["assess", "--area", "Southampton", "--period", "2018-06", "--source", "police-uk-api",
                          "--store", store, "--format", "json"])
    assert june.exit_code == 0, june.output
    j = json.loads(june.stdout)
    ids = set()
    for f in (shared_data / "police-uk/api-crimes-street-2018-06").glob("*.json"):
        ids |= {x["id"] for x in json.loads(f.read_text()) if x["category"] != "anti-social-behaviour"}
    assert j["source"]["kind"] == "police-uk-api"
    assert j["geography"]["placed_by"]["point"] == j["total"]["current"]
    assert 0.97 * len(ids) <= j["total"]["current"] <= len(ids)
