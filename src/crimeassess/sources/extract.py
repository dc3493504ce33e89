"""Reader for a force's own crime extract in the canonical CSV layout (see docs/extract-schema.md).

One row per recorded crime: ``crime_id``, ``recorded_date`` and a Home Office ``offence_code`` are required;
ward/LSOA/local authority, coordinates (WGS84 or British National Grid), knife/hate/domestic flags and a few
descriptive columns are optional. A TOML mapping file lets a force's own export (other column names, other
flag values, another date format) load unedited. Bad rows are quarantined with a reason, never dropped.
"""
from __future__ import annotations

import codecs
import csv
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..classify import offences as ho
from ..errors import InputError, MappingError
from ..schema import CRIME_TYPES, force_slug
from .base import LineTap, ReadResult, records_table

KIND = "extract"
REQUIRED_COLUMNS: tuple[str, ...] = ("crime_id", "recorded_date", "offence_code")
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "offence_description", "lsoa_code", "ward_code", "ward_name", "local_authority_code",
    "local_authority_name", "latitude", "longitude", "easting", "northing", "knife_flag", "hate_flag",
    "domestic_flag", "outcome", "location_type", "occurred_time", "force",
)
CANONICAL_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
FLAG_COLUMNS: tuple[str, ...] = ("knife_flag", "hate_flag", "domestic_flag")

DEFAULT_TRUE = frozenset({"y", "yes", "1", "true", "t"})
DEFAULT_FALSE = frozenset({"n", "no", "0", "false", "f"})

#: Earliest recorded date accepted; later than today is also rejected.
MIN_DATE = date(2000, 1, 1)
# A generous box around the UK (incl. Northern Ireland, Scilly, Shetland), as for police.uk data.
UK_LON = (-8.75, 1.90)
UK_LAT = (49.75, 60.95)
BNG_E = (0.0, 700_000.0)
BNG_N = (0.0, 1_300_000.0)

# Quarantine reasons (stable prefixes; details follow after ': ').
R_UTF8 = "invalid UTF-8"
R_FIELDS = "wrong number of fields"
R_CSV = "unparseable CSV row"
R_MISSING_ID = "missing crime_id"
R_DATE = "invalid date"
R_DATE_RANGE = "date out of range"
R_OFFENCE = "unknown offence code"
R_FLAG = "invalid flag value"
R_COORDS = "invalid coordinates"
R_OUTSIDE = "coordinates outside the UK"
R_DUPLICATE = "duplicate crime_id"
R_NUL = "NUL byte in row"

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.+\-Z]*)?$")


# -- mapping file -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlagValues:
    """Extra spellings (lower-case) of true / false / unknown for one flag column."""

    true: frozenset[str] = frozenset()
    false: frozenset[str] = frozenset()
    unknown: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ExtractMapping:
    """How a force's export maps onto the canonical extract schema (parsed from a TOML file)."""

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # canonical -> source names (lower)
    flags: dict[str, FlagValues] = field(default_factory=dict)  # flag column or '*' -> extra values
    date_formats: tuple[str, ...] = ()  # strptime formats; empty = ISO 8601
    offence_codes: dict[str, str] = field(default_factory=dict)  # local code (normalised) -> HO code
    delimiter: str = ","
    origin: str = "mapping"
    encoding: str = "utf-8"  # the export's text encoding (e.g. "cp1252" for a file saved by Excel on Windows)


_MAPPING_KEYS = {"columns", "flags", "date_format", "offence_codes", "delimiter", "encoding"}
_FLAG_KEYS = {"true_values", "false_values", "unknown_values"}


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MappingError(f"{where}: expected a string or a non-empty list of strings")


def _flag_values(table: Mapping[str, Any], where: str, *, text: str | None = None, table_name: str = "") -> FlagValues:
    unknown = sorted(set(table) - _FLAG_KEYS - set(FLAG_COLUMNS))
    if unknown:
        raise MappingError(f"{where}{_line_of(text, unknown[0], table_name)}: unknown key(s) {', '.join(repr(k) for k in unknown)}; "
                           f"allowed: {', '.join(sorted(_FLAG_KEYS))}")

    def get(key: str) -> frozenset[str]:
        if key not in table:
            return frozenset()
        if not isinstance(table[key], list) or not all(isinstance(v, str) for v in table[key]):
            raise MappingError(f"{where}.{key}: expected a list of strings")
        return frozenset(v.strip().lower() for v in table[key])

    fv = FlagValues(get("true_values"), get("false_values"), get("unknown_values"))
    clash = (fv.true & fv.false) | (fv.true & fv.unknown) | (fv.false & fv.unknown)
    if clash:
        raise MappingError(f"{where}: value(s) {sorted(clash)} listed as more than one of true/false/unknown")
    return fv


