"""Period parsing and default comparisons."""
from __future__ import annotations

import pytest

from crimeassess.assess.periods import Period, default_comparison, parse_period
from crimeassess.errors import PeriodError


@pytest.mark.parametrize("text,label,start,end,kind,n", [
    ("2018-03", "2018-03", "2018-03", "2018-03", "month", 1),
    ("2017-04..2017-09", "2017-04..2017-09", "2017-04", "2017-09", "range", 6),
    ("2017/18", "2017/18", "2017-04", "2018-03", "fy", 12),
    ("1999/00", "1999/00", "1999-04", "2000-03", "fy", 12),
    ("2017/2018", "2017/18", "2017-04", "2018-03", "fy", 12),
    ("2017", "2017", "2017-01", "2017-12", "year", 12),
    ("2017Q3", "2017Q3", "2017-07", "2017-09", "quarter", 3),
    ("12m-2018-03", "12m-2018-03", "2017-04", "2018-03", "rolling12", 12),
])
def test_parse(text: str, label: str, start: str, end: str, kind: str, n: int) -> None:
    p = parse_period(text)
    assert (p.label, p.start, p.end, p.kind, p.n_months, len(p.months)) == (label, start, end, kind, n, n)


def test_default_comparison_is_same_months_a_year_earlier() -> None:
    assert default_comparison(parse_period("2017/18")) == Period("2016/17", "2016-04", "2017-03", "fy")
    assert default_comparison(parse_period("2018-03")).label == "2017-03"
    assert default_comparison(parse_period("2017-04..2017-09")).label == "2016-04..2016-09"
    assert default_comparison(parse_period("2017Q3")).label == "2016Q3"


def test_previous_for_series() -> None:
    assert parse_period("2017/18").previous().label == "2016/17"
    assert parse_period("2017Q1").previous().label == "2016Q4"
    assert parse_period("2018-01").previous().label == "2017-12"


@pytest.mark.parametrize("bad", ["2018-13", "2017/19", "March", "2018-05..2018-01", "", "12m-2018"])
def test_bad_periods(bad: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(bad)
