"""Calibration of the ward significance tests on overdispersed synthetic cities.

Each simulated city has 16 wards of Southampton-like size (800–3,500 crimes a year) observed for 36 months:
two comparison years and the current year. Ward months are gamma-Poisson (variance/mean drawn per ward
from 2–5) around a common seasonal pattern (±10%). Most wards have no true change; REAL_WARDS wards rise by
40% in the current year. Each city is assessed the way the engine assesses a ward table: the pooled
quasi-Poisson dispersion from the wards' monthly series (assess/dispersion.py), then the ward family's
tests with Holm's adjustment (assess/stats.py). The same cities are also judged by the exact Poisson test
(the old default) for contrast.

Prints the share of null wards called significant (target ≤ 5%) and the share of real +40% changes found
(target ≥ 90%), and writes them as JSON with --json.

    python benchmarks/calibration.py [--cities 300] [--seed 1] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from crimeassess.assess import dispersion, stats

WARDS, REAL_WARDS, MONTHS = 16, 3, 36
EFFECT = 1.40


def simulate(rng: np.random.Generator) -> tuple[dict[str, dict[int, int]], list[dict], list[bool]]:
    """One city: monthly series per ward, the ward table (current FY against the previous FY) and truth."""
    season = 1 + 0.10 * np.sin(2 * np.pi * (np.arange(MONTHS) - 3) / 12)
    series: dict[str, dict[int, int]] = {}
    rows, truth = [], []
    for w in range(WARDS):
        annual = rng.uniform(800, 3500)
        phi = rng.uniform(2, 5)
        mu = annual / 12 * season
        real = w < REAL_WARDS
        if real:
            mu = mu * np.r_[np.ones(24), np.full(12, EFFECT)]
        k = mu / (phi - 1)  # gamma shape so that variance = phi × mean
        y = rng.poisson(rng.gamma(k, mu / k))
        base = 2020 * 12 + 3  # April 2020
        series[f"w{w}"] = {base + i: int(v) for i, v in enumerate(y)}
        rows.append({"code": f"w{w}", "current": int(y[24:].sum()), "previous": int(y[12:24].sum())})
        truth.append(real)
    return series, rows, truth


def run(cities: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    counts = {"quasi-poisson": [0, 0, 0, 0], "exact": [0, 0, 0, 0]}  # null sig, null n, real found, real n
    phis = []
    t0 = time.perf_counter()
    for _ in range(cities):
        series, rows, truth = simulate(rng)
        d = dispersion.estimate(series)
        phis.append(d.value)
        for test in counts:
            out = stats.annotate_table(rows, test=test, dispersion=d.value)
            for r, real in zip(out, truth):
                c = counts[test]
                if real:
                    c[3] += 1
                    c[2] += bool(r["significant"] and r["change"] > 0)
                else:
                    c[1] += 1
                    c[0] += bool(r["significant"])
    result = {"cities": cities, "wards_per_city": WARDS, "real_changes_per_city": REAL_WARDS, "effect": EFFECT,
              "seconds": round(time.perf_counter() - t0, 1),
              "median_dispersion": round(float(np.median(phis)), 2)}
    for test, (ns, nn, rf, rn) in counts.items():
        result[test] = {"null_false_positive_rate": round(ns / nn, 4), "power_plus_40pct": round(rf / rn, 4)}
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cities", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the figures to this file")
    a = ap.parse_args(argv)
    res = run(a.cities, a.seed)
    q, e = res["quasi-poisson"], res["exact"]
    print(f"{res['cities']} cities × {WARDS} wards ({REAL_WARDS} with a real +40% change each), "
          f"median pooled dispersion {res['median_dispersion']}, {res['seconds']} s")
    print(f"  quasi-Poisson (default): null wards called significant {q['null_false_positive_rate']:.1%} "
          f"(target ≤ 5%), real +40% changes found {q['power_plus_40pct']:.1%} (target ≥ 90%)")
    print(f"  exact Poisson (old):     null wards called significant {e['null_false_positive_rate']:.1%}, "
          f"real +40% changes found {e['power_plus_40pct']:.1%}")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=2)
    ok = q["null_false_positive_rate"] <= 0.05 and q["power_plus_40pct"] >= 0.90
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
