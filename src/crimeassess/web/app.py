"""Read-only web dashboard over the library: FastAPI, Jinja2 (autoescaped) and vendored htmx.

Every route calls one library function (``assess``, ``render_html``, ``area_catalogue``, ``Store.inputs``) and
only reads the store. Assessments, and the JSON and HTML bodies made from them, are cached in-process, keyed by
the request and the manifest's state (mtime, size, inode), so a store changed by ``crimeassess ingest`` is
picked up on the next request. A cached body is answered straight from the event loop; anything to compute runs
in a worker thread, and concurrent requests for the same thing wait for that one computation
(:meth:`Dashboard.cached_async`). Library errors (``CrimeAssessError``) become 4xx responses:
``{"error": msg}`` on ``/api/*``, a friendly HTML message elsewhere.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
import uvicorn
from shapely.geometry import mapping
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..assess import present
from ..assess.available import default_period, default_period_of, period_examples, period_suggestions, store_months
from ..assess.engine import Assessment, assess
from ..assess.options import Placement
from ..errors import AreaNotFoundError, CrimeAssessError, GeographyError, InputError, PeriodError
from ..geography.areas import LEVEL_NAMES, LEVEL_ORDER, area_catalogue, months_per_lad, records_per_lad, ward_vintages
from ..geography.boundaries import to_wgs84
from ..report.render import build_context, render_html, svg_data_uri
from ..sources.registry import source_priority, source_titles
from ..store import Store

__all__ = ["Dashboard", "create_app", "default_period", "period_suggestions", "serve", "store_months"]

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES = WEB_DIR / "templates"
STATIC = WEB_DIR / "static"

# Nothing is ever loaded from another origin. Inline styles are allowed only because matplotlib's SVGs carry
# a <style> element; scripts come from /static alone (htmx is configured not to eval).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
# The report is self-contained: inline CSS and data: images only.
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}

ASB_THEME = "anti_social_behaviour"
MAX_PARAM = 200           # longest query value accepted (area names are far shorter)
AREA_OPTIONS_LIMIT = 60   # options sent to the area picker per search
DEFAULT_CACHE_SIZE = 16   # assessments kept in memory (each a few hundred kB with its ward polygons)
PLACEMENTS = tuple(p.value for p in Placement)
SOURCE_CHOICES = source_titles()


# ---------------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------------
class LRUCache:
    """A thread-safe least-recently-used cache of at most ``size`` items."""

    def __init__(self, size: int = DEFAULT_CACHE_SIZE) -> None:
        self.size = max(1, int(size))
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, *, count: bool = True) -> tuple[bool, Any]:
        """(found, value); ``count=False`` for a second look that should not skew the hit/miss counts."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += count
                return True, self._data[key]
            self.misses += count
            return False, None

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class AssessQuery:
    """One assessment request as the dashboard receives it (empty strings already turned into None)."""

    area: str
    period: str
    compare: str | None = None
    source: str | None = None
    ward_vintage: str | None = None
    placement: str = "auto"
    peers: str | None = None  # comma-separated peer areas (comparators)
    exclude: str | None = None  # comma-separated areas left out of the force-area comparator

    def params(self, **override: Any) -> dict[str, str]:
        """Non-empty query parameters (for links), with ``placement`` left out when it is the default."""
        d = {**asdict(self), **override}
        if d.get("placement") == "auto":
            d.pop("placement")
        return {k: str(v) for k, v in d.items() if v not in (None, "")}

    def qs(self, **override: Any) -> str:
        return urlencode(self.params(**override))


def _split(value: str | None) -> list[str] | None:
    """'Portsmouth, Plymouth' -> ['Portsmouth', 'Plymouth']; None or '' -> None."""
    return [x.strip() for x in value.split(",") if x.strip()] or None if value else None


def _clean(value: str | None, name: str) -> str | None:
    """Strip a query value; '' becomes None; over-long values are refused."""
    if value is None:
        return None
    v = value.strip()
    if len(v) > MAX_PARAM:
        raise InputError(f"{name} is too long ({len(v)} characters; at most {MAX_PARAM})")
    return v or None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "area"


def _direction(value: Any) -> str:
    """CSS class of a change: up, down or flat."""
    return {"up": "up", "down": "down"}.get(present.direction(value), "flat")


