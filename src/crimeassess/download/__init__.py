"""Download police.uk crime data and ONS reference data, resumably and checksummed.

Public entry points (each returns a DownloadResult): download_police_uk, download_police_uk_api,
download_geography, download_population, download_datasets. See docs/download.md.
"""
from __future__ import annotations

from .catalogue import Dataset, geography_bundle, load_catalogue, ward_vintages
from .config import resolve_base
from .http import FetchResult, HttpClient, ProgressCallback, ProgressEvent
from .manifest import MANIFEST_NAME, DownloadResult, Manifest
from .ons import download_datasets, download_geography
from .policeuk import download_police_uk, month_range
from .policeuk_api import download_police_uk_api, polygons_from_frame
from .population import download_population
from .ratelimit import TokenBucket

__all__ = [
    "MANIFEST_NAME",
    "Dataset",
    "DownloadResult",
    "FetchResult",
    "HttpClient",
    "Manifest",
    "ProgressCallback",
    "ProgressEvent",
    "TokenBucket",
    "download_datasets",
    "download_geography",
    "download_police_uk",
    "download_police_uk_api",
    "download_population",
    "geography_bundle",
    "load_catalogue",
    "month_range",
    "polygons_from_frame",
    "resolve_base",
    "ward_vintages",
]
