"""Benchmark: national-scale ingest against DuckDB and pandas, in one run, on the same files.

Generates N rows as a national police.uk archive in the real layout (``YYYY-MM/YYYY-MM-<force>-street.csv``,
12 months, all 43 forces), with real 2011 LSOA codes and names and each LSOA's real force when the ONS lookups
are in ../shared/data/geography/lookups (LSOA11_WD17_LAD17_EW_LU.csv, LAD17_CSP17_PFA17_EW_LU.csv); a
synthetic geography of 43 forces otherwise. The same rows are also written as one single large CSV.

Then, each in its own process so its peak resident memory (ru_maxrss) is its own:
  1. crimeassess ingest of the archive folder (validation, quarantine, Parquet, manifest), into a fresh store,
  2. crimeassess ingest of the single large CSV, into another fresh store,
  3. DuckDB read_csv + GROUP BY (month, force, LSOA, crime type) over the archive's files (the practical limit),
  4. pandas: read_csv of every file, concat, groupby (what analysts write today; skipped above
     --pandas-max-rows, 24M by default, as it holds every row in memory),
  5. with --assess: one-area assess in-process and by the CLI on the archive's store (geography loaded first).
Prints rows/s, seconds and peak MB for each, the store's size and file counts, and writes them as JSON.

    python benchmarks/run.py --rows 1000000 --json /tmp/bench-1m.json
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LOOKUPS = HERE.parent.parent / "shared" / "data" / "geography" / "lookups"
if not LOOKUPS.is_dir():
    LOOKUPS = Path("/work/shared/data/geography/lookups")
LSOA_LU = "LSOA11_WD17_LAD17_EW_LU.csv"
PFA_LU = "LAD17_CSP17_PFA17_EW_LU.csv"

TYPES = {  # police.uk crime type label -> weight (ASB drawn separately)
    "Violence and sexual offences": 38, "Shoplifting": 8, "Other theft": 8, "Criminal damage and arson": 8,
    "Public order": 7, "Vehicle crime": 5.5, "Burglary": 4.5, "Drugs": 2, "Other crime": 1.5,
    "Theft from the person": 1.4, "Bicycle theft": 1.4, "Possession of weapons": 1, "Robbery": 0.8,
}
OUTCOMES = {
    "Investigation complete; no suspect identified": 35, "Unable to prosecute suspect": 30,
    "Under investigation": 12, "Status update unavailable": 5, "Local resolution": 4,
    "Awaiting court outcome": 4, "Action to be taken by another organisation": 3,
    "Formal action is not in the public interest": 3, "Offender given a caution": 2, "Court result unavailable": 2,
}
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
          "Crime type,Last outcome category,Context")
STREETS = [f"On or near {a} {b}" for a in ("High", "Church", "Station", "Mill", "Park", "Victoria", "London",
                                           "Green", "Manor", "Kings") for b in ("Street", "Road", "Lane", "Close")]


#: Above this many rows the pandas baseline is skipped by default (its peak was 1.25 GB at 6M rows, linear).
PANDAS_MAX_ROWS = 24_000_000


def cpu_reference_s(steps: int = 10_000_000) -> float:
    """Seconds for a fixed pure-Python loop: this shared VM's speed varies by up to 30% over an hour with nothing
    else running, so figures measured at different times are compared through it (0.40 s when it is fast, 0.55 s slow)."""
    t = time.perf_counter()
    x = 0
    for i in range(steps):
        x += i
    return round(time.perf_counter() - t, 3)


def force_name(pfa: str) -> str:
    """A police.uk 'Falls within' name for an ONS police force area name."""
    special = {"London, City of": "City of London Police", "Metropolitan Police": "Metropolitan Police Service"}
    return special.get(pfa, f"{pfa} Police")


def geography(seed: int) -> tuple[list[str], dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], str]:
    """Forces and, per force, its LSOA codes, names and local authorities (an index per force): real (ONS
    lookups) when available, else synthetic (blocks of 100 LSOAs as authorities)."""
    a, b = LOOKUPS / LSOA_LU, LOOKUPS / PFA_LU
    if a.is_file() and b.is_file():
        with open(b, encoding="utf-8-sig") as fh:
            lad_pfa = {r["LAD17CD"]: r["PFA17NM"] for r in csv.DictReader(fh)}
        by_force: dict[str, list[tuple[str, str, str]]] = {}
        with open(a, encoding="utf-8-sig") as fh:
            for r in csv.DictReader(fh):
                pfa = lad_pfa.get(r["LAD17CD"])
                if pfa:
                    by_force.setdefault(force_name(pfa), []).append((r["LSOA11CD"], r["LSOA11NM"], r["LAD17CD"]))
        out = {}
        for f, v in sorted(by_force.items()):
            lads = {lad: i for i, lad in enumerate(sorted({x[2] for x in v}))}
            out[f] = (np.array([c for c, _, _ in v], dtype=object), np.array([n for _, n, _ in v], dtype=object),
                      np.array([lads[x[2]] for x in v]))
        return sorted(out), out, f"real ({LSOA_LU}, {PFA_LU})"
    rng = np.random.default_rng(seed)
    out = {}
    for k in range(43):
        n = int(rng.integers(300, 1500))
        codes = np.array([f"E0{1090000 + k * 2000 + j}" for j in range(n)], dtype=object)
        out[f"Force {k + 1:02d} Police"] = (codes, np.array([f"Area {k + 1:02d} {j:04d}" for j in range(n)], dtype=object),
                                            np.arange(n) // 100)
    return sorted(out), out, "synthetic (ONS lookups not found)"


def _lsoa_points(rng: np.random.Generator, lads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A fixed map point per LSOA, clustered as real ones are: each local authority a random centre inside the
    UK box, its LSOAs spread over a disc of about 0.26 km² each (Southampton's 148 LSOAs: radius ≈ 3.5 km).
    Points scattered over the whole box would make every area's hotspot grid span the country."""
    n_lad = int(lads.max()) + 1 if lads.size else 0
    c_lon, c_lat = -4.5 + 5.5 * rng.uniform(size=n_lad), 50.6 + 4.4 * rng.uniform(size=n_lad)
    size = np.bincount(lads, minlength=n_lad)
    radius_km = 0.29 * np.sqrt(size[lads])
    r, a = radius_km * np.sqrt(rng.uniform(size=lads.size)), 2 * np.pi * rng.uniform(size=lads.size)
    return c_lon[lads] + r * np.cos(a) / 68.7, c_lat[lads] + r * np.sin(a) / 111.2


