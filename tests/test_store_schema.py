"""Records files are read without DuckDB's union_by_name only when each has exactly RECORD_SCHEMA: a file
written by an older version (a column missing, no ``records_schema`` in its manifest entry) is still read, its
missing column null."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from crimeassess.ingest import ingest
from crimeassess.store import RECORD_SCHEMA_ID, Store

from policeuk_fixtures import row, street_csv


def _store(tmp_path: Path) -> Store:
    a = tmp_path / "2024-01" / "2024-01-testshire-street.csv"
    b = tmp_path / "2024-02" / "2024-02-testshire-street.csv"
    for p, month, n in ((a, "2024-01", 3), (b, "2024-02", 2)):
        p.parent.mkdir(parents=True)
        p.write_bytes(street_csv([row(f"{month}-{i:03d}", month, "Burglary") for i in range(n)]))
    st = Store(tmp_path / "store")
    ingest([a], st)
    ingest([b], st)
    return st


def test_current_files_are_marked_uniform(tmp_path: Path) -> None:
    st = _store(tmp_path)
    assert {i.schema for i in st.live_inputs()} == {RECORD_SCHEMA_ID}
    assert st.uniform_schema(st.live_inputs())
    assert st.connect().execute("SELECT count(*) FROM records").fetchone()[0] == 5


def test_an_older_file_without_a_column_is_read_by_name(tmp_path: Path) -> None:
    st = _store(tmp_path)
    m = json.loads(st.manifest_path.read_text("utf-8"))
    old = m["inputs"][0]
    path = st.path / old["records_file"]
    t = pq.read_table(path)
    pq.write_table(t.drop_columns(["occurred_time"]), path)  # as a version before the column existed wrote it
    old.pop("records_schema")
    st.manifest_path.write_text(json.dumps(m), "utf-8")
    st = Store(st.path)
    assert not st.uniform_schema(st.live_inputs())
    got = st.connect().execute("SELECT count(*), count(occurred_time), count(DISTINCT month) FROM records").fetchone()
    assert got == (5, 0, 2)
