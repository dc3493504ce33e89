"""Vectorised police.uk street-CSV reader (pyarrow): same records and quarantine as the row-by-row reader,
at many times the speed. It declines (returns None) whenever line numbers could be ambiguous — invalid UTF-8,
blank lines, quoted newlines — and the row-by-row reader in `policeuk.py` handles those files."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..schema import ASB_ID, CRIME_TYPES, RECORD_SCHEMA, force_slug
from .base import ReadResult
from .policeuk import UK_LAT, UK_LON, duplicate_reason, future_reason, latest_month

_MONTH = r"^(20\d\d|2100)-(0[1-9]|1[0-2])$"
_FLOAT = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_LABELS = list(CRIME_TYPES.values())
_IDS = list(CRIME_TYPES.keys())


def _read(data: bytes, header: list[str], threads: bool) -> tuple[pa.Table, list[tuple[int | None, str]]]:
    bad: list[tuple[int | None, str]] = []

    def handler(row: pacsv.InvalidRow) -> str:
        bad.append((row.number, row.text))
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=threads, column_names=[f"c{i}" for i in range(len(header))],
                                       skip_rows=1, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(invalid_row_handler=handler, newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(column_types={f"c{i}": pa.string() for i in range(len(header))},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    return table, bad


def _nullify_empty(a: pa.ChunkedArray) -> pa.ChunkedArray:
    a = pc.utf8_trim_whitespace(a)
    return pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.string()), a)


def read_street_csv_fast(data: bytes, header: list[str], *, input_id: str, display_name: str,
                         today: date | None = None, line_offset: int = 0) -> ReadResult | None:
    """Read a police.uk street CSV (header already recognised) or return None to defer to the slow reader.

    ``line_offset``: data lines of the same file before ``data`` (a block of a large file, read with its
    header line in front by :func:`street_blocks`); line numbers, uids and reasons are the whole file's.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        return None  # the row reader quarantines rows holding NUL bytes
    latest = latest_month(today)
    if b"\n\n" in data or b"\n\r\n" in data or b"\r\r" in data or _quoted_newline(data):
        return None
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None  # a lone CR is a line break to both parsers, but not to the line count here
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # invalid UTF-8: the row reader quarantines the rows (pyarrow cannot even show them)
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        # pyarrow checks UTF-8: a file with invalid bytes raises here and goes to the row reader
        table, bad = _read(data, header, threads=True)
        if bad:
            table, bad = _read(data, header, threads=False)  # only single-threaded reads number the bad rows
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if any(num is None for num, _ in bad) or 1 + table.num_rows + len(bad) != n_lines:
        return None
    if len(data) >= FIELD_LIMIT - 1 and _longest_field(table, bad) >= FIELD_LIMIT - 1:
        return None  # the row reader quarantines rows with a field over the csv module's limit
    ncols = len(header)
    bad_lines = {num + line_offset: txt for num, txt in bad}
    lines = np.arange(2 + line_offset, n_lines + 1 + line_offset, dtype=np.int64)
    if bad_lines:
        lines = lines[~np.isin(lines, np.fromiter(bad_lines, dtype=np.int64))]
    try:  # fields counted as the csv module counts them (a quoted comma is not a separator)
        quarantine = [{"file": display_name, "line": int(num), "raw": txt.rstrip("\r"),
                       "reason": f"wrong number of fields: expected {ncols}, got {len(next(csv.reader([txt])))}"}
                      for num, txt in sorted(bad_lines.items())]
    except (csv.Error, StopIteration):
        return None  # the row reader says why the row cannot be parsed

    col = {name: table.column(f"c{i}") for i, name in enumerate(header)}
    month = pc.utf8_trim_whitespace(col["Month"])
    month_valid = pc.match_substring_regex(month, _MONTH)
    month_ok = pc.and_(month_valid, pc.less_equal(month, pa.scalar(latest)))
    ctype_idx = pc.index_in(pc.utf8_lower(pc.utf8_trim_whitespace(col["Crime type"])),
                            value_set=pa.array([lab.lower() for lab in _LABELS]))
    type_ok = pc.is_valid(ctype_idx)
    lon_s, lat_s = pc.utf8_trim_whitespace(col["Longitude"]), pc.utf8_trim_whitespace(col["Latitude"])
    both_empty = pc.and_(pc.equal(lon_s, ""), pc.equal(lat_s, ""))
    numeric = pc.and_(pc.match_substring_regex(lon_s, _FLOAT), pc.match_substring_regex(lat_s, _FLOAT))
    lon = pc.cast(pc.if_else(numeric, lon_s, pa.scalar(None, pa.string())), pa.float64())
    lat = pc.cast(pc.if_else(numeric, lat_s, pa.scalar(None, pa.string())), pa.float64())
    in_uk = pc.and_(pc.and_(pc.greater_equal(lon, UK_LON[0]), pc.less_equal(lon, UK_LON[1])),
                    pc.and_(pc.greater_equal(lat, UK_LAT[0]), pc.less_equal(lat, UK_LAT[1])))
    coords_ok = pc.or_(both_empty, pc.fill_null(in_uk, False))
    ok = pc.and_(pc.and_(month_ok, type_ok), coords_ok).to_numpy(zero_copy_only=False)
    # A Crime ID repeated within the file: the first valid row keeps it, later ones are quarantined.
    dup_of: dict[int, int] = {}  # row index -> line that first loaded the same Crime ID
    cid = pc.utf8_trim_whitespace(col["Crime ID"])
    ok_idx = np.flatnonzero(ok)
    cid_ok = pc.take(cid, pa.array(ok_idx, pa.int64()))
    nonblank = pc.sum(pc.not_equal(cid_ok, "")).as_py() or 0
    if pc.count_distinct(pc.filter(cid_ok, pc.not_equal(cid_ok, ""))).as_py() < nonblank:
        first: dict[str, int] = {}
        for i, v in zip(ok_idx.tolist(), cid_ok.to_pylist()):
            if not v:
                continue
            if v in first:
                dup_of[i] = first[v]
            else:
                first[v] = int(lines[i])
        ok = ok.copy()
        ok[list(dup_of)] = False

    if not ok.all():
        starts = np.concatenate([[0], np.flatnonzero(np.frombuffer(data, np.uint8) == 10) + 1])

        def raw_line(line: int) -> str:
            line -= line_offset
            a, b = starts[line - 1], (starts[line] if line < len(starts) else len(data))
            return data[a:b].decode("utf-8").rstrip("\r\n")

        m_ok = month_valid.to_numpy(zero_copy_only=False)
        f_ok = month_ok.to_numpy(zero_copy_only=False)
        t_ok = type_ok.to_numpy(zero_copy_only=False)
        num_ok = numeric.to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(~ok):
            line = int(lines[i])
            raw = raw_line(line)
            if int(i) in dup_of:
                reason = duplicate_reason(cid[int(i)].as_py(), dup_of[int(i)])
            elif not m_ok[i]:
                reason = f"invalid month {month[int(i)].as_py()!r}"
            elif not f_ok[i]:
                reason = future_reason(month[int(i)].as_py(), latest)
            elif not t_ok[i]:
                reason = f"unknown crime type {col['Crime type'][int(i)].as_py()!r}"
            elif not num_ok[i]:
                reason = f"invalid coordinates ({lon_s[int(i)].as_py()!r}, {lat_s[int(i)].as_py()!r})"
            else:
                reason = f"coordinates outside the UK ({lon[int(i)].as_py()}, {lat[int(i)].as_py()})"
            quarantine.append({"file": display_name, "line": line, "reason": reason, "raw": raw})
        quarantine.sort(key=lambda q: q["line"])
    keep = pa.array(ok)
    t = pa.table({**col, "_lon": lon, "_lat": lat, "_ct": ctype_idx}).filter(keep)
    lines_kept = lines[ok]
    n = t.num_rows
    ids = pa.array(_IDS)
    cat = pc.take(ids, t.column("_ct"))
    falls = _nullify_empty(t.column("Falls within"))
    uniq = pc.unique(falls).to_pylist()
    slugs = {v: force_slug(v) for v in uniq if v}
    force = pc.take(pa.array([slugs.get(v) for v in uniq], pa.string()), pc.index_in(falls, value_set=pa.array(uniq, pa.string())))
    line_arr = pa.array(lines_kept, pa.int64())
    arrays = {
        "uid": pc.binary_join_element_wise(pa.scalar(input_id), pc.cast(line_arr, pa.string()), ":"),
        "record_id": _nullify_empty(t.column("Crime ID")),
        "input_id": _const(input_id, n),
        "source_kind": _const("police-uk-street", n),
        "force": force,
        "force_name": falls,
        "month": pc.utf8_trim_whitespace(t.column("Month")),
        "category_id": cat,
        "crime_type": pc.take(pa.array(_LABELS), t.column("_ct")),
        "is_crime": pc.not_equal(cat, ASB_ID),
        "outcome": _nullify_empty(t.column("Last outcome category")),
        "longitude": t.column("_lon"),
        "latitude": t.column("_lat"),
        "location": _nullify_empty(t.column("Location")),
        "lsoa_code": _nullify_empty(t.column("LSOA code")),
        "lsoa_name": _nullify_empty(t.column("LSOA name")),
        "context": _nullify_empty(t.column("Context")) if "Context" in col else pa.nulls(n, pa.string()),
        "line": line_arr,
    }
    out = pa.table({f.name: (arrays[f.name] if f.name in arrays else pa.nulls(n, f.type)) for f in RECORD_SCHEMA},
                   schema=RECORD_SCHEMA)
    if out.num_rows + len(quarantine) == 0:
        return None
    months = sorted(pc.unique(out.column("month")).to_pylist())
    forces = sorted(v for v in set(pc.unique(force).to_pylist()) if v)
    names = sorted(v for v in uniq if v)
    res = ReadResult(kind="police-uk-street", force=",".join(forces) or None, records=out, quarantine=quarantine,
                     rows_read=out.num_rows + len(quarantine), months=months, force_name=", ".join(names) or None)
    res.check()
    return res


