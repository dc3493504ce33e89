"""Harm: crimes weighted by how grave they are, by Home Office offence code.

A harm-weight table (the ONS Crime Severity Score weights, the Cambridge Crime Harm Index, or a table of your
own) is read from a CSV in the layout of ``docs/harm.md`` and kept in the store (``load_harm_weights``). The
assessment then adds, like for like (the months held in both periods):

* the **severity-weighted total** Σ count × weight, for the area, each available theme and each ward, and its
  change beside the change in counts;
* the **severity score** as ONS defines it: Σ count × weight ÷ residents, for the year (the weighted total over
  the months held, scaled to twelve months), with each period's own population;
* a finding when harm moves differently from counts ("recorded crime rose 2%, its severity-weighted total 9%").

Only sources with Home Office offence codes (force extracts) support it; police.uk crime types are too coarse
to weigh, and the block says so. Crimes whose code has no weight are counted in ``unweighted``.

Attributes of the results are documented on :class:`HarmRow` and :class:`Harm`.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .. import sql
from ..classify.offences import normalise_code
from ..errors import InputError
from ..sources.registry import get_kind
from ..store import Store
from . import present
from .periods import Period

if TYPE_CHECKING:
    import pandas as pd

#: Theme ids left out: the total (its own row) and anti-social behaviour (not crime).
NOT_CRIME_THEMES = frozenset({"total", "anti_social_behaviour"})

#: The store's table kind for harm weights.
KIND = "harm_weights"
#: Header names accepted for each column (case-insensitive, spaces or underscores).
COLUMNS = {"offence_code": ("offence_code", "offence code", "ho_code", "ho code", "code", "home office code"),
           "weight": ("weight", "severity_weight", "severity weight", "harm", "harm_weight", "chi", "cchi",
                      "crime harm index", "days"),
           "offence_description": ("offence_description", "offence description", "offence", "description")}
SCHEMES = {"css": "ONS Crime Severity Score weights", "chi": "Cambridge Crime Harm Index", "custom": "custom weights"}
#: Harm is said to move differently from counts when the two % changes differ by at least this many points.
DIFFERENT_POINTS = 3.0


def read_harm_weights(path: str | Path) -> pd.DataFrame:
    """Read a harm-weight CSV (docs/harm.md): columns ``offence_code``, ``weight`` and optionally
    ``offence_description``. Raises InputError naming the line of a bad row."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read harm weights ({exc})") from exc
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise InputError(f"{p}: the harm-weight file is empty")
    norm = [h.strip().lower().replace("_", " ") for h in header]
    idx: dict[str, int] = {}
    for col, names in COLUMNS.items():
        for n in names:
            if n.replace("_", " ") in norm:
                idx[col] = norm.index(n.replace("_", " "))
                break
    missing = [c for c in ("offence_code", "weight") if c not in idx]
    if missing:
        raise InputError(f"{p}: harm weights need columns offence_code and weight; missing {', '.join(missing)} "
                         f"(header: {', '.join(header)})")
    rows, seen = [], {}
    for line, r in enumerate(reader, start=2):
        if not any(c.strip() for c in r):
            continue
        code = normalise_code(r[idx["offence_code"]] if idx["offence_code"] < len(r) else "")
        raw = r[idx["weight"]].strip().replace(",", "") if idx["weight"] < len(r) else ""
        if not code:
            raise InputError(f"{p}, line {line}: no offence code")
        try:
            w = float(raw)
        except ValueError:
            raise InputError(f"{p}, line {line}: weight {raw!r} for {code} is not a number") from None
        if not w >= 0 or w == float("inf"):
            raise InputError(f"{p}, line {line}: weight {raw!r} for {code} must be a non-negative number")
        if code in seen:
            raise InputError(f"{p}, line {line}: offence code {code} is listed twice (first on line {seen[code]})")
        seen[code] = line
        desc = r[idx["offence_description"]].strip() if "offence_description" in idx and idx["offence_description"] < len(r) else ""
        rows.append((code, desc or None, w))
    if not rows:
        raise InputError(f"{p}: no harm weights in the file")
    import pandas as pd

    return pd.DataFrame(rows, columns=["offence_code", "offence_description", "weight"])


def load_harm_weights(path: str | Path, store: Store | str | Path | None = None, *, scheme: str = "css",
                      name: str | None = None) -> dict[str, Any]:
    """Read a harm-weight CSV and keep it in the store (replacing weights of the same name); returns the
    manifest entry. `scheme`: css (ONS Crime Severity Score), chi (Cambridge Crime Harm Index) or custom."""
    if scheme not in SCHEMES:
        raise InputError(f"harm scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}")
    st = store if isinstance(store, Store) else Store(store)
    df = read_harm_weights(path)
    return st.put_geography(KIND, name or scheme, pa.Table.from_pandas(df, preserve_index=False),
                            {"scheme": scheme, "scheme_label": SCHEMES[scheme], "source": Path(path).name,
                             "codes": len(df)})


