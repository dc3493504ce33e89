"""A content-addressed cache of the report's charts, map and PDF, so a second report of the same data draws and
prints nothing.

Each chart function decorated with :func:`cached_chart` is keyed by a SHA-256 of its name, its arguments
(the data drawn, canonical JSON; ward polygons as WKB) and the chart code's version (the source of the modules
that draw and format charts, and matplotlib's version): the same data drawn by the same code gives the same
key, and any change to the data or the code gives a new one. The PDF is keyed by the HTML it is printed from
and WeasyPrint's version (:func:`cached_pdf`). Entries live under ``$CRIMEASSESS_CACHE_DIR`` (``off``
disables the cache), else ``$XDG_CACHE_HOME/crimeassess``, else ``~/.cache/crimeassess``: charts as small JSON
files in ``charts/``, PDFs in ``pdf/``. They are written atomically (temporary file + rename), an unreadable
entry is drawn again, and the folder is trimmed to :data:`MAX_BYTES` (least recently used first). A cache
that cannot be written is ignored: charts are then drawn every time.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

CACHE_ENV = "CRIMEASSESS_CACHE_DIR"
MAX_BYTES = 256 * 1024 * 1024  # the folder is trimmed (oldest used first) when it grows past this
_TRIM_EVERY = 64               # writes between size checks
_HERE = Path(__file__).resolve().parent
#: Modules whose code decides what a chart looks like: any edit to them changes every key.
CODE_FILES = (_HERE / "charts.py", _HERE / "wardmap.py", _HERE / "comparison.py", _HERE / "formatting.py",
              _HERE / "chartcache.py", _HERE.parent / "assess" / "present.py")

T = TypeVar("T")
_lock = threading.Lock()
_state: dict[str, Any] = {"version": None, "writes": 0, "hits": 0, "misses": 0}


def cache_root() -> Path | None:
    """The cache folder, or None when the cache is switched off (``CRIMEASSESS_CACHE_DIR=off``)."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none", "false") else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crimeassess"


def cache_dir(kind: str = "charts") -> Path | None:
    """The folder of one kind of entry (``charts`` or ``pdf``), or None when the cache is off."""
    root = cache_root()
    return None if root is None else root / kind


def code_version() -> str:
    """A hash of the chart code (CODE_FILES) and matplotlib's version."""
    with _lock:
        if _state["version"] is None:
            import matplotlib

            h = hashlib.sha256(matplotlib.__version__.encode())
            for f in CODE_FILES:
                h.update(f.name.encode())
                try:
                    h.update(f.read_bytes())
                except OSError:
                    h.update(b"?")
            _state["version"] = h.hexdigest()
        return str(_state["version"])


def _canonical(value: Any) -> Any:
    """JSON-able stand-in for an argument: ward polygons by their codes, names, CRS and WKB."""
    # geopandas not imported (or still importing in another thread): no argument can be a GeoDataFrame yet
    gdf = getattr(sys.modules.get("geopandas"), "GeoDataFrame", None)
    if gdf is not None and isinstance(value, gdf):
        cols = sorted(str(c) for c in value.columns if c != value.geometry.name)
        return {"__geodataframe__": [
            cols, [[str(v) for v in value[c].tolist()] for c in cols],
            str(value.crs), [hashlib.sha256(w).hexdigest() for w in value.geometry.to_wkb()]]}
    if isinstance(value, (set, frozenset)):
        return sorted(map(repr, value))
    return repr(value)


