"""The embedded store: Parquet files for records, a JSON manifest, DuckDB to query them.

Layout of a store folder::

    manifest.json                  every input and geography table ever loaded (written last, atomically)
    records/batch-<token>.parquet  canonical records (schema.RECORD_SCHEMA) of one commit batch, each input in
                                   its own row groups (manifest: records_file, records_row_groups); stores
                                   written before batches hold records/<input_id>.parquet, read the same way
    quarantine/batch-<token>.parquet  rows of a batch that could not be loaded: input, file, line, reason, raw
    geography/<kind>/<name>.parquet  lookups, boundaries (GeoParquet) and population tables
    .lock                          advisory lock held by the one writer (its process id and start time inside)

Crash safety: data files are written to a temporary name and renamed into place; the manifest is replaced
last, so a crash leaves at most orphan files that nothing reads. Revisions: police.uk republishes months, so
each input covers *slices* (source kind, scope, month); the latest input for a slice is live and earlier ones
are kept in the manifest as superseded. Queries read only live slices, so nothing is counted twice.
Writers are serialised by the lock (a second one waits, then gives up after $CRIMEASSESS_LOCK_TIMEOUT);
`check_store` verifies a store and `gc_store` removes orphan files.
"""
from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InputError, NoStoreError, StoreError
from .schema import QUARANTINE_SCHEMA, RECORD_SCHEMA
from .sql import create_table, list_literal

DEFAULT_STORE = "crimeassess-store"
DEFAULT_MEMORY_LIMIT = "2GB"
MANIFEST_VERSION = 1
#: Seconds a second writer waits for the store's lock before giving up ($CRIMEASSESS_LOCK_TIMEOUT).
DEFAULT_LOCK_TIMEOUT = 600.0


def parse_size(text: str) -> int:
    """'256MB', '1GiB', '500k' or a plain number of bytes -> bytes (binary multiples)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", str(text), flags=re.I)
    if not m:
        raise InputError(f"size {text!r} not understood; use bytes or a number with KB, MB or GB")
    return int(float(m.group(1)) * (1 << (10 * " kmgt".index(m.group(2).lower() or " "))))


#: Identifies RECORD_SCHEMA (written into each input's manifest entry): files that all have it are read without
#: DuckDB's union_by_name, which reads every file's footer each time a query binds the view.
RECORD_SCHEMA_ID = hashlib.sha1(RECORD_SCHEMA.to_string(show_schema_metadata=False).encode()).hexdigest()[:12]
#: The one source kind whose live slices are per file (API responses): its rows carry no force, and the same
#: crime can come in two responses.
API_KIND = "police-uk-api"


def _lock_timeout() -> float:
    v = os.environ.get("CRIMEASSESS_LOCK_TIMEOUT")
    if not v:
        return DEFAULT_LOCK_TIMEOUT
    try:
        return max(0.0, float(v))
    except ValueError:
        raise StoreError(f"CRIMEASSESS_LOCK_TIMEOUT={v!r} is not a number of seconds") from None


def _print_wait(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def resolve_store_path(path: str | os.PathLike | None = None) -> Path:
    """`--store DIR`, else $CRIMEASSESS_STORE, else ./crimeassess-store."""
    if path:
        return Path(path)
    env = os.environ.get("CRIMEASSESS_STORE")
    return Path(env) if env else Path(DEFAULT_STORE)


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Write through `write(temporary path)` beside `path`, fsync, then rename over `path` (the old file, or
    none, stays until the new one is complete)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file beside `path`, fsync, then rename over it."""
    _atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_parquet(path: Path, table: pa.Table) -> None:
    """Write a Parquet file under a temporary name, fsync, then rename into place."""
    _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


#: Rows per Parquet row group in a records file (an input larger than this spans several row groups).
ROW_GROUP_ROWS = 1 << 20
#: Columns worth dictionary-encoding (few distinct values); ids, points and line numbers are not.
DICT_COLUMNS = [n for n in RECORD_SCHEMA.names if n not in ("uid", "record_id", "longitude", "latitude", "line")]
#: zstd for the columns whose pages hold real bytes; the others (constant within an input, or all null for a
#: source) are a few bytes of dictionary indices per row group, where zstd's per-page cost buys nothing
#: (1M rows in 516 inputs: 1.66 -> 1.40 CPU seconds, 58.2 -> 58.1 MB).
ZSTD_COLUMNS = {"uid", "record_id", "longitude", "latitude", "location", "lsoa_code", "lsoa_name", "outcome", "line",
                "context", "category_id", "crime_type", "offence_code", "offence_description", "ward_code",
                "ward_name", "lad_code", "lad_name", "location_type", "occurred_time", "recorded_date"}
RECORD_COMPRESSION = {n: ("zstd" if n in ZSTD_COLUMNS else "none") for n in RECORD_SCHEMA.names}
#: Min/max statistics for every column but long unique texts, which no query narrows by range.
STATS_COLUMNS = [n for n in RECORD_SCHEMA.names if n not in ("uid", "record_id", "location", "lsoa_name")]
#: Columns a reader may give dictionary-encoded (policeuk_group: a handful of values per file). They are written
#: as dictionaries, so the Parquet writer does not hash every row's string again (with the strings they spare,
#: a tenth of a national ingest's CPU); the files carry no Arrow schema, so they read back as RECORD_SCHEMA.
DICT_WRITE = ("input_id", "source_kind", "force", "category_id", "crime_type")
WRITE_SCHEMA = pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), f.type)) if f.name in DICT_WRITE else f
                          for f in RECORD_SCHEMA])
