"""First real assessment: Hampshire police.uk files + the WD17 lookup, Southampton by ward, recounted with csv."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimeassess.assess.engine import assess
from crimeassess.cli import app
from crimeassess.geography.load import load_geography
from crimeassess.ingest import ingest
from crimeassess.store import Store

SOUTHAMPTON = "E06000045"


@pytest.fixture(scope="module")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = Store(tmp_path_factory.mktemp("real") / "store")
    ingest([shared_data / "police-uk" / "archive"], st)
    lk = shared_data / "geography" / "lookups"
    load_geography([lk / "LSOA11_WD17_LAD17_EW_LU.csv", lk / "LAD17_CSP17_PFA17_EW_LU.csv"], st)
    return st


def _recount(shared: Path, month: str) -> tuple[Counter, int, int, dict[str, str]]:
    """Independent count of crimes by Southampton ward for one month, straight from the CSVs."""
    lsoa_ward: dict[str, str] = {}
    names: dict[str, str] = {}
    with open(shared / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if r["LAD17CD"] == SOUTHAMPTON:
                lsoa_ward[r["LSOA11CD"]] = r["WD17CD"]
                names[r["WD17CD"]] = r["WD17NM"]
    wards: Counter = Counter()
    asb = 0
    with open(shared / f"police-uk/archive/{month}/{month}-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            w = lsoa_ward.get(r["LSOA code"])
            if w is None:
                continue
            if r["Crime type"] == "Anti-social behaviour":
                asb += 1
            else:
                wards[w] += 1
    return wards, sum(wards.values()), asb, names


def test_southampton_march_2018_by_ward(real_store: Store, shared_data: Path) -> None:
    res = assess("Southampton", "2018-03", store=real_store).to_dict()
    cur_w, cur_t, cur_asb, names = _recount(shared_data, "2018-03")
    prev_w, prev_t, prev_asb, _ = _recount(shared_data, "2017-03")
    assert res["area"] == {"code": SOUTHAMPTON, "name": "Southampton", "level": "lad"}
    assert res["period"]["label"] == "2018-03" and res["compare"]["label"] == "2017-03"
    assert res["coverage"]["complete"] is True
    assert (res["total"]["current"], res["total"]["previous"]) == (cur_t, prev_t)
    assert res["total"]["change"] == cur_t - prev_t
    assert res["total"]["pct_change"] == round((cur_t - prev_t) / prev_t * 100, 1)
    assert (res["anti_social_behaviour"]["current"], res["anti_social_behaviour"]["previous"]) == (cur_asb, prev_asb)
    assert len(res["wards"]) == 16 == len(names)
    for w in res["wards"]:
        assert w["name"] == names[w["code"]]
        assert (w["current"], w["previous"]) == (cur_w[w["code"]], prev_w[w["code"]]), w["name"]
    ups = sum(cur_w[c] > prev_w[c] for c in names)
    downs = sum(cur_w[c] < prev_w[c] for c in names)
    assert res["wards_summary"]["up"] == ups and res["wards_summary"]["down"] == downs
    assert sum(c["current"] for c in res["categories"]) == cur_t
    # every documented key is present
    for k in ("area", "period", "compare", "total", "categories", "wards", "wards_summary", "coverage"):
        assert k in res
    assert set(res["coverage"]) >= {"months_expected", "current_months", "previous_months", "complete"}


def test_ingesting_twice_changes_no_number(real_store: Store, shared_data: Path) -> None:
    before = assess("E06000045", "2018-03", store=real_store).to_dict()
    rep = ingest([shared_data / "police-uk" / "archive"], real_store)
    assert {r.status for r in rep.inputs} <= {"unchanged", "skipped"}
    after = assess("E06000045", "2018-03", store=real_store).to_dict()
    for k in ("total", "categories", "wards", "wards_summary", "anti_social_behaviour"):
        assert json.dumps(before[k], sort_keys=True) == json.dumps(after[k], sort_keys=True)


def test_incomplete_coverage_is_said_first(real_store: Store, shared_data: Path) -> None:
    res = assess("Southampton", "2017/18", store=real_store).to_dict()
    cov = res["coverage"]
    assert cov["complete"] is False
    fy = [f"2017-{m:02d}" for m in range(4, 13)] + [f"2018-{m:02d}" for m in range(1, 4)]
    have = [m for m in fy if (shared_data / f"police-uk/archive/{m}/{m}-hampshire-street.csv").exists()]
    assert cov["current_months"] == len(have)
    assert cov["missing_current"] == [m for m in fy if m not in have]
    assert "2017-10" in cov["missing_current"]
    runner = CliRunner()
    out = runner.invoke(app, ["assess", "--area", "Southampton", "--period", "2017/18", "--store", str(real_store.path)])
    assert out.exit_code == 0
    text = out.output
    assert text.index("Coverage incomplete") < text.index("%")


def test_cli_json_and_errors(real_store: Store) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["assess", "--area", "Southampton", "--period", "2018-03", "--format", "json",
                              "--store", str(real_store.path)])
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    assert len(data["wards"]) == 16
    bad = runner.invoke(app, ["assess", "--area", "Southamptn", "--period", "2018-03", "--store", str(real_store.path)])
    assert bad.exit_code == 2
    assert "Southampton" in bad.output and "Traceback" not in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    amb = runner.invoke(app, ["assess", "--area", "Bargate", "--period", "2018-03", "--store", str(real_store.path)])
    # Bargate is a Southampton ward name only once in WD17: it resolves to the ward
    assert amb.exit_code == 0, amb.output
    per = runner.invoke(app, ["assess", "--area", "Southampton", "--period", "March", "--store", str(real_store.path)])
    assert per.exit_code == 2 and "not understood" in per.output


def test_ambiguous_area_lists_the_candidates(real_store: Store, shared_data: Path) -> None:
    from crimeassess.errors import AreaNotFoundError

    with open(shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        codes = {r["WD17CD"] for r in csv.DictReader(fh) if r["WD17NM"] == "Abbey"}
    assert len(codes) > 1  # a ward name many councils use
    with pytest.raises(AreaNotFoundError, match="ambiguous") as exc:
        assess("Abbey", "2018-03", store=real_store)
    assert set(exc.value.suggestions) == codes
