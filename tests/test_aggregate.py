"""The aggregate store (aggregate.py): counts recounted from the CSVs, revisions, crash leftovers, and the
engine reading it gives exactly what it gives from the records alone."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from crimeassess import aggregate
from crimeassess.aggregate import AGG_SCHEMA, read_state, refresh_aggregates, register_live_aggregates
from crimeassess.assess import comparators, engine
from crimeassess.cli import app
from crimeassess.ingest import ingest
from crimeassess.store import Store, check_store, gc_store

pytestmark = []
HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
          "LSOA name", "Crime type", "Last outcome category", "Context"]


def _csv_counts(root: Path) -> Counter:
    """(force slug, month, crime type) → rows, straight from the street CSVs; a Crime ID repeated within a file
    counts once (the store quarantines the repeats)."""
    got: Counter = Counter()
    for f in sorted(root.rglob("*-street.csv")):
        force = f.name[8:-len("-street.csv")]
        seen: set[str] = set()
        with open(f, newline="", encoding="utf-8-sig") as fh:
            for r in csv.DictReader(fh):
                cid = r["Crime ID"]
                if cid and cid in seen:
                    continue
                seen.add(cid)
                got[(force, r["Month"], r["Crime type"])] += 1
    return got


@pytest.mark.realdata
def test_aggregates_equal_a_csv_recount(real_archive_store: Store, shared_data: Path) -> None:
    st = real_archive_store
    assert not aggregate.missing(st)  # built at the end of ingest
    con = st.connect()
    try:
        assert register_live_aggregates(con, st)
        rows = con.execute("SELECT force, month, crime_type, sum(n) FROM agg a JOIN (SELECT DISTINCT category_id, "
                           "crime_type FROM records) t USING (category_id) GROUP BY ALL").fetchall()
        n_records = con.execute("SELECT count(*) FROM records").fetchall()[0][0]
    finally:
        con.close()
    want = _csv_counts(shared_data / "police-uk" / "archive")
    assert {(f, m, t): int(n) for f, m, t, n in rows} == dict(want)
    assert sum(want.values()) == n_records
    for f in read_state(st)["files"].values():
        assert pq.read_schema(st.path / f).remove_metadata().equals(AGG_SCHEMA)  # exactly, nullability too


def _without_aggregates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "register_live_aggregates", lambda con, st: False)
    monkeypatch.setattr(comparators, "register_live_aggregates", lambda con, st: False)
    monkeypatch.setattr(comparators, "register_cube", lambda *a, **k: False)


def _json(res) -> dict:
    d = json.loads(res.to_json())
    d.pop("generated_at")
    return d


@pytest.mark.realdata
@pytest.mark.parametrize("area,period", [("Southampton", "2018-03"), ("Bitterne", "2017-04..2017-09"),
                                         ("Hampshire", "2018-03")])
def test_engine_reading_aggregates_changes_no_number(real_archive_store: Store, monkeypatch: pytest.MonkeyPatch,
                                                     area: str, period: str) -> None:
    fast = _json(engine.assess(area, period, store=real_archive_store, peers=["Leeds"]))
    with monkeypatch.context() as m:
        _without_aggregates(m)
        slow = _json(engine.assess(area, period, store=real_archive_store, peers=["Leeds"]))
    assert fast == slow
    assert fast["comparators"]  # the comparison rows came from the cube in the fast run


@pytest.mark.realdata
def test_an_area_reads_only_the_forces_that_can_hold_its_crimes(real_archive_store: Store) -> None:
    st = real_archive_store
    con = st.connect()
    try:
        engine._register_offences(con)
        tgt = engine._resolve_target(con, st, "Southampton", None, None)
        con.execute(f"CREATE TEMP TABLE lk AS SELECT lsoa_code, ward_code, ward_name, lad_code, lad_name FROM "
                    f"read_parquet('{st.geography_file('lsoa_ward', tgt.vintage)}')")
        info = engine._narrow_records(con, st, tgt, "lsoa")
        forces = {r[0] for r in con.execute("SELECT DISTINCT force FROM records").fetchall()}
        every = {r[0] for r in con.execute("SELECT DISTINCT force FROM all_records").fetchall()}
    finally:
        con.close()
    assert info["narrowed"] and "hampshire" in forces and "west-yorkshire" not in forces
    assert every == {"hampshire", "dorset", "west-yorkshire"}


def _street(path: Path, month: str, force_name: str, rows: list[tuple[str, str, str]]) -> Path:
    """A police.uk street CSV: rows of (crime id, LSOA code, crime type)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for cid, lsoa, ctype in rows:
            w.writerow([cid, month, force_name, force_name, "-1.4", "50.9", "On or near Here", lsoa, "Somewhere 001A",
                        ctype, "Under investigation" if cid else "", ""])
    return path


