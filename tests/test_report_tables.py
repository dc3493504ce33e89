"""Every CSV a report writes, read back and recounted from the fixture; report folders replaced only whole."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimeassess.cli import app
from crimeassess.store import Store
from small_city import COUNTS, WARDS, build_small_city

runner = CliRunner()
CATEGORY_IDS = {"Burglary": "burglary", "Drugs": "drugs", "Robbery": "robbery", "Vehicle crime": "vehicle-crime"}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_small_city(tmp_path_factory.mktemp("city"))


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _report(city: Store, out: Path, *extra: str) -> None:
    r = runner.invoke(app, ["report", "--area", "Smalltown", "--period", "2018-03", "--out", str(out), "--store",
                            str(city.path), "--no-pdf", *extra])
    assert r.exit_code == 0, r.output


def test_every_report_csv_is_read_back_and_recounted(city: Store, tmp_path: Path) -> None:
    out = tmp_path / "r"
    _report(city, out)
    total = [sum(t[i] for w in COUNTS.values() for t in w.values()) for i in (0, 1)]
    totals = {r["measure"]: r for r in _read(out / "totals.csv")}
    assert [int(totals["total_recorded_crime"][k]) for k in ("current", "previous")] == total
    assert int(totals["total_recorded_crime"]["change"]) == total[0] - total[1]
    cats = {r["id"]: r for r in _read(out / "categories.csv")}
    for ctype, cid in CATEGORY_IDS.items():
        want = [sum(COUNTS[w][ctype][i] for w in COUNTS) for i in (0, 1)]
        assert [int(cats[cid]["current"]), int(cats[cid]["previous"])] == want, ctype
    assert all(int(r["current"]) == 0 for k, r in cats.items() if k not in CATEGORY_IDS.values())
    wards = {r["code"]: r for r in _read(out / "wards.csv")}
    names = dict(WARDS)
    assert set(wards) == set(names)
    for code, types in COUNTS.items():
        assert int(wards[code]["current"]) == sum(t[0] for t in types.values())
        assert int(wards[code]["previous"]) == sum(t[1] for t in types.values())
    assert wards["E05009004"]["name"] == "'=West()"  # a formula-like ward name is neutralised
    assert sorted(int(r["rank"]) for r in wards.values()) == [1, 2, 3, 4]
    wt = _read(out / "ward_themes.csv")
    burglary = {r["ward_code"]: int(r["current"]) for r in wt if r["theme"] == "burglary"}
    assert burglary == {code: COUNTS[code]["Burglary"][0] for code in COUNTS}
    themes = {r["id"]: r for r in _read(out / "themes.csv")}
    assert int(themes["burglary"]["current"]) == sum(COUNTS[w]["Burglary"][0] for w in COUNTS)
    assert themes["burglary"]["available"] == "True"
    series = [r for r in _read(out / "series.csv") if r["measure"] == "total"]
    by_label = {r["label"]: int(r["count"]) for r in series if r["count"] != ""}
    assert by_label["2018-03"] == total[0]
    # months the store does not hold are in the series with no count (never 0), and never "complete"
    gaps = [r for r in series if r["count"] == ""]
    assert all(r["complete"] == "False" and r["months_held"] == "0" for r in gaps)
    assert "2018-02" not in by_label
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask  # an ordinary folder, not the private temporary one


def test_report_leaves_the_old_report_when_it_fails(city: Store, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "report.html").write_text("OLD")
    import crimeassess.report.build as build

    def boom(a, folder):  # fail after report.html and assessment.json were written
        raise OSError("disk full")

    monkeypatch.setattr(build, "write_tables", boom)
    with pytest.raises(OSError):
        build.build_report("Smalltown", "2018-03", out, city, pdf=False)
    assert (out / "report.html").read_text() == "OLD" and sorted(p.name for p in out.iterdir()) == ["report.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no temporary folder left behind


def test_report_keeps_a_users_other_files(city: Store, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "report.html").write_text("OLD")
    _report(city, out)
    assert (out / "notes.txt").read_text() == "mine" and "OLD" not in (out / "report.html").read_text()
    assert {p.name for p in out.iterdir()} == {"notes.txt", "report.html", "assessment.json", "totals.csv",
                                               "categories.csv", "themes.csv", "wards.csv", "ward_themes.csv",
                                               "series.csv", "comparators.csv", "tables.xlsx", "outcomes.csv",
                                               "places.csv"}


def test_killed_report_leaves_the_old_report(city: Store, tmp_path: Path) -> None:
    out = tmp_path / "r"
    _report(city, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code = ("import sys; from crimeassess.report.build import build_report; "
            "build_report('Smalltown', '2017-03', sys.argv[1], sys.argv[2], pdf=False)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out), str(city.path)],
                            env={**os.environ, "CRIMEASSESS_PAUSE_AT": "report-before-move"})
    flag = tmp_path / ".paused-report-before-move"
    deadline = time.monotonic() + 120
    while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert flag.exists(), "report never reached the pause point"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_report_into_a_folder_whose_parent_is_read_only(city: Store, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    real = tempfile.mkdtemp

    def no_parent(*a, dir=None, **k):  # noqa: A002 - the parent refuses new folders, as a read-only one would
        if Path(dir) == tmp_path:
            raise PermissionError(13, "Permission denied")
        return real(*a, dir=dir, **k)

    monkeypatch.setattr(tempfile, "mkdtemp", no_parent)
    _report(city, out)
    assert (out / "notes.txt").read_text() == "mine" and (out / "wards.csv").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # the working folder inside is gone
