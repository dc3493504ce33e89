"""Property-based tests (hypothesis): any input to a reader or parser gives a result or a named error, never
another exception; every result reconciles (rows read = loaded + quarantined); the two street readers agree;
public-safe suppression leaves no small cell and no cell recoverable by subtraction."""
from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crimeassess.errors import AreaNotFoundError, CrimeAssessError, GeographyError, InputError, MappingError, PeriodError
from crimeassess.sources.base import ReadResult
from crimeassess.sources.discover import detect_kind
from crimeassess.sources.extract import parse_mapping, read_extract_bytes
from crimeassess.sources.policeuk import decode, header_of, read_api_json, read_street_csv, read_street_csv_rows
from crimeassess.sources.policeuk_fast import read_street_csv_fast
from crimeassess.suppress import is_suppressed, suppress_assessment
from policeuk_fixtures import HEADER

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])
NASTY = st.sampled_from(["", " ", ",", '"', '""', "\n", "\r\n", "\r", "\x00", "\t", "=1+1", "-5.9", "é", "\udcff",
                         "2018-12", "2099-01", "2017-13", "1899-01", "Burglary", "Drugs", "Anti-social behaviour",
                         "-1.4", "50.9", "0", "nan", "1e400", "E01000001", "[/x]", "🚓"])
FIELD = st.one_of(NASTY, st.text(max_size=12), st.text(alphabet=string.digits + ".-", max_size=8))


def _reconciles(res: ReadResult) -> None:
    assert res.rows_read == res.records.num_rows + len(res.quarantine)
    assert all({"file", "line", "reason", "raw"} <= set(q) for q in res.quarantine)
    assert all(isinstance(q["reason"], str) and q["reason"] for q in res.quarantine)
    months = res.records.column("month").to_pylist()
    assert sorted(set(months)) == res.months
    assert all(m is None or (len(m) == 7 and "01" <= m[5:] <= "12") for m in months)


def _street_bytes(rows: list[list[str]], crlf: bool) -> bytes:
    nl = "\r\n" if crlf else "\n"
    text = HEADER + nl + nl.join(",".join(r) for r in rows) + nl
    return text.encode("utf-8", "surrogateescape")


@SETTINGS
@given(rows=st.lists(st.lists(FIELD, min_size=9, max_size=14), max_size=12), crlf=st.booleans())
def test_street_reader_result_or_named_error(rows: list[list[str]], crlf: bool) -> None:
    data = _street_bytes(rows, crlf)
    try:
        res = read_street_csv(data, input_id="h", display_name="h.csv")
    except InputError:
        return
    _reconciles(res)
    header = header_of(decode(data))
    fast = read_street_csv_fast(data, header, input_id="h", display_name="h.csv")
    if fast is not None:  # when the vectorised reader accepts a file it gives exactly the row reader's result
        slow = read_street_csv_rows(decode(data), header, input_id="h", display_name="h.csv")
        assert fast.records.equals(slow.records) and fast.quarantine == slow.quarantine


@SETTINGS
@given(rows=st.lists(st.fixed_dictionaries({
    "id": st.text(alphabet="abc", max_size=2), "month": st.sampled_from(["2018-12", "2018-01", "2099-01", "2018-13", " 2018-03 "]),
    "type": st.sampled_from(["Burglary", "Drugs", "Nope", "Anti-social behaviour"]),
    "lon": st.sampled_from(["-1.4", "", "0", "x", "+1.5", "-9"]), "lat": st.sampled_from(["50.9", "", "0", "55", "61"]),
}), max_size=25))
def test_fast_and_row_readers_agree_on_valid_shaped_files(rows: list[dict]) -> None:
    body = [f"{r['id']},{r['month']},F,Testshire Constabulary,{r['lon']},{r['lat']},Loc,E01000001,N,{r['type']},O," for r in rows]
    data = (HEADER + "\n" + "\n".join(body) + "\n").encode()
    header = header_of(decode(data))
    fast = read_street_csv_fast(data, header, input_id="h", display_name="h.csv")
    slow_data = decode(data)
    if not rows:
        return
    slow = read_street_csv_rows(slow_data, header, input_id="h", display_name="h.csv")
    assert fast is not None
    assert fast.records.equals(slow.records) and fast.quarantine == slow.quarantine
    _reconciles(fast)
    ids = [i for i in fast.records.column("record_id").to_pylist() if i]
    assert len(ids) == len(set(ids))  # no Crime ID loaded twice


