"""Home Office police recorded crime tables: reader, detection, ingest, and national rates with populations by year."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from crimeassess.errors import InputError
from crimeassess.geography.load import load_geography
from crimeassess.geography.population import population_for, read_area_population
from crimeassess.ingest import ingest
from crimeassess.sources.discover import detect_kind
from crimeassess.sources.homeoffice import (
    load_counts,
    national_total,
    quarter_months,
    read_homeoffice_table,
    totals_by_force,
)
from crimeassess.store import Store

DATA = Path(__file__).parent / "data"
FRAUD_BODIES = {"Action Fraud", "CIFAS", "UK Finance", "Financial Fraud Action UK"}
WELSH = {"Dyfed-Powys", "Gwent", "North Wales", "South Wales"}


def _independent_totals(path: Path) -> tuple[Counter, Counter, Counter]:
    """With the csv module and the file's own Offence_Group: per-force totals excluding fraud, police-recorded
    fraud per force, and the fraud bodies' totals."""
    trc, fraud, bodies = Counter(), Counter(), Counter()
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            n = int(r["Number_of_Offences"])
            if r["Force_Name"] in FRAUD_BODIES:
                bodies[r["Force_Name"]] += n
            elif r["Offence_Group"] == "Fraud offences":
                fraud[r["Force_Name"]] += n
            else:
                trc[r["Force_Name"]] += n
    return trc, fraud, bodies


@pytest.mark.realdata
def test_every_force_total_2017_18(shared_data: Path) -> None:
    path = shared_data / "homeoffice" / "prc-pfa-2017-18-by-offence.csv"
    data = path.read_bytes()
    assert detect_kind(data, path.name) == "home-office-table"
    t = read_homeoffice_table(data, path.name)
    with open(path, newline="", encoding="utf-8") as fh:
        n_rows = sum(1 for _ in csv.DictReader(fh))
    assert t.level == "pfa" and t.rows_read == n_rows and not t.quarantine
    assert t.financial_years == ["2017/18"]

    trc, fraud, bodies = _independent_totals(path)
    ours = totals_by_force(t.counts, "2017/18")
    names = dict(zip(t.counts["force"], t.counts["force_name"]))
    # 43 territorial forces (British Transport Police is kept apart, as the published tables do)
    assert len(ours) == 43 and len(trc) == 44
    for slug, total in ours.items():
        assert total == trc[names[slug]], names[slug]
    assert ours["hampshire"] == trc["Hampshire"]
    bt = t.counts[t.counts["level"] == "non-territorial"]
    assert int(bt[bt["in_total_recorded_crime"]]["count"].sum()) == trc["British Transport Police"]
    # fraud is separate: never in a force's total, the reporting bodies have no area
    fb = t.counts[t.counts["level"] == "fraud-body"]
    assert fb["force"].isna().all()
    assert dict(fb.groupby("force_name")["count"].sum()) == dict(bodies)
    assert sum(totals_by_force(t.counts, "2017/18", fraud=True).values()) == sum(fraud.values())
    # England and Wales = the 43 forces; Wales the four Welsh forces
    ew = sum(v for k, v in trc.items() if k != "British Transport Police")
    assert national_total(t.counts, "2017/18") == ew
    assert national_total(t.counts, "2017/18", country="wales") == sum(trc[w] for w in WELSH)
    assert national_total(t.counts, "2017/18", country="england") == ew - sum(trc[w] for w in WELSH)
    # one quarter alone
    with open(path, newline="", encoding="utf-8") as fh:
        q1 = sum(int(r["Number_of_Offences"]) for r in csv.DictReader(fh)
                 if r["Force_Name"] == "Hampshire" and r["Financial_Quarter"] == "1"
                 and r["Offence_Group"] != "Fraud offences")
    assert totals_by_force(t.counts, "2017/18", (1,))["hampshire"] == q1
    print(f"\nEngland and Wales 2017/18 recorded crime excluding fraud: {ew:,}; Hampshire {trc['Hampshire']:,}")