def _line_of(text: str | None, key: str, table: str = "") -> str:
    """': line N' where `key = ...` is written inside [table] of a TOML text (empty when not found)."""
    if not text:
        return ""
    current = ""
    for n, line in enumerate(text.splitlines(), start=1):
        t = line.strip()
        if t.startswith("["):
            current = t.strip("[] \t").split("]")[0].strip()
            continue
        m = re.match(r"""^("([^"]*)"|'([^']*)'|[A-Za-z0-9_\-]+)\s*=""", t)
        if m and current == table and (m.group(2) or m.group(3) or m.group(1)) == key:
            return f": line {n}"
    return ""


def load_mapping(path: Path | str) -> ExtractMapping:
    """Parse and validate a TOML mapping file; MappingError (one line, with the line and key) when unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
    except FileNotFoundError:
        raise MappingError(f"mapping file {path} does not exist") from None
    except IsADirectoryError:
        raise MappingError(f"mapping file {path} is a folder, not a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping file {path}: not valid TOML: {exc}") from None
    return parse_mapping(doc, origin=str(path), text=text)


def parse_mapping(doc: Mapping[str, Any], *, origin: str = "mapping", text: str | None = None) -> ExtractMapping:
    """Validate a mapping document already parsed from TOML (`text`, when given, locates bad keys by line)."""
    unknown = sorted(set(doc) - _MAPPING_KEYS)
    if unknown:
        raise MappingError(f"{origin}{_line_of(text, unknown[0])}: unknown key(s) {', '.join(repr(k) for k in unknown)}; "
                           f"allowed: {', '.join(sorted(_MAPPING_KEYS))}")
    columns: dict[str, tuple[str, ...]] = {}
    cols = doc.get("columns", {})
    if not isinstance(cols, dict):
        raise MappingError(f"{origin}: [columns] must be a table")
    for canon, names in cols.items():
        if canon not in CANONICAL_COLUMNS:
            raise MappingError(f"{origin}{_line_of(text, canon, 'columns')}: [columns] {canon!r} is not a canonical "
                               f"column; expected one of {', '.join(CANONICAL_COLUMNS)}")
        columns[canon] = tuple(n.strip().lower() for n in _str_list(names, f"{origin}: [columns] {canon}"))
    flags: dict[str, FlagValues] = {}
    ftab = doc.get("flags", {})
    if not isinstance(ftab, dict):
        raise MappingError(f"{origin}: [flags] must be a table")
    flags["*"] = _flag_values({k: v for k, v in ftab.items() if k not in FLAG_COLUMNS}, f"{origin}: [flags]",
                              text=text, table_name="flags")
    for fc in FLAG_COLUMNS:
        if fc in ftab:
            if not isinstance(ftab[fc], dict):
                raise MappingError(f"{origin}: [flags.{fc}] must be a table")
            flags[fc] = _flag_values(ftab[fc], f"{origin}: [flags.{fc}]", text=text, table_name=f"flags.{fc}")
    formats: tuple[str, ...] = ()
    if "date_format" in doc:
        formats = _str_list(doc["date_format"], f"{origin}: date_format")
        for fmt in formats:
            probe = datetime(2001, 2, 3, 4, 5, 6)
            try:
                ok = datetime.strptime(probe.strftime(fmt), fmt).date() == probe.date()
            except ValueError:
                ok = False
            if not ok:
                raise MappingError(f"{origin}: date_format {fmt!r} does not describe a full date (day, month and year)")
    codes: dict[str, str] = {}
    ctab = doc.get("offence_codes", {})
    if not isinstance(ctab, dict):
        raise MappingError(f"{origin}: [offence_codes] must be a table")
    for local, hocode in ctab.items():
        if not isinstance(hocode, str) or ho.lookup(hocode) is None:
            raise MappingError(f"{origin}: [offence_codes] {local!r} maps to unknown Home Office code {hocode!r}")
        codes[ho.normalise_code(local)] = ho.normalise_code(hocode)
    delimiter = doc.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise MappingError(f"{origin}: delimiter must be one character (e.g. \",\", \";\" or \"\\t\")")
    encoding = doc.get("encoding", "utf-8")
    try:
        if not isinstance(encoding, str):
            raise LookupError(encoding)
        encoding = codecs.lookup(encoding).name
    except LookupError:
        raise MappingError(f"{origin}: unknown encoding {encoding!r} (e.g. \"utf-8\" or \"cp1252\")") from None
    return ExtractMapping(columns, flags, formats, codes, delimiter, origin, encoding)


def _as_mapping(mapping: Path | str | ExtractMapping | None) -> ExtractMapping:
    if mapping is None:
        return ExtractMapping()
    if isinstance(mapping, ExtractMapping):
        return mapping
    return load_mapping(mapping)


def _resolve_columns(header: list[str], mapping: ExtractMapping) -> tuple[dict[str, int], list[str]]:
    """Map canonical column -> index in ``header``; also return required columns that are missing."""
    norm = [h.strip().lower() for h in header]
    index: dict[str, int] = {}
    for canon in CANONICAL_COLUMNS:
        for name in mapping.columns.get(canon, (canon,)):
            if name in norm:
                index[canon] = norm.index(name)
                break
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    return index, missing


def missing_columns(header: list[str], mapping: Path | str | ExtractMapping | None = None) -> list[str]:
    """Required extract columns a CSV header lacks (after applying ``mapping``)."""
    return _resolve_columns(list(header), _as_mapping(mapping))[1]


def looks_like_extract(header: list[str], mapping: Path | str | ExtractMapping | None = None) -> bool:
    """True when a CSV header has the required extract columns (after applying ``mapping``).

    A bad mapping raises MappingError: it is reported as a bad mapping, never as "not an extract".
    """
    m = _as_mapping(mapping)
    _, missing = _resolve_columns(list(header), m)
    return not missing


# -- row parsing --------------------------------------------------------------------------------------
def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in s)


def _printable(raw: str) -> str:
    """Raw line text safe to store (undecodable bytes shown as \\xNN)."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _RowError(Exception):
    pass


