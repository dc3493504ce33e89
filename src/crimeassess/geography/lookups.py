"""ONS Open Geography lookup CSVs, and recognising what a geography file is by its content.

Readers return plain DataFrames (all columns strings) that the store persists as Parquet:

- ``read_lsoa_ward_lookup``  -> lsoa_code, lsoa_name, ward_code, ward_name, lad_code, lad_name
- ``read_lad_csp_pfa_lookup`` -> lad_code, lad_name, csp_code, csp_name, pfa_code, pfa_name
- ``read_ward_codes``        -> ward_code, ward_name, lad_code, lad_name, vintage

Column names are found by pattern (``LSOA11CD``, ``WD17NM``, ``lad18cd`` ...), so any yearly vintage
of the ONS files works. Files may start with a UTF-8 byte-order mark.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .population import is_area_population_header, is_population_header

#: What ``detect_geography_kind`` can answer.
GEOGRAPHY_KINDS = ("lsoa-ward-lookup", "lad-csp-pfa-lookup", "ward-codes", "boundaries", "population")

_SQLITE_MAGIC = b"SQLite format 3\x00"
_SHP_MAGIC = b"\x00\x00\x27\x0a"  # file code 9994, big-endian


def _col(header: list[str], pattern: str) -> str | None:
    """The first header name fully matching ``pattern`` (case-insensitive), or None."""
    rx = re.compile(pattern, re.IGNORECASE)
    for name in header:
        if rx.fullmatch(name.strip()):
            return name
    return None


def _read_header(path: Path) -> list[str]:
    """The first CSV row of ``path`` (BOM-tolerant), or raise InputError."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            row = next(csv.reader(fh), None)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name}: not a UTF-8 text file ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not row:
        raise InputError(f"{path.name}: file is empty")
    return [c.strip() for c in row]


def _read_csv(path: Path, usecols: list[str]) -> pd.DataFrame:
    """Read the named columns of a CSV as stripped strings; empty cells become None."""
    try:
        df = pd.read_csv(
            path, encoding="utf-8-sig", dtype=str, usecols=usecols, keep_default_na=False, skipinitialspace=True
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path.name}: cannot parse CSV ({str(exc).splitlines()[0]})") from None
    df.columns = [c.strip() for c in df.columns]
    for c in df.columns:
        df[c] = df[c].str.strip().replace("", None)
    return df


def _require(path: Path, header: list[str], spec: dict[str, str], what: str) -> dict[str, str]:
    """Map our column names to the file's, by pattern; raise InputError naming what is missing."""
    found = {ours: _col(header, pat) for ours, pat in spec.items()}
    missing = [ours for ours, col in found.items() if col is None]
    if missing:
        raise InputError(
            f"{path.name}: not {what}: no column for {', '.join(missing)} (header: {', '.join(header[:12])})"
        )
    return found  # type: ignore[return-value]


def _check_filled(path: Path, df: pd.DataFrame, cols: list[str]) -> None:
    for c in cols:
        blank = df[c].isna()
        if blank.any():
            line = int(blank.to_numpy().nonzero()[0][0]) + 2  # header is line 1
            raise InputError(f"{path.name}: empty {c} on line {line}")


_LSOA_WARD_SPEC = {
    "lsoa_code": r"LSOA\d\dCD",
    "lsoa_name": r"LSOA\d\dNM",
    "ward_code": r"WD\d\dCD",
    "ward_name": r"WD\d\dNM",
    "lad_code": r"LAD\d\dCD",
    "lad_name": r"LAD\d\dNM",
}


def read_lsoa_ward_lookup(path: str | Path) -> tuple[pd.DataFrame, str]:
    """Read an ONS LSOA → ward → local authority lookup (e.g. ``LSOA11_WD17_LAD17_EW_LU.csv``).

    Returns ``(df, vintage)``: df has columns lsoa_code, lsoa_name, ward_code, ward_name, lad_code,
    lad_name (one row per LSOA); vintage is the ward vintage from the header, e.g. ``'WD17'``.
    Raises InputError when columns are missing, a code is empty, or an LSOA maps to two wards.
    """
    path = Path(path)
    header = _read_header(path)
    cols = _require(path, header, _LSOA_WARD_SPEC, "an LSOA-to-ward lookup")
    vintage = cols["ward_code"].strip().upper()[:-2]  # 'WD17CD' -> 'WD17'
    df = _read_csv(path, list(cols.values()))
    df = df.rename(columns={v.strip(): k for k, v in cols.items()})[list(cols)]
    if df.empty:
        raise InputError(f"{path.name}: lookup has a header but no rows")
    _check_filled(path, df, ["lsoa_code", "ward_code", "lad_code"])
    df = df.drop_duplicates(ignore_index=True)
    dup = df["lsoa_code"].duplicated()
    if dup.any():
        raise InputError(
            f"{path.name}: LSOA {df.loc[dup, 'lsoa_code'].iloc[0]} is mapped to more than one ward "
            "(expected a best-fit lookup, one row per LSOA)"
        )
    return df, vintage


_LAD_CSP_PFA_SPEC = {
    "lad_code": r"LAD\d\dCD",
    "lad_name": r"LAD\d\dNM",
    "csp_code": r"CSP\d\dCD",
    "csp_name": r"CSP\d\dNM",
    "pfa_code": r"PFA\d\dCD",
    "pfa_name": r"PFA\d\dNM",
}


