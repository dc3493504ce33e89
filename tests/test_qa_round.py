"""Inputs and outputs a review with unseen data found wrong: a stray quote that took the lines after it down,
the same file read twice under two force names, JSON saved with a byte order mark, one API item without a
category, a mapping's delimiter, and one comparison shown with two different tests."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from crimeassess.assess import present
from crimeassess.ingest import ingest
from crimeassess.store import Store

from policeuk_fixtures import row, street_csv

EXTRACT_HEADER = ["crime_id", "recorded_date", "offence_code", "lsoa_code", "outcome"]


def _extract_text(n: int, delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(EXTRACT_HEADER)
    for i in range(n):
        w.writerow([f"X{i}", f"2018-03-{1 + i % 28:02d}", "8N" if i % 2 else "28E", "E01017140", "Charged"])
    return buf.getvalue()


def _live_rows(st: Store) -> int:
    con = st.connect()
    return con.execute("SELECT count(*) FROM records").fetchone()[0]


def test_a_stray_quote_costs_its_own_line_only(tmp_path: Path) -> None:
    rows = [row(f"c{i}", "2018-03", "Burglary") for i in range(40)]
    rows[10] = rows[10].replace("On or near High Street", '"On or near High Street')  # opened, never closed
    p = tmp_path / "2018-03-testshire-street.csv"
    p.write_bytes(street_csv(rows))
    # independently: every physical data line but the broken one is a well-formed 12-field row on its own
    lines = p.read_text().splitlines()[1:]
    good = [ln for ln in lines if len(next(csv.reader([ln]))) == 12 and ln.count('"') % 2 == 0]
    assert len(lines) == 40 and len(good) == 39
    st = Store(tmp_path / "store")
    rep = ingest([p], st).inputs[0]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_quarantined) == (40, 39, 1)
    assert _live_rows(st) == len(good)
    con = st.connect()
    [(line, raw)] = con.execute("SELECT line, raw FROM quarantine").fetchall()
    assert int(line) == 12 and raw.startswith("c10,")


def test_an_extract_stray_quote_and_a_closing_one_later(tmp_path: Path) -> None:
    """A quote opened on one line and closed on a later one makes one long record of several lines with the
    wrong number of fields: only the first line is set aside."""
    text = _extract_text(30).splitlines()
    text[5] = text[5].replace("Charged", '"Charged')
    text[9] = text[9].replace("Charged", 'Charged"')
    p = tmp_path / "ext.csv"
    p.write_text("\n".join(text) + "\n")
    st = Store(tmp_path / "store")
    rep = ingest([p], st, force="hampshire").inputs[0]
    assert rep.rows_read == 30 and rep.rows_quarantined >= 1
    assert rep.rows_loaded + rep.rows_quarantined == 30
    assert rep.rows_loaded >= 28  # the lines between the two quotes are read again, not swallowed


def test_the_same_extract_under_two_force_names_is_counted_once(tmp_path: Path) -> None:
    p = tmp_path / "ext.csv"
    p.write_text(_extract_text(25))
    st = Store(tmp_path / "store")
    ingest([p], st)
    assert _live_rows(st) == 25
    ingest([p], st, force="hampshire")  # read again as Hampshire's: replaces the first reading
    assert _live_rows(st) == 25
    again = ingest([p], st, force="Hampshire Constabulary").inputs[0]  # the same force, by name
    assert again.status == "unchanged" and _live_rows(st) == 25
    forces = {i["force"] for i in st.manifest()["inputs"] if i.get("live")}
    assert forces == {"hampshire"}


def test_json_with_a_byte_order_mark_and_an_item_without_category(tmp_path: Path) -> None:
    items = [{"category": "burglary", "month": "2018-03", "id": i, "persistent_id": "",
              "location": {"latitude": "50.9", "longitude": "-1.4", "street": {"id": 1, "name": "On or near X"}},
              "location_type": "Force", "context": "", "outcome_status": None} for i in range(10)]
    del items[0]["category"]
    p = tmp_path / "api.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps(items).encode())
    st = Store(tmp_path / "store")
    rep = ingest([p], st, force="hampshire").inputs[0]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_quarantined) == (10, 9, 1)
    con = st.connect()
    assert con.execute("SELECT reason FROM quarantine").fetchone()[0] == "no crime category"


def test_a_mappings_delimiter_is_used_to_recognise_the_file(tmp_path: Path) -> None:
    p = tmp_path / "export.csv"
    p.write_text(_extract_text(12, delimiter=";"))
    m = tmp_path / "semi.toml"
    m.write_text('delimiter = ";"\n')
    st = Store(tmp_path / "store")
    rep = ingest([p], st, mapping=m, force="hampshire").inputs[0]
    assert rep.kind == "extract" and rep.rows_loaded == 12


def test_no_test_is_not_called_not_significant() -> None:
    assert present.significance({"significant": False, "p_value": None, "p_adjusted": None}) == ""
    assert present.significance({"significant": False, "p_value": 0.3, "p_adjusted": 0.6}) == "not significant"
    assert present.compress_months("2017-04") == "Apr 2017"


def test_one_comparison_one_test(demo_assessment: dict) -> None:
    """The demo's theme 'All recorded crime' counts the total's crimes: it shows the total's test."""
    t = next(x for x in demo_assessment["themes"] if x["id"] == "total")
    total = demo_assessment["total"]
    assert t["current"] == total["current"] and t["previous"] == total["previous"]
    for k in ("p_value", "p_adjusted", "z", "significant", "dispersion"):
        assert t[k] == total[k], k
    assert present.significance(t) == present.significance(total)


