"""A second process that makes an assessment's model fits while the assessment goes on (issue 12).

An assessment with enough history forecasts every series it can (its total, each theme, each ward: 29 on the
national benchmark's Southampton) with statsmodels' ETS, about 11 ms of pure Python each, 0.3 s in all, which a
thread cannot overlap with anything (the GIL). :func:`submit` sends a batch of forecasts to this worker as soon as
their monthly counts are known; the assessment carries on (comparisons, hotspots, harm, priorities) while the
worker fits them on the other core, from the front of the batch. When the assessment needs them
(:meth:`Batch.results`), this process fits whatever the worker has not claimed, from the back, and waits only for
those the worker claimed. Who fits which forecast is settled on a claim board, one byte a forecast in a file both
processes map (a forecast both happen to claim at once is fitted twice, which only costs time). The numbers are the
same either way: the same function (:func:`expected.forecast <crimeassess.assess.expected.forecast>`) on the same
arguments (pickled floats round-trip exactly).

The worker is started by :func:`start_soon` when a process's first forecasts are due, and lives as long as the
process, for its next assessments (the Python API, the dashboard); of that first batch it fits what it can once
imported (an assessment never waits for a worker still importing: it fits what the worker has not claimed). It runs
with one BLAS/OpenMP thread (idle OpenBLAS threads spin: two processes fitting at once took 37 ms a fit each,
against 9.5 ms alone) and at nice 10. A batch is sent to the worker only once it has gone through the previous one,
and only one batch at a time holds it (other threads' batches are fitted where they were submitted). The CLI's
one-area ``assess`` and ``report`` fork theirs at their start instead (below); ``demo`` and ``--all-areas`` start
none (:func:`stay_local`). Disabled by ``CRIMEASSESS_FIT_WORKER=off``, on
a single usable core or when the load average says every core is busy (the worker would only take CPU from the
assessment); ``CRIMEASSESS_FIT_WORKER=on`` uses it whatever the load. When it cannot be started, dies or fails a
forecast, this process fits instead (a forecast's own error is then raised here, where the caller sees it).

**A command's early worker** (:func:`start_early`). A process that runs one CLI command and ends (``crimeassess
assess`` or ``report`` for one area) would otherwise import scipy.stats, statsmodels, ruptures, libpysal and esda
itself, about 0.75 s on its critical path, and make every fit itself. The command forks the worker at its start
instead, before it imports any of them (a fork, not a new interpreter: the worker starts with every module imported
so far, pandas included, and no other thread runs then): the worker imports them on the other core while the command
reads the store, and every statistical fit runs there: the forecasts (the command fits none itself) and, through
:func:`call_many`, the dispersions' Poisson fits, the level-shift scans and the hotspots. The worker answers a call
between two forecasts and between two of its imports (:data:`EARLY_IMPORTS`, in the order an assessment needs
them), so a call waits for no batch, and at most for the one import under way. The numbers are the same: the same
functions on the same arguments. When the worker dies, fails a call or stalls, the command makes the fit itself.

Protocol (each message a pickle after its length as 8 bytes, both ways: in on the worker's stdin or the pipe of a
forked worker, out on its stdout or the other pipe; the board is the file open as the descriptor given to
:func:`main`): for each ``("batch", id, jobs)`` the worker goes through the jobs in order, and for each one it
claims it answers ``("ok", id, i, result)`` or ``("error", id, i, text)``; then ``("end", id)``. For each
``("call", id, module, function, arglist)`` it answers ``("ret", id, results)`` or ``("raise", id, text)``, at
once when it arrives between two forecasts. ``("go",)`` (no answer) tells an early worker no batch is coming, so it
imports :data:`LATE_IMPORTS` now. End of input ends the worker.
"""
from __future__ import annotations

import atexit
import importlib
import mmap
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

WORKER_ENV = "CRIMEASSESS_FIT_WORKER"
#: Longest wait, in seconds, for the forecast the worker is fitting when the assessment needs it (one takes
#: ~11 ms; a worker that takes longer is stuck or starved, and is ended: this process fits the forecast).
STUCK_S = 20.0
#: Longest wait, in seconds, for a call's answer (a hotspot analysis of a large area takes seconds).
CALL_STUCK_S = 120.0

