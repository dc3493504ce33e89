"""Resident population by LSOA (Census 2011 table or ONS mid-year estimates), and sums to wards/LADs.

``read_population`` returns a DataFrame with columns

- ``lsoa_code``  2011 (or later) LSOA code, unique
- ``residents``  usual residents (Census) / all-ages estimate (mid-year estimates), Int64
- ``households`` households (Census), Int64, null when the source has none

and a meta dict ``{"source": ..., "year": ..., "rows": n}``.
"""
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    import pandas as pd

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
    import pandas as pd  # only when a population table is read or built, never in an assessment

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
    import pandas as pd  # only when a population table is read or built, never in an assessment

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


# ---- Populations by year at every level (ONS mid-year estimates) ----------------------------------------------

AREA_POPULATION_SOURCE = "ONS mid-year population estimates"

#: GSS code prefix -> level
LEVEL_PREFIXES: dict[str, str] = {
    "E01": "lsoa", "W01": "lsoa", "E02": "msoa", "W02": "msoa", "E05": "ward", "W05": "ward",
    "E06": "lad", "E07": "lad", "E08": "lad", "E09": "lad", "W06": "lad", "E10": "county", "E11": "county",
    "E12": "region", "E22": "csp", "W22": "csp", "E23": "pfa", "W15": "pfa",
    "E92": "country", "W92": "country", "K04": "england-and-wales", "K03": "great-britain", "K02": "united-kingdom",
}
ENGLAND, WALES, ENGLAND_AND_WALES = "E92000001", "W92000004", "K04000001"

_GSS = re.compile(r"[EWKSN]\d{8}")
_CODE_COL = re.compile(r"(area|geography|geog)?[\s_]*codes?|code|(lsoa|msoa|wd|ward|lad|la|ctry|rgn|csp|pfa|cty)"
                       r"\s*(\d{2,4})?\s*(code|cd)|mnemonic|geography_code", re.IGNORECASE)
_NAME_COL = re.compile(r"(area|geography)?[\s_]*names?|(lsoa|msoa|wd|ward|lad|la|ctry|rgn|csp|pfa)\s*(\d{2,4})?"
                       r"\s*(name|nm)|geography_name", re.IGNORECASE)
_YEAR_COL = re.compile(r"(?:estimated\s+population\s+)?(?:mid[\s_-]?|population[\s_-]?)((?:19|20)\d\d)", re.IGNORECASE)
_LONG_YEAR = re.compile(r"year|date|mid[\s_-]?year|time|period", re.IGNORECASE)
_LONG_VALUE = re.compile(r"population|obs[\s_]?value|value|count|persons|estimate|v4_0|observation", re.IGNORECASE)
_AGE_COL = re.compile(r"age|age[\s_]?group|c_age(_name)?", re.IGNORECASE)
_SEX_COL = re.compile(r"sex|gender|c_sex(_name)?", re.IGNORECASE)
_ALL_AGE_VALUES = {"all ages", "all", "total", "all persons", "allages", "all_ages"}
_ALL_SEX_VALUES = {"persons", "all persons", "all", "total", "people", "all people"}


def level_of(code: str) -> str | None:
    """The geography level of a GSS code ('E06000045' -> 'lad'), or None when not a known prefix."""
    return LEVEL_PREFIXES.get(code[:3].upper()) if code else None


