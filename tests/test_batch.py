"""`assess --all-areas` / `report --all-areas` (assess/batch.py, report/batch.py): every area from one pass over
the aggregate store, each judged as its own assessment judges its total and categories."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimeassess.assess.batch import SUMMARY_COLUMNS, assess_all_areas
from crimeassess.assess.engine import assess
from crimeassess.cli import app
from crimeassess.store import Store

KEYS = ["current", "previous", "matched_current", "matched_previous", "change", "pct_change", "p_value",
        "p_adjusted", "significant", "small_numbers", "dispersion", "rate_per_1000", "previous_rate_per_1000",
        "rate_change_pct"]


def _lad_totals(shared: Path, month: str) -> Counter:
    """Crimes (ASB apart) by local authority for one month, straight from the CSVs and the lookup."""
    lad: dict[str, str] = {}
    with open(shared / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            lad[r["LSOA11CD"]] = r["LAD17CD"]
    got: Counter = Counter()
    for f in sorted((shared / f"police-uk/archive/{month}").glob("*-street.csv")):  # every force (strays count)
        seen: set[str] = set()
        with open(f, newline="", encoding="utf-8-sig") as fh:
            for r in csv.DictReader(fh):
                if r["Crime ID"] and r["Crime ID"] in seen:
                    continue
                seen.add(r["Crime ID"])
                if r["Crime type"] != "Anti-social behaviour" and r["LSOA code"] in lad:
                    got[lad[r["LSOA code"]]] += 1
    return got


@pytest.mark.realdata
def test_every_local_authority_as_its_own_assessment_judges_it(real_archive_store: Store, shared_data: Path) -> None:
    b = assess_all_areas("lad", "2018-03", store=real_archive_store)
    by_code = {a.code: a for a in b.areas}
    cur, prev = _lad_totals(shared_data, "2018-03"), _lad_totals(shared_data, "2017-03")
    hampshire = {a.code for a in b.areas if a.forces == ["hampshire"]}
    assert {"E06000045", "E06000044", "E07000094"} <= hampshire  # Southampton, Portsmouth, Winchester
    for code in hampshire:
        t = by_code[code].total
        if by_code[code].coverage["basis"] == "complete":
            assert (t["matched_current"], t["matched_previous"]) == (cur[code], prev[code]), code
    for name in ("Southampton", "Portsmouth", "Winchester"):
        e = assess(name, "2018-03", store=real_archive_store).to_dict()
        a = by_code[e["area"]["code"]]
        assert a.coverage == e["coverage"] and a.forces == e["source"]["forces"]
        assert {k: a.total.get(k) for k in KEYS} == {k: e["total"].get(k) for k in KEYS}, name
        ec = {c["id"]: c for c in e["categories"]}
        assert [c["id"] for c in a.categories] == list(ec)
        for c in a.categories:
            assert {k: c.get(k) for k in KEYS} == {k: ec[c["id"]].get(k) for k in KEYS}, (name, c["id"])


@pytest.mark.realdata
def test_wards_and_force_areas(real_archive_store: Store) -> None:
    w = {a.name: a for a in assess_all_areas("ward", "2017-04..2017-09", store=real_archive_store).areas}
    e = assess("Bitterne", "2017-04..2017-09", store=real_archive_store).to_dict()
    assert {k: w["Bitterne"].total.get(k) for k in KEYS} == {k: e["total"].get(k) for k in KEYS}
    p = {a.name: a for a in assess_all_areas("pfa", "2018-03", store=real_archive_store).areas}
    e = assess("Hampshire", "2018-03", store=real_archive_store).to_dict()
    assert {k: p["Hampshire"].total.get(k) for k in KEYS} == {k: e["total"].get(k) for k in KEYS}


@pytest.mark.realdata
def test_cli_writes_one_json_per_area_and_the_summary(real_archive_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "all"
    r = CliRunner().invoke(app, ["assess", "--all-areas", "--level", "lad", "--period", "2018-03", "--store",
                                 str(real_archive_store.path), "--out", str(out)])
    assert r.exit_code == 0, r.output
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == SUMMARY_COLUMNS and SUMMARY_COLUMNS[:8] == [
        "code", "name", "current", "previous", "change", "pct_change", "rate_per_1000", "significant"]
    files = sorted(p.stem for p in (out / "areas").glob("*.json"))
    assert files == sorted(r["code"] for r in rows)
    soton = json.loads((out / "areas" / "E06000045.json").read_text())
    row = next(r for r in rows if r["code"] == "E06000045")
    assert int(row["current"]) == soton["total"]["matched_current"] and soton["kind"] == "batch-summary"
    # no % where the periods were not compared like for like
    for r_ in rows:
        if r_["basis"] not in ("complete", "matched_months"):
            assert r_["pct_change"] == "" and r_["change"] == ""
    bad = CliRunner().invoke(app, ["assess", "--all-areas", "--area", "Southampton", "--period", "2018-03",
                                   "--store", str(real_archive_store.path), "--out", str(out)])
    assert bad.exit_code == 2 and bad.output.startswith("error:")


def test_report_all_areas_on_the_demo_city(demo_store, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    r = CliRunner().invoke(app, ["report", "--all-areas", "--level", "lad", "--period", demo_store.period,
                                 "--store", str(demo_store.store.path), "--out", str(out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    with open(out / "index.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(x["status"] == "written" for x in rows)
    for x in rows:
        a = json.loads((out / x["folder"] / "assessment.json").read_text())
        assert a["area"]["code"] == x["code"] and (out / x["folder"] / "report.html").is_file()


@pytest.mark.realdata
def test_a_wards_test_is_left_to_its_authoritys_ward_table(real_archive_store: Store) -> None:
    """A ward's own assessment takes its tests from its authority's ward table: the batch gives no other label."""
    from crimeassess.assess.batch import WARD_TEST_NOTE
    from crimeassess.assess.engine import assess

    wards = {a.name: a for a in assess_all_areas("ward", "2018-03", store=real_archive_store).areas}
    bargate = wards["Bargate"]
    own = assess("Bargate", "2018-03", store=real_archive_store).to_dict()["total"]
    assert (bargate.total["current"], bargate.total["previous"]) == (own["current"], own["previous"])
    assert bargate.total["significant"] is None and bargate.note == WARD_TEST_NOTE
    assert all(c["significant"] is None for c in bargate.categories)


@pytest.mark.realdata
def test_batch_errors_are_clean(real_archive_store: Store, tmp_path: Path) -> None:
    from crimeassess.errors import NoDataError, NoStoreError

    with pytest.raises(NoDataError, match="the store holds"):
        assess_all_areas("lad", "2015-01", store=real_archive_store)
    with pytest.raises(NoStoreError, match="no store here"):
        assess_all_areas("lad", "2018-03", store=tmp_path / "nope")
    assert not (tmp_path / "nope").exists()
    afile = tmp_path / "afile"
    afile.write_text("x")
    for extra in (["--out", str(afile)], ["--out", str(tmp_path / "o"), "--public"],
                  ["--out", str(tmp_path / "o"), "--peers", "Portsmouth"]):
        r = CliRunner().invoke(app, ["assess", "--all-areas", "--period", "2018-03", "--store",
                                     str(real_archive_store.path), *extra])
        assert r.exit_code == 2 and r.output.startswith("error: ") and len(r.output.strip().splitlines()) == 1, r.output
