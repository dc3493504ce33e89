"""Crash safety: a writer killed with SIGKILL leaves the store as it was (manifest written last, atomically)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crimeassess.ingest import ingest
from crimeassess.store import Store, check_store, gc_store
from policeuk_fixtures import row, street_csv


def _files(folder: Path, months: list[str], n: int = 50) -> list[Path]:
    out = []
    for m in months:
        p = folder / m / f"{m}-testshire-street.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(street_csv([row(f"{m}-{i}", m, "Burglary") for i in range(n)]))
        out.append(p)
    return out


def _count(st: Store) -> int:
    con = st.connect()
    try:
        return con.execute("SELECT count(*) FROM records").fetchone()[0]
    finally:
        con.close()


def _ingest_in_child(store: Path, paths: list[Path], pause: str | None, memory: str | None = None) -> subprocess.Popen:
    env = {**os.environ}
    if memory:
        env["CRIMEASSESS_MEMORY_LIMIT"] = memory  # a small budget: the ingest commits in several batches
    if pause:
        env["CRIMEASSESS_PAUSE_AT"] = pause
    code = ("import sys; from crimeassess.ingest import ingest; "
            "ingest(sys.argv[2:], sys.argv[1])")
    return subprocess.Popen([sys.executable, "-c", code, str(store), *map(str, paths)], env=env)


def test_kill_before_manifest_leaves_store_unchanged(tmp_path: Path) -> None:
    st = Store(tmp_path / "store")
    ingest(_files(tmp_path / "a", ["2018-01"]), st)
    manifest_before = st.manifest_path.read_bytes()
    proc = _ingest_in_child(st.path, _files(tmp_path / "b", ["2018-02", "2018-03"]), "before-manifest")
    flag = st.path / ".paused-before-manifest"
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert flag.exists(), "writer never reached the pause point"
    # the new batch's Parquet file is on disk (one per commit batch), but the manifest is not yet written
    assert len(list((st.path / "records").glob("*.parquet"))) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert st.manifest_path.read_bytes() == manifest_before
    assert _count(st) == 50  # orphan files are never read
    check = check_store(st)  # the store is sound; the killed writer's batch file is listed as an orphan
    assert check.ok and len(check.orphans) == 1
    # the store still works, and the same ingest then succeeds exactly once
    rep = ingest(_files(tmp_path / "b", ["2018-02", "2018-03"]), st)
    assert [r.status for r in rep.inputs] == ["loaded", "loaded"]
    assert _count(st) == 150


def test_kill_at_random_moments_never_corrupts(tmp_path: Path) -> None:
    st = Store(tmp_path / "store")
    files = _files(tmp_path / "c", [f"2017-{m:02d}" for m in range(1, 13)], n=400)
    for delay in (0.05, 0.2, 0.5, 0.9):
        proc = _ingest_in_child(st.path, files, None)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # whatever moment it died, the manifest is whole JSON and counts are all-or-nothing per commit
        n = _count(st)
        assert n in (0, 12 * 400)
        assert not st.exists() or check_store(st).ok  # killed before its first manifest: no store yet
    ingest(files, st)
    assert _count(st) == 12 * 400
    gc_store(st)
    final = check_store(st)
    assert final.ok and final.orphans == [] and final.inputs_checked == 12


def _recount(paths: list[Path]) -> dict[str, int]:
    """Rows per file, counted independently of crimeassess (data lines after the header)."""
    return {p.name: len(p.read_text("utf-8").splitlines()) - 1 for p in paths}


def _live_counts(st: Store) -> dict[str, int]:
    con = st.connect()
    try:
        rows = con.execute("SELECT month, count(*) FROM records GROUP BY month").fetchall()
    finally:
        con.close()
    return {m: n for m, n in rows}


def _agg_counts(st: Store) -> dict[str, int]:
    """Month → records counted by the aggregate store (built or completed after a kill)."""
    from crimeassess.aggregate import register_live_aggregates

    con = st.connect()
    try:
        assert register_live_aggregates(con, st)
        return {m: int(n) for m, n in con.execute("SELECT month, sum(n) FROM agg GROUP BY 1").fetchall()}
    finally:
        con.close()


def test_sigkill_during_batched_multi_file_ingest(tmp_path: Path) -> None:
    """20+ SIGKILLs at random moments of a multi-file ingest committing in several batches (mid-batch included),
    each into a fresh store: after each, the store checks clean and holds exactly the inputs its manifest
    lists, each whole; a final ingest then gives counts equal to an independent recount of the files."""
    import random

    rng = random.Random(12)
    files = _files(tmp_path / "d", [f"{y}-{m:02d}" for y in (2016, 2017) for m in range(1, 13)], n=300)
    recount = _recount(files)
    t = time.monotonic()
    _ingest_in_child(tmp_path / "timing", files, None, memory="2MB").wait(timeout=120)
    whole = time.monotonic() - t  # how long an uninterrupted run takes (imports included)
    assert len({i["records_file"] for i in Store(tmp_path / "timing").inputs()}) >= 3  # several batches
    kills = trial = 0
    while kills < 20 and trial < 60:
        trial += 1
        st = Store(tmp_path / f"store{trial}")
        pause = "after-batch-files" if trial % 7 == 3 else None  # some kills exactly mid-batch, files written
        proc = _ingest_in_child(st.path, files, pause, memory="2MB")
        if pause:
            flag = st.path / f".paused-{pause}"
            deadline = time.monotonic() + 60
            while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.02)
        else:
            time.sleep(rng.uniform(0.1, 1.0) * whole)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        if st.exists():  # else killed before its first manifest: nothing was committed
            check = check_store(st)
            assert check.ok, check.problems
            live = _live_counts(st)
            loaded = {Path(i["path"]).name: i["rows_loaded"] for i in st.inputs(live_only=True)}
            # every input the manifest lists is there whole, and nothing else is read
            assert live == {name[:7]: n for name, n in loaded.items()}
            assert all(recount[name] == n for name, n in loaded.items())
        ingest(files, st)
        final = check_store(st)
        assert final.ok and final.inputs_checked == len(files)
        assert _live_counts(st) == {name[:7]: n for name, n in recount.items()}
        assert _agg_counts(st) == {name[:7]: n for name, n in recount.items()}  # aggregates too, after any kill
        gc_store(st)
        assert check_store(st).orphans == []
    assert kills >= 20
