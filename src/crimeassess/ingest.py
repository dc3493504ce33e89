"""Ingest: find inputs, recognise them by content, read them, and commit them to the store."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .aggregate import (CountsWriter, add_built, aggregate_tables, concat_aggregates, install_aggregate,
                        refresh_aggregates, write_aggregate)
from .errors import InputError, UnsafeArchiveError
from .sources.base import ReadResult, normalise_force
from .sources.discover import ArchiveLimits, Candidate, detect_kind, expand, parse_size
from .sources.policeuk import decode, duplicate_reason, header_of
from .sources.policeuk_fast import read_street_csv_fast, street_blocks
from .sources.policeuk_group import KIND as GROUP_KIND, GroupContext, Part, eligible, plain_lines, read_street_group
from .sources.registry import SourceKind, get_kind
from .store import NewInput, RecordsWriter, Store

ProgressFn = Callable[[int, int, str], None]


@dataclass
class InputReport:
    """What happened to one input: loaded, unchanged (already in the store) or skipped (with reason)."""

    path: str
    status: str  # 'loaded' | 'unchanged' | 'skipped'
    kind: str | None = None
    input_id: str | None = None
    sha256: str | None = None
    force: str | None = None
    months: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    supersedes: list[dict] = field(default_factory=list)
    reason: str | None = None
    live_months: list[str] = field(default_factory=list)  # months this input is live for after the commit
    superseded_by: list[dict] = field(default_factory=list)  # later inputs that replaced some of its months
    #: What the store decided for months an earlier input already held, in words (Store._replacing_slices).
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def slice_note_text(n: dict[str, Any]) -> str:
    """One sentence for a slice note of a manifest entry."""
    where = f"{n['month']}" + (f" ({n['scope']})" if n.get("scope") else "")
    crimes = f"{n['crimes']:,} {'crime' if n['crimes'] == 1 else 'crimes'}"
    if n.get("not_used"):
        return (f"{where}: not used: the store's {n['month']} from {Path(str(n.get('kept_path'))).name} already "
                f"holds most of its {crimes}, and stays")
    others = ", ".join(Path(str(p)).name for p in n.get("beside") or [])
    text = f"{where}: {crimes} added beside {others}'s (other crimes of the month, not a republication of it)"
    if n.get("shared"):
        text += f"; {n['shared']:,} of them are in both and counted twice"
    return text


@dataclass
class IngestReport:
    """The result of `ingest`: one InputReport per file found."""

    store: str
    inputs: list[InputReport]

    @property
    def loaded(self) -> list[InputReport]:
        return [i for i in self.inputs if i.status == "loaded"]

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.store, "inputs": [i.to_dict() for i in self.inputs]}


def reason_key(reason: str) -> str:
    """A quarantine reason without its details: 'invalid month', 'wrong number of fields', 'date out of range'."""
    return re.split(r": | \(| '", reason, maxsplit=1)[0]


def _input_id(sha: str, kind: str, options: dict[str, Any]) -> str:
    h = hashlib.sha256(f"{sha}|{kind}|{json.dumps(options, sort_keys=True)}".encode()).hexdigest()
    return h[:16]


def _options(kind: SourceKind, mapping: Path | None, force: str | None) -> dict[str, Any]:
    """The ingest options that change what the kind's reader produces (they are part of the input id)."""
    opts: dict[str, Any] = {}
    if "mapping" in kind.read_options:
        opts["mapping"] = hashlib.sha256(mapping.read_bytes()).hexdigest() if mapping else None
    if "force" in kind.read_options:
        opts["force"] = force
    return opts


def _pairs(records: pa.Table) -> set[tuple[str, str]]:
    """The (force, month) pairs of some records (force '' when null)."""
    uniq = records.select(["force", "month"]).group_by(["force", "month"]).aggregate([])
    return {(f or "", m) for f, m in zip(uniq.column("force").to_pylist(), uniq.column("month").to_pylist())}


