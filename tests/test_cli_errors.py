"""Every named exception reaches the user through the CLI as exit 2 and one `error:` line with its message."""
from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import crimeassess.cli as cli
from crimeassess import errors
from crimeassess.store import Store
from policeuk_fixtures import row, street_csv
from small_city import build_small_city

runner = CliRunner()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_small_city(tmp_path_factory.mktemp("city"))


@pytest.fixture()
def raised(monkeypatch: pytest.MonkeyPatch) -> list[type]:
    """The class of each exception the CLI turned into an error line (seen while it is being handled)."""
    seen: list[type] = []
    original = cli.err.print

    def spy(*a, **k):
        seen.append(sys.exc_info()[0])
        return original(*a, **k)

    monkeypatch.setattr(cli.err, "print", spy)
    return seen


def _cases(tmp: Path, city: Store) -> list[tuple[type, list[str], str]]:
    s = str(city.path)
    good = tmp / "2018-03-testshire-street.csv"
    good.write_bytes(street_csv([row("a", "2018-03", "Burglary")]))
    notes = tmp / "notes.csv"
    notes.write_text("name,age\nbob,3\n")
    slip = tmp / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("../evil.csv", street_csv([row("a", "2018-03", "Burglary")]))
    mapping = tmp / "m.toml"
    mapping.write_text('[columns]\ncrime_id = "CRN"\ndelimeter = ";"\n')
    themes = tmp / "t.toml"
    themes.write_text("not_a_table = 1\n")
    broken = tmp / "broken-store"
    broken.mkdir()
    (broken / "manifest.json").write_text("{nope")
    return [
        (errors.InputError, ["ingest", str(notes), "--store", str(tmp / "x")], "not police.uk data or a force extract"),
        (errors.InputError, ["ingest", str(tmp / "missing.csv"), "--store", str(tmp / "x")], "no such file or folder"),
        (errors.UnsafeArchiveError, ["ingest", str(slip), "--store", str(tmp / "x")], "escapes the target folder"),
        (errors.MappingError, ["ingest", str(good), "--mapping", str(mapping), "--store", str(tmp / "x")],
         "'delimeter' is not a canonical column"),
        (errors.StoreError, ["assess", "--area", "Smalltown", "--period", "2018-03", "--store", str(broken)],
         "unreadable store manifest"),
        (errors.StoreError, ["store", "gc", "--store", str(tmp / "none")], "no store here"),
        (errors.NoStoreError, ["assess", "--area", "Smalltown", "--period", "2018-03", "--store", str(tmp / "none")],
         "no store here"),
        (errors.AreaNotFoundError, ["assess", "--area", "Nowhereville", "--period", "2018-03", "--store", s],
         "'Nowhereville' not found"),
        (errors.PeriodError, ["assess", "--area", "Smalltown", "--period", "2018-13", "--store", s],
         "period '2018-13' not understood"),
        (errors.PeriodError, ["report", "--area", "Smalltown", "--period", "1990-01..2020-12", "--out", str(tmp / "r"),
                              "--store", s], "the longest period is 120 months"),
        (errors.GeographyError, ["assess", "--area", "Smalltown", "--period", "2018-03", "--ward-vintage", "WD99",
                                 "--store", s], "ward vintage WD99 is not loaded"),
        (errors.ThemeError, ["themes", "--themes", str(themes)], "not_a_table"),
        # a bad theme file for the dashboard: one line before it serves (not an error on every page)
        (errors.ThemeError, ["serve", "--store", s, "--themes", str(themes)], "not_a_table"),
        (errors.NoDataError, ["assess", "--area", "Smalltown", "--period", "2010-01", "--store", s],
         "no data for Smalltown in 2010-01; the store holds"),
        (errors.CrimeAssessError, ["assess", "--period", "2018-03", "--store", s],
         "give --area NAME|CODE or --area-file FILE"),
        # JAVA_HOME points nowhere (set by the test): no pyspark or no Java, either way one line, no JVM.
        (errors.EngineError, ["build-aggregates", "--engine", "spark", "--rebuild", "--store", s],
         "the Spark engine needs"),
    ]


def test_every_named_exception_is_one_line_exit_2(tmp_path: Path, city: Store, raised: list[type],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    cases = _cases(tmp_path, city)
    assert {c[0] for c in cases} >= {e for e in vars(errors).values()
                                     if isinstance(e, type) and issubclass(e, errors.CrimeAssessError)} - {errors.DownloadError}
    for cls, args, message in cases:
        raised.clear()
        r = runner.invoke(cli.app, args)
        assert r.exit_code == 2, (args, r.output)
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, r.output)
        assert message in lines[0], (message, lines[0])
        assert raised == [cls], (args, raised)
    assert not (tmp_path / "x" / "manifest.json").exists()  # no failed ingest wrote anything


def test_download_error_is_one_line_exit_2(tmp_path: Path, raised: list[type]) -> None:
    r = runner.invoke(cli.app, ["download", "police-uk", "--force", "hampshire", "--from", "2018-03", "--to", "2018-03",
                                "--base-url", "http://127.0.0.1:9/nothing", "--layout", "monthly",
                                "--store", str(tmp_path / "s")])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert r.output.startswith("error: ") and "127.0.0.1:9" in r.output
    assert raised == [errors.DownloadError]


def test_ingest_json_lists_skips_with_reasons(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello\n")
    (folder / "bad.zip").write_bytes(b"PK\x05\x06junk")
    (folder / "2018-03-testshire-street.csv").write_bytes(street_csv([row("a", "2018-03", "Burglary")]))
    r = runner.invoke(cli.app, ["ingest", str(folder), "--store", str(tmp_path / "s"), "--json"])
    assert r.exit_code == 0, r.output
    got = {Path(i["path"]).name: (i["status"], i["reason"]) for i in json.loads(r.stdout)["inputs"]}
    assert got["notes.txt"][0] == "skipped" and got["bad.zip"][0] == "skipped"
    assert got["2018-03-testshire-street.csv"] == ("loaded", None)
