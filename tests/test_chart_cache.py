"""The content-addressed cache of charts, map and PDF (report/chartcache.py, issue 12): a second report of the
same data draws and prints nothing and is byte-for-byte the same; other data, other code or a damaged entry
draws again; the cache can be switched off."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from crimeassess.report import chartcache
from crimeassess.report.charts import trend_chart_svg
from crimeassess.report.render import render_html, render_report


def _entries(root: Path, kind: str) -> list[Path]:
    return sorted((root / kind).glob("*/*.json" if kind == "charts" else "*/*.pdf"))


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("CRIMEASSESS_CACHE_DIR", str(root))
    return root


def test_second_render_reads_every_chart_from_the_cache(demo_assessment: dict[str, Any], demo_result: Any,
                                                         cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRIMEASSESS_CACHE_DIR", "off")
    plain = render_html(demo_assessment, wards_geo=demo_result.ward_geometry)
    assert not cache.exists()  # off means off
    monkeypatch.setenv("CRIMEASSESS_CACHE_DIR", str(cache))
    before = chartcache.stats()
    first = render_html(demo_assessment, wards_geo=demo_result.ward_geometry)
    drawn = chartcache.stats()["misses"] - before["misses"]
    files = _entries(cache, "charts")
    # one entry per chart drawn: trend, monthly, themes, ward map, and whichever of the others the demo has
    assert drawn == len(files) >= 4
    assert 4 <= first.count("data:image/svg+xml;base64,") <= drawn  # a chart with nothing to draw is None
    mid = chartcache.stats()
    second = render_html(demo_assessment, wards_geo=demo_result.ward_geometry)
    after = chartcache.stats()
    assert after["misses"] == mid["misses"] and after["hits"] - mid["hits"] == drawn  # nothing drawn again
    assert plain == first == second  # cached charts are the charts drawn


def test_other_data_draws_again_and_the_key_follows_the_code(demo_assessment: dict[str, Any], cache: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    series = demo_assessment["total"]["series"]
    a = trend_chart_svg(series, demo_assessment["period"], demo_assessment["compare"])
    assert len(_entries(cache, "charts")) == 1
    changed = copy.deepcopy(series)
    changed[-1]["count"] += 1
    b = trend_chart_svg(changed, demo_assessment["period"], demo_assessment["compare"])
    assert a != b and len(_entries(cache, "charts")) == 2
    key = chartcache.chart_key("trend_chart_svg", (series,), {})
    monkeypatch.setitem(chartcache._state, "version", "another version of the chart code")
    assert chartcache.chart_key("trend_chart_svg", (series,), {}) != key


def test_a_damaged_entry_is_drawn_again(demo_assessment: dict[str, Any], cache: Path) -> None:
    series = demo_assessment["total"]["series"]
    good = trend_chart_svg(series)
    (entry,) = _entries(cache, "charts")
    entry.write_text("{not json", encoding="utf-8")
    assert trend_chart_svg(series) == good
    assert entry.read_text(encoding="utf-8").startswith("{")  # rewritten whole
    assert trend_chart_svg.uncached(series) == good  # type: ignore[attr-defined]


def test_ward_map_round_trips_through_the_cache(demo_assessment: dict[str, Any], demo_result: Any,
                                                cache: Path) -> None:
    from crimeassess.report.wardmap import ward_map_svg

    wards = demo_assessment["wards"]
    drawn = ward_map_svg(wards, demo_result.ward_geometry)
    cached = ward_map_svg(wards, demo_result.ward_geometry)
    assert cached == drawn  # the dataclass, classes and all
    assert cached.ward_class and set(cached.ward_class) == {w["code"] for w in wards}
    moved = demo_result.ward_geometry.copy()
    moved["geometry"] = moved.geometry.translate(xoff=10)
    ward_map_svg(wards, moved)
    assert len(_entries(cache, "charts")) == 2  # other polygons, another entry


def test_pdf_printed_once_for_the_same_html(demo_assessment: dict[str, Any], demo_result: Any, cache: Path,
                                            tmp_path: Path) -> None:
    one = render_report(demo_assessment, tmp_path / "one", wards_geo=demo_result.ward_geometry)
    assert len(_entries(cache, "pdf")) == 1
    before = chartcache.stats()
    two = render_report(demo_assessment, tmp_path / "two", wards_geo=demo_result.ward_geometry)
    assert chartcache.stats()["hits"] - before["hits"] >= 1 and len(_entries(cache, "pdf")) == 1
    assert one.pdf and two.pdf and one.pdf.read_bytes() == two.pdf.read_bytes()
    assert two.pdf.read_bytes().startswith(b"%PDF-")
    assert two.pdf.stat().st_mode & 0o777 == one.pdf.stat().st_mode & 0o777  # a copy is an ordinary file too
    other = copy.deepcopy(demo_assessment)
    other["findings"] = ["A different finding."] + other["findings"][1:]
    render_report(other, tmp_path / "three", wards_geo=demo_result.ward_geometry)
    assert len(_entries(cache, "pdf")) == 2  # other HTML, printed again


def test_trim_removes_least_recently_used(cache: Path) -> None:
    for i in range(4):
        p = cache / "charts" / "ab" / f"{i}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * 1000)
        import os

        os.utime(p, (1000 + i, 1000 + i))
    chartcache._trim(cache, limit=2500)
    assert sorted(p.name for p in (cache / "charts" / "ab").iterdir()) == ["2.json", "3.json"]