# ---------------------------------------------------------------------------------------------------------
# The dashboard: store, caches and the views' data
# ---------------------------------------------------------------------------------------------------------
class Dashboard:
    """The store behind the app, with caches keyed by the manifest's mtime (a changed store is re-read)."""

    def __init__(self, store: Store, cache_size: int = DEFAULT_CACHE_SIZE, *, public: bool = False,
                 threshold: int | None = None, themes: list[Path] | None = None) -> None:
        self.store = store
        self.themes = [Path(t) for t in themes or []]  # theme files every assessment takes (serve --themes)
        self.public = public  # public-safe mode: every assessment is suppressed (crimeassess.suppress)
        self.threshold = threshold
        self.assessments = LRUCache(cache_size)
        self.pages = LRUCache(cache_size * 2)   # rendered panels and reports
        self.meta = LRUCache(16)                # catalogue, areas with data, inputs
        self.bodies = LRUCache(cache_size * 4)  # serialised JSON bodies of the /api routes
        # One assessment at a time (DuckDB already uses both cores); any value is built once however many
        # requests want it together (a lock per key), and a cheap value never waits behind an assessment.
        self._assess_lock = threading.Lock()
        self._locks_guard = threading.Lock()
        self._locks: dict[Hashable, list[Any]] = {}  # key -> [lock, users]
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        self.builds = 0  # values computed (not found in a cache): what concurrent identical requests share
        self.timings: dict[str, float] = {}

    def stamp(self) -> tuple[int, int, int]:
        """The manifest's state: (mtime in ns, size, inode); zeros when the store does not exist yet. Every
        writer replaces the manifest by a rename, so any change to the store changes the stamp."""
        try:
            st = self.store.manifest_path.stat()
        except OSError:
            return (0, 0, 0)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    @contextmanager
    def _key_lock(self, key: Hashable) -> Iterator[None]:
        """Hold the lock of one cache key (created on first use, dropped when nobody holds or waits for it)."""
        with self._locks_guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._locks_guard:
                entry[1] -= 1
                if entry[1] == 0:
                    self._locks.pop(key, None)

    def _cached(self, cache: LRUCache, key: Hashable, build: Callable[[], Any], *, count: bool = True) -> Any:
        """``cache[key]``, else ``build()`` (once: a second thread wanting the same key waits for the first)."""
        found, value = cache.get(key, count=count)
        if found:
            return value
        with self._key_lock(key):
            found, value = cache.get(key, count=False)  # another request may have built it meanwhile
            if found:
                return value
            value = build()
            self.builds += 1
            cache.put(key, value)
            return value

    async def cached_async(self, cache: LRUCache, key: Hashable, build: Callable[[], Any]) -> Any:
        """``cache[key]``, else ``build()`` run once in a worker thread, never on the event loop.

        A hit is answered at once. On a miss the first request starts the computation and every concurrent
        request for the same key awaits that one computation (its error too: errors are not cached, so a
        later request tries again). A client that goes away does not cancel it for the others.
        """
        found, value = cache.get(key)
        if found:
            return value
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(run_in_threadpool(self._cached, cache, key, build, count=False))
            self._inflight[key] = task
            task.add_done_callback(lambda _t, k=key: self._inflight.pop(k, None))
        return await asyncio.shield(task)

    def assessment(self, q: AssessQuery) -> Assessment:
        """``assess(...)`` for the query, cached."""
        def build() -> Assessment:
            with self._assess_lock:
                return compute()

        def compute() -> Assessment:
            t = time.perf_counter()
            res = assess(q.area, q.period, q.compare, self.store, source=q.source, ward_vintage=q.ward_vintage,
                         placement=q.placement, peers=_split(q.peers), exclude=_split(q.exclude),
                         themes=self.themes or None)
            self.timings["last_assess_ms"] = round((time.perf_counter() - t) * 1000, 1)
            if self.public:
                from ..suppress import DEFAULT_THRESHOLD, SuppressedAssessment

                return SuppressedAssessment(res, DEFAULT_THRESHOLD if self.threshold is None else self.threshold)
            return res

        return self._cached(self.assessments, ("assess", q, self.stamp()), build)

    def catalogue(self) -> list[tuple[str, str, str, str]]:
        """``area_catalogue`` rows (level, code, name, lad_code), cached; [] without geography."""
        def build() -> list[tuple[str, str, str, str]]:
            if not self.store.exists():
                return []
            con = self.store.connect()
            try:
                return area_catalogue(self.store, con)
            finally:
                con.close()

        return self._cached(self.meta, ("catalogue", self.stamp()), build)

    def lad_months(self) -> dict[str, list[str]]:
        """``months_per_lad``, cached: the months each local authority has data for (default periods)."""
        return self._cached(self.meta, ("lad_months", self.stamp()), lambda: months_per_lad(self.store))

    def default_period_for(self, lads: Iterable[str]) -> str | None:
        """The default period for an area made of these local authorities: from the months they hold."""
        held = self.lad_months()
        months = [set(held.get(lad, [])) for lad in lads]
        months = [m for m in months if m]
        return default_period_of(set.intersection(*months)) if months else None

    def lad_counts(self) -> dict[str, int]:
        """``records_per_lad``, cached: only used to order the area picker, never to count crime."""
        return self._cached(self.meta, ("lad_counts", self.stamp()), lambda: records_per_lad(self.store))

    def _index(self) -> dict[str, Any]:
        """The catalogue grouped for the picker: one row per (level, code) with its local authorities, the
        names' levels (to know when a name resolves uniquely) and local authority names."""
        def build() -> dict[str, Any]:
            cat = self.catalogue()
            rows: dict[tuple[str, str], dict[str, Any]] = {}
            by_name: dict[str, list[tuple[str, str]]] = {}
            for lv, code, name, lad in cat:
                r = rows.setdefault((lv, code), {"level": lv, "code": code, "name": name or code, "lads": set()})
                r["lads"].add(lad)
                by_name.setdefault((name or "").lower(), []).append((lv, code))
            lad_names = {code: name for lv, code, name, _lad in cat if lv == "lad"}
            return {"rows": rows, "by_name": by_name, "lad_names": lad_names}

        return self._cached(self.meta, ("index", self.stamp()), build)

    def submit_value(self, level: str, code: str, name: str | None) -> str:
        """What to type to get this area back: its name when ``resolve_area`` would pick this very area by
        name (broadest level, unique in it), else its GSS code."""
        if not name:
            return code
        same = self._index()["by_name"].get(name.lower(), [])
        top = min((LEVEL_ORDER.get(lv, 9) for lv, _c in same), default=9)
        unique = LEVEL_ORDER.get(level, 9) == top and {c for lv, c in same if lv == level} == {code}
        return name if unique else code

    def area_options(self, q: str | None = None, limit: int = AREA_OPTIONS_LIMIT) -> list[dict[str, Any]]:
        """Areas for the picker: local authorities first, then CSPs, force areas and wards.

        Without a search: the areas where the store has data, busiest local authorities first, and their
        wards; with one: every area whose name or code contains it, prefix matches first.
        """
        idx = self._index()
        rows = list(idx["rows"].values())
        if q:
            ql = q.strip().lower()
            picked = [r for r in rows if ql in r["name"].lower() or ql in r["code"].lower()]
            picked.sort(key=lambda r: (not (r["name"].lower().startswith(ql) or r["code"].lower() == ql),
                                       LEVEL_ORDER.get(r["level"], 9), r["name"]))
        else:
            counts = self.lad_counts()
            # A force's data strays a little over its border: areas with a sliver of the records come last.
            floor = 0.005 * sum(counts.values())
            main = {lad for lad, n in counts.items() if n >= floor}
            if main:
                picked = [r for r in rows if r["lads"] & main]
                picked.sort(key=lambda r: (LEVEL_ORDER.get(r["level"], 9),
                                           -sum(counts.get(x, 0) for x in r["lads"]) if r["level"] == "lad" else 0,
                                           r["name"]))
            else:
                picked = [r for r in rows if r["level"] != "ward"]
                picked.sort(key=lambda r: (LEVEL_ORDER.get(r["level"], 9), r["name"]))
        out = []
        for r in picked[:limit]:
            lv, code, name = r["level"], r["code"], r["name"]
            where = ""
            if lv == "ward":
                where = ", " + ", ".join(sorted(idx["lad_names"].get(x, x) for x in r["lads"]))
            out.append({"value": self.submit_value(lv, code, name), "name": name, "code": code, "level": lv,
                        "label": f"{LEVEL_NAMES.get(lv, lv).capitalize()}{where} · {code}"})
        return out

    def parent_of(self, area: dict[str, Any]) -> dict[str, str] | None:
        """The local authority a ward belongs to (for the 'back' link), if exactly one."""
        if area.get("level") != "ward":
            return None
        row = self._index()["rows"].get(("ward", area.get("code")))
        if not row or len(row["lads"]) != 1:
            return None
        lad = next(iter(row["lads"]))
        name = self._index()["lad_names"].get(lad, lad)
        return {"code": lad, "name": name, "value": self.submit_value("lad", lad, name)}


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every value that reaches a page is escaped
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.ChainableUndefined,
    )
    env.filters.update(present.FILTERS)
    env.filters["direction_class"] = _direction
    env.globals.update(DASH=present.BLANK, LEVEL_NAMES=LEVEL_NAMES, SOURCE_CHOICES=SOURCE_CHOICES,
                       PLACEMENTS=PLACEMENTS, run_phrase=present.run_phrase)
    return env