def _read_rows(path: Path) -> list[list[str]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return list(csv.reader(fh))
    except UnicodeDecodeError:
        with open(path, encoding="cp1252", newline="") as fh:
            return list(csv.reader(fh))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def _area_layout(row: list[str]) -> str | None:
    """'wide' (code + all-ages or per-year columns), 'long' (code, year, value) or None for a header row."""
    cells = [c.strip() for c in row]
    code = any(_CODE_COL.fullmatch(c) for c in cells)
    if not code:
        return None
    if any(_ALL_AGES_COL.fullmatch(c) for c in cells) or any(_YEAR_COL.fullmatch(c) for c in cells):
        return "wide"
    if any(_LONG_YEAR.fullmatch(c) for c in cells) and any(_LONG_VALUE.fullmatch(c) for c in cells):
        return "long"
    return None


def is_area_population_header(row: list[str]) -> bool:
    """True when a CSV row is the header of a population table by area (any level) that read_area_population reads."""
    return _area_layout(row) is not None


def _year_from(path: Path, preamble: str) -> int | None:
    m = re.search(r"mid[\s-]?(\d{4})", preamble, re.IGNORECASE) or re.search(
        r"mid[\s_-]?(\d{4})|(?<!\d)((?:19|20)\d\d)(?!\d)", path.name, re.IGNORECASE)
    return int(next(g for g in m.groups() if g)) if m else None


def read_area_population(path: str | Path, *, year: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Read resident population by area (any level, any number of years) from an ONS mid-year estimate CSV.

    Accepted layouts (docs/population.md):

    - **wide**: a code column ('Code', 'Area Codes', 'LAD17CD', …), optional name and geography columns, and an
      all-ages column ('All ages', 'All Ages', 'Total') with single-year-of-age columns (0 … 90+) beside it, or
      one column per year ('Mid-2017', 'Population 2018', 'Estimated Population mid-2016'). A single-year file's
      year comes from ``year``, a 'Mid-YYYY' title line or the file name;
    - **long/tidy**: code, year (or date) and value columns, with optional age and sex columns: rows for
      'All ages' / 'Persons' are used when present, otherwise single ages and both sexes are summed.

    Rows whose code is not a GSS code are skipped (counted); a code given twice for the same year is an error.
    Returns ``(df, meta)``: df columns area_code, area_name, level, year, residents (int64).
    """
    import pandas as pd  # only when a population table is read or built, never in an assessment

    path = Path(path)
    rows = _read_rows(path)
    if not rows:
        raise InputError(f"{path.name}: file is empty")
    hdr_i = next((i for i, r in enumerate(rows[:20]) if _area_layout(r)), None)
    if hdr_i is None:
        raise InputError(f"{path.name}: not a population table by area (need a code column and 'All ages', "
                         "per-year columns, or year and value columns)")
    header = [c.strip() for c in rows[hdr_i]]
    layout = _area_layout(header)
    code_i = next(i for i, c in enumerate(header) if _CODE_COL.fullmatch(c))
    name_i = next((i for i, c in enumerate(header) if _NAME_COL.fullmatch(c) and i != code_i), None)
    body = rows[hdr_i + 1:]
    recs: dict[tuple[str, int], list] = {}
    skipped = 0

    def add(code: str, name: str | None, yr: int, value: int, line: int, *, accumulate: bool) -> None:
        key = (code, yr)
        if key in recs:
            if not accumulate:
                raise InputError(f"{path.name}: line {line}: {code} appears more than once for {yr}")
            recs[key][1] += value
        else:
            recs[key] = [name, value]

    if layout == "wide":
        year_cols = [(i, int(m.group(1))) for i, c in enumerate(header) if (m := _YEAR_COL.fullmatch(c))]
        if not year_cols:
            yr = year or _year_from(path, " ".join(",".join(r) for r in rows[:hdr_i]))
            if yr is None:
                raise InputError(f"{path.name}: cannot tell the estimate year (no 'Mid-YYYY' title or year in the name)")
            res_i = next(i for i, c in enumerate(header) if _ALL_AGES_COL.fullmatch(c))
            year_cols = [(res_i, yr)]
        for n, row in enumerate(body, start=hdr_i + 2):
            if not any(c.strip() for c in row):
                continue
            code = row[code_i].strip().upper() if code_i < len(row) else ""
            if not _GSS.fullmatch(code):
                skipped += 1
                continue
            for i, yr in year_cols:
                if i >= len(row):
                    raise InputError(f"{path.name}: line {n}: row has {len(row)} fields, header has {len(header)}")
                v = _int(row[i], path, n, header[i], nullable=True)
                if v is not None:
                    add(code, row[name_i].strip() if name_i is not None else None, yr, v, n, accumulate=False)
    else:
        year_i = next(i for i, c in enumerate(header) if _LONG_YEAR.fullmatch(c))
        value_i = next(i for i, c in enumerate(header) if _LONG_VALUE.fullmatch(c) and i not in (code_i, name_i))
        age_i = next((i for i, c in enumerate(header) if _AGE_COL.fullmatch(c)), None)
        sex_i = next((i for i, c in enumerate(header) if _SEX_COL.fullmatch(c)), None)
        data = [(n, r) for n, r in enumerate(body, start=hdr_i + 2) if any(c.strip() for c in r)]
        ages = {r[age_i].strip().lower() for _, r in data if age_i is not None and age_i < len(r)}
        sexes = {r[sex_i].strip().lower() for _, r in data if sex_i is not None and sex_i < len(r)}
        all_age = ages & _ALL_AGE_VALUES
        all_sex = sexes & _ALL_SEX_VALUES
        for n, row in data:
            if len(row) <= max(code_i, year_i, value_i):
                raise InputError(f"{path.name}: line {n}: row has {len(row)} fields, header has {len(header)}")
            code = row[code_i].strip().upper()
            if not _GSS.fullmatch(code):
                skipped += 1
                continue
            if all_age and row[age_i].strip().lower() not in all_age:
                continue
            if all_sex and row[sex_i].strip().lower() not in all_sex:
                continue
            m = re.search(r"(?<!\d)((?:19|20)\d\d)(?!\d)", row[year_i])
            if not m:
                raise InputError(f"{path.name}: line {n}: {header[year_i]} {row[year_i]!r} has no year")
            v = _int(row[value_i], path, n, header[value_i], nullable=True)
            if v is not None:
                summing = (age_i is not None and not all_age) or (sex_i is not None and not all_sex)
                add(code, row[name_i].strip() if name_i is not None else None, int(m.group(1)), v, n,
                    accumulate=summing)
    if not recs:
        raise InputError(f"{path.name}: population table has no rows with a GSS area code")
    df = pd.DataFrame(
        [{"area_code": c, "area_name": v[0], "level": level_of(c), "year": y, "residents": v[1]}
         for (c, y), v in recs.items()],
        columns=["area_code", "area_name", "level", "year", "residents"])
    df["year"] = df["year"].astype("int64")
    df["residents"] = df["residents"].astype("int64")
    meta = {"source": AREA_POPULATION_SOURCE, "years": sorted(df["year"].unique().tolist()), "rows": len(df),
            "layout": layout, "skipped_rows": skipped, "levels": sorted(df["level"].dropna().unique().tolist())}
    return df, meta


@dataclass(frozen=True)
class PopulationFigure:
    """The resident population of a set of areas for one year: ``year`` is the estimate used (the loaded year
    nearest to ``asked_year``), ``source`` names the table."""

    residents: int
    year: int
    asked_year: int
    source: str
    levels: tuple[str, ...]

    @property
    def exact(self) -> bool:
        return self.year == self.asked_year

    def label(self) -> str:
        """'ONS mid-year population estimates, mid-2017' or '..., 2011 (nearest loaded to 2017)'."""
        when = f"mid-{self.year}" if "mid-year" in self.source else str(self.year)
        return f"{self.source}, {when}" + ("" if self.exact else f" (nearest loaded year to {self.asked_year})")

    def to_dict(self) -> dict:
        return {"residents": self.residents, "year": self.year, "asked_year": self.asked_year,
                "source": self.source, "label": self.label()}


class PopulationIndex:
    """Every population table in a store, loaded once: area tables by year and LSOA tables by year, with the
    LSOA→LAD and LAD→CSP→PFA lookups to build areas up from their parts."""

    def __init__(self, store) -> None:  # noqa: ANN001 - Store or path
        import pyarrow.parquet as pq

        from ..store import Store

        st = store if isinstance(store, Store) else Store(store)
        self.by_year: dict[int, dict[str, int]] = {}
        self.source_of: dict[int, str] = {}
        for e in st.geography_entries("population_areas"):
            t = pq.read_table(st.path / e["file"], columns=["area_code", "year", "residents"])
            for code, yr, n in zip(*(t[c].to_pylist() for c in ("area_code", "year", "residents"))):
                if yr is None:
                    continue
                self.by_year.setdefault(int(yr), {})[code] = int(n)
                self.source_of[int(yr)] = e.get("source", AREA_POPULATION_SOURCE)
        self.lsoa_by_year: dict[int, dict[str, int]] = {}
        self.lsoa_source: dict[int, str] = {}
        for e in sorted(st.geography_entries("population"), key=lambda e: e.get("loaded_at", "")):
            yr = int(e.get("year") or 0)
            t = pq.read_table(st.path / e["file"], columns=["lsoa_code", "residents"])
            self.lsoa_by_year[yr] = {c: int(n) for c, n in zip(t["lsoa_code"].to_pylist(), t["residents"].to_pylist())
                                     if c is not None and n is not None and n == n}  # n == n: not NaN
            self.lsoa_source[yr] = e.get("source", "population by LSOA")
        self._st = st

    # The lookups below are built on first use: an area with its own population row, or a store with no
    # population table, never needs them (building both costs 0.03-0.15 s on a national lookup).
    @functools.cached_property
    def lads_of(self) -> dict[str, set[str]]:
        """CSP or PFA code -> the LAD codes it is made of."""
        import pyarrow.parquet as pq

        st, out = self._st, {}
        for e in st.geography_entries("lad_csp_pfa"):
            t = pq.read_table(st.path / e["file"], columns=["lad_code", "csp_code", "pfa_code"])
            lads = t["lad_code"].to_pylist()
            for col in ("csp_code", "pfa_code"):
                for code, lad in zip(t[col].to_pylist(), lads):  # plain loops: a groupby of ~9,000 groups costs 0.3 s
                    if isinstance(code, str) and isinstance(lad, str):
                        out.setdefault(code, set()).add(lad)
        return out

    @functools.cached_property
    def lsoas_of(self) -> dict[str, set[str]]:
        """LAD or ward code -> the LSOA codes it is made of."""
        import pyarrow.parquet as pq

        st, out = self._st, {}
        for e in st.geography_entries("lsoa_ward"):
            t = pq.read_table(st.path / e["file"], columns=["lsoa_code", "ward_code", "lad_code"])
            lsoas = t["lsoa_code"].to_pylist()
            for col in ("lad_code", "ward_code"):
                for code, lsoa in zip(t[col].to_pylist(), lsoas):
                    if isinstance(code, str) and isinstance(lsoa, str):
                        out.setdefault(code, set()).add(lsoa)
        return out

    def years(self) -> list[int]:
        return sorted(set(self.by_year) | set(self.lsoa_by_year))

    def _one(self, code: str, year: int) -> tuple[int, str] | None:
        """Population of one area in a year's tables: its own row, else the sum of its parts."""
        areas = self.by_year.get(year, {})
        if code in areas:
            return int(areas[code]), self.source_of[year]
        if code == ENGLAND_AND_WALES:
            parts = [self._one(c, year) for c in (ENGLAND, WALES)]
            if all(parts):
                return sum(p[0] for p in parts), parts[0][1]
        if level_of(code) == "lsoa":
            v = self.lsoa_by_year.get(year, {}).get(code)
            return (int(v), self.lsoa_source[year]) if v is not None else None
        lads = self.lads_of.get(code)
        if lads and level_of(code) in ("csp", "pfa"):
            parts = [self._one(c, year) for c in sorted(lads)]
            if all(parts):
                return sum(p[0] for p in parts), parts[0][1]
            return None
        lsoas = self.lsoas_of.get(code)
        pop = self.lsoa_by_year.get(year)
        if lsoas and pop is not None and all(s in pop for s in lsoas):
            return sum(int(pop[s]) for s in lsoas), self.lsoa_source[year]
        return None

    def figure(self, codes: list[str], year: int) -> PopulationFigure | None:
        """The population of the union of ``codes`` (disjoint areas) for ``year``, from the loaded year nearest to
        it (the later one on a tie) that gives every code; None when no loaded year does."""
        key = (tuple(codes), year)
        memo = self.__dict__.setdefault("_memo", {})
        if key not in memo:
            memo[key] = self._figure(list(codes), year)
        return memo[key]

    def _figure(self, codes: list[str], year: int) -> PopulationFigure | None:
        for yr in sorted(self.years(), key=lambda y: (abs(y - year), -y)):
            parts = [self._one(c, yr) for c in codes]
            if codes and all(parts):
                return PopulationFigure(sum(p[0] for p in parts), yr, year, parts[0][1],
                                        tuple(sorted({level_of(c) or "?" for c in codes})))
        return None


_INDEX_CACHE: dict[str, tuple[tuple, "PopulationIndex"]] = {}


def population_index(store) -> PopulationIndex:  # noqa: ANN001
    """The store's PopulationIndex, reused while the store's geography entries are unchanged."""
    from ..store import Store

    st = store if isinstance(store, Store) else Store(store)
    key = tuple((e["kind"], e["name"], e.get("loaded_at")) for e in st.geography_entries())
    hit = _INDEX_CACHE.get(str(st.path.resolve()))
    if hit and hit[0] == key:
        return hit[1]
    idx = PopulationIndex(st)
    if len(_INDEX_CACHE) > 8:
        _INDEX_CACHE.clear()
    _INDEX_CACHE[str(st.path.resolve())] = (key, idx)
    return idx


def population_for(store, codes: list[str], year: int) -> PopulationFigure | None:  # noqa: ANN001
    """Resident population of a set of areas (any level: LSOA, ward, LAD, CSP, PFA, England, Wales, England and
    Wales) for ``year``, choosing the nearest loaded estimate year and naming it; None when nothing gives it."""
    return population_index(store).figure(list(codes), year)


def estimate_year_for(first_month: str, last_month: str) -> int:
    """The mid-year estimate for a period: the 30 June nearest the period's middle (2017/18 -> 2017, 2018-03 -> 2018,
    2017 -> 2017)."""
    y1, m1 = int(first_month[:4]), int(first_month[5:7])
    y2, m2 = int(last_month[:4]), int(last_month[5:7])
    mid = ((y1 * 12 + m1 - 1) + (y2 * 12 + m2 - 1)) / 2 + 0.5  # in months, at the middle of the span
    year = mid / 12
    return int(round(year - 0.5))