@pytest.mark.realdata
def test_england_and_wales_rate_with_population_fixture(shared_data: Path, tmp_path: Path) -> None:
    """The national rate from the real table and a hand-written population file in the ONS MYE2 layout."""
    path = shared_data / "homeoffice" / "prc-pfa-2017-18-by-offence.csv"
    st = Store(tmp_path / "store")
    rep = ingest([path], st)
    assert [(i.kind, i.status) for i in rep.inputs] == [("home-office-table", "loaded")]
    assert st.inputs() == []  # aggregated counts are never records
    again = ingest([path], st)
    assert again.inputs[0].status == "unchanged"
    fixture = DATA / "mye-synthetic-mid-2017.csv"
    load_geography([fixture], st)

    # independent: the fixture's E&W all-ages figure and the csv sum of the 43 forces
    with open(fixture, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    hdr = rows[2]
    ew_pop = next(int(r[hdr.index("All ages")].replace(",", "")) for r in rows[3:] if r and r[0] == "K04000001")
    trc, _, _ = _independent_totals(path)
    ew = sum(v for k, v in trc.items() if k != "British Transport Police")
    expected = round(ew / ew_pop * 1000, 1)

    counts = load_counts(st)
    fig = population_for(st, ["K04000001"], 2017)
    assert fig is not None and fig.residents == ew_pop and fig.year == 2017 and fig.exact
    assert round(national_total(counts, "2017/18") / fig.residents * 1000, 1) == expected
    # England and Wales built from England + Wales when only those rows exist is the same figure here
    assert population_for(st, ["E92000001", "W92000004"], 2017).residents == ew_pop
    # nearest loaded year, named
    far = population_for(st, ["K04000001"], 2019)
    assert far.year == 2017 and not far.exact and "nearest loaded year to 2019" in far.label()


def test_population_years_wide_and_long(tmp_path: Path) -> None:
    st = Store(tmp_path / "store")
    load_geography([DATA / "mye-synthetic-mid-2017.csv", DATA / "mye-synthetic-long-2016-2018.csv"], st)
    df, meta = read_area_population(DATA / "mye-synthetic-long-2016-2018.csv")
    assert meta["layout"] == "long" and meta["years"] == [2016, 2018]
    # independent sums of the long file (both sexes, every age)
    with open(DATA / "mye-synthetic-long-2016-2018.csv", newline="") as fh:
        want = Counter()
        for r in csv.DictReader(fh):
            want[(r["ladcode"], int(r["year"]))] += int(r["population"])
    for yr in (2016, 2017, 2018):
        fig = population_for(st, ["E06000045"], yr)
        assert fig.year == yr
    assert population_for(st, ["E06000045"], 2018).residents == want[("E06000045", 2018)]
    assert population_for(st, ["E06000045", "E06000044"], 2016).residents == (
        want[("E06000045", 2016)] + want[("E06000044", 2016)])
    assert population_for(st, ["E06000045"], 2030).year == 2018
    assert population_for(st, ["E06000099"], 2017) is None
    # one column per year (wide), force areas and CSPs with rows of their own; '..' is no figure
    pfa = DATA / "mye-synthetic-pfa-years.csv"
    df, meta = read_area_population(pfa)
    assert meta["years"] == [2016, 2017, 2018] and meta["skipped_rows"] == 1
    assert set(df["level"]) == {"pfa", "csp"}
    load_geography([pfa], st)
    assert population_for(st, ["E23000030"], 2018).residents == 1970500
    assert population_for(st, ["W15000001"], 2018).year == 2017  # no 2018 figure: the nearest year that has one
    assert population_for(st, ["E22000120"], 2016).residents == 250000


PFA_VARIANT = """Financial Year,Financial Quarter,Force Name,Offence Description,Offence Group,Offence Subgroup,Offence Code,Offence Count
2018/19,1,Hampshire,Burglary Residential,Theft offences,Domestic burglary,28E,"1,200"
2018/19,1,Hampshire,Fraud offences recorded by Action Fraud,Fraud offences,Fraud: action fraud,AF,3
2018/19,1,Action Fraud,Fraud offences recorded by Action Fraud,Fraud offences,Fraud: action fraud,AF,500
2018/19,2,Hampshire,Homicide,Violence against the person,Homicide,1/4.1/4.10/4.2,2
2018/19,2,Hampshire,Adjustment,Miscellaneous crimes,Miscellaneous crimes,26,-1
2018/19,5,Hampshire,Murder,Violence against the person,Homicide,1,1
2018-19,2,Hampshire,Murder,Violence against the person,Homicide,1,lots
18/19,2,Hampshire,Murder,Violence against the person,Homicide,1,1
2018/19,3,,Murder,Violence against the person,Homicide,1,1
2018/19,3,Hampshire,Something new,,,ZZ9,1
2018/19,3,Hampshire,Short row
"""

CSP_VARIANT = """,Financial_Year,Financial_Quarter,Force_Name,Community Safety Partnership,Offence_Description,Offence_Group,Offence_Subgroup,Offence_Code,Number of Offences
0,2018/19,1,Hampshire,Southampton,Burglary Residential,Theft offences,Domestic burglary,28E,300
1,2018/19,1,Hampshire,Portsmouth,Burglary Residential,Theft offences,Domestic burglary,28E,250
2,2018/19,1,Action Fraud,,Fraud offences recorded by Action Fraud,Fraud offences,Fraud: action fraud,AF,500
3,2018/19,1,Hampshire,,Burglary Residential,Theft offences,Domestic burglary,28E,1
"""


def test_header_variants_and_quarantine() -> None:
    t = read_homeoffice_table(PFA_VARIANT.encode(), "pfa.csv")
    assert t.level == "pfa" and t.rows_read == 11
    reasons = [q["reason"] for q in t.quarantine]
    assert len(reasons) == 6 and [q["line"] for q in t.quarantine] == [7, 8, 9, 10, 11, 12]
    assert "financial quarter '5' is not 1-4" in reasons[0]
    assert "not a whole number" in reasons[1] or "financial year" in reasons[1]
    assert "force name is empty" in reasons[3]
    assert "unknown and the row has no offence group" in reasons[4]
    tot = totals_by_force(t.counts, "2018/19")
    assert tot == {"hampshire": 1200 + 2 - 1}  # AF row of a force is fraud, adjustments kept
    assert totals_by_force(t.counts, "2018/19", fraud=True) == {"hampshire": 3}
    assert national_total(t.counts, "2018/19") == 1201

    c = read_homeoffice_table(CSP_VARIANT.encode(), "csp.csv")
    assert c.level == "csp" and len(c.counts) == 3 and len(c.quarantine) == 1
    assert "CSP name and code are empty" in c.quarantine[0]["reason"]
    assert c.counts[c.counts["level"] == "csp"]["csp_name"].tolist() == ["Southampton", "Portsmouth"]

    with pytest.raises(InputError, match="not a Home Office"):
        read_homeoffice_table(b"Crime ID,Month\n1,2018-01\n", "x.csv")
    assert quarter_months("2017/18", 1) == ["2017-04", "2017-05", "2017-06"]
    assert quarter_months("2017/18", 4) == ["2018-01", "2018-02", "2018-03"]


@pytest.mark.realdata
def test_download_home_office_tables(shared_data: Path, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from crimeassess.cli import app
    from localserver import LocalServer

    store = str(tmp_path / "store")
    r = CliRunner()
    with LocalServer(shared_data) as srv:
        res = r.invoke(app, ["download", "home-office-tables", "--base-url", srv.url, "--store", store, "--json"])
        assert res.exit_code == 0, res.output
        d = json.loads(res.stdout)
        assert d["missing"] == [] and len(d["files"]) == 1
        assert [(x["kind"], x["status"]) for x in d["loaded"]] == [("home-office-table", "loaded")]
        bad = r.invoke(app, ["download", "home-office-tables", "--base-url", srv.url, "--table", "nope", "--store", store])
        assert bad.exit_code == 2 and "error:" in bad.output
    none = r.invoke(app, ["download", "home-office-tables", "--store", store], env={"CRIMEASSESS_HOME_OFFICE_BASE": ""})
    assert none.exit_code == 2 and "CRIMEASSESS_HOME_OFFICE_BASE" in none.output
    with open(shared_data / "homeoffice" / "prc-pfa-2017-18-by-offence.csv", newline="", encoding="utf-8") as fh:
        hants = sum(int(x["Number_of_Offences"]) for x in csv.DictReader(fh)
                    if x["Force_Name"] == "Hampshire" and x["Offence_Group"] != "Fraud offences")
    assert totals_by_force(load_counts(Store(store)), "2017/18")["hampshire"] == hants
