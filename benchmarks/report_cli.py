"""Benchmark: an area's first report from the CLI (empty chart/PDF cache), with and without the render worker,
against an older source tree, interleaved, each run with the CPU other processes took during it.

Issue 12's target is under 5 s. On a shared machine a run's time depends on what else runs: each round waits
until ``--idle`` cores were idle over one second, then runs every variant once; for each run the CPU the other
processes used meanwhile (from /proc/stat, minus the run's own user + system) is recorded, so quiet runs can be
told from busy ones. Linux only (/proc/stat).

    python benchmarks/report_cli.py --store STORE --area Southampton --period 2024 --rounds 10 \\
        [--before /path/to/older/src [--before-worker on]] [--json runs.jsonl]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import cpu_reference_s  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def busy_seconds() -> float:
    """CPU seconds all processes have spent busy since boot (every core)."""
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / HZ  # all but idle and iowait


def idle_cores(dt: float = 1.0) -> float:
    b = busy_seconds()
    time.sleep(dt)
    return CORES - (busy_seconds() - b) / dt


def run(src: Path, worker: str, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    cache, out = tmp / "cache", tmp / "out"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(src), "CRIMEASSESS_RENDER_WORKER": worker,
           "CRIMEASSESS_CACHE_DIR": str(cache)}
    r0, b0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), busy_seconds(), time.perf_counter()
    # the crimeassess program's entry point; an older tree without one ran its commands from crimeassess.cli
    entry = "crimeassess.program" if (src / "crimeassess" / "program.py").exists() else "crimeassess.cli"
    subprocess.run([sys.executable, "-m", entry, "report", "--area", args.area, "--period", args.period,
                    "--out", str(out), "--store", str(args.store)], env=env, capture_output=True, check=True)
    wall, b1, r1 = time.perf_counter() - t0, busy_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)  # the worker included: the CLI waits for it
    return {"wall": round(wall, 2), "cpu": round(cpu, 2), "others_cores": round(max(0.0, b1 - b0 - cpu) / wall, 2),
            "load1": round(os.getloadavg()[0], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--area", required=True)
    ap.add_argument("--period", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--idle", type=float, default=1.5, help="cores idle over one second before a round starts")
    ap.add_argument("--before", type=Path, help="an older source tree (its src folder) run as 'before'")
    ap.add_argument("--before-worker", choices=("on", "off"), default="off",
                    help="the render worker for 'before' (off: older trees may not have one)")
    ap.add_argument("--quiet", type=float, default=0.4, help="a run is quiet when others took at most this many cores")
    ap.add_argument("--json", type=Path, help="append every run as one JSON line")
    args = ap.parse_args()
    src = Path(__file__).resolve().parents[1] / "src"
    variants = {"worker on": (src, "on"), "worker off": (src, "off")}
    if args.before:
        variants = {"before": (args.before, args.before_worker), **variants}
    runs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as d:
        for i in range(args.rounds):
            while (idle := idle_cores()) < args.idle:
                pass
            for name, (path, worker) in variants.items():
                r = {"round": i + 1, "variant": name, "idle_before": round(idle, 2), **run(path, worker, args, Path(d)),
                     "cpu_reference_s": cpu_reference_s()}
                runs.append(r)
                print(json.dumps(r), flush=True)
                if args.json:
                    with open(args.json, "a") as fh:
                        fh.write(json.dumps(r) + "\n")
    for name in variants:
        for label, keep in (("quiet", lambda r: r["others_cores"] <= args.quiet), ("all", lambda r: True)):
            w = sorted(float(r["wall"]) for r in runs if r["variant"] == name and keep(r))
            if w:
                print(f"{name:10s} {label:5s} n={len(w):2d} median {statistics.median(w):.2f} s "
                      f"(range {w[0]:.2f}-{w[-1]:.2f})")


if __name__ == "__main__":
    main()
