"""Resident population by LSOA (Census 2011 table or ONS mid-year estimates), and sums to wards/LADs.

``read_population`` returns a DataFrame with columns

- ``lsoa_code``  2011 (or later) LSOA code, unique
- ``residents``  usual residents (Census) / all-ages estimate (mid-year estimates), Int64
- ``households`` households (Census), Int64, null when the source has none

and a meta dict ``{"source": ..., "year": ..., "rows": n}``.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from ..errors import InputError

CENSUS_SOURCE = "Census 2011 usual residents"
MYE_SOURCE = "ONS mid-year estimates"

_LSOA_CODE_COL = re.compile(r"lsoa\s*(\d{2,4})?\s*(code|cd)|area\s*codes?", re.IGNORECASE)
_ALL_AGES_COL = re.compile(r"all[\s_]*ages|total|all persons", re.IGNORECASE)
_LSOA_CODE = re.compile(r"[EW]01\d{6}")


def is_population_header(row: list[str]) -> bool:
    """True when a CSV row is the header of a population-by-LSOA table this module reads."""
    cells = [c.strip() for c in row]
    has_code = any(_LSOA_CODE_COL.fullmatch(c) for c in cells)
    has_counts = any(c.lower() == "persons" for c in cells) or any(_ALL_AGES_COL.fullmatch(c) for c in cells)
    return has_code and has_counts


def _int(value: str, path: Path, line: int, column: str, *, nullable: bool) -> int | None:
    """'1,563' -> 1563; blank -> None when nullable; anything else -> InputError naming the line."""
    v = value.strip().replace(",", "").replace(" ", "")
    if v in ("", "-", ":", ".."):
        if nullable:
            return None
        raise InputError(f"{path.name}: line {line}: {column} is empty")
    try:
        f = float(v)
    except ValueError:
        raise InputError(f"{path.name}: line {line}: {column} {value!r} is not a number") from None
    if not f.is_integer() or f < 0:
        raise InputError(f"{path.name}: line {line}: {column} {value!r} is not a whole number of people")
    return int(f)


def read_population(path: str | Path, *, year: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Read resident population by LSOA from a Census 2011 table or an ONS mid-year-estimate CSV.

    Census 2011 layout: 'LSOA Code' plus three 'Persons' columns (all usual residents, in households,
    in communal establishments; the first is used) and 'Households'; numbers may carry thousands
    separators. Mid-year-estimate layout: 'LSOA Code', 'LSOA Name', [LA columns], 'All Ages', 0 … 90+.
    The estimate year comes from ``year``, else a 'Mid-YYYY' title line, else the file name; if none
    says, InputError. Rows whose code is not an LSOA (e.g. local-authority totals in an 'Area Codes'
    layout) are skipped and counted in ``meta['skipped_rows']``; blank lines are ignored.
    Returns ``(df, meta)`` (see module doc).
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        try:  # ONS spreadsheets saved as CSV on Windows
            with open(path, encoding="cp1252", newline="") as fh:
                rows = list(csv.reader(fh))
        except UnicodeDecodeError as exc:
            raise InputError(f"{path.name}: not a text file ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not rows:
        raise InputError(f"{path.name}: file is empty")

    hdr_i = next((i for i, r in enumerate(rows[:20]) if is_population_header(r)), None)
    if hdr_i is None:
        raise InputError(
            f"{path.name}: not a population-by-LSOA table (need an 'LSOA Code' column and 'Persons' or 'All Ages')"
        )
    header = [c.strip() for c in rows[hdr_i]]
    code_i = next(i for i, c in enumerate(header) if _LSOA_CODE_COL.fullmatch(c))
    lower = [c.lower() for c in header]

    if "persons" in lower:
        source = CENSUS_SOURCE
        res_i = lower.index("persons")
        hh_i = lower.index("households") if "households" in lower else None
        year = year or 2011
    else:
        source = MYE_SOURCE
        res_i = next(i for i, c in enumerate(header) if _ALL_AGES_COL.fullmatch(c))
        hh_i = None
        if year is None:
            preamble = " ".join(",".join(r) for r in rows[:hdr_i])
            m = re.search(r"mid[\s-]?(\d{4})", preamble, re.IGNORECASE) or re.search(
                r"mid[\s_-]?(\d{4})|(?<!\d)((?:19|20)\d\d)(?!\d)", path.name, re.IGNORECASE
            )
            if not m:
                raise InputError(f"{path.name}: cannot tell the estimate year (no 'Mid-YYYY' title or year in the name)")
            year = int(next(g for g in m.groups() if g))

    codes: list[str] = []
    residents: list[int | None] = []
    households: list[int | None] = []
    skipped = 0
    for n, row in enumerate(rows[hdr_i + 1 :], start=hdr_i + 2):
        if not any(c.strip() for c in row):
            continue
        code = row[code_i].strip() if code_i < len(row) else ""
        if not _LSOA_CODE.fullmatch(code):
            if header[code_i].lower().startswith("area") and code:
                skipped += 1  # a local-authority/region total row in an 'Area Codes' layout
                continue
            raise InputError(f"{path.name}: line {n}: {code!r} is not an LSOA code")
        if len(row) <= max(res_i, hh_i or 0):
            raise InputError(f"{path.name}: line {n}: row has {len(row)} fields, header has {len(header)}")
        codes.append(code)
        residents.append(_int(row[res_i], path, n, header[res_i], nullable=False))
        households.append(_int(row[hh_i], path, n, "Households", nullable=True) if hh_i is not None else None)

    if not codes:
        raise InputError(f"{path.name}: population table has no LSOA rows")
    df = pd.DataFrame(
        {
            "lsoa_code": pd.array(codes, dtype="string"),
            "residents": pd.array(residents, dtype="Int64"),
            "households": pd.array(households, dtype="Int64"),
        }
    )
    dup = df["lsoa_code"].duplicated()
    if dup.any():
        raise InputError(f"{path.name}: LSOA {df.loc[dup, 'lsoa_code'].iloc[0]} appears more than once")
    meta = {"source": source, "year": int(year), "rows": len(df), "skipped_rows": skipped}
    return df, meta


def aggregate_population(pop: pd.DataFrame, lookup: pd.DataFrame, by: str = "ward_code") -> pd.DataFrame:
    """Sum LSOA population to the areas of ``lookup`` (an LSOA lookup as from read_lsoa_ward_lookup).

    ``by`` is a code column of the lookup ('ward_code' or 'lad_code'). Returns one row per area with
    columns: <by>, <name column if the lookup has it>, lsoas, lsoas_without_population, residents,
    households. residents/households are null for an area none of whose LSOAs has a figure, and
    households is null wherever any LSOA lacks it; lsoas_without_population flags partial totals.
    """
    if by not in lookup.columns:
        raise InputError(f"lookup has no column {by!r} (has {', '.join(lookup.columns)})")
    for col in ("lsoa_code",):
        if col not in lookup.columns or col not in pop.columns:
            raise InputError("both population and lookup need an lsoa_code column")
    name_col = by[: -len("_code")] + "_name" if by.endswith("_code") else None
    keep = ["lsoa_code", by] + ([name_col] if name_col in lookup.columns else [])
    merged = lookup[keep].drop_duplicates("lsoa_code").merge(
        pop[["lsoa_code", "residents", "households"]], on="lsoa_code", how="left", validate="one_to_one"
    )
    merged["_missing"] = merged["residents"].isna()
    merged["_hh_missing"] = merged["households"].isna()
    group_keys = [by] + ([name_col] if name_col in keep else [])
    g = merged.groupby(group_keys, sort=True, dropna=False)
    out = g.agg(
        lsoas=("lsoa_code", "size"),
        lsoas_without_population=("_missing", "sum"),
        residents=("residents", lambda s: s.sum(min_count=1)),
        households=("households", lambda s: s.sum(min_count=1)),
        _hh_missing=("_hh_missing", "sum"),
    ).reset_index()
    out.loc[out["_hh_missing"] > 0, "households"] = pd.NA
    out["residents"] = out["residents"].astype("Int64")
    out["households"] = out["households"].astype("Int64")
    out["lsoas_without_population"] = out["lsoas_without_population"].astype("int64")
    return out.drop(columns="_hh_missing")