def test_police_uk_themes_share_their_categorys_test(real_archive_store: Store) -> None:
    """On police.uk data most themes are one category (and ASB): each reads the same in both tables."""
    from crimeassess.assess.engine import assess

    a = assess("Southampton", "2018-03", store=real_archive_store).to_dict()
    cats = {c["id"]: c for c in a["categories"]}
    pairs = {"violence_and_sexual_offences": "violence-and-sexual-offences", "burglary": "burglary",
             "shoplifting": "shoplifting", "public_order": "public-order"}
    themes = {t["id"]: t for t in a["themes"]}
    for tid, cid in pairs.items():
        assert themes[tid]["current"] == cats[cid]["current"]
        assert present.significance(themes[tid]) == present.significance(cats[cid]), tid
        assert themes[tid]["p_adjusted"] == cats[cid]["p_adjusted"]
    asb = a["anti_social_behaviour"]
    assert themes["anti_social_behaviour"]["z"] == asb["z"]
    assert present.significance(themes["anti_social_behaviour"]) == present.significance(asb)



# ---- what a later file replaces: republications replace, more of a month sits beside ---------------------------
def _street(tmp_path: Path, name: str, rows: list[str]) -> Path:
    p = tmp_path / name
    p.write_bytes(street_csv(rows))
    return p


def _live_by_month(st: Store) -> dict[str, int]:
    con = st.connect()
    return dict(con.execute("SELECT month, count(*) FROM records GROUP BY 1").fetchall())


def _recount(*files: Path) -> dict[str, int]:
    """Distinct crimes by month over the files, read with csv (rows without a Crime ID each count)."""
    seen: dict[str, set[str]] = {}
    for f in files:
        with open(f, newline="", encoding="utf-8") as fh:
            for i, r in enumerate(csv.DictReader(fh)):
                seen.setdefault(r["Month"], set()).add(r["Crime ID"] or f"{f.name}:{i}")
    return {m: len(v) for m, v in seen.items()}


