"""A large street CSV read in blocks gives exactly what reading it whole gives (records, quarantine, manifest)."""
from __future__ import annotations

from pathlib import Path

import pytest

import crimeassess.ingest as ingest_mod
from crimeassess.ingest import ingest
from crimeassess.store import Store, check_store
from policeuk_fixtures import row, street_csv


def _rows() -> list[str]:
    out = []
    for i in range(120):
        m = f"2018-{i % 12 + 1:02d}"
        if i % 17 == 5:
            out.append(row(f"c{i}", "2018-13", "Burglary"))  # invalid month
        elif i % 19 == 7:
            out.append(row(f"c{i}", m, "Nonsense"))  # unknown type
        elif i % 23 == 11:
            out.append(row(f"c{i}", m, "Drugs", lon="x"))  # bad coordinates
        elif i % 29 == 13:
            out.append(row(f"c{i}", m, "Robbery").rsplit(",", 3)[0])  # wrong number of fields
        elif i % 10 == 9:
            out.append(row("", m, "Anti-social behaviour"))
        else:
            out.append(row(f"c{i}", m, "Burglary"))
    # Crime IDs repeated far apart (other blocks) and close by (same block), a repeat of a repeat
    out += [row("c1", "2018-02", "Drugs"), row("c2", "2018-03", "Drugs"), row("c2", "2018-04", "Drugs"),
            row("c40", "2018-05", "Drugs"), row("dup-x", "2018-06", "Drugs")]
    out.insert(3, row("dup-x", "2018-06", "Drugs"))
    out += [row(f"z{i}", "2019-01", "Vehicle crime") for i in range(30)]  # a month only in the last block
    return out


def _state(st: Store) -> tuple:
    con = st.connect()
    try:
        recs = con.execute("SELECT * EXCLUDE (input_id) FROM records ORDER BY line").fetchall()
        quar = con.execute("SELECT file, line, reason, raw FROM quarantine ORDER BY line").fetchall()
    finally:
        con.close()
    (e,) = st.inputs()
    keep = ("input_id", "sha256", "force", "force_name", "months", "rows_read", "rows_loaded", "rows_quarantined",
            "slices", "live_slices")
    return recs, quar, {k: e[k] for k in keep}


@pytest.mark.parametrize("crlf", [False, True])
def test_blocks_equal_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crlf: bool) -> None:
    f = tmp_path / "all-street.csv"
    f.write_bytes(street_csv(_rows(), crlf=crlf))
    whole = Store(tmp_path / "whole")
    ingest([f], whole)
    monkeypatch.setattr(ingest_mod, "STREAM_MIN_BYTES", 1000)
    monkeypatch.setattr(ingest_mod, "BLOCK_BYTES", 1500)  # about 12 lines a block
    blocks = Store(tmp_path / "blocks")
    rep = ingest([f], blocks)
    assert rep.inputs[0].status == "loaded"
    assert check_store(blocks).ok and check_store(blocks).orphans == []
    a, b = _state(whole), _state(blocks)
    assert a[2] == b[2]
    assert a[1] == b[1]
    assert a[0] == b[0]
    assert any("first loaded from line" in r[2] for r in b[1])
    assert [i.status for i in ingest([f], blocks).inputs] == ["unchanged"]  # idempotent


def test_declined_block_falls_back_to_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows()
    rows[60] = rows[60].replace("On or near High Street", '"On or near\nHigh Street"')  # a quoted newline
    f = tmp_path / "all-street.csv"
    f.write_bytes(street_csv(rows))
    whole = Store(tmp_path / "whole")
    ingest([f], whole)
    monkeypatch.setattr(ingest_mod, "STREAM_MIN_BYTES", 1000)
    monkeypatch.setattr(ingest_mod, "BLOCK_BYTES", 1500)
    blocks = Store(tmp_path / "blocks")
    ingest([f], blocks)
    assert _state(whole) == _state(blocks)
    assert check_store(blocks).ok and check_store(blocks).orphans == []  # the abandoned block file is gone


