"""`crimeassess report`: assess, then write report.html, report.pdf, assessment.json and the tables as CSV and as
one workbook (tables.xlsx)."""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..assess.engine import assess
from ..errors import InputError
from ..store import Store, _pause_point
from .priorities import OUTCOME_COLUMNS, PLACE_COLUMNS, outcome_csv_rows, place_csv_rows
from . import renderworker
from .renderworker import RenderWorker, WorkerGone
from .workbook import write_workbook

#: ``progress(done, total, stage)``: called before each stage and once at the end.
ProgressFn = Callable[[int, int, str], None]
#: The tables are written first: with a render worker (report/renderworker.py) the HTML and PDF are rendered
#: while they are written, and the two render stages then say how long the report still waited for them.
STAGES = ("assessing", "writing JSON and CSV tables", "rendering the HTML report", "printing the PDF")

#: current/previous: everything held in each period; matched_*: the like-for-like counts (months held in both)
#: that change, pct_change and the test are computed on.
TABLE_COLUMNS = ["current", "previous", "change", "pct_change", "rate_per_1000", "p_value", "p_adjusted", "z",
                 "significant", "small_numbers", "matched_current", "matched_previous", "previous_rate_per_1000",
                 "rate_change_pct", "dispersion", "matched_rate_per_1000", "matched_previous_rate_per_1000"]

COMPARATOR_COLUMNS = ["kind", "code", "name", "source", "current", "previous", "rate_per_1000", "previous_rate_per_1000",
                      "rate_change_pct", "rank", "of", "population", "population_year", "population_source",
                      "p_value", "significant", "note", "matched_rate_per_1000", "matched_previous_rate_per_1000"]


@dataclass
class ReportResult:
    """Paths of everything a report run wrote, and the assessment it was built from."""

    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    assessment: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "files": {k: str(v) for k, v in self.files.items()}}


#: Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise_cell(value: Any) -> Any:
    """A CSV cell safe to open in a spreadsheet: text starting with = + - @ tab or CR gets a leading ' (OWASP).

    Numbers are never changed, whether Python numbers or number-shaped text (-5.9, +3, -1e-3), so figures
    stay figures; None becomes an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> Path:
    """Write rows as CSV (UTF-8, header first) with every cell neutralised against formula injection."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: neutralise_cell(_cell(r, k)) for k in columns})
    return path


def _cell(r: dict[str, Any], k: str) -> Any:
    """A row's value for a CSV column: `significant` is blank where no test was made (no p-value: nothing was
    compared, or the theme is not available), never a False that reads as "not significant"."""
    if k == "significant" and r.get("p_value") is None and r.get("p_adjusted") is None:
        return None
    return r.get(k)


_write_csv = write_csv  # the name used before write_csv was public


def write_tables(a: dict[str, Any], out: Path) -> dict[str, Path]:
    """The assessment's tables as CSV files: totals, categories, themes, wards, ward × theme, series, outcomes
    and places (the priorities' where tables)."""
    files: dict[str, Path] = {}
    tot = [{"measure": "total_recorded_crime", **a["total"]},
           {"measure": "anti_social_behaviour", **(a.get("anti_social_behaviour") or {})},
           {"measure": "unplaced", **(a.get("unplaced") or {})}]
    files["totals.csv"] = write_csv(out / "totals.csv", tot, ["measure", *TABLE_COLUMNS])
    files["categories.csv"] = write_csv(out / "categories.csv", a.get("categories", []), ["id", "label", *TABLE_COLUMNS])
    files["themes.csv"] = write_csv(out / "themes.csv", a.get("themes", []), ["id", "label", "available", *TABLE_COLUMNS, "rate_base"])
    wards = [{**w, "run_direction": (w.get("run") or {}).get("direction"), "run_length": (w.get("run") or {}).get("length")}
             for w in a.get("wards", [])]
    files["wards.csv"] = write_csv(out / "wards.csv", wards, ["rank", "code", "name", *TABLE_COLUMNS, "population",
                                                                 "run_direction", "run_length"])
    wt = [{"ward_code": w["code"], "ward_name": w["name"], "theme": t["id"], **t} for w in a.get("wards", []) for t in w.get("themes", [])]
    files["ward_themes.csv"] = write_csv(out / "ward_themes.csv", wt, ["ward_code", "ward_name", "theme", *TABLE_COLUMNS])
    series = [{"measure": "total", **s} for s in a["total"].get("series", [])]
    series += [{"measure": t["id"], **s} for t in a.get("themes", []) for s in t.get("series", []) or []
               if not (t["id"] == "total" and t.get("series") == a["total"].get("series"))]  # listed once
    files["series.csv"] = write_csv(out / "series.csv", series, ["measure", "label", "start", "end", "count", "complete",
                                                                 "months_held", "months"])
    files["comparators.csv"] = write_csv(out / "comparators.csv", a.get("comparators") or [], COMPARATOR_COLUMNS)
    files["outcomes.csv"] = write_csv(out / "outcomes.csv", outcome_csv_rows(a), OUTCOME_COLUMNS)
    files["places.csv"] = write_csv(out / "places.csv", place_csv_rows(a), PLACE_COLUMNS)
    return files