def test_a_stray_row_of_another_month_does_not_replace_that_month(tmp_path: Path) -> None:
    march = _street(tmp_path, "2018-03-testshire-street.csv", [row(f"m{i}", "2018-03", "Burglary") for i in range(20)])
    april = _street(tmp_path, "2018-04-testshire-street.csv",
                    [row(f"a{i}", "2018-04", "Robbery") for i in range(15)] + [row("late1", "2018-03", "Burglary")])
    st = Store(tmp_path / "store")
    ingest([march], st)
    rep = ingest([april], st).inputs[0]
    assert _live_by_month(st) == _recount(march, april) == {"2018-03": 21, "2018-04": 15}
    assert rep.supersedes == [] and any("added beside" in n for n in rep.notes)


def test_a_republished_month_still_replaces(tmp_path: Path) -> None:
    first = _street(tmp_path, "v1.csv", [row(f"m{i}", "2018-03", "Burglary") for i in range(20)])
    second = _street(tmp_path, "v2.csv", [row(f"m{i}", "2018-03", "Burglary") for i in range(2, 20)]
                     + [row("m99", "2018-03", "Robbery")])
    st = Store(tmp_path / "store")
    ingest([first], st)
    rep = ingest([second], st).inputs[0]
    assert _live_by_month(st) == _recount(second) == {"2018-03": 19}
    assert len(rep.supersedes) == 1


def test_split_extracts_sit_side_by_side_and_a_whole_one_replaces_both(tmp_path: Path) -> None:
    def extract(name: str, ids: list[str]) -> Path:
        p = tmp_path / name
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(EXTRACT_HEADER)
        for i, cid in enumerate(ids):
            w.writerow([cid, f"2018-03-{1 + i % 28:02d}", "28E", "E01017140", "Charged"])
        p.write_text(buf.getvalue())
        return p

    a = extract("district-a.csv", [f"A{i}" for i in range(30)])
    b = extract("district-b.csv", [f"B{i}" for i in range(12)])
    st = Store(tmp_path / "store")
    ingest([a, b], st, force="hampshire")
    assert _live_by_month(st) == {"2018-03": 42}
    whole = extract("whole.csv", [f"A{i}" for i in range(30)] + [f"B{i}" for i in range(12)] + ["C1"])
    assert len(ingest([whole], st, force="hampshire").inputs[0].supersedes) == 2
    assert _live_by_month(st) == {"2018-03": 43}
    part = extract("re-extract.csv", [f"A{i}" for i in range(5)])  # part of the month again: the whole stays
    rep = ingest([part], st, force="hampshire").inputs[0]
    assert _live_by_month(st) == {"2018-03": 43} and any("not used" in n for n in rep.notes)


def test_a_short_month_is_said_before_the_change_it_affects(real_archive_store: Store, shared_data: Path) -> None:
    """Hampshire's April 2018 street file is short of anti-social behaviour (the data README): a change that
    compares April 2018 says so first, with the force-wide count recounted here; March's does not."""
    from crimeassess.assess.engine import assess

    f = shared_data / "police-uk" / "archive" / "2018-04" / "2018-04-hampshire-street.csv"
    with open(f, newline="", encoding="utf-8-sig") as fh:
        asb = sum(1 for r in csv.DictReader(fh) if r["Crime type"] == "Anti-social behaviour")
    a = assess("Southampton", "2018-04", store=real_archive_store).to_dict()
    checks = [i for i, s in enumerate(a["findings"]) if s.startswith("Data check:")]
    assert checks and f"{asb:,} against a median" in a["findings"][checks[0]]
    first_change = next(i for i, s in enumerate(a["findings"]) if "crimes were recorded" in s)
    assert checks[0] < first_change
    march = assess("Southampton", "2018-03", store=real_archive_store).to_dict()
    assert not any(s.startswith("Data check:") and "April 2018" in s for s in march["findings"])


