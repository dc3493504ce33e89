"""The aggregation on Spark (crimeassess[spark]): the same aggregate files as DuckDB's from the real Hampshire
street files, the same assessment, and one-line errors when pyspark or a suitable Java is missing."""
from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import crimeassess.cli as cli
from crimeassess.aggregate import (AGG_SCHEMA, AggregateReport, live_record_files, missing, read_state,
                                   refresh_aggregates)
from crimeassess.assess.engine import assess
from crimeassess.errors import EngineError
from crimeassess.geography.load import load_geography
from crimeassess.ingest import ingest
from crimeassess.schema import CRIME_TYPES
from crimeassess.spark import build_with_spark, check_java, parse_java_version
from crimeassess.store import Store
from conftest import skip_or_fail
from policeuk_fixtures import row, street_csv

runner = CliRunner()
KEYS = [(f.name, "ascending") for f in AGG_SCHEMA]


# ---- without Spark: the checks that run before any JVM ----------------------------------------------------
@pytest.mark.parametrize("text, major", [
    ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
    ('java version "1.8.0_402"\nJava(TM) SE Runtime Environment', 8),
    ('openjdk version "21" 2023-09-19', 21),
    ('openjdk version "25" 2025-09-16', 25),
    ("no version here", None),
])
def test_parse_java_version(text: str, major: int | None) -> None:
    assert parse_java_version(text) == major


def _fake_java(tmp: Path, version_line: str) -> Path:
    home = tmp / "jdk"
    (home / "bin").mkdir(parents=True)
    exe = home / "bin" / "java"
    exe.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    exe.chmod(0o755)
    return home


def test_java_25_is_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, 'openjdk version "25" 2025-09-16')))
    with pytest.raises(EngineError) as e:
        check_java()
    msg = str(e.value)
    assert "\n" not in msg and "Java 17–21" in msg and "fails at start-up on Java 25" in msg


def test_java_17_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, 'openjdk version "17.0.15" 2025-04-15')))
    assert check_java() == 'openjdk version "17.0.15" 2025-04-15'


def test_no_java_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nothing"))
    with pytest.raises(EngineError, match="openjdk-17-jre-headless"):
        check_java()


def test_without_pyspark_the_error_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    st = Store(tmp_path / "store")
    with pytest.raises(EngineError, match=r"pip install 'crimeassess\[spark\]'"):
        build_with_spark(st, ["records/x.parquet"], report=AggregateReport(str(st.path), "spark"))


def test_cli_engine_spark_error_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "2018-03-testshire-street.csv"
    src.write_bytes(street_csv([row("a", "2018-03", "Burglary"), row("b", "2018-03", "Robbery")]))
    ingest([src], Store(tmp_path / "store"))
    monkeypatch.setitem(sys.modules, "pyspark", None)
    r = runner.invoke(cli.app, ["build-aggregates", "--engine", "spark", "--rebuild", "--store", str(tmp_path / "store")])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert lines[0].startswith("error: ") and "pip install 'crimeassess[spark]'" in lines[0]


# ---- with Spark on local[2]: the real Hampshire street files ----------------------------------------------
def _require_spark() -> None:
    """Skip (fail under CI=true) when pyspark or Java 17–21 is missing."""
    try:
        import ibis.backends.pyspark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError:
        skip_or_fail("pyspark is not installed (pip install 'crimeassess[spark]')")
    try:
        check_java()
    except EngineError as exc:
        skip_or_fail(str(exc))


@pytest.fixture(scope="module")
def two_stores(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Store, AggregateReport, list[Path]]:
    """The Hampshire street files in one store aggregated by DuckDB, and a copy re-aggregated by Spark
    (one JVM for the module)."""
    _require_spark()
    files = sorted((shared_data / "police-uk" / "archive").glob("*/*-hampshire-street.csv"))
    assert files, "no Hampshire street files in the shared data"
    base = tmp_path_factory.mktemp("spark")
    duck = Store(base / "duckdb")
    ingest(files, duck)
    lk = shared_data / "geography" / "lookups"
    load_geography([lk / "LSOA11_WD17_LAD17_EW_LU.csv", lk / "LAD17_CSP17_PFA17_EW_LU.csv"], duck)
    refresh_aggregates(duck, engine="duckdb", rebuild=True)
    # without any derived cube of DuckDB's aggregates, so everything the Spark store serves comes from Spark's
    shutil.copytree(duck.path, base / "spark", ignore=shutil.ignore_patterns("cube-*"))
    spark = Store(base / "spark")
    rep = refresh_aggregates(spark, engine="spark", master="local[2]", rebuild=True)
    return duck, spark, rep, files


def _recount(files: list[Path]) -> Counter:
    """Rows by (month, crime type id), straight from the CSVs."""
    ids = {label: cid for cid, label in CRIME_TYPES.items()}
    c: Counter = Counter()
    for f in files:
        with open(f, newline="", encoding="utf-8-sig") as fh:
            for r in csv.DictReader(fh):
                c[(r["Month"], ids[r["Crime type"]])] += 1
    return c


