"""The command line as a user meets it: tables by default, JSON on request, one clean line on errors."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from crimeassess.cli import app
from policeuk_fixtures import row, street_csv

runner = CliRunner()


def _store_with_data(tmp_path: Path) -> tuple[Path, Path]:
    f = tmp_path / "2018-03" / "2018-03-testshire-street.csv"
    f.parent.mkdir()
    f.write_bytes(street_csv([row("a", "2018-03", "Burglary"), row("b", "2018-13", "Burglary"),
                              row("", "2018-03", "Anti-social behaviour")]))
    return f, tmp_path / "store"


def test_ingest_table_and_json(tmp_path: Path) -> None:
    f, store = _store_with_data(tmp_path)
    r = runner.invoke(app, ["ingest", str(f.parent), "--store", str(store)])
    assert r.exit_code == 0, r.output
    assert "2018-03-testshire-street.csv" in r.output and "loaded" in r.output
    r = runner.invoke(app, ["ingest", str(f), "--store", str(store), "--json"])
    d = json.loads(r.stdout)
    (inp,) = d["inputs"]
    assert inp["status"] == "unchanged"


def test_ingest_json_reconciles(tmp_path: Path) -> None:
    f, store = _store_with_data(tmp_path)
    d = json.loads(runner.invoke(app, ["ingest", str(f), "--store", str(store), "--json"]).stdout)
    (inp,) = d["inputs"]
    assert (inp["rows_read"], inp["rows_loaded"], inp["rows_quarantined"]) == (3, 2, 1)
    assert inp["quarantine_reasons"] == {"invalid month": 1}
    assert inp["sha256"] and inp["months"] == ["2018-03"] and inp["force"] == "testshire"


def test_inputs_and_quarantine(tmp_path: Path) -> None:
    f, store = _store_with_data(tmp_path)
    runner.invoke(app, ["ingest", str(f), "--store", str(store)])
    r = runner.invoke(app, ["inputs", "--store", str(store)])
    assert r.exit_code == 0 and "live" in r.output
    entries = json.loads(runner.invoke(app, ["inputs", "--store", str(store), "--json"]).stdout)
    assert entries[0]["rows_read"] == 3 and entries[0]["live"] is True
    q = json.loads(runner.invoke(app, ["quarantine", "--store", str(store), "--json"]).stdout)
    assert q[0]["line"] == 3 and q[0]["reason"].startswith("invalid month") and "2018-13" in q[0]["raw"]
    r = runner.invoke(app, ["quarantine", "--store", str(store)])
    assert r.exit_code == 0 and "invalid month" in r.output


def test_store_from_environment(tmp_path: Path, monkeypatch) -> None:
    f, _ = _store_with_data(tmp_path)
    monkeypatch.setenv("CRIMEASSESS_STORE", str(tmp_path / "env-store"))
    assert runner.invoke(app, ["ingest", str(f)]).exit_code == 0
    assert (tmp_path / "env-store" / "manifest.json").exists()


def test_themes_listing() -> None:
    rows = json.loads(runner.invoke(app, ["themes", "--json"]).stdout)
    ids = {r["id"]: r for r in rows}
    assert ids["knife_crime"]["sources"] == ["extract"]
    assert "police-uk-street" in ids["burglary"]["sources"]


def test_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "notes.csv"
    bad.write_text("name,age\nbob,3\n")
    for args in (["ingest", str(bad), "--store", str(tmp_path / "s")],
                 ["ingest", str(tmp_path / "missing.csv"), "--store", str(tmp_path / "s")],
                 ["geography", "load", str(bad), "--store", str(tmp_path / "s")],
                 ["assess", "--area", "X", "--period", "2018-03", "--store", str(tmp_path / "s")],
                 ["assess", "--period", "2018-03", "--store", str(tmp_path / "s")],
                 ["themes", "--themes", str(bad)],
                 ["serve", "--store", str(tmp_path / "nothing-here")]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), (args, r.output)
        assert "Traceback" not in r.output


def test_version_and_help_show_flags_as_flags() -> None:
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.startswith("crimeassess ")
    for cmd in ([], ["assess"], ["report"], ["demo"], ["ingest"], ["download", "police-uk"]):
        text = runner.invoke(app, [*cmd, "--help"]).stdout
        assert "<bool>" not in text, cmd
    text = runner.invoke(app, ["report", "--help"]).stdout
    assert "--no-pdf " in text and "<auto|lsoa|point>" in text and "<holm|bh>" in text


def test_choices_are_checked(tmp_path: Path) -> None:
    r = runner.invoke(app, ["assess", "--area", "X", "--period", "2018-03", "--placement", "nowhere",
                            "--store", str(tmp_path / "s")])
    assert r.exit_code == 2 and "nowhere" in r.output


def test_report_gc_policy() -> None:
    """A one-area report collects young objects every 10,000 allocations; a batch keeps the process's thresholds;
    either way the collector's passes at exit are skipped (an atexit handler, registered once)."""
    import atexit
    import gc

    from crimeassess import cli

    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        cli._report_gc(one_report=False)
        assert gc.get_threshold() == (700, 10, 10)
        cli._report_gc(one_report=True)
        assert gc.get_threshold() == cli.REPORT_GC_THRESHOLD
    finally:
        gc.set_threshold(*saved)
        atexit.unregister(cli._freeze_gc)
