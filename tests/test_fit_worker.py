"""Issue 12: the fit worker fits an assessment's forecasts in a second process while the assessment goes on.
Whoever fits a forecast (the worker, this process, or this process after the worker died or failed), the numbers
are the same; a forecast's own error is raised in the caller."""
from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest

from crimeassess.assess import expected, fitworker
from crimeassess.assess.engine import assess


def _series(k: int) -> list[float]:
    t = np.arange(48)
    return list(500 + 3 * k + 1.5 * t + (40 + k) * np.sin(2 * np.pi * t / 12) + np.tile([5, -3, 2, -6, 4, 0], 8))


def _jobs(n: int = 6) -> list[Any]:
    return [(_series(k), 12, list(range(12)) if k % 2 else [0, 1, 2]) for k in range(n)]


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


def _wait(cond: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _submit(jobs: list[Any]) -> fitworker.Batch:
    """Submit once the worker has gone through its previous batch (it is then sent to the worker)."""
    batch: list[fitworker.Batch] = []

    def sent() -> bool:
        batch[:] = [fitworker.submit(jobs, expected.forecast)]
        return batch[0]._worker is not None  # not sent (never collected: nothing to undo): try again

    _wait(sent, "the worker to take a batch")
    return batch[0]


@pytest.fixture()
def worker(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh worker for this test, past its imports (ended afterwards)."""
    monkeypatch.setenv(fitworker.WORKER_ENV, "on")
    monkeypatch.setitem(fitworker._shared, "local", False)  # a CLI test in this process may have set it
    old = fitworker._shared["worker"]
    fitworker._shared["worker"] = None
    fitworker.start_soon()
    w = fitworker._shared["worker"]
    assert w is not None
    b = _submit(_jobs(1))
    _wait(lambda: w.board[0] == 1, "the worker to claim a forecast")
    assert b.results() and b.by_worker == 1
    yield w
    w.close()
    fitworker._shared["worker"] = old


def test_worker_forecasts_equal_local_ones(worker: Any) -> None:
    jobs = _jobs()
    local = [expected.forecast(h, n, held=held) for h, n, held in jobs]
    batch = _submit(jobs)
    _wait(lambda: all(worker.board[i] for i in range(len(jobs))), "the worker to claim every forecast")
    got = batch.results()
    assert batch.by_worker == len(jobs)
    assert all(_same(a, b) for a, b in zip(got, local))


def test_caller_fits_what_the_worker_has_not_claimed(worker: Any) -> None:
    jobs = _jobs(10)
    local = [expected.forecast(h, n, held=held) for h, n, held in jobs]
    batch = _submit(jobs)
    got = batch.results()  # at once: both sides fit, each from its own end
    assert batch.by_worker < len(jobs)
    assert all(_same(a, b) for a, b in zip(got, local))
    batch2 = _submit(jobs[:2])  # the worker goes on to the next batch
    _wait(lambda: worker.board[0] and worker.board[1], "the worker to claim the next batch")
    assert len(batch2.results()) == 2 and batch2.by_worker == 2


def test_a_dead_worker_leaves_the_forecasts_to_the_caller(worker: Any) -> None:
    jobs = _jobs(8)
    local = [expected.forecast(h, n, held=held) for h, n, held in jobs]
    batch = _submit(jobs)
    _wait(lambda: worker.board[0] == 1, "the worker to claim a forecast")
    worker.proc.kill()
    got = batch.results()
    assert all(_same(a, b) for a, b in zip(got, local))
    assert not worker.alive
    fitworker.start_soon()  # the next assessment starts another
    assert fitworker._shared["worker"] is not worker and fitworker._shared["worker"] is not None
    fitworker._shared["worker"].close()


def test_a_forecast_error_is_raised_in_the_caller(worker: Any) -> None:
    batch = _submit([(["not a number"] * 48, 12, None)])
    _wait(lambda: worker.board[0] == 1, "the worker to claim the forecast")
    with pytest.raises(ValueError):  # the worker answers "error"; the caller fits it again and sees the error
        batch.results()
    assert worker.alive  # one failed forecast does not end the worker
    assert _submit(_jobs(1)).results()


def test_batches_from_several_threads_and_a_dropped_one(worker: Any) -> None:
    """The dashboard assesses in threads: one batch holds the worker at a time, the others are fitted where
    they were submitted; a batch dropped uncollected (an assessment that failed) does not keep the worker."""
    import gc
    import threading

    dropped = _submit(_jobs(3))
    del dropped
    gc.collect()
    _submit(_jobs(1)).results()  # accepted once the worker has gone through the dropped batch
    jobs = _jobs(6)
    local = [expected.forecast(h, n, held=held) for h, n, held in jobs]
    out: dict[int, list[Any]] = {}
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            for _ in range(3):
                out[k] = fitworker.submit(jobs, expected.forecast).results()
                assert all(_same(a, b) for a, b in zip(out[k], local))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(out) == 3
    assert worker.alive


def test_off_means_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fitworker.WORKER_ENV, "off")
    monkeypatch.setitem(fitworker._shared, "worker", None)
    fitworker.start_soon()
    assert fitworker._shared["worker"] is None
    batch = fitworker.submit(_jobs(2), expected.forecast)
    assert len(batch.results()) == 2 and batch.by_worker == 0
    monkeypatch.setenv(fitworker.WORKER_ENV, "")
    monkeypatch.setattr(fitworker, "usable_cores", lambda: 1)
    assert not fitworker.enabled()


def test_a_process_told_to_stay_local_starts_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fitworker.WORKER_ENV, "on")
    monkeypatch.setitem(fitworker._shared, "worker", None)
    monkeypatch.setitem(fitworker._shared, "local", False)
    fitworker.stay_local()
    fitworker.start_soon()
    assert fitworker._shared["worker"] is None


def test_assessment_is_the_same_with_and_without_the_worker(worker: Any, demo_store: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo assessment forecasts 48 months of history: identical whoever fits (the worker, once it has
    taken every forecast of the second assessment; this process, with the worker off)."""
    def run() -> str:
        d = assess(demo_store.area, demo_store.period, store=demo_store.store).to_dict()
        d.pop("generated_at")
        return json.dumps(d, sort_keys=True, default=str)

    batches: list[fitworker.Batch] = []
    submit = fitworker.submit

    def recorded(jobs: Any, fit: Any) -> fitworker.Batch:
        batches.append(submit(jobs, fit))
        return batches[-1]

    monkeypatch.setattr(fitworker, "submit", recorded)
    with_worker = run()
    assert json.loads(with_worker)["expected"]["available"]
    assert batches and batches[-1].by_worker > 0, "the worker fitted none of the demo's forecasts"
    monkeypatch.setenv(fitworker.WORKER_ENV, "off")
    assert run() == with_worker
    assert batches[-1].by_worker == 0


# A CLI command's early worker (fitworker.start_early): run as the crimeassess program, in a process of its own, so
# that this test process is never forked. The probe reports, at exit, whether the command had an early worker and
# which statistics libraries the command's own process imported.
_PROBE = r"""
import atexit, json, os, sys
from crimeassess.assess import fitworker
if os.environ.get("PROBE_KILL"):  # the worker dies before the command's first call to it
    call = fitworker._Worker.call
    def killed(self, *a):
        self.proc.kill()
        self.proc.wait(5)
        return call(self, *a)
    fitworker._Worker.call = killed
HEAVY = ("scipy.stats", "statsmodels", "ruptures", "libpysal", "esda")
LIGHT = ("scipy", "pandas", "geopandas")  # not needed by a command on a store without boundaries
FORK = {}
fork = fitworker._Worker.fork
def forked(*a, **k):
    FORK["cli_imported"] = "crimeassess.cli" in sys.modules
    return fork(*a, **k)
fitworker._Worker.fork = forked
def probe():
    w = fitworker._shared["worker"]
    sys.stderr.write("PROBE " + json.dumps({"early": bool(w is not None and w.early),
                                            "heavy": [m for m in HEAVY if m in sys.modules],
                                            "light": [m for m in LIGHT if m in sys.modules], **FORK}) + "\n")
atexit.register(probe)
sys.argv = ["crimeassess", *sys.argv[1:]]
from crimeassess.program import main
main()
"""


def _probe(args: list[str], worker: str, kill: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    import os
    import subprocess
    import sys

    env = {**os.environ, fitworker.WORKER_ENV: worker}
    env.pop("PROBE_KILL", None)
    if kill:
        env["PROBE_KILL"] = "1"
    run = subprocess.run([sys.executable, "-c", _PROBE, *args], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    probe = json.loads(run.stderr.rsplit("PROBE ", 1)[1])
    out = json.loads(run.stdout)
    out.pop("generated_at")
    return out, probe


def test_a_commands_early_worker_makes_every_fit_and_changes_no_number(demo_store: Any) -> None:
    """`crimeassess assess` forks its worker before importing the statistics libraries: every fit (forecasts,
    dispersions, level shifts, hotspots) is made there, the command imports none of them, and the assessment is
    the one the command makes alone; when the worker dies, the command makes the fits itself."""
    args = ["assess", "--store", str(demo_store.store.path), "--area", demo_store.area, "--period", demo_store.period,
            "--format", "json"]
    alone, p_alone = _probe(args, "off")
    assert not p_alone["early"] and "statsmodels" in p_alone["heavy"]
    assert alone["expected"]["available"] and alone["hotspots"]["available"]
    assert any(d["value"] is not None for d in alone["statistics"]["dispersion"].values())
    early, p_early = _probe(args, "on")
    assert {k: p_early[k] for k in ("early", "heavy", "cli_imported")} == {
        "early": True, "heavy": [], "cli_imported": False}  # forked by the program, before the CLI's imports
    assert early == alone
    dead, p_dead = _probe(args, "on", kill=True)
    assert p_dead["early"] and "statsmodels" in p_dead["heavy"]
    assert dead == alone


def test_a_command_on_a_store_without_boundaries_imports_neither_pandas_nor_scipy(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """With its fits in the early worker, a one-area `assess` on a store without boundaries (a national store
    of lookups) needs no pandas or geopandas in its own process (0.4 s of imports off the command's path), nor
    SciPy where every dispersion is estimated (here two months give none, so the exact test, SciPy's, is used),
    and prints the assessment it prints with no worker."""
    from small_city import LAD, build_small_city

    st = build_small_city(tmp_path_factory.mktemp("no-boundaries"))
    args = ["assess", "--store", str(st.path), "--area", LAD[1], "--period", "2018-03", "--format", "json"]
    alone, _ = _probe(args, "off")
    early, p_early = _probe(args, "on")
    exact = any(d["value"] is None for d in alone["statistics"]["dispersion"].values())
    assert p_early["early"] and p_early["heavy"] == []
    assert p_early["light"] == (["scipy"] if exact else [])
    assert early == alone


_CALLS = r"""
import os, sys
from crimeassess.assess import dispersion, fitworker
def imported(name):
    return name in sys.modules
fitworker.command_process()
fitworker.start_early()
w = fitworker._shared["worker"]
assert w is not None and w.early
# The hotspots' libraries wait for a forecast batch, no_batch() or LATE_IDLE_S without a message: once the
# others are imported, a call 0.2 s later finds libpysal not imported (imported straight after them, as before, it
# would be by the time the worker answers).
import time
while not fitworker.call_many(imported, [("crimeassess.assess.expected",)])[0]:
    time.sleep(0.05)
time.sleep(0.2)
assert fitworker.LATE_IDLE_S >= 1.0 and fitworker.call_many(imported, [("libpysal.weights",)]) == [False]
fitworker.no_batch()
months, counts = list(range(36)), [40 + (m % 12) * 3 + (m * 7) % 5 for m in range(36)]
got = fitworker.call_many(dispersion.pearson_fit, [(months, counts, []), (months, counts, [18])])
assert "statsmodels" not in sys.modules  # fitted in the worker
try:
    fitworker.call_many(dispersion.pearson_fit, [([], [], [])])
except ValueError:
    print("raised here")
assert w.alive  # a failed call does not end the worker
assert got == [dispersion.pearson_fit(months, counts, []), dispersion.pearson_fit(months, counts, [18])]
print("same")
"""


def test_early_worker_calls_equal_local_ones_and_errors_are_raised_in_the_caller() -> None:
    import os
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _CALLS], env={**os.environ, fitworker.WORKER_ENV: "on"},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["raised", "here", "same"]


def test_no_early_worker_outside_the_crimeassess_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLI command run inside another program (CliRunner, an embedding application) forks nothing."""
    monkeypatch.setenv(fitworker.WORKER_ENV, "on")
    monkeypatch.setitem(fitworker._shared, "worker", None)
    monkeypatch.setitem(fitworker._shared, "local", False)
    monkeypatch.setitem(fitworker._shared, "command", False)
    fitworker.start_early()
    assert fitworker._shared["worker"] is None and fitworker._shared["local"]


def test_worker_leaves_libpysal_examples_unrun_until_used() -> None:
    """The worker makes libpysal's example-data package lazy: libpysal and esda import without requests and
    BeautifulSoup, the hotspots' weights work, and the examples load (with them) on first use."""
    import subprocess
    import sys

    code = """
import sys
from crimeassess.assess import fitworker
fitworker._lazy_imports()
import libpysal.weights, esda
assert "requests" not in sys.modules and "bs4" not in sys.modules
w = libpysal.weights.lat2W(3, 3)
assert w.n == 9 and len(w.neighbors[4]) == 4
import libpysal.examples as ex
assert callable(ex.get_path) and "requests" in sys.modules
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