def _parse_date(value: str, formats: tuple[str, ...], today: date) -> date:
    v = value.strip()
    d: date | None = None
    if formats:
        for fmt in formats:
            try:
                d = datetime.strptime(v, fmt).date()
                break
            except ValueError:
                continue
    else:
        m = _ISO_DATE.match(v)
        if m:
            try:
                d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                d = None
    if d is None:
        expected = " or ".join(formats) if formats else "YYYY-MM-DD"
        raise _RowError(f"{R_DATE}: {value!r} (expected {expected})")
    if d < MIN_DATE or d > today:
        raise _RowError(f"{R_DATE_RANGE}: {d.isoformat()} (accepted {MIN_DATE.isoformat()} to {today.isoformat()})")
    return d


def _parse_flag(value: str, column: str, mapping: ExtractMapping) -> bool | None:
    v = value.strip().lower()
    if not v:
        return None
    extra = [mapping.flags.get(column, FlagValues()), mapping.flags.get("*", FlagValues())]
    for fv in extra:  # mapped values take precedence over defaults (e.g. 'N' meaning 'not known')
        if v in fv.true:
            return True
        if v in fv.false:
            return False
        if v in fv.unknown:
            return None
    if v in DEFAULT_TRUE:
        return True
    if v in DEFAULT_FALSE:
        return False
    raise _RowError(f"{R_FLAG}: {column} = {value.strip()!r}")


def _number(value: str, what: str) -> float:
    try:
        x = float(value.strip().replace(",", ""))
    except ValueError:
        raise _RowError(f"{R_COORDS}: {what} = {value.strip()!r}") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise _RowError(f"{R_COORDS}: {what} = {value.strip()!r}")
    return x


def _pair(row: list[str], index: dict[str, int], a: str, b: str) -> tuple[float, float] | None:
    va = row[index[a]].strip() if a in index else ""
    vb = row[index[b]].strip() if b in index else ""
    if not va and not vb:
        return None
    if not va or not vb:
        raise _RowError(f"{R_COORDS}: {a} = {va!r}, {b} = {vb!r} (both or neither are needed)")
    return _number(va, a), _number(vb, b)