def _panel_context(dash: Dashboard, q: AssessQuery, res: Assessment) -> dict[str, Any]:
    """What panel.html.j2 needs: the report's context (``build_context``: the same figures, words, charts
    and map) plus the dashboard's links."""
    geo = res.ward_geometry if res.ward_geometry is not None and len(res.ward_geometry) else None
    ctx = build_context(res.to_dict(), geo)
    a = ctx["a"]
    # Total and ASB have their own sections; available themes first, the unavailable ones listed after.
    themes = [t for t in ctx["themes"] if t.get("id") not in ("total", ASB_THEME)]
    themes.sort(key=lambda t: not t["available"])
    asb_theme = next((t for t in ctx["themes"] if t.get("id") == ASB_THEME), None)
    area = a["area"]
    value = dash.submit_value(area["level"], area["code"], area["name"]) if area["level"] != "custom" else q.area
    base = AssessQuery(**{**asdict(q), "area": value})
    parent = dash.parent_of(area)
    return {
        "a": a,
        "q": q,
        "qs": base.qs(),
        "themes": themes,
        "run_text": ctx["run_text"],
        "trend_svg": ctx["trend_svg"],
        "theme_svg": ctx["theme_chart"],
        "map_svg": ctx["ward_map"],
        "map_info": ctx["ward_map_info"],
        "map_note": ctx["map_note"],
        "parent": parent,
        "parent_qs": base.qs(area=parent["value"]) if parent else None,
        "ward_qs": {w["code"]: base.qs(area=dash.submit_value("ward", w["code"], w["name"])) for w in a.get("wards", [])},
        "area_value": value,
        "asb_caveat": (asb_theme or {}).get("caveat"),
        "lfl": ctx["lfl"],
        "asb_lfl": ctx["asb_lfl"],
        "monthly_svg": ctx["monthly_svg"],
        "dispersion": ctx["dispersion"],
        "dispersion_outliers": ctx["dispersion_outliers"],
        **_comparison_context(a),
        "beyond": ctx["beyond"],
        **{k: ctx[k] for k in ("priorities", "priorities_where", "outcomes", "priorities_snapped_note",
                                  "outcomes_caveat")},
    }


