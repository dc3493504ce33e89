"""police.uk street-level crimes by custom area (ward polygons), via ``<api>/crimes-street/all-crime``.

One request per polygon part and month: ``poly=lat,lng:lat,lng:...&date=YYYY-MM``, sent as GET, or as a
POST form body when the URL would exceed police.uk's 4,094-character GET limit. police.uk answers HTTP 503
when an area holds more than 10,000 crimes; the polygon is then split in two by halving its bounding box
(along the longer side) and each half is queried, recursively, de-duplicating crimes by ``id``.
Requests are paced by a token bucket (police.uk publishes 15 requests/s with bursts of 30).

Each part's crimes are saved as ``<dest>/area_<code>_<n>.json`` (a JSON list of police.uk crime objects),
``n`` being the part index of a MultiPolygon (0 for a plain Polygon).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shapely.geometry import GeometryCollection, MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from ..errors import DownloadError, InputError
from .config import join_url, resolve_base
from .http import HttpClient, ProgressCallback, ProgressEvent, client_scope
from .manifest import DownloadResult, Manifest, prepare_dest
from .policeuk import parse_month
from .ratelimit import TokenBucket

#: police.uk answers 400 to GET URLs longer than 4,094 characters; stay safely below.
MAX_GET_URL = 4000
DEFAULT_MAX_VERTICES = 100
#: Maximum number of bbox halvings of one polygon part (2**6 = 64 pieces) before giving up on 503s.
DEFAULT_MAX_DEPTH = 6

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


# -- geometry helpers -------------------------------------------------------------------------------------
def polygon_parts(geom: BaseGeometry, code: str) -> list[Polygon]:
    """The polygons of a Polygon/MultiPolygon (or a collection holding them); InputError for anything else."""
    if geom is None or geom.is_empty:
        raise InputError(f"area {code}: empty geometry")
    if isinstance(geom, Polygon):
        parts = [geom]
    elif isinstance(geom, MultiPolygon):
        parts = list(geom.geoms)
    elif isinstance(geom, GeometryCollection):
        parts = [g for g in geom.geoms if isinstance(g, Polygon)]
        parts += [p for g in geom.geoms if isinstance(g, MultiPolygon) for p in g.geoms]
    else:
        raise InputError(f"area {code}: expected a polygon, got {geom.geom_type}")
    parts = [p for p in parts if not p.is_empty and p.area > 0]
    if not parts:
        raise InputError(f"area {code}: no polygon with a positive area")
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise InputError(
            f"area {code}: coordinates are not WGS84 degrees (bounds {geom.bounds}); reproject to EPSG:4326"
        )
    return parts


def simplify_part(poly: Polygon, max_vertices: int = DEFAULT_MAX_VERTICES) -> Polygon:
    """The polygon's outer ring (holes dropped: the API cannot express them), simplified to <= max_vertices."""
    if max_vertices < 4:
        raise InputError(f"max_vertices must be at least 4, got {max_vertices}")
    outer = Polygon(poly.exterior)
    if len(outer.exterior.coords) - 1 <= max_vertices:
        return outer
    minx, miny, maxx, maxy = outer.bounds
    tol = max(maxx - minx, maxy - miny) / 2000
    for _ in range(40):  # tolerance grows 1.4x per step: covers 6 orders of magnitude
        s = outer.simplify(tol, preserve_topology=True)
        if isinstance(s, Polygon) and not s.is_empty and len(s.exterior.coords) - 1 <= max_vertices:
            return s
        tol *= 1.4
    return Polygon(box(*outer.bounds).exterior)


def poly_param(poly: Polygon) -> str:
    """police.uk poly parameter: 'lat,lng:lat,lng:...' (outer ring, closing point omitted, 6 decimals)."""
    coords = list(poly.exterior.coords)[:-1]
    return ":".join(f"{lat:.6f},{lng:.6f}" for lng, lat in coords)