def generate(root: Path, rows: int, *, seed: int = 1, year: int = 2024, months: int = 12) -> dict:
    """Write the archive under root/archive and the same rows as root/all-street.csv; return a summary."""
    rng = np.random.default_rng(seed)
    forces, geo, kind = geography(seed)
    weights = np.array([len(geo[f][0]) for f in forces], dtype=float)
    per_file = rng.multinomial(rows, np.repeat(weights / weights.sum() / months, months))
    tl, tw = np.array(list(TYPES), dtype=object), np.array(list(TYPES.values()), float)
    ol, ow = np.array(list(OUTCOMES), dtype=object), np.array(list(OUTCOMES.values()), float)
    streets = np.array(STREETS, dtype=object)
    archive = root / "archive"
    single = root / "all-street.csv"
    files = 0
    with open(single, "w", encoding="utf-8", newline="") as big:
        big.write(HEADER + "\n")
        for fi, force in enumerate(forces):
            codes, names, lads = geo[force]
            # the same places every year (a store of several years is generated a year at a time)
            base_lon, base_lat = _lsoa_points(np.random.default_rng([2024, fi]), lads)
            for mi in range(months):
                n = int(per_file[fi * months + mi])
                month = f"{year}-{mi + 1:02d}"
                path = archive / month / f"{month}-{force.lower().replace(' ', '-')}-street.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                asb = rng.uniform(size=n) < 0.15
                noloc = rng.uniform(size=n) < 0.005
                k = rng.integers(0, codes.size, n)
                lon = base_lon[k] + rng.normal(0, 0.002, n)
                lat = base_lat[k] + rng.normal(0, 0.002, n)
                typ = np.where(asb, "Anti-social behaviour", tl[rng.choice(tl.size, n, p=tw / tw.sum())])
                out = np.where(asb, "", ol[rng.choice(ol.size, n, p=ow / ow.sum())])
                hexes = rng.bytes(32 * n).hex()
                loc = streets[rng.integers(0, streets.size, n)]
                prefix = f",{month},{force},{force},"
                lines = []
                for i, (a, nl, x, y, st, c, nm, t, o) in enumerate(zip(
                        asb.tolist(), noloc.tolist(), lon.tolist(), lat.tolist(), loc.tolist(),
                        codes[k].tolist(), names[k].tolist(), typ.tolist(), out.tolist())):
                    cid = "" if a else hexes[i * 64:(i + 1) * 64]
                    geo_part = ",,No Location,," if nl else f"{x:.6f},{y:.6f},{st},{c},{nm}"
                    lines.append(f"{cid}{prefix}{geo_part},{t},{o},")
                body = "\n".join(lines) + ("\n" if lines else "")
                path.write_text(HEADER + "\n" + body, encoding="utf-8")
                big.write(body)
                files += 1
    size = sum(p.stat().st_size for p in archive.rglob("*.csv"))
    return {"rows": rows, "files": files, "forces": len(forces), "months": months, "geography": kind,
            "archive_bytes": size, "single_csv_bytes": single.stat().st_size}


