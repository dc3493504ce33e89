"""Home Office offence classification: offence code -> description -> ONS subgroup -> ONS group.

The table (``data/offences.csv``) was written for this package from the public Home Office Counting Rules
for Recorded Crime (HOCR) and the ONS offence groups used in "Crime in England and Wales". Each row also
carries the nearest police.uk crime type id and whether the offence counts towards ONS "total recorded
crime" (fraud is published separately and is excluded).

Codes are normalised before lookup: case and surrounding spaces are ignored, HOCR's slash notation is
accepted (``4/1`` -> ``4.1``) and leading zeros are dropped (``008n`` -> ``8N``).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..schema import CRIME_TYPES

if TYPE_CHECKING:
    import pandas as pd

#: Version of the bundled table; bump when codes or groupings change.
TABLE_VERSION = "hocr-2017-18/ons-groups r1"
TABLE_SOURCE = "Home Office Counting Rules for Recorded Crime (2017/18, with legacy codes); ONS offence groups"

#: The ONS offence groups, in ONS publication order.
GROUPS: tuple[str, ...] = (
    "Violence against the person",
    "Sexual offences",
    "Robbery",
    "Theft offences",
    "Criminal damage and arson",
    "Drug offences",
    "Possession of weapons offences",
    "Public order offences",
    "Miscellaneous crimes against society",
    "Fraud offences",
)

#: Group each subgroup belongs to.
SUBGROUPS: dict[str, str] = {
    "Homicide": "Violence against the person",
    "Death or serious injury caused by unlawful driving": "Violence against the person",
    "Violence with injury": "Violence against the person",
    "Violence without injury": "Violence against the person",
    "Stalking and harassment": "Violence against the person",
    "Rape": "Sexual offences",
    "Other sexual offences": "Sexual offences",
    "Robbery of business property": "Robbery",
    "Robbery of personal property": "Robbery",
    "Residential burglary": "Theft offences",
    "Non-residential burglary": "Theft offences",
    "Vehicle offences": "Theft offences",
    "Theft from the person": "Theft offences",
    "Bicycle theft": "Theft offences",
    "Shoplifting": "Theft offences",
    "All other theft offences": "Theft offences",
    "Arson": "Criminal damage and arson",
    "Criminal damage": "Criminal damage and arson",
    "Trafficking of drugs": "Drug offences",
    "Possession of drugs": "Drug offences",
    "Possession of weapons offences": "Possession of weapons offences",
    "Public order offences": "Public order offences",
    "Miscellaneous crimes against society": "Miscellaneous crimes against society",
    "Police recorded fraud": "Fraud offences",
    "Action Fraud": "Fraud offences",
    "CIFAS": "Fraud offences",
    "UK Finance": "Fraud offences",
}

TABLE_COLUMNS = [
    "code",
    "description",
    "subgroup",
    "group",
    "policeuk_category",
    "in_total_recorded_crime",
    "source",
]


@dataclass(frozen=True)
class Offence:
    """One Home Office offence classification."""

    code: str
    description: str
    subgroup: str
    group: str
    policeuk_category: str
    in_total_recorded_crime: bool
    source: str


_SLASH = re.compile(r"^(\d+)/(\d+)$")
_LEADING_ZEROS = re.compile(r"^0+(?=\d)")


def normalise_code(code: object) -> str:
    """Canonical spelling of an offence code: '8n ' -> '8N', '4/1' -> '4.1', '008N' -> '8N', '037.2' -> '37.2'."""
    s = re.sub(r"\s+", " ", str(code).strip()).upper()
    m = _SLASH.match(s)
    if m:
        s = f"{m.group(1)}.{m.group(2)}"
    return _LEADING_ZEROS.sub("", s)


def _parse_bool(text: str, where: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "1", "yes"):
        return True
    if t in ("false", "0", "no"):
        return False
    raise InputError(f"offence table: {where}: not a boolean: {text!r}")


@lru_cache(maxsize=1)
def _load() -> dict[str, Offence]:
    """Read and validate the bundled table (cached)."""
    text = resources.files(__package__).joinpath("data/offences.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames != TABLE_COLUMNS:
        raise InputError(f"offence table: unexpected columns {reader.fieldnames}")
    table: dict[str, Offence] = {}
    for lineno, row in enumerate(reader, start=2):
        where = f"line {lineno}"
        key = normalise_code(row["code"])
        if key in table:
            raise InputError(f"offence table: {where}: duplicate code {row['code']!r}")
        if SUBGROUPS.get(row["subgroup"]) != row["group"]:
            raise InputError(f"offence table: {where}: subgroup {row['subgroup']!r} is not in group {row['group']!r}")
        if row["policeuk_category"] not in CRIME_TYPES:
            raise InputError(f"offence table: {where}: unknown police.uk category {row['policeuk_category']!r}")
        table[key] = Offence(
            code=row["code"].strip(),
            description=row["description"].strip(),
            subgroup=row["subgroup"],
            group=row["group"],
            policeuk_category=row["policeuk_category"],
            in_total_recorded_crime=_parse_bool(row["in_total_recorded_crime"], where),
            source=row["source"].strip(),
        )
    return table


def offences() -> list[Offence]:
    """All offences in table order."""
    return list(_load().values())


def offence_table() -> pd.DataFrame:
    """The table as a DataFrame: code, description, subgroup, group, policeuk_category,
    in_total_recorded_crime (bool), source. ``code`` is the canonical (normalised) spelling."""
    import pandas as pd  # here: ingest imports this module and need not load pandas

    rows = [
        {
            "code": normalise_code(o.code),
            "description": o.description,
            "subgroup": o.subgroup,
            "group": o.group,
            "policeuk_category": o.policeuk_category,
            "in_total_recorded_crime": o.in_total_recorded_crime,
            "source": o.source,
        }
        for o in _load().values()
    ]
    df = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    df["in_total_recorded_crime"] = df["in_total_recorded_crime"].astype(bool)
    return df


@lru_cache(maxsize=1)
def offence_join_columns() -> dict[str, tuple[str, list[Any]]]:
    """What assessments join records' offence codes to, as columns ``name -> (DuckDB type, values)`` for
    ``sql.create_table`` (built once per process): ``code`` (canonical, upper case, as ``upper(offence_code)``
    matches it), ``ho_group``, ``ho_subgroup``, ``ho_in_total``, ``category_id`` (the police.uk category)."""
    rows = list(_load().values())
    return {"code": ("VARCHAR", [normalise_code(o.code).upper() for o in rows]),
            "ho_group": ("VARCHAR", [o.group for o in rows]),
            "ho_subgroup": ("VARCHAR", [o.subgroup for o in rows]),
            "ho_in_total": ("BOOLEAN", [bool(o.in_total_recorded_crime) for o in rows]),
            "category_id": ("VARCHAR", [o.policeuk_category for o in rows])}


def lookup(code: object) -> Offence | None:
    """The offence for a Home Office code (case/space/zero-padding insensitive), or None if unknown."""
    if code is None:
        return None
    key = normalise_code(code)
    return _load().get(key) if key else None


def is_known(code: object) -> bool:
    """True when ``code`` is in the offence table."""
    return lookup(code) is not None


def groups() -> list[str]:
    """ONS offence group names, in publication order."""
    return list(GROUPS)


def subgroups() -> list[str]:
    """ONS offence subgroup names."""
    return list(SUBGROUPS)
