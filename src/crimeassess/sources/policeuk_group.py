"""Many police.uk street CSVs read at once: one multi-threaded pyarrow parse of their concatenated rows,
validated and normalised by DuckDB (both cores), then split back into one ReadResult per file.

Only *plain* files take this path (:func:`eligible`): the exact standard 12-column header, ASCII only, no
control bytes but line ends (CRLF only as a pair), no double quotes; no blank lines (found by the row count);
and (tested row by row when the group is read) no field starting or ending with a space or as long as the
csv module's field limit. For those, trimming, lower-casing and number parsing are the same in DuckDB, pyarrow
and Python, so a row DuckDB accepts is a row both readers of ``policeuk.py`` / ``policeuk_fast.py`` accept,
with the same values. A file with any row the checks reject (bad month, type or coordinates, a repeated
Crime ID, an over-long field) or a group that fails to parse is *not* read here (None): the caller reads it
with the ordinary reader, which quarantines its rows with their reasons. Nothing is dropped and no reason is
decided here.
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..schema import ASB_ID, CRIME_TYPES, RECORD_SCHEMA, force_slug
from .base import ReadResult
from .policeuk import STREET_HEADER, UK_LAT, UK_LON, latest_month
from .policeuk_fast import _FLOAT, _MONTH, FIELD_LIMIT

KIND = "police-uk-street"
_HEADER = ",".join(STREET_HEADER).encode()
_ALLOWED = bytes(range(32, 127)) + b"\n\r"
_NCOLS = len(STREET_HEADER)
_COLS = [f"c{i}" for i in range(_NCOLS)]
_LABELS = list(CRIME_TYPES.values())
_IDS = list(CRIME_TYPES.keys())


@dataclass
class Part:
    """One file (or one block of a large file) to read: its bytes, header line included."""

    data: bytes | memoryview
    input_id: str
    display_name: str
    line_offset: int = 0  # data lines of the same file before this block
    lines: int | None = None  # its data lines, when already counted (plain_lines)


def header_length(data: bytes | memoryview) -> int:
    """Bytes of the standard street header line (with its line end) at the start of ``data``; 0 if not."""
    head = bytes(data[: len(_HEADER) + 2])
    if head.startswith(_HEADER + b"\n"):
        return len(_HEADER) + 1
    if head.startswith(_HEADER + b"\r\n"):
        return len(_HEADER) + 2
    return 0


def eligible(data: bytes) -> bool:
    """True when a street CSV is plain enough for :func:`read_street_group` (see the module's docstring): the
    byte-level part of the test; spaces at a field's ends (in the group's SQL) and over-long fields
    (:func:`_long_field_parts`) are found when the group is read."""
    h = header_length(data)
    if not h or len(data) == h or data[h:h + 1] in (b"\n", b"\r"):
        return False  # another header, no rows, or a blank line 2
    if not data.isascii() or b'"' in data:
        return False  # not ASCII, quotes (a blank line is found by the group's row count: _blank_line)
    if data.translate(None, _ALLOWED):
        return False  # a control byte (NUL, tab, ...) other than line ends
    return b"\r" not in data or data.count(b"\r") == data.count(b"\r\n")  # no lone CR


def plain_lines(data: bytes) -> int | None:
    """The data lines of a file :func:`eligible` accepts (for :class:`Part`), None for any other file."""
    return _lines(data, header_length(data)) if eligible(data) else None


def _blank_line(data: bytes | memoryview) -> bool:
    b = bytes(data) if isinstance(data, memoryview) else data
    return b"\n\n" in b or b"\n\r\n" in b


def _lines(data: bytes, start: int) -> int:
    """Lines of ``data[start:]`` (a last line without its line end counts), counted without a copy."""
    return data.count(b"\n", start) + (0 if data.endswith(b"\n") or len(data) == start else 1)


#: Columns whose values the ordinary readers store trimmed and the group stores as they are: a space at either
#: end sends the file to the ordinary reader. Month (1), longitude and latitude (4, 5) and crime type (9) need
#: no test of their own: their checks (a full regular expression match, an exact label) already reject a value
#: with a space at either end; "Reported by" (2) is not stored and its value is never looked at.
_TRIMMED = (0, 3, 6, 7, 8, 10, 11)

_MONTH_RE = re.compile(_MONTH, re.ASCII)
_FLOAT_FULL = _FLOAT  # anchored: Arrow's regular expressions (RE2, as DuckDB's) must match the whole field
_LABEL_INDEX = {lab.lower(): k + 1 for k, lab in enumerate(_LABELS)}  # 1-based, 0 for none


@dataclass
class _Checked:
    """The rows' derived columns and the test each row must pass to be read here (the readers' rules)."""

    ti: pa.Array  # crime type's 1-based index in _LABELS (case-insensitive), 0 when none
    months: pa.DictionaryArray  # the month column, dictionary-encoded
    lon: pa.Array  # coordinates, both or neither
    lat: pa.Array
    ok: np.ndarray  # bool: the row is one both ordinary readers load as it is


def _by_value(col: pa.ChunkedArray | pa.DictionaryArray, fn) -> pa.Array:  # noqa: ANN001
    """fn applied to each distinct value of a low-cardinality column (months, crime types), spread to its rows
    (null where the row is null): a few dozen calls instead of one per row."""
    d = col if isinstance(col, pa.DictionaryArray) else pc.dictionary_encode(col.combine_chunks())
    return pc.take(fn(d.dictionary.to_pylist()), d.indices)


def _spaced(table: pa.Table) -> np.ndarray:
    """Rows with a field of the _TRIMMED columns that starts or ends with a space: its first and last bytes,
    read from the Arrow buffers (offsets) without a copy of any string."""
    out = np.zeros(table.num_rows, bool)
    for i in _TRIMMED:
        pos = 0
        for ch in table.column(f"c{i}").chunks:
            m = len(ch)
            if m and ch.null_count < m:
                if ch.type != pa.string() or ch.buffers()[2] is None:  # (the parse gives string: else the plain way)
                    hit = pc.fill_null(pc.or_(pc.starts_with(ch, " "), pc.ends_with(ch, " ")), False)
                    out[pos:pos + m] |= hit.to_numpy(zero_copy_only=False)
                else:
                    offs = np.frombuffer(ch.buffers()[1], np.int32, m + 1, ch.offset * 4)
                    data = np.frombuffer(ch.buffers()[2], np.uint8)
                    rows = np.flatnonzero(offs[1:] > offs[:-1])  # non-empty (a null is empty)
                    if ch.null_count:
                        rows = rows[ch.is_valid().to_numpy(zero_copy_only=False)[rows]]
                    hit = (data[offs[rows]] == 32) | (data[offs[rows + 1] - 1] == 32)
                    out[pos + rows[hit]] = True
            pos += m
    return out


def _points(c4: pa.ChunkedArray, c5: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """Longitude and latitude where both are numbers the readers accept, else null. Arrow's cast accepts every
    string the readers' pattern accepts, with the same value, and beyond it only "nan", "inf" and their kin,
    which the UK bounds reject as the pattern would; when it cannot cast a field, the pattern decides."""
    try:
        x, y = pc.cast(c4, pa.float64()), pc.cast(c5, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        fine = pc.and_(pc.match_substring_regex(c4, _FLOAT_FULL), pc.match_substring_regex(c5, _FLOAT_FULL))
        x = pc.cast(pc.if_else(fine, c4, pa.scalar(None, pa.string())), pa.float64())
        y = pc.cast(pc.if_else(fine, c5, pa.scalar(None, pa.string())), pa.float64())
    both = pc.and_(pc.is_valid(x), pc.is_valid(y))
    null = pa.scalar(None, pa.float64())
    return pc.if_else(both, x, null).combine_chunks(), pc.if_else(both, y, null).combine_chunks()


def _check(table: pa.Table, latest: str) -> _Checked:
    """Each row's checks, as ``policeuk.py`` / ``policeuk_fast.py`` make them: a valid month not after
    `latest`, a known crime type, no field of _TRIMMED with a space at either end, and coordinates both
    absent or both numbers inside the UK's bounds."""
    months = pc.dictionary_encode(table.column("c1").combine_chunks())
    month_ok = _by_value(months, lambda vs: pa.array(
        [bool(_MONTH_RE.fullmatch(v)) and v <= latest for v in vs], pa.bool_()))
    ti = pc.fill_null(_by_value(table.column("c9"), lambda vs: pa.array(
        [_LABEL_INDEX.get(v.lower(), 0) for v in vs], pa.int32())), 0)
    lon, lat = _points(table.column("c4"), table.column("c5"))
    inside = pc.and_kleene(pc.and_kleene(pc.greater_equal(lon, UK_LON[0]), pc.less_equal(lon, UK_LON[1])),
                           pc.and_kleene(pc.greater_equal(lat, UK_LAT[0]), pc.less_equal(lat, UK_LAT[1])))
    neither = pc.and_(pc.is_null(table.column("c4")), pc.is_null(table.column("c5")))
    ok = pc.and_(pc.and_(pc.fill_null(month_ok, False), pc.greater(ti, 0)),
                 pc.or_(neither, pc.fill_null(inside, False)))
    return _Checked(ti, months, lon, lat, np.asarray(ok.combine_chunks() if isinstance(ok, pa.ChunkedArray) else ok,
                                             dtype=bool) & ~_spaced(table))