def _slice_keys(kind: SourceKind, display: str, res: ReadResult | set[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Supersession slices: a later input replaces an earlier one for the same key."""
    pairs = sorted(res if isinstance(res, set) else _pairs(res.records))
    keys = []
    for force, month in pairs:
        if kind.scope == "file":
            # API responses are per polygon: a re-download of the same polygon file replaces it,
            # sibling polygons for the same month do not.
            scope_key = Path(display.split("!")[-1]).name
            keys.append((f"{kind.id}|{scope_key}|{month}", "", month))
        else:
            keys.append((f"{kind.id}|{force}|{month}", force, month))
    return keys


def _ingest_homeoffice(st: Store, data: bytes, c: Candidate) -> InputReport:
    """Store a Home Office recorded crime table (sources/homeoffice.py); unchanged when already stored."""
    from .sources.homeoffice import KIND, store_homeoffice_table

    sha = hashlib.sha256(data).hexdigest()
    prev = next((e for e in st.geography_entries("homeoffice") if e.get("sha256") == sha), None)
    if prev is not None:
        return InputReport(c.display, "unchanged", kind=KIND, input_id=prev["name"], sha256=sha,
                           months=prev.get("financial_years", []), reason="already in the store")
    try:
        e = store_homeoffice_table(st, data, c.display)
    except InputError as exc:
        if c.explicit:
            raise
        return InputReport(c.display, "skipped", kind=KIND, reason=str(exc).split(": ", 1)[-1])
    return InputReport(c.display, "loaded", kind=KIND, input_id=e["name"], sha256=sha, months=e["financial_years"],
                       rows_read=e["rows_read"], rows_loaded=e["rows_loaded"], rows_quarantined=e["rows_quarantined"],
                       quarantine_reasons=e["quarantine_reasons"])


#: Share of the memory budget ($CRIMEASSESS_MEMORY_LIMIT) that records read but not yet committed may take.
BATCH_SHARE = 8
#: Plain street CSVs are read together (sources/policeuk_group.py) in groups of at most the batch size /
#: GROUP_SHARE bytes of CSV (32 MB with the default budget: 6M rows in 8 interleaved runs, 5.42 s mean and
#: about 850 MB peak, against 5.64 s and 1,100 MB for groups twice as large).
GROUP_SHARE = 8
GROUP_MIN_BYTES = 1 << 20
#: A batch holding this share of the batch size is committed at once if no commit is in flight.
EAGER_SHARE = 8


def batch_bytes(st: Store) -> int:
    """Bytes of records (Arrow) to gather before a commit: the store's memory budget / BATCH_SHARE."""
    try:
        budget = parse_size(st.memory_limit)
    except InputError:
        raise InputError(f"memory limit {st.memory_limit!r} not understood (CRIMEASSESS_MEMORY_LIMIT: e.g. 2GB)") from None
    return max(1 << 18, budget // BATCH_SHARE)


def ingest(
    paths: list[str | Path],
    store: Store | str | Path | None = None,
    *,
    mapping: str | Path | None = None,
    force: str | None = None,
    progress: ProgressFn | None = None,
    archive_limits: ArchiveLimits | None = None,
) -> IngestReport:
    """Ingest police.uk files/folders/zips, API JSON and force extracts into the store. Home Office recorded crime
    tables found among them are stored as their own table at once (sources/homeoffice.py), never as records.

    Files named directly must be recognisable; a bad one raises InputError and nothing of this run is
    written — unless batches read before it were already committed (records are committed whenever they
    reach the memory budget's share, BATCH_SHARE, or an EAGER_SHARE of that when no commit is under way; each
    commit is whole, so nothing is lost or doubled).
    Files found inside folders or zips that are not ingestible (or corrupt zips in a folder) are reported as
    skipped. Unsafe archives (escaping names, over `archive_limits`) raise UnsafeArchiveError; a bad mapping
    raises MappingError. The whole run holds the store's write lock, so concurrent ingests are serialised
    (the second waits with a message, or fails with StoreError after the lock timeout); the report says what
    was committed: `live_months` and `superseded_by` of each loaded input.
    """
    st = store if isinstance(store, Store) else Store(store)
    # One force, one slug: 'Hampshire', 'Hampshire Constabulary' and 'hampshire' are the same force's slices.
    force = normalise_force(force) if force and force.strip() else None
    mapping_p = Path(mapping) if mapping else None
    mapping_obj = None
    if mapping_p is not None:
        if not mapping_p.is_file():
            raise InputError(f"{mapping_p}: mapping file not found")
        from .sources.extract import load_mapping

        mapping_obj = load_mapping(mapping_p)  # MappingError now, with its line and key
    cands: list[Candidate] = expand([Path(p) for p in paths], archive_limits)
    if not cands:
        raise InputError("no files found under " + ", ".join(str(p) for p in paths))
    with st.lock():
        built: dict[str, str] = {}
        report = _ingest_locked(st, cands, mapping_p, mapping_obj, force, progress, built)
        add_built(st, built)  # the batches aggregated in memory as they were committed
        refresh_aggregates(st, lock=False)  # any other (aggregate.py); incremental, crash-safe
        return report


def _ingest_locked(st: Store, cands: list[Candidate], mapping_p: Path | None, mapping_obj: Any, force: str | None,
                   progress: ProgressFn | None, built: dict[str, str]) -> IngestReport:
    # A batch is committed in a background thread while the next is read (Parquet writing and CSV parsing
    # release the GIL); commits stay in order, at most one in flight, and all end before the lock is released.
    # A third thread then writes each committed batch's aggregate file (aggregate.py) from its counts or its
    # records still in memory, listed in `built` for the state written at the end.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crimeassess-commit")
    agg_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crimeassess-aggregate")
    inflight: list[Future] = []
    committed_ids: list[str] = []
    agg_con: list[duckdb.DuckDBPyConnection] = []  # the aggregate thread's own connection, opened on first use

    def wait() -> None:
        while inflight:
            committed_ids.extend(inflight.pop(0).result())

    def aggregate(rec_file: str, mine: list[NewInput]) -> None:
        try:
            given = [n.counts for n in mine if n.counts is not None]  # counted by the reader already
            rest = aggregate_tables(connection(), [n.records for n in mine if n.counts is None])
            built[rec_file] = write_aggregate(st, rec_file, concat_aggregates([*given, rest]))
        except (duckdb.Error, OSError, pa.ArrowException):
            pass  # not fatal: refresh_aggregates builds this file's aggregate from the records file

    def connection() -> duckdb.DuckDBPyConnection:
        if not agg_con:
            agg_con.append(duckdb.connect(":memory:", config={"memory_limit": _half(st.memory_limit)}))
            agg_con[0].execute("SET enable_progress_bar = false")
        return agg_con[0]

    def commit_and_aggregate(batch: list[NewInput]) -> list[str]:
        entries = st.commit_inputs(batch, locked=True)
        ids = {e["input_id"] for e in entries}
        files = {e["records_file"] for e in entries}
        mine = [n for n in batch if n.entry["input_id"] in ids]
        for n in batch:
            if n.counts_path is not None and n.entry["input_id"] not in ids:  # not committed (another writer had it)
                n.counts_path.unlink(missing_ok=True)
        if len(files) == 1 and len(mine) == 1 and mine[0].counts_path is not None:  # a file read in blocks
            try:
                built[files.pop()] = install_aggregate(st, entries[0]["records_file"], mine[0].counts_path)
            except OSError:
                pass  # not fatal: refresh_aggregates builds it from the records file
        elif len(files) == 1 and all(n.records_path is None for n in mine):  # (else: refresh_aggregates)
            # (records of inputs the reader counted are not needed any more: only their counts go on)
            mine = [NewInput(n.entry, pa.table({}), [], [], counts=n.counts) if n.counts is not None else n
                    for n in mine]
            agg_pool.submit(aggregate, files.pop(), mine)  # (its errors end in `aggregate`)
        return [e["input_id"] for e in entries]

    def commit(batch: list[NewInput], *, background: bool = True, if_idle: bool = False) -> bool:
        """Commit a batch (after the one in flight); with `if_idle`, only if none is in flight (else False)."""
        if if_idle and inflight and not inflight[-1].done():
            return False
        wait()
        inflight.append(pool.submit(commit_and_aggregate, batch))
        if not background:
            wait()
        return True

    gctx = GroupContext(st.memory_limit)  # the main thread's, for every group read together
    try:
        return _read_all(st, cands, mapping_p, mapping_obj, force, progress, commit, wait, committed_ids, gctx)
    finally:
        for f in inflight:  # an error while reading: let the commit under way finish (or fail) first
            f.exception()
        pool.shutdown(wait=True)
        agg_pool.shutdown(wait=True)  # (errors are not fatal: refresh_aggregates builds what is missing)
        for c in agg_con:
            c.close()
        gctx.close()


def _half(limit: str) -> str:
    """Half a memory budget, in MB, for DuckDB (the process holds the rest)."""
    try:
        return f"{max(64 << 20, parse_size(limit) // 2) >> 20}MB"
    except InputError:
        return limit


def _read_all(st: Store, cands: list[Candidate], mapping_p: Path | None, mapping_obj: Any, force: str | None,
              progress: ProgressFn | None, commit: Callable[..., None], wait: Callable[[], None],
              committed_ids: list[str], gctx: GroupContext) -> IngestReport:
    reports: list[InputReport | None] = []
    new: list[NewInput] = []
    pending = 0  # Arrow bytes of the records in `new`
    limit = batch_bytes(st)
    seen_ids: set[str] = set()
    existing = {i["input_id"]: i for i in st._read_manifest()["inputs"]}
    # Plain street CSVs wait here to be read together (policeuk_group); inputs still reach `new` in order.
    group: list[tuple[Candidate, bytes, str, str, dict[str, Any], int, int]] = []
    group_bytes = 0

    def add(c: Candidate, sk: SourceKind, sha: str, iid: str, opts: dict[str, Any], res: ReadResult,
            pairs: set[tuple[str, str]] | None, idx: int) -> None:
        nonlocal new, pending
        reasons: dict[str, int] = {}
        for q in res.quarantine:
            key = reason_key(q["reason"])
            reasons[key] = reasons.get(key, 0) + 1
        entry = {
            "input_id": iid, "path": c.display, "sha256": sha, "kind": sk.id, "force": res.force,
            "force_name": res.force_name, "months": res.months, "rows_read": res.rows_read,
            "rows_loaded": res.records.num_rows, "rows_quarantined": len(res.quarantine), "options": opts,
        }
        new.append(NewInput(entry, res.records, res.quarantine,
                            _slice_keys(sk, c.display, pairs if pairs is not None else res), counts=res.counts))
        pending += res.records.nbytes
        seen_ids.add(iid)
        reports[idx] = InputReport(
            c.display, "loaded", kind=sk.id, input_id=iid, sha256=sha, force=res.force, months=res.months,
            rows_read=res.rows_read, rows_loaded=res.records.num_rows, rows_quarantined=len(res.quarantine),
            quarantine_reasons=reasons)
        if pending >= limit:  # commit a batch: records held stay under the memory budget
            commit(new)
            new, pending = [], 0

    def read_one(c: Candidate, sk: SourceKind, data: bytes, sha: str, iid: str, opts: dict[str, Any],
                 idx: int) -> None:
        try:
            res = sk.read(data, input_id=iid, display_name=c.display, mapping=mapping_obj, force=force)
        except InputError as exc:
            if c.explicit:
                raise
            seen_ids.discard(iid)
            reports[idx] = InputReport(c.display, "skipped", kind=sk.id, reason=str(exc).split(": ", 1)[-1])
            return
        add(c, sk, sha, iid, opts, res, None, idx)

    def flush(full: bool = False) -> None:
        """Read the group; `full`: it reached its size (a run's first such group is committed at once)."""
        nonlocal group_bytes, new, pending
        if not group:
            return
        parts = [Part(data, iid, c.display, lines=n) for c, data, _sha, iid, _o, _i, n in group]
        got = read_street_group(parts, context=gctx)
        del parts
        sk = get_kind(GROUP_KIND)
        for (c, data, sha, iid, opts, idx, _n), r in zip(group, got):
            if r is None:  # a row the ordinary reader quarantines (with its reason), or not parsed together
                read_one(c, sk, data, sha, iid, opts, idx)
            else:
                add(c, sk, sha, iid, opts, r[0], r[1], idx)
        group.clear()
        group_bytes = 0
        # the commit thread has finished the last batch: give it this one now rather than let it wait for a
        # full batch (it starts after the first group, and the batch left for the end is small); a run
        # smaller than a group is still committed whole at its end
        if (full or pending >= limit // EAGER_SHARE) and commit(new, if_idle=True):
            new, pending = [], 0

    group_limit = max(GROUP_MIN_BYTES, limit // GROUP_SHARE)
    first_done = False
    # plain files are read (and hashed, and checked for the group reader) a little ahead, in a thread
    pre = _Prefetch(cands, max(GROUP_MIN_BYTES, group_limit // 2))
    try:
        for n, c in enumerate(cands):
            if progress:
                progress(n, len(cands), c.display)
            if c.error:
                reports.append(InputReport(c.display, "skipped", reason=c.error))
                continue
            if _large_file(c):
                flush()
                if new:  # inputs commit in order (a later input supersedes an earlier one)
                    commit(new)
                    new, pending = [], 0
                wait()
                done = _ingest_in_blocks(st, c, existing, seen_ids, gctx)
                if done is not None:
                    rep, ni = done
                    reports.append(rep)
                    if ni is not None:
                        commit([ni], background=False)
                    continue
            try:
                ahead = pre.take(n)
                data, sha_ahead, lines = ahead if ahead is not None else (c.load(), None, None)
            except UnsafeArchiveError:
                raise
            except InputError as exc:
                if c.explicit:
                    raise
                reports.append(InputReport(c.display, "skipped", reason=str(exc).split(": ", 1)[-1]))
                continue
            try:
                kind_id = detect_kind(data, c.display, mapping=mapping_obj)
            except InputError as exc:
                if c.explicit:
                    raise
                reports.append(InputReport(c.display, "skipped", reason=str(exc).split(": ", 1)[-1]))
                continue
            sk = get_kind(kind_id)
            kind = sk.id
            if sk.aggregated_counts:  # aggregated counts (Home Office tables): their own table, never records
                reports.append(_ingest_homeoffice(st, data, c))
                continue
            if not sk.ingestible:
                reports.append(InputReport(c.display, "skipped", kind=kind, reason=f"{kind} file (not ingested)"))
                continue
            sha = sha_ahead or hashlib.sha256(data).hexdigest()
            opts = _options(sk, mapping_p, force)
            iid = _input_id(sha, kind, opts)
            if iid in existing or iid in seen_ids:
                prev = existing.get(iid)
                reports.append(InputReport(
                    c.display, "unchanged", kind=kind, input_id=iid, sha256=sha,
                    force=(prev or {}).get("force"), months=(prev or {}).get("months", []),
                    reason="already in the store" if prev else "duplicate of another input in this run"))
                continue
            reports.append(None)  # filled in by add() or read_one()
            if kind == GROUP_KIND and ahead is None:
                lines = plain_lines(data)
            if kind == GROUP_KIND and lines is not None:
                group.append((c, data, sha, iid, opts, len(reports) - 1, lines))
                group_bytes += len(data)
                seen_ids.add(iid)
                # the first group is small, so that the commit thread starts early
                if group_bytes >= (group_limit if first_done else group_limit // 4):
                    first_done = True
                    flush(full=True)
                continue
            flush()  # inputs reach the batch in the order found
            read_one(c, sk, data, sha, iid, opts, len(reports) - 1)
            del data
    finally:
        pre.close()
    flush()
    if progress:
        progress(len(cands), len(cands), "writing")
    commit(new, background=False)
    final = {i["input_id"]: i for i in st._read_manifest()["inputs"]}  # as the last batch left them
    committed = {iid: final[iid] for iid in committed_ids}
    done_reports = [r for r in reports if r is not None]
    for r in done_reports:
        if r.status != "loaded" or (r.kind and get_kind(r.kind).aggregated_counts):  # stored as their own table
            continue
        e = committed.get(r.input_id)
        if e is None:  # cannot happen under the lock; say so rather than claim a load
            r.status, r.reason = "unchanged", "committed by another writer first"
            continue
        r.supersedes = e.get("supersedes", [])
        r.live_months = e.get("live_months", [])
        r.superseded_by = e.get("superseded_by", [])
        r.notes = [slice_note_text(n) for n in e.get("slice_notes", [])]
    return IngestReport(str(st.path), done_reports)


#: Plain files larger than this are read in blocks of BLOCK_BYTES (police.uk street CSVs), so memory stays
#: bounded whatever the file's size; smaller files (a force-month is a few MB) are read whole.
STREAM_MIN_BYTES = 96 << 20
BLOCK_BYTES = 32 << 20


def _read_ahead(c: Candidate) -> tuple[bytes, str, int | None]:
    """A plain file's bytes, SHA-256 and, when the group reader may take it (policeuk_group.eligible), its
    data lines (else None)."""
    data = c.load()
    return data, hashlib.sha256(data).hexdigest(), plain_lines(data)


class _Prefetch:
    """Reads plain files on disk ahead of the ingest loop in one thread, at most `budget` bytes ahead: reading
    and SHA-256 release the GIL, and the checks run while the loop is in Arrow's or DuckDB's code. Files in
    zips and large files (read in blocks) are left to the loop. Errors are raised when the loop takes the file."""

    def __init__(self, cands: list[Candidate], budget: int) -> None:
        self._cands = cands
        self._budget = budget
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crimeassess-read")
        self._ahead: dict[int, tuple[Future, int]] = {}
        self._next = 0
        self._bytes = 0

    def _fill(self) -> None:
        while self._next < len(self._cands) and (self._bytes < self._budget or not self._ahead):
            c = self._cands[self._next]
            size = _plain_size(c)
            if size is not None:
                self._ahead[self._next] = (self._pool.submit(_read_ahead, c), size)
                self._bytes += size
            self._next += 1

    def take(self, n: int) -> tuple[bytes, str, int | None] | None:
        """Candidate n's (bytes, sha256, data lines if plain), or None when it was not read ahead."""
        self._fill()
        got = self._ahead.pop(n, None)
        if got is None:
            return None
        fut, size = got
        self._bytes -= size
        try:
            return fut.result()
        finally:
            self._fill()

    def close(self) -> None:
        for fut, _ in self._ahead.values():
            fut.cancel()
        self._ahead.clear()
        self._pool.shutdown(wait=True)


def _plain_size(c: Candidate) -> int | None:
    """The size of a plain file on disk that is read whole (not too large); None for anything else."""
    if c.error or c.path is None:
        return None
    try:
        size = c.path.stat().st_size
    except OSError:
        return None
    return size if size <= STREAM_MIN_BYTES else None


def _large_file(c: Candidate) -> bool:
    try:
        return c.path is not None and c.path.stat().st_size > STREAM_MIN_BYTES
    except OSError:
        return False  # the ordinary path reports it


def _ingest_in_blocks(st: Store, c: Candidate, existing: dict[str, Any],
                      seen_ids: set[str], gctx: GroupContext) -> tuple[InputReport, NewInput | None] | None:
    """Read a large police.uk street CSV block by block into a RecordsWriter, with the same records, line
    numbers and quarantine as reading it whole. None when the file is not a street CSV or a block is one the
    vectorised reader declines (the caller then reads it whole with the row reader)."""
    assert c.path is not None
    with open(c.path, "rb") as fh:
        head = fh.read(65536)
    try:
        kind_id = detect_kind(head, c.display)
    except InputError:
        return None
    if kind_id != "police-uk-street":
        return None
    sk = get_kind(kind_id)
    sha = _file_sha256(c.path)
    iid = _input_id(sha, sk.id, {})
    if iid in existing or iid in seen_ids:
        prev = existing.get(iid)
        return InputReport(c.display, "unchanged", kind=sk.id, input_id=iid, sha256=sha,
                           force=(prev or {}).get("force"), months=(prev or {}).get("months", []),
                           reason="already in the store" if prev else "duplicate of another input in this run"), None
    header = header_of(decode(head))
    writer = RecordsWriter(st)
    counter: CountsWriter | None = CountsWriter(st)  # the aggregate's counts, block by block
    merged: Path | None = None  # ... once complete
    quarantine: list[dict] = []
    pairs: set[tuple[str, str]] = set()
    names: set[str] = set()
    rows_read = blocks = 0
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crimeassess-block")  # write k while reading k+1
    writing: Future | None = None
    try:
        for block, offset, lines in _blocks_ahead(c.path):
            got = (read_street_group([Part(block, iid, c.display, offset, lines=lines)], context=gctx)[0]
                   if lines is not None else None)
            res = got[0] if got is not None else read_street_csv_fast(block, header, input_id=iid,
                                                                      display_name=c.display, line_offset=offset)
            del block
            if writing is not None:
                writing.result()
                writing = None
            if res is None:
                writer.discard()
                counter.discard()
                return None
            blocks += 1
            rows_read += res.rows_read
            quarantine += res.quarantine
            pairs |= got[1] if got is not None else _pairs(res.records)
            names |= {v for v in pc.unique(res.records.column("force_name")).to_pylist() if v}
            counts = res.counts if res.counts is not None else aggregate_tables(gctx.connection(), [res.records])
            writing = pool.submit(_write_block, writer, counter, res.records, counts)
            del res, counts
        if writing is not None:
            writing.result()
        writer.close()
        merged = counter.close()
        counter = None
        dups = _cross_block_duplicates(st, writer.path) if blocks > 1 else {}
        if dups:  # a Crime ID repeated in two blocks: the first loaded row keeps it, as reading whole
            merged.unlink(missing_ok=True)  # (refresh_aggregates counts the rewritten file)
            merged = None
            writer, pairs, names = _drop_lines(st, writer, dups)
            raw = _raw_lines(c.path, set(dups))
            # a later repeat in the same block named the block's first as the first: name the file's first
            remap = {duplicate_reason(cid, line): duplicate_reason(cid, first) for line, (cid, first) in dups.items()}
            for q in quarantine:
                q["reason"] = remap.get(q["reason"], q["reason"])
            quarantine += [{"file": c.display, "line": line, "reason": duplicate_reason(cid, first),
                            "raw": raw[line]} for line, (cid, first) in dups.items()]
            quarantine.sort(key=lambda q: q["line"])
    except BaseException:
        if writing is not None:
            writing.exception()
        writer.discard()
        if counter is not None:
            counter.discard()
        if merged is not None:
            merged.unlink(missing_ok=True)
        raise
    finally:
        pool.shutdown(wait=True)
    loaded = writer.rows
    if loaded + len(quarantine) != rows_read:
        writer.discard()
        if merged is not None:
            merged.unlink(missing_ok=True)
        raise AssertionError((rows_read, loaded, len(quarantine)))  # a bug, never user error
    months = sorted({m for _, m in pairs})
    force = ",".join(sorted({f for f, _ in pairs if f})) or None
    force_name = ", ".join(sorted(names)) or None
    reasons: dict[str, int] = {}
    for q in quarantine:
        key = reason_key(q["reason"])
        reasons[key] = reasons.get(key, 0) + 1
    entry = {"input_id": iid, "path": c.display, "sha256": sha, "kind": sk.id, "force": force,
             "force_name": force_name, "months": months, "rows_read": rows_read, "rows_loaded": loaded,
             "rows_quarantined": len(quarantine), "options": {}}
    seen_ids.add(iid)
    ni = NewInput(entry, pa.table({}), quarantine, _slice_keys(sk, c.display, pairs), records_path=writer.path,
                  counts_path=merged)
    return InputReport(c.display, "loaded", kind=sk.id, input_id=iid, sha256=sha, force=force, months=months,
                       rows_read=rows_read, rows_loaded=loaded, rows_quarantined=len(quarantine),
                       quarantine_reasons=reasons), ni


def _file_sha256(path: Path) -> str:
    """A file's SHA-256, read in chunks into one reused buffer: memory stays one chunk whatever the size (a
    mapping of the file would count every page read in the resident memory; fresh chunks would fault anew)."""
    h = hashlib.sha256()
    buf = bytearray(8 << 20)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def _write_block(writer: RecordsWriter, counter: CountsWriter, records: pa.Table, counts: pa.Table) -> None:
    writer.write(records)
    counter.write(counts)


def _blocks_ahead(path: Path) -> Iterator[tuple[bytes, int, int | None]]:
    """street_blocks of a large file as (block, lines before it, its data lines if the group reader may take it
    (eligible) else None), read one block ahead in a thread (the read releases the GIL; the checks run while
    the caller is in Arrow's code)."""
    gen = street_blocks(path, BLOCK_BYTES)

    def step() -> tuple[bytes, int, int | None] | None:
        try:
            block, offset, n = next(gen)
        except StopIteration:
            return None
        return block, offset, n if eligible(block) else None

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crimeassess-blocks")
    fut = pool.submit(step)
    try:
        while (got := fut.result()) is not None:
            fut = pool.submit(step)
            yield got
    finally:
        fut.exception()  # the block under way ends (or fails) before the file is closed
        pool.shutdown(wait=True)
        gen.close()


def _cross_block_duplicates(st: Store, path: Path) -> dict[int, tuple[str, int]]:
    """Lines whose Crime ID an earlier line already loaded: line -> (Crime ID, first line). DuckDB, under the
    store's memory limit (it spills to disk rather than exceed it): half of it, as the process holds the rest."""
    limit = f"{max(64 << 20, parse_size(st.memory_limit) // 2) >> 20}MB"
    con = duckdb.connect(":memory:", config={"memory_limit": limit})
    con.execute("SET enable_progress_bar = false")  # no bar on stdout under a slow machine
    try:
        # 64-bit hashes first (a small hash table), then the exact Crime IDs of the few candidates
        rows = con.execute("""
            WITH h AS (SELECT hash(record_id) AS h FROM read_parquet($p) WHERE record_id IS NOT NULL
                       GROUP BY 1 HAVING count(*) > 1)
            SELECT record_id, list(line ORDER BY line) FROM read_parquet($p)
            WHERE record_id IS NOT NULL AND hash(record_id) IN (SELECT h FROM h)
            GROUP BY record_id HAVING count(*) > 1""", {"p": str(path)}).fetchall()
    finally:
        con.close()
    return {line: (cid, lines[0]) for cid, lines in rows for line in lines[1:]}


def _drop_lines(st: Store, writer: RecordsWriter, drop: dict[int, Any]) -> tuple[RecordsWriter, set, set]:
    """Rewrite a streamed records file without some lines; returns the new writer, its (force, month) pairs
    and force names."""
    out = RecordsWriter(st)
    pairs: set[tuple[str, str]] = set()
    names: set[str] = set()
    gone = pa.array(sorted(drop), pa.int64())
    try:
        for batch in pq.ParquetFile(writer.path).iter_batches(batch_size=1 << 18):
            t = pa.Table.from_batches([batch])
            t = t.filter(pc.invert(pc.is_in(t.column("line"), value_set=gone)))
            pairs |= _pairs(t)
            names |= {v for v in pc.unique(t.column("force_name")).to_pylist() if v}
            out.write(t)
        out.close()
    except BaseException:
        out.discard()
        raise
    writer.discard()
    return out, pairs, names


def _raw_lines(path: Path, lines: set[int]) -> dict[int, str]:
    """The raw text of some lines of a file (line 1 = header), read line by line."""
    out: dict[int, str] = {}
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if n in lines:
                out[n] = raw.decode("utf-8").rstrip("\r\n")
                if len(out) == len(lines):
                    break
    return out
