"""Terminal rendering of an assessment; kept as a name for existing callers: the code is
:func:`crimeassess.assess.present.print_assessment` (the one presentation layer)."""
from __future__ import annotations

from .present import print_assessment

__all__ = ["print_assessment"]
