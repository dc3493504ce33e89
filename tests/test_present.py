"""The one presentation layer: the same change reads the same in the terminal, the report, the dashboard and CSV."""
from __future__ import annotations

import csv
import html
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from crimeassess.assess import present
from crimeassess.assess.periods import parse_period
from crimeassess.assess.present import BLANK, MINUS
from crimeassess.assess.present import print_assessment
from crimeassess.errors import InputError
from crimeassess.report.build import write_tables
from crimeassess.report.render import render_html
from crimeassess.web.app import create_app

HYPHEN_PCT = re.compile(r"(?<![\w\-.])-\d[\d,]*\.\d%")  # a percentage written with a hyphen-minus


def _text(markup: str) -> str:
    """Visible text of an HTML page (tags dropped, entities decoded, white space folded)."""
    markup = re.sub(r"<(style|script)\b.*?</\1>", " ", markup, flags=re.S)
    markup = re.sub(r"data:[^\"']+", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def test_one_change_reads_the_same_everywhere(demo_store, demo_result, tmp_path: Path) -> None:
    a = demo_result.to_dict()
    total = a["total"]
    fall = min((t for t in a["themes"] if t.get("available") and t.get("pct_change") is not None),
               key=lambda t: t["pct_change"])
    assert fall["pct_change"] < 0
    expected = [present.count(total["current"]), present.change(total["change"]),
                present.pct_change(total["pct_change"]), present.pct_change(fall["pct_change"]),
                present.change(fall["change"])]
    assert expected[3].startswith(MINUS) and expected[2].startswith("+")
    run = present.run_phrase(total["run"], a["period"]["kind"])
    assert run == "the fourth consecutive annual rise"

    console = Console(record=True, width=240)
    print_assessment(a, console)
    outputs = {
        "terminal": console.export_text(),
        "report": _text(render_html(a, wards_geo=demo_result.ward_geometry)),
        "dashboard": _text(TestClient(create_app(demo_store.store)).get(
            "/panel", params={"area": demo_store.area, "period": demo_store.period}).text),
    }
    for name, text in outputs.items():
        for value in expected:
            assert value in text, (name, value)
        assert run in text.lower(), name
        assert not HYPHEN_PCT.search(text), (name, HYPHEN_PCT.search(text))
        assert "n/a" not in text, name

    # CSV holds the numbers themselves; written by the presentation layer they read the same again.
    files = write_tables(a, tmp_path)
    with open(files["themes.csv"], newline="", encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["id"] == fall["id"])
    assert present.pct_change(float(row["pct_change"])) == expected[3]
    assert present.change(int(row["change"])) == expected[4]


def test_numbers() -> None:
    assert present.count(31589) == "31,589" and present.count(-145) == MINUS + "145"
    assert present.change(145) == "+145" and present.change(0) == "0" and present.change(None) == BLANK
    assert present.pct_change(-5.94) == MINUS + "5.9%" and present.pct_change(8.94) == "+8.9%"
    assert present.pct_change(-0.04) == "0.0%" and present.pct(None) == BLANK
    assert present.share(0.983) == "98.3%" and present.rate(133.42) == "133.4" and present.rate(None) == BLANK
    assert present.p_value(0.0004) == "<0.001" and present.p_statement(0.0042) == "p = 0.004"
    with pytest.raises(InputError):
        present.count("12")  # type: ignore[arg-type]
    assert present.FILTERS["int"]("12") == "12" and present.FILTERS["pct"](None) == BLANK  # lenient in templates


@pytest.mark.parametrize("spec,words", [
    ("2018-03", "March 2018"), ("2017/18", "2017/18"), ("2017", "2017"),
    ("2017-04..2017-09", "April\u2013September 2017"), ("2017-11..2018-02", "November 2017\u2013February 2018"),
    ("2017Q3", "July\u2013September 2017"), ("12m-2018-03", "12 months to March 2018"),
    ("2018-W10", "week 10 of 2018"), ("28d-2018-03-31", "28 days to 31 March 2018"),
    ("ytd-2018-03-31", "2017/18 to 31 March 2018"), ("cytd-2018-03-31", "2018 to 31 March"),
])
def test_period_words(spec: str, words: str) -> None:
    p = parse_period(spec)
    assert present.period_words(p) == words
    assert present.period_words(p.to_dict()) == words


def test_words() -> None:
    assert present.theme_name("Serious knife crime") == "serious knife crime"
    assert present.theme_name("ASB") == "ASB" and present.theme_name("Home Office total") == "Home Office total"
    assert present.run_phrase({"direction": "fall", "length": 11}, "quarter") == "the 11th consecutive quarterly fall"
    assert present.run_phrase({"direction": "rise", "length": 1}, "fy") is None
    assert present.significance({"significant": True, "change": -3}) == "significant fall"
    assert present.significance({"significant": False, "small_numbers": True}) == "small numbers"
    assert present.significance({"significant": False, "p_adjusted": 0.4}) == "not significant"
    assert present.date_label(date(2026, 11, 25)) == "25 November 2026"
    assert present.compress_months(["2017-03", "2017-02", "2018-03"]) == "Feb 2017 \u2013 Mar 2017, Mar 2018"


def test_significance_follows_the_test_direction() -> None:
    # months missing from the comparison: the count rose, the monthly rate fell significantly
    row = {"current": 5020, "previous": 4988, "change": 32, "z": -5.83, "significant": True}
    assert present.significance(row) == "significant fall"


def test_force_label_names_a_force_from_its_slug() -> None:
    from crimeassess.assess.present import force_label

    assert [force_label(x) for x in ("hampshire", "avon-and-somerset", "city-of-london", "west-yorkshire")] == [
        "Hampshire", "Avon and Somerset", "City of London", "West Yorkshire"]
    assert force_label(None) == force_label("") == "\u2013"
