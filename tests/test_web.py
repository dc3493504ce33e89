"""The read-only dashboard (crimeassess.web.app) over a small real store: Hampshire police.uk street files for
2017-03 and 2018-03, the WD17 LSOA→ward→LAD lookup and Southampton's 16 ward polygons."""
from __future__ import annotations

import csv
import json
import os
import re
import socket
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import require_tool, skip_or_fail
from fastapi.testclient import TestClient
from markupsafe import escape

from crimeassess.assess.engine import assess
from crimeassess.store import Store
from crimeassess.web.app import create_app, default_period, period_suggestions

SOUTHAMPTON = "E06000045"
HX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def client(web_store: Store) -> TestClient:
    return TestClient(create_app(web_store))


def _southampton(shared: Path) -> tuple[dict[str, str], dict[str, str]]:
    """LSOA → ward and ward → name for Southampton, straight from the ONS lookup CSV."""
    lsoa_ward, names = {}, {}
    with open(shared / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if r["LAD17CD"] == SOUTHAMPTON:
                lsoa_ward[r["LSOA11CD"]] = r["WD17CD"]
                names[r["WD17CD"]] = r["WD17NM"]
    return lsoa_ward, names


def _crimes(shared: Path, month: str, lsoa_ward: dict[str, str]) -> int:
    with open(shared / f"police-uk/archive/{month}/{month}-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
        return sum(1 for r in csv.DictReader(fh)
                   if r["LSOA code"] in lsoa_ward and r["Crime type"] != "Anti-social behaviour")


class _Links(HTMLParser):
    """Collects every URL-bearing attribute and every <script> element of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k in ("src", "href", "action", "hx-get", "hx-post", "poster", "srcset", "data") and v is not None:
                self.urls.append((tag, k, v))
        if tag == "script":
            self.scripts.append(dict(attrs))


def _assert_same_origin(text: str, where: str) -> _Links:
    p = _Links()
    p.feed(text)
    assert p.urls, where
    for tag, attr, url in p.urls:
        ok = url.startswith(("/", "#", "data:image/svg+xml;base64,")) and not url.startswith("//")
        assert ok, f"{where}: <{tag} {attr}={url[:80]!r}> is not same-origin"
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), where
    return p


# ---- JSON API --------------------------------------------------------------------------------------------
def test_api_assessment_is_exactly_the_library_json(client: TestClient, web_store: Store) -> None:
    r = client.get("/api/assessment", params={"area": "Southampton", "period": "2018-03"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    got = r.json()
    want = json.loads(json.dumps(assess("Southampton", "2018-03", store=web_store).to_dict()))
    got.pop("generated_at")
    want.pop("generated_at")
    assert got == want
    # compare= and placement= are passed through
    r2 = client.get("/api/assessment", params={"area": SOUTHAMPTON, "period": "2018-03", "compare": "2017-03",
                                               "placement": "lsoa"}).json()
    assert r2["compare"]["label"] == "2017-03" and r2["geography"]["placement"] == "lsoa"


def test_api_assessment_counts_match_the_csv(client: TestClient, shared_data: Path) -> None:
    lsoa_ward, names = _southampton(shared_data)
    a = client.get("/api/assessment", params={"area": "Southampton", "period": "2018-03"}).json()
    assert a["total"]["current"] == _crimes(shared_data, "2018-03", lsoa_ward)
    assert a["total"]["previous"] == _crimes(shared_data, "2017-03", lsoa_ward)
    assert {w["code"] for w in a["wards"]} == set(names)


def test_unknown_area_is_404_with_close_matches(client: TestClient) -> None:
    r = client.get("/api/assessment", params={"area": "Southamptn", "period": "2018-03"})
    assert r.status_code == 404
    body = r.json()
    assert "not found" in body["error"] and "did you mean" in body["error"] and "Southampton" in body["error"]
    assert "Southampton" in body["suggestions"]
    p = client.get("/panel", params={"area": "Southamptn", "period": "2018-03"}, headers=HX)
    assert p.status_code == 404
    assert "not found" in p.text
    assert 'hx-get="/panel?area=Southampton&amp;period=2018-03"' in p.text  # a suggestion to click


@pytest.mark.parametrize("params", [
    {"area": "Southampton", "period": "2018-13"},
    {"area": "Southampton", "period": "last tuesday"},
    {"area": "Southampton", "period": "2018/20"},
    {"area": "", "period": "2018-03"},
    {"area": "Southampton", "period": "2018-03", "placement": "teleport"},
    {"area": "Southampton", "period": "2018-03", "source": "rumour"},
    {"area": "x" * 500, "period": "2018-03"},
])
def test_bad_requests_are_400(client: TestClient, params: dict[str, str]) -> None:
    r = client.get("/api/assessment", params=params)
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"error"} and r.json()["error"]
    p = client.get("/panel", params=params, headers=HX)
    assert p.status_code == 400
    assert 'role="alert"' in p.text and "Traceback" not in p.text


def test_unloaded_ward_vintage_is_404(client: TestClient) -> None:
    r = client.get("/api/assessment", params={"area": "Southampton", "period": "2018-03", "ward_vintage": "WD99"})
    assert r.status_code == 404 and "WD99" in r.json()["error"]


def test_api_areas_and_inputs(client: TestClient, web_store: Store) -> None:
    areas = client.get("/api/areas").json()
    assert areas[0]["level"] == "lad"  # local authorities first
    levels = [a["level"] for a in areas]
    assert levels.index("ward") > max(i for i, lv in enumerate(levels) if lv == "lad")
    assert {"level": "lad", "code": SOUTHAMPTON, "name": "Southampton", "lad_code": SOUTHAMPTON} in areas
    wards = client.get("/api/areas", params={"level": "ward", "q": "bargate"}).json()
    assert [w["code"] for w in wards if w["lad_code"] == SOUTHAMPTON] == ["E05002455"]
    assert client.get("/api/areas", params={"level": "county"}).status_code == 400
    ins = client.get("/api/inputs").json()
    stored = json.loads(json.dumps(web_store.inputs()))
    # the manifest's entries, with paths shown as file names only (never the server's folders)
    assert [{k: v for k, v in i.items() if k != "path"} for i in ins] == [
        {k: v for k, v in i.items() if k != "path"} for i in stored]
    assert [i["path"] for i in ins] == [Path(i["path"]).name for i in stored]
    assert all("/" not in i["path"] for i in ins)
    health = client.get("/healthz").json()
    assert health["store"] == web_store.path.name and str(web_store.path.parent) not in json.dumps(health)
    assert sorted(m for i in ins for m in i["months"]) == ["2017-03", "2018-03"]


def test_wards_geojson_is_wgs84_with_ward_figures(client: TestClient, shared_data: Path) -> None:
    _, names = _southampton(shared_data)
    r = client.get("/api/wards.geojson", params={"area": "Southampton", "period": "2018-03"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 16
    a = client.get("/api/assessment", params={"area": "Southampton", "period": "2018-03"}).json()
    by_code = {w["code"]: w for w in a["wards"]}
    for f in fc["features"]:
        p = f["properties"]
        assert p["code"] in names and p["name"] == names[p["code"]]
        assert (p["current"], p["previous"], p["rank"]) == tuple(by_code[p["code"]][k] for k in ("current", "previous", "rank"))
        ring = f["geometry"]["coordinates"][0]
        ring = ring[0] if f["geometry"]["type"] == "MultiPolygon" else ring
        for lon, lat in ring:
            assert -1.6 < lon < -1.2 and 50.8 < lat < 51.0  # Southampton in degrees, not metres


# ---- HTML ------------------------------------------------------------------------------------------------
def test_panel_shows_findings_headline_and_16_ward_rows(client: TestClient, shared_data: Path) -> None:
    lsoa_ward, names = _southampton(shared_data)
    r = client.get("/panel", params={"area": "Southampton", "period": "2018-03"}, headers=HX)
    assert r.status_code == 200
    assert r.headers["HX-Push-Url"] == "/?area=Southampton&period=2018-03"
    text = r.text
    a = client.get("/api/assessment", params={"area": "Southampton", "period": "2018-03"}).json()
    assert a["findings"]
    for f in a["findings"]:
        assert str(escape(f)) in text, f
    assert f"{_crimes(shared_data, '2018-03', lsoa_ward):,}" in text
    rows = re.findall(r'<tr class="ward-row" data-ward="(E05\d+)"', text)
    assert len(rows) == 16 and set(rows) == set(names)
    for code in names:  # each ward links to its own panel
        assert re.search(rf'hx-get="/panel\?area=[^"]+&amp;period=2018-03"[^>]*>{re.escape(str(escape(names[code])))}<', text)
    assert "not available from this source" in text  # knife crime etc. from police.uk files
    assert "Anti-social behaviour" in text and "not counted" in text
    assert text.index('class="findings"') < text.index('id="h-wards"')
    assert "data:image/svg+xml;base64," in text  # trend chart and ward map


def test_coverage_warning_comes_first_when_months_are_missing(client: TestClient) -> None:
    text = client.get("/panel", params={"area": "Southampton", "period": "2018Q1"}, headers=HX).text
    assert "Incomplete data" in text
    assert text.index("Incomplete data") < text.index("Key findings")
    assert "Jan 2018" in text and "Feb 2018" in text


def test_ward_panel_links_back_to_its_authority(client: TestClient) -> None:
    r = client.get("/panel", params={"area": "E05002455", "period": "2018-03"}, headers=HX)
    assert r.status_code == 200
    assert "Bargate" in r.text and 'class="crumb"' in r.text
    assert 'hx-get="/panel?area=Southampton&amp;period=2018-03"' in r.text
    assert len(re.findall(r'<tr class="ward-row"', r.text)) == 1


def test_hostile_text_is_escaped(client: TestClient) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    for url, params in [("/panel", {"area": evil, "period": "2018-03"}), ("/", {"area": evil, "period": "2018-03"}),
                        ("/", {"area": "Southampton", "period": evil}), ("/area-options", {"area": evil})]:
        r = client.get(url, params=params, headers=HX)
        assert r.status_code in (200, 400, 404)
        assert "<script>alert" not in r.text and "<img src=x" not in r.text
        if url != "/area-options":
            assert "&lt;script&gt;" in r.text
    page = client.get("/", params={"area": evil, "period": "2018-03"})
    scripts = _assert_same_origin(page.text, "error page").scripts
    assert [s.get("src") for s in scripts] == ["/static/htmx.min.js", "/static/dashboard.js"]
    assert client.get("/api/assessment", params={"area": evil, "period": "2018-03"}).json()["error"].count(evil) == 1


def test_no_external_urls_and_htmx_is_served(client: TestClient) -> None:
    pages = {
        "/": client.get("/"),
        "/?area": client.get("/", params={"area": "Southampton", "period": "2018-03"}),
        "/panel": client.get("/panel", params={"area": "Southampton", "period": "2018-03"}, headers=HX),
        "/panel ward": client.get("/panel", params={"area": "Bargate", "period": "2018-03"}, headers=HX),
        "/nope": client.get("/nope"),
    }
    for name, r in pages.items():
        _assert_same_origin(r.text, name)
        assert "default-src 'self'" in r.headers["content-security-policy"]
    assert pages["/nope"].status_code == 404
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "htmx" in js.text[:400] and "0BSD" in js.text[:400]
    assert '<script src="/static/htmx.min.js"' in pages["/"].text
    css = client.get("/static/dashboard.css")
    assert css.status_code == 200 and not re.search(r"url\(|@import", css.text)
    # the default period is the latest month the store can compare
    assert 'id="period" name="period" type="text" list="period-list" value="2018-03"' in pages["/"].text


def test_report_is_the_full_self_contained_html(client: TestClient) -> None:
    r = client.get("/report", params={"area": "Southampton", "period": "2018-03", "download": "1"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"] == 'attachment; filename="crimeassess-southampton-2018-03.html"'
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<html" in r.text and "Southampton" in r.text
    p = _Links()
    p.feed(r.text)
    assert all(v.startswith("data:") for tag, k, v in p.urls if k == "src")  # nothing to fetch
    inline = client.get("/report", params={"area": "Southampton", "period": "2018-03"})
    assert inline.headers["content-disposition"].startswith("inline")
    assert client.get("/report", params={"area": "Nowhere-at-all", "period": "2018-03"}).status_code == 404


def test_healthz_and_cache(client: TestClient) -> None:
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["store_exists"] is True and h["inputs"] == 2
    dash = client.app.state.dashboard
    params = {"area": "Portsmouth", "period": "2018-03"}
    client.get("/api/assessment", params=params)
    hits = dash.assessments.hits
    client.get("/api/assessment", params=params)
    client.get("/api/wards.geojson", params=params)
    assert dash.assessments.hits >= hits + 1


def test_routes_never_write_to_the_store(web_store: Store) -> None:
    def snapshot() -> dict[str, tuple[int, int]]:
        return {str(p.relative_to(web_store.path)): (p.stat().st_size, p.stat().st_mtime_ns)
                for p in web_store.path.rglob("*") if p.is_file()}

    before = snapshot()
    c = TestClient(create_app(web_store.path))
    q = {"area": "Southampton", "period": "2018-03"}
    for url in ("/", "/panel", "/report", "/api/assessment", "/api/wards.geojson", "/api/areas", "/api/inputs",
                "/healthz", "/area-options"):
        assert c.get(url, params=q).status_code == 200, url
    assert snapshot() == before


def test_cache_follows_the_manifest(tmp_path: Path, web_store: Store) -> None:
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(web_store.path, copy)
    c = TestClient(create_app(copy))
    dash = c.app.state.dashboard
    q = {"area": "Southampton", "period": "2018-03"}
    c.get("/api/assessment", params=q)
    misses = dash.assessments.misses
    c.get("/api/assessment", params=q)
    assert dash.assessments.misses == misses
    st = os.stat(copy / "manifest.json")
    os.utime(copy / "manifest.json", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # as a new ingest would
    c.get("/api/assessment", params=q)
    assert dash.assessments.misses == misses + 1


def test_empty_store_gives_guidance_not_errors(tmp_path: Path) -> None:
    c = TestClient(create_app(tmp_path / "no-store"))
    r = c.get("/")
    assert r.status_code == 200 and "no crime data yet" in r.text
    assert c.get("/api/inputs").json() == []
    e = c.get("/api/assessment", params={"area": "Southampton", "period": "2018-03"})
    assert e.status_code == 404 and "no store here" in e.json()["error"]
    assert c.get("/api/assessment", params={"area": "Southampton"}).status_code == 400  # no period to default to
    assert not (tmp_path / "no-store").exists()


class _FakeStore:
    def __init__(self, months: list[str]) -> None:
        self._inputs = [{"live": True, "live_months": [m], "months": [m]} for m in months]

    def inputs(self, *, live_only: bool = False) -> list[dict]:
        return self._inputs


def test_default_period_prefers_a_complete_financial_year() -> None:
    fy = [f"2016-{m:02d}" for m in range(4, 13)] + [f"2017-{m:02d}" for m in range(1, 4)]
    assert default_period(_FakeStore(fy + ["2017-04", "2017-05"])) == "2016/17"
    assert default_period(_FakeStore(["2017-03", "2017-04", "2018-03"])) == "2018-03"   # has a year-earlier month
    assert default_period(_FakeStore(["2017-03", "2018-03", "2018-04"])) == "2018-03"
    assert default_period(_FakeStore(["2018-04"])) == "2018-04"
    assert default_period(_FakeStore([])) is None
    sugg = [v for v, _ in period_suggestions(_FakeStore(fy))]
    assert sugg[0] == "2016/17" and "12m-2017-03" in sugg and "2017Q1" in sugg and "2017-03" in sugg


# ---- a real browser ----------------------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"


def test_browser_loads_a_panel_without_reloading(web_store: Store, tmp_path: Path) -> None:
    try:
        import playwright.sync_api as sync_api
    except ImportError:
        sync_api = None
    if sync_api is None:
        skip_or_fail("playwright is not installed (pip install playwright)")
    require_tool(CHROMIUM, "Debian's chromium")
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(web_store), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        assert server.started, "uvicorn did not start within 10 s"
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, timeout=30_000, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                requests: list[str] = []
                page.on("request", lambda req: requests.append(req.url))
                page.goto(base + "/", timeout=20_000)
                page.evaluate("window.__sameDocument = true")  # survives only if the page is never reloaded
                page.fill("#area", "Southampton")
                page.fill("#period", "2018-03")
                page.click("button[type=submit]")
                page.wait_for_selector("tr.ward-row", timeout=30_000)
                assert page.locator("tr.ward-row").count() == 16
                assert page.evaluate("window.__sameDocument") is True
                assert page.url == base + "/?area=Southampton&period=2018-03"
                page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
                # a ward link loads that ward's panel in place and updates the form
                page.click("tr.ward-row[data-ward='E05002455'] a")
                page.wait_for_selector("#panel .crumb", timeout=30_000)
                assert page.input_value("#area") == "Bargate"
                assert page.evaluate("window.__sameDocument") is True
                assert all(u.startswith((base, "data:")) for u in requests), requests
            finally:
                browser.close()
    finally:
        server.should_exit = True
        th.join(timeout=10)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def test_period_hint_uses_the_stores_own_periods(client: TestClient, web_store: Store) -> None:
    """The period box's hint gives forms the store can answer (its latest month, a period it covers), each one a
    period the parser accepts, not fixed 2017 examples."""
    from crimeassess.assess.available import store_months
    from crimeassess.assess.periods import parse_period

    page = client.get("/").text
    hint = re.search(r'<p class="hint" id="period-hint">(.*?)\.</p>', page).group(1)
    last = store_months(web_store)[-1]
    assert hint.startswith(last) and hint.endswith(f"12m-{last}")
    for example in hint.replace(" or ", ", ").split(", "):
        parse_period(example)


@pytest.mark.realdata
def test_wards_geojson_without_boundaries_is_a_cached_404(real_archive_store: Store) -> None:
    """No ward boundaries: a 404 naming the area, the same on every request, answered from the cache after the
    first (uncached, each such request ran in a thread: a p99 of 195 ms under load)."""
    app = create_app(real_archive_store)
    c = TestClient(app)
    params = {"area": "Southampton", "period": "2018-03"}
    dash = app.state.dashboard
    before = len(dash.bodies)
    first = c.get("/api/wards.geojson", params=params)
    cached, builds = len(dash.bodies), dash.builds
    again = c.get("/api/wards.geojson", params=params)
    assert first.status_code == again.status_code == 404
    assert "no ward boundaries are loaded for Southampton" in first.json()["error"]
    assert again.json() == first.json()
    assert cached == before + 1 and (len(dash.bodies), dash.builds) == (cached, builds)  # kept, not built again
