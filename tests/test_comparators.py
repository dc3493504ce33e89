"""Comparators: Southampton against Portsmouth and the rest of Hampshire from real police.uk files, recounted with csv;
England and Wales from the real Home Office table; peer-group files; the findings sentence."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from scipy.stats import binomtest
from typer.testing import CliRunner

from crimeassess.assess.comparators import comparator_sentence, comparators, read_peer_file
from crimeassess.assess.engine import assess
from crimeassess.cli import app
from crimeassess.errors import AreaNotFoundError, InputError
from crimeassess.geography.load import load_geography
from crimeassess.ingest import ingest
from crimeassess.store import Store

SOTON, PORTS = "E06000045", "E06000044"
DATA = Path(__file__).parent / "data"
KEYS = {"kind", "code", "name", "source", "current", "previous", "rate_per_1000", "previous_rate_per_1000",
        "rate_change_pct", "rank", "of"}


@pytest.fixture(scope="module")
def store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = Store(tmp_path_factory.mktemp("cmp") / "store")
    arch = shared_data / "police-uk" / "archive"
    ingest([arch / m for m in ("2017-03", "2018-03")], st)
    lk = shared_data / "geography" / "lookups"
    load_geography([lk / "LSOA11_WD17_LAD17_EW_LU.csv", lk / "LAD17_CSP17_PFA17_EW_LU.csv",
                    shared_data / "population" / "census-2011-lsoa-population-households.csv"], st)
    return st


def _recount(shared: Path) -> dict:
    """Crimes by local authority for 2018-03 and 2017-03 straight from the street CSVs and the ONS lookup, and
    Census 2011 residents by local authority."""
    lsoa_lad = {}
    with open(shared / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            lsoa_lad[r["LSOA11CD"]] = r["LAD17CD"]
    with open(shared / "geography/lookups/LAD17_CSP17_PFA17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        hants = {r["LAD17CD"] for r in csv.DictReader(fh) if r["PFA17NM"] == "Hampshire"}
    crimes = {}
    for month in ("2018-03", "2017-03"):
        c: Counter = Counter()
        with open(shared / f"police-uk/archive/{month}/{month}-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
            for r in csv.DictReader(fh):
                if r["Crime type"] != "Anti-social behaviour" and r["LSOA code"] in lsoa_lad:
                    c[lsoa_lad[r["LSOA code"]]] += 1
        crimes[month] = c
    pop: Counter = Counter()
    with open(shared / "population/census-2011-lsoa-population-households.csv", newline="", encoding="utf-8-sig") as fh:
        rd = csv.reader(fh)
        h = next(rd)
        ci, pi = h.index("LSOA Code"), h.index("Persons")
        for r in rd:
            if r[ci] in lsoa_lad:
                pop[lsoa_lad[r[ci]]] += int(r[pi].replace(",", ""))
    return {"crimes": crimes, "pop": pop, "hants": hants}


def _rate(n: int, pop: int) -> float:
    return round(n * 12 / pop * 1000, 1)


@pytest.mark.realdata
def test_southampton_against_portsmouth_and_rest_of_hampshire(store: Store, shared_data: Path) -> None:
    rc = _recount(shared_data)
    cur, prev, pop = rc["crimes"]["2018-03"], rc["crimes"]["2017-03"], rc["pop"]
    rest = rc["hants"] - {SOTON, PORTS}
    assert len(rest) == 12  # 11 Hampshire districts and the Isle of Wight

    res = assess("Southampton", "2018-03", store=store, peers=["Portsmouth"], exclude=["Southampton", "Portsmouth"])
    a = res.to_dict()
    rows = {r["kind"]: r for r in a["comparators"]}
    for r in a["comparators"]:
        assert KEYS <= set(r)
    area, peer, rest_row, force = rows["area"], rows["peer"], rows["force-excluding"], rows["force"]
    assert area["current"] == a["total"]["current"] == cur[SOTON]
    assert area["previous"] == a["total"]["previous"] == prev[SOTON]
    assert (peer["code"], peer["current"], peer["previous"]) == (PORTS, cur[PORTS], prev[PORTS])
    assert rest_row["name"] == "Hampshire excluding Southampton and Portsmouth"
    assert rest_row["current"] == sum(cur[x] for x in rest) and rest_row["previous"] == sum(prev[x] for x in rest)
    assert force["current"] == sum(cur[x] for x in rc["hants"])
    assert force["population"] == sum(pop[x] for x in rc["hants"])  # built up from its local authorities
    for r in (area, peer, rest_row, force):
        assert r["source"] == "police.uk street-level crime files" and r["months"] == ["2018-03"]
        assert r["population_year"] == 2011 and "nearest loaded year to 2018" in r["population_source"]
    assert area["rate_per_1000"] == _rate(cur[SOTON], pop[SOTON])
    assert area["previous_rate_per_1000"] == _rate(prev[SOTON], pop[SOTON])
    assert peer["rate_per_1000"] == _rate(cur[PORTS], pop[PORTS])
    rest_pop = sum(pop[x] for x in rest)
    assert rest_row["population"] == rest_pop
    assert rest_row["rate_per_1000"] == _rate(sum(cur[x] for x in rest), rest_pop)
    # the same population in both periods (Census 2011 is the nearest year to both): the change of the counts
    assert area["rate_change_pct"] == round(100 * (cur[SOTON] / prev[SOTON] - 1), 1)
    assert area["matched_months"] == ["2018-03"]
    # rank among the area and its peer, 1 = highest rate
    higher = area["rate_per_1000"] > peer["rate_per_1000"]
    assert (area["rank"], peer["rank"], area["of"]) == ((1, 2, 2) if higher else (2, 1, 2))
    # the rate difference is tested: exact conditional binomial with the population ratio, recomputed by scipy
    r = pop[SOTON] / pop[PORTS]
    want = binomtest(cur[SOTON], cur[SOTON] + cur[PORTS], r / (1 + r)).pvalue
    assert peer["p_value"] == pytest.approx(want, rel=1e-6)
    assert area["p_value"] is None and force["p_value"] is None  # the force area contains Southampton
    # England and Wales: no Home Office table in this store, and March alone is not a whole quarter
    assert rows["england-and-wales"]["current"] is None and rows["england-and-wales"]["note"]
    # a theme police.uk supports, recounted from the same file
    with open(shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        soton = {r["LSOA11CD"] for r in csv.DictReader(fh) if r["LAD17CD"] == SOTON}
    with open(shared_data / "police-uk/archive/2018-03/2018-03-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
        burg = sum(1 for r in csv.DictReader(fh) if r["Crime type"] == "Burglary" and r["LSOA code"] in soton)
    tb = {r["kind"]: r for r in a["theme_comparators"]["burglary"]}
    assert tb["area"]["current"] == burg and tb["area"]["rate_per_1000"] == _rate(burg, pop[SOTON])
    assert "rape" not in a["theme_comparators"]  # police.uk cannot give it and no Home Office table is loaded
    sentence = next(f for f in a["findings"] if "per 1,000 residents a year" in f)
    word = "above" if higher else "below"
    assert f"Portsmouth's {peer['rate_per_1000']:.1f}" in sentence
    assert word in sentence.split("Portsmouth's")[0]  # grouped: "above A, B and Portsmouth's x'
    assert f"{area['rate_per_1000']:.1f} crimes per 1,000 residents a year" in sentence
    print(f"\n{sentence}")
    # the report's comparison: a dot plot and one table row per comparator, the area first
    from crimeassess.report.render import render_html

    html = render_html(a)
    assert "How Southampton compares" in html and "Figure 1b." in html
    assert f"Portsmouth: {peer['rate_per_1000']:.1f}" in html  # the dot plot's alt text
    assert html.count('class="highlight"') == 1


@pytest.mark.realdata
def test_national_rate_from_home_office_table(store: Store, shared_data: Path, tmp_path: Path) -> None:
    st = Store(tmp_path / "ho")
    path = shared_data / "homeoffice" / "prc-pfa-2017-18-by-offence.csv"
    ingest([path], st)
    load_geography([shared_data / "geography/lookups/LAD17_CSP17_PFA17_EW_LU.csv", DATA / "mye-synthetic-mid-2017.csv"], st)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    skip = {"Action Fraud", "CIFAS", "UK Finance", "Financial Fraud Action UK", "British Transport Police"}
    ew = sum(int(r["Number_of_Offences"]) for r in rows if r["Force_Name"] not in skip
             and r["Offence_Group"] != "Fraud offences")
    hants = sum(int(r["Number_of_Offences"]) for r in rows if r["Force_Name"] == "Hampshire"
                and r["Offence_Group"] != "Fraud offences")
    out = comparators(st, "Southampton", "2017/18", peers=["Portsmouth"])
    by = {c.kind: c for c in out}
    nat = by["england-and-wales"]
    assert (nat.source_kind, nat.current, nat.previous) == ("home-office-table", ew, None)
    assert nat.rate_per_1000 == round(ew / 58744600 * 1000, 1) and nat.population_year == 2017
    assert by["force"].current == hants and by["force"].source == "Home Office police recorded crime open data tables"
    # no CSP table loaded: Southampton and Portsmouth have no Home Office figure and no records
    assert by["area"].current is None and by["peer"].current is None
    # a quarter is whole: 2018Q1 is 2017/18 Q4
    q4 = {c.kind: c for c in comparators(st, "Southampton", "2018Q1")}["england-and-wales"]
    assert q4.current == sum(int(r["Number_of_Offences"]) for r in rows if r["Force_Name"] not in skip
                             and r["Offence_Group"] != "Fraud offences" and r["Financial_Quarter"] == "4")
    assert q4.rate_per_1000 == round(q4.current * 4 / 58744600 * 1000, 1)
    welsh = {"Dyfed-Powys", "Gwent", "North Wales", "South Wales"}
    eng = {c.kind: c for c in comparators(st, "Southampton", "2017/18", national="england")}["england"]
    assert eng.name == "England" and eng.current == sum(
        int(r["Number_of_Offences"]) for r in rows if r["Force_Name"] not in skip | welsh
        and r["Offence_Group"] != "Fraud offences")
    assert eng.population == 55619400  # the fixture's England row
    # themes from the same table by their offence definitions: robbery is the ONS robbery group
    from crimeassess.assess.comparators import theme_comparators

    th = theme_comparators(st, "Southampton", "2017/18", themes=["robbery", "knife_crime", "sexual_offences_parks",
                                                                 "sexual_offences_night_time_economy"])
    rob = {c.kind: c for c in th["robbery"]}
    assert rob["england-and-wales"].current == sum(
        int(r["Number_of_Offences"]) for r in rows if r["Force_Name"] not in skip and r["Offence_Group"] == "Robbery")
    assert rob["force"].current == sum(int(r["Number_of_Offences"]) for r in rows
                                       if r["Force_Name"] == "Hampshire" and r["Offence_Group"] == "Robbery")
    assert "knife_crime" not in th  # needs knife flags: neither police.uk nor the tables give it
    # a place or time of day: the tables have neither (this store holds no records to count them from)
    assert "sexual_offences_parks" not in th and "sexual_offences_night_time_economy" not in th


@pytest.mark.realdata
def test_peer_files_and_errors(store: Store, tmp_path: Path) -> None:
    toml = tmp_path / "peers.toml"
    toml.write_text('[groups]\n"South coast cities" = ["E06000045", "E06000044"]\n"Others" = ["E06000046"]\n')
    assert read_peer_file(toml) == {"South coast cities": [SOTON, PORTS], "Others": ["E06000046"]}
    out = comparators(store, "Southampton", "2018-03", peer_file=toml)
    peers = [c for c in out if c.kind == "peer"]
    assert [p.code for p in peers] == [PORTS] and out[0].of == 2
    csvp = tmp_path / "peers.csv"
    csvp.write_text("group,code\nA,E06000045\nA,Isle of Wight\nA,E06000044\nB,E06000046\n")
    out = comparators(store, "Southampton", "2018-03", peer_file=csvp)
    assert sorted(c.name for c in out if c.kind == "peer") == ["Isle of Wight", "Portsmouth"]
    assert out[0].of == 3 and out[0].rank in (1, 2, 3)
    with pytest.raises(InputError, match="no peer groups hold"):
        comparators(store, "Portsmouth", "2018-03", peer_file=_two_groups(tmp_path))
    with pytest.raises(AreaNotFoundError, match="peer"):
        comparators(store, "Southampton", "2018-03", peers=["Nowhereshire"])
    r = CliRunner().invoke(app, ["assess", "--store", str(store.path), "--area", "Southampton", "--period", "2018-03",
                                 "--peers", "Nowhereshire"])
    assert r.exit_code == 2 and "error:" in r.output
    r = CliRunner().invoke(app, ["assess", "--store", str(store.path), "--area", "Southampton", "--period", "2018-03",
                                 "--peers", "Portsmouth", "--exclude", "Southampton,Portsmouth", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert '"force-excluding"' in r.output
    out = tmp_path / "rep"
    r = CliRunner().invoke(app, ["report", "--store", str(store.path), "--area", "Southampton", "--period", "2018-03",
                                 "--peer-file", str(toml), "--out", str(out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    assert "Portsmouth" in (out / "comparators.csv").read_text() and (out / "tables.xlsx").is_file()


def _two_groups(tmp_path: Path) -> Path:
    p = tmp_path / "two.toml"
    p.write_text('A = ["E06000046"]\nB = ["E06000045"]\n')
    return p


def test_sentence() -> None:
    rows = [
        {"kind": "area", "name": "Southampton", "rate_per_1000": 125.2},
        {"kind": "england-and-wales", "name": "England and Wales", "rate_per_1000": 82.4},
        {"kind": "peer", "name": "Portsmouth", "rate_per_1000": 130.9},
    ]
    assert comparator_sentence(rows) == ("Southampton: 125.2 crimes per 1,000 residents a year, above the England "
                                         "and Wales rate of 82.4 and below Portsmouth's 130.9.")
    assert comparator_sentence([{"kind": "area", "name": "X", "rate_per_1000": None}]) is None
    rows[2]["rate_per_1000"] = 100.0
    rows[0].update(rank=2, of=3)
    assert comparator_sentence(rows + [{"kind": "peer", "name": "Q", "rate_per_1000": 140.0}]).endswith(
        "above the England and Wales rate of 82.4 and 2nd highest of 3 with its peers, after Q's 140.0.")
    # the area's coverage is said of its rate; the table's note on the change is left out (the sentence gives none)
    two = [{"kind": "area", "name": "S", "rate_per_1000": 134.7,
            "note": "7 of 12 months held; change over the 1 month held in both periods"},
           {"kind": "force", "name": "Hampshire", "rate_per_1000": 84.0}]
    assert comparator_sentence(two) == ("S: 134.7 crimes per 1,000 residents a year, above the Hampshire force area "
                                        "rate of 84.0 (its rate from the 7 of 12 months held).")


def test_dot_plot_and_rows() -> None:
    from crimeassess.report.comparison import comparison_dot_plot_svg, comparison_rows

    rows = [
        {"kind": "area", "name": "Southampton", "rate_per_1000": 125.2, "previous_rate_per_1000": 122.4,
         "current": 31000, "rank": 2, "of": 3},
        {"kind": "peer", "name": "Portsmouth", "rate_per_1000": 130.9, "previous_rate_per_1000": 120.6},
        {"kind": "england-and-wales", "name": "England and Wales", "rate_per_1000": 82.4},
        {"kind": "peer", "name": "Nowhere", "rate_per_1000": None, "note": "no data"},
    ]
    out = comparison_rows(rows)
    assert [r["name"] for r in out] == ["Southampton", "Portsmouth", "England and Wales", "Nowhere"]
    assert out[0]["rank_text"] == "2 of 3" and out[0]["rate_text"] == "125.2"
    svg = comparison_dot_plot_svg(out)
    assert svg.startswith("<?xml") and "Portsmouth" in svg and "Nowhere" not in svg
    assert comparison_dot_plot_svg(out[:1]) is None


@pytest.mark.realdata
def test_dashboard_comparison_section(store: Store) -> None:
    from fastapi.testclient import TestClient

    from crimeassess.web.app import create_app

    c = TestClient(create_app(store))
    r = c.get("/", params={"area": "Southampton", "period": "2018-03", "peers": "Portsmouth",
                           "exclude": "Southampton, Portsmouth"})
    assert r.status_code == 200 and "How Southampton compares" in r.text
    assert "Hampshire excluding Southampton and Portsmouth" in r.text
    j = c.get("/api/assessment", params={"area": "Southampton", "period": "2018-03", "peers": "Portsmouth"}).json()
    assert [x["kind"] for x in j["comparators"]] == ["area", "england-and-wales", "force", "peer"]
    bad = c.get("/panel", params={"area": "Southampton", "period": "2018-03", "peers": "Nowhereshire"})
    assert bad.status_code == 404 and "peer area" in bad.text


CSP_TABLE = """Financial Year,Financial Quarter,Force Name,CSP Name,Offence Description,Offence Group,Offence Subgroup,Offence Code,Number of Offences
2017/18,4,Hampshire,Southampton,Burglary Residential,Theft offences,Domestic burglary,28E,700
2017/18,4,Hampshire,Southampton,Assault with injury,Violence against the person,Violence with injury,8N,1500
2017/18,4,Hampshire,Southampton,Fraud by false representation: other frauds,Fraud offences,Police recorded fraud,53D,12
2017/18,4,Hampshire,Portsmouth,Burglary Residential,Theft offences,Domestic burglary,28E,600
2017/18,3,Hampshire,Southampton,Burglary Residential,Theft offences,Domestic burglary,28E,650
"""


@pytest.mark.realdata
def test_official_total_and_csp_comparators(shared_data: Path, tmp_path: Path) -> None:
    """A (synthetic) CSP table: the official total beside police.uk, and CSP figures as comparators."""
    from crimeassess.assess.official import official_total

    st = Store(tmp_path / "csp")
    p = tmp_path / "prc-csp-synthetic.csv"
    p.write_text(CSP_TABLE)
    rep = ingest([p], st)
    assert rep.inputs[0].kind == "home-office-table" and rep.inputs[0].rows_loaded == 5
    load_geography([shared_data / "geography/lookups/LAD17_CSP17_PFA17_EW_LU.csv"], st)
    got = official_total(st, "Southampton", "2018Q1", police_count=2100)
    assert got["home_office_total"] == 700 + 1500  # fraud apart
    assert got["difference"] == 2100 - 2200 and got["difference_pct"] == round(-100 / 2200 * 100, 1)
    assert "cannot locate" in got["explanation"] and got["quarters"] == ["2017/18 Q4"]
    assert official_total(st, "Southampton", "2017/18", police_count=1) is None  # Q1, Q2 not in the table
    assert official_total(st, "Southampton", "2018-03", police_count=1) is None  # not whole quarters
    part = official_total(st, "Southampton", "2018Q1", police_count=900, complete=False)
    assert part["difference"] is None and part["note"]
    rows = {c.name: c for c in comparators(st, "Southampton", "2018Q1", peers=["Portsmouth"])}
    assert rows["Southampton"].current == 2200 and rows["Southampton"].source_kind == "home-office-table"
    assert rows["Portsmouth"].current == 600 and rows["Portsmouth"].previous is None
    # with no force table, the force area and the nation are the sums of their CSPs
    assert rows["Hampshire"].current == 700 + 1500 + 600 and rows["England and Wales"].current == 2800


def test_workbook_numbers_and_formulas(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from crimeassess.report.workbook import write_workbook

    p = tmp_path / "wards.csv"
    rows = [["rank", "code", "name", "current", "pct_change", "significant", "p_value"],
            ["1", "E05002469", '=HYPERLINK("http://evil.example/","x")', "1211", "-5.9", "True", ""],
            ["2", "E05002470", "@SUM(A1)", "0", "16.0", "False", "0.0012"]]
    with open(p, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    out = write_workbook([p], tmp_path / "tables.xlsx")
    ws = load_workbook(out)["wards"]
    got = [[c.value for c in r] for r in ws.iter_rows()]
    assert got[0] == rows[0]
    assert got[1] == [1, "E05002469", "'" + rows[1][2], 1211, -5.9, True, None]
    assert got[2] == [2, "E05002470", "'@SUM(A1)", 0, 16.0, False, 0.0012]
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)


@pytest.mark.realdata
def test_report_writes_comparators_csv_and_workbook(store: Store, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from crimeassess.report.build import build_report

    res = build_report("Southampton", "2018-03", tmp_path / "rep", store, pdf=False, peers=["Portsmouth"])
    assert {"comparators.csv", "tables.xlsx"} <= set(res.files)
    wb = load_workbook(res.files["tables.xlsx"])
    assert {"totals", "wards", "comparators"} <= set(wb.sheetnames)
    ws = wb["comparators"]
    header = [c.value for c in ws[1]]
    got = {r[header.index("kind")]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    for c in res.assessment["comparators"]:
        row = got[c["kind"]]
        assert row[header.index("rate_per_1000")] == c["rate_per_1000"]
        assert row[header.index("current")] == c["current"]
    w = wb["wards"]
    wh = [c.value for c in w[1]]
    assert sum(r[wh.index("current")] for r in w.iter_rows(min_row=2, values_only=True)) == sum(
        x["current"] for x in res.assessment["wards"])


@pytest.mark.realdata
def test_force_area_lists_local_authorities(store: Store, shared_data: Path) -> None:
    rc = _recount(shared_data)
    cur, pop = rc["crimes"]["2018-03"], rc["pop"]
    a = assess("Hampshire", "2018-03", store=store).to_dict()
    las = a["local_authorities"]
    assert {r["code"] for r in las} == rc["hants"] and len(las) == 14
    for r in las:
        assert r["current"] == cur[r["code"]] and r["rate_per_1000"] == _rate(cur[r["code"]], pop[r["code"]])
    rates = [r["rate_per_1000"] for r in las]
    assert rates == sorted(rates, reverse=True) and [r["rank"] for r in las] == list(range(1, 15))
    assert assess("Southampton", "2018-03", store=store).to_dict()["local_authorities"] == []
    # the report lists the local authorities and only the 20 busiest of Hampshire's wards, with no ward matrix
    from crimeassess.report.render import render_html

    html = render_html(a)
    assert "Local authorities in Hampshire" in html and "(the 20 highest)" in html and "Table 3" not in html
    assert len(a["wards"]) > 200
    assert f">{a['wards'][0]['name']}<" in html and f">{a['wards'][40]['name']}<" not in html


@pytest.mark.realdata
def test_ward_against_ward(store: Store, shared_data: Path) -> None:
    with open(shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        ward_of = {r["LSOA11CD"]: r["WD17NM"] for r in csv.DictReader(fh) if r["LAD17CD"] == SOTON}
    c: Counter = Counter()
    with open(shared_data / "police-uk/archive/2018-03/2018-03-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if r["Crime type"] != "Anti-social behaviour" and r["LSOA code"] in ward_of:
                c[ward_of[r["LSOA code"]]] += 1
    rows = {r.name: r for r in comparators(store, "Bargate", "2018-03", peers=["Portswood"])}
    assert rows["Bargate"].current == c["Bargate"] and rows["Portswood"].current == c["Portswood"]
    with pytest.raises(InputError, match="local authorities or CSPs"):
        comparators(store, "Southampton", "2018-03", exclude=["Bargate"])


def test_theme_rate_table() -> None:
    from crimeassess.report.comparison import theme_rate_table

    a = {"comparators": [{"kind": "area", "name": "X"}, {"kind": "force-excluding", "name": "F excluding X"}],
         "themes": [{"id": "robbery", "label": "Robbery"}, {"id": "rape", "label": "Rape"}],
         "theme_comparators": {
             "robbery": [{"kind": "area", "name": "X", "rate_per_1000": 1.2},
                         {"kind": "force-excluding", "name": "F excluding X", "rate_per_1000": None}],
             "rape": [{"kind": "area", "name": "X", "rate_per_1000": None}]}}
    t = theme_rate_table(a)
    # rape has no rate anywhere: left out; the rest of the force area has no theme rate: named, not a dash column
    assert t["columns"] == ["X"] and t["omitted"] == ["rest of force area"]
    assert t["rows"] == [{"label": "Robbery", "cells": ["1.2"]}]
    a["theme_comparators"]["rape"].append({"kind": "force-excluding", "name": "F excluding X", "rate_per_1000": 0.4})
    t = theme_rate_table(a)
    assert t["columns"] == ["X", "rest of force area"] and t["omitted"] == []
    assert t["rows"] == [{"label": "Robbery", "cells": ["1.2", "–"]}, {"label": "Rape", "cells": ["–", "0.4"]}]
    assert theme_rate_table({"comparators": []}) is None
    # a theme rate from the Home Office tables in a police.uk column is marked and said (other source, months)
    a["comparators"] = [{"kind": "area", "name": "X", "source_kind": "police-uk-street"},
                        {"kind": "force", "name": "F", "source_kind": "police-uk-street"}]
    a["theme_comparators"] = {
        "robbery": [{"kind": "area", "name": "X", "rate_per_1000": 1.2, "source_kind": "police-uk-street"},
                    {"kind": "force", "name": "F", "rate_per_1000": 0.6, "source_kind": "police-uk-street"}],
        "rape": [{"kind": "area", "name": "X", "rate_per_1000": None, "source_kind": None},
                 {"kind": "force", "name": "F", "rate_per_1000": 1.0, "source_kind": "home-office-table",
                  "source": "Home Office police recorded crime open data tables"}]}
    t = theme_rate_table(a)
    assert t["rows"] == [{"label": "Robbery", "cells": ["1.2", "0.6"]}, {"label": "Rape", "cells": ["–", "1.0\u2021"]}]
    assert "\u2021 From the Home Office police recorded crime open data tables, not the source of the column's " \
           "total" in t["note"]
    # a theme of the report's own theme file is not compared, and the table says so
    a["themes"].append({"id": "nte", "label": "Sexual offences in the night-time economy"})
    a["themes_not_compared"] = ["nte"]
    assert ("Sexual offences in the night-time economy is defined by this report's theme file, so other areas are "
            "not counted the same way: it is not compared.") in theme_rate_table(a)["note"]


def test_example_peer_file_parses() -> None:
    groups = read_peer_file(Path(__file__).resolve().parents[1] / "examples" / "peer-groups.toml")
    assert SOTON in groups["South coast cities"] and len(groups["Hampshire districts"]) == 11