def _by_type(ti: pa.Array, values: list[str]) -> pa.DictionaryArray:
    """A crime type's id or label for each row from its 1-based index (0: none, null), dictionary-encoded."""
    idx = pc.subtract(ti, pa.scalar(1, pa.int32()))
    return pa.DictionaryArray.from_arrays(pc.if_else(pc.greater(ti, 0), idx, pa.scalar(None, pa.int32())),
                                          pa.array(values, pa.string()))


def _codes(col: pa.ChunkedArray | pa.DictionaryArray) -> tuple[np.ndarray, pa.Array, int]:
    """A column's dictionary codes (null as the dictionary's length), its dictionary and the codes' range."""
    d = col if isinstance(col, pa.DictionaryArray) else pc.dictionary_encode(col.combine_chunks())
    k = len(d.dictionary)
    return pc.fill_null(d.indices, k).to_numpy().astype(np.int64), d.dictionary, k + 1


def _count_rows(fi: np.ndarray, nparts: int, table: pa.Table, chk: _Checked, hp: pa.Array) -> pa.Table | None:
    """The rows counted by (file, force name, month, type index, LSOA, has point), sorted by file: each row's
    codes packed into one integer and counted by numpy (a sort of integers, not a hash of strings). None when
    the codes would not fit in 62 bits."""
    a3, d3, n3 = _codes(table.column("c3"))
    a1, d1, n1 = _codes(chk.months)
    a7, d7, n7 = _codes(table.column("c7"))
    nt = len(_LABELS) + 1
    if nparts * n3 * n1 * nt * n7 * 2 >= 1 << 62:
        return None
    key = fi.astype(np.int64)
    for codes, size in ((a3, n3), (a1, n1), (pc.fill_null(chk.ti, 0).to_numpy().astype(np.int64), nt), (a7, n7)):
        key = key * size + codes
    key = key * 2 + np.asarray(hp.combine_chunks() if isinstance(hp, pa.ChunkedArray) else hp, dtype=np.int64)
    uniq, n = np.unique(key, return_counts=True)  # sorted: by file first
    out = {}
    for name, size in (("hp", 2), ("c7", n7), ("ti", nt), ("c1", n1), ("c3", n3)):
        out[name] = uniq % size
        uniq = uniq // size

    def values(codes: np.ndarray, dictionary: pa.Array, size: int) -> pa.Array:
        return pc.take(dictionary, pa.array(codes, mask=codes == size - 1))

    return pa.table({"_f": pa.array(uniq.astype(np.int32)), "c3": values(out["c3"], d3, n3),
                     "c1": values(out["c1"], d1, n1), "ti": pa.array(out["ti"].astype(np.int32)),
                     "c7": values(out["c7"], d7, n7), "hp": pa.array(out["hp"].astype(bool)),
                     "n": pa.array(n.astype(np.int64))})


