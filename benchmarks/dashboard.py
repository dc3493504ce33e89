"""Benchmark: the dashboard under 50 concurrent clients on loopback (issue 12: p99 < 100 ms, warm cache).

Starts ``crimeassess serve`` in its own process on 127.0.0.1 (a free port) over a store, times the cold first
request of each route (the assessment computed), then loads each route with 50 keep-alive connections for a
few seconds and prints requests/s and p50/p90/p99 latency. The load comes from ``oha`` or ``wrk`` when one is
on PATH (``--tool``), else from a small asyncio HTTP/1.1 client in this file (which shares the 2 cores with
the server, so it understates what the server can do).

    python benchmarks/dashboard.py                       # the demo city (built in a temporary folder)
    python benchmarks/dashboard.py --store /tmp/demo/store --area Demoport --period 2024/25
    python benchmarks/dashboard.py --real                # Hampshire police.uk + Southampton (../shared/data)
    python benchmarks/dashboard.py --before /path/to/older/src --json dash.json   # an older commit, same run

Run from the repository root (``src`` is put on PYTHONPATH for the server unless ``--src`` says otherwise).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
TARGET_P99_MS = 100.0


# ---------------------------------------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: Path, port: int, src: Path) -> subprocess.Popen[bytes]:
    """``crimeassess serve`` with ``src`` first on PYTHONPATH; waits until /healthz answers."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    code = ("import sys; from crimeassess.web.app import serve; "
            f"serve({str(store)!r}, host='127.0.0.1', port={port}, log_level='warning')")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start within 120 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def timed_get(url: str) -> tuple[float, int, int]:
    """(milliseconds, status, bytes received) of one GET."""
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=HEADERS), timeout=600) as r:
            body, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    return (time.perf_counter() - t) * 1000, status, len(body)


# ---------------------------------------------------------------------------------------------------------
# load generators
# ---------------------------------------------------------------------------------------------------------
HEADERS: dict[str, str] = {}  # extra request headers (--gzip: Accept-Encoding: gzip)


