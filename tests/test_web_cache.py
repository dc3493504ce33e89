"""The dashboard's caches under concurrency (issue 12): cached JSON served from the event loop, one computation
for concurrent identical requests, invalidation when the store changes, errors still 4xx. Over a small real
store: Hampshire police.uk street files for 2017-03 and 2018-03, the WD17 lookup and Southampton's wards."""
from __future__ import annotations

import asyncio
import csv
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

import crimeassess.web.app as web_app
from crimeassess.ingest import ingest
from crimeassess.store import Store
from crimeassess.web.app import create_app

SOUTHAMPTON = "E06000045"
Q = {"area": "Southampton", "period": "2018-03"}


def _southampton_crimes(shared: Path, month: str) -> int:
    """Crimes (not ASB) in Southampton's LSOAs in one month's street file, counted from the CSVs."""
    with open(shared / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        lsoas = {r["LSOA11CD"] for r in csv.DictReader(fh) if r["LAD17CD"] == SOUTHAMPTON}
    with open(shared / f"police-uk/archive/{month}/{month}-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
        return sum(1 for r in csv.DictReader(fh) if r["LSOA code"] in lsoas and r["Crime type"] != "Anti-social behaviour")


class _Spy:
    """Wraps the real ``assess`` (it still runs): counts calls and, while ``gate`` is clear, holds them."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0
        self.started = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        self.started.set()
        assert self.gate.wait(120), "the test never opened the gate"
        return self.real(*args, **kwargs)


@pytest.fixture()
def spy(monkeypatch: pytest.MonkeyPatch) -> _Spy:
    s = _Spy(web_app.assess)
    monkeypatch.setattr(web_app, "assess", s)
    return s


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dashboard.test")


def test_concurrent_identical_requests_compute_once_and_the_loop_stays_free(
        web_store: Store, shared_data: Path, spy: _Spy) -> None:
    app = create_app(web_store)
    spy.gate.clear()  # hold the assessment until every request has arrived

    async def scenario() -> tuple[list[httpx.Response], httpx.Response, int]:
        async with _client(app) as c:
            tasks = [asyncio.create_task(c.get("/api/assessment", params=Q)) for _ in range(12)]
            tasks.append(asyncio.create_task(c.get("/api/wards.geojson", params=Q)))
            while not spy.started.is_set():  # the assessment has started in a worker thread ...
                await asyncio.sleep(0.01)
            # ... and while it is held, the event loop still answers other routes
            health = await asyncio.wait_for(c.get("/healthz"), 60)
            calls_while_held = spy.calls
            spy.gate.set()
            return list(await asyncio.gather(*tasks)), health, calls_while_held

    responses, health, calls_while_held = asyncio.run(scenario())
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert calls_while_held == 1
    assert spy.calls == 1  # 12 assessment requests and a GeoJSON request shared one assessment
    assert all(r.status_code == 200 for r in responses)
    bodies = {r.content for r in responses[:-1]}
    assert len(bodies) == 1  # every client got the same cached bytes
    a = json.loads(bodies.pop())
    assert a["total"]["current"] == _southampton_crimes(shared_data, "2018-03")
    assert a["total"]["previous"] == _southampton_crimes(shared_data, "2017-03")
    assert responses[-1].headers["content-type"].startswith("application/geo+json")
    # later requests are answered from the cached body without assessing again
    again = asyncio.run(_get(app, "/api/assessment", Q))
    assert again.status_code == 200 and again.content == responses[0].content and spy.calls == 1


async def _get(app: Any, url: str, params: dict[str, str] | None = None) -> httpx.Response:
    async with _client(app) as c:
        return await c.get(url, params=params)


def test_json_body_is_what_jsonresponse_sent(web_store: Store) -> None:
    """The cached bytes are the JSON the route sent before: compact, UTF-8, the same dict."""
    from starlette.responses import JSONResponse

    app = create_app(web_store)
    r = asyncio.run(_get(app, "/api/assessment", Q))
    res = app.state.dashboard.assessment(web_app.AssessQuery(Q["area"], Q["period"]))
    assert r.content == JSONResponse(res.to_dict()).body
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["x-content-type-options"] == "nosniff" and "server-timing" in r.headers


def test_cache_invalidated_when_the_store_changes(web_store: Store, shared_data: Path, tmp_path: Path,
                                                  spy: _Spy) -> None:
    copy = tmp_path / "store"
    shutil.copytree(web_store.path, copy)
    app = create_app(copy)
    inputs_before = asyncio.run(_get(app, "/api/inputs")).json()
    page_before = asyncio.run(_get(app, "/", Q))
    assert page_before.status_code == 200 and "2 live inputs" in page_before.text
    assert asyncio.run(_get(app, "/", Q)).content == page_before.content  # from the cache
    first = asyncio.run(_get(app, "/api/assessment", Q))
    assert asyncio.run(_get(app, "/api/assessment", Q)).content == first.content and spy.calls == 1
    assert len(inputs_before) == 2  # the two files the fixture ingested
    # a real change through the library: one more month's street file
    ingest([shared_data / "police-uk" / "archive" / "2017-04" / "2017-04-hampshire-street.csv"], Store(copy))
    inputs_after = asyncio.run(_get(app, "/api/inputs")).json()
    assert len(inputs_after) == 3
    assert {i["path"] for i in inputs_after} - {i["path"] for i in inputs_before} == {"2017-04-hampshire-street.csv"}
    assert asyncio.run(_get(app, "/healthz")).json()["inputs"] == 3
    assert "3 live inputs" in asyncio.run(_get(app, "/", Q)).text  # the cached page follows the store too
    second = asyncio.run(_get(app, "/api/assessment", Q))
    assert second.status_code == 200 and spy.calls == 2  # recomputed once for the new store state
    names = lambda r: {i.get("path") for i in r.json()["data_quality"]["inputs"]}  # noqa: E731
    assert "2017-04-hampshire-street.csv" in {Path(str(p)).name for p in names(second)}
    assert "2017-04-hampshire-street.csv" not in {Path(str(p)).name for p in names(first)}


def test_errors_stay_4xx_and_are_not_cached(web_store: Store, spy: _Spy) -> None:
    app = create_app(web_store)
    bad = {"area": "Southamptn", "period": "2018-03"}

    spy.gate.clear()

    async def scenario() -> list[httpx.Response]:
        async with _client(app) as c:
            tasks = [asyncio.create_task(c.get("/api/assessment", params=bad)) for _ in range(6)]
            while not spy.started.is_set():
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # let the other requests reach the computation in flight
            spy.gate.set()
            return list(await asyncio.gather(*tasks))

    rs = asyncio.run(scenario())
    assert [r.status_code for r in rs] == [404] * 6
    assert all("Southampton" in r.json()["suggestions"] for r in rs)
    calls = spy.calls
    assert calls == 1  # six concurrent identical requests waited for one computation, and shared its error
    r = asyncio.run(_get(app, "/api/assessment", bad))
    assert r.status_code == 404 and spy.calls == calls + 1  # an error is never served from the cache
    assert asyncio.run(_get(app, "/api/assessment", {"area": "Southampton", "period": "2018-13"})).status_code == 400
    assert asyncio.run(_get(app, "/api/areas", {"level": "street"})).status_code == 400
    panel = asyncio.run(_get(app, "/panel", bad))
    assert panel.status_code == 404 and "Southampton" in panel.text
    geo = asyncio.run(_get(app, "/api/wards.geojson", {"area": "Nowhere-at-all", "period": "2018-03"}))
    assert geo.status_code == 404 and "error" in geo.json()


def test_large_bodies_are_gzipped_once_for_clients_that_accept_it(web_store: Store) -> None:
    app = create_app(web_store)

    async def both() -> tuple[httpx.Response, httpx.Response]:
        async with _client(app) as c:
            plain = await c.get("/api/assessment", params=Q, headers={"Accept-Encoding": "identity"})
            zipped = await c.get("/api/assessment", params=Q, headers={"Accept-Encoding": "gzip, deflate"})
            return plain, zipped

    plain, zipped = asyncio.run(both())
    assert plain.status_code == zipped.status_code == 200
    assert "content-encoding" not in plain.headers and zipped.headers["content-encoding"] == "gzip"
    assert plain.headers["vary"] == zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.content == plain.content  # httpx decodes: the same JSON
    assert int(zipped.headers["content-length"]) * 3 < len(plain.content)
    json.loads(plain.content)


def test_panel_is_cached_as_bytes_with_its_headers(web_store: Store, spy: _Spy) -> None:
    app = create_app(web_store)

    async def three() -> list[httpx.Response]:
        async with _client(app) as c:
            return [await c.get("/panel", params=Q, headers={"Accept-Encoding": enc})
                    for enc in ("identity", "gzip", "gzip")]

    plain, zipped, again = asyncio.run(three())
    assert plain.status_code == zipped.status_code == again.status_code == 200
    assert plain.headers["content-type"].startswith("text/html") and "charset=utf-8" in plain.headers["content-type"]
    assert zipped.headers["content-encoding"] == "gzip" and zipped.text == plain.text == again.text
    assert all(r.headers["hx-push-url"] == "/?area=Southampton&period=2018-03" for r in (plain, zipped, again))
    assert "Southampton" in plain.text and spy.calls == 1
