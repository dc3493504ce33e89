"""Report rendering: the strategic assessment as one self-contained HTML file and an A4 PDF.

``render_report(assessment, out_dir, wards_geo=..., pdf=True) -> ReportFiles`` is the public entry point.
The names below are imported on first use, so ``crimeassess.report.pdf`` (the PDF printer's child process)
starts without matplotlib and Jinja.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .render import ReportFiles, build_context, render_html, render_report

__all__ = ["ReportFiles", "build_context", "render_html", "render_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import render

        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