def _comparison_context(a: dict[str, Any]) -> dict[str, Any]:
    """The comparison section: the report's rows, dot plot and notes (report/comparison.py)."""
    from ..report.comparison import comparison_dot_plot_svg, comparison_notes, comparison_rows, theme_rate_table

    rows = comparison_rows(a.get("comparators"))
    return {"comparison": rows, "comparison_svg": svg_data_uri(comparison_dot_plot_svg(rows)) if rows else None,
            "comparison_notes": comparison_notes(rows), "local_authorities": comparison_rows(a.get("local_authorities")),
            "theme_rates": theme_rate_table(a)}


# ---------------------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------------------
class _SecurityHeaders:
    """ASGI middleware: the CSP (unless the route set its own), the security headers and ``Server-Timing`` on every
    response. Plain ASGI rather than ``@app.middleware("http")``, which runs each request in an extra task and
    copies the body through a stream."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t = time.perf_counter()

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                for k, v in SECURITY_HEADERS.items():
                    headers.setdefault(k, v)
                headers["Server-Timing"] = f"app;dur={(time.perf_counter() - t) * 1000:.1f}"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def json_body(value: Any) -> bytes:
    """``value`` as the JSON bytes Starlette's ``JSONResponse`` sends (UTF-8, compact, NaN refused)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


GZIP_MIN_BYTES = 1024  # smaller bodies are sent as they are


@dataclass(frozen=True)
class Body:
    """A cached response body, and its gzip form (compressed once, when cached) for clients that accept it."""

    data: bytes
    gzipped: bytes | None = None

    @classmethod
    def of(cls, data: bytes) -> Body:
        return cls(data, gzip.compress(data, 6, mtime=0) if len(data) >= GZIP_MIN_BYTES else None)

    def response(self, request: Request, media_type: str) -> Response:
        """The body, gzipped when the client accepts gzip (``Vary: Accept-Encoding`` either way)."""
        if self.gzipped is None:
            return Response(self.data, media_type=media_type)
        if "gzip" in request.headers.get("accept-encoding", "").lower():
            return Response(self.gzipped, media_type=media_type,
                            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        return Response(self.data, media_type=media_type, headers={"Vary": "Accept-Encoding"})


def _error_payload(exc: CrimeAssessError) -> dict[str, Any]:
    body: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, AreaNotFoundError) and exc.suggestions:
        body["suggestions"] = list(exc.suggestions)
    return body


