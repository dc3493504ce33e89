"""The `crimeassess` command line: a thin shell over the library. Library errors become one line, exit 2.

Library modules are imported inside the commands that use them: `crimeassess --help` and the light commands
then start without loading DuckDB, geopandas, matplotlib and WeasyPrint (start-up cost).
"""
from __future__ import annotations

import atexit
import functools
import gc
import inspect
import json
import os
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from enum import Enum
from pathlib import Path
from typing import Any, Callable

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .assess.options import Adjustment, OutputFormat, Placement, SignificanceTest, Source
from .errors import CrimeAssessError

# Plain (click-style) help: flags are listed as flags, without a "<bool>" type column.
_TYPER = {"rich_markup_mode": None, "no_args_is_help": True}
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                  help="Turn police recorded crime into a community-safety strategic assessment.", **_TYPER)
geography_app = typer.Typer(help="Load ONS lookups, boundaries and population.", **_TYPER)
app.add_typer(geography_app, name="geography")
download_app = typer.Typer(help="Download real data from the publishers, then ingest or load it.", **_TYPER)
app.add_typer(download_app, name="download")
harm_app = typer.Typer(help="Harm weights by Home Office offence code (docs/harm.md).", **_TYPER)
app.add_typer(harm_app, name="harm")
store_app = typer.Typer(no_args_is_help=True, help="Check the store's integrity and remove orphan files.")
app.add_typer(store_app, name="store")

# Off a terminal (pipes, CI logs) Rich would wrap tables at 80 columns; give them room.
out = Console() if sys.stdout.isatty() else Console(width=140)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)

StoreOpt = typer.Option(None, "--store", help="Store folder (default $CRIMEASSESS_STORE or ./crimeassess-store).")
PublicOpt = typer.Option(False, "--public", help="Public-safe output: counts below the threshold shown as <5, with "
                         "secondary suppression (docs/report.md).")
ThresholdOpt = typer.Option(5, "--public-threshold", help="Suppression threshold for --public (default 5).")


@dataclass(frozen=True)
class AssessArgs:
    """The options `assess` and `report` share: what to assess, and ``options`` as ``assess()`` keywords."""

    area: str
    period: str
    compare: str | None
    store: Path | None
    options: dict[str, Any]


# The options shared by `assess` and `report`, declared once: (name, type, option).
_SHARED = (
    ("area", str, typer.Option(None, "--area", help="Area name or GSS code: ward, local authority, CSP or force area.")),
    ("period", str, typer.Option(..., "--period", help="2018-03, 2017-04..2017-09, 2017/18, 2017, 2017Q3, "
                                 "12m-2018-03; with recorded dates also 2018-W10, 28d-2018-03-31, ytd-2018-03-31.")),
    ("compare", str, typer.Option(None, "--compare", help="Comparison period, or 'previous' (default: the same "
                                  "months a year earlier).")),
    ("store", Path, StoreOpt),
    ("area_file", Path, typer.Option(None, "--area-file", help="A user-drawn area (GeoJSON, GeoPackage, "
                                     "Shapefile) instead of --area.")),
    ("source", Source, typer.Option(None, "--source", help="Source kind (default: the best available).")),
    ("ward_vintage", str, typer.Option(None, "--ward-vintage", help="Ward lookup vintage, e.g. WD17 (default: "
                                       "newest covering the area).")),
    ("placement", Placement, typer.Option(Placement.auto, "--placement", help="auto (LSOA best fit, then points), "
                                          "lsoa or point.")),
    ("themes", list[Path], typer.Option(None, "--themes", help="Extra theme definitions (TOML).")),
    ("adjustment", Adjustment, typer.Option(Adjustment.holm, "--adjustment", help="p-value adjustment: holm or bh "
                                            "(Benjamini-Hochberg).")),
    ("peers", str, typer.Option(None, "--peers", help="Peer areas to compare rates with, comma-separated names or "
                                "codes.")),
    ("exclude", str, typer.Option(None, "--exclude", help="Areas to leave out of the force-area comparator, "
                                  "comma-separated (e.g. Southampton,Portsmouth).")),
    ("peer_file", Path, typer.Option(None, "--peer-file", help="Peer groups (TOML or CSV: group -> area codes); the "
                                     "area's group is used.")),
    ("test", SignificanceTest, typer.Option(SignificanceTest.quasi_poisson, "--test", help="Significance test: "
                                            "quasi-poisson (allows for month-to-month overdispersion), exact "
                                            "(Poisson) or wheeler (Wheeler's Z).")),
)