def street_blocks(path: Path, block_bytes: int) -> Iterator[tuple[bytes, int, int]]:
    """A large street CSV in blocks of about ``block_bytes``, cut at line ends, each with the file's header line
    in front: yields (block, data lines before it, data lines in it) for ``read_street_csv_fast(...,
    line_offset=)`` (a last line without its line end counts)."""
    with open(path, "rb") as fh:
        head = fh.readline()
        offset = 0
        carry = b""  # the start of a line cut by the last read (never holds a line end)
        while True:
            chunk = fh.read(block_bytes)
            if not chunk:
                if carry:
                    yield head + carry, offset, 1
                return
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:  # one line longer than a block: read on
                carry += chunk
                continue
            block = b"".join([head, carry, memoryview(chunk)[:cut]])  # one copy
            carry = chunk[cut:]
            del chunk
            n = block.count(b"\n") - head.count(b"\n")
            yield block, offset, n
            offset += n


#: Longest field the row reader's csv module accepts (csv.field_size_limit()); longer rows are quarantined.
FIELD_LIMIT = 131072


def _longest_field(table: pa.Table, bad: list[tuple[int | None, str]]) -> int:
    """The longest parsed field, or the longest whole row among rows with the wrong number of fields."""
    longest = max((len(t) for _, t in bad), default=0)
    for col in table.columns:
        longest = max(longest, pc.max(pc.binary_length(col)).as_py() or 0)
    return longest


def _const(value: str, n: int) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value])).cast(pa.string())


def _quoted_newline(data: bytes) -> bool:
    """True if some line holds an odd number of double quotes, i.e. a quoted field may span lines."""
    if b'"' not in data:
        return False
    b = np.frombuffer(data, np.uint8)
    quotes = np.flatnonzero(b == 34)
    line_of = np.searchsorted(np.flatnonzero(b == 10), quotes)
    return bool((np.bincount(line_of) % 2).any())