#: The aggregate's keys (aggregate.AGG_KEYS) a street CSV never fills: null in every count row.
_UNFILLED = ("ward_code", "lad_code", "offence_code", "knife_flag", "hate_flag", "domestic_flag", "uid")


def _tally(cnt: pa.Table, parts: list[Part], names: list[str | None], slugs: pa.Array) -> pa.Table:
    """The group's counts (file, force name, month, type index, LSOA, has point, n) as the aggregate's rows
    (aggregate.AGG_SCHEMA's names, record types): what aggregating the group's records would give."""
    f = cnt.column("_f")
    ti = cnt.column("ti")
    m = cnt.num_rows
    cols = {
        "input_id": pc.take(pa.array([p.input_id for p in parts], pa.string()), f),
        "source_kind": pa.DictionaryArray.from_arrays(pa.array(np.zeros(m, np.int32)), pa.array([KIND])
                                                      ).cast(pa.string()),
        "force": pc.take(slugs, pc.index_in(cnt.column("c3"), value_set=pa.array(names, pa.string()))),
        "month": cnt.column("c1"),
        "category_id": pc.take(pa.array([None] + _IDS, pa.string()), ti),
        "is_crime": pc.not_equal(ti, pa.scalar(_IDS.index(ASB_ID) + 1, pa.int32())),
        "lsoa_code": cnt.column("c7"),
        "has_point": cnt.column("hp"),
        "n": cnt.column("n"),
    }
    cols.update({c: pa.nulls(m, RECORD_SCHEMA.field(c).type) for c in _UNFILLED})
    return pa.table(cols)