def assess_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the shared options of :data:`_SHARED` (before its own), passed to it as ``args``."""
    own = [p for p in inspect.signature(fn).parameters.values() if p.name != "args"]
    shared = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=t) for n, t, opt in _SHARED]

    @functools.wraps(fn)
    def command(**kwargs: Any) -> Any:
        got = {n: kwargs.pop(n) for n, _t, _o in _SHARED}
        if kwargs.get("all_areas"):
            if got["area"] or got["area_file"]:
                raise CrimeAssessError("--all-areas assesses every area: give it without --area or --area-file")
            if kwargs.get("out_dir") is None:
                raise CrimeAssessError("--all-areas writes one file per area: give --out DIR")
        elif not got["area"] and not got["area_file"]:
            raise CrimeAssessError("give --area NAME|CODE or --area-file FILE (or --all-areas)")
        options = {n: getattr(got[n], "value", got[n])  # Enum choices as the plain strings the library takes
                   for n in ("area_file", "source", "ward_vintage", "placement", "themes", "adjustment", "test")}
        options.update(_comparator_options(got["peers"], got["exclude"], got["peer_file"]))
        args = AssessArgs(got["area"] or "", got["period"], got["compare"], got["store"], options)
        return fn(args, **kwargs)

    del command.__wrapped__  # typer must see the signature below, not fn's
    command.__signature__ = inspect.Signature(shared + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own])
    command.__annotations__ = {**{n: t for n, t, _o in _SHARED},
                               **{k: v for k, v in fn.__annotations__.items() if k != "args"}}
    return command


def _version(value: bool) -> None:
    if value:
        try:
            v = version("crimeassess")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
            v = "unknown"
        print(f"crimeassess {v}")
        raise typer.Exit()


@app.callback()
def _main(version_: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                        help="Print the version and exit.")) -> None:
    """Turn police recorded crime into a community-safety strategic assessment."""


def clean_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a library error into one clean line on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CrimeAssessError as exc:
            # escape: a message quoting user text ('[columns]', '[/x]') is shown as it is, never read as markup
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


class _Bar:
    """A Rich progress bar fed by the library's progress callbacks ``(done, total, what)``, shown only on a
    terminal: files for ingest, stages for demo and report."""

    def __init__(self, label: str, *, files: bool = True) -> None:
        self.files = files
        self.progress = Progress(TextColumn("[bold]" + label), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                                 transient=True, disable=not err.is_terminal)
        self.task = None

    def __enter__(self) -> "_Bar":
        self.progress.__enter__()
        return self

    def __exit__(self, *a: Any) -> None:
        self.progress.__exit__(*a)

    def __call__(self, done: int, total: int, what: str) -> None:
        if self.task is None:
            self.task = self.progress.add_task("", total=total)
        text = Path(what.split("!")[-1]).name[-40:] if self.files else what
        self.progress.update(self.task, completed=done, total=total, description=text)


@app.command()
@clean_errors
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files, folders (police.uk archive layout, any depth) or .zip archives."),
    store: Path = StoreOpt,
    json_out: bool = typer.Option(False, "--json", help="Print the per-input reconciliation as JSON."),
    mapping: Path = typer.Option(None, "--mapping", help="TOML mapping for a force extract's own column names."),
    force: str = typer.Option(None, "--force", help="Force slug for inputs that do not name one (API JSON, extracts)."),
) -> None:
    """Ingest police.uk street CSVs, archive folders/zips, API JSON and force extracts into the store."""
    from .ingest import ingest as do_ingest

    with _Bar("ingest") as bar:
        rep = do_ingest(paths, store, mapping=mapping, force=force, progress=bar)
    if json_out:
        print(json.dumps(rep.to_dict(), indent=2))
        return
    t = Table(title=f"Ingest into {rep.store}", show_lines=False)
    for c in ("input", "status", "kind", "months", "read", "loaded", "quarantined"):
        t.add_column(c, justify="right" if c in ("read", "loaded", "quarantined") else "left")
    for r in rep.inputs:
        months = (r.months[0] + (f"..{r.months[-1]}" if len(r.months) > 1 else "")) if r.months else ""
        status = r.status + (f" ({r.reason})" if r.status == "skipped" and r.reason else "")
        if r.supersedes:
            status += f", replaces {len(r.supersedes)} earlier"
        if r.superseded_by:  # a later input of the same run (or a concurrent writer) owns some of its months
            status += f", superseded for {len(r.months) - len(r.live_months)} month(s)"
        t.add_row(Path(r.path.split("!")[-1]).name, status, r.kind or "", months, f"{r.rows_read:,}",
                  f"{r.rows_loaded:,}", f"{r.rows_quarantined:,}")
    out.print(t)
    for r in rep.inputs:
        for note in r.notes:
            out.print(f"{Path(r.path.split('!')[-1]).name}: {note}", markup=False)


@geography_app.command("load")
@clean_errors
def geography_load(
    paths: list[Path] = typer.Argument(..., help="ONS lookup CSVs, boundary files (GeoJSON, TopoJSON, GPKG, SHP), population tables."),
    store: Path = StoreOpt,
) -> None:
    """Load ONS lookups (LSOA→ward→LAD, LAD→CSP→PFA), boundaries and population into the store."""
    from .geography.load import load_geography

    reps = load_geography(paths, store)
    t = Table(title="Geography")
    for c in ("file", "kind", "name", "rows", "detail"):
        t.add_column(c)
    for r in reps:
        t.add_row(Path(r.path).name, r.kind, r.name, f"{r.rows:,}", r.detail)
    out.print(t)


def _comparator_options(peers: str | None, exclude: str | None, peer_file: Path | None) -> dict[str, Any]:
    """--peers/--exclude (comma-separated) and --peer-file as assess() keyword arguments."""
    def split(v: str | None) -> list[str] | None:
        return [x.strip() for x in v.split(",") if x.strip()] if v else None

    return {"peers": split(peers), "exclude": split(exclude), "peer_file": peer_file}


class AreaLevel(str, Enum):
    lad = "lad"
    csp = "csp"
    pfa = "pfa"
    ward = "ward"


AllAreasOpt = typer.Option(False, "--all-areas", help="Every area of --level at once (from the aggregate store).")
LevelOpt = typer.Option(AreaLevel.lad, "--level", help="With --all-areas: lad, csp, pfa or ward.")


def _check_out_dir(out_dir: Path) -> None:
    """An --out folder that is a folder, or can be made in the nearest folder above it that exists: else one
    clean error before any work (nothing is made here: a failed run leaves no empty folder)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise CrimeAssessError(f"{out_dir}: exists and is not a folder")
    base = out_dir.absolute()
    while not base.exists():
        base = base.parent
    if not base.is_dir() or not os.access(base, os.W_OK | os.X_OK):
        raise CrimeAssessError(f"{out_dir}: cannot create the output folder ({base} is not a folder you can write to)")


