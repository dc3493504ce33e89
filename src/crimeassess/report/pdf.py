"""Printing the report's PDF with WeasyPrint: in this process (:func:`print_pdf`), or in a child process started
ahead of time (:class:`PdfPrinter`), so that WeasyPrint's import overlaps the assessment and the printing
overlaps writing the JSON and CSV tables, each on its own core.

This module imports nothing heavy, so the child (``python -m crimeassess.report.pdf``) starts with WeasyPrint
alone. The child reads one JSON job a line on stdin (``{"html": path, "pdf": path}``) and answers one JSON line
on stdout; it exits at the end of its input, so it never outlives its parent.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def print_pdf(html: str, pdf_path: Path) -> Path:
    """Print HTML to PDF with WeasyPrint (no cache); only ``data:`` URLs may be fetched (nothing leaves the
    machine)."""
    # WeasyPrint takes a second to import: only when a PDF is asked for (the dashboard never does).
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # WeasyPrint logs every CSS property it does not support at WARNING; they are expected (screen-only
    # rules) and would only clutter the CLI.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = URLFetcher(allowed_protocols=["data"])
    HTML(string=html, url_fetcher=fetcher, media_type="print").write_pdf(str(pdf_path))
    return Path(pdf_path)


class PrintError(Exception):
    """The child could not print: ``oserror`` tells a file problem (cannot write the PDF) from anything else."""

    def __init__(self, message: str, oserror: bool) -> None:
        super().__init__(message)
        self.oserror = oserror


class PdfPrinter:
    """WeasyPrint in a child process, importing itself while the caller works. One job at a time:
    :meth:`submit`, then :meth:`wait`. Use :func:`start_printer` (None when no child can be started)."""

    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parents[2])  # the crimeassess this process runs
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
        self.proc: subprocess.Popen[str] | None = subprocess.Popen(
            [sys.executable, "-m", "crimeassess.report.pdf"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8", env=env)
        self.busy = False

    def submit(self, html_path: Path, pdf_path: Path) -> bool:
        """Send one job; False when the child is gone (print in-process instead)."""
        if self.proc is None or self.proc.poll() is not None or self.proc.stdin is None:
            return False
        try:
            self.proc.stdin.write(json.dumps({"html": str(html_path), "pdf": str(pdf_path)}) + "\n")
            self.proc.stdin.flush()
        except OSError:
            return False
        self.busy = True
        return True

    def wait(self) -> Path | None:
        """The submitted job's PDF; None when the child died without answering (print in-process instead).
        Raises :class:`PrintError` when the child answered that it could not print."""
        self.busy = False
        line = self.proc.stdout.readline() if self.proc and self.proc.stdout else ""
        if not line:
            return None
        reply = json.loads(line)
        if not reply.get("ok"):
            raise PrintError(str(reply.get("error")), bool(reply.get("oserror")))
        return Path(reply["pdf"])

    def kill(self) -> None:
        """Stop the child at once (a job abandoned: its output folder is about to be removed)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self.close()

    def close(self) -> None:
        """End the child (it finishes at the end of its input; killed if it does not within 10 s)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout:
                proc.stdout.close()

    def __enter__(self) -> PdfPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_printer() -> PdfPrinter | None:
    """A :class:`PdfPrinter`, or None when a child process cannot be started (then print in-process);
    ``CRIMEASSESS_PDF_WORKER=0`` always prints in-process."""
    if os.environ.get("CRIMEASSESS_PDF_WORKER", "1").strip().lower() in ("0", "off", "false", "no"):
        return None
    try:
        return PdfPrinter()
    except OSError:
        return None


def print_later(html: str, html_path: Path, pdf_path: Path, printer: PdfPrinter | None,
                cache: bool = True) -> Callable[[], Path]:
    """Start printing `html` (already written at `html_path`) to `pdf_path` and return the function that waits
    for it: a copy from the PDF cache when the same HTML was printed before, else the child `printer`, else
    (no printer, or it died) in this process when waited for. The PDF printed is kept in the cache."""
    from .chartcache import copy_cached_pdf, keep_pdf, pdf_entry

    entry = pdf_entry(html) if cache else None
    if entry is not None and copy_cached_pdf(entry, pdf_path):
        return lambda: Path(pdf_path)
    submitted = printer is not None and printer.submit(html_path, pdf_path)

    def wait() -> Path:
        out = printer.wait() if submitted and printer is not None else None
        if out is None:
            out = print_pdf(html, pdf_path)
        if entry is not None:
            keep_pdf(entry, out)
        return out

    return wait


def _worker() -> None:
    """The child: import WeasyPrint at once, then print each job read on stdin."""
    import weasyprint  # noqa: F401  (the import is what starting early is for)

    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        try:
            html = Path(job["html"]).read_text(encoding="utf-8")
            out = print_pdf(html, Path(job["pdf"]))
            reply = {"ok": True, "pdf": str(out)}
        except Exception as exc:  # reported to the parent, which raises it
            reply = {"ok": False, "error": str(exc) or type(exc).__name__, "oserror": isinstance(exc, OSError)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _worker()
