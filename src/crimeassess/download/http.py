"""A small resumable, retrying HTTP fetcher on top of httpx.

Files are streamed into ``<name>.part`` and renamed into place only when complete. A retry after a dropped
connection resumes with an HTTP ``Range`` request; if the server ignores Range (answers 200) the ``.part``
file is restarted cleanly. Completeness is checked against Content-Length / Content-Range, and the sha256
is computed while streaming.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
import httpx

from ..errors import DownloadError

USER_AGENT = "crimeassess (+https://github.com/; community safety strategic assessment tool)"
#: Statuses worth retrying: server-side trouble and rate limiting.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report. ``unit`` is 'bytes' for file downloads and 'requests' for API queries."""

    task: str  # what is being fetched, e.g. '2017-04-hampshire-street.csv'
    done: int
    total: int | None  # None when the server does not say
    unit: str = "bytes"


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class FetchResult:
    """A file fetched completely: where it is, its sha256, its size, and how much came over the wire."""

    path: Path
    sha256: str
    size: int
    transferred: int  # bytes received in this call (less than size after a resume)
    resumed: bool


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(self, message: str, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _parse_content_range(value: str | None) -> tuple[int, int | None] | None:
    """'bytes 100-199/200' -> (100, 200); None when absent or malformed."""
    if not value:
        return None
    m = _CONTENT_RANGE.match(value.strip())
    if not m:
        return None
    total = None if m.group(3) == "*" else int(m.group(3))
    return int(m.group(1)), total


def sha256_file(path: Path) -> str:
    """sha256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class HttpClient:
    """httpx client with timeouts, bounded retries, exponential backoff and resumable file downloads.

    ``sleep`` is injectable so tests never wait; ``transport`` lets tests plug in an httpx transport.
    """

    def __init__(
        self,
        *,
        timeout: float = 60.0,
        attempts: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.requests_sent = 0
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)),
            follow_redirects=True,
            # identity: the bytes on disk must be the publisher's bytes, and Content-Length must match them
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
            transport=transport,
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._client.close()

    # -- helpers -------------------------------------------------------------------------------------------
    def _delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), self.max_backoff)
        return min(self.backoff * (2 ** (attempt - 1)), self.max_backoff)

    def _wait(self, attempt: int, retry_after: str | None = None) -> None:
        if attempt < self.attempts:
            self.sleep(self._delay(attempt, retry_after))

    @staticmethod
    def _fail(url: str, why: str) -> DownloadError:
        return DownloadError(f"{url}: {why}")

    # -- plain requests ------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        passthrough: frozenset[int] | set[int] = frozenset({404}),
    ) -> httpx.Response:
        """Send a request, retrying transport errors and retryable statuses not in ``passthrough``.

        Returns the (fully read) response for 2xx and for statuses in ``passthrough``; raises DownloadError
        for any other 4xx at once, and after ``attempts`` tries for persistent trouble.
        """
        last = "no attempt made"
        for attempt in range(1, self.attempts + 1):
            try:
                self.requests_sent += 1
                resp = self._client.request(method, url, params=params, data=data)
            except httpx.TransportError as exc:
                last = describe(exc)
                self._wait(attempt)
                continue
            if resp.status_code < 300 or resp.status_code in passthrough:
                return resp
            if resp.status_code in RETRY_STATUSES:
                last = f"HTTP {resp.status_code} {resp.reason_phrase}"
                self._wait(attempt, resp.headers.get("Retry-After"))
                continue
            raise self._fail(url, f"HTTP {resp.status_code} {resp.reason_phrase}")
        raise self._fail(url, f"gave up after {self.attempts} attempts ({last})")

    def exists(self, url: str) -> bool:
        """True if the URL answers 2xx to HEAD, False on 404/410; other failures raise DownloadError."""
        resp = self.request("HEAD", url, passthrough={404, 405, 410})
        if resp.status_code == 405:  # HEAD not allowed: open a GET for the first byte and close it unread
            try:
                self.requests_sent += 1
                with self._client.stream("GET", url, headers={"Range": "bytes=0-0"}) as r:
                    status = r.status_code
            except httpx.TransportError as exc:
                raise self._fail(url, describe(exc)) from None
            if status in (404, 410):
                return False
            if status >= 400:
                raise self._fail(url, f"HTTP {status}")
            return True
        return resp.status_code < 300

    # -- resumable file download ---------------------------------------------------------------------------
    def fetch_file(
        self,
        url: str,
        path: Path,
        *,
        progress: ProgressCallback | None = None,
        task: str | None = None,
        expected_sha256: str | None = None,
    ) -> FetchResult | None:
        """Download ``url`` to ``path`` (via ``path.part``, resuming it if present). None if the URL is 404/410.

        Raises DownloadError naming the URL on a non-retryable 4xx, a checksum mismatch, or persistent failure.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        task = task or path.name
        last = "no attempt made"
        received = [0]  # bytes over the wire across attempts (updated while streaming)
        resumed = False
        for attempt in range(1, self.attempts + 1):
            offset = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            try:
                outcome = self._stream_once(url, part, offset, headers, progress, task, received)
            except httpx.TransportError as exc:
                last = describe(exc)
                self._wait(attempt)
                continue
            except _Retry as exc:
                last = str(exc)
                self._wait(attempt, exc.retry_after)
                continue
            if outcome is None:
                part.unlink(missing_ok=True)
                return None
            digest, size, was_resumed = outcome
            resumed = resumed or was_resumed
            if expected_sha256 and digest != expected_sha256.lower():
                part.unlink(missing_ok=True)
                raise self._fail(url, f"checksum mismatch (sha256 {digest}, expected {expected_sha256})")
            os.replace(part, path)
            return FetchResult(path=path, sha256=digest, size=size, transferred=received[0], resumed=resumed)
        raise self._fail(url, f"gave up after {self.attempts} attempts ({last})")

    def _stream_once(
        self,
        url: str,
        part: Path,
        offset: int,
        headers: dict[str, str],
        progress: ProgressCallback | None,
        task: str,
        received: list[int],
    ) -> tuple[str, int, bool] | None:
        """One GET attempt into ``part``. Returns (sha256, size, resumed), or None for 404/410."""
        self.requests_sent += 1
        with self._client.stream("GET", url, headers=headers) as resp:
            status = resp.status_code
            if status in (404, 410):
                return None
            if status == 416 and offset:
                # our .part is not a prefix the server can continue (e.g. the file shrank): start again
                part.unlink(missing_ok=True)
                raise _Retry("HTTP 416 on resume; restarting from the beginning")
            if status in RETRY_STATUSES:
                raise _Retry(f"HTTP {status} {resp.reason_phrase}", resp.headers.get("Retry-After"))
            if status >= 400:
                raise self._fail(url, f"HTTP {status} {resp.reason_phrase}")
            hasher = hashlib.sha256()
            total: int | None
            if status == 206 and offset:
                cr = _parse_content_range(resp.headers.get("Content-Range"))
                if cr is None or cr[0] != offset:
                    part.unlink(missing_ok=True)
                    raise _Retry(f"server answered Range bytes={offset}- with {resp.headers.get('Content-Range')!r}")
                total = cr[1]
                with open(part, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        hasher.update(block)
                mode, done, resumed = "ab", offset, True
            elif status == 206:
                part.unlink(missing_ok=True)
                raise _Retry("server sent a partial response to a full request")
            else:
                # 200: the server ignored Range (or none was sent): restart the .part cleanly
                cl = resp.headers.get("Content-Length")
                total = int(cl) if cl and cl.isdigit() else None
                mode, done, resumed = "wb", 0, False
            if progress:
                progress(ProgressEvent(task, done, total))
            with open(part, mode) as f:
                for chunk in resp.iter_raw():  # no chunk_size: a sized chunker would lose its buffer on a drop
                    f.write(chunk)
                    hasher.update(chunk)
                    done += len(chunk)
                    received[0] += len(chunk)
                    if progress:
                        progress(ProgressEvent(task, done, total))
        size = part.stat().st_size
        if total is not None and size != total:
            if size > total:
                part.unlink(missing_ok=True)
            raise _Retry(f"incomplete: got {size} of {total} bytes")
        return hasher.hexdigest(), size, resumed


def describe(exc: BaseException) -> str:
    """Short printable form of an exception for error messages."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@contextlib.contextmanager
def client_scope(client: HttpClient | None) -> Iterator[HttpClient]:
    """Use the caller's client, or make (and close) a default one."""
    if client is not None:
        yield client
        return
    with HttpClient() as own:
        yield own