def _bng_to_wgs84(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """British National Grid (EPSG:27700) easting/northing -> WGS84 (lon, lat)."""
    if not points:
        return []
    from pyproj import Transformer  # only for grid references: pyproj is slow to load

    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lons, lats = tr.transform([p[0] for p in points], [p[1] for p in points])
    return list(zip(lons, lats))


# -- reader -------------------------------------------------------------------------------------------
def read_extract(
    path: Path,
    *,
    input_id: str,
    display_name: str,
    mapping: Path | ExtractMapping | None = None,
    force: str | None = None,
) -> ReadResult:
    """Read a canonical force extract CSV (optionally through a TOML ``mapping``) into canonical records.

    uid = '<input_id>:<line>' (line = physical line, header = 1); bad rows go to quarantine with a reason.
    ``force`` (a slug) applies to every row; otherwise a ``force`` column is used when present.
    Raises InputError for an empty / non-CSV file or missing required columns, MappingError for a bad mapping.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{display_name}: cannot read file ({exc.strerror or exc})") from None
    return read_extract_bytes(data, input_id=input_id, display_name=display_name, mapping=mapping, force=force)


def read_extract_bytes(
    data: bytes,
    *,
    input_id: str,
    display_name: str,
    mapping: Path | ExtractMapping | None = None,
    force: str | None = None,
    today: date | None = None,
) -> ReadResult:
    """As :func:`read_extract`, from bytes (e.g. a zip member). ``today`` bounds recorded dates (default: today)."""
    m = _as_mapping(mapping)
    today = today or date.today()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise InputError(f"{display_name}: file is empty")
    head = data[:4096]
    if b"\x00" in head.split(b"\n", 1)[0] or head.count(b"\x00") > max(2, len(head) // 100):
        raise InputError(f"{display_name}: binary file, not a CSV extract")
    # bytes the encoding cannot decode stay as surrogates: their rows are quarantined as invalid text
    text = data.decode(m.encoding, errors="surrogateescape")
    tap = _StrippedTap(text)
    reader = csv.reader(tap, delimiter=m.delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise InputError(f"{display_name}: not a CSV file ({exc})") from None
    tap.take()
    if _has_surrogates("".join(header)):
        raise InputError(f"{display_name}: header is not valid UTF-8, not a CSV extract")
    index, missing = _resolve_columns(header, m)
    if missing:
        shown = ", ".join(h.strip() for h in header[:8]) + (", ..." if len(header) > 8 else "")
        via = f" (mapping {m.origin})" if m.columns else ""
        raise InputError(
            f"{display_name}: not a force extract: missing required column(s) {', '.join(missing)}{via}; header is: {shown}"
        )
    ncols = len(header)
    fixed_force = force.strip() if force and force.strip() else None

    candidates: list[dict[str, Any]] = []
    quarantine: list[dict] = []
    rows_read = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line, raw = tap.take_first()
            rows_read += 1
            quarantine.append({"file": display_name, "line": line, "reason": f"{R_CSV}: {exc}", "raw": _printable(raw)})
            continue
        if stray := tap.stray_quote(row, ncols, m.delimiter):
            rows_read += 1
            quarantine.append({"file": display_name, "line": stray[0], "raw": _printable(stray[1]), "reason": stray[2]})
            continue
        line, raw = tap.take()
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line: not a row
        rows_read += 1
        try:
            rec = _parse_row(row, raw, ncols, index, m, today)
        except _RowError as exc:
            quarantine.append({"file": display_name, "line": line, "reason": str(exc), "raw": _printable(raw)})
            continue
        rec["line"] = line
        rec["raw"] = raw
        candidates.append(rec)
    if rows_read == 0:
        raise InputError(f"{display_name}: force extract has a header but no rows")

    # Convert British National Grid points in one batch, then check every point lies in the UK.
    bng = [c for c in candidates if c.get("_bng")]
    for c, (lon, lat) in zip(bng, _bng_to_wgs84([c["_bng"] for c in bng])):
        c["longitude"], c["latitude"] = lon, lat

    cols: dict[str, list] = {}
    seen: set[str] = set()
    for c in candidates:
        reason = None
        lon, lat = c.get("longitude"), c.get("latitude")
        if lon is not None and not (UK_LON[0] <= lon <= UK_LON[1] and UK_LAT[0] <= lat <= UK_LAT[1]):
            where = f"easting/northing {c['_bng']}" if c.get("_bng") else f"({lon}, {lat})"
            reason = f"{R_OUTSIDE}: {where}"
        elif c["record_id"] in seen:
            reason = f"{R_DUPLICATE}: {c['record_id']!r} already loaded from an earlier line"
        if reason:
            quarantine.append({"file": display_name, "line": c["line"], "reason": reason, "raw": _printable(c["raw"])})
            continue
        seen.add(c["record_id"])
        line = c["line"]
        raw_force = c.pop("_force", None)
        if fixed_force:
            c["force"], c["force_name"] = fixed_force, None
        elif raw_force:
            c["force"], c["force_name"] = force_slug(raw_force), raw_force
        else:
            c["force"], c["force_name"] = None, None
        c.update(uid=f"{input_id}:{line}", input_id=input_id, source_kind=KIND, is_crime=True)
        for k, v in c.items():
            if not k.startswith("_") and k != "raw":
                cols.setdefault(k, []).append(v)

    quarantine.sort(key=lambda q: q["line"])
    table = records_table(cols)
    forces = sorted({f for f in cols.get("force", []) if f})
    names = sorted({f for f in cols.get("force_name", []) if f})
    result = ReadResult(
        kind=KIND,
        force=fixed_force or (",".join(forces) or None),
        records=table,
        quarantine=quarantine,
        rows_read=rows_read,
        months=sorted(set(cols.get("month", []))),
        force_name=", ".join(names) or None,
    )
    result.check()
    return result


def _parse_row(
    row: list[str], raw: str, ncols: int, index: dict[str, int], m: ExtractMapping, today: date
) -> dict[str, Any]:
    """One data row -> a partial canonical record; raises _RowError with the quarantine reason."""
    if _has_surrogates(raw):
        raise _RowError(R_UTF8)
    if "\x00" in raw:
        raise _RowError(R_NUL)
    if len(row) != ncols:
        raise _RowError(f"{R_FIELDS}: expected {ncols}, got {len(row)}")

    def get(col: str) -> str | None:
        if col not in index:
            return None
        v = row[index[col]].strip()
        return v or None

    crime_id = get("crime_id")
    if crime_id is None:
        raise _RowError(R_MISSING_ID)
    recorded = _parse_date(row[index["recorded_date"]], m.date_formats, today)
    code_raw = get("offence_code")
    if code_raw is None:
        raise _RowError(f"{R_OFFENCE}: (blank)")
    code = ho.normalise_code(code_raw)
    code = m.offence_codes.get(code, code)
    off = ho.lookup(code)
    if off is None:
        raise _RowError(f"{R_OFFENCE}: {code_raw!r}")
    flags = {fc: _parse_flag(row[index[fc]], fc, m) if fc in index else None for fc in FLAG_COLUMNS}

    rec: dict[str, Any] = {"latitude": None, "longitude": None}
    latlon = _pair(row, index, "latitude", "longitude")
    if latlon is not None:
        rec["latitude"], rec["longitude"] = latlon
    else:
        en = _pair(row, index, "easting", "northing")
        if en is not None:
            e, n = en
            if not (BNG_E[0] <= e <= BNG_E[1] and BNG_N[0] <= n <= BNG_N[1]):
                raise _RowError(f"{R_OUTSIDE}: easting/northing ({e:g}, {n:g}) is off the British National Grid")
            rec["_bng"] = (e, n)
    category = off.policeuk_category
    rec.update(
        record_id=crime_id,
        month=recorded.strftime("%Y-%m"),
        recorded_date=recorded,
        category_id=category,
        crime_type=CRIME_TYPES[category],
        offence_code=ho.normalise_code(off.code),
        offence_description=get("offence_description") or off.description,
        lsoa_code=get("lsoa_code"),
        ward_code=get("ward_code"),
        ward_name=get("ward_name"),
        lad_code=get("local_authority_code"),
        lad_name=get("local_authority_name"),
        outcome=get("outcome"),
        location_type=get("location_type"),
        occurred_time=get("occurred_time"),
        _force=get("force"),
        **flags,
    )
    return rec


class _StrippedTap(LineTap):
    """LineTap whose raw text has no line end (as extract quarantine stores it)."""

    def take(self) -> tuple[int, str]:
        first, raw = super().take()
        return first, raw.rstrip("\r\n")

    def take_first(self) -> tuple[int, str]:
        first, raw = super().take_first()
        return first, raw.rstrip("\r\n")