def chart_key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The cache key of one chart call."""
    payload = json.dumps([name, code_version(), list(args), kwargs], sort_keys=True, default=_canonical,
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def stats() -> dict[str, int]:
    """Hits, misses and writes of this process (for benchmarks)."""
    return {k: int(_state[k]) for k in ("hits", "misses", "writes")}


def _touch(path: Path) -> None:
    """Mark an entry recently used (trimmed last); a read-only cache is still read."""
    try:
        os.utime(path)
    except OSError:
        pass


def _trim(root: Path, limit: int = MAX_BYTES) -> None:
    """Remove the least recently used entries until the cache holds at most `limit` bytes."""
    try:
        files = [(p.stat(), p) for pattern in ("charts/*/*.json", "pdf/*/*.pdf") for p in root.glob(pattern)]
    except OSError:
        return
    total = sum(s.st_size for s, _ in files)
    for s, p in sorted(files, key=lambda x: x[0].st_mtime):
        if total <= limit:
            break
        try:
            p.unlink()
            total -= s.st_size
        except OSError:
            pass


def cached_chart(name: str, *, encode: Callable[[Any], Any] = lambda v: v,
                 decode: Callable[[Any], Any] = lambda v: v) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a chart function so its result is kept in the cache, keyed by its arguments and the code.

    ``encode``/``decode`` turn a result that is not JSON (a dataclass) into JSON and back. Errors raised by
    the function are never cached.
    """
    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> T:
            folder = cache_dir()
            if folder is None:
                return fn(*args, **kwargs)
            try:
                key = chart_key(name, args, kwargs)
            except (TypeError, ValueError):  # arguments that have no canonical form: draw, don't cache
                return fn(*args, **kwargs)
            path = folder / key[:2] / f"{key}.json"
            try:
                with open(path, encoding="utf-8") as fh:
                    value = decode(json.load(fh)["value"])
            except (OSError, ValueError, KeyError, TypeError):
                pass
            else:
                _touch(path)
                _state["hits"] += 1
                return value
            _state["misses"] += 1
            value = fn(*args, **kwargs)
            tmp = None
            try:
                text = json.dumps({"chart": name, "value": encode(value)}, ensure_ascii=False)
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.replace(tmp, path)
                tmp = None
                _state["writes"] += 1
                if _state["writes"] % _TRIM_EVERY == 0:
                    _trim(folder.parent)
            except (OSError, TypeError, ValueError):
                pass
            finally:
                if tmp is not None:
                    try:
                        os.unlink(tmp)
                    except OSError:
                        pass
            return value

        inner.uncached = fn  # type: ignore[attr-defined]
        return inner

    return wrap


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` by a temporary file and a rename, with an ordinary file's mode (as the umask says)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes it private; the report's PDF is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def pdf_entry(html: str) -> Path | None:
    """Where the PDF printed from `html` by this WeasyPrint is kept (None when the cache is off)."""
    folder = cache_dir("pdf")
    if folder is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        wp = version("weasyprint")
    except PackageNotFoundError:  # pragma: no cover - WeasyPrint is a dependency
        wp = "?"
    key = hashlib.sha256(f"weasyprint {wp}\n{code_version()}\n".encode() + html.encode("utf-8")).hexdigest()
    return folder / key[:2] / f"{key}.pdf"


def copy_cached_pdf(entry: Path, pdf_path: Path) -> bool:
    """Copy the cached PDF `entry` to `pdf_path`; False when there is none (or it cannot be read or copied)."""
    try:
        data = entry.read_bytes()
        if not data.startswith(b"%PDF-"):
            return False
        _write_atomic(Path(pdf_path), data)
    except OSError:
        return False
    _touch(entry)
    _state["hits"] += 1
    return True


def keep_pdf(entry: Path, pdf_path: Path) -> None:
    """Keep the PDF just printed at `pdf_path` as the cache's `entry` (silently not when it cannot be written)."""
    _state["misses"] += 1
    try:
        _write_atomic(entry, Path(pdf_path).read_bytes())
        _state["writes"] += 1
        if _state["writes"] % _TRIM_EVERY == 0:
            _trim(entry.parent.parent.parent)
    except OSError:
        pass


def cached_pdf(html: str, pdf_path: Path, print_pdf: Callable[[str, Path], Path]) -> Path:
    """Write the PDF of `html` to `pdf_path`: a copy of the cached PDF of the same HTML printed by the same
    WeasyPrint version, else ``print_pdf(html, pdf_path)`` (then kept in the cache)."""
    entry = pdf_entry(html)
    if entry is not None and copy_cached_pdf(entry, pdf_path):
        return Path(pdf_path)
    out = print_pdf(html, pdf_path)
    if entry is not None:
        keep_pdf(entry, out)
    return out