def run_wrk(url: str, clients: int, seconds: float) -> dict[str, float]:
    extra = [a for k, v in HEADERS.items() for a in ("-H", f"{k}: {v}")]
    out = subprocess.run(["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{seconds:g}s", "--latency", *extra, url],
                         check=True, capture_output=True, text=True).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}

    def lat(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(m.group(1)) * unit[m.group(2)] if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {"requests": int(n.group(1)) if n else 0, "rps": float(rps.group(1)) if rps else 0.0,
            "p50_ms": lat(50), "p90_ms": lat(90), "p99_ms": lat(99),
            "errors": int(errors.group(1)) if errors else 0, "socket_errors": sock.group(1) if sock else ""}


def run_oha(url: str, clients: int, seconds: float) -> dict[str, float]:
    extra = [a for k, v in HEADERS.items() for a in ("-H", f"{k}: {v}")]
    out = subprocess.run(["oha", "--no-tui", "--output-format", "json", "-c", str(clients), "-z", f"{seconds:g}s",
                          *extra, url],
                         check=True, capture_output=True, text=True).stdout
    d = json.loads(out)
    pct = d.get("latencyPercentiles", {})
    codes = d.get("statusCodeDistribution", {})
    return {"requests": sum(int(v) for v in codes.values()), "rps": d["summary"]["requestsPerSec"],
            "p50_ms": pct.get("p50", float("nan")) * 1000, "p90_ms": pct.get("p90", float("nan")) * 1000,
            "p99_ms": pct.get("p99", float("nan")) * 1000,
            "errors": sum(int(v) for k, v in codes.items() if not k.startswith("2"))}


async def _client(host: str, port: int, target: str, stop: float, lat: list[float], bad: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
    request = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n{extra}\r\n".encode()
    try:
        while time.perf_counter() < stop:
            t = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            await reader.readexactly(int(m.group(1)) if m else 0)
            lat.append((time.perf_counter() - t) * 1000)
            if status >= 300:
                bad.append(status)
    finally:
        writer.close()


def run_builtin(url: str, clients: int, seconds: float) -> dict[str, float]:
    u = urllib.parse.urlsplit(url)
    target = u.path + ("?" + u.query if u.query else "")
    lat: list[float] = []
    bad: list[int] = []

    async def main() -> float:
        t = time.perf_counter()
        stop = t + seconds
        await asyncio.gather(*(_client(u.hostname or "127.0.0.1", u.port or 80, target, stop, lat, bad)
                               for _ in range(clients)))
        return time.perf_counter() - t

    elapsed = asyncio.run(main())
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [float("nan")] * 99
    return {"requests": len(lat), "rps": len(lat) / elapsed, "p50_ms": q[49], "p90_ms": q[89], "p99_ms": q[98],
            "errors": len(bad)}


def pick_tool(name: str) -> str:
    if name != "auto":
        return name
    for tool in ("oha", "wrk"):
        if shutil.which(tool):
            return tool
    return "builtin"


LOADERS = {"oha": run_oha, "wrk": run_wrk, "builtin": run_builtin}


# ---------------------------------------------------------------------------------------------------------
# stores
# ---------------------------------------------------------------------------------------------------------
def build_store(tmp: Path, real: bool) -> tuple[Path, str, str]:
    sys.path.insert(0, str(SRC))
    if real:
        sys.path.insert(0, str(HERE))
        from report import build_store as build_real  # benchmarks/report.py

        return build_real(tmp)
    from crimeassess.demo import build_demo_store

    info = build_demo_store(tmp / "demo")
    return Path(info.store.path if hasattr(info.store, "path") else info.store), info.area, info.period


def routes(area: str, period: str) -> list[tuple[str, str]]:
    q = urllib.parse.urlencode({"area": area, "period": period})
    return [("/api/assessment", f"/api/assessment?{q}"), ("/api/wards.geojson", f"/api/wards.geojson?{q}"),
            ("/panel", f"/panel?{q}"), ("/ (page)", f"/?{q}"), ("/api/areas", "/api/areas"), ("/api/inputs", "/api/inputs"),
            ("/healthz", "/healthz")]


def bench(label: str, store: Path, area: str, period: str, src: Path, tool: str, clients: int, seconds: float,
          only: list[str] | None) -> list[dict[str, object]]:
    port = free_port()
    proc = start_server(store, port, src)
    rows: list[dict[str, object]] = []
    try:
        for name, target in routes(area, period):
            if only and name not in only:
                continue
            url = f"http://127.0.0.1:{port}{target}"
            cold_ms, status, size = timed_get(url)  # the first request computes (the assessment, once)
            warm_ms = min(timed_get(url)[0] for _ in range(3))
            load = LOADERS[tool](url, clients, seconds)
            row = {"server": label, "route": name, "status": status, "bytes": size, "cold_ms": round(cold_ms, 1),
                   "warm_ms": round(warm_ms, 2), **{k: round(v, 2) if isinstance(v, float) else v for k, v in load.items()}}
            rows.append(row)
            print(f"  {label:7s} {name:20s} {status} {size / 1024:9.0f} kB  cold {cold_ms:8.0f} ms  "
                  f"warm {warm_ms:6.1f} ms  {load['rps']:8.0f} req/s  p50 {load['p50_ms']:7.1f}  "
                  f"p90 {load['p90_ms']:7.1f}  p99 {load['p99_ms']:7.1f} ms  non-2xx {load['errors']}", flush=True)
    finally:
        stop_server(proc)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="an existing store (default: build the demo city)")
    ap.add_argument("--area", help="area to assess (with --store)")
    ap.add_argument("--period", help="period (with --store)")
    ap.add_argument("--real", action="store_true", help="build a store from ../shared/data (Southampton 2018-03)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0, help="load duration per route")
    ap.add_argument("--tool", choices=["auto", "oha", "wrk", "builtin"], default="auto")
    ap.add_argument("--routes", default="", help="comma-separated routes to load (default: all)")
    ap.add_argument("--src", type=Path, default=SRC, help="the crimeassess src folder the server runs")
    ap.add_argument("--before", type=Path, metavar="SRC", help="also run an older src folder, same store, same run")
    ap.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip, as browsers do")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args()
    if args.gzip:
        HEADERS["Accept-Encoding"] = "gzip"
    tool = pick_tool(args.tool)
    only = [r.strip() for r in args.routes.split(",") if r.strip()] or None
    with tempfile.TemporaryDirectory() as d:
        if args.store:
            if not (args.area and args.period):
                raise SystemExit("--store needs --area and --period")
            store, area, period = args.store, args.area, args.period
        else:
            t = time.perf_counter()
            store, area, period = build_store(Path(d), args.real)
            print(f"store built in {time.perf_counter() - t:.1f} s")
        print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {tool}, {args.clients} clients, "
              f"{args.seconds:g} s per route; {area} {period}{'; Accept-Encoding: gzip' if args.gzip else ''}")
        rows = []
        if args.before:
            rows += bench("before", Path(store), area, period, args.before, tool, args.clients, args.seconds, only)
        rows += bench("now", Path(store), area, period, args.src, tool, args.clients, args.seconds, only)
    now = [r for r in rows if r["server"] == "now"]
    worst = max((float(r["p99_ms"]) for r in now), default=float("nan"))
    print(f"target p99 < {TARGET_P99_MS:g} ms warm, {args.clients} clients: "
          f"{'PASS' if worst < TARGET_P99_MS else 'FAIL'} (worst route p99 {worst:.1f} ms)")
    if args.json:
        args.json.write_text(json.dumps({"tool": tool, "clients": args.clients, "seconds": args.seconds, "gzip": args.gzip,
                                         "area": area, "period": period, "cpu_count": os.cpu_count(),
                                         "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
