"""A second process that renders the report's HTML and PDF, started before the assessment (issue 12).

A report's render has large fixed costs that do not depend on the area: importing WeasyPrint (its C
declarations are parsed at import), matplotlib and the templates, and WeasyPrint's first document in a process
(fontconfig, Pango's font map). :func:`build_report <crimeassess.report.build.build_report>` starts this
worker as it starts assessing, so on a machine with two cores those costs are paid on the other core while the
assessment runs; the assessment is then sent to the worker, which writes ``report.html`` and ``report.pdf``
(:func:`render.render_report <crimeassess.report.render.render_report>`, chart and PDF cache included) while
the calling process writes the JSON, CSV and workbook files. The worker then stays, warm, for the process's
next report (:func:`acquire`; ``--all-areas`` renders every report in it) and ends with the process. In the
``crimeassess`` program (``fitworker.may_fork``) the worker is a fork of the command, made when the report starts:
it then has DuckDB and the engine already imported (and geopandas, for a store that ever held boundaries), and
imports WeasyPrint, matplotlib and the templates (a first report at 6M rows: 4.3-5.0 s against 4.9-5.9 s with a
new interpreter, measured interleaved); any other process (the dashboard, an application) starts a new interpreter.

The worker renders exactly what the calling process would: same function, same arguments (pickled), same
environment (so the same chart/PDF cache). When the worker cannot be started, or dies, the caller renders in
its own process instead; an error the render raises (an unusable ward boundary, say) is raised again in the
caller. ``CRIMEASSESS_RENDER_WORKER=off``, a single usable core, no idle core (the load average says the
other processes keep every core busy: the worker would only take CPU from the assessment), or a process that
has already imported WeasyPrint renders in the calling process; ``CRIMEASSESS_RENDER_WORKER=on`` uses the
worker whatever the load.

Protocol (pickles over the worker's stdin and stdout): the caller sends ``("render", assessment, wards_geo,
out_dir, pdf)``; the worker answers ``("stage", name)`` as each render stage starts, then ``("done", html_path,
pdf_path_or_None)`` or ``("error", exception_or_text)``. End of input ends the worker.

    python -m crimeassess.report.renderworker      # as RenderWorker.start() runs it; not for use by hand
"""
from __future__ import annotations

import atexit
import gc
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..assess.fitworker import Forked, core_free, forced, in_forked_child, may_fork, usable_cores

WORKER_ENV = "CRIMEASSESS_RENDER_WORKER"
#: The worker's garbage collector thresholds while it renders (Python's default: 700, 10, 10); see main().
RENDER_GC_THRESHOLD = (10_000, 50, 100)


def enabled() -> bool:
    """Whether reports are rendered in a worker: ``CRIMEASSESS_RENDER_WORKER=on`` always, ``off`` (or 0/no/false)
    never; by default when there are two or more usable cores and they are not all busy (:func:`core_free`)."""
    f = forced(WORKER_ENV)
    return f if f is not None else usable_cores() > 1 and core_free()


class WorkerGone(Exception):
    """The worker ended or could not be reached: render in the calling process instead."""


