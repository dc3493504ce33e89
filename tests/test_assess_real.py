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


# ------------------------------------------------------------------------------------------ like for like


def _monthly_totals(shared: Path, months: list[str]) -> dict[str, int]:
    out = {}
    for m in months:
        out[m] = _recount(shared, m)[1]
    return out


def test_unequal_periods_are_compared_like_for_like(real_store: Store, shared_data: Path) -> None:
    """2017/18 holds 7 months against 2 for 2016/17: every change is March 2018 against March 2017."""
    res = assess("Southampton", "2017/18", store=real_store).to_dict()
    cov = res["coverage"]
    assert cov["basis"] == "matched_months"
    assert cov["matched_months"] == ["2018-03"] and cov["matched_previous_months"] == ["2017-03"]
    cur_w, cur_t, _, names = _recount(shared_data, "2018-03")
    prev_w, prev_t, _, _ = _recount(shared_data, "2017-03")
    held = [m for m in cov["matched_months"]]
    assert held == ["2018-03"]
    t = res["total"]
    assert (t["matched_current"], t["matched_previous"]) == (cur_t, prev_t)
    assert t["change"] == cur_t - prev_t and t["pct_change"] == round(100 * (cur_t - prev_t) / prev_t, 1)
    fy_held = [f"2017-{m:02d}" for m in range(4, 10)] + ["2018-03"]
    assert t["current"] == sum(_monthly_totals(shared_data, fy_held).values())
    for w in res["wards"]:
        assert (w["matched_current"], w["matched_previous"]) == (cur_w[w["code"]], prev_w[w["code"]])
        assert w["change"] == cur_w[w["code"]] - prev_w[w["code"]]
    assert res["wards_summary"]["down"] == sum(cur_w[c] < prev_w[c] for c in names)
    assert res["wards_summary"]["up"] == sum(cur_w[c] > prev_w[c] for c in names)
    text = " ".join(res["findings"])
    raw_pct = round(100 * (t["current"] - t["previous"]) / t["previous"], 1)
    assert f"{raw_pct}%" not in text and "314.9" not in text
    # nor anywhere in the report's tables, ward summary, map or charts: no % between unequal totals
    from crimeassess.report.render import render_html

    html = render_html(res)
    shown = {r.get("pct_change") for r in [t, *res["categories"], *res["themes"], *res["wards"],
                                           *(x for w in res["wards"] for x in w["themes"])]}
    raw = [round(100 * (r["current"] - r["previous"]) / r["previous"], 1) for r in [t, *res["wards"]]
           if r["previous"]]
    assert len([p for p in raw if p not in shown]) >= 15
    for pct in (p for p in raw if p not in shown):  # a like-for-like % may coincide with a raw one
        assert f"{pct:+.1f}%".replace("-", "\u2212") not in html and f"{pct:.1f}%" not in html, pct
    assert "rose in 13 of the 16 wards" not in html or res["wards_summary"]["up"] == 13
    assert "Comparing the months held for both years, March: " in text
    assert "Crime rose in all 16 wards" not in text
    # the raw totals are never given a change anywhere in the JSON
    for r in [t, *res["categories"], *[x for x in res["themes"] if x["available"]], *res["wards"]]:
        if r.get("pct_change") is not None:
            assert r["pct_change"] == round(100 * (r["matched_current"] - r["matched_previous"])
                                            / r["matched_previous"], 1)