CHILD = r'''
import glob, json, os, resource, sys, time
kind, path, store = sys.argv[1], sys.argv[2], sys.argv[3]
limit = os.environ.get("CRIMEASSESS_MEMORY_LIMIT", "2GB")
t = time.perf_counter()
extra = {}
if kind == "crimeassess":
    from crimeassess.ingest import ingest
    rep = ingest([path], store)
    n = sum(i.rows_read for i in rep.inputs)
    extra = {"loaded": sum(i.rows_loaded for i in rep.inputs), "quarantined": sum(i.rows_quarantined for i in rep.inputs),
             "inputs": len(rep.inputs)}
elif kind == "duckdb":
    import duckdb
    files = sorted(glob.glob(os.path.join(path, "*", "*.csv"))) if os.path.isdir(path) else [path]
    con = duckdb.connect(config={"memory_limit": limit})
    con.execute("SET enable_progress_bar = false")
    rows = con.execute('SELECT "Month", "Falls within", "LSOA code", "Crime type", count(*) FROM read_csv(?, header=true) '
                       'GROUP BY ALL', [files]).fetchall()
    n = sum(r[-1] for r in rows)
    extra = {"groups": len(rows)}
elif kind == "pandas":
    import pandas as pd
    files = sorted(glob.glob(os.path.join(path, "*", "*.csv"))) if os.path.isdir(path) else [path]
    df = pd.concat([pd.read_csv(f, usecols=["Month", "Falls within", "LSOA code", "Crime type"]) for f in files])
    g = df.groupby(["Month", "Falls within", "LSOA code", "Crime type"], dropna=False).size()
    n = int(g.sum())
    extra = {"groups": len(g)}
elif kind == "assess":
    from crimeassess.assess.engine import assess
    t = time.perf_counter()
    a = assess(path, "2024", store=store)
    extra = {"area": path}
    n = 0
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT " + json.dumps({"rows": n, "seconds": dt, "peak_mb": ru.ru_maxrss / 1024,
                              "cpu_seconds": ru.ru_utime + ru.ru_stime, **extra}))
'''