def _assess_all(args: AssessArgs, level: str, out_dir: Path) -> None:
    from .assess.batch import assess_all_areas

    o = args.options
    for name in ("area_file", "themes", "peers", "exclude", "peer_file"):
        if o.get(name):
            raise CrimeAssessError(f"--all-areas does not take --{name.replace('_', '-')}")
    if o.get("placement") not in (None, "auto", "lsoa"):
        raise CrimeAssessError("--all-areas places records by LSOA (the aggregate store); it does not take "
                               f"--placement {o['placement']}")
    _check_out_dir(out_dir)
    with _Bar("assessing", files=False) as bar:
        res = assess_all_areas(level, args.period, args.compare, args.store, source=o.get("source"),
                               ward_vintage=o.get("ward_vintage"), adjustment=o["adjustment"], test=o["test"],
                               progress=bar)
        files = res.write(out_dir)
    compared = [a for a in res.areas if a.total.get("change") is not None]
    judged = ("significance in each authority's ward table" if level == "ward" else
              f"{sum(bool(a.total.get('significant')) for a in compared)} with a significant change")
    out.print(f"{len(res.areas)} areas ({level}) for {res.period.label}: {len(compared)} compared like for like, "
              f"{judged}; {len(files)} files written to {out_dir} (summary.csv, areas/<code>.json).", highlight=False)
    for n in res.notes:
        out.print(f"note: {n}", highlight=False)