def split_in_two(poly: Polygon) -> list[Polygon]:
    """Halve the bounding box along its longer side; return the polygon pieces inside each half."""
    minx, miny, maxx, maxy = poly.bounds
    if (maxx - minx) >= (maxy - miny):
        mid = (minx + maxx) / 2
        halves = [box(minx, miny, mid, maxy), box(mid, miny, maxx, maxy)]
    else:
        mid = (miny + maxy) / 2
        halves = [box(minx, miny, maxx, mid), box(minx, mid, maxx, maxy)]
    pieces: list[Polygon] = []
    for h in halves:
        g = poly.intersection(h)
        if isinstance(g, Polygon):
            cand = [g]
        elif isinstance(g, (MultiPolygon, GeometryCollection)):
            cand = [p for p in g.geoms if isinstance(p, Polygon)]
        else:
            cand = []
        pieces += [Polygon(p.exterior) for p in cand if not p.is_empty and p.area > 0]
    return pieces


def polygons_from_frame(frame: Any, code_column: str) -> dict[str, BaseGeometry]:
    """{code: WGS84 geometry} from a GeoDataFrame (reprojected to EPSG:4326; rows sharing a code are unioned)."""
    if code_column not in frame.columns:
        raise InputError(f"no column {code_column!r} in the boundaries (columns: {', '.join(map(str, frame.columns))})")
    if frame.crs is None:
        raise InputError("the boundaries have no coordinate reference system; cannot convert to WGS84")
    wgs = frame.to_crs(4326)
    out: dict[str, BaseGeometry] = {}
    for code, geom in zip(wgs[code_column], wgs.geometry):
        key = str(code)
        out[key] = geom if key not in out else out[key].union(geom)
    return out


