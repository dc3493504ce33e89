"""The `crimeassess` command line: a thin shell over the library. Library errors become one line, exit 2."""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import CrimeAssessError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Turn police recorded crime into a community-safety strategic assessment.")
geography_app = typer.Typer(no_args_is_help=True, help="Load ONS lookups, boundaries and population.")
app.add_typer(geography_app, name="geography")
download_app = typer.Typer(no_args_is_help=True, help="Download real data from the publishers, then ingest or load it.")
app.add_typer(download_app, name="download")

# Off a terminal (pipes, CI logs) Rich would wrap tables at 80 columns; give them room.
out = Console() if sys.stdout.isatty() else Console(width=140)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)

StoreOpt = typer.Option(None, "--store", help="Store folder (default $CRIMEASSESS_STORE or ./crimeassess-store).")


def clean_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a library error into one clean line on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CrimeAssessError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


class _Bar:
    """A Rich progress bar fed by the library's progress callbacks (shown only on a terminal)."""

    def __init__(self, label: str) -> None:
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
        self.progress.update(self.task, completed=done, total=total, description=Path(what.split("!")[-1]).name[-40:])


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
        t.add_row(Path(r.path.split("!")[-1]).name, status, r.kind or "", months, f"{r.rows_read:,}",
                  f"{r.rows_loaded:,}", f"{r.rows_quarantined:,}")
    out.print(t)


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


@app.command()
@clean_errors
def assess(
    area: str = typer.Option(None, "--area", help="Area name or GSS code: ward, local authority, CSP or force area."),
    period: str = typer.Option(..., "--period", help="2018-03, 2017-04..2017-09, 2017/18, 2017, 2017Q3 or 12m-2018-03."),
    compare: str = typer.Option(None, "--compare", help="Comparison period (default: the same months a year earlier)."),
    store: Path = StoreOpt,
    fmt: str = typer.Option("text", "--format", help="text or json."),
    area_file: Path = typer.Option(None, "--area-file", help="A user-drawn area (GeoJSON, GeoPackage, Shapefile) instead of --area."),
    source: str = typer.Option(None, "--source", help="extract, police-uk-street or police-uk-api (default: best available)."),
    ward_vintage: str = typer.Option(None, "--ward-vintage", help="Ward lookup vintage, e.g. WD17 (default: newest covering the area)."),
    placement: str = typer.Option("auto", "--placement", help="lsoa, point or auto (LSOA best fit, then points)."),
    themes: list[Path] = typer.Option(None, "--themes", help="Extra theme definitions (TOML)."),
    adjustment: str = typer.Option("holm", "--adjustment", help="p-value adjustment: holm or bh."),
    peers: str = typer.Option(None, "--peers", help="Peer areas to compare rates with, comma-separated names or codes."),
    exclude: str = typer.Option(None, "--exclude", help="Areas to leave out of the force-area comparator, comma-separated."),
    peer_file: Path = typer.Option(None, "--peer-file", help="Peer groups (TOML or CSV: group -> area codes); the area's group is used."),
) -> None:
    """Assess recorded crime in an area for a period against a comparison period."""
    from .assess.engine import assess as do_assess

    if fmt not in ("text", "json"):
        raise CrimeAssessError(f"--format must be text or json, not {fmt!r}")
    if not area and not area_file:
        raise CrimeAssessError("give --area NAME|CODE or --area-file FILE")
    res = do_assess(area or "", period, compare, store, source=source, ward_vintage=ward_vintage, placement=placement,
                    themes=themes, area_file=area_file, adjustment=adjustment, **_comparator_options(peers, exclude, peer_file))
    if fmt == "json":
        print(res.to_json())
    else:
        from .assess.text import print_assessment

        print_assessment(res.to_dict(), out)


@app.command()
@clean_errors
def report(
    area: str = typer.Option(None, "--area", help="Area name or GSS code: ward, local authority, CSP or force area."),
    period: str = typer.Option(..., "--period", help="2017/18, 2018-03, 2017Q3, 12m-2018-03, ..."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for report.html, report.pdf, assessment.json and CSVs."),
    compare: str = typer.Option(None, "--compare", help="Comparison period (default: the same months a year earlier)."),
    store: Path = StoreOpt,
    area_file: Path = typer.Option(None, "--area-file", help="A user-drawn area instead of --area."),
    source: str = typer.Option(None, "--source", help="extract, police-uk-street or police-uk-api."),
    ward_vintage: str = typer.Option(None, "--ward-vintage", help="Ward lookup vintage, e.g. WD17."),
    placement: str = typer.Option("auto", "--placement", help="lsoa, point or auto."),
    themes: list[Path] = typer.Option(None, "--themes", help="Extra theme definitions (TOML)."),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Write the HTML report only."),
    peers: str = typer.Option(None, "--peers", help="Peer areas to compare rates with, comma-separated names or codes."),
    exclude: str = typer.Option(None, "--exclude", help="Areas to leave out of the force-area comparator, comma-separated."),
    peer_file: Path = typer.Option(None, "--peer-file", help="Peer groups (TOML or CSV: group -> area codes); the area's group is used."),
) -> None:
    """Write the strategic assessment report (HTML, PDF, JSON, CSV) for an area and period."""
    from .report.build import build_report

    if not area and not area_file:
        raise CrimeAssessError("give --area NAME|CODE or --area-file FILE")
    res = build_report(area, period, out_dir, store, compare=compare, pdf=not no_pdf, area_file=area_file, source=source,
                       ward_vintage=ward_vintage, placement=placement, themes=themes,
                       **_comparator_options(peers, exclude, peer_file))
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
    from .demo.run import run_demo

    with err.status("") as status:
        res = run_demo(out_dir, seed=seed, pdf=not no_pdf, step=lambda s: status.update(s + "…"))
    out.print("[bold]Key findings[/]")
    for f in res.findings[:6]:
        out.print(f" • {f}", highlight=False)
    out.print(f"\nReport: [bold]{res.files.get('report.html')}[/]" + (f" and {res.files['report.pdf']}" if 'report.pdf' in res.files else ""))
    out.print(f"Store:  {res.store}  (try: crimeassess assess --store {res.store} --area {res.area} --period {res.period})")


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
) -> None:
    """Serve the read-only web dashboard over the store (FastAPI + htmx, no external requests)."""
    from .store import Store
    from .web.app import serve as run_server

    st = Store(store)
    if not st.exists():
        raise CrimeAssessError(f"{st.path}: no store here; ingest data first or give --store")
    err.print(f"Dashboard on http://{host}:{port}/ (store {st.path}); Ctrl-C stops it.")
    run_server(st, host=host, port=port)


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


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
