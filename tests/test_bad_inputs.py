"""A corpus of hostile and broken inputs, generated here (nothing stored in the repository; zip bombs are small
by construction). Each case asserts its exact outcome through `crimeassess ingest`: an error line with exit 2
and the store unchanged, or the rows loaded and the quarantine reasons, or the file skipped with its reason."""
from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimeassess.cli import app
from crimeassess.store import Store
from policeuk_fixtures import HEADER, row, street_csv

runner = CliRunner()
GOOD = [row(f"g{i}", "2018-03", "Burglary") for i in range(3)]  # three good rows in most files
STREET = "2018-03-testshire-street.csv"


@dataclass
class Case:
    name: str
    build: Callable[[Path], list[Path]]  # writes the inputs, returns the paths to ingest
    error: str | None = None  # expected one-line error (exit 2, store unchanged)
    loaded: int | None = None  # rows loaded in all
    reasons: dict[str, int] = field(default_factory=dict)  # quarantine reasons summed over inputs
    skipped: str | None = None  # a reason some input was skipped for
    env: dict[str, str] = field(default_factory=dict)
    mapping: str | None = None  # TOML text for --mapping


def _w(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def street(*rows: str, name: str = STREET, raw: bytes | None = None, **kw) -> Callable[[Path], list[Path]]:
    return lambda d: [_w(d / name, raw if raw is not None else street_csv([*GOOD, *rows], **kw))]


def api(items: object, name: str = "area_X_0.json") -> Callable[[Path], list[Path]]:
    data = items if isinstance(items, (bytes, str)) else json.dumps(items)
    return lambda d: [_w(d / name, data)]


def item(i: int, **kw) -> dict:
    base = {"category": "burglary", "month": "2018-06", "id": 5000 + i, "persistent_id": f"p{i}",
            "location": {"latitude": "50.9", "longitude": "-1.4", "street": {"id": 1, "name": "On or near X"}},
            "context": "", "location_type": "Force", "outcome_status": None}
    base.update(kw)
    return base


EXTRACT_HEADER = "crime_id,recorded_date,offence_code,latitude,longitude,easting,northing,knife_flag"
EXTRACT_GOOD = ["E1,2018-03-04,8N,,,,,Y", "E2,2017-12-31,28E,,,,,", "E3,2018-01-15,37.2,,,,,N"]


def extract(*rows: str, header: str = EXTRACT_HEADER) -> Callable[[Path], list[Path]]:
    return lambda d: [_w(d / "extract.csv", "\n".join([header, *EXTRACT_GOOD, *rows]) + "\n")]


def zipped(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED, in_folder: bool = False,
           extra: Callable[[Path], None] | None = None) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        folder = d / "in" if in_folder else d
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(folder / "a.zip", "w", compression) as zf:
            for n, b in members.items():
                zf.writestr(n, b)
        if extra:
            extra(folder)
        return [folder if in_folder else folder / "a.zip"]
    return build


def folder_with(files: dict[str, bytes], extra: Callable[[Path], None] | None = None) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        root = d / "in"
        for rel, b in files.items():
            _w(root / rel, b)
        if extra:
            extra(root)
        return [root]
    return build


def _symlink_loop(root: Path) -> None:
    os.symlink(root / "loop-b", root / "loop-a")
    os.symlink(root / "loop-a", root / "loop-b")
    os.symlink(root, root / "self")  # a folder linking to itself is not followed


def _liar(d: Path) -> list[Path]:
    z = d / "in" / "liar.zip"
    z.parent.mkdir(parents=True)
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(STREET, street_csv([row(f"x{i}", "2018-03", "Drugs") for i in range(500)]))
    raw = bytearray(z.read_bytes())
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = raw.index(sig)
        raw[i + off:i + off + 4] = (64).to_bytes(4, "little")
    z.write_bytes(bytes(raw))
    _w(d / "in" / "2018-04-testshire-street.csv", street_csv([row("y", "2018-04", "Drugs")]))
    return [z.parent]


S = street_csv(GOOD)
LATIN1 = (HEADER + "\n" + row("l1", "2018-03", "Burglary").replace("High Street", "Caf\xe9 Street") + "\n").encode("latin-1")

CASES: list[Case] = [
    # -- police.uk street files: encodings and layout
    Case("invalid-utf8-row", street(raw=S + row("u", "2018-03", "Drugs").encode() + b"\xff\xfe\n"), loaded=3,
         reasons={"invalid UTF-8": 1}),
    Case("latin-1-file", street(raw=LATIN1), loaded=0, reasons={"invalid UTF-8": 1}),
    Case("bom", street(bom=True), loaded=3),
    Case("crlf", street(crlf=True), loaded=3),
    Case("bom-and-crlf", street(row("d", "2017-12", "Drugs"), bom=True, crlf=True), loaded=4),
    Case("truncated-final-line", street(raw=S + row("t", "2018-03", "Drugs")[:40].encode()), loaded=3,
         reasons={"wrong number of fields": 1}),
    Case("extra-column", street(row("e", "2018-03", "Drugs") + ",surplus"), loaded=3, reasons={"wrong number of fields": 1}),
    Case("missing-column", street(row("m", "2018-03", "Drugs").rsplit(",", 2)[0]), loaded=3,
         reasons={"wrong number of fields": 1}),
    Case("header-only", street(raw=(HEADER + "\n").encode()), error="has a header but no rows"),
    Case("header-only-no-newline", street(raw=HEADER.encode()), error="has a header but no rows"),
    Case("empty-file", street(raw=b""), error="file is empty"),
    Case("whitespace-only", street(raw=b"  \n\n \r\n"), error="file is empty"),
    Case("binary-junk", street(raw=bytes(range(256)) * 40), error="binary file, not police.uk data"),
    Case("nul-in-header", street(raw=S.replace(b"Crime ID", b"Crime\x00ID")), error="binary file"),
    Case("nul-in-row", street(row("n\x00", "2018-03", "Drugs")), loaded=3, reasons={"NUL byte in row": 1}),
    Case("10mb-field", street(row("big", "2018-03", "Drugs").replace("High Street", "A" * (10 << 20))), loaded=3,
         reasons={"unparseable CSV row": 1}),
    Case("quoted-newline", street(row("q", "2018-03", "Drugs").replace("On or near High Street", '"On or\nnear"')),
         loaded=4),
    Case("unterminated-quote", street(raw=S + b'u,2018-03,"open quote\n'), loaded=3,
         reasons={"wrong number of fields": 1}),  # the open quote runs to the end of the file: one short row
    Case("blank-lines", street(raw=S.replace(b"\n", b"\n\n", 2)), loaded=3),
    Case("header-other-case", street(raw=S.replace(b"Crime ID", b"crime id")),
         error="its header is not police.uk's (column names differ in case or spacing)"),
    Case("formula-text-is-data", street(row("=HYPERLINK(\"http://x\")", "2018-03", "Drugs")), loaded=4),
    # -- months
    Case("month-13", street(row("a", "2017-13", "Drugs")), loaded=3, reasons={"invalid month": 1}),
    Case("month-1899", street(row("a", "1899-01", "Drugs")), loaded=3, reasons={"invalid month": 1}),
    Case("month-2099", street(row("a", "2099-01", "Drugs")), loaded=3, reasons={"month in the future": 1}),
    Case("month-00", street(row("a", "2018-00", "Drugs")), loaded=3, reasons={"invalid month": 1}),
    Case("month-words", street(row("a", "March 2018", "Drugs")), loaded=3, reasons={"invalid month": 1}),
    Case("month-december", street(row("a", "2017-12", "Drugs")), loaded=4),
    # -- coordinates and types
    Case("coords-0-0", street(row("a", "2018-03", "Drugs", lon="0", lat="0")), loaded=3,
         reasons={"coordinates outside the UK": 1}),
    Case("coords-paris", street(row("a", "2018-03", "Drugs", lon="2.35", lat="48.85")), loaded=3,
         reasons={"coordinates outside the UK": 1}),
    Case("coords-text", street(row("a", "2018-03", "Drugs", lon="west", lat="50.9")), loaded=3,
         reasons={"invalid coordinates": 1}),
    Case("coords-nan", street(row("a", "2018-03", "Drugs", lon="nan", lat="nan")), loaded=3,
         reasons={"invalid coordinates": 1}),
    Case("coords-one-missing", street(row("a", "2018-03", "Drugs", lon="", lat="50.9")), loaded=3,
         reasons={"invalid coordinates": 1}),
    Case("unknown-crime-type", street(row("a", "2018-03", "Alien abduction")), loaded=3,
         reasons={"unknown crime type": 1}),
    # -- duplicate Crime IDs
    Case("duplicate-ids-within", street(GOOD[0], GOOD[0]), loaded=3, reasons={"duplicate Crime ID": 2}),
    Case("duplicate-ids-across-files",
         lambda d: [_w(d / "a" / STREET, street_csv(GOOD)), _w(d / "b" / STREET, street_csv([*GOOD, row("z", "2018-03", "Drugs")]))],
         loaded=3 + 4),  # both inputs load; the later one is live alone (asserted below)
    # -- other police.uk files
    Case("outcomes-file", street(raw=b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
                                     b"LSOA name,Outcome type\na,2018-03,X,X,-1.4,50.9,Y,E01,Z,Done\n"),
         loaded=0, reasons={"unknown outcome type": 1}),  # outcomes files load; unknown types are quarantined
    # -- police.uk API JSON
    Case("json-object-not-list", api({"crimes": []}), error="expected a JSON list"),
    Case("json-invalid", api("[{\"category\": "), error="JSON but not a police.uk API crimes-street response"),
    Case("json-list-of-numbers", api([1, 2, 3]), error="JSON but not a police.uk API crimes-street response"),
    Case("json-deeply-nested", api("[" * 100_000 + "]" * 100_000), error="JSON but not a police.uk API"),
    Case("json-empty-list", api([]), loaded=0),
    Case("api-bad-month", api([item(1), item(2, month="2018-13")]), loaded=1, reasons={"invalid month": 1}),
    Case("api-future-month", api([item(1), item(2, month="2099-01")]), loaded=1, reasons={"month in the future": 1}),
    Case("api-december", api([item(1, month="2017-12")]), loaded=1),
    Case("api-unknown-category", api([item(1), item(2, category="made-up")]), loaded=1,
         reasons={"unknown crime category": 1}),
    Case("api-location-not-object", api([item(1), item(2, location="here")]), loaded=1,
         reasons={"location is not an object": 1}),
    Case("api-outside-uk", api([item(1), item(2, location={"latitude": "0", "longitude": "0"})]), loaded=1,
         reasons={"coordinates outside the UK": 1}),
    Case("api-bad-coords", api([item(1), item(2, location={"latitude": "x", "longitude": "-1.4"})]), loaded=1,
         reasons={"invalid coordinates": 1}),
    Case("api-nul", api([item(1), item(2, context="a\u0000b")]), loaded=1, reasons={"NUL byte in row": 1}),
    Case("api-context-not-text", api([item(1), item(2, context={"x": 1})]), loaded=1, reasons={"context is not text": 1}),
    Case("api-item-not-object-late", api([item(i) for i in range(60)] + ["oops"]), loaded=60,
         reasons={"item is not an object": 1}),
    Case("api-lone-surrogate", api('[' + json.dumps(item(1)) + ', ' + json.dumps(item(2)).replace('"On or near X"', '"\\udc80"') + ']'),
         loaded=1, reasons={"invalid UTF-8": 1}),
    # -- force extracts and mappings
    Case("extract-future-date", extract("F,2099-01-01,8N,,,,,"), loaded=3, reasons={"date out of range": 1}),
    Case("extract-1899-date", extract("F,1899-01-01,8N,,,,,"), loaded=3, reasons={"date out of range": 1}),
    Case("extract-impossible-date", extract("F,2018-02-30,8N,,,,,"), loaded=3, reasons={"invalid date": 1}),
    Case("extract-duplicate-id", extract("E1,2018-03-05,8N,,,,,"), loaded=3, reasons={"duplicate crime_id": 1}),
    Case("extract-unknown-offence", extract("F,2018-03-05,ZZZ,,,,,"), loaded=3, reasons={"unknown offence code": 1}),
    Case("extract-bad-flag", extract("F,2018-03-05,8N,,,,,maybe"), loaded=3, reasons={"invalid flag value": 1}),
    Case("extract-coords-0-0", extract("F,2018-03-05,8N,0,0,,,"), loaded=3, reasons={"coordinates outside the UK": 1}),
    Case("extract-off-grid", extract("F,2018-03-05,8N,,,-5,99999999,"), loaded=3, reasons={"coordinates outside the UK": 1}),
    Case("extract-nul", extract("F\x00,2018-03-05,8N,,,,,"), loaded=3, reasons={"NUL byte in row": 1}),
    Case("extract-missing-column", extract(header="crime_id,recorded_date"), error="missing required column(s) offence_code"),
    Case("mapping-syntax-error", extract(), mapping='[columns]\ncrime_id = "CRN"\n[columns\n',
         error="not valid TOML"),
    Case("mapping-unknown-key", extract(), mapping='delimeter = ";"\n', error="line 1: unknown key(s) 'delimeter'"),
    Case("mapping-unknown-column", extract(), mapping='[columns]\ncrime_no = "X"\n',
         error="line 2: [columns] 'crime_no' is not a canonical column"),
    Case("mapping-bad-delimiter", extract(), mapping='delimiter = ";;"\n', error="delimiter must be one character"),
    Case("mapping-bad-offence-map", extract(), mapping='[offence_codes]\n"L1" = "99Z"\n', error="unknown Home Office code"),
    # -- archives and paths
    Case("zip-slip-dotdot", zipped({"../evil.csv": S}), error="escapes the target folder"),
    Case("zip-slip-absolute", zipped({"/etc/evil.csv": S}), error="escapes the target folder"),
    Case("zip-slip-backslash", zipped({"..\\..\\evil.csv": S}), error="escapes the target folder"),
    Case("zip-slip-drive", zipped({"C:/evil.csv": S}), error="escapes the target folder"),
    Case("zip-slip-in-folder", zipped({"../evil.csv": S}, in_folder=True), error="escapes the target folder"),
    Case("zip-bomb-zeros", zipped({STREET: b"\0" * (16 << 20)}), error="expands more than 100 times"),
    Case("zip-bomb-rows", zipped({STREET: street_csv([GOOD[0]] * 120_000)}), error="expands more than 100 times"),
    Case("zip-bomb-member-limit", zipped({STREET: street_csv(GOOD * 400)}, zipfile.ZIP_STORED),
         env={"CRIMEASSESS_ZIP_MAX_MEMBER": "64KB"}, error="CRIMEASSESS_ZIP_MAX_MEMBER"),
    Case("zip-bomb-archive-limit", zipped({f"{m}/{m}-x-street.csv": street_csv(GOOD * 100) for m in ("a", "b", "c")},
                                         zipfile.ZIP_STORED),
         env={"CRIMEASSESS_ZIP_MAX_ARCHIVE": "40KB"}, error="CRIMEASSESS_ZIP_MAX_ARCHIVE"),
    Case("zip-lying-size", _liar, loaded=1, skipped="unreadable zip member"),
    Case("zip-corrupt-named", street(raw=b"PK\x03\x04garbage", name="bad.zip"), error="unreadable zip archive"),
    Case("zip-corrupt-in-folder", folder_with({"bad.zip": b"PK\x03\x04garbage", STREET: S}), loaded=3,
         skipped="unreadable zip archive"),
    Case("zip-nested-zip", zipped({"inner.zip": b"PK\x03\x04" + b"\0" * 100, STREET: S}), loaded=3,
         skipped="binary file"),
    Case("zip-empty", zipped({}), error="no files found"),
    Case("symlink-loop", folder_with({STREET: S}, extra=_symlink_loop), loaded=3),
    Case("unicode-paths", lambda d: [_w(d / "données" / "ñandú 🚓" / STREET, S)], loaded=3),
    Case("missing-path", lambda d: [d / "nope.csv"], error="no such file or folder"),
    Case("device-file", lambda d: [Path("/dev/zero")], error="/dev/zero: not a regular file"),
    Case("fifo-in-folder", folder_with({STREET: S}, extra=lambda r: os.mkfifo(r / "pipe.csv")), loaded=3),
    Case("empty-folder", lambda d: [(d / "empty").mkdir(parents=True) or d / "empty"], error="no files found"),
    Case("markup-in-message", street(raw=S.replace(b"Crime ID", b"x[/bold]y[red]")), error="unexpected 'x[/bold]y[red]'"),
]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 57 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    # a store that already holds one input, so "unchanged" means something
    st = Store(tmp_path / "store")
    base = _w(tmp_path / "base" / "2016-01-testshire-street.csv", street_csv([row("b", "2016-01", "Drugs")]))
    assert runner.invoke(app, ["ingest", str(base), "--store", str(st.path)]).exit_code == 0
    before = st.manifest_path.read_bytes()
    inputs = case.build(tmp_path / "case")
    args = ["ingest", *map(str, inputs), "--store", str(st.path), "--json"]
    if case.mapping is not None:
        args += ["--mapping", str(_w(tmp_path / "m.toml", case.mapping))]
    r = runner.invoke(app, args)
    if case.error:
        assert r.exit_code == 2, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and case.error in lines[0], r.output
        assert st.manifest_path.read_bytes() == before
        return
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)["inputs"]
    loaded = [i for i in rep if i["status"] == "loaded"]
    assert sum(i["rows_loaded"] for i in loaded) == case.loaded
    got: dict[str, int] = {}
    for i in loaded:
        assert i["rows_read"] == i["rows_loaded"] + i["rows_quarantined"]
        for k, v in i["quarantine_reasons"].items():
            got[k] = got.get(k, 0) + v
    assert got == case.reasons
    if case.skipped:
        assert any(i["status"] == "skipped" and case.skipped in (i["reason"] or "") for i in rep), rep
    else:
        assert all(i["status"] == "loaded" for i in rep), rep
    con = st.connect()
    try:
        n = con.execute("SELECT count(*) FROM records WHERE month <> '2016-01'").fetchone()[0]
        live_ids = con.execute("SELECT count(*) - count(DISTINCT (source_kind, force, month, record_id)) FROM records "
                               "WHERE record_id IS NOT NULL AND source_kind <> 'police-uk-api'").fetchone()[0]
    finally:
        con.close()
    assert live_ids == 0  # no Crime ID is live twice in a force-month
    if case.name == "duplicate-ids-across-files":
        assert n == 4  # the later file alone is live
    else:
        assert n == case.loaded
