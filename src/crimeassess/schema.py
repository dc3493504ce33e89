"""The canonical record every source is normalised into, and police.uk's crime types.

One row per recorded crime or anti-social behaviour incident. Columns that a source does not carry are
null; later stages (geography, classification) fill ward/area/offence information at query time.
"""
from __future__ import annotations

import re

import pyarrow as pa

#: Canonical record columns, in order, with their meaning.
RECORD_FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("uid", pa.string(), "unique row key in the store: '<input_id>:<line>'"),
    ("record_id", pa.string(), "the source's own id (police.uk Crime ID / API persistent_id / extract crime_id); null for ASB"),
    ("input_id", pa.string(), "the manifest id of the input this row came from"),
    ("source_kind", pa.string(), "'police-uk-street', 'police-uk-api' or 'extract'"),
    ("force", pa.string(), "force slug, e.g. 'hampshire' (null when the source does not say)"),
    ("force_name", pa.string(), "force name as the source gives it, e.g. 'Hampshire Constabulary'"),
    ("month", pa.string(), "YYYY-MM the crime is counted in"),
    ("recorded_date", pa.date32(), "date recorded (extracts only)"),
    ("category_id", pa.string(), "police.uk crime type id, e.g. 'violence-and-sexual-offences'"),
    ("crime_type", pa.string(), "police.uk crime type label, e.g. 'Violence and sexual offences'"),
    ("is_crime", pa.bool_(), "false for anti-social behaviour, which is never counted as crime"),
    ("outcome", pa.string(), "last outcome category"),
    ("longitude", pa.float64(), "WGS84 longitude (police.uk anonymised map point)"),
    ("latitude", pa.float64(), "WGS84 latitude"),
    ("location", pa.string(), "location text, e.g. 'On or near Orchard Lane'"),
    ("lsoa_code", pa.string(), "2011 LSOA code given by the source"),
    ("lsoa_name", pa.string(), "LSOA name given by the source"),
    ("ward_code", pa.string(), "ward code carried by the source itself (extracts); else null"),
    ("ward_name", pa.string(), "ward name carried by the source itself"),
    ("lad_code", pa.string(), "local authority code carried by the source itself"),
    ("lad_name", pa.string(), "local authority name carried by the source itself"),
    ("offence_code", pa.string(), "Home Office offence code (extracts), e.g. '28E'"),
    ("offence_description", pa.string(), "offence description as given"),
    ("knife_flag", pa.bool_(), "knife or sharp instrument flag; null = unknown"),
    ("hate_flag", pa.bool_(), "hate crime flag; null = unknown"),
    ("domestic_flag", pa.bool_(), "domestic abuse flag; null = unknown"),
    ("location_type", pa.string(), "location type (extract) or police.uk API location_type"),
    ("occurred_time", pa.string(), "time of occurrence as given (extracts)"),
    ("context", pa.string(), "police.uk Context column"),
    ("line", pa.int64(), "line number in the input file (1 = header), or item index for JSON"),
]

RECORD_SCHEMA = pa.schema([pa.field(n, t) for n, t, _ in RECORD_FIELDS])
RECORD_COLUMNS = [n for n, _, _ in RECORD_FIELDS]

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("input_id", pa.string()),
        pa.field("file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
    ]
)

ASB_ID = "anti-social-behaviour"

#: police.uk crime types: id -> label. Includes the older types police.uk used before May 2013.
CRIME_TYPES: dict[str, str] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violence-and-sexual-offences": "Violence and sexual offences",
    "other-crime": "Other crime",
    # retired types, kept so old archive files load
    "violent-crime": "Violent crime",
    "public-disorder-weapons": "Public disorder and weapons",
}

#: The 14 current types in police.uk's display order (ASB first).
CURRENT_CRIME_TYPES = [k for k in CRIME_TYPES if k not in ("violent-crime", "public-disorder-weapons")]

_LABEL_TO_ID = {v.lower(): k for k, v in CRIME_TYPES.items()}

#: API slugs that differ from the ids above. The API calls "Violence and sexual offences" 'violent-crime'.
API_SLUGS: dict[str, str] = {
    "violent-crime": "violence-and-sexual-offences",
    "public-disorder-weapons": "public-disorder-weapons",
}


def crime_type_id(label: str) -> str | None:
    """Map a police.uk crime type label (as in street CSVs) to its id, or None if unknown."""
    return _LABEL_TO_ID.get(label.strip().lower())


def api_slug_to_id(slug: str) -> str | None:
    """Map a police.uk API category slug to a crime type id, or None if unknown."""
    slug = slug.strip().lower()
    if slug in API_SLUGS:
        return API_SLUGS[slug]
    return slug if slug in CRIME_TYPES else None


def force_slug(name: str) -> str:
    """'Hampshire Constabulary' -> 'hampshire'; 'West Yorkshire Police' -> 'west-yorkshire'."""
    s = name.strip().lower()
    s = re.sub(r"\b(constabulary|police service|police force|police)\b", "", s)
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s or "unknown"

