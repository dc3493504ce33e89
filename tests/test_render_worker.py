"""The report's render worker (report/renderworker.py, issue 12): the HTML and PDF it writes are the ones the
calling process writes; the render's own errors come back as they are; a worker that is gone, or switched off,
leaves the render to the calling process."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crimeassess.errors import GeographyError
from crimeassess.report.build import build_report
from crimeassess.report.render import render_report
from crimeassess.report.renderworker import RenderWorker, WorkerGone


@pytest.fixture()
def worker(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CRIMEASSESS_RENDER_WORKER", "on")
    monkeypatch.setattr("crimeassess.report.renderworker.usable_cores", lambda: 2)
    w = RenderWorker.start()
    assert w is not None
    yield w
    w.close()


def test_worker_writes_what_the_caller_would(demo_assessment: dict[str, Any], demo_result: Any, worker: RenderWorker,
                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRIMEASSESS_CACHE_DIR", "off")  # both print their PDF
    demo_assessment["generated_at"] = "2026-11-27T12:00:00+00:00"
    here = render_report(demo_assessment, tmp_path / "here", wards_geo=demo_result.ward_geometry)
    stages: list[str] = []
    worker.submit(demo_assessment, tmp_path / "there", wards_geo=demo_result.ward_geometry)
    html, pdf = worker.wait(on_stage=stages.append)
    assert stages == ["rendering the HTML report", "printing the PDF"]
    assert html.read_text(encoding="utf-8") == here.html.read_text(encoding="utf-8")
    assert pdf is not None and here.pdf is not None
    assert pdf.read_bytes().startswith(b"%PDF-") and abs(pdf.stat().st_size - here.pdf.stat().st_size) < 2000
    # the same worker takes another report, HTML only
    worker.submit(demo_assessment, tmp_path / "again", wards_geo=demo_result.ward_geometry, pdf=False)
    html2, pdf2 = worker.wait()
    assert pdf2 is None and html2.read_text(encoding="utf-8") == html.read_text(encoding="utf-8")


def test_the_renders_error_comes_back(demo_assessment: dict[str, Any], worker: RenderWorker, tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    bad = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(0, 0).buffer(1)], crs="EPSG:27700")
    worker.submit(demo_assessment, tmp_path / "bad", wards_geo=bad)
    with pytest.raises(GeographyError, match="no 'code' column"):
        worker.wait()
    assert not worker.busy


def test_a_worker_that_is_gone_leaves_the_render_to_the_caller(demo_store: Any, worker: RenderWorker,
                                                               tmp_path: Path) -> None:
    worker.close(kill=True)
    with pytest.raises(WorkerGone):
        worker.submit({"area": {}}, tmp_path / "x")
        worker.wait()
    r = build_report(demo_store.area, demo_store.period, tmp_path / "report", demo_store.store, render_worker=worker)
    assert r.files["report.pdf"].read_bytes().startswith(b"%PDF-")
    assert "<html" in r.files["report.html"].read_text(encoding="utf-8")


def test_switched_off_renders_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRIMEASSESS_RENDER_WORKER", "off")
    assert RenderWorker.start() is None


def test_one_worker_per_process_lent_to_one_report_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from crimeassess.report import renderworker

    monkeypatch.setenv("CRIMEASSESS_RENDER_WORKER", "on")
    monkeypatch.setattr(renderworker, "usable_cores", lambda: 2)
    monkeypatch.setitem(renderworker._shared, "worker", None)
    monkeypatch.delitem(__import__("sys").modules, "weasyprint", raising=False)
    w = renderworker.acquire()
    assert w is not None
    try:
        assert renderworker.acquire() is None  # lent out: another report renders in its own process
    finally:
        renderworker.release(w)
    again = renderworker.acquire()
    assert again is w  # kept, warm, for the next report
    w.busy = True
    renderworker.release(again, failed=True)  # a report that failed mid-render: its worker is ended
    assert w.proc.poll() is not None and renderworker._shared["worker"] is None


def test_by_default_only_with_an_idle_core(monkeypatch: pytest.MonkeyPatch) -> None:
    from crimeassess.report import renderworker

    monkeypatch.delenv("CRIMEASSESS_RENDER_WORKER", raising=False)
    monkeypatch.setattr(renderworker, "usable_cores", lambda: 2)
    monkeypatch.setattr(renderworker.os, "getloadavg", lambda: (1.5, 0.5, 0.6))
    assert renderworker.enabled()
    monkeypatch.setattr(renderworker.os, "getloadavg", lambda: (2.3, 2.0, 1.0))  # every core busy already
    assert not renderworker.enabled()
    monkeypatch.setenv("CRIMEASSESS_RENDER_WORKER", "on")
    assert renderworker.enabled()
    monkeypatch.setenv("CRIMEASSESS_RENDER_WORKER", "")
    monkeypatch.setattr(renderworker, "usable_cores", lambda: 1)
    monkeypatch.setattr(renderworker.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert not renderworker.enabled()


def test_warm_up_extras_only_while_no_report_waits() -> None:
    """The worker's optional warm-up (a tiny chart, scipy.ndimage) runs only while no report is waiting on its
    input, so a quick assessment never waits for it; the chart it draws is the charts' SVG."""
    import os

    from crimeassess.report.renderworker import _idle, _warm_chart

    r, w = os.pipe()
    with os.fdopen(r, "rb") as inp, os.fdopen(w, "wb") as out:
        assert _idle(inp)
        out.write(b"x")
        out.flush()
        assert not _idle(inp)
    assert _idle(None)
    assert _warm_chart().lstrip().startswith("<?xml")


