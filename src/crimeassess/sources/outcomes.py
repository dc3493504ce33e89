"""Reader for police.uk outcomes files (``YYYY-MM-<force>-outcomes.csv``).

One row per outcome given in the file's month to a crime recorded in that month or earlier, with the crime's
64-hex ``Crime ID`` (the same id as in the street files), its snapped map point and LSOA, and the
``Outcome type``. Rows become canonical records with ``source_kind = "police-uk-outcomes"``,
``record_id`` = Crime ID, ``month`` = the month of the outcome, ``outcome`` = the outcome type and
``is_crime = false`` (an outcome is an event about a crime, never a crime to count). The assessment joins
them to street crimes by Crime ID across months (``assess.outcomes``).

Quarantined with their reason: a row without a Crime ID, an invalid or future month, bad coordinates, an
outcome type not in :data:`POLICEUK_OUTCOME_TYPES` (police.uk's published list), a duplicate row (same
Crime ID and outcome type in one file).
"""
from __future__ import annotations

import csv
from datetime import date

from ..errors import InputError
from ..schema import force_slug
from .base import LineTap, ReadResult, records_table
from .policeuk import _coords, _raw, decode, future_reason, header_of, latest_month, valid_month

KIND = "police-uk-outcomes"
OUTCOMES_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                   "LSOA code", "LSOA name", "Outcome type"]

#: Every outcome type police.uk publishes (outcomes files' "Outcome type" and street files' "Last outcome
#: category"), lower case. ``classify.outcomes`` maps each to a Home Office outcome group.
POLICEUK_OUTCOME_TYPES: tuple[str, ...] = (
    "investigation complete; no suspect identified", "unable to prosecute suspect", "local resolution",
    "offender given a caution", "offender given a drugs possession warning", "offender given penalty notice",
    "suspect charged", "suspect charged as part of another case", "formal action is not in the public interest",
    "further investigation is not in the public interest", "further action is not in the public interest",
    "action to be taken by another organisation", "offender given community sentence", "offender sent to prison",
    "offender fined", "offender given suspended prison sentence", "offender given conditional discharge",
    "offender given absolute discharge", "offender ordered to pay compensation", "offender otherwise dealt with",
    "offender deprived of property", "defendant found not guilty", "defendant sent to crown court",
    "court case unable to proceed", "court result unavailable", "awaiting court outcome", "under investigation",
    "status update unavailable",
)
_KNOWN = frozenset(POLICEUK_OUTCOME_TYPES)


def looks_like_outcomes(header: list[str]) -> bool:
    """True for a police.uk outcomes CSV header."""
    return [h.strip() for h in header] == OUTCOMES_HEADER


def read_outcomes_csv(data: bytes, *, input_id: str, display_name: str, today: date | None = None) -> ReadResult:
    """Read one outcomes file into canonical records (``is_crime`` false) and quarantined rows."""
    text = decode(data)
    header = header_of(text)
    if not looks_like_outcomes(header):
        raise InputError(f"{display_name}: not a police.uk outcomes file (header {header[:10]})")
    latest = latest_month(today)
    cols: dict[str, list] = {k: [] for k in (
        "uid", "record_id", "input_id", "source_kind", "force", "force_name", "month", "is_crime", "outcome",
        "longitude", "latitude", "location", "lsoa_code", "lsoa_name", "line")}
    quarantine: list[dict] = []
    seen: dict[tuple[str, str], int] = {}
    tap = LineTap(text)
    reader = csv.reader(tap)
    rows_read, first = 0, True
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line, raw = tap.take_first()
            rows_read += 1
            quarantine.append({"file": display_name, "line": line, "reason": f"unparseable CSV row: {exc}",
                               "raw": _raw(raw)})
            continue
        if not first and (stray := tap.stray_quote(row, len(OUTCOMES_HEADER))):
            rows_read += 1
            quarantine.append({"file": display_name, "line": stray[0], "raw": _raw(stray[1]), "reason": stray[2]})
            continue
        line, raw_text = tap.take()
        if first:
            first = False
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        rows_read += 1
        raw = _raw(raw_text)

        def bad(reason: str) -> None:
            quarantine.append({"file": display_name, "line": line, "reason": reason, "raw": raw})

        if any("\udc80" <= ch <= "\udcff" for ch in raw_text):
            bad("invalid UTF-8")
            continue
        if "\x00" in raw_text:
            bad("NUL character in row")
            continue
        if len(row) != len(OUTCOMES_HEADER):
            bad(f"wrong number of fields: expected {len(OUTCOMES_HEADER)}, got {len(row)}")
            continue
        crime_id, month, _rep, falls, lon_s, lat_s, location, lsoa, lsoa_name, otype = (v.strip() for v in row)
        if not crime_id:
            bad("no Crime ID: an outcome cannot be joined to a crime")
            continue
        if not valid_month(month):
            bad(f"invalid month {month!r}")
            continue
        if month > latest:
            bad(future_reason(month, latest))
            continue
        if otype.lower() not in _KNOWN:
            bad(f"unknown outcome type {otype!r}")
            continue
        lon, lat, err = _coords(lon_s, lat_s)
        if err:
            bad(err)
            continue
        key = (crime_id, otype.lower())
        if key in seen:
            bad(f"duplicate outcome {otype!r} for Crime ID {crime_id[:12]}… (first on line {seen[key]})")
            continue
        seen[key] = line
        cols["uid"].append(f"{input_id}:{line}")
        cols["record_id"].append(crime_id)
        cols["input_id"].append(input_id)
        cols["source_kind"].append(KIND)
        cols["force"].append(force_slug(falls) if falls else None)
        cols["force_name"].append(falls or None)
        cols["month"].append(month)
        cols["is_crime"].append(False)
        cols["outcome"].append(otype)
        cols["longitude"].append(lon)
        cols["latitude"].append(lat)
        cols["location"].append(location or None)
        cols["lsoa_code"].append(lsoa or None)
        cols["lsoa_name"].append(lsoa_name or None)
        cols["line"].append(line)
    if rows_read == 0:
        raise InputError(f"{display_name}: police.uk outcomes file has a header but no rows")
    forces = sorted({f for f in cols["force"] if f})
    names = sorted({f for f in cols["force_name"] if f})
    res = ReadResult(kind=KIND, force=",".join(forces) or None, records=records_table(cols), quarantine=quarantine,
                     rows_read=rows_read, months=sorted(set(cols["month"])), force_name=", ".join(names) or None)
    res.check()
    return res