@pytest.mark.realdata
@pytest.mark.slow
def test_spark_aggregates_equal_duckdb(two_stores) -> None:
    duck, spark, rep, files = two_stores
    live = live_record_files(spark)
    assert rep.engine == "spark" and sorted(rep.built) == sorted(live)
    assert read_state(spark)["files"] == read_state(duck)["files"]
    for rel in live:
        out = read_state(spark)["files"][rel]
        s = pq.read_table(spark.path / out)
        d = pq.read_table(duck.path / out)
        assert s.schema.equals(AGG_SCHEMA)
        # DuckDB's COPY marks columns without nulls REQUIRED; names and types are the same.
        assert [(f.name, f.type) for f in d.schema] == [(f.name, f.type) for f in AGG_SCHEMA]
        assert s.num_rows == d.num_rows > 0
        assert s.sort_by(KEYS).equals(d.cast(AGG_SCHEMA).sort_by(KEYS))
    # The counts themselves, recounted from the CSVs (every Hampshire row loads: none are quarantined).
    got: Counter = Counter()
    for rel in live:
        t = pq.read_table(spark.path / read_state(spark)["files"][rel]).group_by(["month", "category_id"]).aggregate(
            [("n", "sum")])
        for m, cat, n in zip(t["month"].to_pylist(), t["category_id"].to_pylist(), t["n_sum"].to_pylist()):
            got[(m, cat)] += n
    want = _recount(files)
    assert got == want
    assert rep.records_rows == sum(want.values())
    assert rep.aggregate_rows == sum(pq.ParquetFile(spark.path / read_state(spark)["files"][r]).metadata.num_rows
                                     for r in live)
    assert rep.details["master"] == "local[2]" and rep.details["jvm_start_s"] > 0 and rep.details["aggregate_s"] > 0
    assert rep.details["java_version"].startswith(("openjdk version", "java version"))
    # months stay strings, the month of each file it came from
    months = pc.unique(pq.read_table(spark.path / read_state(spark)["files"][live[0]], columns=["month"])["month"])
    assert {m for m, _ in want} >= set(months.to_pylist())


@pytest.mark.realdata
@pytest.mark.slow
def test_same_assessment_from_both_stores(two_stores) -> None:
    duck, spark, _, _ = two_stores
    a = assess("Southampton", "2018-03", store=duck).to_dict()
    b = assess("Southampton", "2018-03", store=spark).to_dict()
    assert a["total"]["current"] > 0
    a.pop("generated_at"), b.pop("generated_at")
    assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)



@pytest.mark.realdata
@pytest.mark.slow
def test_records_read_from_a_copy_elsewhere(two_stores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$CRIMEASSESS_SPARK_RECORDS_URL: records read from a copy of the store (here a file:// URL; s3a:// on a
    cluster), aggregates written into the local store, which holds no records files at all."""
    duck, spark, _, _ = two_stores
    local = tmp_path / "store"
    shutil.copytree(spark.path, local, ignore=shutil.ignore_patterns("records", "aggregates"))
    monkeypatch.setenv("CRIMEASSESS_SPARK_RECORDS_URL", duck.path.as_uri())
    rep = refresh_aggregates(Store(local), engine="spark", master="local[2]")
    assert not (local / "records").exists()
    assert read_state(Store(local))["files"] == read_state(duck)["files"]
    for rel, out in read_state(duck)["files"].items():
        assert rel in rep.built
        assert pq.read_table(local / out).sort_by(KEYS).equals(pq.read_table(duck.path / out).cast(AGG_SCHEMA).sort_by(KEYS))


@pytest.mark.realdata
@pytest.mark.slow
def test_spark_aggregates_feed_the_live_view(two_stores, shared_data: Path) -> None:
    """Southampton's crimes in March 2018 through the store's live aggregate view over Spark's files, against
    a recount from the CSV and the LSOA lookup."""
    from crimeassess.aggregate import register_live_aggregates

    _, spark, _, _ = two_stores
    with open(shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        lsoas = {r["LSOA11CD"] for r in csv.DictReader(fh) if r["LAD17CD"] == "E06000045"}
    with open(shared_data / "police-uk/archive/2018-03/2018-03-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
        want = sum(1 for r in csv.DictReader(fh) if r["LSOA code"] in lsoas and r["Crime type"] != "Anti-social behaviour")
    assert missing(spark) == []  # so the view reads Spark's files, not a DuckDB refresh
    con = spark.connect()
    assert register_live_aggregates(con, spark)
    got = con.execute("SELECT sum(n) FROM agg WHERE month = '2018-03' AND is_crime AND lsoa_code IN (SELECT unnest(?))",
                      [sorted(lsoas)]).fetchone()[0]
    assert want > 0 and got == want


@pytest.mark.parametrize("master, cores", [("local", 1), ("local[2]", 2), ("local[3,2]", 3), ("local[*]", os.cpu_count()),
                                           ("spark://host:7077", None), ("yarn", None)])
def test_local_cores(master: str, cores: int | None) -> None:
    from crimeassess.spark import _local_cores

    assert _local_cores(master) == cores
