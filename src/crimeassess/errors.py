"""Named exceptions. The CLI turns each into one clean error line (exit 2); the web app into a 4xx."""
from __future__ import annotations


class CrimeAssessError(Exception):
    """Base class for every error the library raises on purpose."""

    exit_code = 2
    http_status = 400


class InputError(CrimeAssessError):
    """An input file is not usable: unreadable, empty, or not a recognised kind."""


class UnsafeArchiveError(InputError):
    """A zip member's name would escape the folder it is extracted into."""


class StoreError(CrimeAssessError):
    """The store is missing, locked or inconsistent."""

    http_status = 409


class NoStoreError(StoreError):
    """No store at the path given (nothing ingested there): nothing to assess."""

    http_status = 404


class AreaNotFoundError(CrimeAssessError):
    """An area name or code matched nothing, or more than one area."""

    http_status = 404

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.suggestions = suggestions or []


class PeriodError(CrimeAssessError):
    """A period string could not be understood."""


class NoDataError(PeriodError):
    """The store holds no data for the area in the period asked for."""


class GeographyError(CrimeAssessError):
    """Geography is missing or does not cover what was asked (e.g. a ward vintage)."""

    http_status = 404


class MappingError(CrimeAssessError):
    """A column/value mapping file (TOML) is invalid."""


class ThemeError(CrimeAssessError):
    """A theme definition is invalid or unknown."""


class DownloadError(CrimeAssessError):
    """A publisher could not be reached or returned bad data."""

    http_status = 502


class EngineError(CrimeAssessError):
    """An optional engine (Spark) is not installed or cannot start here (missing extra, wrong Java)."""
