"""The catalogue of downloadable reference datasets (ONS lookups, boundaries, population), from catalogue.toml."""
from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from ..errors import GeographyError, InputError

CATALOGUE_FILE = Path(__file__).with_name("catalogue.toml")
KINDS = ("lookup", "boundaries", "population", "homeoffice", "harm-weights")
_VINTAGE = re.compile(r"^WD\d{2}$")


@dataclass(frozen=True)
class Dataset:
    """One named dataset: a relative path under a publisher's base URL, and what it is."""

    name: str
    publisher: str
    path: str
    kind: str
    title: str
    origin: str
    vintages: tuple[str, ...] = ()
    area: str | None = None
    sha256: str | None = None


def _parse(name: str, raw: dict) -> Dataset:
    try:
        ds = Dataset(
            name=name,
            publisher=str(raw["publisher"]),
            path=str(raw["path"]),
            kind=str(raw["kind"]),
            title=str(raw.get("title", name)),
            origin=str(raw.get("origin", "")),
            vintages=tuple(str(v).upper() for v in raw.get("vintages", [])),
            area=(str(raw["area"]).lower() if raw.get("area") else None),
            sha256=(str(raw["sha256"]).lower() if raw.get("sha256") else None),
        )
    except KeyError as exc:
        raise InputError(f"catalogue entry {name!r} lacks {exc.args[0]!r}") from None
    p = PurePosixPath(ds.path)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise InputError(f"catalogue entry {name!r}: path {ds.path!r} must be relative and stay inside the base")
    if ds.kind not in KINDS:
        raise InputError(f"catalogue entry {name!r}: kind {ds.kind!r} is not one of {', '.join(KINDS)}")
    return ds


def load_catalogue(path: Path | None = None) -> dict[str, Dataset]:
    """Read a catalogue TOML (default: the packaged catalogue.toml) into {name: Dataset}."""
    if path is None:
        return dict(_packaged())
    return _load(Path(path))


@lru_cache(maxsize=1)
def _packaged() -> dict[str, Dataset]:
    return _load(CATALOGUE_FILE)


def _load(path: Path) -> dict[str, Dataset]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the download catalogue ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML ({exc})") from None
    entries = data.get("datasets")
    if not isinstance(entries, dict) or not entries:
        raise InputError(f"{path}: no [datasets.*] entries")
    return {name: _parse(name, raw) for name, raw in entries.items()}


def get_dataset(name: str, catalogue: dict[str, Dataset] | None = None) -> Dataset:
    """Look a dataset up by name; InputError naming close matches if unknown."""
    cat = catalogue if catalogue is not None else load_catalogue()
    if name in cat:
        return cat[name]
    close = difflib.get_close_matches(name, list(cat), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(cat))}"
    raise InputError(f"unknown dataset {name!r}{hint}")


def ward_vintages(catalogue: dict[str, Dataset] | None = None) -> list[str]:
    """Ward vintages for which the catalogue has an LSOA→ward→LAD lookup."""
    cat = catalogue if catalogue is not None else load_catalogue()
    return sorted({v for d in cat.values() if d.kind == "lookup" and d.area is None for v in d.vintages})


def normalise_vintage(value: str) -> str:
    """'wd17' / 'WD17' / '2017' / '17' -> 'WD17'; GeographyError for anything else."""
    v = str(value).strip().upper()
    if re.fullmatch(r"\d{4}", v):
        v = "WD" + v[2:]
    elif re.fullmatch(r"\d{2}", v):
        v = "WD" + v
    if not _VINTAGE.match(v):
        raise GeographyError(f"not a ward vintage: {value!r} (expected e.g. WD17)")
    return v


def geography_bundle(
    ward_vintage: str, area: str | None = None, catalogue: dict[str, Dataset] | None = None
) -> list[Dataset]:
    """The datasets `download geography` fetches for a ward vintage: national lookups, plus ward boundaries
    (the local ``area`` subset when one is named and catalogued, else the national file).

    GeographyError if the vintage has no lookups, or the named area has no boundaries for it.
    """
    cat = catalogue if catalogue is not None else load_catalogue()
    v = normalise_vintage(ward_vintage)
    lookups = [d for d in cat.values() if d.kind == "lookup" and d.area is None and v in d.vintages]
    if not lookups:
        raise GeographyError(
            f"no lookups catalogued for ward vintage {v}; known: {', '.join(ward_vintages(cat)) or 'none'}"
        )
    bounds = [d for d in cat.values() if d.kind == "boundaries" and v in d.vintages]
    if area:
        a = area.strip().lower()
        chosen = [d for d in bounds if d.area == a]
        if not chosen:
            areas = sorted({d.area for d in cat.values() if d.kind == "boundaries" and d.area})
            raise GeographyError(
                f"no ward boundaries catalogued for area {area!r} and vintage {v}; areas with local "
                f"boundaries: {', '.join(areas) or 'none'} (omit the area for the national file)"
            )
    else:
        chosen = [d for d in bounds if d.area is None]
    return sorted(lookups, key=lambda d: d.name) + sorted(chosen, key=lambda d: d.name)
