"""Download then load: what `crimeassess download …` runs. Files land under <store>/downloads/<kind>/."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..assess.harm import load_harm_weights
from ..errors import GeographyError
from ..geography.areas import resolve_area
from ..geography.resolve import lads_of, pick_vintage
from ..geography.load import load_geography
from ..geography.placing import ward_geometry
from ..ingest import ingest
from ..store import Store
from .http import ProgressCallback
from .manifest import DownloadResult
from .ons import download_geography
from .policeuk import download_police_uk
from .policeuk_api import download_police_uk_api, polygons_from_frame
from .population import download_population
from .harm import download_harm_weights


@dataclass
class FetchReport:
    """A download and what was then ingested or loaded from it."""

    download: DownloadResult
    loaded: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = self.download
        return {"dest": str(d.dest), "files": [str(f) for f in d.files], "skipped": [str(f) for f in d.skipped],
                "missing": list(d.missing), "bytes": d.bytes, "loaded": self.loaded}


def _store(store: Store | str | Path | None) -> Store:
    return store if isinstance(store, Store) else Store(store)


def _dest(st: Store, kind: str, dest: str | Path | None) -> Path:
    return Path(dest) if dest else st.path / "downloads" / kind


def fetch_police_uk(force: str, start: str, end: str, store: Store | str | Path | None = None, *,
                    dest: str | Path | None = None, base_url: str | None = None, layout: str = "auto",
                    progress: ProgressCallback | None = None) -> FetchReport:
    """Download police.uk street files for a force and months, then ingest them."""
    st = _store(store)
    res = download_police_uk(force, start, end, _dest(st, "police-uk", dest), base_url=base_url, layout=layout,
                             progress=progress)
    loaded = ingest(res.files, st).to_dict()["inputs"] if res.files else []
    return FetchReport(res, loaded)


def fetch_police_uk_api(area: str, month: str, store: Store | str | Path | None = None, *,
                        dest: str | Path | None = None, api_url: str | None = None, rate: float = 15.0,
                        ward_vintage: str | None = None, progress: ProgressCallback | None = None) -> FetchReport:
    """Download police.uk API crimes for each ward polygon of an area (ward boundaries must be loaded), then ingest."""
    st = _store(store)
    con = st.connect()
    try:
        a = resolve_area(area, st, con)
        lads = lads_of(a, st, con)
        vintage = pick_vintage(st, con, a, lads, ward_vintage)
        if vintage is None:
            raise GeographyError(f"no ward lookup covers {a.name}; load one with `crimeassess geography load`")
        f = st.geography_file("lsoa_ward", vintage)
        cond = "ward_code = ?" if a.level == "ward" else "lad_code IN (SELECT unnest(?))"
        arg = a.code if a.level == "ward" else lads
        codes = [r[0] for r in con.execute(f"SELECT DISTINCT ward_code FROM read_parquet(?) WHERE {cond}",
                                           [str(f), arg]).fetchall()]
    finally:
        con.close()
    geo = ward_geometry(st, vintage, codes)
    if geo is None:
        raise GeographyError(f"no ward or LSOA boundaries loaded for {a.name}; the API is queried by ward polygon")
    res = download_police_uk_api(polygons_from_frame(geo, "code"), month, _dest(st, "police-uk-api", dest),
                                 api_url=api_url, rate=rate, progress=progress)
    loaded = ingest(res.files, st).to_dict()["inputs"] if res.files else []
    return FetchReport(res, loaded)


def fetch_geography(ward_vintage: str, store: Store | str | Path | None = None, *, dest: str | Path | None = None,
                    base_url: str | None = None, area: str | None = None,
                    progress: ProgressCallback | None = None) -> FetchReport:
    """Download the ONS lookups and boundaries for a ward vintage, then load them."""
    st = _store(store)
    res = download_geography(ward_vintage, _dest(st, "geography", dest), area=area, base_url=base_url, progress=progress)
    loaded = [r.to_dict() for r in load_geography(res.files, st)] if res.files else []
    return FetchReport(res, loaded)


def fetch_population(store: Store | str | Path | None = None, *, dest: str | Path | None = None,
                     base_url: str | None = None, progress: ProgressCallback | None = None) -> FetchReport:
    """Download the Census 2011 LSOA population table, then load it."""
    st = _store(store)
    res = download_population(_dest(st, "population", dest), base_url=base_url, progress=progress)
    loaded = [r.to_dict() for r in load_geography(res.files, st)] if res.files else []
    return FetchReport(res, loaded)


def fetch_home_office_tables(store: Store | str | Path | None = None, *, tables: list[str] | None = None,
                             dest: str | Path | None = None, base_url: str | None = None,
                             progress: ProgressCallback | None = None) -> FetchReport:
    """Download Home Office recorded crime tables (catalogue entries of kind 'homeoffice', or ``tables`` by name)
    from ``base_url`` or $CRIMEASSESS_HOME_OFFICE_BASE, then ingest them as Home Office tables."""
    from ..ingest import ingest
    from .catalogue import load_catalogue
    from .ons import download_datasets

    st = _store(store)
    names = tables or [n for n, d in load_catalogue().items() if d.kind == "homeoffice"]
    res = download_datasets(names, _dest(st, "home-office", dest), base_url=base_url, progress=progress)
    loaded = ingest(res.files, st).to_dict()["inputs"] if res.files else []
    return FetchReport(res, loaded)


def fetch_harm_weights(store: Store | str | Path | None = None, *, dest: str | Path | None = None,
                       base_url: str | None = None, progress: ProgressCallback | None = None) -> FetchReport:
    """Download the ONS Crime Severity Score weights, then load them as harm weights (scheme css)."""
    st = _store(store)
    res = download_harm_weights(_dest(st, "harm", dest), base_url=base_url, progress=progress)
    loaded = [load_harm_weights(f, st, scheme="css") for f in res.files]
    return FetchReport(res, loaded)
