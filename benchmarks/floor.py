"""Benchmark: what an ingest must at least cost, against DuckDB's raw scan, over the same CSV files in one run.

Issue 12 asks ingest to reach half of DuckDB's `read_csv` + GROUP BY. An ingest parses every column, checks it
and writes it to Parquet; this measures, each in its own process and in turn (repeat with --repeat):

  1. duckdb_scan:    DuckDB read_csv + GROUP BY month, force, LSOA, crime type (benchmarks/run.py's baseline),
  2. duckdb_parquet: DuckDB COPY (read_csv, every column) TO Parquet (zstd): parsing and writing alone, no checks,
                     with DuckDB's own multi-threaded reader and writer (insertion order not kept),
  3. pyarrow_parse:  pyarrow read_csv of every file, every column as strings (ingest's parser), nothing kept,
  4. crimeassess:    crimeassess ingest into a fresh store (records, quarantine, manifest, aggregates).

    python benchmarks/floor.py --dir /tmp/subset --repeat 2     # a folder of YYYY-MM/*.csv (or one CSV)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r'''
import glob, json, os, resource, sys, time
kind, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
files = sorted(glob.glob(os.path.join(path, "*", "*.csv"))) if os.path.isdir(path) else [path]
t = time.perf_counter()
if kind == "crimeassess":
    from crimeassess.ingest import ingest
    n = sum(i.rows_read for i in ingest([path], out).inputs)
elif kind == "pyarrow_parse":
    import pyarrow as pa, pyarrow.csv as pacsv
    n = 0
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        names = data[:data.index(b"\n")].decode().rstrip("\r").split(",")
        n += pacsv.read_csv(pa.BufferReader(pa.py_buffer(data)), convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in names}, strings_can_be_null=True, null_values=[""])).num_rows
else:
    import duckdb
    con = duckdb.connect(config={"memory_limit": os.environ.get("CRIMEASSESS_MEMORY_LIMIT", "2GB")})
    con.execute("SET enable_progress_bar = false")
    if kind == "duckdb_scan":
        rows = con.execute('SELECT "Month", "Falls within", "LSOA code", "Crime type", count(*) FROM read_csv(?, header=true) '
                           'GROUP BY ALL', [files]).fetchall()
        n = sum(r[-1] for r in rows)
    else:
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"COPY (SELECT * FROM read_csv(?, header=true)) TO '{out}' (FORMAT parquet, COMPRESSION zstd)", [files])
        n = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT " + json.dumps({"rows": n, "seconds": dt, "cpu_seconds": ru.ru_utime + ru.ru_stime,
                              "peak_mb": ru.ru_maxrss / 1024}))
'''
KINDS = ("duckdb_scan", "duckdb_parquet", "pyarrow_parse", "crimeassess")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, required=True, help="a folder of YYYY-MM/*.csv, or one CSV")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crimeassess-floor-"))
    runs: list[dict] = []
    try:
        for rep in range(args.repeat):
            for kind in KINDS:
                out = work / ("store" if kind == "crimeassess" else "out.parquet")
                load = os.getloadavg()[0]
                proc = subprocess.run([sys.executable, "-c", CHILD, kind, str(args.dir), str(out)],
                                      capture_output=True, text=True, env=dict(os.environ))
                if proc.returncode:
                    raise SystemExit(f"{kind} failed:\n{proc.stderr[-3000:]}")
                r = json.loads([ln[ln.index("RESULT ") + 7:] for ln in proc.stdout.splitlines() if "RESULT " in ln][-1])
                r.update(kind=kind, repeat=rep, load_average=[round(load, 2), round(os.getloadavg()[0], 2)])
                runs.append(r)
                shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
            base = next(r for r in runs if r["repeat"] == rep and r["kind"] == "duckdb_scan")
            for r in (r for r in runs if r["repeat"] == rep):
                r["vs_duckdb_scan"] = base["seconds"] / r["seconds"]
                print(f"{rep} {r['kind']:<16}{r['rows']:>12,} rows{r['seconds']:>8.2f} s{r['cpu_seconds']:>8.2f} cpu s"
                      f"{r['peak_mb']:>7.0f} MB  {r['vs_duckdb_scan']:.2f}x scan  "
                      f"(load {r['load_average'][0]:.1f} -> {r['load_average'][1]:.1f})", flush=True)
        if args.json:
            args.json.write_text(json.dumps(runs, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