def test_csv_says_what_each_change_compares(real_archive_store: Store, shared_data: Path) -> None:
    """2017/18 against 2016/17 with months missing: the long CSV says the change is over the months held in
    both (worked out here from the archive's folders), and an untested row has no significance verdict."""
    from crimeassess.assess.engine import assess
    from crimeassess.report.build import assessment_csv

    held = {p.name for p in (shared_data / "police-uk" / "archive").iterdir()
            if (p / f"{p.name}-hampshire-street.csv").exists()}
    cur = [f"2017-{m:02d}" for m in range(4, 13)] + [f"2018-{m:02d}" for m in range(1, 4)]
    both = [m for m in cur if m in held and f"{int(m[:4]) - 1}{m[4:]}" in held]
    a = assess("Southampton", "2017/18", store=real_archive_store).to_dict()
    rows = list(csv.DictReader(io.StringIO(assessment_csv(a))))
    total = next(r for r in rows if r["table"] == "total")
    assert total["basis"] == "matched_months" and total["months_compared"] == ";".join(both)
    assert total["previous_months_compared"] == ";".join(f"{int(m[:4]) - 1}{m[4:]}" for m in both)
    unavailable = [r for r in rows if r["table"] == "theme" and r["current"] == ""]  # not measurable here
    assert unavailable and all(r["significant"] == "" for r in unavailable)


def test_the_contents_number_sections_as_their_headings(demo_assessment: dict) -> None:
    import re

    from crimeassess.report.render import render_html

    html = render_html(demo_assessment)
    toc = re.findall(r'<span class="toc-no">([^<]+)</span><a href="#([^"]+)"', html)
    assert len(toc) >= 9
    for no, anchor in toc:
        section = html[html.index(f'id="{anchor}"'):]
        assert re.search(r'<span class="secno">([^<]+)</span>', section).group(1) == no, anchor


def test_a_windows_export_through_its_mappings_encoding(tmp_path: Path) -> None:
    text = _extract_text(6).replace("Charged", "Café £5 fine")
    p = tmp_path / "export.csv"
    p.write_bytes(text.encode("cp1252"))
    st = Store(tmp_path / "store")
    plain = ingest([p], Store(tmp_path / "plain"), force="hampshire").inputs[0]
    assert plain.rows_quarantined == 6  # as UTF-8 every row is invalid text: quarantined, never mangled
    m = tmp_path / "cp.toml"
    m.write_text('encoding = "cp1252"\n')
    rep = ingest([p], st, mapping=m, force="hampshire").inputs[0]
    assert (rep.rows_loaded, rep.rows_quarantined) == (6, 0)
    con = st.connect()
    assert {r[0] for r in con.execute("SELECT outcome FROM records").fetchall()} == {"Café £5 fine"}


def test_old_mac_line_ends(tmp_path: Path) -> None:
    rows = [row(f"c{i}", "2018-03", "Burglary") for i in range(7)]
    p = tmp_path / "2018-03-testshire-street.csv"
    p.write_bytes(street_csv(rows).replace(b"\n", b"\r"))
    st = Store(tmp_path / "store")
    rep = ingest([p], st).inputs[0]
    assert (rep.rows_read, rep.rows_loaded) == (7, 7) and _live_rows(st) == 7


def test_a_street_file_edited_in_a_spreadsheet_says_what_is_wrong(tmp_path: Path) -> None:
    import pytest

    from crimeassess.errors import InputError
    from policeuk_fixtures import HEADER

    body = [row(f"c{i}", "2018-03", "Burglary") for i in range(3)]
    cases = {
        "reordered": (HEADER.replace("Longitude,Latitude", "Latitude,Longitude"), "columns in another order"),
        "extra": (HEADER + ",Notes", "unexpected 'Notes'"),
        "lower": (HEADER.lower(), "differ in case or spacing"),
        "semicolons": (HEADER.replace(",", ";"), "saved with semicolons"),
    }
    for name, (header, said) in cases.items():
        p = tmp_path / f"{name}.csv"
        p.write_text("\n".join([header, *body]) + "\n")
        with pytest.raises(InputError, match=said):
            ingest([p], Store(tmp_path / f"store-{name}"))