def read_lad_csp_pfa_lookup(path: str | Path) -> tuple[pd.DataFrame, str]:
    """Read an ONS local authority → community safety partnership → police force area lookup.

    Returns ``(df, vintage)``: df has columns lad_code, lad_name, csp_code, csp_name, pfa_code,
    pfa_name (one row per local authority); vintage is the LAD vintage, e.g. ``'LAD17'``.
    """
    path = Path(path)
    header = _read_header(path)
    cols = _require(path, header, _LAD_CSP_PFA_SPEC, "a LAD-to-CSP-to-PFA lookup")
    vintage = cols["lad_code"].strip().upper()[:-2]
    df = _read_csv(path, list(cols.values()))
    df = df.rename(columns={v.strip(): k for k, v in cols.items()})[list(cols)]
    if df.empty:
        raise InputError(f"{path.name}: lookup has a header but no rows")
    _check_filled(path, df, ["lad_code", "csp_code", "pfa_code"])
    df = df.drop_duplicates(ignore_index=True)
    dup = df["lad_code"].duplicated()
    if dup.any():
        raise InputError(f"{path.name}: local authority {df.loc[dup, 'lad_code'].iloc[0]} appears twice")
    return df, vintage


_WARD_CODES_SPEC = {
    "ward_code": r"WD(\d\d)?CD",
    "ward_name": r"WD(\d\d)?NM",
    "lad_code": r"LAD(\d\d)?CD",
    "lad_name": r"LAD(\d\d)?NM",
}


def read_ward_codes(path: str | Path) -> pd.DataFrame:
    """Read a ward list (e.g. ``southampton-ward-codes-2016-and-2023.csv`` or ONS ``WD17_LAD17_UK_LU``).

    Returns columns ward_code, ward_name, lad_code, lad_name, vintage. vintage is 'WDyy' when the
    header carries one (``WD17CD``), else taken per row from a ``SOURCEFILE``/year column
    (e.g. '2016'), else None.
    """
    path = Path(path)
    header = _read_header(path)
    cols = _require(path, header, _WARD_CODES_SPEC, "a ward code list")
    m = re.fullmatch(r"WD(\d\d)CD", cols["ward_code"].strip(), re.IGNORECASE)
    year_col = _col(header, r"SOURCEFILE|YEAR|VINTAGE")
    usecols = list(cols.values()) + ([year_col] if year_col and not m else [])
    df = _read_csv(path, usecols)
    out = df.rename(columns={v.strip(): k for k, v in cols.items()})
    if m:
        out["vintage"] = f"WD{m.group(1)}"
    elif year_col:
        out["vintage"] = out.pop(year_col.strip())
    else:
        out["vintage"] = None
    out = out[["ward_code", "ward_name", "lad_code", "lad_name", "vintage"]]
    if out.empty:
        raise InputError(f"{path.name}: ward list has a header but no rows")
    _check_filled(path, out, ["ward_code", "lad_code"])
    return out.drop_duplicates(ignore_index=True)


def _sniff_zip(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n.lower() for n in zf.namelist()]
    except zipfile.BadZipFile:
        raise InputError(f"{path.name}: damaged zip file") from None
    if any(n.endswith((".shp", ".gpkg", ".geojson", ".json", ".topojson")) for n in names):
        return "boundaries"
    return None


def detect_geography_kind(path: str | Path) -> str:
    """Tell by content what geography file ``path`` is.

    Returns one of GEOGRAPHY_KINDS: 'lsoa-ward-lookup', 'lad-csp-pfa-lookup', 'ward-codes',
    'boundaries' (GeoJSON/TopoJSON/GeoPackage/Shapefile, or a zip holding one) or 'population'.
    Raises InputError when the file is missing or is none of these.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        raise InputError(f"{path.name}: file is empty")
    if head.startswith(_SQLITE_MAGIC) or head.startswith(_SHP_MAGIC):
        return "boundaries"
    if head.startswith(b"PK\x03\x04"):
        kind = _sniff_zip(path)
        if kind:
            return kind
        raise InputError(f"{path.name}: zip file holds no Shapefile, GeoPackage or GeoJSON")
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    if text.startswith(("{", "[")):
        # "arcs" first happens when a TopoJSON writer sorts keys, pushing "type" far down the file
        if re.search(r'"type"\s*:\s*"(Topology|FeatureCollection|Feature|Polygon|MultiPolygon)"', text) or re.match(
            r'\{\s*"arcs"\s*:\s*\[', text
        ):
            return "boundaries"
        raise InputError(f"{path.name}: JSON but not GeoJSON/TopoJSON (no FeatureCollection or Topology)")
    first = text.splitlines()[0] if text else ""
    header = next(csv.reader(io.StringIO(first)), [])
    header = [h.strip() for h in header]
    if _col(header, r"LSOA\d\dCD") and _col(header, r"WD\d\dCD") and _col(header, r"LAD\d\dCD"):
        return "lsoa-ward-lookup"
    if _col(header, r"LAD\d\dCD") and _col(header, r"CSP\d\dCD") and _col(header, r"PFA\d\dCD"):
        return "lad-csp-pfa-lookup"
    if _col(header, r"WD(\d\d)?CD") and _col(header, r"WD(\d\d)?NM") and not _col(header, r"LSOA\d*CD"):
        return "ward-codes"
    # Population tables may have a few title lines before the header row.
    for line in text.splitlines()[:15]:
        row = next(csv.reader(io.StringIO(line)), [])
        if is_population_header(row) or is_area_population_header(row):
            return "population"
    shown = ", ".join(header[:8]) or first[:80]
    raise InputError(
        f"{path.name}: not a recognised geography file (expected an ONS lookup, ward list, boundaries "
        f"or LSOA population); it starts with: {shown}"
    )