class RenderWorker:
    """One worker process: :meth:`submit` a report, :meth:`wait` for its files, then submit the next."""

    def __init__(self, proc: subprocess.Popen[bytes] | Forked) -> None:
        self.proc = proc
        self._sender: threading.Thread | None = None
        self._send_error: BaseException | None = None
        #: a report was sent and its answer not yet read (the worker may be writing files)
        self.busy = False

    @classmethod
    def start(cls, fork: bool = False, geo: bool = True) -> "RenderWorker | None":
        """Start a worker (it begins importing at once), or None when disabled or it cannot be started. The
        ``crimeassess`` program forks it with ``fork`` (:func:`start_soon`, at a command's start: it then starts
        with every module imported so far: DuckDB, the engine); otherwise, and in any other
        process, it starts a new interpreter. ``geo`` False: the reports will carry no ward polygons (the store
        has no boundaries), so a forked worker does not import geopandas while it waits."""
        if not enabled():
            return None
        if fork and may_fork():  # only from start_soon: at a command's start, before DuckDB runs threads
            w = cls._fork(geo)
            if w is not None:
                return w
        # The worker imports this same crimeassess (a source tree or worktree before an installed one), put
        # first on its sys.path only (PYTHONPATH would also put it before the standard library).
        root = str(Path(__file__).resolve().parents[2])
        boot = f"import sys; sys.path.insert(0, {root!r}); from crimeassess.report.renderworker import main; main()"
        try:
            proc = subprocess.Popen([sys.executable, "-c", boot], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    close_fds=True)
        except OSError:
            return None
        return cls(proc)

    @classmethod
    def _fork(cls, geo: bool = True) -> "RenderWorker | None":
        try:
            to_w, from_w = os.pipe(), os.pipe()
        except OSError:
            return None
        sys.stdout.flush()
        sys.stderr.flush()  # a fork copies unwritten buffers: they would be written twice
        try:
            pid = os.fork()
        except OSError:
            for fd in (*to_w, *from_w):
                os.close(fd)
            return None
        if pid == 0:  # the worker: never returns into the caller's code
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's: it ends, and so does this
                in_forked_child()
                os.close(to_w[1])
                os.close(from_w[0])
                os.dup2(to_w[0], 0)  # main() reads its stdin and answers on its stdout, as a started worker does
                os.dup2(from_w[1], 1)
                os.close(to_w[0])
                os.close(from_w[1])
                main(geo)
            finally:
                os._exit(1)
        os.close(to_w[0])
        os.close(from_w[1])
        return cls(Forked(pid, os.fdopen(to_w[1], "wb"), os.fdopen(from_w[0], "rb")))

    def submit(self, assessment: dict[str, Any], out_dir: Path, *, wards_geo: Any = None, pdf: bool = True) -> None:
        """Send one report to render (returns at once; :meth:`wait` collects it). Raises WorkerGone."""
        try:
            data = pickle.dumps(("render", assessment, wards_geo, str(out_dir), pdf), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an argument that cannot be pickled: render in the caller
            raise WorkerGone(str(exc)) from None
        self._send_error = None

        def send() -> None:  # a pipe holds 64 KB: the worker may still be importing, so write from a thread
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except BaseException as exc:  # noqa: BLE001 - reported by wait()
                self._send_error = exc

        self._sender = threading.Thread(target=send, name="crimeassess-render-send", daemon=True)
        self.busy = True
        self._sender.start()

    def wait(self, on_stage: Callable[[str], None] | None = None) -> tuple[Path, Path | None]:
        """The paths the worker wrote (html, pdf or None); its stages are passed on to ``on_stage``. Raises the
        render's own error, or WorkerGone when the worker ended without an answer."""
        if self._sender is not None:
            self._sender.join()
        if self._send_error is not None:
            raise WorkerGone(str(self._send_error))
        assert self.proc.stdout is not None
        while True:
            try:
                msg = pickle.load(self.proc.stdout)
            except Exception as exc:  # EOF (worker died) or a damaged message
                raise WorkerGone(str(exc) or type(exc).__name__) from None
            kind = msg[0]
            if kind == "stage":
                if on_stage:
                    on_stage(msg[1])
            elif kind == "done":
                self.busy = False
                return Path(msg[1]), (Path(msg[2]) if msg[2] else None)
            elif kind == "error":
                self.busy = False
                err = msg[1]
                if isinstance(err, BaseException):
                    raise err
                from ..errors import CrimeAssessError

                raise CrimeAssessError(f"rendering the report failed: {err}")

    def close(self, *, kill: bool = False) -> None:
        """End the worker: at once with ``kill`` (a failed report), else by closing its input."""
        p = self.proc
        if p.poll() is not None:
            return
        try:
            if kill:
                p.kill()
            elif p.stdin is not None:
                p.stdin.close()
            p.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            p.kill()
            p.wait()
        finally:
            for fh in (p.stdin, p.stdout):
                try:
                    if fh is not None:
                        fh.close()
                except OSError:
                    pass


_shared: dict[str, RenderWorker | None] = {"worker": None}
_shared_lock = threading.Lock()   # held by the report using the shared worker


def start_soon(geo: bool = True) -> None:
    """Start this process's worker now, when enabled and none runs, for the reports to come (:func:`acquire` lends
    it): the CLI's ``report`` calls this before its progress bar starts a thread, so the worker can still be
    forked (``fitworker.may_fork``). ``geo``: see :meth:`RenderWorker.start`."""
    if not enabled() or "weasyprint" in sys.modules or not _shared_lock.acquire(blocking=False):
        return
    try:
        w = _shared["worker"]
        if w is None or w.proc.poll() is not None:
            _shared["worker"] = RenderWorker.start(fork=True, geo=geo)
    finally:
        _shared_lock.release()


def acquire() -> RenderWorker | None:
    """This process's worker, started at the first call, for one report; None when the report should render in
    this process: workers disabled, another thread's report holds the worker, or WeasyPrint is already imported
    here (its start-up, which the worker takes off the critical path, is then already paid). Give it back with
    :func:`release`."""
    if not enabled() or not _shared_lock.acquire(blocking=False):
        return None
    w = _shared["worker"]
    if w is None or w.proc.poll() is not None:
        w = None if "weasyprint" in sys.modules else RenderWorker.start()
        _shared["worker"] = w
    if w is None:
        _shared_lock.release()
    return w


def release(worker: RenderWorker, *, failed: bool = False) -> None:
    """Give back the worker :func:`acquire` lent; after a failed report that it may still be working on, end it
    (the next report starts another)."""
    if failed and worker.busy:
        worker.close(kill=True)
        _shared["worker"] = None
    _shared_lock.release()


@atexit.register
def _close_shared() -> None:
    w = _shared["worker"]
    if w is not None:
        w.close(kill=w.busy)


_WARM_HTML = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><style>{css}</style></head><body>"
              "<div class='document'><h1>Warm-up</h1><h2><span class='secno'>1</span>Key findings</h2>"
              "<p>Text <b>bold</b> <i>italic</i> 0123456789 \u25b2\u25bc \u2013 \u00a9.</p>"
              "<table class='data'><thead><tr><th>Ward</th><th class='num'>2024</th></tr></thead>"
              "<tbody><tr><th>Bargate</th><td class='num'>1,581</td></tr></tbody></table>"
              "</div></body></html>")
