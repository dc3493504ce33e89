"""A local HTTP server for download tests: serves a folder on 127.0.0.1 in the publishers' URL layout.

Hooks let a test inject failures per URL path: an HTTP error status for the next N requests, a connection
dropped after N body bytes, or Range requests ignored. A fake police.uk ``crimes-street`` API answers
``poly=`` queries (GET or POST) from a set of stored crime records, with HTTP 503 above a result cap.
Every request is logged (method, path, query, headers).
"""
from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import shapely
from shapely.geometry import Polygon


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)


class FakeCrimesApi:
    """Answers ``crimes-street/<category>?poly=...&date=...`` from stored police.uk crime objects."""

    def __init__(self, records: list[dict[str, Any]], months: set[str], cap: int = 10_000) -> None:
        self.records = records
        self.months = months
        self.cap = cap
        self.lng = np.array([float(r["location"]["longitude"]) for r in records])
        self.lat = np.array([float(r["location"]["latitude"]) for r in records])
        self.pad = 0.0  # > 0: also return crimes within this many degrees outside the polygon (overlaps)
        self.answers: list[int] = []  # status codes sent
        self.items_sent = 0

    @classmethod
    def from_folder(cls, folder: Path, cap: int = 10_000) -> FakeCrimesApi:
        """Union of every stored ``*.json`` list in a folder, de-duplicated by id."""
        seen: dict[Any, dict[str, Any]] = {}
        for f in sorted(folder.glob("*.json")):
            for r in json.loads(f.read_text(encoding="utf-8")):
                seen.setdefault(r["id"], r)
        records = list(seen.values())
        return cls(records, {r["month"] for r in records}, cap)

    def answer(self, params: dict[str, list[str]]) -> tuple[int, bytes]:
        poly = (params.get("poly") or [""])[0]
        date = (params.get("date") or [""])[0]
        try:
            pairs = [tuple(float(x) for x in p.split(",")) for p in poly.split(":")]
            ring = Polygon([(lng, lat) for lat, lng in pairs])
        except (ValueError, TypeError):
            self.answers.append(400)
            return 400, b'{"error": "bad poly"}'
        if date not in self.months:
            self.answers.append(404)
            return 404, b"Not found"
        inside = shapely.contains_xy(ring.buffer(self.pad) if self.pad else ring, self.lng, self.lat)
        if int(inside.sum()) > self.cap:
            self.answers.append(503)
            return 503, b""
        self.answers.append(200)
        self.items_sent += int(inside.sum())
        return 200, json.dumps([r for r, ok in zip(self.records, inside) if ok]).encode()


class _QuietServer(ThreadingHTTPServer):
    """Clients hanging up mid-response (as the drop tests make them) are expected, not errors to print."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class LocalServer:
    """Threaded HTTP server on 127.0.0.1 (ephemeral port) serving ``root`` plus ``extra`` files."""

    def __init__(self, root: Path, *, api: FakeCrimesApi | None = None, api_prefix: str = "/api") -> None:
        self.root = Path(root).resolve()
        self.extra: dict[str, Path] = {}
        self.api = api
        self.api_prefix = api_prefix.rstrip("/")
        self.log: list[Logged] = []
        self.fail: dict[str, list[int]] = {}  # path -> statuses for the next requests
        self.drop: dict[str, list[int]] = {}  # path -> body bytes to send before dropping, per request
        self.ignore_range: set[str] = set()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # hooks ------------------------------------------------------------------------------------------------
    def fail_next(self, path: str, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` requests for ``path`` with ``status``."""
        self.fail.setdefault(path, []).extend([status] * times)

    def drop_after(self, path: str, nbytes: int, times: int = 1) -> None:
        """On the next ``times`` GETs of ``path``, send the headers (full length) and nbytes, then hang up."""
        self.drop.setdefault(path, []).extend([nbytes] * times)

    def serve_file(self, path: str, file: Path) -> None:
        """Serve ``file`` at URL ``path`` (in addition to the root folder)."""
        self.extra[path] = Path(file)

    def requests_for(self, path: str, method: str | None = None) -> list[Logged]:
        return [r for r in self.log if r.path == path and (method is None or r.method == method)]

    # lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> LocalServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_HEAD(self) -> None:
                server._handle(self, "HEAD")

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # request handling -------------------------------------------------------------------------------------
    def _pop(self, table: dict[str, list[int]], path: str) -> int | None:
        with self._lock:
            queue = table.get(path)
            return queue.pop(0) if queue else None

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        form: dict[str, list[str]] = {}
        if method == "POST":
            n = int(h.headers.get("Content-Length") or 0)
            form = parse_qs(h.rfile.read(n).decode("utf-8"))
        with self._lock:
            self.log.append(Logged(method, path, query, {k.lower(): v for k, v in h.headers.items()}, form))
        status = self._pop(self.fail, path)
        if status is not None:
            return self._send(h, status, b"injected failure", method)
        if self.api and path.startswith(self.api_prefix + "/crimes-street/"):
            code, body = self.api.answer({**query, **form})
            return self._send(h, code, body, method, "application/json")
        file = self.extra.get(path) or self._resolve(path)
        if file is None:
            return self._send(h, 404, b"Not found", method)
        self._send_file(h, file, path, method)

    def _resolve(self, path: str) -> Path | None:
        p = (self.root / path.lstrip("/")).resolve()
        if not p.is_relative_to(self.root) or not p.is_file():
            return None
        return p

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, method: str,
              ctype: str = "text/plain") -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(body)

    def _send_file(self, h: BaseHTTPRequestHandler, file: Path, path: str, method: str) -> None:
        size = file.stat().st_size
        start = 0
        rng = h.headers.get("Range")
        partial = False
        if rng and path not in self.ignore_range and rng.startswith("bytes="):
            first, _, last = rng[6:].partition("-")
            start = int(first or 0)
            if start >= size:
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{size}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            end = min(int(last), size - 1) if last else size - 1
            partial = True
        else:
            end = size - 1
        length = end - start + 1
        h.send_response(206 if partial else 200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Accept-Ranges", "bytes")
        h.send_header("Content-Length", str(length))
        if partial:
            h.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        h.end_headers()
        if method == "HEAD":
            return
        cut = self._pop(self.drop, path) if method == "GET" else None
        with open(file, "rb") as f:
            f.seek(start)
            remaining = length if cut is None else min(cut, length)
            while remaining > 0:
                block = f.read(min(1 << 16, remaining))
                if not block:
                    break
                h.wfile.write(block)
                remaining -= len(block)
        if cut is not None:
            h.wfile.flush()
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
