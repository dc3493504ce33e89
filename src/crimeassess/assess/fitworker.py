"""A second process that fits the expected-count forecasts while the assessment goes on (issue 12).

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
``assess``, ``report`` and ``demo`` start none (:func:`stay_local`). Disabled by ``CRIMEASSESS_FIT_WORKER=off``, on
a single usable core or when the load average says every core is busy (the worker would only take CPU from the
assessment); ``CRIMEASSESS_FIT_WORKER=on`` uses it whatever the load. When it cannot be started, dies or fails a
forecast, this process fits instead (a forecast's own error is then raised here, where the caller sees it).

Protocol (pickles over the worker's stdin, and over its stdout each after its length as 8 bytes; the board is the
file open as the worker's descriptor given in its command line): for each ``("batch", id, jobs)`` the worker goes
through the jobs in order, and for each one it claims it answers ``("ok", id, i, result)`` or ``("error", id, i,
text)``; then ``("end", id)``. End of input ends the worker.
"""
from __future__ import annotations

import atexit
import mmap
import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

WORKER_ENV = "CRIMEASSESS_FIT_WORKER"
#: Longest wait, in seconds, for the forecast the worker is fitting when the assessment needs it (one takes
#: ~11 ms; a worker that takes longer is stuck or starved, and is ended: this process fits the forecast).
STUCK_S = 20.0

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
            for i in reversed(range(n)):
                if w is None or w.claim(i):
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


class _Worker:
    """The worker process, its claim board, and what this process has read of its answers."""

    BOARD = 1 << 20  # forecasts a batch may hold to go to the worker

    def __init__(self, proc: subprocess.Popen[bytes], board: mmap.mmap, fh: IO[bytes]) -> None:
        self.proc = proc
        self.board = board
        self._board_file = fh
        self.alive = True
        self.parent = os.getpid()  # a forked child of this process must not talk to the parent's worker
        self._lock = threading.Lock()
        self._next_id = 0
        self._open: int | None = None    # the batch whose ("end", id) has not been read yet
        # The batch sent and not yet collected: only its thread reads the worker's answers until it is collected
        # (or dropped uncollected, after an error: the next submit then reads past what is left of it).
        self._owner: weakref.ref[Batch] | None = None

    @classmethod
    def start(cls) -> "_Worker | None":
        root = str(Path(__file__).resolve().parents[2])
        fh = None
        try:
            fh = tempfile.TemporaryFile(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
            fh.truncate(cls.BOARD)
            board = mmap.mmap(fh.fileno(), cls.BOARD)
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

    def _read(self, timeout: float) -> tuple[Any, ...] | None:
        """The worker's next answer, or None when none arrives within `timeout` seconds. Raises EOFError (and
        ends the worker) when it has ended or its answer is damaged."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        try:
            if not select.select([fd], [], [], timeout)[0]:
                return None
            (size,) = struct.unpack("<Q", _read_exact(fd, 8))
            return pickle.loads(_read_exact(fd, size))
        except Exception as exc:  # noqa: BLE001 - EOF, a damaged answer: the worker is gone
            self.close(kill=True)
            raise EOFError(str(exc)) from None

    def _drain(self) -> None:
        """Read whatever the worker has already answered (without waiting)."""
        while self.alive and self._open is not None:
            msg = self._read(0)
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
            data = pickle.dumps(("batch", bid, [(list(h), k, None if p is None else list(p))
                                                for h, k, p in batch.jobs]), protocol=pickle.HIGHEST_PROTOCOL)
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
        try:
            while self.alive and self._open == bid and len(got) < len(want):
                msg = self._read(STUCK_S)
                if msg is None:  # stuck or starved: end it, this process fits the rest
                    self.close(kill=True)
                    break
                if msg[0] == "end":
                    if msg[1] == bid:
                        self._open = None
                elif msg[1] == bid and msg[0] == "ok" and msg[2] in want:
                    got[msg[2]] = msg[3]
                elif msg[1] == bid and msg[0] == "error":
                    want.discard(msg[2])
        except EOFError:
            pass
        return got

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
    """Write a batch to the worker: from a thread when it exceeds what a pipe holds (the worker may still be
    importing), else at once."""
    def send() -> None:
        try:
            stream.write(data)
            stream.flush()
        except (OSError, ValueError):
            w.alive = False

    if len(data) < 60_000:
        send()
    else:
        threading.Thread(target=send, name="crimeassess-fit-send", daemon=True).start()


_shared: dict[str, Any] = {"worker": None, "local": False}
_shared_lock = threading.Lock()


def stay_local() -> None:
    """Fit every forecast in this process from now on: for the CLI's ``assess`` (one assessment: a worker
    started during it would not be ready before its forecasts are due, and its imports would only take CPU from
    it; ``--all-areas`` forecasts nothing), ``report`` and ``demo`` (the render worker has the other core)."""
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
    if jobs and w is not None and w.alive and enabled():
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


def _send(out: IO[bytes], msg: tuple[Any, ...]) -> None:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(struct.pack("<Q", len(data)) + data)
    out.flush()


def main(board_fd: int) -> None:
    """The worker: import and warm up, then go through each batch sent until end of input."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answers
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    board = mmap.mmap(board_fd, 0)
    try:  # background work: the assessment's threads come first (on an idle 2-core machine: no measured change)
        os.nice(10)
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        pass
    from .expected import forecast

    try:  # the first fit in a process pays statsmodels' lazy set-up: not on a real forecast's time
        forecast([float(10 + (i % 12)) for i in range(36)], 12)
    except Exception:  # noqa: BLE001 - a real forecast raises whatever is wrong, in the caller
        pass
    while True:
        try:
            _kind, bid, jobs = pickle.load(inp)
        except EOFError:
            break
        for i, (history, horizon, held) in enumerate(jobs):
            if board[i]:
                continue
            board[i] = 1
            try:
                _send(out, ("ok", bid, i, forecast(history, horizon, held=held)))
            except Exception as exc:  # noqa: BLE001 - the caller fits it again and sees the error
                _send(out, ("error", bid, i, f"{type(exc).__name__}: {exc}"))
        _send(out, ("end", bid))
    out.flush()
    os._exit(0)
