"""ONS reference downloads: catalogue datasets by name, and the geography bundle for a ward vintage."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .catalogue import Dataset, geography_bundle, get_dataset, load_catalogue
from .config import join_url, resolve_base
from .http import HttpClient, ProgressCallback, client_scope
from .manifest import DownloadResult, Manifest, fetch_recorded, prepare_dest


def download_datasets(
    names: Iterable[str],
    dest: Path | str,
    *,
    base_url: str | None = None,
    progress: ProgressCallback | None = None,
    client: HttpClient | None = None,
    catalogue: dict[str, Dataset] | None = None,
) -> DownloadResult:
    """Fetch catalogue datasets by name into ``dest/<catalogue path>``.

    Datasets the publisher does not have (404) are listed by name in ``result.missing``. Files already
    complete (sha256 in ``dest/downloads.json``) are skipped. ONS base: ``base_url`` > $CRIMEASSESS_ONS_BASE
    (there is no built-in default: ONS download URLs are not stable).
    """
    cat = catalogue if catalogue is not None else load_catalogue()
    datasets = [get_dataset(n, cat) for n in dict.fromkeys(names)]
    return _fetch(datasets, dest, base_url=base_url, progress=progress, client=client)


def download_geography(
    ward_vintage: str,
    dest: Path | str,
    *,
    area: str | None = None,
    base_url: str | None = None,
    progress: ProgressCallback | None = None,
    client: HttpClient | None = None,
    catalogue: dict[str, Dataset] | None = None,
) -> DownloadResult:
    """Fetch the ONS lookups for a ward vintage (LSOA→ward→LAD, LAD→CSP→PFA) and its ward boundaries.

    With ``area`` (e.g. 'southampton') the catalogued local boundary file is fetched instead of the national
    one. GeographyError for an uncatalogued vintage/area; publisher gaps are listed in ``result.missing``.
    """
    datasets = geography_bundle(ward_vintage, area, catalogue)
    return _fetch(datasets, dest, base_url=base_url, progress=progress, client=client)


def _fetch(
    datasets: list[Dataset],
    dest: Path | str,
    *,
    base_url: str | None,
    progress: ProgressCallback | None,
    client: HttpClient | None,
) -> DownloadResult:
    bases = {d.publisher: resolve_base(d.publisher, base_url) for d in datasets}
    dest = prepare_dest(dest)
    manifest = Manifest(dest)
    result = DownloadResult(dest=dest, manifest=manifest.path)
    with client_scope(client) as http:
        for d in datasets:
            url = join_url(bases[d.publisher], d.path)
            target = dest.joinpath(*d.path.split("/"))
            ok = fetch_recorded(http, manifest, url, target, result, progress=progress,
                                expected_sha256=d.sha256, dataset=d.name)
            if not ok:
                result.missing.append(d.name)
    return result