def stored_weights(st: Store) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """The most recently loaded harm weights (entry, table), or None."""
    entries = sorted(st.geography_entries(KIND), key=lambda e: e.get("loaded_at", ""))
    if not entries:
        return None
    import pandas as pd

    e = entries[-1]
    return e, pd.read_parquet(st.geography_path(e))


@dataclass
class HarmRow:
    """Counts and severity-weighted totals of one row (the total, a theme or a ward), like for like.

    Attributes
    ----------
    id, label : str
    current, previous : int
        Crimes in the matched months.
    harm_current, harm_previous : float
        Σ weight over those crimes.
    pct_change, harm_pct_change : float | None
        % changes of counts and of harm (None from a zero base).
    score, previous_score : float | None
        Severity score: harm a year ÷ residents (each period's own population); None without population.
    unweighted : int
        Crimes of the current period whose code has no weight.
    """

    id: str
    label: str
    current: int
    previous: int
    harm_current: float
    harm_previous: float
    unweighted: int = 0
    score: float | None = None
    previous_score: float | None = None

    @property
    def pct_change(self) -> float | None:
        return round(100 * (self.current / self.previous - 1), 1) if self.previous else None

    @property
    def harm_pct_change(self) -> float | None:
        return round(100 * (self.harm_current / self.harm_previous - 1), 1) if self.harm_previous else None

    def differs(self) -> bool:
        """Harm moved differently from counts: opposite directions, or % changes DIFFERENT_POINTS apart."""
        a, b = self.pct_change, self.harm_pct_change
        if a is None or b is None:
            return False
        return (a > 0) != (b > 0) and abs(a - b) >= 1 or abs(a - b) >= DIFFERENT_POINTS

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "current": self.current, "previous": self.previous,
                "pct_change": self.pct_change, "harm_current": round(self.harm_current, 1),
                "harm_previous": round(self.harm_previous, 1), "harm_pct_change": self.harm_pct_change,
                "score": self.score, "previous_score": self.previous_score, "unweighted": self.unweighted,
                "differs": self.differs()}


@dataclass
class Harm:
    """The harm block of an assessment (``assessment["harm"]``).

    Attributes
    ----------
    available : bool
    note : str | None
        Why not (no offence codes in the source, no weights loaded, no month in both periods).
    scheme, source : str | None
        The weights' scheme label and file name.
    total : HarmRow | None
    themes, wards : list[HarmRow]
    findings : list[str]
    """

    available: bool
    note: str | None = None
    scheme: str | None = None
    source: str | None = None
    total: HarmRow | None = None
    themes: list[HarmRow] = field(default_factory=list)
    wards: list[HarmRow] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"available": self.available, "note": self.note, "scheme": self.scheme, "source": self.source,
                "score_definition": "severity-weighted total a year ÷ residents (ONS Crime Severity Score)",
                "total": self.total.to_dict() if self.total else None,
                "themes": [r.to_dict() for r in self.themes], "wards": [r.to_dict() for r in self.wards],
                "findings": self.findings}


def _score(harm: float, residents: float | None, months: int) -> float | None:
    if not residents or not months:
        return None
    return round(harm * 12 / months / residents, 3)


