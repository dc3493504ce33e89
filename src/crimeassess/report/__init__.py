"""Report rendering: the strategic assessment as one self-contained HTML file and an A4 PDF.

``render_report(assessment, out_dir, wards_geo=..., pdf=True) -> ReportFiles`` is the public entry point.
"""
from __future__ import annotations

from .render import ReportFiles, build_context, render_html, render_report

__all__ = ["ReportFiles", "build_context", "render_html", "render_report"]