@SETTINGS
@given(data=st.binary(max_size=400))
def test_detect_and_read_any_bytes(data: bytes) -> None:
    try:
        kind = detect_kind(data, "x")
    except InputError:
        return
    try:
        if kind == "police-uk-street":
            _reconciles(read_street_csv(data, input_id="b", display_name="x"))
        elif kind == "police-uk-api":
            _reconciles(read_api_json(data, input_id="b", display_name="x"))
        elif kind == "extract":
            _reconciles(read_extract_bytes(data, input_id="b", display_name="x"))
    except InputError:
        pass


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                    max_leaves=12)
API_ITEM = st.fixed_dictionaries({
    "category": st.one_of(st.sampled_from(["burglary", "drugs", "anti-social-behaviour", "x"]), JSON),
    "month": st.one_of(st.sampled_from(["2018-12", "2099-01", "2018-13", ""]), JSON),
    "location": st.one_of(st.fixed_dictionaries({"latitude": st.one_of(st.just("50.9"), JSON),
                                                 "longitude": st.one_of(st.just("-1.4"), JSON),
                                                 "street": st.one_of(st.fixed_dictionaries({"name": JSON}), JSON)}), JSON),
}, optional={"id": JSON, "persistent_id": JSON, "context": JSON, "location_type": JSON, "outcome_status": JSON})


@SETTINGS
@given(items=st.one_of(st.lists(API_ITEM, max_size=8), JSON))
def test_api_reader_result_or_named_error(items: object) -> None:
    data = json.dumps(items).encode()
    try:
        res = read_api_json(data, input_id="a", display_name="a.json")
    except InputError:
        assert not isinstance(items, list)
        return
    _reconciles(res)
    assert res.rows_read == len(items)


EXTRACT_FIELD = st.one_of(NASTY, st.sampled_from(["2018-12-31", "2018-02-30", "2099-01-01", "8N", "28E", "37.2", "Y",
                                                  "maybe", "450000", "110000", "-1.40", "50.91"]), st.text(max_size=6))


@SETTINGS
@given(rows=st.lists(st.lists(EXTRACT_FIELD, min_size=6, max_size=9), max_size=10), delim=st.sampled_from([",", ";"]))
def test_extract_reader_result_or_named_error(rows: list[list[str]], delim: str) -> None:
    header = delim.join(["crime_id", "recorded_date", "offence_code", "knife_flag", "latitude", "longitude",
                         "easting", "northing"])
    data = (header + "\n" + "\n".join(delim.join(r) for r in rows) + "\n").encode("utf-8", "surrogateescape")
    mapping = parse_mapping({"delimiter": delim}) if delim != "," else None
    try:
        res = read_extract_bytes(data, input_id="e", display_name="e.csv", mapping=mapping)
    except InputError:
        return
    _reconciles(res)


TOML_VALUE = st.one_of(st.text(max_size=6), st.integers(), st.lists(st.text(max_size=4), max_size=3),
                       st.dictionaries(st.sampled_from(["crime_id", "x", "true_values", "knife_flag", "8/1"]),
                                       st.one_of(st.text(max_size=4), st.lists(st.text(max_size=3), max_size=2)), max_size=3))


@SETTINGS
@given(doc=st.dictionaries(st.sampled_from(["columns", "flags", "date_format", "offence_codes", "delimiter", "delimeter"]),
                           TOML_VALUE, max_size=4))
def test_mapping_loader_result_or_mapping_error(doc: dict) -> None:
    try:
        parse_mapping(doc)
    except MappingError as exc:
        assert str(exc) and "\n" not in str(exc)


@SETTINGS
@given(text=st.one_of(st.text(max_size=40), st.sampled_from(['[columns]\ncrime_id = "A"\n', 'delimiter = ";"\n[flags]\n',
                                                             '[flags.knife_flag]\ntrue_values = ["Y"]\n'])))
