"""Tests for crimeassess.report: HTML + PDF rendering, charts, ward map, escaping, sparse assessments."""
from __future__ import annotations

import copy
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tool
from markupsafe import escape

from crimeassess.errors import GeographyError, InputError
from crimeassess.report import render_html, render_report
from crimeassess.assess.present import compress_months, count, share
from crimeassess.report.wardmap import classify, make_classes, nice_step, ward_map_svg

EVIL = "<script>alert(1)</script> & \"quotes\" 'single' $x_1$ {{ 7*7 }}"


# --------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def assessment(demo_result) -> dict[str, Any]:
    """The demo city's assessment (conftest.py); tests that change it change a deep copy."""
    return demo_result.to_dict()


@pytest.fixture(scope="module")
def wards_geo(demo_result):
    return demo_result.ward_geometry


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, assessment, wards_geo):
    out = tmp_path_factory.mktemp("report")
    files = render_report(assessment, out, wards_geo=wards_geo, pdf=True)
    return files


# ------------------------------------------------------------------------------------------------ helpers
class _Refs(HTMLParser):
    """Collects every src/href/srcset attribute and the <style> text."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.style = ""
        self._in_style = False
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        if tag == "style":
            self._in_style = True
        if tag == "script":
            self.scripts += 1
        for k, v in attrs:
            if k in ("src", "href", "srcset", "poster", "data", "action", "xlink:href") and v is not None:
                self.refs.append((tag, k, v))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def pdftotext(pdf: Path) -> str:
    require_tool("pdftotext", "poppler-utils")
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout


def pdf_pages(pdf: Path) -> int:
    require_tool("pdfinfo", "poppler-utils")
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def png_is_blank(path: Path) -> bool:
    """True when a PNG is a single colour (matplotlib reads PNG without extra dependencies)."""
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(str(path))
    return bool(np.ptp(img[..., :3]) < 0.02)


# -------------------------------------------------------------------------------------------------- tests
def test_html_is_self_contained(rendered):
    html = rendered.html.read_text(encoding="utf-8")
    parser = _Refs()
    parser.feed(html)
    assert parser.scripts == 0
    imgs = [v for tag, k, v in parser.refs if tag == "img"]
    assert len(imgs) == 6  # trend, monthly line, theme change, ward map, expected band, density map
    assert all(v.startswith("data:image/svg+xml;base64,") for v in imgs)
    for tag, attr, value in parser.refs:
        if tag == "a" and attr == "href":
            # plain hyperlinks in text are allowed (the OGL licence link); anchors are internal
            assert value.startswith("#") or value.startswith("https://www.nationalarchives.gov.uk/"), value
        else:
            assert value.startswith("data:"), (tag, attr, value[:60])
    assert "<link" not in html.lower()
    assert "@import" not in parser.style and "@font-face" not in parser.style
    style = re.sub(r"/\*.*?\*/", "", parser.style, flags=re.S)
    for url in re.findall(r"url\(([^)]*)\)", style):
        assert url.strip("'\" ").startswith("data:"), url
    # the embedded SVGs themselves reference nothing outside
    import base64

    for v in imgs:
        svg = base64.b64decode(v.split(",", 1)[1]).decode()
        assert not re.search(r"(?:href|src)=\"(?!#)[^\"]+\"", svg.replace('xmlns:xlink="http://www.w3.org/1999/xlink"', ""))


def test_html_sections_and_content(rendered, assessment):
    html = rendered.html.read_text(encoding="utf-8")
    headings = re.findall(r"<h2[^>]*>(?:<span[^>]*>\d+</span>)?\s*([^<]+)</h2>", html)
    assert [h.strip() for h in headings if h.strip() != "Contents"] == [
        "Key findings", "Total recorded crime", "Crime by theme", "Crime by ward", "Police.uk crime categories",
        "Anti-social behaviour", "Expected, hotspots and harm", "Data quality", "Methodology and sources",
    ]
    # the demo's data are synthetic: its notice stands where real sources would be credited
    assert str(escape(assessment["source"]["notice"])) in html
    assert "Contains public sector information licensed under the Open Government Licence v3.0." not in html
    assert "Contains OS data" not in html
    for w in assessment["wards"]:
        assert f">{escape(w['name'])}</th>" in html
    unavailable = [t for t in assessment["themes"] if not t["available"]]
    # anti-social behaviour, not in the extract, is counted from the police.uk files (section 6): said so
    asb_elsewhere = [t for t in unavailable if t["id"] == "anti_social_behaviour"
                     and assessment["anti_social_behaviour"].get("available")]
    assert html.count("counted from the police.uk files in section 6") == len(asb_elsewhere)
    assert html.count("not available from this source") == len(unavailable) - len(asb_elsewhere) + html.count(
        "cannot identify is shown as <em>not available from this source")
    # the month missing from the police.uk files shown as a compressed month list
    missing = next(m for m in assessment["data_quality"]["months"] if m["months_missing"])["months_missing"]
    assert compress_months(missing) in html
    assert share(assessment["data_quality"]["blank_lsoa_rate"], digits=2) in html  # a rate as a percentage
    assert "Significant" in html


def test_unavailable_theme_never_zero(assessment):
    a = copy.deepcopy(assessment)
    t = next(t for t in a["themes"] if t["id"] == "domestic_abuse")
    t.update({"available": False, "current": None, "previous": None, "change": None, "pct_change": None})
    html = render_html(a)
    row = re.search(r"<tr class=\"unavailable\">\s*<th[^>]*>Domestic abuse.*?</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    assert cells == ["not available from this source"]


def test_escaping_of_data(assessment, wards_geo, tmp_path):
    a = copy.deepcopy(assessment)
    a["wards"][0]["name"] = EVIL
    a["area"]["name"] = EVIL
    a["findings"].append(EVIL)
    a["themes"][0]["label"] = EVIL
    a["data_quality"]["notes"] = [EVIL]
    geo = wards_geo.copy()
    geo.loc[geo["code"] == a["wards"][0]["code"], "name"] = EVIL
    files = render_report(a, tmp_path, wards_geo=geo, pdf=False)
    html = files.html.read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34; &#39;single&#39; $x_1$ {{ 7*7 }}" in html
    # the map (an SVG data URI) carries the name as XML-escaped text, not markup
    import base64

    svgs = [base64.b64decode(u.split(",", 1)[1]).decode()
            for u in re.findall(r'src="(data:image/svg\+xml;base64,[^"]+)"', html)]
    assert not any("<script" in svg for svg in svgs)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in svg for svg in svgs)
    assert files.pdf is None and not (tmp_path / "report.pdf").exists()


def test_pdf_pages_and_text(rendered, assessment):
    text = pdftotext(rendered.pdf)
    pages = pdf_pages(rendered.pdf)
    assert 6 <= pages <= 24, pages  # comparison, priorities (3a) and expected/hotspots/harm sections
    for heading in ["Contents", "Key findings", "Total recorded crime", "Crime by theme", "Crime by ward",
                    "Police.uk crime categories", "Anti-social behaviour", "Data quality", "Methodology and sources"]:
        assert heading in text, heading
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    # the contents list carries page numbers (target-counter): "Crime by ward ..... N"
    toc = re.search(r"Crime by ward\s*\.{3,}\s*(\d+)", text)
    assert toc is not None and 2 <= int(toc.group(1)) <= pages
    assert "not available from this source" in text or "counted from the police.uk files" in text
    assert count(assessment["total"]["current"]) in text
    assert "Synthetic data: not a real place" in text  # the demo's running header, on every page but the cover
    assert "Open Government Licence v3.0" not in text


def test_pdf_pages_render_non_blank(rendered, tmp_path):
    require_tool("pdftoppm", "poppler-utils")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(rendered.pdf), str(tmp_path / "p")], check=True)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == pdf_pages(rendered.pdf)
    assert not any(png_is_blank(p) for p in pngs)


CHROMIUM = Path("/usr/bin/chromium")


def chromium_load(html: Path, workdir: Path) -> tuple[Path, list[str]]:
    """Screenshot ``html`` in headless Chromium with a net log; return the PNG and the http(s) URLs the
    page itself asked for (Chromium's own background requests, initiator 'not an origin', are ignored)."""
    import json

    shot, netlog = workdir / "shot.png", workdir / "net.json"
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={workdir / 'profile'}", f"--log-net-log={netlog}", "--net-log-capture-mode=Default",
        f"--screenshot={shot}", "--window-size=1200,2400", html.resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    log = json.loads(netlog.read_text(errors="replace"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = [
        e["params"]["url"] for e in log["events"]
        if e.get("type") == start_job and "url" in e.get("params", {})
        and e["params"].get("initiator") != "not an origin"
        and not e["params"]["url"].startswith(("file:", "data:"))
    ]
    return shot, urls


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_chromium_screenshot_no_network(rendered, tmp_path):
    """Chromium draws report.html (non-blank screenshot) and the page requests nothing outside the file."""
    shot, urls = chromium_load(rendered.html, tmp_path)
    assert shot.exists() and shot.stat().st_size > 10_000
    assert not png_is_blank(shot)
    assert urls == []


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_chromium_network_check_detects_leaks(tmp_path):
    """The net-log check above does catch a page that fetches a web font and an image."""
    page = tmp_path / "leaky.html"
    page.write_text('<html><head><link rel="stylesheet" href="https://fonts.example.invalid/a.css"></head>'
                    '<body><img src="http://example.invalid/x.png">text</body></html>')
    _shot, urls = chromium_load(page, tmp_path)
    assert "http://example.invalid/x.png" in urls and "https://fonts.example.invalid/a.css" in urls


def test_sparse_assessment_police_uk_only(assessment, tmp_path):
    """No population, no wards_geo, all themes unavailable, a single-period series, no data_quality."""
    a = copy.deepcopy(assessment)
    a["population"] = None
    for row in [a["total"], *a["categories"], *a["wards"], *(r for rs in a["theme_comparators"].values() for r in rs)]:
        row["rate_per_1000"] = None
    for t in a["themes"]:
        t.update({"available": False, "current": None, "previous": None, "change": None, "pct_change": None,
                  "significant": None, "small_numbers": None})
    a["total"]["series"] = a["total"]["series"][-1:]
    a["total"]["run"] = {"direction": "none", "length": 0}
    a.pop("data_quality")
    a.pop("anti_social_behaviour")
    a.pop("priorities", None)  # its tables end in changes, not rates (tests/test_demo_priorities.py)
    a.pop("outcomes", None)
    files = render_report(a, tmp_path, pdf=True)
    html = files.html.read_text(encoding="utf-8")
    assert "No ward boundaries were supplied" in html
    # the trend chart and the monthly line: no theme chart, no map (besides section 7's band and density map)
    beyond = re.search(r'<section id="sec-beyond".*?</section>', html, re.S)
    n_beyond = beyond.group(0).count("data:image/svg+xml") if beyond else 0
    assert n_beyond == bool(a["expected"]["available"]) + bool(a["hotspots"]["grid"])
    assert html.count("data:image/svg+xml") - n_beyond == (2 if len(a["total"].get("monthly") or []) >= 2 else 1)
    assert "Only one period is available" in html
    assert "no population data" in html
    assert html.count("not available from this source") >= len(a["themes"])
    # rates are null -> shown as a dash, never as a fake zero rate
    rates = re.findall(r'<td class="num">([^<]*)</td>\s*</tr>', html.replace(beyond.group(0), "") if beyond else html)
    assert rates and set(rates) == {"\u2013"}
    assert "holds no anti-social behaviour" in html
    text = pdftotext(files.pdf)
    assert "Crime by ward" in text


def _methodology(html: str) -> tuple[str, str]:
    """The report's Geography paragraph and attribution line, as text."""
    geo = re.search(r"<h3>Geography</h3>\s*<p>(.*?)</p>", html, re.S).group(1)
    attr = re.search(r'<p class="attribution">(.*?)</p>', html, re.S).group(1)
    return tuple(re.sub(r"\s+", " ", re.sub("<[^>]+>", "", x)).replace("&#39;", "'") for x in (geo, attr))


def test_methodology_and_attribution_follow_the_source(assessment):
    """The demo is a force extract placed by its own codes, with anti-social behaviour from police.uk: the report
    must not describe police.uk's snapped points or credit police.uk with its crimes, and says how each crime was
    placed; the same assessment relabelled as police.uk says the opposite."""
    assert assessment["source"]["kind"] == "extract"
    # the demo's own report credits no real source (tests/test_demo_run.py): here, as a real extract's would
    assessment = copy.deepcopy(assessment)
    assessment["source"]["notice"] = None
    by = assessment["geography"]["placed_by"]
    geo, attr = _methodology(render_html(assessment))
    assert "anonymous locations" not in geo and "police.uk" not in geo
    assert "code the extract gives" in geo
    placed = [(k, n) for k, n in by.items() if n]
    if len(placed) == 1:
        assert f"All {count(placed[0][1])} crimes" in geo
    assert "Contains public sector information licensed under the Open Government Licence v3.0." in attr
    assert "Contains OS data © Crown copyright and database right." in attr
    assert "Police recorded crime from the force's own crime extract." in attr
    assert "Police recorded crime from data.police.uk" not in attr
    asb = assessment.get("anti_social_behaviour") or {}
    assert ("Anti-social behaviour from data.police.uk" in attr) == (asb.get("source", "").startswith("police-uk"))
    a = copy.deepcopy(assessment)
    a["source"]["kind"] = "police-uk-street"
    a["anti_social_behaviour"]["source"] = "police-uk-street"
    a["geography"]["placed_by"] = {"source": 0, "lsoa": 900, "point": 100}
    a["geography"]["unplaced"] = 7
    geo, attr = _methodology(render_html(a))
    assert "anonymous locations" in geo and "code the extract gives" not in geo
    assert "900 through their LSOA and 100 from their map point" in geo
    assert "7 crimes of" in geo and "counted in none" in geo
    assert "Police recorded crime from data.police.uk, published under the Open Government Licence" in attr
    assert "Anti-social behaviour from" not in attr  # the same source: said once
    assert "Contains OS data" in attr  # the demo's ward and LSOA boundaries are drawn
    a["geography"].update({"boundaries": None, "ward_geometry": False})
    a["hotspots"]["lsoa"] = None
    geo, attr = _methodology(render_html(a))
    assert "Contains OS data" not in attr and "Contains public sector information" in attr  # ONS lookups only
    assert "in wards as at " in geo and "boundaries" not in geo


def test_missing_rates_shown_as_dash(assessment):
    a = copy.deepcopy(assessment)
    a["wards"][0]["rate_per_1000"] = None
    html = render_html(a)
    row = re.search(rf"<th scope=\"row\" class=\"first\">{a['wards'][0]['name']}</th>.*?</tr>", html, re.S)
    assert row.group(0).rstrip().endswith("<td class=\"num\">\u2013</td>\n      </tr>")


def test_bad_input_raises_named_errors(tmp_path, assessment):
    with pytest.raises(InputError, match="period"):
        render_report({"area": {}, "total": {}}, tmp_path)
    with pytest.raises(InputError):
        render_report([], tmp_path)  # type: ignore[arg-type]
    with pytest.raises(GeographyError, match="code"):
        import geopandas as gpd
        from shapely.geometry import box

        render_report(assessment, tmp_path, wards_geo=gpd.GeoDataFrame({"x": [1]}, geometry=[box(0, 0, 1, 1)]),
                      pdf=False)


def test_ward_classes_centred_on_zero():
    assert nice_step(29) == 10 and nice_step(7.4) == 2.5 and nice_step(0.5) == 0.2
    c = make_classes([16.0, -4.0, 29.0, None, 0.0])
    assert c.step == 10 and c.step_down == 10  # one scale: a colour's depth is the size of the change either way
    assert classify(16.0, c) == "r2" and classify(-1.0, c) == "f1" and classify(29.0, c) == "r3"
    assert classify(-4.0, c) == "f1" and classify(0.0, c) == "zero" and classify(None, c) == "none"
    assert classify(-16.0, c) == "f2" and classify(-29.0, c) == "f3"
    c = make_classes([-24.8, 2.5])  # the larger side sets the scale, falls or rises
    assert c.step == 10 and classify(2.5, c) == "r1" and classify(-24.8, c) == "f3"
    # symmetric: the same magnitude lands in mirrored classes with mirrored RdBu colours
    red, blue = c.colours[classify(15, c)], c.colours[classify(-15, c)]
    r_rgb = tuple(int(red[i:i + 2], 16) for i in (1, 3, 5))
    b_rgb = tuple(int(blue[i:i + 2], 16) for i in (1, 3, 5))
    assert r_rgb[0] > r_rgb[2] and b_rgb[2] > b_rgb[0]
    assert make_classes([None, None]) is None


def test_ward_classes_never_go_below_minus_100():
    """A +300% rise must not stretch the fall classes past −100% (a count can't fall by more than all of it)."""
    c = make_classes([300.0, 16.8, -21.5, -3.0])
    for key in c.order:
        for num in re.findall(r"[-−](\d+(?:\.\d+)?)%", c.labels[key]):
            assert float(num) <= 100
    c = make_classes([-100.0, -90.0, 40.0])
    assert all("-200" not in lab and "−200" not in lab for lab in c.labels.values())
    assert classify(-100.0, c).startswith("f")


def test_ward_map_reports_unmatched(assessment, wards_geo):
    geo = wards_geo.iloc[1:].copy()  # drop one ward's polygon
    extra = wards_geo.iloc[:1].copy()
    extra["code"], extra["name"] = "E05999999", "Nowhere"
    import pandas as pd

    m = ward_map_svg(assessment["wards"], pd.concat([geo, extra]))
    assert m.missing_geometry == [assessment["wards"][[w["code"] for w in assessment["wards"]].index(
        wards_geo.iloc[0]["code"])]["name"]]
    assert m.without_data == ["Nowhere"]
    assert m.svg.lstrip().startswith("<?xml") and "<svg" in m.svg
    for w in assessment["wards"]:
        if w["code"] in set(geo["code"]):
            key = m.ward_class[w["code"]]
            assert (key.startswith("r") and w["pct_change"] > 0) or (key.startswith("f") and w["pct_change"] < 0)


def test_compress_months():
    assert compress_months(["2017-03", "2017-02", "2017-04", "2018-03"]) == "Feb 2017 \u2013 Apr 2017, Mar 2018"
    assert compress_months([]) == "none"


@pytest.mark.realdata
def test_real_southampton_wards(shared_data, demo_assessment, tmp_path):
    """The 16 real Southampton ward polygons (ONS WD22CD/WD22NM columns) drive the map."""
    import geopandas as gpd

    path = shared_data / "geography" / "boundaries" / "southampton" / "wards-16-pre2023.geojson"
    geo = gpd.read_file(path)
    codes = [str(c) for c in geo["WD22CD"]]
    names = [str(n) for n in geo["WD22NM"]]
    a = copy.deepcopy(demo_assessment)
    for w, code, name in zip(a["wards"], codes, names):  # the demo city's 16 wards take the real codes and names
        w["code"], w["name"] = code, name
    m = ward_map_svg(a["wards"], geo)  # ONS column names are accepted
    assert m.missing_geometry == [] and m.without_data == []
    assert len(m.ward_class) == len(codes) == 16
    files = render_report(a, tmp_path, wards_geo=geo.rename(columns={"WD22CD": "code", "WD22NM": "name"}))
    text = pdftotext(files.pdf)
    for name in names:
        assert name in text


def test_input_files_listed_are_those_of_the_compared_periods() -> None:
    from crimeassess.report.render import _compared_inputs

    def inp(m: str) -> dict:
        return {"path": f"{m}-x-street.csv", "months": [m], "rows": 1}

    inputs = [inp(f"{y}-{mm:02d}") for y in (2021, 2022, 2023, 2024) for mm in range(1, 13)]
    shown, note = _compared_inputs(inputs, {"start": "2024-01", "end": "2024-12"}, {"start": "2023-01", "end": "2023-12"})
    assert [i["months"][0][:4] for i in shown] == ["2023"] * 12 + ["2024"] * 12
    assert note is not None and "24 more (Jan 2021 – Dec 2022)" in note and "data_quality.inputs" in note
    # nothing outside the compared periods: every input listed, no note
    assert _compared_inputs(inputs[24:], {"start": "2024-01", "end": "2024-12"},
                            {"start": "2023-01", "end": "2023-12"}) == (inputs[24:], None)


def test_repeat_rows_shown_are_repeats_told_apart():
    """A repeat-locations table shows places with more than one crime; among the rows shown, those sharing a name
    and LSOA are numbered (police.uk names many map points alike); rows beyond the limit are not counted in the
    numbering, and the input is not changed."""
    from crimeassess.assess.present import repeat_rows

    rows = [{"location": "On or near Supermarket", "lsoa_name": "X 023D", "current": 9},
            {"location": "On or near Shopping Area", "lsoa_name": "X 023D", "current": 8},
            {"location": "On or near Supermarket", "lsoa_name": "X 023D", "current": 7},
            {"location": "On or near Supermarket", "lsoa_name": "X 015C", "current": 6},
            {"location": "On or near Supermarket", "lsoa_name": "X 023D", "current": 5},
            {"location": "On or near Church Close", "lsoa_name": "X 001A", "current": 1}]
    assert [r.get("point_note") for r in repeat_rows(rows)] == [
        "map point 1 of 3", None, "map point 2 of 3", None, "map point 3 of 3"]  # one crime is no repeat
    assert [r.get("point_note") for r in repeat_rows(rows, 4)] == ["map point 1 of 2", None, "map point 2 of 2", None]
    assert all("point_note" not in r for r in rows)
    assert repeat_rows(None) == [] and repeat_rows(rows[-1:]) == []
    html = render_html({"area": {"name": "X"}, "period": {"label": "2024"}, "total": {"current": 1},
                        "priorities": {"items": [], "where": {"repeat_locations": {"basis": "policeuk_map_point",
                                                                                   "rows": rows[-1:]}}}})
    assert "On or near Church Close" not in html  # a table of single crimes is not shown as repeats


def test_data_quality_cells_say_ids_and_times_in_words():
    """Source kinds, forces and load times in the data-quality tables read as words, not ids or ISO stamps."""
    from crimeassess.report.render import _cell

    assert _cell("kind", "police-uk-street") == "police.uk street files"
    assert _cell("source", "extract") == "Force extract"
    assert _cell("force", "avon-and-somerset") == "Avon and Somerset"
    assert _cell("loaded_at", "2026-11-28T00:07:39Z") == "28 November 2026"
    assert _cell("name", "police-uk-street") == "police-uk-street"  # only where the column names a kind


def test_step_changes_listed_once(assessment):
    """A theme counting exactly a police.uk category's crimes steps with it: the data-quality table lists the step
    once (it listed violence and sexual offences twice); a label two different series share says which is the
    theme; the JSON keeps every family's entry."""
    a = copy.deepcopy(assessment)
    step = {"month": "2024-07", "direction": "up", "before": 1000.0, "after": 1200.0, "ratio": 1.2}
    a["data_quality"]["level_shifts"] = [
        {"series": "violence-and-sexual-offences", "family": "categories", "label": "Violence and sexual offences",
         **step},
        {"series": "violence_and_sexual_offences", "family": "themes", "label": "Violence and sexual offences",
         **step},
        {"series": "burglary", "family": "categories", "label": "Burglary", **step},
        {"series": "burglary", "family": "themes", "label": "Burglary", **{**step, "after": 1100.0, "ratio": 1.1}},
    ]
    html = render_html(a)
    table = html[html.index("Step changes in monthly series"):]
    table = table[:table.index("</table>")]
    assert table.count("Violence and sexual offences") == 1
    assert "Burglary (police.uk category)" in table and "Burglary (theme)" in table
    assert "violence_and_sexual_offences" not in table and "Family" not in table
    assert len(a["data_quality"]["level_shifts"]) == 4 and "family" in a["data_quality"]["level_shifts"][0]


def test_hotspots_named_by_the_months_they_count(assessment):
    """Hotspots count the months held in both periods: when only some are held, the LSOA table's columns and
    Figure 5 name those months, not the whole periods; the snapped-points caveat is not repeated as a finding."""
    from crimeassess.report.render import like_for_like

    a = copy.deepcopy(assessment)
    a["coverage"].update(basis="matched_months", matched_months=["2025-03"], matched_previous_months=["2024-03"],
                         current_months=7)
    caveat = "police.uk locations are anonymised map points: these hotspots show where the snapped points cluster."
    a["hotspots"]["caveat"] = caveat
    a["hotspots"]["findings"] = [*a["hotspots"]["findings"], caveat[0].upper() + caveat[1:]]
    lfl = like_for_like(a["coverage"], a["period"], a["compare"])
    assert (lfl["cur_label"], lfl["prev_label"]) == ("March 2025", "March 2024")
    html = render_html(a)
    sec = html[html.index("<h3>Hotspots</h3>"):html.index("<h3>Harm</h3>")]
    assert "Where crimes concentrated in March 2025:" in sec and "new since March 2024" in sec
    head = re.search(r"<caption>LSOA hotspots.*?</thead>", sec, re.S).group(0)
    assert "March 2024" in head and "March 2025" in head and a["period"]["label"] not in head
    assert sec.lower().count("these hotspots show where the snapped points cluster") == 2  # caption and alt text


def test_a_step_between_the_periods_is_marked_beside_its_significance(assessment):
    """A category whose series stepped between the two periods (a recording change) carries a mark beside its
    significance and a note under its table, not only in the findings."""
    a = copy.deepcopy(assessment)
    cat = a["categories"][0]
    cat["level_shift"] = {"month": "2024-05", "direction": "up", "before": 500.0, "after": 800.0, "ratio": 1.6}
    html = render_html(a)
    sec = html[html.index('id="sec-categories"'):html.index('id="sec-asb"')]
    row = re.search(rf'<th scope="row" class="first">{re.escape(str(escape(cat["label"])))}</th>.*?</tr>', sec, re.S)
    assert "\u00a7" in row.group(0)
    assert (f"\u00a7 The monthly series stepped up in May 2024 ({cat['label']}), between the two periods compared: "
            "the change may reflect a change in recording rather than in crime.") in sec
    plain = render_html(assessment)
    assert "\u00a7" not in plain[plain.index('id="sec-categories"'):plain.index('id="sec-asb"')]  # no step: no mark


def test_no_measurable_priority_is_said_once(assessment):
    """When no priority theme can be measured (police.uk files), the section says so once and what each would
    need, instead of a table of 'not available' rows and a paragraph each."""
    a = copy.deepcopy(assessment)
    for p in a["priorities"]["items"]:
        p.update(available=False, reason="police.uk street-level crime files: no Home Office offence codes",
                 enable=f"A force extract would enable {p['label']}.",
                 missing=[f"Not available from these data (x). A force extract would enable {p['label']}."])
    html = render_html(a)
    sec = html[html.index('id="sec-priorities"'):html.index('id="sec-wards"')]
    n = len(a["priorities"]["items"])
    assert f"None of the {n} priority themes can be measured from these data (police.uk street-level crime " \
           "files: no Home Office offence codes)." in sec
    assert "not available from this source" not in sec and "Not available from these data" not in sec
    assert all(f"A force extract would enable {p['label']}." in sec for p in a["priorities"]["items"])