def test_significance_against_an_independent_quasi_poisson(real_store: Store, shared_data: Path) -> None:
    """z, p and significance of the total, recomputed from csv counts with statsmodels."""
    import math

    import numpy as np
    import statsmodels.api as sm

    res = assess("Southampton", "2017/18", store=real_store).to_dict()
    held = sorted(m for m in (p.name for p in (shared_data / "police-uk/archive").iterdir())
                  if (shared_data / f"police-uk/archive/{m}/{m}-hampshire-street.csv").exists() and m <= "2018-03")
    totals = _monthly_totals(shared_data, held)
    t = np.array([int(m[:4]) * 12 + int(m[5:]) - 1 for m in held], dtype=float)
    y = np.array([totals[m] for m in held], dtype=float)
    # level, trend, and the step of April 2017 (violence and sexual offences: a recording change, issue #11)
    step = (t >= 2017 * 12 + 3).astype(float)
    x = np.column_stack([np.ones_like(t), (t - t.mean()) / 12, step])
    phi = max(1.0, sm.GLM(y, x, family=sm.families.Poisson()).fit(scale="X2").scale)
    disp = res["statistics"]["dispersion"]["total"]
    assert disp["value"] == round(phi, 3) and disp["months"] == len(held)
    c, p = totals["2018-03"], totals["2017-03"]
    z = (c - p) / math.sqrt(phi * (c + p))
    pv = math.erfc(abs(z) / math.sqrt(2))
    assert res["total"]["z"] == round(z, 2)
    assert res["total"]["p_value"] == pytest.approx(pv, rel=1e-6)
    assert res["total"]["significant"] is (pv < 0.05)
    # the exact Poisson test (the old default) would call this highly significant; quasi-Poisson does not
    exact = assess("Southampton", "2017/18", store=real_store, test="exact").to_dict()
    assert exact["total"]["p_value"] < 1e-4 and res["total"]["p_value"] > 0.05
    assert 5 < phi < 10  # the city's monthly total varies 5–10 times as much as a Poisson count


