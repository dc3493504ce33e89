"""ONS Crime Severity Score weights (a harm-weight table by Home Office offence code), from an ONS mirror."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .manifest import DownloadResult
from .ons import download_datasets

HARM_DATASET = "harm-weights-css"


def download_harm_weights(dest: Path | str, **options: Any) -> DownloadResult:
    """Fetch the ONS Crime Severity Score weights (catalogue entry 'harm-weights-css', the CSV layout of
    docs/harm.md) into dest. ``options`` as for ``download_datasets`` (base_url, progress, client, catalogue); ONS base: ``base_url`` >
    $CRIMEASSESS_ONS_BASE; a 404 lists it in ``result.missing``."""
    return download_datasets([HARM_DATASET], dest, **options)