def test_sigkill_while_reading_blocks(tmp_path: Path) -> None:
    """A writer killed while a large file is read in blocks (or just before its manifest) leaves the store as
    it was plus orphan files; the same ingest then loads it once, equal to reading it whole."""
    import os
    import signal
    import subprocess
    import sys
    import time

    f = tmp_path / "all-street.csv"
    f.write_bytes(street_csv(_rows() * 40))  # repeated Crime IDs: many cross-block duplicates
    whole = Store(tmp_path / "whole")
    ingest([f], whole)
    code = ("import sys, crimeassess.ingest as m; m.STREAM_MIN_BYTES = 1000; m.BLOCK_BYTES = 2000; "
            "m.ingest([sys.argv[2]], sys.argv[1])")
    for pause in ("before-manifest", None):
        st = Store(tmp_path / f"s-{pause}")
        env = {**os.environ, **({"CRIMEASSESS_PAUSE_AT": pause} if pause else {})}
        proc = subprocess.Popen([sys.executable, "-c", code, str(st.path), str(f)], env=env)
        if pause:
            flag = st.path / f".paused-{pause}"
            deadline = time.monotonic() + 60
            while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.02)
            assert flag.exists()
        else:
            deadline = time.monotonic() + 60  # kill once the first block's file exists
            while not list((st.path / "records").glob(".stream-*")) and time.monotonic() < deadline:
                time.sleep(0.005)
        assert proc.poll() is None, "the writer ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert not st.exists()  # nothing committed
        (st.path / "manifest.json").write_text('{"version": 1, "inputs": [], "geography": []}')
        check = check_store(st)
        # before the manifest: the batch's records and quarantine files (the file's block counts were dropped
        # with its cross-block duplicates: the aggregate is built from the records); mid-read: the block file
        # under way and, once made, its counts (aggregate.CountsWriter)
        kinds = sorted(o.split("/")[0] + ("/.stream" if "/.stream" in o else "") for o in check.orphans)
        assert check.ok, check.problems
        if pause:
            assert kinds == ["quarantine", "records"], check.orphans
        else:
            assert kinds in (["records/.stream"], ["aggregates/.stream", "records/.stream"]), check.orphans
        ingest([f], st)
        assert _state(st) == _state(whole)


def test_a_file_read_in_blocks_is_counted_as_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without repeated Crime IDs across blocks, the aggregate is each block's counts (plain blocks counted by
    the group reader, others from their records) instead of a re-read of the records file; summed by key it
    equals what building it from the records file gives, and its counts are the CSV's, recounted."""
    import csv
    import io
    from collections import Counter

    import pyarrow.parquet as pq

    from crimeassess import aggregate

    rows = [r for r in _rows() if not r.startswith(("c1,", "c2,", "c40,", "dup-x,"))]
    f = tmp_path / "all-street.csv"
    f.write_bytes(street_csv(rows))
    monkeypatch.setattr(ingest_mod, "STREAM_MIN_BYTES", 1000)
    monkeypatch.setattr(ingest_mod, "BLOCK_BYTES", 1500)
    st = Store(tmp_path / "s")
    monkeypatch.setattr(aggregate, "_duckdb_build", lambda *a, **k: pytest.fail("records re-read"))
    ingest([f], st)
    monkeypatch.undo()
    (rec, agg), = aggregate.read_state(st)["files"].items()
    assert check_store(st).ok and check_store(st).orphans == []

    def table(path: Path) -> dict:  # n summed by key: blocks are counted one by one, so a key may recur
        out: Counter = Counter()
        for r in pq.read_table(path).to_pylist():
            out[repr({k: v for k, v in r.items() if k != "n"})] += r["n"]
        return dict(out)

    by_blocks = table(st.path / agg)
    assert pq.read_table(st.path / agg).num_rows > len(by_blocks)  # (some key recurs: the test can tell)
    aggregate.refresh_aggregates(st, rebuild=True)
    assert by_blocks == table(st.path / agg)
    # recounted with the csv module: loaded rows by month (rows the reader quarantines left out)
    want: Counter = Counter()
    for r in list(csv.reader(io.StringIO(f.read_text())))[1:]:
        ok = (len(r) == 12 and r[1][5:] in {f"{m:02d}" for m in range(1, 13)} and r[9] != "Nonsense"
              and r[4] != "x")
        if ok:
            want[r[1]] += 1
    got: Counter = Counter()
    for r in pq.read_table(st.path / agg).to_pylist():
        got[r["month"]] += r["n"]
    assert got == want
