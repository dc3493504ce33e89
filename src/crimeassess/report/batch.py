"""Reports for every area of a level: one report folder per area with data in the period, and an index.

The areas come from one pass over the aggregate store (assess/batch.py); each report is then the area's
full assessment (build.build_report), reading only the records of the forces that can hold its crimes.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..assess.batch import _safe, assess_all_areas
from ..errors import CrimeAssessError, InputError
from ..store import Store, atomic_write_bytes
from .build import build_report


@dataclass
class BatchReports:
    """Reports written by :func:`build_all_reports`: ``written`` (code → folder), ``skipped`` (code → why),
    ``index`` (the index.csv path)."""

    written: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    index: Path | None = None


def build_all_reports(level: str, period: str, out: str | Path, store: Store | str | Path | None = None, *,
                      compare: str | None = None, pdf: bool = True, public: bool = False,
                      threshold: int | None = None, progress: Callable[[int, int, str], None] | None = None,
                      **assess_options: Any) -> BatchReports:
    """Write ``<out>/<code>/`` (report.html, report.pdf, assessment.json, CSVs) for every area of `level` with
    data in `period`, and ``<out>/index.csv`` (code, name, folder, status). An area whose report fails with a
    named error is listed as skipped with the reason; the others go on."""
    st = store if isinstance(store, Store) else Store(store)
    root = Path(out)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{root}: cannot create the output folder ({exc.strerror or exc})") from None
    batch = assess_all_areas(level, period, compare, st, source=assess_options.get("source"),
                             ward_vintage=assess_options.get("ward_vintage"))
    areas = [a for a in batch.areas if not (a.note and a.coverage.get("current_months", 0) == 0)]
    res = BatchReports()
    for i, a in enumerate(areas):
        if progress:
            progress(i, len(areas), a.name)
        try:
            r = build_report(a.code, period, root / _safe(a.code), st, compare=compare, pdf=pdf, public=public,
                             threshold=threshold, **assess_options)
            res.written[a.code] = r.out_dir
        except CrimeAssessError as exc:
            res.skipped[a.code] = str(exc)
    if progress:
        progress(len(areas), len(areas), "")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["code", "name", "folder", "status"])
    for a in areas:
        w.writerow([a.code, a.name, _safe(a.code) if a.code in res.written else "",
                    "written" if a.code in res.written else f"skipped: {res.skipped.get(a.code, '')}"])
    root.mkdir(parents=True, exist_ok=True)
    res.index = root / "index.csv"
    atomic_write_bytes(res.index, buf.getvalue().encode())
    return res