_WARM_CHART_HTML = "<!doctype html><html><body><img src='{chart}' alt=''></body></html>"


def _warm_chart() -> str:
    """Draw a tiny chart as the report's charts are drawn (matplotlib's font list and the face it measures
    text with, the SVG backend) and return its SVG."""
    from .charts import _new_figure, figure_to_svg

    fig = _new_figure(1.5, 1.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar([0, 1], [2, 3], label="Bargate 1,581")
    ax.set_title("Warm-up 2024")
    ax.legend()
    return figure_to_svg(fig)


def _idle(inp: IO[bytes] | None, wait: float = 0) -> bool:
    """Whether no report (nor the end of input) is waiting on `inp`, or arrives within `wait` seconds (always
    True without `inp`: nothing to wait for)."""
    if inp is None:
        return True
    try:
        return not select.select([inp], [], [], wait)[0]
    except (OSError, ValueError):  # pragma: no cover - not a pollable pipe
        return False


def _warm_up(inp: IO[bytes] | None = None, geo: bool = True) -> None:
    """Import what a render needs and print a tiny page with the report's CSS, so fontconfig, Pango's font map
    and the faces used are ready when the report arrives (nothing is written).

    Then, only while no report is waiting on `inp` (a quick assessment should not wait for them), what the first
    report would otherwise pay on its critical path: matplotlib's first figure and text (a tiny chart, printed in
    a second page so Pango also has the charts' face) and importing scipy.ndimage for the hotspot density map
    (about 0.2 s); with `geo`, first of all, geopandas (the ward polygons arrive as a GeoDataFrame)."""
    import io

    if geo:
        import geopandas  # noqa: F401

    from . import render
    from .render import TEMPLATES

    render._environment().get_template("report.html.j2")  # compiles the templates
    from weasyprint import HTML

    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    HTML(string=_WARM_HTML.format(css=css), media_type="print").write_pdf(io.BytesIO())
    if _idle(inp):
        chart = render.svg_data_uri(_warm_chart())
        HTML(string=_WARM_CHART_HTML.format(chart=chart), media_type="print").write_pdf(io.BytesIO())
    if _idle(inp):
        import scipy.ndimage  # noqa: F401  - the density map's smoothing (charts.density_map_svg)


def _send(out: IO[bytes], msg: tuple[Any, ...]) -> None:
    pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def _error_message(exc: BaseException) -> Any:
    """The exception itself when it survives pickling, else its type and text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return f"{type(exc).__name__}: {exc}"


def main(geo: bool = True) -> None:
    """The worker: warm up (`geo`: see :func:`_warm_up`), then render each report sent on stdin until end of
    input."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answers
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    try:
        _warm_up(inp, geo)
    except Exception:  # the render itself will raise whatever is wrong, where the caller sees it
        pass
    # Garbage collection: a render allocates millions of short-lived objects, and with Python's default
    # thresholds the collector took 0.5 s of a 3.3 s render (18M store's Southampton report; ~450 passes, 4 over
    # the whole heap of imported modules). What the warm-up imported lives as long as the worker: frozen, no pass
    # scans it again; young objects are collected every 10,000 allocations; and after each report, once its
    # answer is sent and nothing else arrived for 0.25 s, one collection frees that report's garbage (0.07-0.1 s,
    # off the caller's path), so a batch's worker stays at its size.
    if _idle(inp):
        gc.collect()  # the warm-up's own garbage first, only while no report waits
    gc.freeze()
    if 0 < gc.get_threshold()[0] < RENDER_GC_THRESHOLD[0]:
        gc.set_threshold(*RENDER_GC_THRESHOLD)
    from .render import render_report

    while True:
        try:
            job = pickle.load(inp)
        except EOFError:
            break
        _kind, assessment, wards_geo, out_dir, pdf = job
        try:
            files = render_report(assessment, Path(out_dir), wards_geo=wards_geo, pdf=pdf,
                                  on_stage=lambda stage: _send(out, ("stage", stage)))
            _send(out, ("done", str(files.html), str(files.pdf) if files.pdf else None))
        except Exception as exc:  # noqa: BLE001 - every error goes back to the caller
            _send(out, ("error", _error_message(exc)))
        del job, assessment, wards_geo
        if _idle(inp, 0.25):  # not when the caller is ending (end of input) or already sent the next report
            gc.collect()
    out.flush()
    os._exit(0)  # nothing to tear down: skip the interpreter's slow module clean-up


if __name__ == "__main__":
    main()