#: What an early worker imports, in the order an assessment first needs them (it answers calls in between);
#: ``"forecast"`` is a first fit, which pays statsmodels' lazy set-up. geopandas and sklearn.base are libpysal's
#: (0.07 s): imported in the idle time before the first calls arrive, they shorten the late import of libpysal that
#: the hotspots wait for (at 72M rows the command waited 0.06-0.1 s for it).
EARLY_IMPORTS = ("ruptures", "crimeassess.assess.steps", "statsmodels.genmod.generalized_linear_model",
                 "statsmodels.genmod.families", "crimeassess.assess.dispersion",
                 "statsmodels.tsa.exponential_smoothing.ets", "crimeassess.assess.expected", "forecast",
                 "geopandas", "sklearn.base",
                 "scipy.stats", "sklearn.neighbors", "libpysal.weights", "esda", "crimeassess.assess.hotspots")
#: The last of them, for the hotspots, which come last in an assessment: imported once the worker has gone through
#: a forecast batch, or is told no batch is coming (:func:`no_batch`), or has had no message for
#: :data:`LATE_IDLE_S` seconds. libpysal alone takes 0.4 s to import, and imported as soon as the others were, it
#: held up the level-shift and dispersion calls that arrive meanwhile (0.23-0.29 s at 72M rows).
LATE_IMPORTS = frozenset({"scipy.stats", "sklearn.neighbors", "libpysal.weights", "esda", "crimeassess.assess.hotspots"})
LATE_IDLE_S = 1.0
#: Modules the worker creates on import but runs only when first used (importlib.util.LazyLoader): libpysal
#: imports its example-data package, and with it requests, BeautifulSoup and platformdirs (0.1-0.14 s), which
#: no fit here uses. Each with the modules to import first: what its own first lines import, so that its
#: package's other modules are imported in the order they expect (libpysal's import each other in a cycle that
#: only its examples' import of libpysal.io resolves).
LAZY_MODULES: dict[str, tuple[str, ...]] = {"libpysal.examples": ("libpysal.io",)}

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

#: A forecast's arguments: (history, horizon, held positions or None).
Job = tuple[Sequence[float], int, Sequence[int] | None]


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def core_free() -> bool:
    """Whether the machine is not already busy on every core, going by the last minute's load average (below
    the number of usable cores; True where it cannot be read).

    On a busy machine a worker's start-up takes CPU from the assessment instead of an idle core: measured on
    2 cores at load 2.3-3.3 (docs/performance.md), a first report took 8.1-10.8 s with the render worker against
    7.2-7.8 s without. The bar is the core count, not one less, because a user's own reports run back to back
    keep the load near 1.5 on 2 cores, and those still gain from a worker."""
    try:
        return os.getloadavg()[0] < usable_cores()
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return True


def forced(env: str) -> bool | None:
    """A worker switch's environment variable: True for on (1/yes/true), False for off (0/no/false), None when
    unset or anything else (the default applies)."""
    setting = os.environ.get(env, "").strip().lower()
    return True if setting in ("on", "1", "yes", "true") else False if setting in ("off", "0", "no", "false") else None


def enabled() -> bool:
    """Whether forecasts are fitted in a worker: ``CRIMEASSESS_FIT_WORKER=on`` always, ``off`` (or 0/no/false)
    never; by default when there are two or more usable cores and they are not all busy."""
    f = forced(WORKER_ENV)
    return f if f is not None else usable_cores() > 1 and core_free()


