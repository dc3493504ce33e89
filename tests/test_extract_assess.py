"""Force extracts through to the assessment: exact theme counts by area and ward for two financial years."""
from __future__ import annotations

import csv
import json
import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from crimeassess.assess.engine import assess
from crimeassess.ingest import ingest
from crimeassess.store import Store, quarantined_rows

# Hand-written truth for the codes the fixture uses: the themes each code belongs to (flag themes apart),
# and whether a knife flag on it counts as serious knife crime (ONS selected offences).
CODE_THEMES: dict[str, tuple[list[str], bool]] = {
    "1": ([], True),
    "3B": (["violence_without_injury", "threats_to_kill"], True),
    "8N": (["violence_with_injury"], True),
    "105A": (["violence_without_injury"], False),
    "8L": (["stalking_harassment"], False),
    "19C": (["rape", "sexual_offences"], True),
    "20A": (["sexual_offences"], True),
    "34B": (["robbery"], True),
    "28E": (["burglary", "burglary_residential"], False),
    "30C": (["burglary", "burglary_non_residential"], False),
    "45": (["vehicle_offences"], False),
    "39": (["theft_from_person"], False),
    "44": (["bicycle_theft"], False),
    "46": (["shoplifting"], False),
    "58A": (["criminal_damage_arson"], False),
    "92D": (["drug_offences"], False),
    "10A": (["possession_of_weapons"], False),
    "9A": (["public_order"], False),
}
FRAUD = "53A"  # police recorded fraud: never in total recorded crime
WARDS = [("E05900001", "Harbour", "E06900001", "Testport"), ("E05900002", "Hillside", "E06900001", "Testport"),
         ("E05900003", "Old Town", "E06900001", "Testport"), ("E05900004", "Elsewhere", "E06900002", "Otherton")]
FYS = {"2016/17": date(2016, 4, 1), "2017/18": date(2017, 4, 1)}
REQUIRED_THEMES = ["total", "knife_crime", "hate_crime", "domestic_abuse", "rape", "sexual_offences",
                   "violence_with_injury", "violence_without_injury", "burglary", "burglary_residential",
                   "burglary_non_residential", "robbery", "vehicle_offences", "drug_offences", "threats_to_kill",
                   "criminal_damage_arson", "shoplifting", "theft_from_person", "bicycle_theft", "public_order",
                   "possession_of_weapons"]


