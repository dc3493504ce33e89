"""Benchmark: police.uk street-file ingest against the practical limit and what analysts write today.

Generates N synthetic rows in police.uk format (the demo generator), then, each in its own process so peak
memory is its own:
  1. crimeassess ingest (validation, quarantine, Parquet, manifest),
  2. DuckDB read_csv + GROUP BY over the same file (the practical limit for merely counting),
  3. pandas read_csv + groupby (what analysts write today).
Prints rows/s and peak resident memory (ru_maxrss) for each.

    python benchmarks/ingest.py --rows 1000000
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r'''
import json, resource, sys, time
kind, path, store = sys.argv[1], sys.argv[2], sys.argv[3]
t = time.perf_counter()
if kind == "crimeassess":
    from crimeassess.ingest import ingest
    rep = ingest([path], store)
    n = rep.inputs[0].rows_read
elif kind == "duckdb":
    import duckdb
    con = duckdb.connect(config={"memory_limit": "2GB"})
    rows = con.execute("SELECT \"Crime type\", \"LSOA code\", count(*) FROM read_csv(?, header=true) GROUP BY ALL", [path]).fetchall()
    n = con.execute("SELECT count(*) FROM read_csv(?, header=true)", [path]).fetchone()[0]
else:
    import pandas as pd
    df = pd.read_csv(path)
    g = df.groupby(["Crime type", "LSOA code"], dropna=False).size()
    n = len(df)
dt = time.perf_counter() - t
print(json.dumps({"rows": n, "seconds": dt, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    from crimeassess.demo import generate_street_csv

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "2024-01-demo-street.csv"
        t = time.perf_counter()
        generate_street_csv(path, args.rows, seed=1)
        print(f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
        print(f"{'approach':<34}{'rows/s':>12}{'seconds':>10}{'peak MB':>10}")
        for kind, label in (("crimeassess", "crimeassess ingest"), ("duckdb", "DuckDB read_csv + GROUP BY"),
                            ("pandas", "pandas read_csv + groupby")):
            out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), str(Path(d) / f"store-{kind}")],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{label:<34}{r['rows'] / r['seconds']:>12,.0f}{r['seconds']:>10.2f}{r['peak_mb']:>10.0f}")



if __name__ == "__main__":
    main()
