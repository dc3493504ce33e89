"""police.uk street CSV and API JSON ingest: formats, reconciliation, quarantine, idempotency, revisions."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from crimeassess.errors import InputError, UnsafeArchiveError
from crimeassess.ingest import ingest
from crimeassess.store import Store, quarantined_rows
from policeuk_fixtures import FORCE, HEADER, row, street_csv


def _count(store: Store, where: str = "true") -> int:
    con = store.connect()
    try:
        return con.execute(f"SELECT count(*) FROM records WHERE {where}").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("crlf,bom", [(False, False), (True, False), (False, True), (True, True)])
def test_line_endings_bom_asb_no_location(tmp_path: Path, crlf: bool, bom: bool) -> None:
    f = tmp_path / "2018-03-testshire-street.csv"
    f.write_bytes(street_csv([
        row("abc1", "2018-03", "Burglary"),
        row("", "2018-03", "Anti-social behaviour", outcome=""),
        row("abc3", "2018-03", "Drugs", lsoa="", lon="", lat=""),  # No Location
        row("abc4", "2018-03", "Shoplifting", context="Some context"),
        row("dec5", "2017-12", "Burglary"),  # December is a month like any other
    ], crlf=crlf, bom=bom))
    st = Store(tmp_path / "s")
    rep = ingest([f], st)
    (r,) = rep.inputs
    assert (r.status, r.kind, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", "police-uk-street", 5, 5, 0)
    assert r.force == "testshire" and r.months == ["2017-12", "2018-03"]
    con = st.connect()
    rows = con.execute("SELECT record_id, is_crime, lsoa_code, longitude, context, line FROM records ORDER BY line").fetchall()
    assert rows[0] == ("abc1", True, "E01000001", -1.4, None, 2)
    assert rows[1][:2] == (None, False)  # ASB stored, never a crime
    assert rows[2][2:4] == (None, None)
    assert rows[3][4] == "Some context"


def test_bad_rows_are_quarantined_with_reasons(tmp_path: Path) -> None:
    good = row("g1", "2018-03", "Robbery")
    lines = [
        good,
        row("b1", "2018-13", "Robbery"),
        row("b2", "2018-03", "Robbery", lon="-40.0", lat="10.0"),
        row("b3", "2018-03", "Alien abduction"),
        good.rsplit(",", 2)[0],  # too few fields
    ]
    data = street_csv(lines).replace(b"g1,", b"g0,", 0)
    data += row("b5", "2018-03", "Robbery").replace("High Street", "Caf\udce9").encode("utf-8", "surrogateescape") + b"\n"
    f = tmp_path / "bad.csv"
    f.write_bytes(data)
    st = Store(tmp_path / "s")
    (r,) = ingest([f], st).inputs
    assert r.rows_read == 6 and r.rows_loaded == 1 and r.rows_quarantined == 5
    assert r.rows_read == r.rows_loaded + r.rows_quarantined
    q = quarantined_rows(st)
    reasons = {x["line"]: x["reason"] for x in q}
    assert reasons[3].startswith("invalid month")
    assert reasons[4].startswith("coordinates outside the UK")
    assert reasons[5].startswith("unknown crime type")
    assert reasons[6].startswith("wrong number of fields")
    assert reasons[7] == "invalid UTF-8"
    assert all(x["file"] == str(f) and x["raw"] for x in q)
    assert "2018-13" in next(x["raw"] for x in q if x["line"] == 3)


@pytest.mark.parametrize("content,msg", [
    (b"", "empty"),
    (b"name,age\nbob,3\n", "not police.uk data"),
    (b"\x00\x01\x02binary", "binary"),
    (HEADER.encode() + b"\n", "no rows"),
])
def test_bad_files_raise_and_change_nothing(tmp_path: Path, content: bytes, msg: str) -> None:
    st = Store(tmp_path / "s")
    ok = tmp_path / "ok.csv"
    ok.write_bytes(street_csv([row("a", "2018-03", "Burglary")]))
    ingest([ok], st)
    before = st.manifest_path.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    other = tmp_path / "other.csv"
    other.write_bytes(street_csv([row("z", "2018-04", "Burglary")]))
    with pytest.raises(InputError, match=msg):
        ingest([other, bad], st)
    assert st.manifest_path.read_bytes() == before  # nothing written, not even the good file
    assert _count(st) == 1


def test_missing_path_and_corrupt_zip(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        ingest([tmp_path / "nope.csv"], Store(tmp_path / "s"))
    z = tmp_path / "broken.zip"
    z.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="unreadable zip"):
        ingest([z], Store(tmp_path / "s"))


def test_zip_slip_is_refused(tmp_path: Path) -> None:
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("2018-03/2018-03-testshire-street.csv", street_csv([row("a", "2018-03", "Burglary")]))
        zf.writestr("../../evil-street.csv", street_csv([row("b", "2018-03", "Burglary")]))
    st = Store(tmp_path / "s")
    with pytest.raises(UnsafeArchiveError, match="escapes"):
        ingest([z], st)
    assert not st.exists()


def test_folder_and_zip_layout_skip_other_police_files(tmp_path: Path) -> None:
    root = tmp_path / "archive" / "deep"
    for m in ("2018-03", "2018-04"):
        (root / m).mkdir(parents=True)
        (root / m / f"{m}-testshire-street.csv").write_bytes(street_csv([row(f"{m}a", m, "Burglary"), row(f"{m}b", m, "Drugs")]))
        (root / m / f"{m}-testshire-stop-and-search.csv").write_text(
            "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude\nPerson search,2018-03-01,,,50.9,-1.4\n")
        (root / m / f"{m}-testshire-outcomes.csv").write_text(
            "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type\n")
    (tmp_path / "archive" / "README.txt").write_text("notes")
    st = Store(tmp_path / "s")
    rep = ingest([tmp_path / "archive"], st)
    status = {Path(r.path).name: r.status for r in rep.inputs}
    assert status["2018-03-testshire-street.csv"] == "loaded"
    assert status["2018-04-testshire-stop-and-search.csv"] == "skipped"
    assert status["2018-04-testshire-outcomes.csv"] == "skipped"
    assert status["README.txt"] == "skipped"
    assert _count(st) == 4
    # the same data as a zip is recognised by content, and is the same input: nothing doubles
    z = tmp_path / "archive.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted((tmp_path / "archive").rglob("*.csv")):
            zf.write(p, p.relative_to(tmp_path / "archive").as_posix())
    rep2 = ingest([z], st)
    assert {r.status for r in rep2.inputs if r.kind == "police-uk-street"} == {"unchanged"}
    assert _count(st) == 4


def test_idempotent_and_revisions(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    v1 = tmp_path / "v1" / "2018-03-testshire-street.csv"
    v1.parent.mkdir()
    v1.write_bytes(street_csv([row("a", "2018-03", "Burglary"), row("b", "2018-03", "Drugs")]))
    ingest([v1], st)
    m1 = st.manifest_path.read_bytes()
    rep = ingest([v1], st)
    assert rep.inputs[0].status == "unchanged"
    assert st.manifest_path.read_bytes() == m1
    # police.uk republishes the month with one more crime: the new file replaces the old one
    v2 = tmp_path / "v2" / "2018-03-testshire-street.csv"
    v2.parent.mkdir()
    v2.write_bytes(street_csv([row("a", "2018-03", "Burglary"), row("b", "2018-03", "Drugs"), row("c", "2018-03", "Robbery")]))
    rep = ingest([v2], st)
    assert rep.inputs[0].supersedes and rep.inputs[0].supersedes[0]["months"] == ["2018-03"]
    assert _count(st) == 3
    ins = st.inputs()
    assert [i["live"] for i in ins] == [False, True]
    assert ins[0]["superseded_by"][0]["input_id"] == ins[1]["input_id"]
    assert ins[1]["supersedes"][0]["input_id"] == ins[0]["input_id"]
    # re-ingesting the old file again does not bring it back: it is already known
    ingest([v1], st)
    assert _count(st) == 3


def _api_item(i: int, cat: str = "burglary", month: str = "2018-06") -> dict:
    return {"category": cat, "location_type": "Force", "location": {"latitude": "50.91", "street": {"id": 1, "name": "On or near X"},
            "longitude": "-1.40"}, "context": "", "outcome_status": {"category": "Under investigation", "date": month},
            "persistent_id": f"p{i}" if cat != "anti-social-behaviour" else "", "id": 1000 + i, "location_subtype": "", "month": month}


def test_api_json_slugs_and_overlap_dedupe(tmp_path: Path) -> None:
    a = tmp_path / "area_A_0.json"
    b = tmp_path / "area_B_0.json"
    a.write_text(json.dumps([_api_item(1, "violent-crime"), _api_item(2, "anti-social-behaviour"), _api_item(3),
                             _api_item(6, "drugs", month="2017-12")]))
    b.write_text(json.dumps([_api_item(3), _api_item(4, "bicycle-theft"), {**_api_item(5), "category": "made-up"}]))
    empty = tmp_path / "area_C_1.json"
    empty.write_text("[]")
    st = Store(tmp_path / "s")
    rep = ingest([a, b, empty], st)
    assert [r.rows_read for r in rep.inputs] == [4, 3, 0]
    assert rep.inputs[1].rows_quarantined == 1 and rep.inputs[0].rows_quarantined == 0
    assert rep.inputs[0].months == ["2017-12", "2018-06"]
    con = st.connect()
    got = dict(con.execute("SELECT category_id, count(*) FROM records GROUP BY 1").fetchall())
    # item 3 was fetched through both polygons: counted once
    assert got == {"violence-and-sexual-offences": 1, "anti-social-behaviour": 1, "burglary": 1, "bicycle-theft": 1,
                   "drugs": 1}


def test_unknown_force_name_in_file(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_bytes(street_csv([row("a", "2018-03", "Burglary")]))
    (r,) = ingest([f], Store(tmp_path / "s")).inputs
    assert r.force == "testshire"
    assert FORCE in Store(tmp_path / "s").inputs()[0]["force_name"]


def test_a_writer_reuses_its_manifest_only_while_nobody_else_wrote(tmp_path: Path) -> None:
    """Store.commit_inputs keeps the manifest it saved last (batch after batch); another writer's commit in
    between (another Store object, as another process would be) must be seen, not overwritten."""
    files = []
    for k, m in enumerate(("2018-03", "2018-04", "2018-05")):
        f = tmp_path / f"{k}.csv"
        f.write_bytes(street_csv([row(f"id{k}", m, "Burglary")]))
        files.append(f)
    a, b = Store(tmp_path / "s"), Store(tmp_path / "s")
    ingest([files[0]], a)
    ingest([files[1]], b)
    ingest([files[2]], a)
    assert sorted(e["months"][0] for e in Store(tmp_path / "s").inputs()) == ["2018-03", "2018-04", "2018-05"]
    assert _count(Store(tmp_path / "s")) == 3