def harm_block(con: Any, st: Store, kind: str, rows_where: str, total_pred: str,
               theme_preds: Mapping[str, str | None], labels: Mapping[str, str], matched_cur: list[str],
               matched_prev: list[str], population: Mapping[str, Any] | None, wards: Mapping[str, str],
               area_name: str, cur: Period, cmp: Period, table: str = "placed") -> Harm:
    """Harm-weighted totals and changes for the area selected by `rows_where` (SQL over `table`, the `placed`
    view or a table of its rows such as the engine's `area_rows`)."""
    if not get_kind(kind).offence_codes:
        return Harm(False, "harm weights need Home Office offence codes, which only force extracts carry; "
                           "police.uk crime types are too broad to weigh")
    entries = sorted(st.geography_entries(KIND), key=lambda e: e.get("loaded_at", ""))
    if not entries:
        return Harm(False, "no harm weights are loaded (crimeassess harm load FILE)")
    if not matched_cur:
        return Harm(False, "no month is held in both periods, so harm is not compared")
    entry = entries[-1]  # the weights stored_weights() returns, read by DuckDB
    con.execute("CREATE OR REPLACE TEMP TABLE harm_w AS SELECT upper(offence_code) AS code, weight "
                "FROM read_parquet(?)", [str(st.geography_path(entry))])
    preds = {"total": total_pred, **{t: p for t, p in theme_preds.items() if p and t not in NOT_CRIME_THEMES}}
    ids = list(preds)
    mc, mp = sql.in_list(matched_cur), sql.in_list(matched_prev)
    base = (f"FROM {table} p LEFT JOIN harm_w hw ON upper(p.offence_code) = hw.code "
            f"WHERE ({rows_where}) AND (month IN {mc} OR month IN {mp})")
    # Each row's period (_c: current, else comparison) and theme flags worked out once, then five aggregates a
    # theme over them: with every predicate and month list written into each aggregate, the demo city's query
    # took 0.7 s (25 themes, 144k rows), most of it evaluating the same predicates five times a row.
    flags = ", ".join(f"({preds[i]}) AS _t{j}" for j, i in enumerate(ids))
    sel = ", ".join(
        f"count(*) FILTER (WHERE _c AND _t{j}), count(*) FILTER (WHERE NOT _c AND _t{j}), "
        f"coalesce(sum(_w) FILTER (WHERE _c AND _t{j}), 0), coalesce(sum(_w) FILTER (WHERE NOT _c AND _t{j}), 0), "
        f"count(*) FILTER (WHERE _c AND _t{j} AND _w IS NULL)" for j in range(len(ids)))
    vals = con.execute(f"SELECT {sel} FROM (SELECT month IN {mc} AS _c, hw.weight AS _w, {flags} {base})"
                       ).fetchall()[0]
    meta = (population or {}).get("meta") or {}
    prev_meta = (population or {}).get("previous_meta") or {}
    rows = []
    for j, i in enumerate(ids):
        c, p, hc, hp, un = vals[5 * j:5 * j + 5]
        r = HarmRow(i, labels.get(i, i), int(c), int(p), float(hc), float(hp), int(un))
        if i == "total":
            r.score = _score(r.harm_current, meta.get("residents"), len(matched_cur))
            r.previous_score = _score(r.harm_previous, prev_meta.get("residents"), len(matched_prev))
        rows.append(r)
    ward_rows = []
    wpop = (population or {}).get("wards", {})
    wppop = (population or {}).get("previous_wards", {})
    got_w = {r[0]: r[1:] for r in con.execute(
        f"SELECT p_ward_code, count(*) FILTER (WHERE month IN {mc}), count(*) FILTER (WHERE month IN {mp}), "
        f"coalesce(sum(hw.weight) FILTER (WHERE month IN {mc}), 0), coalesce(sum(hw.weight) FILTER (WHERE month IN {mp}), 0), "
        f"count(*) FILTER (WHERE month IN {mc} AND hw.weight IS NULL) {base} AND ({total_pred}) "
        "AND p_ward_code IS NOT NULL GROUP BY 1").fetchall()}
    for code, name in wards.items():
        c, p, hc, hp, un = got_w.get(code, (0, 0, 0.0, 0.0, 0))
        r = HarmRow(code, name, int(c), int(p), float(hc), float(hp), int(un))
        r.score = _score(r.harm_current, (wpop.get(code) or {}).get("residents"), len(matched_cur))
        r.previous_score = _score(r.harm_previous, (wppop.get(code) or {}).get("residents"), len(matched_prev))
        ward_rows.append(r)
    out = Harm(True, scheme=entry.get("scheme_label"), source=entry.get("source"), total=rows[0], themes=rows[1:],
               wards=ward_rows)
    out.findings = sentences(out, area_name, present.period_words(cur), present.period_words(cmp))
    return out


def _moved(x: float | None) -> str:
    if x is None:
        return "changed"
    return f"rose {present.pct(abs(x))}" if x > 0 else f"fell {present.pct(abs(x))}" if x < 0 else "was unchanged"


def sentences(h: Harm, area_name: str, period: str, compare: str) -> list[str]:
    """The finding when harm moved differently from counts, for the total and the themes and wards where it did."""
    t = h.total
    if t is None:
        return []
    out = []
    if t.differs():
        out.append(f"Recorded crime in {area_name} {_moved(t.pct_change)} in {period} on {compare}; its "
                   f"severity-weighted total ({h.scheme}) {_moved(t.harm_pct_change)}: the mix moved towards "
                   f"{'graver' if (t.harm_pct_change or 0) > (t.pct_change or 0) else 'less grave'} offences.")
    else:
        out.append(f"Recorded crime in {area_name} {_moved(t.pct_change)} in {period} on {compare}, and its "
                   f"severity-weighted total ({h.scheme}) {_moved(t.harm_pct_change)}.")
    moved = sorted([r for r in h.themes if r.differs() and r.harm_previous and r.current >= 10],
                   key=lambda r: -abs((r.harm_current - r.harm_previous)))
    big = moved[:3]  # the three that moved most harm; the rest are counted, not hidden (the harm table lists them)
    if big:
        items = [f"{present.theme_name(r.label)} (crimes {present.pct(r.pct_change, signed=True)}, harm "
                 f"{present.pct(r.harm_pct_change, signed=True)})" for r in big]
        rest = len(moved) - len(big)
        if rest:
            items.append(f"{rest} other {'theme' if rest == 1 else 'themes'}")
        out.append(f"Harm moved differently from counts in {present.join_and(items)}.")
    return out