def test_a_stray_row_of_another_force_leaves_coverage_complete(shared_data: Path, tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    src = shared_data / "police-uk/archive"
    ingest([src / "2017-03/2017-03-hampshire-street.csv", src / "2018-03/2018-03-hampshire-street.csv"], st)
    lsoa = None
    with open(src / "2018-03/2018-03-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if r["LSOA name"].startswith("Southampton"):
                lsoa = (r["LSOA code"], r["LSOA name"], r["Longitude"], r["Latitude"])
                break
    stray = tmp_path / "2018-03-dorset-street.csv"
    stray.write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
        "Last outcome category,Context\n"
        f"{'a' * 64},2018-03,Dorset Police,Dorset Police,{lsoa[2]},{lsoa[3]},On or near X,{lsoa[0]},{lsoa[1]},"
        "Burglary,Under investigation,\n", encoding="utf-8")
    ingest([stray], st)
    load_geography([shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv"], st)
    res = assess("Southampton", "2018-03", store=st).to_dict()
    assert res["coverage"]["complete"] is True and res["coverage"]["missing_previous"] == []
    _, cur_t, _, _ = _recount(shared_data, "2018-03")
    assert res["total"]["current"] == cur_t + 1  # the stray crime is counted ...
    assert res["data_quality"]["stray_forces"] == [{"force": "dorset", "records": 1, "share": pytest.approx(
        1 / (res["total"]["current"] + res["total"]["previous"] + res["anti_social_behaviour"]["current"]
             + res["anti_social_behaviour"]["previous"]), abs=1e-5)}]  # ... and listed


def test_compare_previous_and_no_data_period(real_store: Store) -> None:
    res = assess("Southampton", "2017-04..2017-09", "previous", store=real_store).to_dict()
    assert res["compare"]["start"] == "2016-10" and res["compare"]["end"] == "2017-03"
    runner = CliRunner()
    out = runner.invoke(app, ["assess", "--area", "Southampton", "--period", "2019-01", "--store", str(real_store.path)])
    assert out.exit_code == 2
    line = out.output.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "no data for Southampton in 2019-01" in line and "2017-02 to 2017-09" in line and "2018-03" in line


def test_step_change_is_listed_and_attached(real_store: Store) -> None:
    res = assess("Southampton", "2017/18", store=real_store).to_dict()
    shifts = [s for s in res["data_quality"]["level_shifts"] if s["series"] == "violence-and-sexual-offences"]
    assert shifts and shifts[0]["month"] == "2017-04" and shifts[0]["direction"] == "up"
    vso = next(c for c in res["categories"] if c["id"] == "violence-and-sexual-offences")
    assert vso["level_shift"]["month"] == "2017-04"
    assert any("stepped up in April 2017, which may reflect a change in recording" in f for f in res["findings"])


def test_dashboard_links_use_each_area_s_own_months_and_no_data_is_4xx(real_store: Store, shared_data: Path) -> None:
    import re

    from fastapi.testclient import TestClient

    from crimeassess.web.app import create_app

    held = {"hampshire": set(), "west-yorkshire": set()}
    for d in (shared_data / "police-uk/archive").iterdir():
        for force in held:
            if (d / f"{d.name}-{force}-street.csv").exists():
                held[force].add(d.name)
    client = TestClient(create_app(real_store.path))
    page = client.get("/").text
    links = dict(re.findall(r'href="/\?area=([^&"]+)&amp;period=([^"&]+)"', page))
    assert links["Southampton"] in held["hampshire"] and links["Southampton"] == max(
        m for m in held["hampshire"] if f"{int(m[:4]) - 1}{m[4:]}" in held["hampshire"])
    assert links["Leeds"] in held["west-yorkshire"] and links["Leeds"] not in held["hampshire"]
    r = client.get("/api/assessment", params={"area": "Southampton", "period": "2019-01"})
    assert r.status_code == 400 and "no data for Southampton in 2019-01" in r.json()["error"]
    r = client.get("/panel", params={"area": "Southampton", "period": "2017/18"})
    assert r.status_code == 200 and "Changes compare only the months held for both periods" in r.text
    assert "314.9" not in r.text


def test_a_ward_reads_the_same_on_its_own_page_and_in_its_authority_s_table(real_store: Store) -> None:
    lad = assess("Southampton", "2017/18", store=real_store).to_dict()
    for w in lad["wards"][:3] + lad["wards"][-2:]:
        page = assess(w["code"], "2017/18", store=real_store).to_dict()
        for k in ("change", "pct_change", "z", "p_value", "p_adjusted", "significant"):
            assert page["total"][k] == w[k], (w["name"], k)
        assert "ward totals of Southampton" in page["statistics"]["families"]["total"]
        themes = {t["id"]: t for t in page["themes"] if t["available"] and t["id"] != "total"}
        for t in w["themes"]:
            if t["id"] in themes:
                assert themes[t["id"]]["significant"] == t["significant"], (w["name"], t["id"])


def test_rates_use_each_period_s_own_mid_year_estimate(shared_data: Path, tmp_path: Path) -> None:
    """Two mid-year estimates loaded: March 2018 uses mid-2018, March 2017 mid-2016 (the nearest to each)."""
    src = shared_data / "police-uk/archive"
    st = Store(tmp_path / "s")
    ingest([src / "2017-03/2017-03-hampshire-street.csv", src / "2018-03/2018-03-hampshire-street.csv"], st)
    lookup = shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv"
    with open(lookup, newline="", encoding="utf-8-sig") as fh:
        lsoas = sorted({r["LSOA11CD"] for r in csv.DictReader(fh) if r["LAD17CD"] == SOUTHAMPTON})
    # A synthetic fixture in the ONS mid-year-estimate layout (not real data): 1,600 and 1,700 a LSOA.
    files = []
    for year, per in ((2016, 1600), (2018, 1700)):
        f = tmp_path / f"mye-mid-{year}.csv"
        f.write_text(f"Mid-{year} Population Estimates\n\nLSOA Code,LSOA Name,All Ages\n"
                     + "".join(f"{c},x,{per}\n" for c in lsoas), encoding="utf-8")
        files.append(f)
    load_geography([lookup, *files], st)
    a = assess("Southampton", "2018-03", store=st).to_dict()
    _, cur_t, _, _ = _recount(shared_data, "2018-03")
    _, prev_t, _, _ = _recount(shared_data, "2017-03")
    pop18, pop16 = 1700 * len(lsoas), 1600 * len(lsoas)
    assert a["population"]["year"] == 2018 and a["population"]["previous_year"] == 2016
    assert a["population"]["residents"] == pop18 and a["population"]["previous_residents"] == pop16
    t = a["total"]
    assert t["rate_per_1000"] == round(cur_t * 12 / pop18 * 1000, 1)  # a year: one month × 12
    assert t["previous_rate_per_1000"] == round(prev_t * 12 / pop16 * 1000, 1)
    assert t["rate_change_pct"] == round(100 * ((cur_t / pop18) / (prev_t / pop16) - 1), 1)
