"""The vectorised street-CSV reader gives exactly what the row-by-row reader gives, or declines."""
from __future__ import annotations

from pathlib import Path

import pytest

from crimeassess.sources.policeuk import decode, header_of, read_street_csv_rows
from crimeassess.sources.policeuk_fast import read_street_csv_fast
from policeuk_fixtures import row, street_csv


def _both(data: bytes):
    header = header_of(decode(data))
    fast = read_street_csv_fast(data, header, input_id="x", display_name="f.csv")
    slow = read_street_csv_rows(decode(data), header, input_id="x", display_name="f.csv")
    return fast, slow


def _same(fast, slow) -> None:
    assert fast is not None, "the fast reader declined"
    assert fast.records.equals(slow.records)
    assert fast.quarantine == slow.quarantine
    assert (fast.rows_read, fast.months, fast.force, fast.force_name) == (slow.rows_read, slow.months, slow.force, slow.force_name)


@pytest.mark.parametrize("crlf", [False, True])
def test_bad_rows_identical(crlf: bool) -> None:
    rows = [row("a", "2018-03", "Burglary"), row("b", "2018-13", "Burglary"), row("c", "2018-03", "Nonsense"),
            row("d", "2018-03", "Drugs", lon="-40", lat="10"), row("e", "2018-03", "Drugs", lon="x", lat="50"),
            row("f", "2018-03", "Robbery").rsplit(",", 3)[0], row("", "2018-03", "Anti-social behaviour"),
            row("g", "2018-03", "Drugs", lon="", lat="", lsoa=""), row("h", "1999-03", "Drugs"),
            row("i", "2018-03", "Vehicle crime") + ",extra", row("j", "2017-12", "Burglary"),
            row("k", "2018-12", "Drugs"), row("", "2016-12", "Anti-social behaviour"), row("l", "2018-00", "Drugs")]
    fast, slow = _both(street_csv(rows, crlf=crlf))
    _same(fast, slow)
    bad = {"b", "c", "d", "e", "f", "h", "i", "l"}  # month 13/00/1999, type, coordinates x2, fields x2
    assert fast.rows_read == len(rows) and len(fast.quarantine) == len(bad)
    assert sorted(fast.records.column("month").unique().to_pylist()) == ["2016-12", "2017-12", "2018-03", "2018-12"]


def test_declines_when_line_numbers_would_be_ambiguous() -> None:
    blank = street_csv([row("a", "2018-03", "Burglary"), "", row("b", "2018-03", "Burglary")])
    assert _both(blank)[0] is None
    quoted = street_csv([row("a", "2018-03", "Burglary").replace("On or near High Street", '"On or near\nHigh Street"')])
    assert _both(quoted)[0] is None
    utf = street_csv([row("a", "2018-03", "Burglary")]) + row("b", "2018-03", "Drugs").encode() + b"\xff\n"
    assert _both(utf)[0] is None


def test_real_month_identical(shared_data: Path) -> None:
    data = (shared_data / "police-uk/archive/2018-03/2018-03-hampshire-street.csv").read_bytes()
    _same(*_both(data))


def test_field_count_of_a_bad_row_counts_quoted_commas_as_text() -> None:
    """Found by the property tests: a quoted comma is not a separator, in the quarantine reason too."""
    data = street_csv([row("a", "2018-03", "Burglary")]) + b',,,,,,,,,,,,","\n'
    fast, slow = _both(data)
    _same(fast, slow)
    assert fast.quarantine[0]["reason"] == "wrong number of fields: expected 12, got 13"