def _long_field_parts(table: pa.Table, f_idx: pa.Array) -> set[int]:
    """Parts holding a field (any column) as long as the csv module's field limit, whose row the ordinary
    readers quarantine: from the parsed columns' lengths (their offsets; no string is read)."""
    out: set[int] = set()
    for col in table.columns:
        lengths = pc.binary_length(col)
        if (pc.max(lengths).as_py() or 0) >= FIELD_LIMIT - 1:
            long_rows = pc.fill_null(pc.greater_equal(lengths, FIELD_LIMIT - 1), False)
            out |= set(pc.unique(pc.filter(f_idx, long_rows)).to_pylist())
    return out


class GroupContext:
    """What the successive :func:`read_street_group` calls of one ingest share: one DuckDB connection and one
    buffer for a group's rows, reused. A fresh buffer per group costs a page fault per 4 KiB touched, and a
    fresh connection its start-up: together about a quarter of a 6M-row ingest's CPU. Used by one thread."""

    def __init__(self, memory_limit: str = "2GB") -> None:
        self.memory_limit = memory_limit
        self._con: duckdb.DuckDBPyConnection | None = None
        self._buf = bytearray()

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(":memory:", config={"memory_limit": self.memory_limit})
            self._con.execute("SET enable_progress_bar = false")  # no bar on stdout under a slow machine
        return self._con

    def buffer(self, size: int) -> memoryview:
        """A writable buffer of at least `size` bytes (the same one while it is large enough). Its content is
        only read by the parse, which copies every value out, so the next group may overwrite it."""
        if len(self._buf) < size:
            self._buf = bytearray(int(size * 1.25))  # (a view of the old one may still be alive: not resized)
        return memoryview(self._buf)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        self._buf = bytearray()


