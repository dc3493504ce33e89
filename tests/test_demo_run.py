"""`crimeassess demo`: one command, no internet, a full report that finds the planted stories."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimeassess.cli import app


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    r = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "report.html" in r.output and "Key findings" in r.output
    assert "Synthetic data:" in r.output.split("Key findings")[0]  # said before anything the data show
    return out


def test_demo_writes_the_full_report(demo_out: Path) -> None:
    for f in ("report.html", "report.pdf", "assessment.json", "wards.csv", "themes.csv"):
        assert (demo_out / "report" / f).stat().st_size > 0


def test_demo_report_finds_the_planted_stories(demo_out: Path) -> None:
    a = json.loads((demo_out / "report" / "assessment.json").read_text())
    stories = json.loads((demo_out / "data" / "stories.json").read_text())["stories"]
    assert a["source"]["kind"] == "extract" and a["coverage"]["complete"]
    # (a) a run of rises in total crime
    assert a["total"]["run"] == {"direction": "rise", "length": 4}
    assert "fourth consecutive annual rise" in a["findings"][0]
    # (b) a ward with a significant rise, named in the findings
    ward_story = stories["ward_rise"]
    w = next(w for w in a["wards"] if w["code"] == ward_story["ward_code"])
    assert w["significant"] and w["change"] > 0
    assert any(w["name"] in f and "significant" in f for f in a["findings"])
    # (c) a theme with a non-significant change
    rob = next(t for t in a["themes"] if t["id"] == "robbery")
    assert not rob["significant"] and rob["change"] == rob["current"] - rob["previous"]
    # (d) one month missing from one source, reported in data quality
    months = {m["source"]: m for m in a["data_quality"]["months"]}
    missing = months["police-uk-street"]["months_missing"]
    assert stories["missing_month"]["month"] in missing
    assert months["extract"]["months_missing"] == []
    # anti-social behaviour comes from the police.uk files beside the extract
    assert a["anti_social_behaviour"]["source"] == "police-uk-street" and a["anti_social_behaviour"]["current"] > 0



def test_demo_asb_label_follows_its_like_for_like_numbers(demo_out: Path) -> None:
    """The comparison year's police.uk files lack one month: anti-social behaviour is compared on the other
    eleven, its label and arrow follow that change, and the missing month is shown beside it."""
    import csv

    a = json.loads((demo_out / "report" / "assessment.json").read_text())
    stories = json.loads((demo_out / "data" / "stories.json").read_text())["stories"]
    gap = stories["missing_month"]["month"]
    asb = a["anti_social_behaviour"]
    assert asb["basis"] == "matched_months" and gap in asb["missing_months"]
    # recount ASB from the demo's police.uk street files over the matched months, independently: rows in a
    # Demoport LSOA, or with no LSOA but a map point inside a Demoport ward
    from pyproj import Transformer
    from shapely.geometry import Point, shape
    from shapely.ops import unary_union

    geo = demo_out / "data" / "geography"
    with open(geo / "LSOA11_WD23_LAD23_EW_LU.csv", newline="", encoding="utf-8") as fh:
        lsoas = {r["LSOA11CD"] for r in csv.DictReader(fh)}
    city = unary_union([shape(f["geometry"]) for f in json.loads((geo / "wards.geojson").read_text())["features"]])
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)

    def inside(r: dict[str, str]) -> bool:
        if r["LSOA code"].strip():
            return r["LSOA code"] in lsoas
        if not (r["Longitude"].strip() and r["Latitude"].strip()):
            return False
        return city.contains(Point(*to_bng.transform(float(r["Longitude"]), float(r["Latitude"]))))

    def count(months: list[str]) -> int:
        n = 0
        for m in months:
            for f in (demo_out / "data").rglob(f"{m}-*-street.csv"):
                with open(f, newline="", encoding="utf-8") as fh:
                    n += sum(1 for r in csv.DictReader(fh) if r["Crime type"] == "Anti-social behaviour" and inside(r))
        return n
    assert gap not in asb["matched_previous_months"]
    assert asb["matched_previous"] == count(asb["matched_previous_months"])
    assert asb["matched_current"] == count(asb["matched_months"])
    assert asb["change"] == asb["matched_current"] - asb["matched_previous"]
    # its rate: incidents a year per 1,000 residents over its own months held (12 now, 11 before), residents
    # recounted from the Census file
    with open(demo_out / "data" / "population" / "census-2011-lsoa-population-households.csv", newline="",
              encoding="utf-8") as fh:
        residents = sum(int(r[9].replace(",", "")) for r in list(csv.reader(fh))[1:] if r[6] in lsoas)
    def months(p: dict[str, str]) -> list[str]:
        y, m = map(int, p["start"].split("-"))
        out = []
        while f"{y:04d}-{m:02d}" <= p["end"]:
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    cur_months = [m for m in months(a["period"]) if m not in asb["missing_months"]]
    prev_months = [m for m in months(a["compare"]) if m not in asb["missing_months"]]
    assert (asb["current_months"], asb["previous_months"]) == (len(cur_months), len(prev_months)) == (12, 11)
    assert asb["rate_per_1000"] == round(count(cur_months) / (12 / 12) / residents * 1000, 1)
    assert asb["previous_rate_per_1000"] == round(count(prev_months) / (11 / 12) / residents * 1000, 1)
    # the two rates its change compares: the 11 months held in both periods
    assert asb["matched_rate_per_1000"] == round(asb["matched_current"] / (11 / 12) / residents * 1000, 1)
    assert asb["matched_previous_rate_per_1000"] == round(asb["matched_previous"] / (11 / 12) / residents * 1000, 1)
    html = (demo_out / "report" / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="sec-asb"'):html.index('id="sec-quality"')]
    assert f"{asb['rate_per_1000']:.1f}" in section
    label = "Significant fall" if asb["change"] < 0 else "Significant rise"
    if asb["significant"]:
        assert label in section
    assert ("Significant rise" if asb["change"] < 0 else "Significant fall") not in section
    assert "missing" in section  # the missing month is shown beside the figure
    assert any(m["months"] == [gap] for m in a["data_quality"]["missing_months"])


def test_demo_says_its_data_are_synthetic(demo_out: Path) -> None:
    """The demo store carries a notice that its data are synthetic: the report says it on its cover and in place
    of the attribution of real sources, the CLI before its findings, the dashboard at the top of the panel."""
    import subprocess

    from fastapi.testclient import TestClient
    from markupsafe import escape

    from crimeassess.store import Store
    from crimeassess.web.app import create_app

    a = json.loads((demo_out / "report" / "assessment.json").read_text())
    notice = a["source"]["notice"]
    assert notice.startswith("Synthetic data:") and a["area"]["name"] in notice
    assert Store(demo_out / "store").notice() == notice
    html = (demo_out / "report" / "report.html").read_text(encoding="utf-8")
    assert html.count(str(escape(notice))) == 2  # the cover and the attribution
    assert "Contains OS data" not in html and "published under the" not in html
    cover = subprocess.run(["pdftotext", "-l", "1", str(demo_out / "report" / "report.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "Synthetic data:" in cover
    period = a["period"]["label"]
    r = CliRunner().invoke(app, ["assess", "--store", str(demo_out / "store"), "--area", a["area"]["name"],
                                 "--period", period])
    assert r.exit_code == 0, r.output
    assert "Synthetic data:" in r.output.split("Findings")[0]
    client = TestClient(create_app(demo_out / "store"))
    p = client.get("/panel", params={"area": a["area"]["name"], "period": period}, headers={"HX-Request": "true"})
    assert p.status_code == 200 and str(escape(notice)) in p.text
    page = client.get("/", params={"area": a["area"]["name"], "period": period}).text
    footer = page[page.index('<footer class="site-footer">'):]
    assert str(escape(notice)) in footer and "Contains OS data" not in footer
    # the extract (slug only) and the police.uk files (full name) of one force: named once, by its name
    info = re.search(r'<p class="store-info">(.*?)</p>', page, re.S).group(1)
    assert info.count("Demoshire") == 1 and "Demoshire Constabulary" in info


def test_demo_themes_give_one_count_in_every_view(demo_out: Path) -> None:
    """The demo report's themes come from its theme file (the harbour night-time economy zone): the dashboard
    and assess given the same file (as `demo` says to) show the report's counts, and the theme-rate comparison
    leaves out a theme the file redefines (other areas would be counted by the built-in definition)."""
    from fastapi.testclient import TestClient

    from crimeassess.web.app import create_app

    a = json.loads((demo_out / "report" / "assessment.json").read_text())
    themes_file = demo_out / "data" / "demo-themes.toml"
    assert themes_file.exists()
    nte = "sexual_offences_night_time_economy"
    want = next(t for t in a["themes"] if t["id"] == nte)
    assert nte not in a["theme_comparators"] and nte in a["themes_not_compared"]
    html = (demo_out / "report" / "report.html").read_text(encoding="utf-8")
    from markupsafe import escape

    # said under the theme-rate table
    assert str(escape(f"{want['label']} is defined by this report's theme file")) in html
    got = TestClient(create_app(demo_out / "store", themes=[themes_file])).get(
        "/api/assessment", params={"area": a["area"]["name"], "period": a["period"]["label"]}).json()
    mine = next(t for t in got["themes"] if t["id"] == nte)
    assert (mine["current"], mine["previous"]) == (want["current"], want["previous"])
    r = CliRunner().invoke(app, ["assess", "--store", str(demo_out / "store"), "--area", a["area"]["name"],
                                 "--period", a["period"]["label"], "--themes", str(themes_file), "--format", "json"])
    assert r.exit_code == 0, r.output
    mine = next(t for t in json.loads(r.output)["themes"] if t["id"] == nte)
    assert (mine["current"], mine["previous"]) == (want["current"], want["previous"])


def test_cli_asb_row_adds_up(demo_out: Path) -> None:
    """The demo's anti-social behaviour is compared over 11 months (a police.uk month is missing) while crime is
    complete: the CLI's row gives the counts its change compares, so current - previous is the change shown."""
    a = json.loads((demo_out / "report" / "assessment.json").read_text())
    asb = a["anti_social_behaviour"]
    assert asb["basis"] == "matched_months" and a["coverage"]["basis"] == "complete"
    r = CliRunner().invoke(app, ["assess", "--store", str(demo_out / "store"), "--area", a["area"]["name"],
                                 "--period", a["period"]["label"]], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if "Anti-social behaviour (not crime)" in line)
    assert f"the {len(asb['matched_months'])} months held in both" in row  # the line may wrap after it
    cells = [c.strip() for c in row.split("│")[2:5]]
    cur, prev, chg = (int(c.replace(",", "").replace("−", "-").replace("+", "")) for c in cells)
    assert (cur, prev) == (asb["matched_current"], asb["matched_previous"]) and cur - prev == chg == asb["change"]
    # its rate is over the same months (the whole period's 20.1 would not fit 4,627)
    assert row.split("│")[6].strip() == f"{asb['matched_rate_per_1000']:.1f}" != f"{asb['rate_per_1000']:.1f}"
    # the theme list does not call it unavailable: it is counted from police.uk, in the row above
    assert "Anti-social behaviour" not in next((ln for ln in r.output.splitlines() if "Not available" in ln), "")
    # the dashboard sets side by side only the two rates its change compares
    from fastapi.testclient import TestClient

    from crimeassess.web.app import create_app

    p = TestClient(create_app(demo_out / "store")).get(
        "/panel", params={"area": a["area"]["name"], "period": a["period"]["label"]}, headers={"HX-Request": "true"})
    box = p.text[p.text.index("Incidents per 1,000 residents a year"):]
    box = box[:box.index("</div>")]
    assert f'"big">{asb["rate_per_1000"]:.1f}<' in box
    assert (f"{asb['matched_rate_per_1000']:.1f} against {asb['matched_previous_rate_per_1000']:.1f} over the months "
            "held in both periods") in box
