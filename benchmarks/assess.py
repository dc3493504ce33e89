"""Benchmark: reading a national store — one-area assess, every local authority, one report.

Either builds a store from a generated national archive over several years (benchmarks/run.py's generator:
real LSOAs in their real forces, 43 forces, one CSV per force-month), or times an existing store:

    python benchmarks/assess.py --rows 12000000 --years 2 --dir /tmp/b --json /tmp/assess-12m.json
    python benchmarks/assess.py --rows 6000000 --years 12 --dir /tmp/b72 --build-only   # the 72M archive, 2013-2024
    python benchmarks/assess.py --store /tmp/b/store --area Southampton --period 2024

(--rows is rows a year.) The report is timed from an empty chart/PDF cache, so it is the area's first report.

Each measure runs in its own process (imports included for the CLI figures; in-process figures exclude
imports): one-area assess in-process (first and second call: the first builds the geography cube if it is
missing), the same by the CLI, `assess --all-areas --level lad` by the CLI, and `report` (PDF) by the CLI.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import LOOKUPS, LSOA_LU, PFA_LU, cpu_reference_s, generate  # noqa: E402

INPROC = r'''
import json, resource, sys, time
from crimeassess.assess.engine import assess
store, area, period = sys.argv[1:4]
out = []
for _ in range(3):
    t = time.perf_counter()
    assess(area, period, store=store)
    out.append(time.perf_counter() - t)
print("RESULT " + json.dumps({"calls_s": out, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def _cli(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "crimeassess.program", *args], check=True, capture_output=True)
    return time.perf_counter() - t


def build(root: Path, rows: int, years: int) -> Path:
    """Generate `rows` a year for `years` years ending in 2024, ingest them and load the ONS lookups."""
    for k in range(years):
        year = 2024 - years + 1 + k
        t = time.perf_counter()
        (root / f"gen-{year}").mkdir(parents=True, exist_ok=True)
        d = generate(root / f"gen-{year}", rows // years, seed=year, year=year)
        (root / "archive").mkdir(exist_ok=True)
        for m in (root / f"gen-{year}" / "archive").iterdir():
            m.rename(root / "archive" / m.name)
        (root / f"gen-{year}" / "all-street.csv").unlink()
        print(f"generated {d['rows']:,} rows for {year} in {time.perf_counter() - t:.0f} s", flush=True)
    store = root / "store"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "crimeassess.program", "ingest", "--store", str(store), str(root / "archive")],
                   check=True, capture_output=True)
    print(f"ingested in {time.perf_counter() - t:.0f} s", flush=True)
    subprocess.run([sys.executable, "-m", "crimeassess.program", "geography", "load", "--store", str(store),
                    str(LOOKUPS / LSOA_LU), str(LOOKUPS / PFA_LU)], check=True, capture_output=True)
    return store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="an existing store (ONS lookups loaded)")
    ap.add_argument("--rows", type=int, default=2_000_000, help="rows a year to generate (without --store)")
    ap.add_argument("--years", type=int, default=2, help="years to generate, ending in 2024")
    ap.add_argument("--dir", type=Path, help="work folder for the generated archive and store")
    ap.add_argument("--area", default="Southampton")
    ap.add_argument("--period", default="2024")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--build-only", action="store_true", help="build the store, print its path and stop")
    args = ap.parse_args()
    res: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                             "load_avg_at_start": os.getloadavg()}}
    store = args.store or build(Path(tempfile.mkdtemp(prefix="crimeassess-assess-", dir=args.dir)),
                                args.rows * args.years, args.years)
    res["store"] = str(store)
    if args.build_only:
        print(f"store: {store}", flush=True)
        return
    ref = cpu_reference_s()
    proc = subprocess.run([sys.executable, "-c", INPROC, str(store), args.area, args.period], capture_output=True,
                          text=True, check=True)
    r = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1][7:])
    res["assess_in_process_s"] = r["calls_s"]
    res["assess_in_process_peak_mb"] = r["peak_mb"]
    print(f"one-area assess ({args.area} {args.period}) in-process: "
          + ", ".join(f"{x:.2f}" for x in r["calls_s"]) + f" s (peak {r['peak_mb']:.0f} MB)", flush=True)
    res["assess_cli_s"] = _cli("assess", "--store", str(store), "--area", args.area, "--period", args.period,
                               "--format", "json")
    print(f"one-area assess by the CLI: {res['assess_cli_s']:.2f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res["all_lads_cli_s"] = _cli("assess", "--all-areas", "--level", "lad", "--store", str(store), "--period",
                                     args.period, "--out", str(Path(tmp) / "all"))
        n = sum(1 for _ in (Path(tmp) / "all" / "areas").glob("*.json"))
        res["all_lads_areas"] = n
        print(f"every local authority ({n}) by the CLI: {time.perf_counter() - t0:.1f} s", flush=True)
        if not args.no_report:
            # an empty chart/PDF cache: the area's first report, not one the cache answers
            os.environ["CRIMEASSESS_CACHE_DIR"] = str(Path(tmp) / "cache")
            res["report_cli_s"] = _cli("report", "--store", str(store), "--area", args.area, "--period", args.period,
                                       "--out", str(Path(tmp) / "rep"))
            print(f"one report (HTML + PDF) by the CLI: {res['report_cli_s']:.2f} s", flush=True)
    res["machine"]["load_avg_at_end"] = os.getloadavg()
    # an editable install under PYTHONDONTWRITEBYTECODE compiles crimeassess's modules on every command (~0.1 s)
    import importlib.util

    import crimeassess.cli

    res["machine"]["bytecode_cached"] = Path(importlib.util.cache_from_source(crimeassess.cli.__file__)).exists()
    if not res["machine"]["bytecode_cached"]:
        print("note: crimeassess's bytecode is not cached (PYTHONDONTWRITEBYTECODE?): each CLI command compiled "
              "its modules; `python -m compileall src` as pip install does", flush=True)
    res["machine"]["cpu_reference_s"] = [ref, cpu_reference_s()]
    print(f"CPU reference (10M-step Python loop) before and after: {ref:.2f}, "
          f"{res['machine']['cpu_reference_s'][1]:.2f} s", flush=True)
    res["peak_mb_children"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