def _force_names(inputs: list[dict[str, Any]]) -> list[str]:
    """Each force of the store's inputs once, by the name its files give (else its slug in words): a force
    extract (slug only) and police.uk files (full name) of one force were listed as two."""
    from ..schema import force_slug

    names: dict[str, str] = {}
    for i in inputs:
        name = i.get("force_name")
        slug = i.get("force") or (force_slug(name) if name else None)
        if slug:
            names[slug] = name or names.get(slug) or present.force_label(slug)
    return sorted(names.values())


def create_app(store: Store | str | Path | None = None, *, cache_size: int = DEFAULT_CACHE_SIZE,
               public: bool = False, threshold: int | None = None, themes: list[Path] | None = None) -> FastAPI:
    """Build the read-only dashboard app over ``store`` (a Store, a folder, or None for the default store).

    ``public`` serves public-safe figures only (small counts suppressed, see ``crimeassess.suppress``);
    ``themes``: theme files (TOML) every assessment takes, as ``assess --themes`` does.

    Routes: ``/`` (dashboard page), ``/panel`` (assessment fragment), ``/area-options`` (picker fragment),
    ``/report`` (full HTML report), ``/api/assessment``, ``/api/areas``, ``/api/inputs``,
    ``/api/wards.geojson``, ``/healthz`` and ``/static/*``.
    """
    st = store if isinstance(store, Store) else Store(store)
    dash = Dashboard(st, cache_size=cache_size, public=public, threshold=threshold, themes=themes)
    env = _environment()
    env.globals["store_notice"] = st.notice  # the page footer: a synthetic store (the demo) credits no real source
    app = FastAPI(title="crimeassess dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.dashboard = dash
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    app.add_middleware(_SecurityHeaders)

    def html(name: str, status_code: int = 200, headers: dict[str, str] | None = None, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**ctx), status_code=status_code, headers=headers)

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/healthz"

    @app.exception_handler(CrimeAssessError)
    async def _library_error(request: Request, exc: CrimeAssessError) -> Response:
        status = int(getattr(exc, "http_status", 400) or 400)
        if is_api(request):
            return JSONResponse(_error_payload(exc), status_code=status)
        return html("error_page.html.j2", status, message=str(exc), status=status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        msg = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in exc.errors())
        if is_api(request):
            return JSONResponse({"error": msg}, status_code=400)
        return html("error_page.html.j2", 400, message=msg, status=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api(request):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)
        return html("error_page.html.j2", exc.status_code, message=str(exc.detail), status=exc.status_code)

    def query(area: str | None, period: str | None, compare: str | None = None, source: str | None = None,
              ward_vintage: str | None = None, placement: str | None = None, peers: str | None = None,
              exclude: str | None = None, *, fallback: Callable[[], str | None] | None = None) -> AssessQuery:
        a = _clean(area, "area")
        if not a:
            raise InputError("choose an area: a ward, local authority, community safety partnership or police "
                             "force area, by name or GSS code")
        p = _clean(period, "period") or (fallback or (lambda: default_period(st)))()
        if not p:
            raise PeriodError("give a period (e.g. 2018-03 or 2017/18): the store has no data to suggest one")
        s = _clean(source, "source")
        if s and s not in source_priority():
            raise InputError(f"unknown source {s!r}; choose from {', '.join(source_priority())}")
        pl = _clean(placement, "placement") or "auto"
        if pl not in PLACEMENTS:
            raise InputError(f"placement must be auto, lsoa or point, not {pl!r}")
        return AssessQuery(a, p, _clean(compare, "compare"), s, _clean(ward_vintage, "ward_vintage"), pl,
                           _clean(peers, "peers"), _clean(exclude, "exclude"))

    async def aquery(area: str | None, period: str | None, compare: str | None = None, source: str | None = None,
                     ward_vintage: str | None = None, placement: str | None = None, peers: str | None = None,
                     exclude: str | None = None) -> AssessQuery:
        """``query`` from the event loop: the default period (which reads the store) is computed in a thread."""
        fallback = None
        if not _clean(period, "period") and _clean(area, "area"):
            found = await dash.cached_async(dash.meta, ("default_period", dash.stamp()), lambda: default_period(st))
            fallback = lambda: found  # noqa: E731
        return query(area, period, compare, source, ward_vintage, placement, peers, exclude, fallback=fallback)

    def panel_html(q: AssessQuery) -> str:
        """The panel fragment's HTML (not cached here: see ``panel_key``)."""
        t = time.perf_counter()
        res = dash.assessment(q)
        text = env.get_template("panel.html.j2").render(**_panel_context(dash, q, res))
        dash.timings["last_panel_ms"] = round((time.perf_counter() - t) * 1000, 1)
        return text

    def panel_key(q: AssessQuery) -> tuple[Any, ...]:
        return ("panel", q, dash.stamp())

    def panel_error(q: AssessQuery, exc: CrimeAssessError) -> tuple[str, int]:
        """The error fragment and status for a library error met while assessing ``q``."""
        status = int(getattr(exc, "http_status", 400) or 400)
        suggestions = exc.suggestions if isinstance(exc, AreaNotFoundError) else []
        links = [(s, AssessQuery(**{**asdict(q), "area": s}).qs()) for s in suggestions]
        message = str(exc)
        if links and "; did you mean" in message:  # the links below say it
            message = message.split("; did you mean")[0] + "."
        return env.get_template("error.html.j2").render(message=message, status=status, suggestions=links), status

    def panel_response(q: AssessQuery) -> tuple[str, int]:
        """The panel fragment's HTML and status (an error fragment for a library error), from a worker thread."""
        try:
            return dash._cached(dash.pages, panel_key(q), lambda: panel_html(q)), 200
        except CrimeAssessError as exc:
            return panel_error(q, exc)

    async def panel_response_async(q: AssessQuery) -> tuple[Body, int]:
        """The panel's body (UTF-8, and gzipped once) and status, from the event loop: a cached panel at once,
        else one computation in a thread; an error fragment for a library error."""
        key = panel_key(q)
        try:
            return await dash.cached_async(dash.bodies, ("panel-body", *key[1:]),
                                           lambda: Body.of(dash._cached(dash.pages, key, lambda: panel_html(q))
                                                           .encode("utf-8"))), 200
        except CrimeAssessError as exc:
            text, status = panel_error(q, exc)
            return Body(text.encode("utf-8")), status

    def page_context(q: AssessQuery | None, raw: dict[str, str | None]) -> dict[str, Any]:
        vintages = ward_vintages(st) if st.exists() else []
        inputs = st.inputs(live_only=True) if st.exists() else []
        months = store_months(st)
        options = dash.area_options() if dash.catalogue() else []
        return {
            "store_path": st.path.name if public else str(st.path),
            "store_exists": st.exists(),
            "n_inputs": len(inputs),
            "forces": _force_names(inputs),
            "months": months,
            "has_geography": bool(dash.catalogue()),
            "area_options": options,
            # busiest first, each linked to the latest period its own data covers (not another force's)
            "quick_areas": [{**o, "period": dash.default_period_for([o["code"]]) or default_period(st) or ""}
                            for o in options if o["level"] == "lad"][:8],
            "period_options": period_suggestions(st),
            "default_period": default_period(st) or "",
            "period_hint": period_examples(months),
            "vintages": vintages,
            "form": {k: (v or "") for k, v in raw.items()},
            "q": q,
        }

    # ---- HTML ---------------------------------------------------------------------------------------
    def index_page(raw: dict[str, str | None]) -> tuple[str, int]:
        """The dashboard page's HTML and status (run in a worker thread: it reads the store)."""
        panel, status, q = None, 200, None
        if raw["area"] and raw["area"].strip():
            try:
                q = query(*(raw[k] for k in ("area", "period", "compare", "source", "ward_vintage", "placement",
                                             "peers", "exclude")))
            except CrimeAssessError as exc:
                status = int(getattr(exc, "http_status", 400) or 400)
                panel = env.get_template("error.html.j2").render(message=str(exc), status=status, suggestions=[])
            else:
                panel, status = panel_response(q)
        ctx = page_context(q, raw)
        if not ctx["form"]["period"]:
            ctx["form"]["period"] = ctx["default_period"]
        return env.get_template("index.html.j2").render(panel=panel, **ctx), status

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request, area: str | None = None, period: str | None = None, compare: str | None = None,
                    source: str | None = None, ward_vintage: str | None = None, placement: str | None = None,
                    peers: str | None = None, exclude: str | None = None) -> Response:
        """The dashboard page; with ``area`` the assessment panel is rendered in place (linkable views). A page
        answered 200 is cached per (parameters, store state) and sent from the event loop."""
        raw = {"area": area, "period": period, "compare": compare, "source": source,
               "ward_vintage": ward_vintage, "placement": placement, "peers": peers, "exclude": exclude}
        key = ("index", tuple(raw.items()), dash.stamp())
        found, body = dash.pages.get(key)
        status = 200
        if not found:
            text, status = await run_in_threadpool(index_page, raw)
            body = Body.of(text.encode("utf-8"))
            if status == 200:
                dash.pages.put(key, body)
        response = body.response(request, "text/html")
        response.status_code = status
        return response

    @app.get("/panel", response_class=HTMLResponse)
    async def panel(request: Request, area: str | None = None, period: str | None = None, compare: str | None = None,
                    source: str | None = None, ward_vintage: str | None = None, placement: str | None = None,
                    peers: str | None = None, exclude: str | None = None) -> Response:
        """The assessment panel (HTML fragment for htmx). Sets HX-Push-Url so the browser shows a linkable URL."""
        try:
            q = await aquery(area, period, compare, source, ward_vintage, placement, peers, exclude)
        except CrimeAssessError as exc:
            status = int(getattr(exc, "http_status", 400) or 400)
            text = env.get_template("error.html.j2").render(message=str(exc), status=status, suggestions=[])
            return HTMLResponse(text, status_code=status, headers={"HX-Push-Url": "false"})
        body, status = await panel_response_async(q)
        response = body.response(request, "text/html")
        response.status_code = status
        response.headers["HX-Push-Url"] = "/?" + q.qs()
        return response

    @app.get("/area-options", response_class=HTMLResponse)
    def area_options_fragment(area: str | None = None) -> Response:
        """<option> elements for the area picker's datalist, matching what has been typed."""
        q = _clean(area, "area")
        opts = dash.area_options(q if q and len(q) >= 2 else None) if dash.catalogue() else []
        return html("area_options.html.j2", area_options=opts)

    @app.get("/report", response_class=HTMLResponse)
    async def report(area: str | None = None, period: str | None = None, compare: str | None = None,
                     source: str | None = None, ward_vintage: str | None = None, placement: str | None = None,
                     download: str | None = None, peers: str | None = None, exclude: str | None = None) -> Response:
        """The full self-contained HTML report (``render_html``); ``download=1`` saves it as a file."""
        q = await aquery(area, period, compare, source, ward_vintage, placement, peers, exclude)

        def build() -> tuple[str, str]:
            res = dash.assessment(q)
            a = res.to_dict()
            name = f"crimeassess-{_slug(a['area']['name'] or a['area']['code'])}-{_slug(a['period']['label'])}.html"
            return render_html(a, wards_geo=res.ward_geometry), name

        text, name = await dash.cached_async(dash.pages, ("report", q, dash.stamp()), build)
        disposition = "attachment" if download not in (None, "", "0", "false") else "inline"
        return HTMLResponse(text, headers={"Content-Disposition": f'{disposition}; filename="{name}"',
                                           "Content-Security-Policy": REPORT_CSP})

    # ---- JSON: bodies serialised once per (store state, parameters) and sent from the cache ----------
    @app.get("/api/assessment")
    async def api_assessment(request: Request, area: str | None = None, period: str | None = None, compare: str | None = None,
                             source: str | None = None, ward_vintage: str | None = None,
                             placement: str | None = None, peers: str | None = None,
                             exclude: str | None = None) -> Response:
        """The assessment JSON, exactly ``Assessment.to_dict()`` (docs/assessment-schema.md)."""
        q = await aquery(area, period, compare, source, ward_vintage, placement, peers, exclude)
        body = await dash.cached_async(dash.bodies, ("assessment", q, dash.stamp()),
                                       lambda: Body.of(json_body(dash.assessment(q).to_dict())))
        return body.response(request, "application/json")

    @app.get("/api/areas")
    async def api_areas(request: Request, level: str | None = None, q: str | None = None) -> Response:
        """Every known area as {level, code, name, lad_code}: local authorities first, then CSPs, force areas,
        wards. ``level`` and ``q`` (substring of name or code) filter."""
        lv = _clean(level, "level")
        if lv and lv not in LEVEL_ORDER:
            raise InputError(f"level must be one of {', '.join(LEVEL_ORDER)}, not {lv!r}")
        text = (_clean(q, "q") or "").lower()

        def build() -> Body:
            rows = [r for r in dash.catalogue()
                    if (not lv or r[0] == lv) and (not text or text in (r[2] or "").lower() or text in r[1].lower())]
            rows.sort(key=lambda r: (LEVEL_ORDER.get(r[0], 9), r[2] or "", r[1], r[3]))
            return Body.of(json_body([{"level": r[0], "code": r[1], "name": r[2], "lad_code": r[3]} for r in rows]))

        body = await dash.cached_async(dash.bodies, ("areas", lv, text, dash.stamp()), build)
        return body.response(request, "application/json")

    @app.get("/api/inputs")
    async def api_inputs(request: Request) -> Response:
        """The store manifest's input entries, live or superseded (read-only). Paths are shown as file names
        (a zip member as 'archive.zip!member'), never as absolute paths on the server."""
        body = await dash.cached_async(dash.bodies, ("inputs", dash.stamp()),
                                       lambda: Body.of(json_body([_public_input(i) for i in st.inputs()])))
        return body.response(request, "application/json")

    @app.get("/api/wards.geojson")
    async def api_wards_geojson(request: Request, area: str | None = None, period: str | None = None, compare: str | None = None,
                                source: str | None = None, ward_vintage: str | None = None,
                                placement: str | None = None) -> Response:
        """Ward polygons (WGS84) with the assessment's ward figures as properties."""
        q = await aquery(area, period, compare, source, ward_vintage, placement)

        def build() -> Body | str:
            res = dash.assessment(q)
            if res.ward_geometry is None or not len(res.ward_geometry):
                # the area's name, cached like a body: no boundaries is no error of the moment (a new store stamp,
                # as loading them gives, asks again); uncached, every request ran in a thread (p99 195 ms)
                return str(res.to_dict()["area"]["name"])
            return Body.of(json.dumps(wards_feature_collection(res, to_wgs84), ensure_ascii=False).encode("utf-8"))

        body = await dash.cached_async(dash.bodies, ("wards.geojson", q, dash.stamp()), build)
        if isinstance(body, str):
            raise GeographyError(f"no ward boundaries are loaded for {body}; load them with `crimeassess geography load`")
        return body.response(request, "application/geo+json")

    @app.get("/healthz")
    async def healthz() -> Response:
        """Liveness and a summary of the store and caches."""
        n_inputs = await dash.cached_async(dash.meta, ("n_inputs", dash.stamp()),
                                           lambda: len(st.inputs()) if st.exists() else 0)
        return JSONResponse({
            "status": "ok", "store": st.path.name, "store_exists": st.exists(), "public": public,
            "inputs": n_inputs,
            "cache": {"assessments": len(dash.assessments), "hits": dash.assessments.hits,
                      "misses": dash.assessments.misses, "bodies": len(dash.bodies), "computations": dash.builds},
            "timings": dash.timings,
        })

    return app