def test_a_republished_month_replaces_its_counts_and_new_batches_add_files(tmp_path: Path) -> None:
    st = Store(tmp_path / "store")
    v1 = [(f"{i:064x}", "E01000001", "Burglary") for i in range(30)] + [("", "E01000002", "Anti-social behaviour")] * 4
    ingest([_street(tmp_path / "a" / "2020-01" / "2020-01-testshire-street.csv", "2020-01", "Testshire Police", v1)], st)
    assert len(read_state(st)["files"]) == 1
    v2 = [(f"{i:064x}", "E01000001", "Burglary") for i in range(25)] + [(f"{99:064x}", "E01000003", "Robbery")]
    ingest([_street(tmp_path / "b" / "2020-01" / "2020-01-testshire-street.csv", "2020-01", "Testshire Police", v2)], st)
    other = [(f"{i + 500:064x}", "E01000004", "Drugs") for i in range(7)]
    ingest([_street(tmp_path / "c" / "2020-02" / "2020-02-testshire-street.csv", "2020-02", "Testshire Police", other)], st)
    # one aggregate per batch holding live rows, built incrementally; the first batch holds nothing live any more
    assert len(read_state(st)["files"]) == 2
    con = st.connect()
    try:
        assert register_live_aggregates(con, st)
        got = dict(con.execute("SELECT month || ' ' || category_id, sum(n)::INT FROM agg GROUP BY 1").fetchall())
    finally:
        con.close()
    want = Counter(f"2020-01 {t.lower().replace(' ', '-')}" for _c, _l, t in v2)
    want.update(f"2020-02 {t.lower()}" for _c, _l, t in other)
    assert got == dict(want)  # the first version's 30 burglaries and 4 ASB are gone: superseded


def test_leftovers_of_a_killed_build_are_orphans_and_state_files_are_not(tmp_path: Path) -> None:
    st = Store(tmp_path / "store")
    ingest([_street(tmp_path / "a" / "2020-01" / "2020-01-testshire-street.csv", "2020-01", "Testshire Police",
                    [(f"{i:064x}", "E01000001", "Burglary") for i in range(5)])], st)
    stray = st.path / "aggregates" / "agg-batch-deadbeef.parquet.123.tmp"
    stray.write_bytes(b"half a file")
    rep = check_store(st)
    assert rep.ok and rep.orphans == ["aggregates/agg-batch-deadbeef.parquet.123.tmp"]
    assert gc_store(st)["removed"] == ["aggregates/agg-batch-deadbeef.parquet.123.tmp"]
    (st.path / aggregate.STATE_FILE).unlink()  # the state is written last: without it, everything is rebuilt
    rep2 = refresh_aggregates(st)
    assert len(rep2.built) == 1 and rep2.records_rows == 5


