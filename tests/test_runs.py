"""Golden tests for runs of consecutive rises/falls ending at the current period."""
from __future__ import annotations

import pytest

from crimeassess.assess.runs import NO_RUN, Run, current_run
from crimeassess.errors import InputError


def fy(counts, complete=None):
    """Financial-year series from 2012/13, oldest first."""
    complete = complete or [True] * len(counts)
    return [
        {"label": f"{y}/{(y + 1) % 100:02d}", "start": f"{y}-04", "end": f"{y + 1}-03", "count": c, "complete": k}
        for y, c, k in zip(range(2012, 2012 + len(counts)), counts, complete)
    ]


def test_four_rises():
    # 2012/13 fell to 2013/14, then 2013/14 -> 2014/15 -> ... -> 2017/18 rose four times
    series = fy([21000, 20000, 22000, 25000, 29000, 31589])
    assert series[1]["label"] == "2013/14" and series[-1]["label"] == "2017/18"
    assert current_run(series).to_dict() == {"direction": "rise", "length": 4}


def test_fall():
    assert current_run(fy([500, 520, 480, 470])) == Run("fall", 2)
    assert current_run(fy([100, 90, 80, 70, 60])).to_dict() == {"direction": "fall", "length": 4}


def test_broken_by_incomplete_earlier_year():
    # 2014/15 is incomplete (low only because months are missing): counting stops there, it is not a fall
    series = fy([900, 1000, 300, 1100, 1200], complete=[True, True, False, True, True])
    assert current_run(series) == Run("rise", 1)


def test_incomplete_current_year_is_none():
    # the short current year looks like a fall but must never be read as one
    series = fy([1000, 1100, 1200, 700], complete=[True, True, True, False])
    assert current_run(series) == NO_RUN
    assert current_run(series).to_dict() == {"direction": "none", "length": 0}


def test_unavailable_count_breaks_like_incomplete():
    assert current_run(fy([100, None, 120, 130])) == Run("rise", 1)
    assert current_run(fy([100, 110, None])) == NO_RUN


def test_equal_counts_break_run():
    assert current_run(fy([100, 120, 120])) == NO_RUN
    assert current_run(fy([100, 120, 120, 130, 140])) == Run("rise", 2)


def test_single_and_empty():
    assert current_run(fy([1234])) == NO_RUN
    assert current_run([]) == NO_RUN


def test_direction_change_stops_run():
    assert current_run(fy([100, 200, 150, 160])) == Run("rise", 1)


def test_series_without_start_or_complete_keys():
    assert current_run([{"count": 1}, {"count": 2}, {"count": 3}]) == Run("rise", 2)


@pytest.mark.parametrize(
    "bad,match",
    [
        ("abc", "list of period dicts"),
        ([{"label": "x"}], "no 'count'"),
        ([{"count": "12"}], "whole number"),
        ([{"count": 1, "complete": "yes"}], "true or false"),
        (list(reversed(fy([1, 2, 3]))), "oldest first"),
        ([1, 2], "must be a dict"),
    ],
)
def test_bad_series_raise(bad, match):
    with pytest.raises(InputError, match=match):
        current_run(bad)


def test_run_validates_itself():
    with pytest.raises(InputError):
        Run("up", 2)
    with pytest.raises(InputError):
        Run("none", 3)
