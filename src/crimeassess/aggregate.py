"""The aggregate store: counts of records by month × LSOA × category / offence code × flags × force × source.

Records are many (≈6 million rows a year for England and Wales) and wide (Crime IDs, map points, location
text); most questions an assessment asks only need counts. For every records Parquet file the store holds,
``aggregates/agg-<file stem>.parquet`` holds that file's rows grouped by :data:`AGG_KEYS` with their number
``n`` (a large file read in blocks: grouped block by block, so a key may recur; readers sum ``n``). The
aggregation is written in Ibis (:func:`aggregate_expr`), and runs on DuckDB (the default) or on PySpark
(``crimeassess build-aggregates --engine spark``, the optional ``crimeassess[spark]`` extra). Ingest
writes each batch's aggregate as it commits the batch, from the records still in memory (:data:`AGG_SQL`, the
same aggregation in DuckDB's SQL, tested equal; plain street CSVs arrive already counted by their reader).

The aggregate keeps ``input_id`` so the store's revision rules still apply: a query keeps an aggregate row
only when its (input, month, scope) slice is live, exactly as the ``records`` view does. API responses can
hold the same crime twice (overlapping polygons), so their rows keep ``uid`` (one row per record) and are
de-duplicated at query time; every other source's rows have ``uid`` null.

Geography is applied at query time (an LSOA lookup is a join on a small table), so loading or replacing a
lookup needs no rebuild; ``has_point`` says whether the rows carry a map point, which decides whether a row
without a known LSOA could be placed by point in polygon.

``aggregates/state.json`` maps each records file to its aggregate file with the aggregation's version; it
is written last (atomically), so a crash leaves at most an orphan file, and :func:`refresh_aggregates` builds
only what is missing (incremental: a new ingest batch adds one file). A records file a newer input
supersedes keeps its aggregate; the live-slice join drops the superseded rows, as it drops the records.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InputError, StoreError
from .schema import RECORD_SCHEMA
from .sql import has_relation, literal
from .store import API_KIND, Store, TempParquetWriter, _atomic_write, _duck_type, atomic_write_bytes, parse_size

if TYPE_CHECKING:  # pragma: no cover
    import ibis.expr.types as ir

#: Bump when the aggregation or its schema changes: every aggregate file is then rebuilt.
AGG_VERSION = 1
#: Bump when the cube's query changes (not the aggregate files): every cube is then rebuilt from them.
#: 2: API rows count once after de-duplication.
CUBE_VERSION = 3
AGG_DIR = "aggregates"
STATE_FILE = "aggregates/state.json"

#: The aggregate's columns: grouping keys (record columns or derived), then the count ``n``.
AGG_FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("input_id", pa.string(), "the input the rows came from (live-slice filtering)"),
    ("source_kind", pa.string(), "source kind"),
    ("force", pa.string(), "force slug (null when the source does not say)"),
    ("month", pa.string(), "YYYY-MM"),
    ("category_id", pa.string(), "police.uk crime type id"),
    ("is_crime", pa.bool_(), "false for anti-social behaviour"),
    ("lsoa_code", pa.string(), "LSOA code given by the source"),
    ("ward_code", pa.string(), "ward code carried by the source itself (extracts)"),
    ("lad_code", pa.string(), "local authority code carried by the source itself (extracts)"),
    ("offence_code", pa.string(), "Home Office offence code (extracts)"),
    ("knife_flag", pa.bool_(), "knife flag"),
    ("hate_flag", pa.bool_(), "hate crime flag"),
    ("domestic_flag", pa.bool_(), "domestic abuse flag"),
    ("has_point", pa.bool_(), "the rows carry a map point (longitude and latitude)"),
    ("uid", pa.string(), "the record's uid for API rows (de-duplicated at query time); null otherwise"),
    ("n", pa.int64(), "number of records"),
]
AGG_SCHEMA = pa.schema([pa.field(n, t) for n, t, _ in AGG_FIELDS])
AGG_KEYS = [n for n, _, _ in AGG_FIELDS if n != "n"]
#: Record columns the aggregation reads.
SOURCE_COLUMNS = ["uid", "input_id", "source_kind", "force", "month", "category_id", "is_crime", "lsoa_code",
                  "ward_code", "lad_code", "offence_code", "knife_flag", "hate_flag", "domestic_flag", "longitude",
                  "latitude"]
ENGINES = ("duckdb", "spark")


def aggregate_expr(t: "ir.Table") -> "ir.Table":
    """The aggregation, once, in Ibis: records (any backend's table with the record columns) → counts by
    :data:`AGG_KEYS`. The same expression runs on DuckDB and on PySpark."""
    import ibis

    t = t.select(*SOURCE_COLUMNS)
    t = t.mutate(has_point=t.longitude.notnull() & t.latitude.notnull(),
                 uid=ibis.ifelse(t.source_kind == API_KIND, t.uid, ibis.null().cast("string")))
    return t.group_by(AGG_KEYS).aggregate(n=t.count().cast("int64"))


#: :func:`aggregate_expr` as DuckDB SQL over a relation ``t`` of records, for ingest, which aggregates each
#: batch from its records in memory as it commits them (no re-read of the Parquet file, no Ibis import on the
#: command's path). Tests hold the two to the same counts on the same records.
AGG_SQL = f"""
SELECT {", ".join(k for k in AGG_KEYS if k not in ("has_point", "uid"))},
       (longitude IS NOT NULL AND latitude IS NOT NULL) AS has_point,
       CASE WHEN source_kind = {literal(API_KIND)} THEN uid ELSE CAST(NULL AS VARCHAR) END AS uid,
       count(*)::BIGINT AS n
FROM t GROUP BY ALL"""


def aggregate_tables(con: duckdb.DuckDBPyConnection, tables: list[pa.Table]) -> pa.Table:
    """The aggregate (AGG_SCHEMA) of some records tables held in memory, as :func:`aggregate_expr` gives it
    for a records file holding exactly those rows."""
    plain = pa.schema([RECORD_SCHEMA.field(c) for c in SOURCE_COLUMNS])  # (a reader may give dictionaries)
    parts = [t.select(SOURCE_COLUMNS).cast(plain) for t in tables if t.num_rows]
    if not parts:
        return AGG_SCHEMA.empty_table()
    t = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
    con.register("t", t)
    try:
        out = con.sql(AGG_SQL).to_arrow_table()
    finally:
        con.unregister("t")
    return out.select(AGG_SCHEMA.names).cast(AGG_SCHEMA)


def concat_aggregates(tables: list[pa.Table]) -> pa.Table:
    """Aggregates of different inputs as one (AGG_SCHEMA): ``input_id`` is a key, so no row needs merging."""
    parts = [t.select(AGG_SCHEMA.names).cast(AGG_SCHEMA) for t in tables if t.num_rows]
    return pa.concat_tables(parts) if parts else AGG_SCHEMA.empty_table()


def write_aggregate(st: Store, records_file: str, table: pa.Table) -> str:
    """Write the aggregate of one records file (atomically, fsynced); returns its path in the store. The state
    is not touched: :func:`add_built` lists it (until then it is an orphan that `refresh_aggregates` rebuilds)."""
    out = agg_name(records_file)
    _atomic_write(st.path / out, lambda tmp: pq.write_table(table, tmp, compression="zstd", row_group_size=1_000_000))
    return out


class CountsWriter(TempParquetWriter):
    """The aggregate of one large input, written block by block into a temporary file in the aggregates folder,
    which :func:`install_aggregate` names after the records file. A key may recur, once per block that holds
    it: every reader of the aggregates sums ``n`` by the keys it needs, so the blocks' counts need no merging
    (merging 6M rows' counts cost more than counting them)."""

    def __init__(self, st: Store) -> None:
        super().__init__(st.path / AGG_DIR, ".stream-counts-", AGG_SCHEMA, compression="zstd")

    def write(self, counts: pa.Table) -> None:
        """Append a block's counts."""
        if self._w is not None and counts.num_rows:
            self._w.write_table(counts.select(AGG_SCHEMA.names).cast(AGG_SCHEMA), row_group_size=1_000_000)


def install_aggregate(st: Store, records_file: str, merged: Path) -> str:
    """Name an aggregate written by a CountsWriter after its committed records file; returns its path in the
    store. The state is not touched (:func:`add_built`)."""
    out = agg_name(records_file)
    os.replace(merged, st.path / out)
    return out


def add_built(st: Store, built: dict[str, str]) -> None:
    """List aggregate files written by :func:`write_aggregate` in the state (the caller holds the store's
    lock); files of records no longer live are dropped from it, as :func:`refresh_aggregates` does."""
    if not built:
        return
    state = read_state(st)
    live = set(live_record_files(st))
    files = {k: v for k, v in state["files"].items() if k in live}
    files.update({k: v for k, v in built.items() if k in live and (st.path / v).exists()})
    _write_state(st, {"version": AGG_VERSION, "files": files})


# ---- state ------------------------------------------------------------------------------------------------
def _state_path(st: Store) -> Path:
    return st.path / STATE_FILE


def read_state(st: Store) -> dict[str, Any]:
    """The aggregate state: {"version", "files": {records file: aggregate file}} (empty when none)."""
    p = _state_path(st)
    try:
        s = json.loads(p.read_text())
    except FileNotFoundError:
        return {"version": AGG_VERSION, "files": {}}
    except (OSError, ValueError) as exc:
        raise StoreError(f"{p}: unreadable aggregate state ({exc}); delete it to rebuild the aggregates") from None
    if s.get("version") != AGG_VERSION:
        return {"version": AGG_VERSION, "files": {}}
    return s


def _write_state(st: Store, state: dict[str, Any]) -> None:
    (st.path / AGG_DIR).mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(_state_path(st), json.dumps(state, indent=1, sort_keys=True).encode())


def live_record_files(st: Store) -> list[str]:
    """Records files (relative paths) holding any live slice, in manifest order."""
    out = [i["records_file"] for i in st.manifest()["inputs"] if i.get("live_slices") and i.get("records_file")]
    return list(dict.fromkeys(out))


def missing(st: Store) -> list[str]:
    """Live records files without a current aggregate file."""
    have = read_state(st)["files"]
    return [f for f in live_record_files(st) if f not in have or not (st.path / have[f]).exists()]


def agg_name(records_file: str) -> str:
    """The aggregate file (relative path) of a records file."""
    return f"{AGG_DIR}/agg-{Path(records_file).stem}.parquet"


@dataclass
class AggregateReport:
    """What :func:`refresh_aggregates` did: files built (records → aggregate), rows read and written."""

    store: str
    engine: str
    built: list[str] = field(default_factory=list)
    up_to_date: int = 0
    records_rows: int = 0
    aggregate_rows: int = 0
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.store, "engine": self.engine, "built": self.built, "up_to_date": self.up_to_date,
                "records_rows": self.records_rows, "aggregate_rows": self.aggregate_rows,
                "seconds": round(self.seconds, 3), **self.details}


def _duckdb_build(st: Store, todo: list[str], progress: Callable[[int, int, str], None] | None,
                  report: AggregateReport) -> dict[str, str]:
    """Aggregate each records file with DuckDB through Ibis; streamed to Parquet (COPY), so memory stays
    within the store's memory limit at any file size (DuckDB's aggregation spills to disk)."""
    import ibis

    tmp_dir = st.path / AGG_DIR / ".tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    con = ibis.duckdb.connect(memory_limit=st.memory_limit, threads=os.cpu_count() or 2,
                              temp_directory=str(tmp_dir), preserve_insertion_order=False)
    con.con.execute("SET enable_progress_bar = false")  # no bar on the ingest's stdout under a slow machine
    built: dict[str, str] = {}
    try:
        for k, rel in enumerate(todo):
            if progress:
                progress(k, len(todo), rel)
            out = agg_name(rel)
            t = con.read_parquet(str(st.path / rel))
            expr = aggregate_expr(t)
            part = st.path / f"{out}.{os.getpid()}.tmp"
            # streamed in record batches and cast to AGG_SCHEMA exactly (DuckDB's COPY would mark columns
            # that happen to hold no null NOT NULL, so the file's schema would depend on the data)
            # (Ibis compiles; DuckDB 2.x's own reader streams: Ibis 12's batch API predates it)
            reader = con.con.sql(str(ibis.to_sql(expr, dialect="duckdb"))).to_arrow_reader(500_000)
            with pq.ParquetWriter(part, AGG_SCHEMA, compression="zstd") as w:
                for batch in reader:
                    w.write_table(pa.Table.from_batches([batch]).select(AGG_SCHEMA.names).cast(AGG_SCHEMA),
                                  row_group_size=1_000_000)
            with open(part, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(part, st.path / out)
            report.records_rows += pq.ParquetFile(st.path / rel).metadata.num_rows
            report.aggregate_rows += pq.ParquetFile(st.path / out).metadata.num_rows
            built[rel] = out
    finally:
        con.disconnect()
    return built


def refresh_aggregates(store: Store | str | os.PathLike | None = None, *, engine: str = "duckdb",
                       master: str | None = None, rebuild: bool = False,
                       progress: Callable[[int, int, str], None] | None = None, lock: bool = True) -> AggregateReport:
    """Build the aggregate of every live records file that has none (all of them with `rebuild`).

    engine "duckdb" (default) or "spark" (needs the ``crimeassess[spark]`` extra and Java 17; `master` is the
    Spark master URL, default ``local[2]``). Files are written under temporary names and renamed, the state
    last. Holds the store's write lock unless `lock` is False (the caller holds it: ingest; or the call only
    fills in missing files, which any reader may do: their content depends on the records file alone)."""
    st = store if isinstance(store, Store) else Store(store)
    if engine not in ENGINES:
        raise StoreError(f"unknown aggregation engine {engine!r}; choose from {', '.join(ENGINES)}")
    if not st.exists():
        raise StoreError(f"{st.path}: no store here (no manifest.json)")
    if lock:
        with st.lock():
            return refresh_aggregates(st, engine=engine, master=master, rebuild=rebuild, progress=progress,
                                      lock=False)
    t0 = time.perf_counter()
    state = read_state(st)
    live = live_record_files(st)
    todo = live if rebuild else missing(st)
    report = AggregateReport(str(st.path), engine, up_to_date=len(live) - len(todo))
    if todo:
        if engine == "spark":
            from .spark import build_with_spark

            built = build_with_spark(st, todo, master=master, report=report)
        else:
            built = _duckdb_build(st, todo, progress, report)
        report.built = sorted(built)
        files = {k: v for k, v in state["files"].items() if k in set(live)}
        files.update(built)
        _write_state(st, {"version": AGG_VERSION, "files": files})
    report.seconds = time.perf_counter() - t0
    return report


def try_refresh(st: Store) -> bool:
    """Bring the aggregates up to date when possible; False when they cannot be (a read-only store, a
    failure): callers then read the records themselves."""
    try:
        if missing(st):
            refresh_aggregates(st, lock=False)
        return not missing(st)
    except (OSError, StoreError, ImportError, duckdb.Error):
        return False


def register_live_aggregates(con: Any, st: Store, name: str = "agg") -> bool:
    """Create view `name` on `con`: the live aggregate rows (live slices only, API rows de-duplicated), with
    the record columns the counts use and ``n``. Needs the `live_slices` table of :meth:`Store.connect`.
    Returns False (and creates nothing) when the aggregates are not up to date."""
    if not try_refresh(st):
        return False
    files = read_state(st)["files"]
    paths = [str(st.path / files[f]) for f in live_record_files(st)]
    if not paths:
        cols = ", ".join(f"CAST(NULL AS {_duck_type(f.type)}) AS {f.name}" for f in AGG_SCHEMA)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {cols} WHERE false")
        return True
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name}_raw AS {st.live_rows_sql(sorted(set(paths)))}")
    # an API row is one crime (its uid): n is 1 even when one response listed it twice, as `records` keeps it once
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {st.dedupe_sql(f'{name}_raw', st.holds(API_KIND), count='n')}")
    return True


