"""Force extract reader: canonical layout, mapping files, quarantine reasons and whole-file errors."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from pyproj import Transformer

from crimeassess.errors import InputError, MappingError
from crimeassess.schema import RECORD_SCHEMA
from crimeassess.sources.extract import load_mapping, looks_like_extract, read_extract

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_MAPPING = REPO / "examples" / "force-mapping.toml"

HEADER = [
    "crime_id", "recorded_date", "offence_code", "offence_description", "lsoa_code", "ward_code", "ward_name",
    "local_authority_code", "local_authority_name", "latitude", "longitude", "easting", "northing",
    "knife_flag", "hate_flag", "domestic_flag", "outcome", "location_type", "occurred_time",
]

# Southampton city centre, WGS84 (lon, lat); its grid reference is computed independently below.
SOTON_LON, SOTON_LAT = -1.4044, 50.9097
_to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
SOTON_E, SOTON_N = _to_bng.transform(SOTON_LON, SOTON_LAT)

GOOD_ROWS = [
    dict(crime_id="C1", recorded_date="2018-03-04", offence_code="8N", knife_flag="Y", hate_flag="N",
         domestic_flag="yes", latitude="50.91", longitude="-1.40", ward_code="E05002455", ward_name="Bargate",
         local_authority_code="E06000045", local_authority_name="Southampton", lsoa_code="E01017140",
         outcome="Under investigation", location_type="Street", occurred_time="23:15"),
    dict(crime_id="C2", recorded_date="2018-03-31", offence_code="28e", knife_flag="", hate_flag="0",
         domestic_flag="FALSE", easting=f"{SOTON_E:.3f}", northing=f"{SOTON_N:.3f}"),
    dict(crime_id="C3", recorded_date="2018-04-01T09:30:00", offence_code=" 37/2 ", offence_description="TWOC agg"),
    dict(crime_id="C4", recorded_date="2018-04-15", offence_code="3b", knife_flag="true"),
    dict(crime_id="C5", recorded_date="2017-12-31", offence_code="46", hate_flag="1", domestic_flag="No"),
]


def _csv_text(header: list[str], rows: list[dict], lineterminator: str = "\n",
              header_names: list[str] | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=lineterminator)
    w.writerow(header_names or header)
    for r in rows:
        w.writerow([r.get(h, "") for h in header])
    return buf.getvalue()


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def _read(path: Path, **kw):
    kw.setdefault("input_id", "ext")
    kw.setdefault("display_name", path.name)
    return read_extract(path, **kw)


def test_reads_canonical_extract(tmp_path: Path) -> None:
    path = _write(tmp_path, "extract.csv", _csv_text(HEADER, GOOD_ROWS))
    res = _read(path, force="hampshire")
    res.check()
    assert res.kind == "extract" and res.force == "hampshire"
    assert res.records.schema == RECORD_SCHEMA
    assert res.records.num_rows == len(GOOD_ROWS) and res.rows_read == len(GOOD_ROWS) and res.quarantine == []
    recs = {r["record_id"]: r for r in res.records.to_pylist()}
    assert [r["uid"] for r in res.records.to_pylist()] == [f"ext:{i}" for i in range(2, 2 + len(GOOD_ROWS))]
    assert res.months == sorted({r["recorded_date"][:7] for r in GOOD_ROWS})
    c1 = recs["C1"]
    assert c1["month"] == "2018-03" and c1["recorded_date"] == date(2018, 3, 4) and c1["line"] == 2
    assert c1["category_id"] == "violence-and-sexual-offences" and c1["crime_type"] == "Violence and sexual offences"
    assert (c1["knife_flag"], c1["hate_flag"], c1["domestic_flag"]) == (True, False, True)
    assert (c1["latitude"], c1["longitude"]) == (50.91, -1.40)
    assert (c1["ward_code"], c1["ward_name"], c1["lad_code"], c1["lad_name"]) == (
        "E05002455", "Bargate", "E06000045", "Southampton")
    assert (c1["lsoa_code"], c1["outcome"], c1["location_type"], c1["occurred_time"]) == (
        "E01017140", "Under investigation", "Street", "23:15")
    assert c1["is_crime"] is True and c1["source_kind"] == "extract" and c1["force"] == "hampshire"
    assert c1["offence_description"] == "Assault with injury"  # filled from the offence table
    c2 = recs["C2"]
    assert c2["offence_code"] == "28E" and c2["category_id"] == "burglary"
    assert (c2["knife_flag"], c2["hate_flag"], c2["domestic_flag"]) == (None, False, False)
    # British National Grid converted back to WGS84 (round trip of the independent forward transform).
    assert c2["longitude"] == pytest.approx(SOTON_LON, abs=1e-6) and c2["latitude"] == pytest.approx(SOTON_LAT, abs=1e-6)
    c3 = recs["C3"]
    assert c3["offence_code"] == "37.2" and c3["category_id"] == "vehicle-crime" and c3["month"] == "2018-04"
    assert c3["offence_description"] == "TWOC agg" and c3["latitude"] is None
    assert recs["C4"]["offence_code"] == "3B" and recs["C4"]["knife_flag"] is True
    assert recs["C5"]["category_id"] == "shoplifting" and recs["C5"]["month"] == "2017-12"


def test_southampton_grid_reference_is_plausible() -> None:
    # Independent sanity check of the test's own reference point (Southampton is near SU 42 11).
    assert 438_000 < SOTON_E < 446_000 and 108_000 < SOTON_N < 116_000


def test_bom_crlf_and_header_spelling_give_identical_records(tmp_path: Path) -> None:
    plain = _read(_write(tmp_path, "a.csv", _csv_text(HEADER, GOOD_ROWS)))
    messy_header = [f"  {h.upper()} " for h in HEADER]
    text = _csv_text(HEADER, GOOD_ROWS, lineterminator="\r\n", header_names=messy_header)
    messy = _read(_write(tmp_path, "b.csv", b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert messy.records.equals(plain.records)


def test_force_from_column_and_quoted_newlines(tmp_path: Path) -> None:
    header = ["crime_id", "recorded_date", "offence_code", "offence_description", "force"]
    text = (
        ",".join(header) + "\n"
        + 'F1,2018-03-01,8N,"two\nlines",Hampshire Constabulary\n'
        + "F2,2018-03-02,8N,,Hampshire Constabulary\n"
    )
    res = _read(_write(tmp_path, "f.csv", text))
    recs = res.records.to_pylist()
    assert [r["line"] for r in recs] == [2, 4]  # physical line numbers; the quoted newline spans 2-3
    assert recs[0]["offence_description"] == "two\nlines"
    assert {r["force"] for r in recs} == {"hampshire"} and res.force == "hampshire"
    assert res.force_name == "Hampshire Constabulary"
    assert _read(_write(tmp_path, "g.csv", text), force="dorset").records.column("force").to_pylist() == ["dorset"] * 2


# Same crimes as a force's own export, loaded through examples/force-mapping.toml.
EXPORT_HEADER = ["CRN", "Date Recorded", "Offence", "HO Code", "Ward Code", "Ward", "LA Code", "District",
                 "X", "Y", "Weapon", "Hate Crime", "DA Flag", "Outcome", "Location Type", "Time Committed", "Notes"]
CANON_FOR_EXPORT = ["crime_id", "recorded_date", "offence_description", "offence_code", "ward_code", "ward_name",
                    "local_authority_code", "local_authority_name", "easting", "northing", "knife_flag",
                    "hate_flag", "domestic_flag", "outcome", "location_type", "occurred_time"]
SAME_CRIMES = [
    # canonical values, then the export's spelling of date, code and flags
    (["K1", "2018-03-04", "Wounding", "8N", "E05002455", "Bargate", "E06000045", "Southampton",
      "442000", "112000", "Y", "N", "Y", "Charged", "Street", "23:15"],
     {"date": "04/03/2018 23:40", "code": "8/1", "knife": "Knife", "hate": "No", "da": "yes"}),
    (["K2", "2018-03-10", "", "105A", "", "", "", "", "", "", "N", "", "N", "", "Dwelling", ""],
     {"date": "10/03/2018", "code": "105/1", "knife": "Firearm", "hate": "", "da": "N"}),
    (["K3", "2018-04-02", "Burglary dwelling", "28E", "E05002456", "Bassett", "", "", "441000", "114000",
      "", "Y", "", "", "", ""],
     {"date": "02/04/2018", "code": "28e", "knife": "Not known", "hate": "Flagged", "da": "U"}),
]


def test_mapping_file_loads_force_export_identically(tmp_path: Path) -> None:
    canon_rows = [dict(zip(CANON_FOR_EXPORT, vals)) for vals, _ in SAME_CRIMES]
    canonical = _read(_write(tmp_path, "canon.csv", _csv_text(CANON_FOR_EXPORT, canon_rows)), force="hampshire")
    export_rows = []
    for vals, spelled in SAME_CRIMES:
        d = dict(zip(CANON_FOR_EXPORT, vals))
        export_rows.append({
            "CRN": d["crime_id"], "Date Recorded": spelled["date"], "Offence": d["offence_description"],
            "HO Code": spelled["code"], "Ward Code": d["ward_code"], "Ward": d["ward_name"],
            "LA Code": d["local_authority_code"], "District": d["local_authority_name"], "X": d["easting"],
            "Y": d["northing"], "Weapon": spelled["knife"], "Hate Crime": spelled["hate"],
            "DA Flag": spelled["da"], "Outcome": d["outcome"], "Location Type": d["location_type"],
            "Time Committed": d["occurred_time"], "Notes": "ignored",
        })
    export = _read(_write(tmp_path, "export.csv", _csv_text(EXPORT_HEADER, export_rows)),
                   mapping=EXAMPLE_MAPPING, force="hampshire")
    assert canonical.records.num_rows == len(SAME_CRIMES) and canonical.quarantine == []
    assert export.quarantine == []
    assert export.records.equals(canonical.records)
    # Without the mapping the export is not recognised.
    assert not looks_like_extract(EXPORT_HEADER)
    assert looks_like_extract(EXPORT_HEADER, mapping=EXAMPLE_MAPPING)
    with pytest.raises(InputError, match="missing required column"):
        _read(tmp_path / "export.csv")


def test_each_quarantine_reason(tmp_path: Path) -> None:
    header = "crime_id,recorded_date,offence_code,latitude,longitude,easting,northing,knife_flag"
    future = (date.today() + timedelta(days=400)).isoformat()
    lines: list[tuple[bytes, str | None]] = [
        (b"Q1,2018-03-01,8N,50.9,-1.4,,,Y", None),
        (b"Q2,2018-03-01,8N,50.9,-1.4,,,caf\xe9", "invalid UTF-8"),
        (b"Q3,2018-03-01,8N,50.9", "wrong number of fields"),
        (b",2018-03-01,8N,,,,,", "missing crime_id"),
        (b"Q5,2018-13-01,8N,,,,,", "invalid date"),
        (b"Q6,04/03/2018,8N,,,,,", "invalid date"),
        (b"Q7,,8N,,,,,", "invalid date"),
        (b"Q8,1999-12-31,8N,,,,,", "date out of range"),
        (f"Q9,{future},8N,,,,,".encode(), "date out of range"),
        (b"Q10,2018-03-01,99Z,,,,,", "unknown offence code"),
        (b"Q11,2018-03-01,,,,,,", "unknown offence code"),
        (b"Q12,2018-03-01,8N,,,,,maybe", "invalid flag value"),
        (b"Q13,2018-03-01,8N,abc,-1.4,,,", "invalid coordinates"),
        (b"Q14,2018-03-01,8N,50.9,,,,", "invalid coordinates"),
        (b"Q15,2018-03-01,8N,48.85,2.35,,,", "coordinates outside the UK"),
        (b"Q16,2018-03-01,8N,0,0,,,", "coordinates outside the UK"),
        (b"Q17,2018-03-01,8N,,,900000,100000,", "coordinates outside the UK"),
        (b"Q1,2018-03-02,46,,,,,", "duplicate crime_id"),
        (b"Q19,2018-03-02,46,,,442000,112000,n", None),
    ]
    data = header.encode() + b"\n" + b"\n".join(raw for raw, _ in lines) + b"\n\n"  # trailing blank line
    res = _read(_write(tmp_path, "q.csv", data))
    res.check()
    expected_bad = {i + 2: reason for i, (_, reason) in enumerate(lines) if reason}
    expected_good = [i + 2 for i, (_, reason) in enumerate(lines) if reason is None]
    assert res.rows_read == len(lines)
    assert res.records.column("line").to_pylist() == expected_good
    got = {q["line"]: q["reason"] for q in res.quarantine}
    assert set(got) == set(expected_bad)
    for line, reason in expected_bad.items():
        assert got[line].split(":")[0] == reason, (line, got[line])
    for q in res.quarantine:
        assert q["file"] == "q.csv"
        assert q["raw"] == lines[q["line"] - 2][0].decode("utf-8", "backslashreplace")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "file is empty"),
        (b"  \n\n", "file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"crime_id,recorded_date,offence_code\n", "header but no rows"),
        (b"crime_id,recorded_date,ho\nA,2018-01-01,8N\n", "missing required column\\(s\\) offence_code"),
        (b'{"crimes": [1, 2, 3]}', "missing required column"),
    ],
)
def test_whole_file_errors(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        _read(_write(tmp_path, "bad.csv", data))


def test_looks_like_extract() -> None:
    assert looks_like_extract(["Crime_ID ", " Recorded_Date", "OFFENCE_CODE", "extra"])
    assert not looks_like_extract(["Crime ID", "Month", "Reported by", "Falls within"])
    assert not looks_like_extract(["crime_id", "recorded_date"])


@pytest.mark.parametrize(
    "toml, message",
    [
        ('colour = "red"\n', "unknown key"),
        ('[columns]\ncrime_number = "CRN"\n', "not a canonical column"),
        ('date_format = "%H:%M"\n', "full date"),
        ('[offence_codes]\n"X1" = "99Z"\n', "unknown Home Office code"),
        ('[flags]\ntrue_values = ["Y"]\nfalse_values = ["y"]\n', "more than one"),
        ('[flags]\nmaybe_values = ["?"]\n', "unknown key"),
        ('delimiter = ";;"\n', "one character"),
        ("[columns\n", "not valid TOML"),
    ],
)
def test_mapping_validation(tmp_path: Path, toml: str, message: str) -> None:
    p = _write(tmp_path, "m.toml", toml)
    with pytest.raises(MappingError, match=message):
        load_mapping(p)
    with pytest.raises(MappingError, match=message):  # a bad mapping is a bad mapping, never "not an extract"
        looks_like_extract(HEADER, mapping=p)


def test_mapped_optional_column_absent_from_file(tmp_path: Path) -> None:
    # A mapped optional column the export lacks is simply absent (one mapping serves several exports);
    # the canonical name is not used as a fallback once a column is mapped.
    m = _write(tmp_path, "m.toml", '[columns]\nward_code = "Ward Code"\n')
    path = _write(tmp_path, "e.csv", _csv_text(HEADER, GOOD_ROWS[:1]))
    rec = _read(path, mapping=m).records.to_pylist()[0]
    assert rec["ward_code"] is None and rec["ward_name"] == "Bargate"
    m2 = _write(tmp_path, "m2.toml", '[columns]\ncrime_id = "CRN"\n')
    with pytest.raises(InputError, match=r"missing required column\(s\) crime_id \(mapping .*m2.toml\)"):
        _read(path, mapping=m2)


def test_mapping_semicolon_and_per_flag_values(tmp_path: Path) -> None:
    m = _write(tmp_path, "m.toml", 'delimiter = ";"\n[flags.hate_flag]\nunknown_values = ["N"]\n')
    text = "crime_id;recorded_date;offence_code;hate_flag;knife_flag\nS1;2018-05-01;9A;N;N\n"
    rec = _read(_write(tmp_path, "s.csv", text), mapping=m).records.to_pylist()[0]
    assert rec["hate_flag"] is None and rec["knife_flag"] is False and rec["category_id"] == "public-order"


def test_example_mapping_is_valid() -> None:
    m = load_mapping(EXAMPLE_MAPPING)
    assert m.columns["crime_id"] == ("crn",)
    assert m.date_formats and m.offence_codes