def read_street_group(parts: list[Part], *, memory_limit: str = "2GB", today: date | None = None,
                      context: GroupContext | None = None,
                      ) -> list[tuple[ReadResult, set[tuple[str, str]]] | None]:
    """Read eligible street CSVs together. For each part, (its ReadResult, its (force, month) pairs) or None
    when the part must be read by the ordinary reader (a row it would quarantine, or the group did not parse).

    Records, line numbers and uids are those of ``read_street_csv_fast`` on the same part (the columns of
    ``store.DICT_WRITE`` dictionary-encoded, as the store writes them). `context` shares a
    connection and buffer between calls (the caller closes it); without it, the call makes its own.
    """
    out: list[tuple[ReadResult, set[tuple[str, str]]] | None] = [None] * len(parts)
    if not parts:
        return out
    ctx = context or GroupContext(memory_limit)
    try:
        return _read_group(parts, ctx, today, out)
    finally:
        if context is None:
            ctx.close()


def _read_group(parts: list[Part], ctx: GroupContext, today: date | None,
                out: list[tuple[ReadResult, set[tuple[str, str]]] | None]) -> list[tuple[ReadResult, set[tuple[str, str]]] | None]:
    bodies, counts = [], []
    for p in parts:
        data = bytes(p.data) if isinstance(p.data, memoryview) else p.data
        h = header_length(data)
        counts.append(p.lines if p.lines is not None else _lines(data, h))
        bodies.append(memoryview(data)[h:])
        if not data.endswith(b"\n"):
            bodies.append(b"\n")
    # one part: its rows as they are (no copy); several: their rows one after another in the shared buffer
    if len(bodies) == 1:
        buf = pa.py_buffer(bodies[0])
    else:
        total = sum(len(b) for b in bodies)
        mv, pos = ctx.buffer(total), 0
        for b in bodies:
            mv[pos:pos + len(b)] = b
            pos += len(b)
        buf = pa.py_buffer(mv[:total])
        del mv
    del bodies
    try:  # eligible files hold no quotes: an empty field is null (the readers' blank), nothing else is
        table = pacsv.read_csv(
            pa.BufferReader(buf),
            read_options=pacsv.ReadOptions(use_threads=True, column_names=_COLS, block_size=1 << 22),
            # (eligible files hold no double quote: no quoting to look for)
            parse_options=pacsv.ParseOptions(quote_char=False, newlines_in_values=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in _COLS}, null_values=[""],
                                                 strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return out  # a row with the wrong number of fields somewhere: every part to the ordinary reader
    del buf
    if table.num_rows != sum(counts):  # blank lines were skipped: leave their files to the ordinary reader
        del table
        keep = [k for k, p in enumerate(parts) if not _blank_line(p.data)]
        if len(keep) == len(parts):
            return out
        again = read_street_group([parts[k] for k in keep], today=today, context=ctx)
        for k, r in zip(keep, again):
            out[k] = r
        return out
    fi = np.repeat(np.arange(len(parts), dtype=np.int32), counts)
    f_idx = pa.array(fi)
    line = pa.array(np.concatenate([np.arange(2 + p.line_offset, 2 + p.line_offset + n, dtype=np.int64)
                                    for p, n in zip(parts, counts)]) if parts else np.zeros(0, np.int64))
    chk = _check(table, latest_month(today))
    bad = set(np.unique(fi[~chk.ok]).tolist())
    t = table.append_column("_f", f_idx)
    con = ctx.connection()
    try:
        con.register("t", t)
        bad |= _long_field_parts(table, f_idx)
        # a Crime ID repeated within a file (the ordinary reader quarantines the repeats): distinct 64-bit
        # hashes in the whole group first (Crime IDs are unique nationally), the exact test only if not
        ((ids, distinct),) = con.sql("SELECT count(*), count(DISTINCT hash(c0)) FROM t WHERE c0 IS NOT NULL").fetchall()
        if distinct < ids:
            bad |= {f for (f,) in con.sql("""SELECT DISTINCT _f FROM (SELECT _f FROM t WHERE c0 IS NOT NULL
                                             GROUP BY _f, c0 HAVING count(*) > 1)""").fetchall()}
        # the records counted by the aggregate's keys (aggregate.py): here from the parsed columns, a third of
        # the work of grouping the finished records; (file, force, month) pairs follow from them
        hp = pc.is_valid(chk.lon)  # (both or neither)
        cnt = _count_rows(fi, len(parts), table, chk, hp)
        if cnt is None:  # (codes too many for one 62-bit key: DuckDB groups the strings)
            con.register("k", pa.table({"_f": f_idx, "c3": table.column("c3"), "c1": table.column("c1"),
                                        "ti": chk.ti, "c7": table.column("c7"), "hp": hp}))
            cnt = con.sql("SELECT _f, c3, c1, ti, c7, hp, count(*)::BIGINT AS n FROM k GROUP BY ALL ORDER BY _f"
                          ).to_arrow_table()
        groups = cnt.group_by(["_f", "c3", "c1"], use_threads=False).aggregate([]).to_pylist()
    except duckdb.Error:
        return out  # e.g. out of memory under a tiny budget: the ordinary reader needs less
    finally:
        for view in ("t", "k"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(view)
    del t
    col = dict(zip(table.column_names, table.columns))
    falls = col["c3"]
    names = pc.unique(falls).to_pylist()
    slugs = pa.array([force_slug(v) if v else None for v in names], pa.string())
    ti = chk.ti
    # uid: "<input id>:<line>", as the ordinary readers make it
    uid = pc.binary_join_element_wise(pc.take(pa.array([f"{p.input_id}:" for p in parts], pa.string()), f_idx),
                                      pc.cast(line, pa.string()), "")
    n = table.num_rows
    force_codes = pc.index_in(falls, value_set=pa.array(names, pa.string()))
    if isinstance(force_codes, pa.ChunkedArray):
        force_codes = force_codes.combine_chunks()
    arrays = {
        "uid": uid,
        "record_id": col["c0"],
        # (dictionary-encoded, as the store writes them: store.DICT_WRITE)
        "input_id": pa.DictionaryArray.from_arrays(f_idx, pa.array([p.input_id for p in parts], pa.string())),
        "source_kind": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([KIND])),
        "force": pa.DictionaryArray.from_arrays(force_codes, slugs),
        "force_name": falls,
        "month": col["c1"],
        "category_id": _by_type(ti, _IDS),
        "crime_type": _by_type(ti, _LABELS),
        "is_crime": pc.not_equal(ti, pa.scalar(_IDS.index(ASB_ID) + 1, pa.int32())),
        "outcome": col["c10"],
        "longitude": chk.lon,
        "latitude": chk.lat,
        "location": col["c6"],
        "lsoa_code": col["c7"],
        "lsoa_name": col["c8"],
        "context": col["c11"],
        "line": line,
    }
    recs = pa.table({f.name: (arrays[f.name] if f.name in arrays else pa.nulls(n, f.type)) for f in RECORD_SCHEMA})
    del chk, arrays, table, col
    tally = _tally(cnt, parts, names, slugs)
    cut = np.searchsorted(cnt.column("_f").to_numpy(), np.arange(len(parts) + 1), side="left")
    del cnt
    per: dict[int, list[tuple[str | None, str]]] = {}
    for g in groups:
        per.setdefault(g["_f"], []).append((g["c3"], g["c1"]))
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    for k, _p in enumerate(parts):
        if k in bad or counts[k] == 0:
            continue
        a, b = int(starts[k]), int(starts[k + 1])
        fm = per.get(k, [])
        pairs = {(force_slug(fw) if fw else "", m) for fw, m in fm}
        fnames = sorted({fw for fw, _ in fm if fw})
        forces = sorted({force_slug(fw) for fw in fnames})
        r = ReadResult(kind=KIND, force=",".join(forces) or None, records=recs.slice(a, b - a), quarantine=[],
                       rows_read=b - a, months=sorted({m for _, m in fm}), force_name=", ".join(fnames) or None,
                       counts=tally.slice(int(cut[k]), int(cut[k + 1] - cut[k])))
        r.check()
        out[k] = (r, pairs)
    return out