def _make_rows(seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    n = 0
    for fy, start in FYS.items():
        per_year = 700 if fy == "2016/17" else 820
        for _ in range(per_year):
            n += 1
            code = rng.choice(list(CODE_THEMES) + [FRAUD])
            w = rng.choice(WARDS)
            d = start + timedelta(days=rng.randrange(365))
            knife = rng.random() < 0.3
            fraud = code == FRAUD
            rows.append({
                "crime_id": f"CR{n:06d}", "recorded_date": d.isoformat(), "offence_code": code,
                "ward_code": w[0], "ward_name": w[1], "local_authority_code": w[2], "local_authority_name": w[3],
                "knife_flag": rng.choice(["Y", "N", ""]) if knife else "N",
                "hate_flag": "N" if fraud else ("Y" if rng.random() < 0.08 else "N"),
                "domestic_flag": "N" if fraud else ("Y" if rng.random() < 0.15 else rng.choice(["N", ""])),
            })
    return rows


def _fy_of(d: str) -> str:
    y, m = int(d[:4]), int(d[5:7])
    s = y if m >= 4 else y - 1
    return f"{s}/{(s + 1) % 100:02d}"


def _expected(rows: list[dict[str, str]], ward: str | None = None, lad: str | None = None) -> dict[str, Counter]:
    """Independent count: theme -> Counter(financial year -> n)."""
    out: dict[str, Counter] = {t: Counter() for t in REQUIRED_THEMES}
    for r in rows:
        if ward and r["ward_code"] != ward:
            continue
        if lad and r["local_authority_code"] != lad:
            continue
        fy = _fy_of(r["recorded_date"])
        if r["offence_code"] == FRAUD:
            continue
        themes, knife_ok = CODE_THEMES[r["offence_code"]]
        out["total"][fy] += 1
        for t in themes:
            if t in out:
                out[t][fy] += 1
        if knife_ok and r["knife_flag"] == "Y":
            out["knife_crime"][fy] += 1
        if r["hate_flag"] == "Y":
            out["hate_crime"][fy] += 1
        if r["domestic_flag"] == "Y":
            out["domestic_abuse"][fy] += 1
    return out


def _write(path: Path, rows: list[dict[str, str]], rename: dict[str, str] | None = None) -> None:
    rename = rename or {}
    cols = list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([rename.get(c, c) for c in cols])
        for r in rows:
            w.writerow([r[c] for c in cols])


@pytest.fixture(scope="module")
def extract_rows() -> list[dict[str, str]]:
    return _make_rows()


@pytest.fixture(scope="module")
def extract_store(extract_rows: list[dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Store:
    d = tmp_path_factory.mktemp("extract")
    rows = list(extract_rows)
    # two bad rows: an unknown offence code and a duplicate crime id; both must be quarantined, not counted
    bad = [dict(rows[0], crime_id="BAD1", offence_code="ZZZ"), dict(rows[1])]
    _write(d / "force-extract.csv", rows + bad)
    st = Store(d / "store")
    rep = ingest([d / "force-extract.csv"], st, force="testshire")
    (r,) = rep.inputs
    assert (r.kind, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("extract", len(rows) + 2, len(rows), 2)
    return st


def test_every_builtin_theme_by_area_for_two_years(extract_store: Store, extract_rows: list[dict[str, str]]) -> None:
    exp = _expected(extract_rows, lad="E06900001")
    a = assess("Testport", "2017/18", store=extract_store).to_dict()
    assert a["source"]["kind"] == "extract"
    assert a["area"] == {"code": "E06900001", "name": "Testport", "level": "lad"}
    assert a["coverage"]["complete"] is True
    themes = {t["id"]: t for t in a["themes"]}
    for tid in REQUIRED_THEMES:
        t = themes[tid]
        assert t["available"] is True, tid
        assert (t["current"], t["previous"]) == (exp[tid]["2017/18"], exp[tid]["2016/17"]), tid
        assert t["change"] == exp[tid]["2017/18"] - exp[tid]["2016/17"]
    assert (a["total"]["current"], a["total"]["previous"]) == (exp["total"]["2017/18"], exp["total"]["2016/17"])
    # anti-social behaviour is police.uk only: unavailable from an extract, null not zero
    asb = themes["anti_social_behaviour"]
    assert asb["available"] is False and asb["current"] is None and asb["previous"] is None
    assert a["total"]["series"][-2:] == [
        {"label": "2016/17", "start": "2016-04", "end": "2017-03", "count": exp["total"]["2016/17"], "complete": True,
         "months_held": 12, "months": 12},
        {"label": "2017/18", "start": "2017-04", "end": "2018-03", "count": exp["total"]["2017/18"], "complete": True,
         "months_held": 12, "months": 12}]


def test_every_builtin_theme_by_ward(extract_store: Store, extract_rows: list[dict[str, str]]) -> None:
    a = assess("E06900001", "2017/18", store=extract_store).to_dict()
    assert sorted(w["code"] for w in a["wards"]) == ["E05900001", "E05900002", "E05900003"]
    for w in a["wards"]:
        exp = _expected(extract_rows, ward=w["code"])
        assert (w["current"], w["previous"]) == (exp["total"]["2017/18"], exp["total"]["2016/17"])
        got = {t["id"]: t for t in w["themes"]}
        for tid in REQUIRED_THEMES:
            if tid == "total":
                continue
            assert (got[tid]["current"], got[tid]["previous"]) == (exp[tid]["2017/18"], exp[tid]["2016/17"]), (w["name"], tid)
    # a ward the extract itself names is an area too, with no lookup loaded
    h = assess("Hillside", "2017/18", store=extract_store).to_dict()
    exp = _expected(extract_rows, ward="E05900002")
    assert h["area"]["level"] == "ward" and h["total"]["current"] == exp["total"]["2017/18"]


def test_quarantine_reasons(extract_store: Store) -> None:
    reasons = sorted(q["reason"].split(":")[0] for q in quarantined_rows(extract_store))
    assert len(reasons) == 2
    assert any("unknown offence code" in r for r in reasons)
    assert any("duplicate crime_id" in r for r in reasons)


def test_mapping_file_loads_a_renamed_export_identically(extract_rows: list[dict[str, str]], extract_store: Store,
                                                         tmp_path: Path) -> None:
    rename = {"crime_id": "CRN", "recorded_date": "Date Recorded", "offence_code": "HO Code", "ward_code": "Ward Cd",
              "ward_name": "Ward", "local_authority_code": "LA Code", "local_authority_name": "Local Authority",
              "knife_flag": "Knife", "hate_flag": "Hate Crime", "domestic_flag": "DA Flag"}
    rows = [dict(r, knife_flag={"Y": "Yes", "N": "No", "": ""}[r["knife_flag"]]) for r in extract_rows]
    _write(tmp_path / "export.csv", rows, rename)
    mapping = tmp_path / "force.toml"
    mapping.write_text("[columns]\n" + "".join(f'{k} = "{v}"\n' for k, v in rename.items()))
    st = Store(tmp_path / "store")
    ingest([tmp_path / "export.csv"], st, mapping=mapping, force="testshire")
    a = assess("Testport", "2017/18", store=st).to_dict()
    b = assess("Testport", "2017/18", store=extract_store).to_dict()
    for k in ("total", "themes", "wards", "categories"):
        assert json.dumps(a[k], sort_keys=True) == json.dumps(b[k], sort_keys=True), k


def test_police_uk_and_extract_are_never_added(extract_store: Store, extract_rows: list[dict[str, str]], tmp_path: Path) -> None:
    from policeuk_fixtures import row, street_csv

    st = Store(tmp_path / "both")
    src = tmp_path / "force-extract.csv"
    _write(src, extract_rows)
    ingest([src], st, force="testshire")
    p = tmp_path / "2017-06-testshire-street.csv"
    p.write_bytes(street_csv([row(f"x{i}", "2017-06", "Burglary") for i in range(40)]))
    ingest([p], st)
    a = assess("Testport", "2017/18", store=st).to_dict()
    exp = _expected(extract_rows, lad="E06900001")
    assert a["source"]["kind"] == "extract" and a["total"]["current"] == exp["total"]["2017/18"]


def _count_days(rows: list[dict[str, str]], first: str, last: str, lad: str = "E06900001") -> int:
    return sum(1 for r in rows if r["local_authority_code"] == lad and r["offence_code"] != FRAUD
               and first <= r["recorded_date"] <= last)


@pytest.mark.parametrize("period,cur,prev", [
    ("28d-2018-03-31", ("2018-03-04", "2018-03-31"), ("2017-03-05", "2017-04-01")),  # 52 weeks earlier
    ("2018-W10", ("2018-03-05", "2018-03-11"), ("2017-03-06", "2017-03-12")),          # same ISO week
    ("ytd-2018-01-31", ("2017-04-01", "2018-01-31"), ("2016-04-01", "2017-01-31")),    # financial year to date
    ("cytd-2018-02-28", ("2018-01-01", "2018-02-28"), ("2017-01-01", "2017-02-28")),
])
def test_compstat_periods_count_by_recorded_date(extract_store: Store, extract_rows: list[dict[str, str]],
                                                 period: str, cur: tuple[str, str], prev: tuple[str, str]) -> None:
    a = assess("Testport", period, store=extract_store).to_dict()
    assert (a["period"]["first_day"], a["period"]["last_day"]) == cur
    assert (a["compare"]["first_day"], a["compare"]["last_day"]) == prev
    assert a["total"]["current"] == _count_days(extract_rows, *cur)
    assert a["total"]["previous"] == _count_days(extract_rows, *prev)


def test_compare_previous_28_days(extract_store: Store, extract_rows: list[dict[str, str]]) -> None:
    a = assess("Testport", "28d-2018-03-31", "previous", store=extract_store).to_dict()
    assert (a["compare"]["first_day"], a["compare"]["last_day"]) == ("2018-02-04", "2018-03-03")
    assert a["total"]["previous"] == _count_days(extract_rows, "2018-02-04", "2018-03-03")


def test_day_periods_need_recorded_dates(tmp_path: Path) -> None:
    from policeuk_fixtures import row, street_csv

    from crimeassess.errors import PeriodError
    from crimeassess.geography.load import load_geography

    p = tmp_path / "2018-03-testshire-street.csv"
    p.write_bytes(street_csv([row("a", "2018-03", "Burglary", lsoa="E01000001")]))
    lk = tmp_path / "LSOA11_WD17_LAD17_EW_LU.csv"
    lk.write_text("LSOA11CD,LSOA11NM,WD17CD,WD17NM,LAD17CD,LAD17NM\nE01000001,Test 001A,E05000001,Centre,E06000001,Testtown\n")
    st = Store(tmp_path / "s")
    ingest([p], st)
    load_geography([lk], st)
    with pytest.raises(PeriodError, match="recorded date"):
        assess("Testtown", "28d-2018-03-31", store=st)


def test_comparators_from_an_extract_without_force_lookups(extract_store: Store, extract_rows: list[dict[str, str]]) -> None:
    """No LAD→PFA lookup: the forces are those the records name; Otherton is a peer from the same extract."""
    from crimeassess.assess.comparators import comparators

    exp = _expected(extract_rows, lad="E06900001")
    other = _expected(extract_rows, lad="E06900002")
    rows = {c.name: c for c in comparators(extract_store, "Testport", "2017/18", peers=["Otherton"])}
    assert rows["Testport"].current == exp["total"]["2017/18"] and rows["Testport"].source_kind == "extract"
    assert rows["Otherton"].current == other["total"]["2017/18"]
