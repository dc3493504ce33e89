"""`crimeassess report`: assess, then write report.html, report.pdf, assessment.json and the tables as CSV and as
one workbook (tables.xlsx)."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..store import Store

TABLE_COLUMNS = ["current", "previous", "change", "pct_change", "rate_per_1000", "p_value", "p_adjusted", "z",
                 "significant", "small_numbers"]

COMPARATOR_COLUMNS = ["kind", "code", "name", "source", "current", "previous", "rate_per_1000", "previous_rate_per_1000",
                      "rate_change_pct", "rank", "of", "population", "population_year", "population_source",
                      "p_value", "significant", "note"]


@dataclass
class ReportResult:
    """Paths of everything a report run wrote, and the assessment it was built from."""

    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    assessment: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "files": {k: str(v) for k, v in self.files.items()}}


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    return path


def write_tables(a: dict[str, Any], out: Path) -> dict[str, Path]:
    """The assessment's tables as CSV files: totals, categories, themes, wards, ward × theme and series."""
    files: dict[str, Path] = {}
    tot = [{"measure": "total_recorded_crime", **a["total"]},
           {"measure": "anti_social_behaviour", **(a.get("anti_social_behaviour") or {})},
           {"measure": "unplaced", **(a.get("unplaced") or {})}]
    files["totals.csv"] = _write_csv(out / "totals.csv", tot, ["measure", *TABLE_COLUMNS])
    files["categories.csv"] = _write_csv(out / "categories.csv", a.get("categories", []), ["id", "label", *TABLE_COLUMNS])
    files["themes.csv"] = _write_csv(out / "themes.csv", a.get("themes", []), ["id", "label", "available", *TABLE_COLUMNS, "rate_base"])
    wards = [{**w, "run_direction": (w.get("run") or {}).get("direction"), "run_length": (w.get("run") or {}).get("length")}
             for w in a.get("wards", [])]
    files["wards.csv"] = _write_csv(out / "wards.csv", wards, ["rank", "code", "name", *TABLE_COLUMNS, "population",
                                                                 "run_direction", "run_length"])
    wt = [{"ward_code": w["code"], "ward_name": w["name"], "theme": t["id"], **t} for w in a.get("wards", []) for t in w.get("themes", [])]
    files["ward_themes.csv"] = _write_csv(out / "ward_themes.csv", wt, ["ward_code", "ward_name", "theme", *TABLE_COLUMNS])
    series = [{"measure": "total", **s} for s in a["total"].get("series", [])]
    series += [{"measure": t["id"], **s} for t in a.get("themes", []) for s in t.get("series", []) or []]
    files["series.csv"] = _write_csv(out / "series.csv", series, ["measure", "label", "start", "end", "count", "complete"])
    files["comparators.csv"] = _write_csv(out / "comparators.csv", a.get("comparators") or [], COMPARATOR_COLUMNS)
    return files


def build_report(area: str | None, period: str, out: str | Path, store: Store | str | Path | None = None, *,
                 compare: str | None = None, pdf: bool = True, **assess_options: Any) -> ReportResult:
    """Assess `area` for `period` and write the report files into `out` (created if needed)."""
    from ..assess.engine import assess
    from .render import render_report

    out_dir = Path(out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    res = assess(area or "", period, compare, store, **assess_options)
    a = res.to_dict()
    files = render_report(a, out_dir, wards_geo=res.ward_geometry, pdf=pdf)
    result = ReportResult(out_dir, assessment=a)
    result.files["report.html"] = files.html
    if files.pdf:
        result.files["report.pdf"] = files.pdf
    (out_dir / "assessment.json").write_text(json.dumps(a, indent=2, ensure_ascii=False), encoding="utf-8")
    result.files["assessment.json"] = out_dir / "assessment.json"
    result.files.update(write_tables(a, out_dir))
    from .workbook import write_workbook

    result.files["tables.xlsx"] = write_workbook([p for n, p in result.files.items() if n.endswith(".csv")],
                                                 out_dir / "tables.xlsx")
    return result