# ---- the geography cube -----------------------------------------------------------------------------------
#: Columns of a geography cube: the live aggregate placed in wards and local authorities by one LSOA lookup.
CUBE_COLUMNS = ["source_kind", "force", "month", "lad_code", "ward_code", "category_id", "is_crime", "offence_code",
                "knife_flag", "hate_flag", "domestic_flag", "point_only", "no_lsoa", "n"]


def _cube_key(st: Store, lookup: Path | None) -> str:
    import hashlib

    def live_hash() -> str:
        live = [(i["input_id"], i.get("live_slices")) for i in st.manifest()["inputs"] if i.get("live_slices")]
        return hashlib.sha1(json.dumps(live, sort_keys=True, default=str).encode()).hexdigest()

    live = st.derived("cube_live_hash", live_hash)  # thousands of inputs nationally: hashed once per state
    files = read_state(st)["files"]

    def stamp(p: Path) -> list[Any]:  # a rebuilt file keeps its name: its size and time tell it apart
        try:
            return [p.name, p.stat().st_size, p.stat().st_mtime_ns]
        except OSError:
            return [p.name, None, None]

    look = stamp(lookup) if lookup else None
    aggs = [(k, stamp(st.path / v)) for k, v in sorted(files.items())]
    blob = json.dumps([AGG_VERSION, CUBE_VERSION, live, aggs, look], sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


#: DuckDB's share of the store's memory budget while a cube is built (the rest is the process's own: Python,
#: Arrow); the sort spills to the store's aggregates folder beyond it. 72M rows: peak RSS 2.27 GB with all of it.
BUILD_MEMORY_SHARE = 0.6


@contextlib.contextmanager
def _build_memory(con: Any, st: Store) -> Iterator[None]:
    """DuckDB's memory limit at BUILD_MEMORY_SHARE of the store's budget (restored after), spilling under the
    aggregates folder."""
    try:
        cap = max(64 << 20, int(parse_size(st.memory_limit) * BUILD_MEMORY_SHARE))
    except InputError:
        cap = None
    if cap is None:
        yield
        return
    with contextlib.suppress(duckdb.Error):  # DuckDB refuses once the connection has spilled: then it stays
        con.execute(f"SET temp_directory = {literal(str(st.path / AGG_DIR / '.tmp'))}")  # (and cannot be reset)
    con.execute(f"SET memory_limit = '{cap >> 20}MB'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = {literal(st.memory_limit)}")


def register_cube(con: Any, st: Store, lookup: Path | None, name: str = "cube", *, lad_only: bool = False) -> bool:
    """Create view `name`: the live aggregate counts by source, force, month, local authority, ward, category,
    offence code and flags, placed by the record's own codes, else its LSOA in `lookup` (ONS best fit).

    ``point_only`` marks rows a map point alone could place (no own codes, LSOA not in the lookup, a point
    held): the cube cannot place them; whoever needs them reads the records. ``no_lsoa`` marks rows without an
    LSOA (data quality's blank-LSOA rate). The cube is persisted in the
    store (``aggregates/cube-<lookup>-<key>.parquet``, the key covering the live slices, the aggregate files
    and the lookup) and rebuilt when any of them changes. Needs the `agg` view (register_live_aggregates);
    returns False when it is absent. With `lad_only` the view is the same counts summed over wards (ward_code
    null; ``...-lad.parquet``, a twentieth of the rows nationally): comparisons between authorities read it.

    The ward cube's rows are ordered by force, local authority, ward and month (an area's or a force's rows
    lie in a few row groups, which DuckDB skips by their statistics); the authority cube's by month (comparisons
    read every authority for some months)."""
    if not has_relation(con, "agg"):
        return False
    stem = Path(lookup).stem if lookup else "none"
    key = _cube_key(st, lookup)
    path = st.path / AGG_DIR / f"cube-{stem}-{key}.parquet"
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        lk = (f"(SELECT DISTINCT lsoa_code, ward_code, lad_code FROM read_parquet({literal(str(lookup))}))" if lookup
              else "(SELECT NULL::VARCHAR lsoa_code, NULL::VARCHAR ward_code, NULL::VARCHAR lad_code WHERE false)")
        part = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            with _build_memory(con, st):
                con.execute(f"""COPY (
                SELECT a.source_kind, a.force, a.month,
                       coalesce(a.lad_code, lk.lad_code) AS lad_code, coalesce(a.ward_code, lk.ward_code) AS ward_code,
                       a.category_id, a.is_crime, a.offence_code, a.knife_flag, a.hate_flag, a.domestic_flag,
                       (a.has_point AND (coalesce(a.ward_code, lk.ward_code) IS NULL
                                         OR coalesce(a.lad_code, lk.lad_code) IS NULL)) AS point_only,
                       a.lsoa_code IS NULL AS no_lsoa, sum(a.n)::BIGINT AS n
                FROM agg a LEFT JOIN {lk} lk ON a.lsoa_code = lk.lsoa_code
                GROUP BY ALL ORDER BY force, lad_code, ward_code, month
                ) TO {literal(str(part))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)""")
            os.replace(part, path)
        except (OSError, duckdb.Error):  # a read-only store, or no memory: the caller reads the records instead
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            return False
        for old in path.parent.glob(f"cube-{stem}-*.parquet"):
            if not old.name.startswith(f"cube-{stem}-{key}"):
                old.unlink(missing_ok=True)
    if lad_only:
        lad = path.with_name(f"cube-{stem}-{key}-lad.parquet")
        if not lad.exists():
            part = lad.with_name(f"{lad.name}.{os.getpid()}.tmp")
            cols = ", ".join("NULL::VARCHAR AS ward_code" if c == "ward_code" else c for c in CUBE_COLUMNS if c != "n")
            try:
                con.execute(f"COPY (SELECT {cols}, sum(n)::BIGINT AS n FROM read_parquet({literal(str(path))}) "
                            f"GROUP BY ALL ORDER BY month, lad_code) TO {literal(str(part))} "
                            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 200000)")
                os.replace(part, lad)
            except (OSError, duckdb.Error):
                with contextlib.suppress(OSError):
                    part.unlink(missing_ok=True)
                lad = path  # the ward cube, summed by whoever reads it
        path = lad
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet({literal(str(path))})")
    return True
