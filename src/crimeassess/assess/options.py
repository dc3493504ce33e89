"""Typed choices shared by the CLI, the web app and the library: placement, source, output format, p-value
adjustment. Each is a ``str`` Enum, so its members compare equal to the plain strings the library takes."""
from __future__ import annotations

from enum import Enum

from ..sources.registry import source_priority
from .stats import TESTS


class Placement(str, Enum):
    """How records are placed in wards: LSOA best fit then points (auto), LSOA only, points only."""

    auto = "auto"
    lsoa = "lsoa"
    point = "point"


class Adjustment(str, Enum):
    """p-value adjustment for multiple comparisons: Holm (family-wise) or Benjamini–Hochberg."""

    holm = "holm"
    bh = "bh"


#: The test of each change (``stats.TESTS``): quasi-poisson (default; allows for overdispersion), exact
#: (Poisson), wheeler (Wheeler's Z).
SignificanceTest = Enum("SignificanceTest", {t.replace("-", "_"): t for t in TESTS}, type=str)  # type: ignore[misc]


class OutputFormat(str, Enum):
    """What `crimeassess assess` prints."""

    text = "text"
    json = "json"
    csv = "csv"


#: The ingestible source kinds of ``sources.registry``, preferred first.
Source = Enum("Source", {k: k for k in source_priority()}, type=str)  # type: ignore[misc]
Source.__doc__ = "An ingestible source kind (sources.registry), preferred first."
