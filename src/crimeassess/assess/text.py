"""Text rendering of an assessment for the terminal: coverage and findings first, then Rich tables.

Every number and label is written by :mod:`crimeassess.assess.present`, as in the report and dashboard.
"""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from .present import change as _chg
from .present import count as _n
from .present import pct_change as _pct
from .present import period_words
from .present import rate as _rate
from .present import significance as _sig


def print_assessment(a: dict[str, Any], console: Console) -> None:
    """Print an assessment dict: coverage warning, findings, then totals, categories, themes and wards."""
    cov = a["coverage"]
    title = (f"{a['area']['name']} ({a['area']['code']}): {period_words(a['period'])} against "
             f"{period_words(a['compare'])}")
    console.rule(f"[bold]{title}")
    if not cov["complete"]:
        miss = cov.get("missing_current", []) + cov.get("missing_previous", [])
        console.print(f"[bold yellow]Coverage incomplete:[/] {cov['current_months']} of {cov['months_expected']} months "
                      f"in the current period and {cov['previous_months']} in the comparison are in the store"
                      + (f" (missing {', '.join(miss)})" if miss else "") + ". Changes compare unequal periods.")
    src = a.get("source") or {}
    console.print(f"Source: {src.get('label')}; ward vintage: {a['geography'].get('ward_vintage') or 'none'}")
    if a.get("findings"):
        console.print("\n[bold]Findings[/]")
        for f in a["findings"]:
            console.print(f" • {f}", highlight=False)
    t = Table(title="Total recorded crime", title_justify="left")
    for c in ("", "current", "previous", "change", "%", "per 1,000", "test"):
        t.add_column(c, justify="right" if c else "left")
    tot, asb = a["total"], a["anti_social_behaviour"]
    t.add_row("Total recorded crime", _n(tot["current"]), _n(tot["previous"]), _chg(tot["change"]), _pct(tot["pct_change"]),
              _rate(tot.get("rate_per_1000")), _sig(tot))
    t.add_row("Anti-social behaviour (not crime)", _n(asb.get("current")), _n(asb.get("previous")), _chg(asb.get("change")),
              _pct(asb.get("pct_change")), "", _sig(asb))
    un = a.get("unplaced") or {}
    t.add_row("Unplaced (force-wide, no location)", _n(un.get("current")), _n(un.get("previous")), "", "", "", "")
    console.print(t)
    for key, title in (("categories", "police.uk crime types"), ("themes", "Themes")):
        rows = a.get(key) or []
        if not rows:
            continue
        t = Table(title=title, title_justify="left")
        for c in ("", "current", "previous", "change", "%", "per 1,000", "test"):
            t.add_column(c, justify="right" if c else "left")
        gone = [r["label"] for r in rows if r.get("available") is False]
        for r in rows:
            if r.get("available") is False:
                continue
            t.add_row(r["label"], _n(r["current"]), _n(r["previous"]), _chg(r["change"]), _pct(r["pct_change"]),
                      _rate(r.get("rate_per_1000")), _sig(r))
        console.print(t)
        if gone:
            console.print(f"Not available from this source: {', '.join(gone)}.", highlight=False)
    ws = a["wards_summary"]
    t = Table(title=f"Wards ({a['geography'].get('ward_vintage')}): {ws['up']} up, {ws['down']} down, {ws['unchanged']} unchanged",
              title_justify="left")
    for c in ("rank", "ward", "code", "current", "previous", "change", "%", "per 1,000", "test"):
        t.add_column(c, justify="right" if c not in ("ward", "code") else "left")
    for w in a["wards"]:
        t.add_row(str(w.get("rank", "")), w["name"] or "", w["code"], _n(w["current"]), _n(w["previous"]), _chg(w["change"]),
                  _pct(w["pct_change"]), _rate(w.get("rate_per_1000")), _sig(w))
    console.print(t)
