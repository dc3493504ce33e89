"""Where the publishers live. Every base URL can be overridden by a function argument or an env var."""
from __future__ import annotations

import os

from ..errors import DownloadError

#: env var -> default base URL (None: no stable public default is known; the user must configure one).
ENV_POLICEUK_BASE = "CRIMEASSESS_POLICEUK_BASE"
ENV_POLICEUK_API = "CRIMEASSESS_POLICEUK_API"
ENV_ONS_BASE = "CRIMEASSESS_ONS_BASE"
ENV_HOME_OFFICE_BASE = "CRIMEASSESS_HOME_OFFICE_BASE"

#: data.police.uk publishes monthly archives at <base>/archive/YYYY-MM.zip (documented on data.police.uk/about).
DEFAULT_POLICEUK_BASE = "https://data.police.uk/data"
#: The police.uk JSON API (documented at data.police.uk/docs).
DEFAULT_POLICEUK_API = "https://data.police.uk/api"
#: ONS Open Geography Portal downloads are ArcGIS-hub item URLs that change between releases, so there is
#: no stable default: point CRIMEASSESS_ONS_BASE at a mirror laid out like the catalogue's relative paths.
DEFAULT_ONS_BASE: str | None = None

_DEFAULTS: dict[str, tuple[str, str | None]] = {
    "police-uk": (ENV_POLICEUK_BASE, DEFAULT_POLICEUK_BASE),
    "police-uk-api": (ENV_POLICEUK_API, DEFAULT_POLICEUK_API),
    "ons": (ENV_ONS_BASE, DEFAULT_ONS_BASE),
    # GOV.UK attachment URLs of the Home Office open data tables change with every release: mirror them.
    "home-office": (ENV_HOME_OFFICE_BASE, None),
}


def resolve_base(publisher: str, explicit: str | None = None) -> str:
    """Return the base URL for a publisher ('police-uk', 'police-uk-api', 'ons', 'home-office'): argument > env var >
    default.

    Raises DownloadError when nothing is configured and there is no stable default, or the URL is not http(s).
    """
    if publisher not in _DEFAULTS:
        raise DownloadError(f"unknown publisher {publisher!r}; expected one of {', '.join(_DEFAULTS)}")
    env, default = _DEFAULTS[publisher]
    url = explicit or os.environ.get(env) or default
    if not url:
        raise DownloadError(
            f"no base URL configured for {publisher}: pass base_url or set {env} (see docs/download.md)"
        )
    if not url.startswith(("http://", "https://")):
        raise DownloadError(f"base URL for {publisher} must start with http:// or https://, got {url!r}")
    return url.rstrip("/")


def join_url(base: str, rel: str) -> str:
    """Join a base URL and a relative path with exactly one slash."""
    return base.rstrip("/") + "/" + rel.lstrip("/")
