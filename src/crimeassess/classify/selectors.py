"""Theme selectors beyond offence codes: where (location type, police.uk location text, user zones, the
places where another theme concentrates) and when (time of day, day of week).

A theme (``themes.toml`` or a user TOML) may add these keys to its offence selectors:

``location_types``
    Extract ``location_type`` values, compared case-insensitively after trimming ("Licensed premises").
``location_texts``
    police.uk location text without its "On or near " prefix, case-insensitive ("Nightclub", "Parking Area",
    "Sports/recreation Area", "Park/Open Space"). police.uk texts are the names of snapped, anonymised map
    points, so they say what is *near* the point, not where the crime happened.
``zones``
    Polygon files (GeoJSON, GeoPackage, Shapefile, as for ``--area-file``), paths relative to the TOML file:
    records whose map point falls inside any of them (e.g. parks, a night-time-economy district).
``time_from``, ``time_to``
    ``"HH:MM"``: the extract's ``occurred_time`` from ``time_from`` (inclusive) to ``time_to`` (exclusive),
    wrapping midnight when ``time_to`` is earlier ("20:00" to "06:00" is the night). Records with no usable
    time are not selected.
``days``
    Day names (``mon`` … ``sun``) of the extract's ``recorded_date``. When the theme's time window wraps
    midnight, a record before ``time_to`` counts as the previous day's night (Saturday 02:00 is Friday night).
``hotspots_of``, ``hotspot_share``
    Another theme's id and a share (default 0.2): records in the LSOAs that make up the top ``hotspot_share``
    of the assessed area's LSOAs by that theme's count over the compared months of both periods (one fixed
    set for both periods, so the comparison stays like for like).

The place keys (``location_types``, ``location_texts``, ``zones``) are alternatives (any of them); a source
that carries at least one of them supports the place part, using the ones it carries. Time, day and hotspot
keys must all hold. Zones and hotspots are tables the assessment engine builds before it counts
(``assess.priorities.prepare_selector_tables``); their SQL names are :meth:`Selectors.zone_table` and
:func:`hotspot_table`.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ThemeError
from ..sources.registry import find_kind
from ..sql import in_list

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO order: isodow 1..7
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
LIST_KEYS = ("location_types", "location_texts", "zones", "days")
STR_KEYS = ("time_from", "time_to", "hotspots_of")
FLOAT_KEYS = ("hotspot_share",)
KEYS = LIST_KEYS + STR_KEYS + FLOAT_KEYS

_HM = "regexp_extract(occurred_time, '(\\d{1,2}):(\\d{2})', ['h', 'm'])"  # the first HH:MM's two groups
_HH, _MM = "TRY_CAST(_hm.h AS INTEGER)", "TRY_CAST(_hm.m AS INTEGER)"
#: Minutes after midnight of an extract's ``occurred_time`` (its first HH:MM: "21:15", "2018-03-31 21:15"),
#: null when there is none or it is not a time of day. The text is parsed once a row (the lambda binds the match's
#: groups): written with a regular expression per group and use, it was parsed four times, which was 0.22 s of
#: the demo city's harm query.
MINUTE_OF_DAY_SQL = (f"(list_transform([{_HM}], lambda _hm: CASE WHEN {_HH} BETWEEN 0 AND 23 AND {_MM} BETWEEN 0 "
                     f"AND 59 THEN {_HH} * 60 + {_MM} END)[1])")
#: The hour (0–23) of an extract's ``occurred_time``, null without one.
HOUR_SQL = f"({MINUTE_OF_DAY_SQL} // 60)"
#: police.uk location text without "On or near ", lower case.
PLACE_TEXT_SQL = "lower(trim(regexp_replace(coalesce(location, ''), '^\\s*on or near\\s+', '', 'i')))"


def _minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def hotspot_table(theme_id: str) -> str:
    """The temp table of LSOAs where ``theme_id`` concentrates (column ``lsoa_code``)."""
    return f"hotspots__{theme_id}"


@dataclass(frozen=True)
class Selectors:
    """The where/when selectors of one theme (all optional).

    Attributes
    ----------
    location_types, location_texts : tuple of str, lower-cased for matching.
    zones : tuple of absolute polygon file paths.
    time_from, time_to : "HH:MM" or None.
    days : tuple of day names (mon…sun).
    hotspots_of : another theme's id, or None; hotspot_share : float in (0, 1].
    """

    location_types: tuple[str, ...] = ()
    location_texts: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    time_from: str | None = None
    time_to: str | None = None
    days: tuple[str, ...] = ()
    hotspots_of: str | None = None
    hotspot_share: float = 0.2

    @property
    def any(self) -> bool:
        return bool(self.has_place or self.time_from or self.days or self.hotspots_of)

    @property
    def has_place(self) -> bool:
        return bool(self.location_types or self.location_texts or self.zones)

    @property
    def wraps(self) -> bool:
        return bool(self.time_from and self.time_to and _minutes(self.time_to) <= _minutes(self.time_from))

    @staticmethod
    def zone_table(path: str) -> str:
        """The temp table of record uids inside the zone file ``path``."""
        return "zone__" + hashlib.sha1(path.encode()).hexdigest()[:12]

    # -- support ----------------------------------------------------------------------------------
    def why_unsupported(self, source_kind: str) -> str | None:
        """Why records of ``source_kind`` cannot support these selectors, or None."""
        kind = find_kind(source_kind)
        if kind is None:
            return None
        if self.has_place and not self.zones and not (
                (self.location_types and kind.place_type) or (self.location_texts and kind.location_text)):
            wanted = " or ".join(w for w, on in (("location types", self.location_types),
                                                  ("police.uk location text", self.location_texts)) if on)
            return f"{kind.label}: no {wanted}"
        if self.time_from and not kind.occurred_times:
            return f"{kind.label}: no time of day"
        if self.days and not kind.recorded_dates:
            return f"{kind.label}: no dates, only months"
        return None

    # -- SQL --------------------------------------------------------------------------------------
    def place_parts(self, source_kind: str) -> list[str]:
        """The place alternatives this source carries (SQL)."""
        kind = find_kind(source_kind)
        parts = []
        if self.location_types and kind is not None and kind.place_type:
            parts.append(f"lower(trim(coalesce(location_type, ''))) IN {in_list(self.location_types)}")
        if self.location_texts and kind is not None and kind.location_text:
            parts.append(f"{PLACE_TEXT_SQL} IN {in_list(self.location_texts)}")
        for z in self.zones:
            parts.append(f"uid IN (SELECT uid FROM {self.zone_table(z)})")
        return parts

    def time_sql(self) -> str | None:
        if not self.time_from:
            return None
        a, b = _minutes(self.time_from), _minutes(self.time_to or "00:00")
        m = MINUTE_OF_DAY_SQL
        if self.wraps:
            return f"({m} >= {a} OR {m} < {b})"
        return f"({m} >= {a} AND {m} < {b})"

    def day_sql(self) -> str | None:
        if not self.days:
            return None
        nums = [str(WEEKDAYS.index(d) + 1) for d in self.days]
        return f"({night_day_sql(self)} IN ({', '.join(nums)}))"

    def sql_parts(self, source_kind: str) -> list[str]:
        """SQL conditions (all must hold) for records of ``source_kind``; [] when there are no selectors."""
        out = []
        places = self.place_parts(source_kind)
        if places:
            out.append("(" + " OR ".join(places) + ")")
        for s in (self.time_sql(), self.day_sql()):
            if s:
                out.append(s)
        if self.hotspots_of:
            out.append(f"lsoa_code IN (SELECT lsoa_code FROM {hotspot_table(self.hotspots_of)})")
        return out

    # -- plain Python (no zones or hotspots) ---------------------------------------------------------
    def matches(self, record: Mapping[str, Any]) -> bool:
        """Plain-Python equivalent of :meth:`sql_parts` (zones and hotspots need the engine's tables)."""
        if self.zones or self.hotspots_of:
            raise ThemeError("zones and hotspots are matched by the assessment engine, not record by record")
        kind = record.get("source_kind")
        if self.has_place:
            ok = False
            k = find_kind(kind)
            if self.location_types and k is not None and k.place_type:
                ok |= (record.get("location_type") or "").strip().lower() in self.location_types
            if self.location_texts and k is not None and k.location_text:
                ok |= place_text(record.get("location")) in self.location_texts
            if not ok:
                return False
        minute = minute_of_day(record.get("occurred_time"))
        if self.time_from:
            if minute is None:
                return False
            a, b = _minutes(self.time_from), _minutes(self.time_to or "00:00")
            if not ((minute >= a or minute < b) if self.wraps else (a <= minute < b)):
                return False
        if self.days:
            d = record.get("recorded_date")
            if d is None:
                return False
            dow = d.isoweekday()
            if self.wraps and minute is not None and minute < _minutes(self.time_to or "00:00"):
                dow = 7 if dow == 1 else dow - 1
            if WEEKDAYS[dow - 1] not in self.days:
                return False
        return True

    def describe(self) -> list[str]:
        """Plain words for the catalogue ("location types licensed premises", "20:00–06:00")."""
        out = []
        if self.location_types:
            out.append("location types " + ", ".join(self.location_types))
        if self.location_texts:
            out.append("police.uk places " + ", ".join(self.location_texts))
        if self.zones:
            out.append("zones " + ", ".join(Path(z).name for z in self.zones))
        if self.time_from:
            out.append(f"{self.time_from}\u2013{self.time_to or '00:00'}")
        if self.days:
            out.append("days " + ", ".join(d.capitalize() for d in self.days))
        if self.hotspots_of:
            out.append(f"in the top {round(self.hotspot_share * 100)}% of LSOAs by {self.hotspots_of}")
        return out


def night_day_sql(sel: Selectors | None = None, wraps_before: str | None = None) -> str:
    """ISO day (1 = Monday) of a record, a wrapped night's small hours counted with the evening before."""
    before = wraps_before or (sel.time_to if sel is not None and sel.wraps else None)
    if not before:
        return "isodow(recorded_date)"
    return (f"isodow(recorded_date - CAST(CASE WHEN coalesce({MINUTE_OF_DAY_SQL}, 9999) < {_minutes(before)} "
            "THEN 1 ELSE 0 END AS INTEGER))")


def place_text(location: str | None) -> str:
    """police.uk location text without "On or near ", lower case."""
    return re.sub(r"^\s*on or near\s+", "", location or "", flags=re.I).strip().lower()


def minute_of_day(text: str | None) -> int | None:
    """Minutes after midnight of an ``occurred_time`` ("21:15" → 1275), None when there is no HH:MM."""
    m = re.search(r"(\d{1,2}):(\d{2})", text or "")
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return None
    return int(m.group(1)) * 60 + int(m.group(2))


def parse_selectors(where: str, raw: Mapping[str, Any], base_dir: Path | None) -> Selectors:
    """Validate one theme table's selector keys into :class:`Selectors` (ThemeError on any problem)."""
    for key in LIST_KEYS:
        if key in raw and (not isinstance(raw[key], list) or not all(isinstance(v, str) for v in raw[key])):
            raise ThemeError(f"{where}: {key} must be a list of strings")
    for key in STR_KEYS:
        if key in raw and not isinstance(raw[key], str):
            raise ThemeError(f"{where}: {key} must be a string")
    for key in ("time_from", "time_to"):
        if key in raw and not _TIME.match(raw[key].strip()):
            raise ThemeError(f"{where}: {key} must be a time HH:MM (00:00–23:59), not {raw[key]!r}")
    if ("time_from" in raw) != ("time_to" in raw):
        raise ThemeError(f"{where}: give both time_from and time_to")
    if "time_from" in raw and raw["time_from"].strip() == raw["time_to"].strip():
        raise ThemeError(f"{where}: time_from and time_to are the same time; leave both out for the whole day")
    days = [d.strip().lower()[:3] for d in raw.get("days", [])]
    for d, given in zip(days, raw.get("days", [])):
        if d not in WEEKDAYS:
            raise ThemeError(f"{where}: unknown day {given!r}; expected one of {', '.join(WEEKDAYS)}")
    share = raw.get("hotspot_share", 0.2)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise ThemeError(f"{where}: hotspot_share must be a number above 0 and at most 1")
    if "hotspot_share" in raw and not raw.get("hotspots_of"):
        raise ThemeError(f"{where}: hotspot_share needs hotspots_of (a theme id)")
    zones = []
    for z in raw.get("zones", []):
        p = Path(z)
        if not p.is_absolute():
            if base_dir is None:
                raise ThemeError(f"{where}: a built-in theme cannot name zone files")
            p = base_dir / p
        if not p.is_file():
            raise ThemeError(f"{where}: zone file {p} does not exist")
        zones.append(str(p.resolve()))
    return Selectors(
        location_types=tuple(dict.fromkeys(v.strip().lower() for v in raw.get("location_types", []))),
        location_texts=tuple(dict.fromkeys(place_text(v) for v in raw.get("location_texts", []))),
        zones=tuple(dict.fromkeys(zones)),
        time_from=raw["time_from"].strip() if "time_from" in raw else None,
        time_to=raw["time_to"].strip() if "time_to" in raw else None,
        days=tuple(dict.fromkeys(days)),
        hotspots_of=(raw.get("hotspots_of") or "").strip() or None,
        hotspot_share=float(share),
    )

