"""Census 2011 LSOA population (usual residents and households), for rates per 1,000 residents."""
from __future__ import annotations

from pathlib import Path

from .catalogue import Dataset
from .http import HttpClient, ProgressCallback
from .manifest import DownloadResult
from .ons import download_datasets

POPULATION_DATASET = "population-census2011-lsoa"


def download_population(
    dest: Path | str,
    *,
    base_url: str | None = None,
    progress: ProgressCallback | None = None,
    client: HttpClient | None = None,
    catalogue: dict[str, Dataset] | None = None,
) -> DownloadResult:
    """Fetch the Census 2011 LSOA population table (catalogue entry 'population-census2011-lsoa') into dest.

    ONS base: ``base_url`` > $CRIMEASSESS_ONS_BASE. A 404 lists the dataset name in ``result.missing``.
    """
    return download_datasets([POPULATION_DATASET], dest, base_url=base_url, progress=progress,
                             client=client, catalogue=catalogue)
