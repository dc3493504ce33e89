"""`crimeassess geography load`: recognise lookups, boundaries and population files and store them."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import GeographyError, InputError
from ..store import Store
from . import lookups
from .boundaries import read_boundaries
from .population import read_area_population, read_population


@dataclass
class GeographyLoadReport:
    path: str
    kind: str
    name: str
    rows: int
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith(".")))
        else:
            out.append(p)
    return out


def load_geography(paths: list[str | Path], store: Store | str | Path | None = None) -> list[GeographyLoadReport]:
    """Load ONS lookups (LSOA→ward→LAD, LAD→CSP→PFA), boundaries and population tables into the store.

    Files inside a folder that are not geography are skipped; a file named directly must be recognisable.
    Every file is read first and the tables are committed together (one manifest write): an error or a
    killed process leaves the store's geography as it was.
    """
    st = store if isinstance(store, Store) else Store(store)
    reports: list[GeographyLoadReport] = []
    batch: list[tuple[str, str, pa.Table, dict[str, Any]]] = []

    def put(kind: str, name: str, table: pa.Table, entry: dict[str, Any]) -> dict[str, Any]:
        batch.append((kind, name, table, entry))
        return {"rows": table.num_rows}

    explicit = {Path(p) for p in paths if Path(p).is_file()}
    for f in _files([Path(p) for p in paths]):
        try:
            kind = lookups.detect_geography_kind(f)
        except (GeographyError, InputError) as exc:
            if f in explicit:
                raise
            reports.append(GeographyLoadReport(str(f), "skipped", "", 0, str(exc)))
            continue
        sha = hashlib.sha256(f.read_bytes()).hexdigest()
        src = {"path": str(f), "sha256": sha}
        if kind == "lsoa-ward-lookup":
            df, vintage = lookups.read_lsoa_ward_lookup(f)
            e = put("lsoa_ward", vintage, pa.Table.from_pandas(df, preserve_index=False), src | {"vintage": vintage})
            reports.append(GeographyLoadReport(str(f), kind, vintage, e["rows"],
                           f"{df['lsoa_code'].nunique():,} LSOAs in {df['ward_code'].nunique():,} wards ({vintage})"))
        elif kind == "lad-csp-pfa-lookup":
            df, vintage = lookups.read_lad_csp_pfa_lookup(f)
            e = put("lad_csp_pfa", vintage, pa.Table.from_pandas(df, preserve_index=False), src | {"vintage": vintage})
            reports.append(GeographyLoadReport(str(f), kind, vintage, e["rows"],
                           f"{df['lad_code'].nunique():,} local authorities, {df['csp_code'].nunique():,} CSPs, "
                           f"{df['pfa_code'].nunique():,} police force areas"))
        elif kind == "boundaries":
            gdf = read_boundaries(f)
            level = str(gdf["level"].iloc[0]) if len(gdf) else "custom"
            vintage = next((v for v in gdf["vintage"].dropna().unique()), None) if "vintage" in gdf else None
            name = f"{level}-{vintage or 'unknown'}"
            tbl = pa.Table.from_pandas(gdf.to_wkb(), preserve_index=False)
            e = put("boundaries", name, tbl, src | {"level": level, "vintage": vintage, "crs": "EPSG:27700"})
            reports.append(GeographyLoadReport(str(f), kind, name, e["rows"], f"{len(gdf)} {level} polygons ({vintage or 'no vintage'})"))
        elif kind == "population":
            lsoa_err = None
            try:
                df, meta = read_population(f)
            except InputError as exc:  # not an LSOA table: maybe a table by area (any level, any years)
                df, lsoa_err = None, exc
            if df is not None:
                name = f"{meta.get('year')}-{hashlib.sha1(str(meta.get('source')).encode()).hexdigest()[:6]}"
                e = put("population", name, pa.Table.from_pandas(df, preserve_index=False), src | meta)
                reports.append(GeographyLoadReport(str(f), kind, name, e["rows"],
                               f"{meta.get('source')} {meta.get('year')}: {len(df):,} LSOAs"))
            try:
                adf, ameta = read_area_population(f)
            except InputError:
                if lsoa_err is not None:
                    raise lsoa_err from None
                adf = None
            if adf is not None and df is not None:
                adf = adf[adf["level"] != "lsoa"]  # LSOAs already stored above
            if adf is not None and len(adf):
                name = f"areas-{sha[:12]}"
                e = put("population_areas", name, pa.Table.from_pandas(adf, preserve_index=False),
                                     src | ameta)
                reports.append(GeographyLoadReport(
                    str(f), kind, name, e["rows"],
                    f"{ameta['source']} {', '.join(map(str, ameta['years']))}: {adf['area_code'].nunique():,} areas "
                    f"({', '.join(ameta['levels'])})"))
        elif kind == "ward-codes":
            df = lookups.read_ward_codes(f)
            name = f"ward-codes-{sha[:8]}"
            e = put("ward_lad", name, pa.Table.from_pandas(df, preserve_index=False), src)
            reports.append(GeographyLoadReport(str(f), kind, name, e["rows"],
                           f"{df['ward_code'].nunique():,} wards with their local authority"))
        else:
            reports.append(GeographyLoadReport(str(f), "skipped", "", 0, f"{kind} is not loaded"))
    st.put_geography_many(batch)
    return reports
