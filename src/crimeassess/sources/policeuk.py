"""Readers for police.uk street-level CSVs and police.uk API `crimes-street` JSON."""
from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime, timezone

from ..errors import InputError
from ..schema import ASB_ID, CRIME_TYPES, api_slug_to_id, crime_type_id, force_slug
from .base import LineTap, ReadResult, first_byte, records_table

STREET_HEADER = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]
OUTCOMES_HEADER_START = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude"]
STOP_SEARCH_HEADER_START = ["Type", "Date", "Part of a policing operation"]

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# A plain decimal number (no 'nan', 'inf', underscores): the same rule as the vectorised reader's.
_FLOAT_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
# A generous box around the UK (incl. Northern Ireland, Scilly, Shetland).
UK_LON = (-8.75, 1.90)
UK_LAT = (49.75, 60.95)


def decode(data: bytes) -> str:
    """Decode bytes as UTF-8 (BOM stripped); undecodable bytes survive as surrogates for row quarantine."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="surrogateescape")


def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in s)


def _raw(text: str) -> str:
    """Raw row text safe to store: line end dropped, undecodable bytes shown as \\xNN."""
    return text.rstrip("\r\n").encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def header_of(text: str, delimiter: str = ",") -> list[str]:
    """First CSV row, stripped."""
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]  # any line end: old Mac files end lines with CR alone
    try:
        return [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]
    except (StopIteration, csv.Error):
        return []


def csv_kind(header: list[str]) -> str | None:
    """Recognise a police.uk CSV by its header: 'street', 'outcomes', 'stop-and-search' or None."""
    if header[: len(STREET_HEADER) - 1] == STREET_HEADER[:-1] and len(header) in (11, 12):
        return "street"
    if header[:6] == OUTCOMES_HEADER_START and "Outcome type" in header:
        return "outcomes"
    if header[:3] == STOP_SEARCH_HEADER_START:
        return "stop-and-search"
    return None


def _coords(lon_s: str, lat_s: str) -> tuple[float | None, float | None, str | None]:
    lon_s, lat_s = lon_s.strip(), lat_s.strip()
    if not lon_s and not lat_s:
        return None, None, None
    if not (_FLOAT_RE.match(lon_s) and _FLOAT_RE.match(lat_s)):
        return None, None, f"invalid coordinates ({lon_s!r}, {lat_s!r})"
    lon, lat = float(lon_s), float(lat_s)
    if not (UK_LON[0] <= lon <= UK_LON[1] and UK_LAT[0] <= lat <= UK_LAT[1]):
        return None, None, f"coordinates outside the UK ({lon}, {lat})"
    return lon, lat, None


def valid_month(m: str) -> bool:
    mm = _MONTH_RE.match(m)
    return bool(mm) and 2000 <= int(mm.group(1)) <= 2100 and 1 <= int(mm.group(2)) <= 12


def latest_month(today: date | None = None) -> str:
    """The latest month a record may carry: the current month (UTC), as force extracts bound recorded dates."""
    d = today or datetime.now(timezone.utc).date()
    return f"{d.year:04d}-{d.month:02d}"


def future_reason(month: str, latest: str) -> str:
    """Quarantine reason for a month after `latest` (shared by every police.uk reader)."""
    return f"month in the future {month!r} (latest accepted {latest})"


def month_problem(month: str, latest: str) -> str | None:
    """Why a record's month can't be loaded (invalid, or after `latest`), or None when it can."""
    if not valid_month(month):
        return f"invalid month {month!r}"
    if month > latest:
        return future_reason(month, latest)
    return None


def duplicate_reason(crime_id: str, first_line: int) -> str:
    """Quarantine reason for a repeated Crime ID within one street file."""
    return f"duplicate Crime ID {crime_id!r} (first loaded from line {first_line})"


NUL_REASON = "NUL byte in row"


def read_street_csv(data: bytes, *, input_id: str, display_name: str, today: date | None = None) -> ReadResult:
    """Read a police.uk `*-street.csv` (bytes) into canonical records, quarantining bad rows.

    Rows are quarantined for a bad month, a month after the current one (``today`` bounds it, default today),
    an unknown crime type, bad or non-UK coordinates, a NUL byte, or a Crime ID repeated within the file.
    """
    text = decode(data)
    header = header_of(text)
    if csv_kind(header) != "street":
        raise InputError(f"{display_name}: not a police.uk street-level crime file (header {header[:4]}...)")
    from .policeuk_fast import read_street_csv_fast  # here, not at the top: policeuk_fast imports this module

    fast = read_street_csv_fast(data, header, input_id=input_id, display_name=display_name, today=today)
    if fast is not None:
        return fast
    return read_street_csv_rows(text, header, input_id=input_id, display_name=display_name, today=today)


def read_street_csv_rows(text: str, header: list[str], *, input_id: str, display_name: str,
                         today: date | None = None) -> ReadResult:
    """The row-by-row reader: exact line numbers and quarantine for any file (invalid UTF-8, quoted newlines)."""
    latest = latest_month(today)
    first_seen: dict[str, int] = {}
    ncols = len(header)
    cols: dict[str, list] = {k: [] for k in (
        "uid", "record_id", "input_id", "source_kind", "force", "force_name", "month", "category_id",
        "crime_type", "is_crime", "outcome", "longitude", "latitude", "location", "lsoa_code", "lsoa_name",
        "context", "line")}
    quarantine: list[dict] = []
    tap = LineTap(text)
    reader = csv.reader(tap)
    rows_read = 0
    first = True
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. NUL byte or unterminated quote
            line, raw = tap.take_first()
            raw = _raw(raw)
            rows_read += 1
            quarantine.append({"file": display_name, "line": line, "reason": f"unparseable CSV row: {exc}", "raw": raw})
            continue
        if not first and (stray := tap.stray_quote(row, ncols)):
            rows_read += 1
            quarantine.append({"file": display_name, "line": stray[0], "raw": _raw(stray[1]), "reason": stray[2]})
            continue
        line, raw_text = tap.take()
        raw = _raw(raw_text)
        if first:
            first = False
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line: not a row
        rows_read += 1

        def bad(reason: str) -> None:
            quarantine.append({"file": display_name, "line": line, "reason": reason, "raw": raw})

        if _has_surrogates(raw_text):
            bad("invalid UTF-8")
            continue
        if "\x00" in raw_text:
            bad(NUL_REASON)
            continue
        if len(row) != ncols:
            bad(f"wrong number of fields: expected {ncols}, got {len(row)}")
            continue
        crime_id, month, _reported, falls, lon_s, lat_s, location, lsoa, lsoa_name, ctype, outcome = row[:11]
        context = row[11] if ncols == 12 else ""
        month = month.strip()
        if problem := month_problem(month, latest):
            bad(problem)
            continue
        cid = crime_type_id(ctype)
        if cid is None:
            bad(f"unknown crime type {ctype!r}")
            continue
        lon, lat, err = _coords(lon_s, lat_s)
        if err:
            bad(err)
            continue
        crime_key = crime_id.strip()
        if crime_key:
            if crime_key in first_seen:
                bad(duplicate_reason(crime_key, first_seen[crime_key]))
                continue
            first_seen[crime_key] = line
        falls = falls.strip()
        cols["uid"].append(f"{input_id}:{line}")
        cols["record_id"].append(crime_id.strip() or None)
        cols["input_id"].append(input_id)
        cols["source_kind"].append("police-uk-street")
        cols["force"].append(force_slug(falls) if falls else None)
        cols["force_name"].append(falls or None)
        cols["month"].append(month)
        cols["category_id"].append(cid)
        cols["crime_type"].append(CRIME_TYPES[cid])
        cols["is_crime"].append(cid != ASB_ID)
        cols["outcome"].append(outcome.strip() or None)
        cols["longitude"].append(lon)
        cols["latitude"].append(lat)
        cols["location"].append(location.strip() or None)
        cols["lsoa_code"].append(lsoa.strip() or None)
        cols["lsoa_name"].append(lsoa_name.strip() or None)
        cols["context"].append(context.strip() or None)
        cols["line"].append(line)
    if rows_read == 0:
        raise InputError(f"{display_name}: police.uk street file has a header but no rows")
    table = records_table(cols)
    forces = sorted({f for f in cols["force"] if f})
    names = sorted({f for f in cols["force_name"] if f})
    res = ReadResult(
        kind="police-uk-street", force=",".join(forces) or None, records=table, quarantine=quarantine,
        rows_read=rows_read, months=sorted(set(cols["month"])), force_name=", ".join(names) or None,
    )
    res.check()
    return res


def _bad_text(obj: object) -> str | None:
    """A quarantine reason if any string (key or value) in a parsed JSON value holds a NUL character or is not
    valid UTF-8 (undecodable bytes, lone surrogate escapes); None when all text is clean."""
    if isinstance(obj, str):
        if "\x00" in obj:
            return NUL_REASON
        if any("\ud800" <= ch <= "\udfff" for ch in obj):
            return "invalid UTF-8"
        return None
    if isinstance(obj, dict):
        return next((r for k, v in obj.items() for r in (_bad_text(k), _bad_text(v)) if r), None)
    if isinstance(obj, list):
        return next((r for v in obj if (r := _bad_text(v))), None)
    return None


def _load_json(data: bytes) -> object:
    """json.loads that turns absurd nesting into ValueError."""
    try:
        return json.loads(decode(data))
    except RecursionError:
        raise ValueError("nested too deeply") from None


def looks_like_api_json(data: bytes) -> bool:
    """True if bytes are a police.uk API crimes-street response (a JSON list of crimes, possibly empty)."""
    if first_byte(data) != b"[":
        return False
    try:
        obj = _load_json(data)
    except ValueError:
        return False
    if not isinstance(obj, list):
        return False
    # Most of the first items look like crimes: one item missing a key is quarantined by the reader (wherever
    # it is in the list), not a reason to refuse the whole response.
    sample = obj[:50]
    crimes = sum(isinstance(o, dict) and "category" in o and "month" in o and "location" in o for o in sample)
    return not sample or crimes * 2 > len(sample)


def read_api_json(data: bytes, *, input_id: str, display_name: str, force: str | None = None,
                  today: date | None = None) -> ReadResult:
    """Read a police.uk API `crimes-street` JSON list into canonical records.

    Items are keyed by the API's numeric `id` (uid 'api:<month>:<id>') so the same crime fetched through
    two overlapping polygons is counted once. Items with a bad or future month (after ``today``'s), an
    unknown category, bad coordinates or a NUL character are quarantined with their reason.
    """
    latest = latest_month(today)
    try:
        items = _load_json(data)
    except ValueError as exc:
        raise InputError(f"{display_name}: not valid JSON ({exc})") from None
    if not isinstance(items, list):
        raise InputError(f"{display_name}: not a police.uk API crimes-street response (expected a JSON list)")
    cols: dict[str, list] = {k: [] for k in (
        "uid", "record_id", "input_id", "source_kind", "force", "month", "category_id", "crime_type",
        "is_crime", "outcome", "longitude", "latitude", "location", "location_type", "context", "line")}
    quarantine: list[dict] = []
    for i, it in enumerate(items, start=1):
        try:
            raw = json.dumps(it, ensure_ascii=False)[:2000].encode("utf-8", "backslashreplace").decode("utf-8")
        except RecursionError:
            raw = "(nested too deeply to show)"

        def bad(reason: str) -> None:
            quarantine.append({"file": display_name, "line": i, "reason": reason, "raw": raw})

        if not isinstance(it, dict):
            bad("item is not an object")
            continue
        try:
            text_problem = _bad_text(it)
        except RecursionError:
            text_problem = "item nested too deeply"
        if text_problem:
            bad(text_problem)
            continue
        month = str(it.get("month") or "").strip()
        if problem := month_problem(month, latest):
            bad(problem)
            continue
        if not str(it.get("category") or "").strip():
            bad("no crime category")
            continue
        cid = api_slug_to_id(str(it.get("category") or ""))
        if cid is None:
            bad(f"unknown crime category {it.get('category')!r}")
            continue
        loc = it.get("location") or {}
        if not isinstance(loc, dict):
            bad("location is not an object")
            continue
        lon, lat, err = _coords(str(loc.get("longitude") or ""), str(loc.get("latitude") or ""))
        if err:
            bad(err)
            continue
        street = loc.get("street") or {}
        outcome = it.get("outcome_status")
        api_id = it.get("id")
        pid = str(it.get("persistent_id") or "").strip()
        texts = {"outcome": outcome.get("category") if isinstance(outcome, dict) else None,
                 "location": street.get("name") if isinstance(street, dict) else None,
                 "location_type": it.get("location_type") or None, "context": it.get("context") or None}
        wrong = [k for k, v in texts.items() if v is not None and not isinstance(v, str)]
        if wrong:
            bad(f"{wrong[0]} is not text")
            continue
        cols["uid"].append(f"api:{month}:{api_id}" if api_id is not None else f"{input_id}:{i}")
        cols["record_id"].append(pid or None)
        cols["input_id"].append(input_id)
        cols["source_kind"].append("police-uk-api")
        cols["force"].append(force)
        cols["month"].append(month)
        cols["category_id"].append(cid)
        cols["crime_type"].append(CRIME_TYPES[cid])
        cols["is_crime"].append(cid != ASB_ID)
        cols["outcome"].append(texts["outcome"])
        cols["longitude"].append(lon)
        cols["latitude"].append(lat)
        cols["location"].append(texts["location"])
        cols["location_type"].append(texts["location_type"])
        cols["context"].append(texts["context"])
        cols["line"].append(i)
    res = ReadResult(
        kind="police-uk-api", force=force, records=records_table(cols), quarantine=quarantine,
        rows_read=len(items), months=sorted(set(cols["month"])),
    )
    res.check()
    return res