_RECORD_WRITE = {"compression": RECORD_COMPRESSION, "use_dictionary": DICT_COLUMNS, "write_statistics": STATS_COLUMNS,
                 "store_schema": False}


def conform_records(t: pa.Table) -> pa.Table:
    """Records (RECORD_SCHEMA's columns, a few perhaps dictionary-encoded) as WRITE_SCHEMA, for writing."""
    cols = []
    for f in WRITE_SCHEMA:
        c = t.column(f.name)
        cols.append(c if c.type.equals(f.type) else c.cast(f.type))
    return pa.table(cols, schema=WRITE_SCHEMA)


def write_records(path: Path, tables: list[pa.Table]) -> list[tuple[int, int]]:
    """Write several inputs' records into one Parquet file (atomically), each input in its own row groups.

    Returns each table's row groups as (first, stop), read back from the file's own metadata.
    """
    def write(tmp: str) -> None:
        with pq.ParquetWriter(tmp, WRITE_SCHEMA, **_RECORD_WRITE) as w:
            for t in tables:
                if t.num_rows:
                    w.write_table(conform_records(t), row_group_size=ROW_GROUP_ROWS)
        meta = pq.ParquetFile(tmp).metadata
        sizes = [meta.row_group(k).num_rows for k in range(meta.num_row_groups)]
        k = 0
        for t in tables:
            first, got = k, 0
            while got < t.num_rows and k < len(sizes):
                got += sizes[k]
                k += 1
            if got != t.num_rows:
                raise StoreError(f"{path.name}: row groups do not match the inputs written ({got} != {t.num_rows})")
            out.append((first, k))
        if k != len(sizes):
            raise StoreError(f"{path.name}: {len(sizes) - k} row group(s) belong to no input")

    out: list[tuple[int, int]] = []
    _atomic_write(path, write)
    return out


class TempParquetWriter:
    """A Parquet file written piece by piece under a temporary name in `folder` (an orphan for `store gc` if the
    writer dies); `close()` fsyncs it for the caller to rename into place, `discard()` drops it."""

    def __init__(self, folder: Path, prefix: str, schema: pa.Schema, **options: Any) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".parquet.tmp", dir=folder)
        os.close(fd)
        self.path = Path(tmp)
        self._w: pq.ParquetWriter | None = pq.ParquetWriter(tmp, schema, **options)

    def close(self) -> Path:
        """Finish and fsync the file; returns its path."""
        if self._w is not None:
            self._w.close()
            self._w = None
            with open(self.path, "rb+") as fh:
                os.fsync(fh.fileno())
        return self.path

    def discard(self) -> None:
        """Drop the file (its content is not used)."""
        if self._w is not None:
            with contextlib.suppress(Exception):
                self._w.close()
            self._w = None
        with contextlib.suppress(OSError):
            self.path.unlink()


class RecordsWriter(TempParquetWriter):
    """One large input's records, written block by block into a temporary Parquet file in the store's records
    folder, for `Store.commit_inputs` to rename into place."""

    def __init__(self, store: "Store") -> None:
        super().__init__(store.path / "records", ".stream-", WRITE_SCHEMA, **_RECORD_WRITE)
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        """Append a block's records (its own row groups)."""
        if table.num_rows and self._w is not None:
            self._w.write_table(conform_records(table), row_group_size=ROW_GROUP_ROWS)
            self.rows += table.num_rows


def _pause_point(store_path: Path, point: str) -> None:
    """Test hook for crash-safety tests: with CRIMEASSESS_PAUSE_AT=<point>, announce and wait to be killed."""
    if os.environ.get("CRIMEASSESS_PAUSE_AT") == point:
        import time

        (store_path / f".paused-{point}").touch()
        time.sleep(120)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class NewInput:
    """An input ready to be committed to the store."""

    entry: dict[str, Any]  # manifest entry (without seq/live fields)
    records: pa.Table
    quarantine: list[dict]
    slice_keys: list[tuple[str, str, str]]  # (supersession key, scope value in records, month)
    records_path: Path | None = None  # records already written (RecordsWriter), committed alone; else `records`
    counts: pa.Table | None = None  # ReadResult.counts: the records' aggregate rows, when the reader gave them
    counts_path: Path | None = None  # with records_path: its aggregate, to name (aggregate.CountsWriter)


