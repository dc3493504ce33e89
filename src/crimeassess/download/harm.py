"""ONS Crime Severity Score weights (a harm-weight table by Home Office offence code), from an ONS mirror."""
from __future__ import annotations

from pathlib import Path

from .catalogue import Dataset
from .http import HttpClient, ProgressCallback
from .manifest import DownloadResult
from .ons import download_datasets

HARM_DATASET = "harm-weights-css"


def download_harm_weights(
    dest: Path | str,
    *,
    base_url: str | None = None,
    progress: ProgressCallback | None = None,
    client: HttpClient | None = None,
    catalogue: dict[str, Dataset] | None = None,
) -> DownloadResult:
    """Fetch the ONS Crime Severity Score weights (catalogue entry 'harm-weights-css', the CSV layout of
    docs/harm.md) into dest. ONS base: ``base_url`` > $CRIMEASSESS_ONS_BASE; a 404 lists it in ``result.missing``."""
    return download_datasets([HARM_DATASET], dest, base_url=base_url, progress=progress, client=client,
                             catalogue=catalogue)
