"""Benchmark: time to write one area's report (assessment + HTML + PDF + JSON + CSV), stage by stage.

Target (issue 12): under 5 seconds for one area on this 2-core machine. The assessment is timed apart from the
render (HTML with charts and map, PDF, tables), since the engine's speed is measured by benchmarks/run.py.
The first run starts with an empty chart cache (cold: every chart drawn), the next ones find their charts in
it (warm: the same data drawn by the same code); then the CLI in a new process (imports included), first with
an empty chart/PDF cache (the area's first report: the target), then warm. ``CRIMEASSESS_RENDER_WORKER=off``
renders in the calling process instead of the render worker (report/renderworker.py), for comparison.
Uses ../shared/data (Hampshire police.uk, Southampton boundaries, Census 2011) when present, else the demo city.

    python benchmarks/report.py [--runs 5]
    python benchmarks/report.py --demo                       # the demo city even when ../shared/data exists
    python benchmarks/report.py --store /tmp/demo/store --area Demoport --period 2024/25 --json report.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")


def build_store(tmp: Path, real: bool = True) -> tuple[Path, str, str]:
    from crimeassess.geography.load import load_geography
    from crimeassess.ingest import ingest

    store = tmp / "store"
    if real and SHARED.is_dir():
        ingest([SHARED / "police-uk" / "archive"], store)
        b = SHARED / "geography" / "boundaries" / "southampton"
        load_geography([SHARED / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv",
                        SHARED / "geography/lookups/LAD17_CSP17_PFA17_EW_LU.csv", b / "wards-16-pre2023.geojson",
                        SHARED / "population/census-2011-lsoa-population-households.csv"], store)
        return store, "Southampton", "2018-03"
    from crimeassess.demo import build_demo_store

    info = build_demo_store(tmp / "demo")
    return Path(info.store.path), info.area, info.period


def timed_report(area: str, period: str, out: Path, store: Path) -> dict[str, float]:
    """build_report with each stage's seconds (from its progress callback) and the total."""
    from crimeassess.report.build import build_report

    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    build_report(area, period, out, store, progress=lambda done, total, stage: marks.append((stage, time.perf_counter())))
    end = time.perf_counter()
    stages = {stage: round(t2 - t1, 3) for (stage, t1), (_s, t2) in zip(marks, marks[1:])}
    stages["total"] = round(end - t0, 3)
    stages["render (all but assessing)"] = round(stages["total"] - stages.get("assessing", 0.0), 3)
    return stages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--demo", action="store_true", help="use the demo city even when ../shared/data is present")
    ap.add_argument("--store", type=Path, help="an existing store (with --area and --period)")
    ap.add_argument("--area")
    ap.add_argument("--period")
    ap.add_argument("--no-cli", action="store_true", help="skip the CLI run")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["CRIMEASSESS_CACHE_DIR"] = str(tmp / "chart-cache")  # starts empty: the first run is cold
        if args.store:
            if not (args.area and args.period):
                raise SystemExit("--store needs --area and --period")
            store, area, period, what = args.store, args.area, args.period, str(args.store)
        else:
            t0 = time.perf_counter()
            store, area, period = build_store(tmp, real=not args.demo)
            what = "real data" if SHARED.is_dir() and not args.demo else "demo city"
            print(f"store built in {time.perf_counter() - t0:.1f} s ({what})")
        print(f"area {area}, period {period}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        runs = []
        for i in range(args.runs):
            r = timed_report(area, period, tmp / f"out{i}", store)
            r["chart cache"] = "cold" if i == 0 else "warm"
            runs.append(r)
            print(f"  run {i + 1} ({r['chart cache']}): " + ", ".join(f"{k} {v:.2f} s" for k, v in r.items()
                                                                     if isinstance(v, float)), flush=True)
        warm = runs[1:] or runs
        keys = [k for k in runs[0] if isinstance(runs[0][k], float)]
        med = {k: statistics.median(r[k] for r in warm) for k in keys}
        print("warm median: " + ", ".join(f"{k} {v:.2f} s" for k, v in med.items()))
        cli = cli_cold = None
        if not args.no_cli:
            def run_cli(cache: Path, name: str) -> float:
                env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
                       "CRIMEASSESS_CACHE_DIR": str(cache)}
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "crimeassess.program", "report", "--area", area, "--period", period,
                                "--out", str(tmp / name), "--store", str(store)], check=True, capture_output=True,
                               env=env)
                return time.perf_counter() - t

            cli_cold = run_cli(tmp / "empty-cache", "cli-cold")  # the area's first report: every chart and the PDF
            print(f"CLI report (new process, imports included, empty chart/PDF cache): {cli_cold:.2f} s "
                  f"(load average {os.getloadavg()[0]:.2f})")
            cli = run_cli(tmp / "chart-cache", "cli")
            print(f"CLI report (new process, imports included, warm chart cache): {cli:.2f} s")
        total_ok = runs[0]["total"] < 5 and med["total"] < 5 and (cli is None or max(cli, cli_cold or 0) < 5)
        print(f"target < 5 s for one area (assessment included): {'PASS' if total_ok else 'FAIL'}; "
              f"render alone: cold {runs[0]['render (all but assessing)']:.2f} s, "
              f"warm {med['render (all but assessing)']:.2f} s")
        if args.json:
            args.json.write_text(json.dumps({"store": what, "area": area, "period": period, "runs": runs,
                                             "warm_median": med, "cli_seconds": cli,
                                             "cli_cold_seconds": cli_cold,
                                             "render_worker": os.environ.get("CRIMEASSESS_RENDER_WORKER", "on")}, indent=2))


if __name__ == "__main__":
    main()