class Batch:
    """Forecasts being fitted, by the worker (if it has them) from the front and by :meth:`results` from the
    back."""

    def __init__(self, jobs: Sequence[Job], fit: Callable[..., dict[str, Any]]) -> None:
        self.jobs = list(jobs)
        self._fit = fit
        self._worker: _Worker | None = None  # set by _Worker.submit, with the batch's id
        self._id = 0
        self._mine: dict[int, dict[str, Any]] = {}
        #: how many forecasts the worker fitted (for tests and benchmarks)
        self.by_worker = 0

    def results(self) -> list[dict[str, Any]]:
        """Every forecast, in the order submitted: fits here whatever the worker has not claimed, and waits
        for those it did."""
        w, n = self._worker, len(self.jobs)
        try:
            if w is not None and not w.alive:
                w = None
            for i in reversed(range(n)):  # an early worker fits them all: this process has not imported statsmodels
                if w is None or (not w.early and w.claim(i)):
                    self._fit_here(i)
            if w is not None and len(self._mine) < n:
                got = w.collect(self._id, [i for i in range(n) if i not in self._mine])
                self.by_worker = len(got)
                self._mine.update(got)
        finally:
            if self._worker is not None:
                self._worker.release(self)
        for i in range(n):  # failed in the worker, or it died: fitted here (raising the forecast's error)
            if i not in self._mine:
                self._fit_here(i)
        return [self._mine[i] for i in range(n)]

    def _fit_here(self, i: int) -> None:
        history, horizon, held = self.jobs[i]
        self._mine[i] = self._fit(history, horizon, held=held)


class Forked:
    """A forked worker process as the parts of ``subprocess.Popen`` its caller uses: its pipes, poll, kill and
    wait (the render worker uses it too)."""

    def __init__(self, pid: int, stdin: IO[bytes], stdout: IO[bytes]) -> None:
        self.pid, self.stdin, self.stdout = pid, stdin, stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.005)
        assert self.returncode is not None
        return self.returncode