def build_report(area: str | None, period: str, out: str | Path, store: Store | str | Path | None = None, *,
                 compare: str | None = None, pdf: bool = True, public: bool = False,
                 threshold: int | None = None, progress: ProgressFn | None = None,
                 render_worker: RenderWorker | None = None, **assess_options: Any) -> ReportResult:
    """Assess `area` for `period` and write the report files into `out` (created if needed).

    Everything is written into a temporary folder beside `out` first and moved into place only when complete,
    so a failed or killed run leaves an earlier report as it was. With `public`, small counts are suppressed
    (see `crimeassess.suppress`) in every file written. ``progress(done, total, stage)`` is told each stage of
    :data:`STAGES` as it starts.

    The HTML and PDF are rendered by the process's render worker (:mod:`crimeassess.report.renderworker`),
    started here at the first report, before the assessment, so WeasyPrint's and matplotlib's start-up overlap
    with it; ``render_worker`` names another worker to use. Without a worker (one core,
    ``CRIMEASSESS_RENDER_WORKER=off``, WeasyPrint already imported here, or the worker failed) the same render
    runs in this process.
    """
    stages = [st for st in STAGES if pdf or st != "printing the PDF"]

    def say(stage: str | None) -> None:
        if progress:
            progress(stages.index(stage) if stage else len(stages), len(stages), stage or "done")

    out_dir = Path(out)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        if out_dir.exists() and not out_dir.is_dir():
            raise InputError(f"{out_dir}: exists and is not a folder")
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    shared = render_worker is None
    worker = renderworker.acquire() if shared else render_worker  # starts importing now, beside the assessment
    try:
        say("assessing")
        res = assess(area or "", period, compare, store, **assess_options)
        result = _write_report(res, out_dir, public, threshold, pdf, worker, say)
    except BaseException:
        if shared and worker is not None:
            renderworker.release(worker, failed=True)
        raise
    if shared and worker is not None:
        renderworker.release(worker)
    say(None)
    return result


