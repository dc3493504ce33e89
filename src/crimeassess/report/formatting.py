"""Template filters for the report, kept under their old names; the code lives in
:mod:`crimeassess.assess.present` (the one presentation layer for every output).

Every filter accepts ``None`` (and Jinja's Undefined) and renders it as the blank mark, an en dash, so a
missing value is never shown as 0.
"""
from __future__ import annotations

from ..assess import present
from ..assess.present import BLANK as DASH
from ..assess.present import FILTERS, compress_months, humanise_key, month_span
from ..assess.present import date_label as fmt_date
from ..assess.present import direction as direction_word
from ..assess.present import month_label as fmt_month
from ..assess.present import month_short as fmt_month_short
from ..assess.present import value as fmt_value

fmt_int = FILTERS["int"]
fmt_signed_int = FILTERS["signed"]
fmt_pct = FILTERS["pct"]
fmt_share = FILTERS["share"]
fmt_rate = FILTERS["rate"]
fmt_p = FILTERS["pval"]

__all__ = ["DASH", "FILTERS", "compress_months", "direction_word", "fmt_date", "fmt_int", "fmt_month",
           "fmt_month_short", "fmt_p", "fmt_pct", "fmt_rate", "fmt_share", "fmt_signed_int", "fmt_value",
           "humanise_key", "month_span", "present"]