class _Worker:
    """The worker process, its claim board, and what this process has read of its answers."""

    BOARD = 1 << 20  # forecasts a batch may hold to go to the worker

    def __init__(self, proc: subprocess.Popen[bytes] | Forked, board: mmap.mmap, fh: IO[bytes],
                 early: bool = False) -> None:
        self.proc = proc
        self.board = board
        self._board_file = fh
        self.alive = True
        #: forked by start_early: fits every forecast and answers calls (see the module's docstring)
        self.early = early
        self.parent = os.getpid()  # a forked child of this process must not talk to the parent's worker
        self._lock = threading.Lock()
        self._io = threading.RLock()  # one reader of the answers at a time
        self._wlock = threading.Lock()  # one message written at a time (large ones are written from threads)
        self._inbox: list[tuple[Any, ...]] = []  # answers read while waiting for another
        self._next_id = 0
        self._open: int | None = None    # the batch whose ("end", id) has not been read yet
        # The batch sent and not yet collected: only its thread reads the worker's answers until it is collected
        # (or dropped uncollected, after an error: the next submit then reads past what is left of it).
        self._owner: weakref.ref[Batch] | None = None

    @staticmethod
    def _board() -> tuple[IO[bytes], mmap.mmap]:
        fh = tempfile.TemporaryFile(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        try:
            fh.truncate(_Worker.BOARD)
            return fh, mmap.mmap(fh.fileno(), _Worker.BOARD)
        except (OSError, ValueError):
            fh.close()
            raise

    @classmethod
    def start(cls) -> "_Worker | None":
        root = str(Path(__file__).resolve().parents[2])
        fh = None
        try:
            fh, board = cls._board()
            fd = fh.fileno()
            boot = (f"import sys; sys.path.insert(0, {root!r}); from crimeassess.assess.fitworker import main; "
                    f"main({fd})")
            # One thread for BLAS and OpenMP: their idle threads spin, and on two cores the worker's spinning
            # took the CPU from the assessment it is there to help (fits 9.5 -> 37 ms each, measured).
            env = {**os.environ, **{v: "1" for v in _THREAD_VARS}}
            proc = subprocess.Popen([sys.executable, "-c", boot], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    close_fds=True, pass_fds=(fd,), env=env)
        except (OSError, ValueError):
            if fh is not None:
                fh.close()
            return None
        return cls(proc, board, fh)

    @classmethod
    def fork(cls) -> "_Worker | None":
        """A copy of this process as an early worker (see :func:`start_early`): it has every module this process
        has imported so far, so it starts at once, importing only the statistics libraries."""
        try:
            fh, board = cls._board()
        except (OSError, ValueError):
            return None
        to_w, from_w = os.pipe(), os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (*to_w, *from_w):
                os.close(fd)
            fh.close()
            return None
        if pid == 0:  # the worker: never returns into the caller's code
            code = 1
            try:
                os.close(to_w[1])
                os.close(from_w[0])
                main(fh.fileno(), inp_fd=to_w[0], out_fd=from_w[1], early=True)
                code = 0
            except BaseException:  # noqa: BLE001 - the command sees a dead worker and does the work itself
                pass
            os._exit(code)
        os.close(to_w[0])
        os.close(from_w[1])
        return cls(Forked(pid, os.fdopen(to_w[1], "wb"), os.fdopen(from_w[0], "rb", buffering=0)), board, fh,
                   early=True)

    def _read(self, timeout: float) -> tuple[Any, ...] | None:
        """The worker's next answer, or None when none arrives within `timeout` seconds. Raises EOFError (and
        ends the worker) when it has ended or its answer is damaged."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        try:
            if not select.select([fd], [], [], timeout)[0]:
                return None
            return _recv(fd)
        except Exception as exc:  # noqa: BLE001 - EOF, a damaged answer: the worker is gone
            self.close(kill=True)
            raise EOFError(str(exc)) from None

    def _take(self, wanted: Callable[[tuple[Any, ...]], bool], timeout: float) -> tuple[Any, ...] | None:
        """The next answer `wanted` accepts (others are kept for their readers), or None when none arrives
        within `timeout` seconds of the last answer read. Raises EOFError when the worker is gone."""
        for k, msg in enumerate(self._inbox):
            if wanted(msg):
                return self._inbox.pop(k)
        while True:
            msg = self._read(timeout)
            if msg is None or wanted(msg):
                return msg
            self._inbox.append(msg)

    def _drain(self) -> None:
        """Read whatever the worker has already answered (without waiting)."""
        with self._io:
            while self.alive and self._open is not None:
                msg = self._take(lambda m: m[0] in ("ok", "error", "end"), 0)
                if msg is None:
                    return
                if msg[0] == "end" and msg[1] == self._open:
                    self._open = None

    def submit(self, batch: Batch) -> bool:
        """Send the batch to the worker, if no other batch holds it, it has gone through the previous one, and
        the batch fits the board."""
        n = len(batch.jobs)
        if not self.alive or n > self.BOARD or os.getpid() != self.parent:
            return False
        with self._lock:
            if self._owner is not None and self._owner() is not None:
                return False
            self._owner = None
            try:
                self._drain()
            except EOFError:
                return False
            if self._open is not None:
                return False
            self._next_id += 1
            bid = self._next_id
            self.board[:n] = bytes(n)
            data = _frame(("batch", bid, [(list(h), k, None if p is None else list(p)) for h, k, p in batch.jobs]))
            assert self.proc.stdin is not None
            self._open = bid
            self._owner = weakref.ref(batch)
            _send_bg(self.proc.stdin, data, self)
            batch._worker, batch._id = self, bid
            return True

    def claim(self, i: int) -> bool:
        """Claim forecast `i` of the current batch for this process: False when the worker has it."""
        if self.board[i]:
            return False
        self.board[i] = 1
        return True

    def collect(self, bid: int, wanted: list[int]) -> dict[int, dict[str, Any]]:
        """The worker's results among `wanted` (what it claimed of batch `bid`), waiting up to STUCK_S for
        each; those it failed are missing, and all those still due when it dies or gets stuck (it is then
        ended)."""
        want = set(wanted)
        got: dict[int, dict[str, Any]] = {}
        with self._io:
            try:
                while self.alive and self._open == bid and len(got) < len(want):
                    msg = self._take(lambda m: m[0] in ("ok", "error", "end") and m[1] == bid, STUCK_S)
                    if msg is None:  # stuck or starved: end it, this process fits the rest
                        self.close(kill=True)
                        break
                    if msg[0] == "end":
                        self._open = None
                    elif msg[0] == "ok" and msg[2] in want:
                        got[msg[2]] = msg[3]
                    elif msg[0] == "error":
                        want.discard(msg[2])
            except EOFError:
                pass
        return got

    def call(self, module: str, name: str, arglist: list[tuple[Any, ...]]) -> list[Any] | None:
        """``module.name(*args)`` for each of `arglist`, in the worker; None when it did not answer (it failed
        the call, died, or stalled and was ended)."""
        if not self.alive or os.getpid() != self.parent:
            return None
        with self._io:
            self._next_id += 1
            cid = self._next_id
            try:
                data = _frame(("call", cid, module, name, arglist))
            except Exception:  # noqa: BLE001 - arguments that cannot be pickled: run here
                return None
            assert self.proc.stdin is not None
            _send_bg(self.proc.stdin, data, self)
            try:
                msg = self._take(lambda m: m[0] in ("ret", "raise") and m[1] == cid, CALL_STUCK_S)
            except EOFError:
                return None
            if msg is None:
                self.close(kill=True)
                return None
            return msg[2] if msg[0] == "ret" else None

    def release(self, batch: Batch) -> None:
        """The batch is collected: the worker may take the next one once it has gone through this one."""
        with self._lock:
            if self._owner is not None and self._owner() is batch:
                self._owner = None

    def close(self, *, kill: bool = False) -> None:
        """End the worker: at once with `kill`, else by closing its input."""
        self.alive = False
        p = self.proc
        try:
            if p.poll() is None:
                if kill:
                    p.kill()
                elif p.stdin is not None:
                    p.stdin.close()
                p.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            p.kill()
        for fh in (p.stdin, p.stdout, self._board_file):
            try:
                if fh is not None:
                    fh.close()
            except (OSError, ValueError):
                pass


def _send_bg(stream: IO[bytes], data: bytes, w: _Worker) -> None:
    """Write a message to the worker: from a thread when it exceeds what a pipe holds (the worker may still be
    importing, or writing answers this process reads only once the message is sent), else at once."""
    def send() -> None:
        try:
            with w._wlock:
                stream.write(data)
                stream.flush()
        except (OSError, ValueError):
            w.alive = False

    # Always from a thread: the caller then reads answers while it writes (a pipe may hold less than 64 KB, and
    # the worker may be blocked writing answers nobody reads yet).
    threading.Thread(target=send, name="crimeassess-fit-send", daemon=True).start()


_shared: dict[str, Any] = {"worker": None, "local": False, "command": False}
_shared_lock = threading.Lock()


def command_process(one_command: bool = True) -> None:
    """Mark this process as one that runs one CLI command and ends (the ``crimeassess`` program's entry point),
    for :func:`may_fork`; ``False`` for a command that serves for long (``serve``: its threads and DuckDB's)."""
    _shared["command"] = one_command


def may_fork() -> bool:
    """Whether a worker may be forked from this process: it is the ``crimeassess`` program running one command
    (:func:`command_process`) and no other thread runs (a fork copies only the calling thread, and a lock another
    thread holds stays locked in the copy). The commands fork before their first query, so before DuckDB starts
    threads of its own."""
    return bool(_shared.get("command")) and threading.active_count() == 1


def in_forked_child() -> None:
    """In a worker just forked from this process: close this process's fit worker's pipes and board here, so the
    fit worker still sees the end of its input when this process ends."""
    w = _shared["worker"]
    _shared["worker"] = None
    if w is None:
        return
    for fh in (w.proc.stdin, w.proc.stdout, w._board_file, w.board):
        try:
            if fh is not None:
                fh.close()
        except (OSError, ValueError):
            pass


def start_early() -> None:
    """Fork this process's worker now, for a CLI command (see the module's docstring): when this process is the
    ``crimeassess`` program (:func:`command_process`), the worker is enabled, no other thread runs (a fork copies
    only this one) and the statistics libraries are not imported yet. Otherwise the command fits everything
    itself (:func:`stay_local`)."""
    if (not may_fork() or not enabled()
            or any(m in sys.modules for m in ("scipy.stats", "statsmodels", "ruptures", "libpysal", "esda"))):
        stay_local()
        return
    with _shared_lock:
        if _shared["worker"] is None:
            sys.stdout.flush()
            sys.stderr.flush()  # a fork copies unwritten buffers: they would be written twice
            _shared["worker"] = _Worker.fork()
    if _shared["worker"] is None:
        stay_local()


def call_many(func: Callable[..., Any], arglist: Sequence[tuple[Any, ...]]) -> list[Any]:
    """``func(*args)`` for each of `arglist`: in the command's early worker when there is one (:func:`start_early`:
    the libraries `func` imports are imported there, not here), else here; here too when the worker does not
    answer (so an error is raised here, where the caller sees it). `func` must be a module-level function."""
    w = _shared["worker"]
    if arglist and w is not None and w.early and w.alive and w.parent == os.getpid():
        got = w.call(func.__module__, func.__qualname__, [tuple(a) for a in arglist])
        if got is not None:
            return got
    return [func(*a) for a in arglist]


def no_batch(batch: Batch | None = None) -> None:
    """Tell this process's early worker that no forecast batch is coming to it (`batch` None, or not sent to it),
    so it imports the hotspots' libraries now rather than after a batch (:data:`LATE_IMPORTS`)."""
    w = _shared["worker"]
    if (w is None or not w.early or not w.alive or w.parent != os.getpid()
            or (batch is not None and batch._worker is w)):
        return
    assert w.proc.stdin is not None
    _send_bg(w.proc.stdin, _frame(("go",)), w)


def stay_local() -> None:
    """Fit everything in this process from now on: for CLI commands without an early worker (:func:`start_early`
    declined; ``--all-areas``, whose many small calls gained nothing from one; ``demo``): a worker started during
    one assessment would not be ready before its forecasts are due, and its imports would only take CPU from it."""
    _shared["local"] = True


def start_soon() -> None:
    """Start this process's worker if it is enabled, not running, and the process is not to
    :func:`stay_local` (returns at once: the worker imports in the background)."""
    if _shared.get("local") or not enabled():
        return
    with _shared_lock:
        w = _shared["worker"]
        if w is None or not w.alive or w.parent != os.getpid():
            _shared["worker"] = _Worker.start()


def submit(jobs: Sequence[Job], fit: Callable[..., dict[str, Any]]) -> Batch:
    """A batch of forecasts (``fit(history, horizon, held=…)`` each), sent to the worker when it is running
    and free; collect them with :meth:`Batch.results` (a batch never collected only keeps the worker busy until
    it has gone through it)."""
    batch = Batch(jobs, fit)
    w = _shared["worker"]
    if jobs and w is not None and w.alive and (w.early or enabled()):
        w.submit(batch)
    return batch


@atexit.register
def _close_shared() -> None:
    # Killed, not asked to end: it holds nothing to save, and one still importing would hold up the exit by
    # a second before it read the end of its input.
    w = _shared["worker"]
    if w is not None and w.parent == os.getpid():
        w.close(kill=True)


def _read_exact(fd: int, n: int) -> bytes:
    """Exactly `n` bytes from the descriptor (the frames are read unbuffered, so select() tells the truth)."""
    parts, left = [], n
    while left:
        b = os.read(fd, left)
        if not b:
            raise EOFError("the fit worker ended")
        parts.append(b)
        left -= len(b)
    return b"".join(parts)


def _frame(msg: tuple[Any, ...]) -> bytes:
    """A message as written: its pickle after the pickle's length (8 bytes)."""
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("<Q", len(data)) + data


def _send(out: IO[bytes], msg: tuple[Any, ...]) -> None:
    out.write(_frame(msg))
    out.flush()


def _recv(fd: int) -> tuple[Any, ...]:
    """The next message on descriptor `fd` (EOFError at its end)."""
    (size,) = struct.unpack("<Q", _read_exact(fd, 8))
    return pickle.loads(_read_exact(fd, size))


def _serve_call(out: IO[bytes], msg: tuple[Any, ...]) -> None:
    _kind, cid, module, name, arglist = msg
    try:
        func = getattr(importlib.import_module(module), name)
        _send(out, ("ret", cid, [func(*args) for args in arglist]))
    except Exception as exc:  # noqa: BLE001 - the caller runs the call again and sees the error
        _send(out, ("raise", cid, f"{type(exc).__name__}: {exc}"))


def _warm_step(step: str) -> None:
    """Import a module of :data:`EARLY_IMPORTS`, or (``"forecast"``) fit a first forecast."""
    try:
        if step == "forecast":  # the first fit in a process pays statsmodels' lazy set-up: not on a real one's time
            from .expected import forecast

            forecast([float(10 + (i % 12)) for i in range(36)], 12)
        else:
            importlib.import_module(step)
    except Exception:  # noqa: BLE001 - whatever needs it fails in the worker, and runs (and raises) in the caller
        pass


class _LazyFinder:
    """A meta-path finder that gives :data:`LAZY_MODULES` a lazy loader (the module's code runs on first
    attribute use), found by the finders after it."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in LAZY_MODULES:
            return None
        import importlib.util

        try:
            for first in LAZY_MODULES[name]:
                importlib.import_module(first)
        except Exception:  # noqa: BLE001 - then the module is imported as usual, by the other finders
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def _lazy_imports() -> None:
    """Make :data:`LAZY_MODULES` lazy in this process (once; only if none of them is imported yet)."""
    if not any(isinstance(f, _LazyFinder) for f in sys.meta_path) and not set(LAZY_MODULES) & set(sys.modules):
        sys.meta_path.insert(0, _LazyFinder())


def _one_blas_thread() -> None:
    """One BLAS/OpenMP thread in a forked worker (its libraries were loaded with the parent's settings)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn (libpysal's dependency)
        return
    try:
        threadpool_limits(1)
    except Exception:  # noqa: BLE001 - only a speed setting
        pass


def main(board_fd: int, inp_fd: int = 0, out_fd: int | None = None, *, early: bool = False) -> None:
    """The worker: import and warm up, then go through each message sent until end of input (an early worker
    imports :data:`EARLY_IMPORTS` one by one, answering any message that arrives in between)."""
    out = os.fdopen(os.dup(1) if out_fd is None else out_fd, "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answers (or the command's output)
    sys.stdout = sys.stderr
    board = mmap.mmap(board_fd, 0)
    pending: list[tuple[Any, ...]] = []
    warm = [m for m in EARLY_IMPORTS if m not in LATE_IMPORTS] if early else []
    late = [m for m in EARLY_IMPORTS if m in LATE_IMPORTS] if early else []
    late_go = False  # a batch gone through, a "go" received, or LATE_IDLE_S without a message
    _lazy_imports()

    def arrived(wait: float = 0) -> bool:
        return bool(select.select([inp_fd], [], [], wait)[0])

    if early:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's: it ends, and so does this
        for v in _THREAD_VARS:  # for the libraries it loads from now on (OpenMP with scipy and scikit-learn)
            os.environ[v] = "1"
        _one_blas_thread()  # for those already loaded
    else:
        try:  # background work: the assessment's threads come first (on an idle 2-core machine: no measured change)
            os.nice(10)
        except (AttributeError, OSError):  # pragma: no cover - not Unix
            pass
        _warm_step("forecast")
    while True:
        if pending:
            msg = pending.pop(0)
        elif warm and not arrived():
            _warm_step(warm.pop(0))
            continue
        elif late and not warm and not arrived(0 if late_go else LATE_IDLE_S):
            late_go = True
            _warm_step(late.pop(0))
            continue
        else:
            try:
                msg = _recv(inp_fd)
            except EOFError:
                break
        if msg[0] == "call":
            _serve_call(out, msg)
            continue
        if msg[0] == "go":
            late_go = True
            continue
        _kind, bid, jobs = msg
        from .expected import forecast

        if "forecast" in warm:  # a real batch pays statsmodels' lazy set-up: no warm-up fit after it
            warm.remove("forecast")

        for i, (history, horizon, held) in enumerate(jobs):
            while arrived():  # a call waits for no forecast
                try:
                    nxt = _recv(inp_fd)
                except EOFError:  # the caller has ended
                    out.flush()
                    os._exit(0)
                if nxt[0] == "call":
                    _serve_call(out, nxt)
                elif nxt[0] == "go":
                    late_go = True
                else:
                    pending.append(nxt)
            if board[i]:
                continue
            board[i] = 1
            try:
                _send(out, ("ok", bid, i, forecast(history, horizon, held=held)))
            except Exception as exc:  # noqa: BLE001 - the caller fits it again and sees the error
                _send(out, ("error", bid, i, f"{type(exc).__name__}: {exc}"))
        _send(out, ("end", bid))
        late_go = True
    out.flush()
    os._exit(0)