def test_the_cube_follows_a_rebuild(tmp_path: Path) -> None:
    st = Store(tmp_path / "store")
    ingest([_street(tmp_path / "a" / "2020-01" / "2020-01-testshire-street.csv", "2020-01", "Testshire Police",
                    [(f"{i:064x}", "E01000001", "Burglary") for i in range(4)])], st)
    before = aggregate._cube_key(st, None)
    refresh_aggregates(st, rebuild=True)  # same file names, new files
    assert aggregate._cube_key(st, None) != before


def test_build_aggregates_cli(tmp_path: Path) -> None:
    st = Store(tmp_path / "store")
    ingest([_street(tmp_path / "a" / "2020-01" / "2020-01-testshire-street.csv", "2020-01", "Testshire Police",
                    [(f"{i:064x}", "E01000001", "Burglary") for i in range(3)])], st)
    r = CliRunner().invoke(app, ["build-aggregates", "--store", str(st.path), "--rebuild", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["engine"] == "duckdb" and len(d["built"]) == 1 and d["records_rows"] == 3
    r = CliRunner().invoke(app, ["build-aggregates", "--store", str(tmp_path / "nowhere")])
    assert r.exit_code == 2 and r.output.startswith("error:") and "Traceback" not in r.output


def test_the_sql_ingest_aggregates_with_is_the_ibis_expression(tmp_path: Path) -> None:
    """aggregate.AGG_SQL (ingest's in-memory aggregation) and aggregate_expr (Ibis: rebuilds, Spark) count the
    same records the same way: API rows keep their uid, others do not; flags, own codes and points are keys."""
    import duckdb
    import ibis

    from crimeassess.aggregate import aggregate_expr, aggregate_tables
    from crimeassess.sources.base import records_table

    rows = {
        "uid": ["a:2", "a:3", "a:4", "b:2", "b:2", "c:9", "c:10", None],
        "input_id": ["a", "a", "a", "b", "b", "c", "c", "c"],
        "source_kind": ["police-uk-street"] * 3 + ["police-uk-api"] * 2 + ["extract"] * 2 + [None],
        "force": ["hampshire", "hampshire", None, "hampshire", "hampshire", "dorset", "dorset", "dorset"],
        "month": ["2020-01"] * 8,
        "category_id": ["burglary", "burglary", "anti-social-behaviour", "drugs", "drugs", "violent-crime",
                        "violent-crime", None],
        "is_crime": [True, True, False, True, True, True, True, None],
        "lsoa_code": ["E01000001", "E01000001", None, "E01000002", "E01000002", None, None, None],
        "ward_code": [None] * 5 + ["E05000001", "E05000001", None],
        "lad_code": [None] * 5 + ["E06000045", "E06000045", None],
        "offence_code": [None] * 5 + ["8N", "8N", None],
        "knife_flag": [None] * 5 + [True, False, None],
        "hate_flag": [None] * 5 + [False, False, None],
        "domestic_flag": [None] * 5 + [True, True, None],
        "longitude": [-1.4, None, -1.4, -1.4, -1.4, None, None, None],
        "latitude": [50.9, None, 50.9, 50.9, 50.9, None, None, None],
    }
    t = records_table(rows)
    con = duckdb.connect()
    try:
        sql = aggregate_tables(con, [t.slice(0, 3), t.slice(3)])  # two tables, as a batch holds
    finally:
        con.close()
    pq.write_table(t, tmp_path / "r.parquet")
    icon = ibis.duckdb.connect()
    try:  # as refresh_aggregates runs it: on a records file
        via_ibis = icon.con.sql(str(ibis.to_sql(aggregate_expr(icon.read_parquet(str(tmp_path / "r.parquet"))),
                                                dialect="duckdb"))).to_arrow_table()
    finally:
        icon.disconnect()

    def norm(x):
        return sorted((tuple(r.values()) for r in x.select(AGG_SCHEMA.names).cast(AGG_SCHEMA).to_pylist()), key=repr)

    assert norm(sql) == norm(via_ibis)
    assert sum(sql.column("n").to_pylist()) == 8 and sql.num_rows == 7  # only b:2 listed twice is one key
