"""`crimeassess demo`: one command, no internet, a full report that finds the planted stories."""
from __future__ import annotations

import json
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