@app.command()
@clean_errors
@assess_options
def assess(
    args: AssessArgs,
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text, json or csv (every table as one CSV)."),
    public: bool = PublicOpt,
    public_threshold: int = ThresholdOpt,
    all_areas: bool = AllAreasOpt,
    level: AreaLevel = LevelOpt,
    out_dir: Path = typer.Option(None, "--out", help="With --all-areas: folder for areas/<code>.json and summary.csv."),
) -> None:
    """Assess recorded crime in an area (or, with --all-areas, every area of a level) for a period against a
    comparison period."""
    from .assess import fitworker

    # Before the engine is imported: for one area, the statistics libraries are imported, and every fit made,
    # in a worker forked now (when this process is the crimeassess program and a core is free). A batch fits
    # here: its many small calls gained nothing from the worker (5.6-5.8 s against 5.4 s, 348 areas at 6M rows).
    fitworker.stay_local() if all_areas else fitworker.start_early()
    from .assess.engine import assess as do_assess
    from .assess.present import print_assessment

    _skip_exit_gc()
    if all_areas:
        if public:
            raise CrimeAssessError("assess --all-areas writes counts as they are; for public-safe files use "
                                   "report --all-areas --public")
        _assess_all(args, level.value, out_dir)
        return

    if public and fmt is OutputFormat.text:
        raise CrimeAssessError("--public applies to --format json or csv (and to report and serve)")
    res = do_assess(args.area, args.period, args.compare, args.store, **args.options)
    if public or fmt is OutputFormat.csv:
        a = res.to_dict()
        if public:
            from .suppress import suppress_assessment

            a = suppress_assessment(a, threshold=public_threshold)
        if fmt is OutputFormat.csv:
            from .report.build import assessment_csv

            sys.stdout.write(assessment_csv(a))
        else:
            print(json.dumps(a, indent=2, ensure_ascii=False))
    elif fmt is OutputFormat.json:
        print(res.to_json())
    else:
        print_assessment(res.to_dict(), out)


def _freeze_gc() -> None:
    gc.disable()
    gc.freeze()


#: The collector's thresholds for the rest of a one-area report command (Python's default is 700, 10, 10).
REPORT_GC_THRESHOLD = (10_000, 50, 100)


def _skip_exit_gc() -> None:
    """Skip the collector's passes over the whole heap when the process ends: they took 0.3-0.6 s after a
    report's last line (DuckDB, pandas, matplotlib and WeasyPrint objects) and 0.25 s after an assessment's,
    when every file is written and closed; modules are still cleared and atexit handlers still run (the render
    worker is ended). For read-and-write-out commands only: a file object left in a reference cycle would not be
    flushed."""
    atexit.unregister(_freeze_gc)  # once, however many commands a process runs (tests)
    atexit.register(_freeze_gc)  # runs first (last registered), before the interpreter's final collections


def _report_gc(*, one_report: bool) -> None:
    """Garbage collection for a report command, a short-lived process that allocates millions of objects.

    The collector's passes when the process ends are skipped (:func:`_skip_exit_gc`). For one report, young
    objects are also collected every 10,000 allocations instead of 700: on the 6M store's Southampton report the
    collector took 0.3 s of assessing and writing the tables and 0.9 s in all when the report is rendered here
    (no render worker), now 0.05 and 0.24 s (peak memory unchanged: 499-518 MB either way on the 18M store); a
    batch (--all-areas) keeps the default, so that its memory stays flat."""
    if one_report and 0 < gc.get_threshold()[0] < REPORT_GC_THRESHOLD[0]:
        gc.set_threshold(*REPORT_GC_THRESHOLD)
    _skip_exit_gc()


