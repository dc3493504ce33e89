"""Runs: how many consecutive periods a count has risen (or fallen), ending at the current period.

A series is a list of ``{label, start, end, count, complete}`` dicts, oldest first. The run counts
consecutive period-on-period comparisons ending at the last (current) period in which the count moved the
same way. Equal counts break a run. An incomplete period (or one whose count is unavailable, None) is never
compared: if the current period is incomplete the run is none/0, and an incomplete earlier period stops the
count there — a short year is never read as a fall.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crimeassess.assess.stats import _as_count
from crimeassess.errors import InputError

DIRECTIONS = ("rise", "fall", "none")


@dataclass(frozen=True)
class Run:
    """The current run: direction 'rise', 'fall' or 'none', and its length in comparisons."""

    direction: str
    length: int

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise InputError(f"run direction must be one of {', '.join(DIRECTIONS)}, not {self.direction!r}")
        if self.length < 0 or (self.direction == "none") != (self.length == 0):
            raise InputError(f"inconsistent run: {self.direction} of length {self.length}")

    def to_dict(self) -> dict[str, Any]:
        """{'direction': ..., 'length': ...}"""
        return {"direction": self.direction, "length": self.length}


NO_RUN = Run("none", 0)


def _usable_counts(series: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """Each period's count, or None when it is incomplete/unavailable; validates the series."""
    if isinstance(series, (str, bytes)) or not isinstance(series, Sequence):
        raise InputError(f"a series must be a list of period dicts, not {type(series).__name__}")
    counts: list[int | None] = []
    prev_start: str | None = None
    for i, item in enumerate(series):
        if not isinstance(item, Mapping):
            raise InputError(f"series item {i} must be a dict, not {type(item).__name__}")
        if "count" not in item:
            raise InputError(f"series item {i} ({item.get('label', '?')}) has no 'count'")
        label = item.get("label", f"item {i}")
        count = _as_count(item["count"], f"series count for {label}")
        complete = item.get("complete", True)
        if not isinstance(complete, bool):
            raise InputError(f"series 'complete' for {label} must be true or false, not {complete!r}")
        start = item.get("start")
        if isinstance(start, str) and start:
            if prev_start is not None and start <= prev_start:
                raise InputError(f"series must be oldest first with distinct periods; {label} starts "
                                 f"{start}, not after {prev_start}")
            prev_start = start
        counts.append(count if complete else None)
    return counts


def current_run(series: Sequence[Mapping[str, Any]]) -> Run:
    """The run of rises or falls ending at the last period of ``series`` (oldest first).

    Four rises in a row (2013/14 → … → 2017/18) give Run('rise', 4); fewer than two usable periods at the
    end, equal last two counts, or an incomplete current period give Run('none', 0).
    """
    counts = _usable_counts(series)
    direction = "none"
    length = 0
    for i in range(len(counts) - 1, 0, -1):
        cur, prev = counts[i], counts[i - 1]
        if cur is None or prev is None or cur == prev:
            break
        step = "rise" if cur > prev else "fall"
        if direction == "none":
            direction = step
        elif step != direction:
            break
        length += 1
    return Run(direction, length) if length else NO_RUN