def _write_report(res: Any, out_dir: Path, public: bool, threshold: int | None, pdf: bool,
                  worker: RenderWorker | None, say: Callable[[str | None], None]) -> ReportResult:
    """Write the report files of an assessment result into `out_dir` (see :func:`build_report`)."""
    a = res.to_dict()
    if public:
        from ..suppress import DEFAULT_THRESHOLD, suppress_assessment

        a = suppress_assessment(a, threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    except OSError as exc:
        try:  # a folder of yours in a parent you cannot write to: work inside it, move files in one by one
            tmp = Path(tempfile.mkdtemp(prefix=".report.", suffix=".tmp", dir=out_dir)) if out_dir.is_dir() else None
        except OSError:
            tmp = None
        if tmp is None:
            raise InputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    try:
        written: list[str] = []
        if worker is not None:
            try:
                worker.submit(a, tmp, wards_geo=res.ward_geometry, pdf=pdf)
            except WorkerGone:
                worker = None
        say("writing JSON and CSV tables")
        (tmp / "assessment.json").write_text(json.dumps(a, indent=2, ensure_ascii=False), encoding="utf-8")
        written.append("assessment.json")
        tables = write_tables(a, tmp)
        written.extend(tables)
        write_workbook([tmp / n for n in tables if n.endswith(".csv")], tmp / "tables.xlsx")
        written.append("tables.xlsx")
        pdf_path = _render(a, tmp, res.ward_geometry, pdf, worker, say)
        written.append("report.html")
        if pdf_path:
            written.append("report.pdf")
        _pause_point(out_dir.parent, "report-before-move")
        _move_into_place(tmp, out_dir, written)
    except BaseException:
        if worker is not None and worker.busy:  # it may still be writing into tmp: stop it before tmp goes
            worker.close(kill=True)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = ReportResult(out_dir, assessment=a)
    for name in written:
        result.files[name] = out_dir / name
    return result


def _render(a: dict[str, Any], tmp: Path, wards_geo: Any, pdf: bool, worker: RenderWorker | None,
            say: Callable[[str | None], None]) -> Path | None:
    """report.html (and report.pdf) in `tmp`, from the worker the assessment was sent to, else rendered here;
    the PDF's path or None."""
    if worker is not None:
        try:
            _html, pdf_path = worker.wait(on_stage=say)
            return pdf_path
        except WorkerGone:
            pass  # the worker ended without an answer: render here
    from .render import render_report  # matplotlib and the templates: only when this process renders

    return render_report(a, tmp, wards_geo=wards_geo, pdf=pdf, on_stage=say).pdf


#: Every file a report run may write (an --out folder holding only these is replaced as a whole).
REPORT_FILES = ("report.html", "report.pdf", "assessment.json", "totals.csv", "categories.csv", "themes.csv",
                "wards.csv", "ward_themes.csv", "series.csv", "comparators.csv", "tables.xlsx", "outcomes.csv",
                "places.csv")


def _move_into_place(tmp: Path, out_dir: Path, names: list[str]) -> None:
    """Rename the finished temporary folder to `out_dir`; when `out_dir` already holds other files of the
    user's, move each report file in with an atomic rename instead (their files are never touched)."""
    try:
        if tmp.parent == out_dir:
            for name in names:
                os.replace(tmp / name, out_dir / name)
            return
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)  # mkdtemp makes it private; the report folder is an ordinary folder
        if not out_dir.exists():
            os.rename(tmp, out_dir)
            return
        if all(p.name in REPORT_FILES for p in out_dir.iterdir()):
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
            os.rename(out_dir, old / "previous")
            os.rename(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
            return
        for name in names:
            os.replace(tmp / name, out_dir / name)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot write the report ({exc.strerror or exc})") from None


#: Columns of `assessment_csv`: one long table holding every table of the assessment.
LONG_COLUMNS = ["table", "id", "label", "ward_code", "ward_name", *TABLE_COLUMNS, "basis", "months_compared",
                "previous_months_compared"]


def assessment_rows(a: dict[str, Any]) -> list[dict[str, Any]]:
    """Every table of an assessment dict as rows of one long table (`table` = total, anti_social_behaviour,
    unplaced, category, theme, ward or ward_theme)."""
    rows: list[dict[str, Any]] = [{"table": "total", "id": "total_recorded_crime", **a.get("total", {})}]
    for key in ("anti_social_behaviour", "unplaced"):
        if isinstance(a.get(key), dict):
            rows.append({"table": key, "id": key, **a[key]})
    rows += [{"table": "category", **r} for r in a.get("categories", [])]
    rows += [{"table": "theme", **r} for r in a.get("themes", [])]
    for w in a.get("wards", []):
        rows.append({**w, "table": "ward", "id": w.get("code"), "label": w.get("name"),
                     "ward_code": w.get("code"), "ward_name": w.get("name")})
        rows += [{**t, "table": "ward_theme", "ward_code": w.get("code"), "ward_name": w.get("name")}
                 for t in w.get("themes", [])]
    # What each row's change compares: every month of both periods, or only the months held in both.
    cov = a.get("coverage") or {}
    asb = a.get("anti_social_behaviour") if isinstance(a.get("anti_social_behaviour"), dict) else {}
    for r in rows:
        src = asb if r["table"] == "anti_social_behaviour" and asb.get("basis") else cov
        basis = src.get("basis")
        r["basis"] = basis
        matched = basis == "matched_months"
        r["months_compared"] = ";".join(src.get("matched_months") or []) if matched else ("all" if basis else None)
        r["previous_months_compared"] = (";".join(src.get("matched_previous_months") or []) if matched
                                         else ("all" if basis else None))
    return rows


def assessment_csv(a: dict[str, Any]) -> str:
    """The assessment's tables as one CSV text (`crimeassess assess --format csv`), cells neutralised."""
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=LONG_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in assessment_rows(a):
        w.writerow({k: neutralise_cell(_cell(r, k)) for k in LONG_COLUMNS})
    return buf.getvalue()