WARD_PROPERTIES = ("code", "name", "rank", "current", "previous", "change", "pct_change", "rate_per_1000",
                   "population", "p_value", "p_adjusted", "z", "significant", "small_numbers")


def wards_feature_collection(res: Assessment, to_wgs84: Callable[[Any], Any]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the assessment's ward polygons (WGS84) with its ward figures."""
    a = res.to_dict()
    by_code = {w["code"]: w for w in a.get("wards", [])}
    gdf = to_wgs84(res.ward_geometry)
    feats = []
    for code, name, geom in zip(gdf["code"], gdf["name"], gdf.geometry):
        w = by_code.get(code, {})
        props = {k: w.get(k) for k in WARD_PROPERTIES}
        props["code"], props["name"] = code, w.get("name") or name
        run = w.get("run") or {}
        props["run_direction"], props["run_length"] = run.get("direction"), run.get("length")
        feats.append({"type": "Feature", "id": code, "properties": props, "geometry": mapping(geom)})
    return {"type": "FeatureCollection",
            "name": f"{a['area']['name']} wards, {a['period']['label']} vs {a['compare']['label']}",
            "area": a["area"], "period": a["period"], "compare": a["compare"], "features": feats}


def _public_input(entry: dict[str, Any]) -> dict[str, Any]:
    """A manifest input entry with every path shown as a file name."""
    e = {**entry, "path": display_name(entry.get("path"))}
    if isinstance(e.get("supersedes"), list):
        e["supersedes"] = [{**x, "path": display_name(x.get("path"))} if isinstance(x, dict) else x
                           for x in e["supersedes"]]
    return e


def display_name(path: Any) -> Any:
    """A stored input path as shown publicly: the file name, or 'archive.zip!member/name' for a zip member."""
    if not isinstance(path, str):
        return path
    outer, sep, member = path.partition("!")
    return Path(outer).name + (sep + member if sep else "")


def serve(store: Store | str | Path | None = None, host: str = "127.0.0.1", port: int = 8000, *,
          log_level: str = "info", public: bool = False, threshold: int | None = None,
          themes: list[Path] | None = None) -> None:
    """Run the dashboard with uvicorn until interrupted (binds to localhost by default)."""
    uvicorn.run(create_app(store, public=public, threshold=threshold, themes=themes), host=host, port=port,
                log_level=log_level)