# -- download ---------------------------------------------------------------------------------------------
class _PartQuery:
    """Query one polygon part, splitting on 503 and de-duplicating by id."""

    def __init__(self, http: HttpClient, url: str, month: str, limiter: TokenBucket,
                 max_depth: int, max_get_url: int, label: str) -> None:
        self.http, self.url, self.month, self.limiter = http, url, month, limiter
        self.max_depth, self.max_get_url, self.label = max_depth, max_get_url, label
        self.requests = 0
        self.received = 0  # response body bytes
        self.pieces = 0
        self.not_found = False

    def run(self, poly: Polygon) -> list[dict[str, Any]]:
        seen: set[Any] = set()
        out: list[dict[str, Any]] = []
        stack: list[tuple[Polygon, int]] = [(poly, 0)]
        # bounded: every polygon is split at most max_depth times
        while stack:
            piece, depth = stack.pop()
            items = self._one(piece)
            if items is None:  # 503: too many crimes in this piece
                if depth >= self.max_depth:
                    raise DownloadError(
                        f"{self.url}: {self.label} still answers HTTP 503 (over 10,000 crimes, or the API is "
                        f"unavailable) after splitting the polygon {self.max_depth} times"
                    )
                stack.extend((p, depth + 1) for p in reversed(split_in_two(piece)))
                continue
            if self.not_found:
                return []
            self.pieces += 1
            for it in items:
                key = it.get("id") if isinstance(it, dict) and it.get("id") is not None else json.dumps(it, sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    out.append(it)
        return out

    def _one(self, piece: Polygon) -> list[dict[str, Any]] | None:
        poly = poly_param(piece)
        params = {"poly": poly, "date": self.month}
        long = len(self.url) + len(poly) + 30 > self.max_get_url
        self.limiter.acquire()
        self.requests += 1
        if long:
            resp = self.http.request("POST", self.url, data=params, passthrough={404, 503})
        else:
            resp = self.http.request("GET", self.url, params=params, passthrough={404, 503})
        self.received += len(resp.content)
        if resp.status_code == 503:
            return None
        if resp.status_code == 404:
            self.not_found = True
            return []
        try:
            items = resp.json()
        except ValueError:
            raise DownloadError(f"{self.url}: {self.label}: the API answered with something other than JSON") from None
        if not isinstance(items, list):
            raise DownloadError(f"{self.url}: {self.label}: expected a JSON list of crimes, got {type(items).__name__}")
        return items


def _write_json(path: Path, items: list[dict[str, Any]]) -> tuple[str, int]:
    body = json.dumps(items, ensure_ascii=False).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(body)
    os.replace(tmp, path)
    return hashlib.sha256(body).hexdigest(), len(body)


def download_police_uk_api(
    polygons: Mapping[str, BaseGeometry],
    month: str,
    dest: Path | str,
    *,
    api_url: str | None = None,
    rate: float = 15.0,
    burst: float | None = None,
    category: str = "all-crime",
    max_vertices: int = DEFAULT_MAX_VERTICES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_get_url: int = MAX_GET_URL,
    progress: ProgressCallback | None = None,
    client: HttpClient | None = None,
    limiter: TokenBucket | None = None,
) -> DownloadResult:
    """Fetch one month of police.uk street-level crimes for each area polygon, saving ``area_<code>_<n>.json``.

    ``polygons`` maps an area code (e.g. a ward code) to a WGS84 shapely Polygon/MultiPolygon. Each part is
    simplified to at most ``max_vertices`` vertices (holes dropped). Requests are paced at ``rate`` per
    second (``limiter`` overrides, e.g. with an injected clock). Parts the API answers 404 for are listed in
    ``result.missing`` as 'area_<code>_<n>'. A part already saved for the same month and polygon (per
    ``downloads.json``) is skipped. API base: ``api_url`` > $CRIMEASSESS_POLICEUK_API > https://data.police.uk/api.
    """
    parse_month(month)
    if not polygons:
        raise InputError("no area polygons given")
    if not re.match(r"^[a-z0-9-]+$", category):
        raise InputError(f"not a police.uk crime category slug: {category!r}")
    for code in polygons:
        if not _CODE.match(str(code)):
            raise InputError(f"area code {code!r} is not usable in a file name (letters, digits, '-', '_')")
    jobs: list[tuple[str, int, Polygon]] = []
    for code in sorted(polygons, key=str):
        for n, part in enumerate(polygon_parts(polygons[code], str(code))):
            jobs.append((str(code), n, simplify_part(part, max_vertices)))
    url = join_url(resolve_base("police-uk-api", api_url), f"crimes-street/{category}")
    dest = prepare_dest(dest)
    manifest = Manifest(dest)
    result = DownloadResult(dest=dest, manifest=manifest.path)
    bucket = limiter or TokenBucket(rate, burst)
    task = f"police.uk API {month}"
    with client_scope(client) as http:
        for i, (code, n, poly) in enumerate(jobs):
            if progress:
                progress(ProgressEvent(task, i, len(jobs), unit="polygons"))
            path = dest / f"area_{code}_{n}.json"
            poly_sha = hashlib.sha256(poly_param(poly).encode()).hexdigest()
            if manifest.verified(path, month=month, poly_sha256=poly_sha, category=category):
                result.files.append(path)
                result.skipped.append(path)
                continue
            label = f"area {code} part {n}"
            q = _PartQuery(http, url, month, bucket, max_depth, max_get_url, label)
            items = q.run(poly)
            result.bytes += q.received if q.not_found else 0
            if q.not_found:
                result.missing.append(f"area_{code}_{n}")
                continue
            sha, size = _write_json(path, items)
            result.bytes += q.received
            manifest.record(path, sha256=sha, size=size, url=url, month=month, category=category,
                            poly_sha256=poly_sha, area=code, part=n, crimes=len(items),
                            requests=q.requests, pieces=q.pieces)
            result.files.append(path)
        if progress:
            progress(ProgressEvent(task, len(jobs), len(jobs), unit="polygons"))
    return result