@app.command()
@clean_errors
@assess_options
def report(
    args: AssessArgs,
    out_dir: Path = typer.Option(..., "--out", help="Folder for report.html, report.pdf, assessment.json and CSVs."),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Write the HTML report only."),
    public: bool = PublicOpt,
    public_threshold: int = ThresholdOpt,
    all_areas: bool = AllAreasOpt,
    level: AreaLevel = LevelOpt,
) -> None:
    """Write the strategic assessment report (HTML, PDF, JSON, CSV) for an area and period (with --all-areas:
    one folder per area of --level, and index.csv)."""
    from .assess import fitworker
    from .report.build import build_report

    _report_gc(one_report=not all_areas)
    fitworker.stay_local() if all_areas else fitworker.start_early()  # see assess
    from .report import renderworker

    # Before the progress bar's thread: forked, it inherits what is imported by now. A store that never held
    # boundaries gives no ward polygons, so neither process imports geopandas (0.3-0.4 s of CPU each); one that
    # did places records and draws its ward map with it, so it is imported here, once, before the fork. The
    # manifest is not read for this (a folder test: the fork cannot wait).
    from .store import Store

    geo = Store(args.store).ever_held("boundaries")
    if geo:
        import geopandas  # noqa: F401
    renderworker.start_soon(geo=geo)

    if all_areas:
        from .report.batch import build_all_reports

        if args.options.get("area_file"):
            raise CrimeAssessError("--all-areas does not take --area-file")
        with _Bar("reports", files=False) as bar:
            rb = build_all_reports(level.value, args.period, out_dir, args.store, compare=args.compare, pdf=not no_pdf,
                                   public=public, threshold=public_threshold, progress=bar,
                                   **{k: v for k, v in args.options.items() if k != "area_file"})
        out.print(f"{len(rb.written)} reports written under {out_dir} (index.csv); {len(rb.skipped)} skipped.",
                  highlight=False)
        for code, why in rb.skipped.items():
            out.print(f"  skipped {code}: {why}", highlight=False)
        return

    with _Bar("report", files=False) as bar:
        res = build_report(args.area, args.period, out_dir, args.store, compare=args.compare, pdf=not no_pdf,
                           progress=bar, public=public, threshold=public_threshold, **args.options)
    out.print(f"Report for {res.assessment['area']['name']} {res.assessment['period']['label']} written to {res.out_dir}:")
    for name in res.files:
        out.print(f"  {name}")


@app.command()
@clean_errors
def demo(
    out_dir: Path = typer.Option(Path("crimeassess-demo"), "--out", help="Folder for the demo data, store and report."),
    seed: int = typer.Option(2018, "--seed", help="Random seed: the same seed gives the same files."),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Write the HTML report only."),
    peers: str = typer.Option(None, "--peers", help="Peer areas to compare rates with, comma-separated names or codes."),
    exclude: str = typer.Option(None, "--exclude", help="Areas to leave out of the force-area comparator, comma-separated."),
    peer_file: Path = typer.Option(None, "--peer-file", help="Peer groups (TOML or CSV: group -> area codes); the area's group is used."),
) -> None:
    """Generate the synthetic demo city, load it into a fresh store and write its full report (no internet)."""
    from .assess import fitworker
    from .demo.run import run_demo

    fitworker.stay_local()  # one report: the render worker has the other core

    with _Bar("demo", files=False) as bar:
        res = run_demo(out_dir, seed=seed, pdf=not no_pdf, progress=bar)
    if res.notice:
        out.print(f"[bold red]{escape(res.notice)}[/]")
    out.print("[bold]Key findings[/]")
    for f in res.findings[:6]:
        out.print(f" • {f}", highlight=False)
    out.print(f"\nReport: [bold]{res.files.get('report.html')}[/]" + (f" and {res.files['report.pdf']}" if 'report.pdf' in res.files else ""))
    themes = f" --themes {res.themes}" if res.themes else ""  # the report's themes: the same numbers everywhere
    out.print(f"Store:  {res.store}  (try: crimeassess assess --store {res.store} --area {res.area} --period {res.period}"
              f"{themes}, or crimeassess serve --store {res.store}{themes})")


