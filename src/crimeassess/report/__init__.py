"""Report rendering: the strategic assessment as one self-contained HTML file and an A4 PDF.

``render_report(assessment, out_dir, wards_geo=..., pdf=True) -> ReportFiles`` is the public entry point.
The names below are imported from ``render`` when first used, so importing ``crimeassess.report.build`` (the
report command) does not import matplotlib and the templates: a report renders them in its worker process
(``renderworker``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ReportFiles", "build_context", "render_html", "render_report"]

if TYPE_CHECKING:  # pragma: no cover
    from .render import ReportFiles, build_context, render_html, render_report


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import render

        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
