"""Census 2011 LSOA population (usual residents and households), for rates per 1,000 residents."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .manifest import DownloadResult
from .ons import download_datasets

POPULATION_DATASET = "population-census2011-lsoa"


def download_population(dest: Path | str, **options: Any) -> DownloadResult:
    """Fetch the Census 2011 LSOA population table (catalogue entry 'population-census2011-lsoa') into dest.

    ``options`` as for ``download_datasets`` (base_url, progress, client, catalogue); ONS base: ``base_url`` >
    $CRIMEASSESS_ONS_BASE. A 404 lists the dataset name in ``result.missing``.
    """
    return download_datasets([POPULATION_DATASET], dest, **options)