_PROBE = r"""
import atexit, sys
from crimeassess.assess import fitworker
from crimeassess.report import renderworker
def probe():
    r, f = renderworker._shared["worker"], fitworker._shared["worker"]
    sys.stderr.write(f"PROBE render={type(r.proc).__name__ if r else None} fit={bool(f and f.early)}\n")
atexit.register(probe)
sys.argv = ["crimeassess", *sys.argv[1:]]
{entry}
"""
_PROGRAM = "from crimeassess.program import main; main()"  # the crimeassess program's entry point
_APP = "from crimeassess.cli import app; app()"  # the commands alone


def test_the_crimeassess_program_forks_its_workers_and_writes_the_same_report(demo_store: Any, tmp_path: Path) -> None:
    """`crimeassess report` forks its render worker (and its fit worker) instead of starting interpreters; the
    report is the one a process without workers writes."""
    import os
    import subprocess
    import sys

    def run(entry: str, workers: str, out: Path) -> str:
        env = {**os.environ, "CRIMEASSESS_RENDER_WORKER": workers, "CRIMEASSESS_FIT_WORKER": workers,
               "CRIMEASSESS_CACHE_DIR": "off"}
        r = subprocess.run([sys.executable, "-c", _PROBE.replace("{entry}", entry), "report", "--store",
                            str(demo_store.store.path), "--area", demo_store.area, "--period", demo_store.period,
                            "--out", str(out)], env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        return r.stderr.rsplit("PROBE ", 1)[1].strip()

    assert run(_PROGRAM, "on", tmp_path / "forked") == "render=Forked fit=True"
    assert run(_APP, "off", tmp_path / "alone") == "render=None fit=False"
    html = (tmp_path / "forked" / "report.html").read_text(encoding="utf-8")
    assert html == (tmp_path / "alone" / "report.html").read_text(encoding="utf-8")
    pdf, alone = (tmp_path / "forked" / "report.pdf").read_bytes(), (tmp_path / "alone" / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and abs(len(pdf) - len(alone)) < 2000


def test_on_a_terminal_the_render_worker_is_still_forked(demo_store: Any, tmp_path: Path) -> None:
    """On a terminal the progress bar runs a thread, and no worker is forked while another thread runs: the
    command starts its render worker before the bar (`renderworker.start_soon`)."""
    import os
    import shlex
    import subprocess
    import sys

    from conftest import require_tool

    require_tool("script", "runs the command on a pseudo-terminal")
    cmd = shlex.join([sys.executable, "-c", _PROBE.replace("{entry}", _PROGRAM), "report", "--store",
                      str(demo_store.store.path), "--area", demo_store.area, "--period", demo_store.period,
                      "--out", str(tmp_path / "tty"), "--no-pdf"])
    env = {**os.environ, "CRIMEASSESS_RENDER_WORKER": "on", "CRIMEASSESS_FIT_WORKER": "on",
           "CRIMEASSESS_CACHE_DIR": "off"}
    r = subprocess.run(["script", "-q", "-e", "-c", cmd, "/dev/null"], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PROBE render=Forked fit=True" in r.stdout  # the terminal carries stderr too
    assert (tmp_path / "tty" / "report.html").exists()
