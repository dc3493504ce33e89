"""Benchmark: `crimeassess demo` end to end (generate, ingest, load geography, assess, HTML + PDF report).

Target (demo issue): under 60 seconds on this 2-core machine. Runs in a new process, as a user would.

    python benchmarks/demo.py [--seed 2018]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2018)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "crimeassess.program", "demo", "--out", str(Path(d) / "demo"),
                        "--seed", str(args.seed)], check=True, capture_output=True)
        total = time.perf_counter() - t
        t = time.perf_counter()
        from crimeassess.demo import generate_city

        generate_city(Path(d) / "gen-only", seed=args.seed)
        gen = time.perf_counter() - t
    print(f"crimeassess demo: {total:.1f} s end to end (of which generating the city alone: {gen:.1f} s)")
    print(f"target < 60 s: {'PASS' if total < 60 else 'FAIL'}")


if __name__ == "__main__":
    main()