def child(kind: str, path: Path | str, store: Path, src: Path | None = None) -> dict:
    """Run one approach in its own process (importing crimeassess from `src` when given) and return its result."""
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), str(store)], capture_output=True, text=True,
                          env=env)
    # (a DuckDB progress bar may end without a line break just before the result)
    got = [ln[ln.index("RESULT ") + 7:] for ln in proc.stdout.splitlines() if "RESULT " in ln]
    if proc.returncode or not got:
        raise SystemExit(f"{kind} failed (exit status {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return json.loads(got[-1])


def store_stats(store: Path) -> dict:
    """Files and bytes of a store's records and quarantine folders."""
    rec = list((store / "records").rglob("*.parquet"))
    q = list((store / "quarantine").rglob("*.parquet"))
    return {"record_files": len(rec), "record_bytes": sum(p.stat().st_size for p in rec),
            "quarantine_files": len(q), "manifest_bytes": (store / "manifest.json").stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--dir", type=Path, help="work folder (default: a temporary folder under /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files and stores")
    ap.add_argument("--skip", default="", help="comma-separated approaches to skip: archive, single, duckdb, pandas, archive_before, single_before")
    ap.add_argument("--before", type=Path, metavar="SRC",
                    help="also ingest with another crimeassess source tree (e.g. an older commit's src/) in the same run")
    ap.add_argument("--pandas-max-rows", type=int, default=PANDAS_MAX_ROWS,
                    help="skip the pandas baseline above this many rows (it holds every row in memory: about "
                         "200 MB per million rows; default %(default)s)")
    ap.add_argument("--assess", metavar="AREA", help="also time one-area assess (e.g. Southampton) on the archive's store")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    root = Path(tempfile.mkdtemp(prefix="crimeassess-bench-", dir=args.dir))
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform(),
                                 "memory_limit": os.environ.get("CRIMEASSESS_MEMORY_LIMIT", "2GB (default)")}}
    try:
        t = time.perf_counter()
        results["data"] = generate(root, args.rows)
        d = results["data"]
        print(f"generated {d['rows']:,} rows in {d['files']} files of {d['forces']} forces "
              f"({d['archive_bytes'] / 1e6:,.0f} MB; geography {d['geography']}) in {time.perf_counter() - t:.0f} s")
        runs = [("archive", "crimeassess ingest, archive", "crimeassess", root / "archive", root / "store-archive", None),
                ("single", "crimeassess ingest, one CSV", "crimeassess", root / "all-street.csv", root / "store-single", None),
                ("duckdb", "DuckDB read_csv + GROUP BY", "duckdb", root / "archive", root / "x", None),
                ("pandas", "pandas read_csv + groupby", "pandas", root / "archive", root / "x", None)]
        if args.before:
            runs[2:2] = [
                ("archive_before", "  before: archive", "crimeassess", root / "archive", root / "store-archive-b", args.before),
                ("single_before", "  before: one CSV", "crimeassess", root / "all-street.csv", root / "store-single-b", args.before)]
        print(f"{'approach':<34}{'rows/s':>12}{'seconds':>10}{'peak MB':>10}")
        for key, label, kind, path, store, src in runs:
            if key in skip or key.split("_")[0] in skip:
                continue
            if key == "pandas" and args.rows > args.pandas_max_rows:
                why = (f"skipped: {args.rows:,} rows over --pandas-max-rows {args.pandas_max_rows:,} (pandas holds "
                       f"every row in memory, about {args.rows * 210 / 1e6 / 1000:,.0f} GB here)")
                results[key] = {"skipped": why}
                print(f"{label:<34}{why}")
                continue
            load = os.getloadavg()[0]
            r = child(kind, path, store, src)
            r["rows_per_s"] = r["rows"] / r["seconds"]
            r["load_average"] = [round(load, 2), round(os.getloadavg()[0], 2)]  # 1-minute, before and after
            if kind == "crimeassess":
                r.update(store_stats(store))
                if key != "archive":
                    shutil.rmtree(store, ignore_errors=True)
            results[key] = r
            print(f"{label:<34}{r['rows_per_s']:>12,.0f}{r['seconds']:>10.2f}{r['peak_mb']:>10.0f}"
                  f"   (load {r['load_average'][0]:.1f} -> {r['load_average'][1]:.1f})")
        if "duckdb" in results:
            for key in ("archive", "single", "archive_before", "single_before"):
                if key in results:
                    results[key]["vs_duckdb"] = results[key]["rows_per_s"] / results["duckdb"]["rows_per_s"]
                    results[key]["cpu_vs_duckdb"] = results["duckdb"]["cpu_seconds"] / results[key]["cpu_seconds"]
                    print(f"  {key}: {results[key]['vs_duckdb']:.2f}x DuckDB ({results[key]['cpu_vs_duckdb']:.2f}x by CPU "
                          f"seconds, all threads); {results[key]['record_files']} record files, "
                          f"{results[key]['record_bytes'] / 1e6:,.0f} MB")
        if args.assess and "archive" in results:
            results["assess"] = assess_timings(root, args.assess)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
            print(f"wrote {args.json}")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def assess_timings(root: Path, area: str) -> dict:
    """Load the ONS lookups into the archive's store, then time one-area assess in-process and by the CLI."""
    store = root / "store-archive"
    subprocess.run([sys.executable, "-m", "crimeassess.program", "geography", "load", "--store", str(store),
                    str(LOOKUPS / LSOA_LU), str(LOOKUPS / PFA_LU)], check=True, capture_output=True)
    inproc = child("assess", area, store)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "crimeassess.program", "assess", "--store", str(store), "--area", area,
                    "--period", "2024", "--format", "json"], check=True, capture_output=True)
    cli = time.perf_counter() - t
    print(f"one-area assess ({area}): {inproc['seconds']:.2f} s in-process ({inproc['peak_mb']:.0f} MB), {cli:.2f} s CLI")
    return {"area": area, "in_process_s": inproc["seconds"], "in_process_peak_mb": inproc["peak_mb"], "cli_s": cli}


if __name__ == "__main__":
    main()
