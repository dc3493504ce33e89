"""Benchmark: time to write one area's report (assessment + HTML + PDF + JSON + CSV).

Target (report issue): under 5 seconds for one area on this 2-core machine.
Uses ../shared/data (Hampshire police.uk, Southampton boundaries, Census 2011) when present, else the demo city.

    python benchmarks/report.py [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def build_store(tmp: Path) -> tuple[Path, str, str]:
    from crimeassess.geography.load import load_geography
    from crimeassess.ingest import ingest

    store = tmp / "store"
    if SHARED.is_dir():
        ingest([SHARED / "police-uk" / "archive"], store)
        b = SHARED / "geography" / "boundaries" / "southampton"
        load_geography([SHARED / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv",
                        SHARED / "geography/lookups/LAD17_CSP17_PFA17_EW_LU.csv", b / "wards-16-pre2023.geojson",
                        SHARED / "population/census-2011-lsoa-population-households.csv"], store)
        return store, "Southampton", "2018-03"
    from crimeassess.demo import build_demo_store

    info = build_demo_store(tmp / "demo")
    return info.store, info.area, info.period


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from crimeassess.report.build import build_report

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        store, area, period = build_store(tmp)
        print(f"store built in {time.perf_counter() - t0:.1f} s ({'real data' if SHARED.is_dir() else 'demo city'}); "
              f"area {area}, period {period}")
        times = []
        for i in range(args.runs):
            t = time.perf_counter()
            build_report(area, period, tmp / f"out{i}", store)
            times.append(time.perf_counter() - t)
        print(f"in-process report: median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
              f"max {max(times):.2f} s over {args.runs} runs")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "crimeassess.cli", "report", "--area", area, "--period", period,
                        "--out", str(tmp / "cli"), "--store", str(store)], check=True, capture_output=True)
        cli = time.perf_counter() - t
        print(f"CLI report (new process, imports included): {cli:.2f} s")
        verdict = "PASS" if statistics.median(times) < 5 and cli < 5 else "FAIL"
        print(f"target < 5 s for one area: {verdict}")


if __name__ == "__main__":
    main()