def test_mapping_file_text_result_or_mapping_error(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    from crimeassess.sources.extract import load_mapping

    p = tmp_path_factory.getbasetemp() / "prop.toml"
    p.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        load_mapping(p)
    except MappingError:
        pass


PERIOD_TEXT = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"\A(\d{1,4}-\d{1,2}(\.\.\d{4}-\d{2})?|\d{4}/\d{2,4}|\d{1,5}|\d{4}Q\d|12m-\d{4}-\d{2}|\d{4}-W\d{2}|"
                  r"(28d|ytd|cytd)-\d{4}-\d{2}-\d{2})\Z"),
)


@SETTINGS
@given(text=PERIOD_TEXT)
def test_period_parser_result_or_period_error(text: str) -> None:
    from crimeassess.assess.periods import MAX_PERIOD_MONTHS, comparison_for, parse_period

    try:
        p = parse_period(text)
    except PeriodError:
        return
    assert 1 <= p.n_months <= MAX_PERIOD_MONTHS
    assert 1990 <= int(p.start[:4]) and int(p.end[:4]) <= 2100
    comparison_for(p, None)  # the default comparison of any accepted period exists


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory):
    from small_city import build_small_city

    return build_small_city(tmp_path_factory.mktemp("city"))


@SETTINGS
@given(text=st.one_of(st.text(max_size=20), st.sampled_from(["Smalltown", "smalltown ", "E06000901", "North", "=West()",
                                                             "E05009001", "%", "_", "'", "North'; DROP TABLE x"])))
def test_area_resolution_result_or_named_error(text: str, city) -> None:
    from crimeassess.geography.areas import resolve_area

    con = city.connect()
    try:
        area = resolve_area(text, city, con)
        assert area.code
    except (AreaNotFoundError, GeographyError):
        pass
    finally:
        con.close()


def _table(counts: list[list[int]], unplaced: int) -> dict:
    wards = []
    for i, row in enumerate(counts):
        themes = [{"id": f"t{j}", "current": c, "previous": c + 1, "change": -1} for j, c in enumerate(row)]
        wards.append({"code": f"W{i}", "name": f"W{i}", "current": sum(row), "previous": sum(row) + len(row),
                      "change": -len(row), "themes": themes, "series": []})
    total = sum(map(sum, counts)) + unplaced
    total_prev = sum(w["previous"] for w in wards) + unplaced
    return {"period": {"label": "p"}, "compare": {"label": "c"}, "total": {"current": total, "previous": total_prev},
            "unplaced": {"current": unplaced, "previous": unplaced}, "categories": [], "themes": [], "wards": wards,
            "findings": [f"{total} crimes"]}


@SETTINGS
@given(counts=st.lists(st.lists(st.integers(0, 40), min_size=1, max_size=5), min_size=1, max_size=8)
       .filter(lambda c: len({len(r) for r in c}) == 1), unplaced=st.integers(0, 12), threshold=st.integers(1, 10))
def test_suppression_leaves_no_small_or_recoverable_cell(counts: list[list[int]], unplaced: int, threshold: int) -> None:
    a = suppress_assessment(_table(counts, unplaced), threshold)
    wards = a["wards"]
    for w in wards:
        for cell in [w, *w["themes"]]:
            for k in ("current", "previous"):
                v = cell[k]
                assert is_suppressed(v) or v >= threshold
            if is_suppressed(cell["current"]) or is_suppressed(cell["previous"]):
                assert cell.get("change") is None
    n_themes = len(counts[0])
    for j in range(n_themes):
        for k in ("current", "previous"):
            hidden = sum(is_suppressed(w["themes"][j][k]) for w in wards)
            assert hidden != 1 or len(wards) == 1
    for k in ("current", "previous"):  # wards + unplaced = total
        hidden = sum(is_suppressed(w[k]) for w in wards) + is_suppressed(a["unplaced"][k]) + is_suppressed(a["total"][k])
        assert hidden != 1


def test_suppression_rejects_a_bad_threshold() -> None:
    with pytest.raises(CrimeAssessError):
        suppress_assessment(_table([[1]], 0), 0)