@app.command()
@clean_errors
def themes(
    theme_files: list[Path] = typer.Option(None, "--themes", help="Extra theme definitions (TOML) to include."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List the theme catalogue: what each theme selects and which sources can support it."""
    from .classify.themes import describe_themes

    rows = describe_themes(theme_files or [])
    if json_out:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    t = Table(title="Themes")
    for c in ("id", "label", "sources", "selects"):
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(r["id"], r["label"], ", ".join(r["sources"]) or "none", r["selects"])
    out.print(t)


@app.command()
@clean_errors
def serve(
    store: Path = StoreOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    public: bool = PublicOpt,
    public_threshold: int = ThresholdOpt,
    theme_files: list[Path] = typer.Option(None, "--themes", help="Theme definitions (TOML) every assessment "
                                           "takes, as assess --themes does."),
) -> None:
    """Serve the read-only web dashboard over the store (FastAPI + htmx, no external requests)."""
    from .assess import fitworker
    from .store import Store
    from .web.app import serve as run_server

    fitworker.command_process(False)  # long-lived and threaded: its workers are started, never forked

    st = Store(store)
    if not st.exists():
        raise CrimeAssessError(f"{st.path}: no store here; ingest data first or give --store")
    if public and public_threshold < 1:
        raise CrimeAssessError(f"--public-threshold must be at least 1, not {public_threshold}")
    if theme_files:
        from .classify.themes import load_themes

        load_themes(extra_paths=theme_files)  # a bad theme file is one clean error now, not a 4xx on every page
    err.print(f"Dashboard on http://{host}:{port}/ (store {st.path}{', public-safe' if public else ''}); Ctrl-C stops it.")
    run_server(st, host=host, port=port, public=public, threshold=public_threshold, themes=theme_files or None)


@app.command()
@clean_errors
def inputs(store: Path = StoreOpt, json_out: bool = typer.Option(False, "--json", help="Print the manifest entries as JSON.")) -> None:
    """List every input in the store's manifest, live or superseded."""
    from .store import Store

    ins = Store(store).inputs()
    if json_out:
        print(json.dumps(ins, indent=2))
        return
    t = Table(title="Inputs")
    for c in ("#", "input", "kind", "force", "months", "loaded", "quarantined", "live"):
        t.add_column(c)
    for i in ins:
        months = i["months"][0] + (f"..{i['months'][-1]}" if len(i["months"]) > 1 else "") if i["months"] else ""
        live = "live" if i.get("live") else "superseded"
        if i.get("live") and i.get("superseded_by"):
            live = "partly superseded"
        t.add_row(str(i["seq"]), Path(i["path"].split("!")[-1]).name, i["kind"], i.get("force") or "", months,
                  f"{i['rows_loaded']:,}", f"{i['rows_quarantined']:,}", live)
    out.print(t)


@app.command()
@clean_errors
def quarantine(store: Path = StoreOpt, limit: int = typer.Option(50, "--limit", help="Rows to show (0 = all)."),
               json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Show quarantined rows: file, line, reason and raw text."""
    from .store import quarantined_rows

    rows = quarantined_rows(store, limit=limit or None)
    if json_out:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    t = Table(title=f"Quarantined rows (showing {len(rows)})")
    for c in ("file", "line", "reason", "raw"):
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(Path(r["file"].split("!")[-1]).name, str(r["line"]), r["reason"], (r["raw"] or "")[:120])
    out.print(t)


@store_app.command("check")
@clean_errors
def store_check(store: Path = StoreOpt, json_out: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Verify every manifest entry (files, row counts, reconciliation, live slices) and list orphan files.

    Exit 0 when the store is sound (orphans alone are harmless; `store gc` removes them), 1 when not.
    """
    from .store import check_store

    rep = check_store(store)
    if json_out:
        print(json.dumps(rep.to_dict(), indent=2))
    else:
        out.print(f"Store {rep.store}: {rep.inputs_checked} input(s) and {rep.geography_checked} geography table(s) "
                  f"checked; {len(rep.problems)} problem(s); {len(rep.orphans)} orphan file(s).", highlight=False)
        for p in rep.problems:
            out.print(f"  problem: {p}", highlight=False)
        for o in rep.orphans:
            out.print(f"  orphan: {o}", highlight=False)
    if not rep.ok:
        raise typer.Exit(1)


@store_app.command("gc")
@clean_errors
def store_gc(store: Path = StoreOpt, dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed."),
             json_out: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Remove orphan files (left by killed writers or replaced geography) under the store's write lock."""
    from .store import gc_store

    rep = gc_store(store, dry_run=dry_run)
    if json_out:
        print(json.dumps(rep, indent=2))
        return
    verb = "Would remove" if dry_run else "Removed"
    out.print(f"{verb} {len(rep['removed'])} orphan file(s), {rep['bytes']:,} bytes, from {rep['store']}.", highlight=False)


class AggEngine(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


@app.command("build-aggregates")
@clean_errors
def build_aggregates_cmd(
    store: Path = StoreOpt,
    engine: AggEngine = typer.Option(AggEngine.duckdb, "--engine", help="Engine running the aggregation."),
    master: str = typer.Option(None, "--master", help="Spark master URL (engine spark; default local[2])."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild every aggregate file, not only missing ones."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Build the aggregate store (counts by month, LSOA, category, offence code, flags, force and source)."""
    from .aggregate import refresh_aggregates

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("aggregating", total=None)

        def progress(i: int, n: int, name: str) -> None:
            bar.update(task, completed=i, total=n, description=f"aggregating {Path(name).name}")

        rep = refresh_aggregates(store, engine=engine.value, master=master, rebuild=rebuild, progress=progress)
    if json_out:
        print(json.dumps(rep.to_dict(), indent=2))
        return
    out.print(f"Aggregates of {rep.store}: built {len(rep.built)} file(s) ({rep.records_rows:,} records → "
              f"{rep.aggregate_rows:,} aggregate rows) with {rep.engine} in {rep.seconds:.1f} s; "
              f"{rep.up_to_date} already up to date.", highlight=False)


class _ByteBar:
    """A Rich progress bar for download events (bytes or polygons)."""

    def __init__(self) -> None:
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> "_ByteBar":
        self.progress.__enter__()
        return self

    def __exit__(self, *a: Any) -> None:
        self.progress.__exit__(*a)

    def __call__(self, ev: Any) -> None:
        name = Path(str(ev.task)).name[-40:]
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=ev.total)
        self.progress.update(self.tasks[name], completed=ev.done, total=ev.total)


def _print_fetch(rep: Any, json_out: bool) -> None:
    d = rep.to_dict()
    if json_out:
        print(json.dumps(d, indent=2))
        return
    out.print(f"Downloaded {len(d['files']) - len(d['skipped'])} file(s) ({d['bytes']:,} bytes) into {d['dest']}; "
              f"{len(d['skipped'])} already complete.")
    if d["missing"]:
        out.print(f"[yellow]Not available from the publisher:[/] {', '.join(map(str, d['missing']))}")
    loaded = [x for x in d["loaded"] if x.get("status", "loaded") == "loaded" or x.get("kind")]
    out.print(f"Loaded {len(loaded)} input(s) into the store.")


@download_app.command("police-uk")
@clean_errors
def download_police_uk_cmd(
    force: str = typer.Option(..., "--force", help="Force slug as police.uk names it, e.g. hampshire."),
    start: str = typer.Option(..., "--from", help="First month, YYYY-MM."),
    end: str = typer.Option(..., "--to", help="Last month, YYYY-MM."),
    store: Path = StoreOpt,
    base_url: str = typer.Option(None, "--base-url", help="police.uk data base URL (default $CRIMEASSESS_POLICEUK_BASE or https://data.police.uk/data)."),
    layout: str = typer.Option("auto", "--layout", help="auto, archive (monthly archive zips) or monthly (per-month files)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download police.uk street-level files for a force and months, then ingest them."""
    from .download.pipeline import fetch_police_uk

    with _ByteBar() as bar:
        rep = fetch_police_uk(force, start, end, store, base_url=base_url, layout=layout, progress=bar)
    _print_fetch(rep, json_out)


@download_app.command("police-uk-api")
@clean_errors
def download_police_uk_api_cmd(
    area: str = typer.Option(..., "--area", help="Area whose ward polygons are queried, e.g. Southampton."),
    month: str = typer.Option(..., "--month", help="Month, YYYY-MM."),
    store: Path = StoreOpt,
    api_url: str = typer.Option(None, "--api-url", help="API base URL (default $CRIMEASSESS_POLICEUK_API or https://data.police.uk/api)."),
    rate: float = typer.Option(15.0, "--rate", help="Requests per second (police.uk allows 15)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download police.uk API crimes by ward polygon (splitting at the 10,000 cap), then ingest them."""
    from .download.pipeline import fetch_police_uk_api

    with _ByteBar() as bar:
        rep = fetch_police_uk_api(area, month, store, api_url=api_url, rate=rate, progress=bar)
    _print_fetch(rep, json_out)


@download_app.command("geography")
@clean_errors
def download_geography_cmd(
    ward_vintage: str = typer.Option(..., "--ward-vintage", help="Ward vintage, e.g. WD17."),
    store: Path = StoreOpt,
    base_url: str = typer.Option(None, "--base-url", help="ONS mirror base URL (default $CRIMEASSESS_ONS_BASE)."),
    area: str = typer.Option(None, "--area", help="Limit boundaries to an area the catalogue knows, e.g. southampton."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download the ONS lookups and ward boundaries for a vintage, then load them."""
    from .download.pipeline import fetch_geography

    with _ByteBar() as bar:
        rep = fetch_geography(ward_vintage, store, base_url=base_url, area=area, progress=bar)
    _print_fetch(rep, json_out)


@download_app.command("population")
@clean_errors
def download_population_cmd(
    store: Path = StoreOpt,
    base_url: str = typer.Option(None, "--base-url", help="ONS mirror base URL (default $CRIMEASSESS_ONS_BASE)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download the Census 2011 population by LSOA, then load it."""
    from .download.pipeline import fetch_population

    with _ByteBar() as bar:
        rep = fetch_population(store, base_url=base_url, progress=bar)
    _print_fetch(rep, json_out)


@download_app.command("home-office-tables")
@clean_errors
def download_home_office_cmd(
    store: Path = StoreOpt,
    base_url: str = typer.Option(None, "--base-url", help="Mirror base URL (default $CRIMEASSESS_HOME_OFFICE_BASE)."),
    tables: list[str] = typer.Option(None, "--table", help="Catalogue entry to fetch (default: every Home Office table)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download the Home Office police recorded crime tables, then ingest them (official totals, comparators)."""
    from .download.pipeline import fetch_home_office_tables

    with _ByteBar() as bar:
        rep = fetch_home_office_tables(store, tables=tables or None, base_url=base_url, progress=bar)
    _print_fetch(rep, json_out)


@download_app.command("harm-weights")
@clean_errors
def download_harm_weights_cmd(
    store: Path = StoreOpt,
    base_url: str = typer.Option(None, "--base-url", help="ONS mirror base URL (default $CRIMEASSESS_ONS_BASE)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download the ONS Crime Severity Score weights, then load them as harm weights."""
    from .download.pipeline import fetch_harm_weights

    with _ByteBar() as bar:
        rep = fetch_harm_weights(store, base_url=base_url, progress=bar)
    _print_fetch(rep, json_out)


@harm_app.command("load")
@clean_errors
def harm_load(
    path: Path = typer.Argument(..., help="CSV of offence_code, weight (and offence_description): docs/harm.md."),
    scheme: str = typer.Option("css", "--scheme", help="css (ONS Crime Severity Score), chi (Cambridge Crime Harm Index) or custom."),
    name: str = typer.Option(None, "--name", help="Name in the store (default: the scheme)."),
    store: Path = StoreOpt,
) -> None:
    """Load a harm-weight table by Home Office offence code into the store."""
    from .assess.harm import load_harm_weights

    e = load_harm_weights(path, store, scheme=scheme, name=name)
    out.print(f"loaded {e['codes']:,} harm weights ({e['scheme_label']}) from {e['source']} as {e['name']!r}")


def main() -> None:
    """The ``crimeassess`` program: a process that runs one command and ends (see ``fitworker.start_early``)."""
    from .assess import fitworker

    fitworker.command_process()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