class Store:
    """A crimeassess store folder. Cheap to construct; nothing is created until something is written."""

    def __init__(self, path: str | os.PathLike | None = None, *, memory_limit: str | None = None,
                 lock_timeout: float | None = None, on_lock_wait: Callable[[str], None] | None = None) -> None:
        self.path = resolve_store_path(path)
        self._real = str(self.path.resolve())  # the folder's identity in state_key
        self.memory_limit = memory_limit or os.environ.get("CRIMEASSESS_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
        self.lock_timeout = lock_timeout
        self.on_lock_wait = on_lock_wait or _print_wait
        self._held = threading.local()
        #: (file stamp, manifest) as commit_inputs last saved it: reused while the file is still that one
        self._committed: tuple[tuple[int, int, int] | None, dict[str, Any]] | None = None

    # ---- manifest -------------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def require(self) -> "Store":
        """This store, or NoStoreError when nothing was ever written here (a mistyped --store)."""
        if not self.exists():
            raise NoStoreError(f"{self.path}: no store here (no manifest.json); ingest data first or give --store")
        return self

    def manifest(self) -> dict[str, Any]:
        """The manifest (an empty one for a store that does not exist yet). Read-only: writers use _read_manifest.

        An assessment asks for it many times, so it is parsed once per version of the file.
        """
        if not self.manifest_path.exists():
            return {"version": MANIFEST_VERSION, "inputs": [], "geography": []}
        return self.derived("manifest", self._read_manifest)

    def state_key(self) -> tuple[str, int, int, int]:
        """Identifies the store's state: every change (ingest, geography load, gc) rewrites the manifest last.
        Caches of what is derived from the store are keyed on it."""
        try:
            st = self.manifest_path.stat()
        except FileNotFoundError:
            return (self._real, 0, 0, 0)
        return (self._real, st.st_mtime_ns, st.st_size, st.st_ino)

    def derived(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, once per state of the store (:meth:`state_key`) in this process, shared by every Store
        of the same folder (each assessment opens its own): the manifest, the area catalogue, the live inputs.
        Callers treat the value as read-only, except a cache meant to be shared (comparisons' counts)."""
        key = (self.state_key(), name)
        with _DERIVED_LOCK:  # least recently used first: a hit moves to the end
            got = _DERIVED.pop(key, _MISSING)
            if got is not _MISSING:
                _DERIVED[key] = got
        if got is _MISSING:
            got = compute()
            with _DERIVED_LOCK:
                while len(_DERIVED) >= _DERIVED_MAX:
                    _DERIVED.pop(next(iter(_DERIVED)))
                _DERIVED[key] = got
        return got

    def _read_manifest(self) -> dict[str, Any]:
        """A fresh, private copy of the manifest from disk (for writers, under the lock)."""
        if not self.manifest_path.exists():
            return {"version": MANIFEST_VERSION, "inputs": [], "geography": []}
        try:
            m = json.loads(self.manifest_path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.manifest_path}: unreadable store manifest ({exc})") from None
        m.setdefault("inputs", [])
        m.setdefault("geography", [])
        return m

    def _save_manifest(self, m: dict[str, Any]) -> None:
        # compact: a national store's manifest is megabytes, written once per committed batch (indented, its
        # encoding took five times as long)
        atomic_write_bytes(self.manifest_path, json.dumps(m, separators=(",", ":")).encode("utf-8"))

    def _manifest_stamp(self) -> tuple[int, int, int] | None:
        try:
            s = self.manifest_path.stat()
        except OSError:
            return None
        return (s.st_ino, s.st_size, s.st_mtime_ns)

    @contextlib.contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the store's write lock. Re-entrant within one thread.

        A second writer says once that it is waiting (``on_lock_wait``, default stderr), then waits up to
        ``timeout`` seconds (else the store's ``lock_timeout``, else $CRIMEASSESS_LOCK_TIMEOUT, default 600)
        and raises StoreError naming the holder's process when the time is up.
        """
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        limit = timeout if timeout is not None else (self.lock_timeout if self.lock_timeout is not None else _lock_timeout())
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fh = open(self.path / ".lock", "a+")
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open the store for writing ({exc.strerror or exc})") from None
        with fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._lock_holder()
                self.on_lock_wait(f"waiting for another writer to finish with {self.path} ({holder}); "
                                  f"giving up after {limit:g}s")
                deadline = time.monotonic() + limit
                while True:
                    try:
                        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise StoreError(
                                f"{self.path}: the store is locked by another writer ({self._lock_holder()}); gave up "
                                f"after {limit:g}s (nothing was written; set CRIMEASSESS_LOCK_TIMEOUT to wait longer)"
                            ) from None
                        time.sleep(0.1)
            try:
                fh.seek(0)
                fh.truncate()
                fh.write(json.dumps({"pid": os.getpid(), "since": _now(), "argv": sys.argv[:3]}))
                fh.flush()
                self._held.depth = 1
                yield
            finally:
                self._held.depth = 0
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _lock_holder(self) -> str:
        try:
            info = json.loads((self.path / ".lock").read_text("utf-8") or "{}")
            return f"process {info.get('pid')} since {info.get('since')}"
        except (OSError, ValueError, AttributeError):
            return "process unknown"

    # ---- inputs ---------------------------------------------------------------------------------------
    def inputs(self, *, live_only: bool = False) -> list[dict[str, Any]]:
        """Manifest entries of ingested inputs, oldest first."""
        ins = self.manifest()["inputs"]
        return [i for i in ins if i.get("live")] if live_only else ins

    def has_input(self, input_id: str) -> bool:
        return any(i["input_id"] == input_id for i in self.manifest()["inputs"])

    def commit_inputs(self, new: list[NewInput], *, locked: bool = False) -> list[dict[str, Any]]:
        """Write new inputs' records as one Parquet file (each input its own row groups) and their quarantined
        rows as one more, then the manifest (last). Returns their final manifest entries.

        Every entry of the batch names the shared file (``records_file``) and its row groups in it
        (``records_row_groups``: [first, stop)); one file and one fsync per batch instead of one per input.
        ``locked=True``: the caller's process already holds the store's lock in another thread (ingest
        commits a batch in the background while it reads the next) and waits for this call to end.
        """
        if not new:
            return []
        with contextlib.nullcontext() if locked else self.lock():
            # the manifest this object saved last, while the file is still that one (an ingest commits batch
            # after batch under its lock; a national manifest takes a tenth of a second to parse), else the file
            cached, self._committed = self._committed, None
            m = cached[1] if cached is not None and cached[0] == self._manifest_stamp() else self._read_manifest()
            known = {i["input_id"] for i in m["inputs"]}
            seq = max((i.get("seq", 0) for i in m["inputs"]), default=0)
            batch: list[NewInput] = []
            for n in new:
                if n.entry["input_id"] in known:
                    continue  # a concurrent writer got there first
                known.add(n.entry["input_id"])
                batch.append(n)
            if not batch:
                return []
            token = hashlib.sha256(f"{batch[0].entry['input_id']}|{time.time_ns()}|{os.getpid()}".encode()).hexdigest()[:16]
            rec_file = f"records/batch-{token}.parquet"
            if batch[0].records_path is not None:
                if len(batch) != 1:
                    raise StoreError("an input written in blocks is committed alone")
                os.replace(batch[0].records_path, self.path / rec_file)  # complete and fsynced by RecordsWriter
                groups = [(0, pq.ParquetFile(self.path / rec_file).metadata.num_row_groups)]
            else:
                groups = write_records(self.path / rec_file, [n.records for n in batch])
            q_file = None
            if any(n.quarantine for n in batch):
                q_file = f"quarantine/batch-{token}.parquet"
                q = pa.Table.from_pylist(
                    [{"input_id": n.entry["input_id"], **{k: r.get(k) for k in ("file", "line", "reason")},
                      "raw": clip_raw(r.get("raw"))} for n in batch for r in n.quarantine],
                    schema=QUARANTINE_SCHEMA,
                )
                atomic_write_parquet(self.path / q_file, q)
            _pause_point(self.path, "after-batch-files")
            holders = _slice_holders(m)
            added = []
            for n, rg in zip(batch, groups):
                seq += 1
                entry = dict(n.entry)
                entry.update(
                    seq=seq, ingested_at=_now(), records_file=rec_file, records_row_groups=list(rg),
                    records_schema=RECORD_SCHEMA_ID,
                    quarantine_file=q_file if n.quarantine else None,
                    slices=[list(k) for k in n.slice_keys], supersedes=[], superseded_by=[],
                )
                entry["slices"] = self._replacing_slices(holders, entry)
                m["inputs"].append(entry)
                added.append(entry)
            _recompute_live(m)
            _pause_point(self.path, "before-manifest")
            self._save_manifest(m)
            self._committed = (self._manifest_stamp(), m)
            ids = {e["input_id"] for e in added}
            return [copy.deepcopy(i) for i in m["inputs"] if i["input_id"] in ids]  # (m is kept: see above)

    #: Share of a live slice's crime ids a new input must hold to replace it (a republication of that month).
    REPLACE_SHARE = 0.5

    def _overlaps(self, new: dict[str, Any], old: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int, int]]:
        """(scope, month) -> (crime ids of `new`, of `old`, in both), from their records files: one DuckDB query
        for the pair of inputs, whatever their size (a national single CSV holds every slice of a year)."""
        con = duckdb.connect(":memory:", config={"memory_limit": self.memory_limit, "threads": os.cpu_count() or 2})
        try:
            one = ("SELECT DISTINCT coalesce(force, '') AS scope, month, record_id FROM read_parquet(?) "
                   "WHERE input_id = ? AND record_id IS NOT NULL")
            rows = con.execute(f"""
                WITH a AS ({one}), b AS ({one})
                SELECT coalesce(a.scope, b.scope), coalesce(a.month, b.month), count(a.record_id), count(b.record_id),
                       count(*) FILTER (WHERE a.record_id IS NOT NULL AND b.record_id IS NOT NULL)
                FROM a FULL JOIN b ON a.scope = b.scope AND a.month = b.month AND a.record_id = b.record_id
                GROUP BY 1, 2""", [str(self.path / new["records_file"]), new["input_id"],
                                   str(self.path / old["records_file"]), old["input_id"]]).fetchall()
        finally:
            con.close()
        return {(r[0], r[1]): (int(r[2]), int(r[3]), int(r[4])) for r in rows}

    def _replacing_slices(self, holders: dict[tuple[str, str, str], dict[str, dict[str, Any]]],
                          entry: dict[str, Any]) -> list[list[str]]:
        """A new input's slices, deciding what it replaces; `holders` (from :func:`_slice_holders`) is updated
        and what was decided is noted on the entry (``slice_notes``).

        A slice held live by an earlier input (the same kind, force and month) is replaced only when the new
        input holds at least REPLACE_SHARE of that slice's crimes (by crime id): a republication of the month.
        When the earlier slice holds most of the new one's crimes instead, the earlier one stays and the new
        input's rows of that month are not used (a re-extract of part of a month). Otherwise the new rows are
        more of the month (a few late or stray rows in the next month's file, one district's extract beside
        another's) and sit beside the earlier ones under a slice key of their own (``…|part:<input>``), so
        neither is lost; crimes in both are said in the notes. Slices without crime ids replace as before."""
        kind = entry.get("kind")
        if kind == API_KIND:
            return entry["slices"]
        out: list[list[str]] = []
        notes: list[dict[str, Any]] = []
        pairs: dict[str, dict[tuple[str, str], tuple[int, int, int]]] = {}  # by earlier input: its overlaps
        for key, scope, month in entry["slices"]:
            held = holders.setdefault((kind, scope, month), {})
            took: list[str] = []
            kept_by: dict[str, Any] | None = None
            beside: list[dict[str, Any]] = []
            shared = mine = 0
            base_kept = False
            for hkey, i in list(held.items()):
                if i["input_id"] not in pairs:
                    pairs[i["input_id"]] = self._overlaps(entry, i)
                mine, theirs, both = pairs[i["input_id"]].get((scope, month), (0, 0, 0))
                if not mine or not theirs or both >= self.REPLACE_SHARE * theirs:
                    took.append(hkey)  # a republication of that slice: replaces it
                    del held[hkey]
                elif both >= self.REPLACE_SHARE * mine:
                    kept_by = i  # that slice already holds most of these crimes
                else:
                    beside.append(i)
                    shared += both
                    base_kept = base_kept or hkey == key
            if kept_by is not None and not took:
                notes.append({"month": month, "scope": scope, "not_used": True, "crimes": mine,
                              "kept": kept_by["input_id"], "kept_path": kept_by.get("path")})
                continue
            own = f"{key}|part:{entry['input_id']}" if base_kept else key
            for k in took + ([own] if own not in took else []):
                out.append([k, scope, month])
                held[k] = entry
            if beside:
                notes.append({"month": month, "scope": scope, "not_used": False, "crimes": mine,
                              "beside": [b.get("path") for b in beside], "shared": shared})
        if notes:
            entry["slice_notes"] = notes
        return out

    # ---- geography tables -----------------------------------------------------------------------------
    def notice(self) -> str | None:
        """What every output made from this store must say before anything else, or None: the demo city's
        store says its data are synthetic (no real place or crime), so no report of it passes for a real one."""
        text = self.manifest().get("notice")
        return str(text) if text else None

    def set_notice(self, text: str | None) -> None:
        """Set (or, with None, clear) the store's :meth:`notice`."""
        with self.lock():
            m = self._read_manifest()
            if text:
                m["notice"] = str(text)
            else:
                m.pop("notice", None)
            self._save_manifest(m)

    def geography_entries(self, kind: str | None = None) -> list[dict[str, Any]]:
        g = self.manifest()["geography"]
        return [e for e in g if kind is None or e["kind"] == kind]

    def put_geography(self, kind: str, name: str, table: pa.Table, entry: dict[str, Any]) -> dict[str, Any]:
        """Store a geography table (replacing one of the same kind and name) and record it in the manifest."""
        return self.put_geography_many([(kind, name, table, entry)])[0]

    def put_geography_many(self, items: list[tuple[str, str, pa.Table, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Store several geography tables in one commit: every file is written under a new name first, then
        the manifest once, so a crash leaves either all of them loaded or none (replaced files become
        orphans for `store gc`)."""
        if not items:
            return []
        with self.lock():
            m = self._read_manifest()
            entries = []
            for kind, name, table, entry in items:
                token = hashlib.sha256(f"{kind}|{name}|{time.time_ns()}|{os.getpid()}".encode()).hexdigest()[:10]
                rel = f"{self._geography_folder(kind)}/{_safe_name(name)}.{token}.parquet"
                atomic_write_parquet(self.path / rel, table)
                e = {"kind": kind, "name": name, "file": rel, "rows": table.num_rows, "loaded_at": _now(), **entry}
                m["geography"] = [g for g in m["geography"] if not (g["kind"] == kind and g["name"] == name)]
                m["geography"].append(e)
                entries.append(e)
                _pause_point(self.path, "geography-between-files")
            self._save_manifest(m)
        return entries

    def geography_file(self, kind: str, name: str) -> Path | None:
        for e in self.geography_entries(kind):
            if e["name"] == name:
                return self.geography_path(e)
        return None

    # ---- layout: callers ask for paths, never join them ----------------------------------------------
    @staticmethod
    def _geography_folder(kind: str) -> str:
        return f"geography/{_safe_name(kind)}"

    def ever_held(self, kind: str) -> bool:
        """Whether geography of this kind was ever loaded here (its folder exists), without reading the manifest:
        a hint for what to prepare (it may all have been replaced since), never an answer about what is live."""
        return (self.path / self._geography_folder(kind)).is_dir()

    def geography_path(self, entry: dict[str, Any]) -> Path:
        """The Parquet file of a geography entry (from :meth:`geography_entries`)."""
        return self.path / entry["file"]

    def geography_paths(self, kind: str) -> list[Path]:
        """The Parquet files of every geography table of ``kind`` (e.g. 'lsoa_ward')."""
        return [self.geography_path(e) for e in self.geography_entries(kind)]

    def input_path(self, entry: dict[str, Any], *, quarantine: bool = False) -> Path | None:
        """The records (or quarantine) Parquet file of an input entry (from :meth:`inputs`); None when the
        input has no quarantine file."""
        rel = entry.get("quarantine_file") if quarantine else entry["records_file"]
        return self.path / rel if rel else None

    # ---- querying -------------------------------------------------------------------------------------
    def live_inputs(self) -> list["LiveInput"]:
        """The inputs with live slices (manifest order): id, kind, records file and slices. Computed once per
        store state (a national archive has thousands)."""
        root = str(self.path)  # os.path.join, not Path /: a national store has thousands of inputs (0.05 s)
        return self.derived("live_inputs", lambda: [
            LiveInput(i["input_id"], i["kind"], os.path.join(root, i["records_file"]),
                      tuple((scope, month) for _key, scope, month in i["live_slices"]), i.get("records_schema"))
            for i in self.manifest()["inputs"] if i.get("live_slices")])

    def holds(self, *kinds: str) -> bool:
        """Whether any live input is of one of these source kinds."""
        return any(i.kind in kinds for i in self.live_inputs())

    def uniform_schema(self, live: list["LiveInput"]) -> bool:
        """Whether every records file of `live` has exactly RECORD_SCHEMA: said by the manifest for files this
        version wrote, else read from the files' footers (once per store state)."""
        unknown = sorted({i.file for i in live if i.schema != RECORD_SCHEMA_ID})
        if not unknown:
            return True

        def footers() -> dict[str, bool]:
            out = {}
            for f in sorted({i.file for i in self.live_inputs() if i.schema != RECORD_SCHEMA_ID}):
                try:
                    out[f] = pq.read_schema(f).remove_metadata().equals(RECORD_SCHEMA.remove_metadata())
                except (OSError, pa.ArrowException):
                    out[f] = False
            return out

        same = self.derived("schema_footers", footers)
        return all(same.get(f, False) for f in unknown)

    @staticmethod
    def _live_slices_columns(live: list["LiveInput"]) -> dict[str, tuple[str, list[str]]]:
        rows = [(i.input_id, i.kind, scope, month) for i in live for scope, month in i.slices]
        cols = list(zip(*rows)) or [(), (), (), ()]
        return {n: ("VARCHAR", list(c)) for n, c in zip(("input_id", "source_kind", "scope", "month"), cols)}

    @staticmethod
    def live_rows_sql(files: list[str], uniform: bool = True) -> str:
        """SQL reading the rows of live slices from Parquet `files` with `input_id`, `source_kind`, `force` and
        `month` (records or aggregate files; needs the connection's `live_slices`). Not `uniform`: the files'
        columns may differ and are matched by name (DuckDB then reads every footer whenever a query binds)."""
        return f"""SELECT r.* FROM read_parquet({list_literal(files)}, union_by_name={str(not uniform).lower()}) r
                SEMI JOIN live_slices s
                  ON r.input_id = s.input_id AND r.month = s.month
                 AND (CASE WHEN r.source_kind = '{API_KIND}' THEN '' ELSE coalesce(r.force, '') END) = s.scope"""

    @staticmethod
    def dedupe_sql(rel: str, api: bool, count: str | None = None) -> str:
        """SQL over relation `rel` of live rows with API crimes fetched twice (overlapping polygons) kept once,
        by `uid`; `count`: a column of counts, 1 for each API crime kept (aggregate rows). Without `api` inputs
        there is nothing to de-duplicate and no window branch, which would stop DuckDB pushing filters into
        the scan (twice the time)."""
        if not api:
            return f"SELECT * FROM {rel}"
        one = f" REPLACE (1::BIGINT AS {count})" if count else ""
        return f"""SELECT * FROM {rel} WHERE source_kind <> '{API_KIND}'
                UNION ALL
                SELECT * EXCLUDE (rn){one} FROM (
                  SELECT *, row_number() OVER (PARTITION BY uid ORDER BY input_id) AS rn
                  FROM {rel} WHERE source_kind = '{API_KIND}') WHERE rn = 1"""

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with the memory limit set and views over the live data.

        Views: `records` (live canonical records, duplicates of API crimes fetched twice removed),
        `live_slices` (input_id, source_kind, scope, month), `quarantine` (all quarantined rows).
        """
        con = duckdb.connect(":memory:", config={"memory_limit": self.memory_limit, "threads": os.cpu_count() or 2})
        # Every view below is bound (Parquet footers read) more than once per assessment: keep the footers.
        con.execute("SET parquet_metadata_cache = true")
        con.execute("SET enable_progress_bar = false")  # a long query (a cube build) must not draw on stderr
        m = self.manifest()
        live = self.live_inputs()
        # from four list parameters, not a parameterised insert per slice (thousands in a national store)
        create_table(con, "live_slices", self.derived("live_slices", lambda: self._live_slices_columns(live)),
                     temp=False)
        files = list(dict.fromkeys(i.file for i in live))  # the inputs of one commit batch share a file
        if files:
            con.execute(f"CREATE VIEW raw_records AS {self.live_rows_sql(files, self.uniform_schema(live))}")
            con.execute(f"CREATE VIEW records AS {self.dedupe_sql('raw_records', self.holds(API_KIND))}")
        else:
            cols = ", ".join(f"CAST(NULL AS {_duck_type(f.type)}) AS {f.name}" for f in RECORD_SCHEMA)
            con.execute(f"CREATE VIEW records AS SELECT {cols} WHERE false")
        qfiles = list(dict.fromkeys(self.input_path(i, quarantine=True) for i in m["inputs"] if i.get("quarantine_file")))
        if qfiles:
            con.execute(f"CREATE VIEW quarantine AS SELECT * FROM read_parquet({list_literal(qfiles)})")
        else:
            con.execute("CREATE VIEW quarantine AS SELECT CAST(NULL AS VARCHAR) input_id, CAST(NULL AS VARCHAR) file, "
                        "CAST(NULL AS BIGINT) line, CAST(NULL AS VARCHAR) reason, CAST(NULL AS VARCHAR) raw WHERE false")
        return con


@dataclass(frozen=True)
class LiveInput:
    """An input with live slices: its id, source kind, records Parquet file and (scope, month) slices."""

    input_id: str
    kind: str
    file: str
    slices: tuple[tuple[str, str], ...]
    schema: str | None = None  # RECORD_SCHEMA_ID of the file when the manifest says


#: Store.derived's values by (state key, name), the _DERIVED_MAX most recently used.
_DERIVED: dict[tuple[tuple[str, int, int, int], str], Any] = {}
_DERIVED_MAX = 16
_DERIVED_LOCK = threading.Lock()
_MISSING = object()

#: Longest raw row text kept in quarantine (a 10 MB field is stored as its first characters and its length).
MAX_RAW_CHARS = 4000


def clip_raw(raw: str | None) -> str | None:
    """Raw quarantined text, cut to MAX_RAW_CHARS with a note of the full length."""
    if raw is None or len(raw) <= MAX_RAW_CHARS:
        return raw
    return raw[:MAX_RAW_CHARS] + f"... ({len(raw):,} characters in all)"


def _safe_name(name: str) -> str:
    """A name from data made safe as one file-name component (no separators, no leading dot)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name)).lstrip(".") or "unnamed"


def _duck_type(t: pa.DataType) -> str:
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_date(t):
        return "DATE"
    return "VARCHAR"


def _slice_holders(m: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, dict[str, Any]]]:
    """(kind, scope, month) -> {slice key: the input holding it live} of a manifest."""
    out: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for i in m["inputs"]:
        for key, scope, month in i.get("live_slices", []):
            out.setdefault((i.get("kind") or "", scope, month), {})[key] = i
    return out


def _recompute_live(m: dict[str, Any]) -> None:
    """Latest input wins each slice; record live slices, supersedes and superseded_by on every input."""
    owner: dict[str, str] = {}
    order = sorted(m["inputs"], key=lambda i: i.get("seq", 0))
    # The same file (content and kind) ingested again with other options (another --force or mapping) is read
    # again: the later reading replaces every slice of the earlier one, whose slices may have other keys (a
    # force named differently), so the file's crimes are never counted twice.
    same: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for i in order:
        if i.get("sha256"):
            readings = same.setdefault((i["sha256"], i.get("kind") or ""), [])
            for e in readings:
                for key, _scope, _month in e.get("slices", []):
                    owner[key] = i["input_id"]
            readings.append(i)
        for key, _scope, _month in i.get("slices", []):
            owner[key] = i["input_id"]
    by_id = {i["input_id"]: i for i in order}
    for i in order:
        i["live_slices"] = [s for s in i.get("slices", []) if owner.get(s[0]) == i["input_id"]]
        i["live"] = bool(i["live_slices"])
        lost: dict[str, list[str]] = {}
        for key, _scope, month in i.get("slices", []):
            w = owner.get(key)
            if w and w != i["input_id"]:
                lost.setdefault(w, []).append(month)
        i["superseded_by"] = [{"input_id": k, "months": sorted(set(v))} for k, v in lost.items()]
        i["live_months"] = sorted({s[2] for s in i["live_slices"]})
    for i in order:
        i["supersedes"] = []
    for i in order:
        for s in i["superseded_by"]:
            by_id[s["input_id"]]["supersedes"].append({"input_id": i["input_id"], "path": i["path"], "months": s["months"]})


def quarantined_rows(store: Store | str | os.PathLike | None = None, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Quarantined rows of every input: file, line, reason and raw text."""
    st = store if isinstance(store, Store) else Store(store)
    con = st.connect()
    try:
        q = "SELECT input_id, file, line, reason, raw FROM quarantine ORDER BY file, line"
        params: list[int] = []
        if limit:
            q += " LIMIT ?"
            params.append(int(limit))
        cols = ["input_id", "file", "line", "reason", "raw"]
        return [dict(zip(cols, r)) for r in con.execute(q, params).fetchall()]
    finally:
        con.close()


# ---- store check and garbage collection ------------------------------------------------------------------
@dataclass
class StoreCheckReport:
    """What `check_store` found: problems with manifest entries and files no manifest entry refers to."""

    store: str
    inputs_checked: int
    geography_checked: int
    problems: list[str]
    orphans: list[str]  # paths relative to the store

    @property
    def ok(self) -> bool:
        """True when nothing is wrong (orphan files are harmless leftovers of killed writers, listed apart)."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.store, "ok": self.ok, "inputs_checked": self.inputs_checked,
                "geography_checked": self.geography_checked, "problems": self.problems, "orphans": self.orphans}


def _referenced(m: dict[str, Any]) -> set[str]:
    refs = {"manifest.json", ".lock"}
    for i in m["inputs"]:
        refs.add(i["records_file"])
        if i.get("quarantine_file"):
            refs.add(i["quarantine_file"])
    refs.update(g["file"] for g in m["geography"])
    return refs


def _aggregate_refs(st: "Store") -> set[str]:
    """Files of the aggregate store its state refers to (aggregate.py keeps the state; read here as JSON)."""
    try:
        s = json.loads((st.path / "aggregates" / "state.json").read_text())
    except (OSError, ValueError):
        return set()
    cubes = {p.relative_to(st.path).as_posix() for p in (st.path / "aggregates").glob("cube-*.parquet")}
    return {"aggregates/state.json", *s.get("files", {}).values(), *cubes}


def _orphans(st: Store, m: dict[str, Any]) -> list[str]:
    """Data and temporary files in the store that the manifest does not refer to."""
    refs = _referenced(m) | _aggregate_refs(st)
    out = []
    for p in sorted(st.path.rglob("*")):
        rel = p.relative_to(st.path).as_posix()
        if p.is_dir() and not p.is_symlink():
            continue
        ours = rel.split("/")[0] in ("records", "quarantine", "geography", "aggregates") or (
            rel.startswith(".manifest.json.") and rel.endswith(".tmp"))
        if ours and rel not in refs:
            out.append(rel)
    return out


def _parquet_rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def check_store(store: Store | str | os.PathLike | None = None) -> StoreCheckReport:
    """Verify a store: every manifest entry's files exist and hold the rows it says, each input reconciles
    (read = loaded + quarantined), live slices are what the manifest's order gives, no Crime ID appears twice
    in a live police.uk street force-month; and list orphan files (left by killed writers; `gc_store` removes)."""
    st = store if isinstance(store, Store) else Store(store)
    if not st.exists():
        raise StoreError(f"{st.path}: no store here (no manifest.json)")
    m = st._read_manifest()
    problems: list[str] = []
    ids: set[str] = set()
    files: dict[str, list[tuple[str, str, int, list[int] | None]]] = {}  # file -> (name, id, rows, row groups)
    for i in m["inputs"]:
        iid = i.get("input_id", "?")
        name = f"input {iid} ({Path(str(i.get('path', '?')).split('!')[-1]).name})"
        if iid in ids:
            problems.append(f"{name}: listed twice in the manifest")
        ids.add(iid)
        if i.get("rows_read") != (i.get("rows_loaded") or 0) + (i.get("rows_quarantined") or 0):
            problems.append(f"{name}: rows read {i.get('rows_read')} != loaded {i.get('rows_loaded')} + "
                            f"quarantined {i.get('rows_quarantined')}")
        for key, want in (("records_file", i.get("rows_loaded")), ("quarantine_file", i.get("rows_quarantined"))):
            rel = i.get(key)
            if not rel:
                if key == "records_file" or want:
                    problems.append(f"{name}: no {key.replace('_', ' ')} for {want} rows")
                continue
            files.setdefault(rel, []).append((name, iid, want or 0,
                                              i.get("records_row_groups") if key == "records_file" else None))
    for rel, users in files.items():
        f = st.path / rel
        try:
            meta = pq.ParquetFile(f).metadata
        except FileNotFoundError:
            problems.extend(f"{u[0]}: {rel} is missing" for u in users)
            continue
        except Exception as exc:  # noqa: BLE001 - any unreadable Parquet is a finding, not a crash
            problems.extend(f"{u[0]}: {rel} is unreadable ({type(exc).__name__}: {exc})" for u in users)
            continue
        got, want = meta.num_rows, sum(u[2] for u in users)
        if got != want:
            who = users[0][0] if len(users) == 1 else f"{len(users)} inputs sharing it"
            problems.append(f"{who}: {rel} holds {got} rows, the manifest says {want}")
        for name, _iid, w, rg in users:
            if rg is None:
                continue
            a, b = rg
            if not 0 <= a <= b <= meta.num_row_groups:
                problems.append(f"{name}: row groups {a}..{b} are not in {rel} ({meta.num_row_groups} row groups)")
                continue
            n = sum(meta.row_group(k).num_rows for k in range(a, b))
            if n != w:
                problems.append(f"{name}: its row groups in {rel} hold {n} rows, the manifest says {w}")
        if rel.startswith("quarantine/") and len(users) > 1 and got == want:
            counts = pq.read_table(f, columns=["input_id"]).column("input_id").value_counts().to_pylist()
            per = {d["values"]: d["counts"] for d in counts}
            for name, iid, w, _ in users:
                if per.get(iid, 0) != w:
                    problems.append(f"{name}: {rel} holds {per.get(iid, 0)} of its quarantined rows, the manifest says {w}")
    expected = json.loads(json.dumps(m))
    _recompute_live(expected)
    for a, b in zip(m["inputs"], expected["inputs"]):
        if [list(x) for x in a.get("live_slices", [])] != [list(x) for x in b.get("live_slices", [])]:
            problems.append(f"input {a.get('input_id')}: live slices differ from what the input order gives")
    for g in m["geography"]:
        f = st.path / g["file"]
        try:
            got = _parquet_rows(f)
        except FileNotFoundError:
            problems.append(f"geography {g['kind']}/{g['name']}: {g['file']} is missing")
            continue
        except Exception as exc:  # noqa: BLE001
            problems.append(f"geography {g['kind']}/{g['name']}: {g['file']} is unreadable ({type(exc).__name__})")
            continue
        if got != g.get("rows"):
            problems.append(f"geography {g['kind']}/{g['name']}: {g['file']} holds {got} rows, the manifest says {g.get('rows')}")
    if not problems and any(i.get("live") for i in m["inputs"]):
        con = st.connect()
        try:
            dups = con.execute("""
                SELECT force, month, record_id, count(*) n FROM records
                WHERE source_kind = 'police-uk-street' AND record_id IS NOT NULL
                GROUP BY ALL HAVING count(*) > 1 ORDER BY n DESC LIMIT 5""").fetchall()
        finally:
            con.close()
        for force, month, rid, n in dups:
            problems.append(f"Crime ID {rid!r} is live {n} times in {force or '(no force)'} {month}")
    return StoreCheckReport(str(st.path), len(m["inputs"]), len(m["geography"]), problems, _orphans(st, m))


def gc_store(store: Store | str | os.PathLike | None = None, *, dry_run: bool = False) -> dict[str, Any]:
    """Delete orphan files (data no manifest entry refers to, temporary files of killed writers) under the
    store's write lock. Returns {"store", "removed": [relative paths], "bytes", "dry_run"}."""
    st = store if isinstance(store, Store) else Store(store)
    if not st.exists():
        raise StoreError(f"{st.path}: no store here (no manifest.json)")
    with st.lock():
        m = st._read_manifest()
        orphans = _orphans(st, m)
        freed = 0
        for rel in orphans:
            p = st.path / rel
            with contextlib.suppress(OSError):
                freed += p.lstat().st_size
                if not dry_run:
                    p.unlink()
    return {"store": str(st.path), "removed": orphans, "bytes": freed, "dry_run": dry_run}
