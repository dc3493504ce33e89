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


def _ingest_in_child(store: Path, paths: list[Path], pause: str | None) -> subprocess.Popen:
    env = {**os.environ}
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
    # the new Parquet files are on disk, but the manifest is not yet written
    assert len(list((st.path / "records").glob("*.parquet"))) == 3
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert st.manifest_path.read_bytes() == manifest_before
    assert _count(st) == 50  # orphan files are never read
    check = check_store(st)  # the store is sound; the killed writer's two files are listed as orphans
    assert check.ok and len(check.orphans) == 2
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
