"""Number and word formatting for findings: kept as names for existing callers; the code lives in
:mod:`crimeassess.assess.present` (the one presentation layer)."""
from __future__ import annotations

from .present import BLANK as NOT_AVAILABLE
from .present import MINUS, join_and, ordinal_word, plural, pluralise, sentence_case
from .present import count as format_int
from .present import pct as format_pct

__all__ = ["MINUS", "NOT_AVAILABLE", "format_int", "format_pct", "join_and", "ordinal_word", "plural", "pluralise",
           "sentence_case"]
