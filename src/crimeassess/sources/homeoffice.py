"""Home Office police recorded crime open data tables: counts by financial year × quarter × area × offence code.

Two layouts are read, recognised by their header (see docs/homeoffice.md):

- the **police force area (PFA)** table: financial year, financial quarter, force name, offence description,
  group, subgroup, offence code, number of offences;
- the **community safety partnership (CSP)** table: the same with a CSP name column (and sometimes codes).

Header spellings vary across releases and reshaped copies ("Financial Year" / "Financial_Year", "Number of
Offences" / "Offence Count", "CSP Name" / "Community Safety Partnership"); case, spaces and underscores are
ignored, and a leading unnamed index column (as pandas writes) is skipped. Rows of the national fraud
reporting bodies (Action Fraud, CIFAS, UK Finance, Financial Fraud Action UK) have no area: they are kept as
``level = 'fraud-body'`` rows and never belong to any force. Negative counts are kept: the published quarters
carry reclassification adjustments. A row that cannot be read is quarantined with its line, reason and text.

These are *aggregated* counts: they are stored as their own table (never as records) and give official totals
and comparators. Whether an offence counts towards "total recorded crime" follows classify/offences.py (fraud
is published separately); a code the table does not know falls back to the row's own offence group.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from ..classify.offences import lookup as lookup_offence
from ..classify.offences import normalise_code
from ..errors import InputError

KIND = "home-office-table"
SOURCE_LABEL = "Home Office police recorded crime open data tables"

#: Forces whose area is in Wales (the rest of the 43 territorial forces are in England).
WELSH_FORCES = ("dyfed-powys", "gwent", "north-wales", "south-wales")
#: Rows that are not a territorial police force area.
FRAUD_BODIES = ("action fraud", "cifas", "uk finance", "financial fraud action uk")
#: British Transport Police: recorded crime with no resident population, outside the England and Wales total.
NON_TERRITORIAL = ("british transport police",)

#: canonical column -> accepted header spellings (compared lower-case with spaces/underscores/dots removed)
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "financial_year": ("financialyear", "year", "fy"),
    "quarter": ("financialquarter", "quarter", "fq"),
    "force_name": ("forcename", "force", "policeforcearea", "pfaname", "pfa", "policeforce"),
    "force_code": ("forcecode", "pfacode", "policeforceareacode"),
    "csp_name": ("cspname", "communitysafetypartnership", "communitysafetypartnershipname", "csp"),
    "csp_code": ("cspcode", "communitysafetypartnershipcode"),
    "offence_description": ("offencedescription", "offence"),
    "offence_group": ("offencegroup",),
    "offence_subgroup": ("offencesubgroup",),
    "offence_code": ("offencecode", "hocode", "homeofficecode"),
    "count": ("numberofoffences", "offencecount", "offences", "count", "numberofcrimes"),
}
_VERSIONED = {  # ONS-style versioned code/name headers: PFA17CD, CSP17NM ...
    "force_code": re.compile(r"pfa\d\dcd"), "force_name": re.compile(r"pfa\d\dnm"),
    "csp_code": re.compile(r"csp\d\dcd"), "csp_name": re.compile(r"csp\d\dnm"),
}
REQUIRED = ("financial_year", "quarter", "offence_code", "count")
COLUMNS = ["financial_year", "quarter", "level", "force_name", "force", "force_code", "csp_name", "csp_code",
           "offence_code", "offence_description", "offence_group", "in_total_recorded_crime", "count"]

_FY = re.compile(r"^(\d{4})\s*[/_-]\s*(\d{2}|\d{4})$")


def _norm_header(h: str) -> str:
    return re.sub(r"[\s_.\-]+", "", h.strip().lower())


def map_header(header: list[str]) -> dict[str, int]:
    """Canonical column -> index for a header row; unknown and index columns are ignored."""
    out: dict[str, int] = {}
    for i, h in enumerate(header):
        n = _norm_header(h)
        if not n or n in ("unnamed0", "index", "id"):
            continue
        for canon, names in HEADER_ALIASES.items():
            if n in names or (canon in _VERSIONED and _VERSIONED[canon].fullmatch(n)):
                out.setdefault(canon, i)
                break
    return out


def looks_like_homeoffice_table(header: list[str]) -> bool:
    """True when a CSV header is a Home Office PRC table (financial year, quarter, area, offence code, count)."""
    cols = map_header(header)
    return all(c in cols for c in REQUIRED) and ("force_name" in cols or "csp_name" in cols)


def force_slug_of(name: str) -> str:
    """A force name as police.uk slugs it: 'Devon and Cornwall' -> 'devon-and-cornwall',
    'Metropolitan Police' -> 'metropolitan', 'London, City of' -> 'city-of-london'."""
    s = name.strip().lower().replace("&", " and ")
    if re.fullmatch(r"london,?\s*city of", s) or s == "city of london":
        return "city-of-london"
    s = re.sub(r"\b(constabulary|police service|police force|police)\b", "", s)
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-") or "unknown"


def parse_financial_year(text: str) -> str | None:
    """'2017/18', '2017-18', '2017_2018' -> '2017/18'; None when not a financial year."""
    m = _FY.match(text.strip())
    if not m:
        return None
    start, end = int(m.group(1)), int(m.group(2)[-2:])
    if (start + 1) % 100 != end:
        return None
    return f"{start}/{end:02d}"


def quarter_months(financial_year: str, quarter: int) -> list[str]:
    """The three months (YYYY-MM) of a financial-year quarter: 2017/18 Q1 = 2017-04..2017-06, Q4 = 2018-01..03."""
    start = int(financial_year[:4])
    first = 4 + 3 * (quarter - 1)
    out = []
    for k in range(3):
        m = first + k
        y = start + (m - 1) // 12
        out.append(f"{y}-{(m - 1) % 12 + 1:02d}")
    return out


def _count(text: str) -> int | None:
    v = text.strip().replace(",", "")
    if not re.fullmatch(r"-?\d+(\.0+)?", v):
        return None
    return int(float(v))


def _classify(code: str, group: str) -> tuple[str, bool | None]:
    """(canonical code, in total recorded crime) from the offence table, else from the row's offence group.
    Composite codes ('1/4.1/4.10/4.2', homicide) use their parts when all parts agree."""
    canon = normalise_code(code)
    o = lookup_offence(canon)
    if o is not None:
        return canon, o.in_total_recorded_crime
    parts = [p for p in re.split(r"\s*/\s*", code.strip()) if p]
    if len(parts) > 1:
        found = [lookup_offence(p) for p in parts]
        if all(found) and len({f.in_total_recorded_crime for f in found}) == 1:
            return canon, found[0].in_total_recorded_crime
    g = group.strip().lower()
    if g:
        return canon, not g.startswith("fraud")
    return canon, None


@dataclass
class HomeOfficeTable:
    """A Home Office table read: counts (``COLUMNS``) plus quarantined rows; rows_read = loaded + quarantined."""

    level: str  # 'pfa' | 'csp'
    counts: pd.DataFrame
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    rows_read: int = 0

    @property
    def financial_years(self) -> list[str]:
        return sorted(self.counts["financial_year"].unique().tolist())


def read_homeoffice_table(data: bytes | str, display_name: str = "<table>") -> HomeOfficeTable:
    """Read a Home Office PRC table (PFA or CSP layout) from bytes or text. InputError if it is not one."""
    import pandas as pd  # here: ingest need not load pandas
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data.lstrip("\ufeff")
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if not header or not looks_like_homeoffice_table(header):
        raise InputError(f"{display_name}: not a Home Office police recorded crime table "
                         f"(need financial year, quarter, force or CSP name, offence code and number of offences)")
    cols = map_header(header)
    level = "csp" if "csp_name" in cols or "csp_code" in cols else "pfa"
    out: dict[str, list] = {c: [] for c in COLUMNS}
    quarantine: list[dict[str, Any]] = []
    n_read = 0

    def get(row: list[str], col: str) -> str:
        i = cols.get(col)
        return row[i].strip() if i is not None and i < len(row) else ""

    for line, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        n_read += 1
        raw = ",".join(row)

        def bad(reason: str) -> None:
            quarantine.append({"file": display_name, "line": line, "reason": reason, "raw": raw[:1000]})

        if len(row) < len(header):
            bad(f"row has {len(row)} fields, header has {len(header)}")
            continue
        fy = parse_financial_year(get(row, "financial_year"))
        if fy is None:
            bad(f"financial year {get(row, 'financial_year')!r} is not like 2017/18")
            continue
        q = get(row, "quarter")
        if q not in ("1", "2", "3", "4"):
            bad(f"financial quarter {q!r} is not 1-4")
            continue
        n = _count(get(row, "count"))
        if n is None:
            bad(f"number of offences {get(row, 'count')!r} is not a whole number")
            continue
        code_text = get(row, "offence_code")
        if not code_text:
            bad("offence code is empty")
            continue
        code, in_total = _classify(code_text, get(row, "offence_group"))
        if in_total is None:
            bad(f"offence code {code_text!r} is unknown and the row has no offence group")
            continue
        force_name = get(row, "force_name")
        csp_name, csp_code = get(row, "csp_name"), get(row, "csp_code")
        if force_name.lower() in FRAUD_BODIES or (not force_name and not csp_name and not csp_code
                                                  and get(row, "offence_group").lower().startswith("fraud")):
            row_level, force = "fraud-body", None
        elif level == "csp" and not (csp_name or csp_code):
            bad("CSP name and code are empty")
            continue
        elif level == "pfa" and not force_name and not get(row, "force_code"):
            bad("force name is empty")
            continue
        else:
            row_level = "non-territorial" if force_name.lower() in NON_TERRITORIAL else level
            force = force_slug_of(force_name) if force_name else None
        out["financial_year"].append(fy)
        out["quarter"].append(int(q))
        out["level"].append(row_level)
        out["force_name"].append(force_name or None)
        out["force"].append(force)
        out["force_code"].append(get(row, "force_code") or None)
        out["csp_name"].append(csp_name or None)
        out["csp_code"].append(csp_code or None)
        out["offence_code"].append(code)
        out["offence_description"].append(get(row, "offence_description") or None)
        out["offence_group"].append(get(row, "offence_group") or None)
        out["in_total_recorded_crime"].append(bool(in_total))
        out["count"].append(n)
    if n_read == 0:
        raise InputError(f"{display_name}: Home Office table has a header but no rows")
    df = pd.DataFrame(out, columns=COLUMNS)
    df["quarter"] = df["quarter"].astype("int64")
    df["count"] = df["count"].astype("int64")
    res = HomeOfficeTable(level, df, quarantine, n_read)
    assert res.rows_read == len(df) + len(quarantine)
    return res


def store_homeoffice_table(store: Any, data: bytes, display_name: str) -> dict[str, Any]:
    """Read a Home Office table and store it (as its own table kind 'homeoffice', never as records).

    Returns the manifest entry: level, financial years, rows read/loaded/quarantined, quarantine reasons and the
    quarantined rows themselves (file, line, reason, raw).
    """
    import pyarrow as pa

    from ..store import Store

    st = store if isinstance(store, Store) else Store(store)
    t = read_homeoffice_table(data, display_name)
    sha = hashlib.sha256(data).hexdigest()
    reasons: dict[str, int] = {}
    for q in t.quarantine:
        key = q["reason"].split(" '")[0]
        reasons[key] = reasons.get(key, 0) + 1
    name = f"{t.level}-{sha[:12]}"
    meta = {"path": display_name, "sha256": sha, "level": t.level, "financial_years": t.financial_years,
            "rows_read": t.rows_read, "rows_loaded": len(t.counts), "rows_quarantined": len(t.quarantine),
            "quarantine_reasons": reasons, "quarantine": t.quarantine[:1000], "source": SOURCE_LABEL}
    return st.put_geography("homeoffice", name, pa.Table.from_pandas(t.counts, preserve_index=False), meta)


def load_counts(store: Any, level: str | None = None) -> pd.DataFrame:
    """Every stored Home Office count (``COLUMNS`` plus ``table``), the newest table winning each
    (level, financial year) so a republished table replaces the earlier one. Empty frame when none. Cached while
    the store's Home Office entries are unchanged: treat the frame as read-only."""
    from ..store import Store

    st = store if isinstance(store, Store) else Store(store)
    entries = sorted(st.geography_entries("homeoffice"), key=lambda e: e.get("loaded_at", ""), reverse=True)
    key = (str(st.path.resolve()), level, tuple((e["name"], e.get("loaded_at")) for e in entries))
    if key in _COUNTS_CACHE:
        return _COUNTS_CACHE[key]
    out = _load_counts(st, entries, level)
    if len(_COUNTS_CACHE) > 8:
        _COUNTS_CACHE.clear()
    _COUNTS_CACHE[key] = out
    return out


_COUNTS_CACHE: dict[tuple, pd.DataFrame] = {}


def _load_counts(st: Any, entries: list[dict[str, Any]], level: str | None) -> pd.DataFrame:
    import pandas as pd  # here: ingest need not load pandas
    import pyarrow.parquet as pq

    frames = []
    taken: set[tuple[str, str]] = set()
    for e in entries:
        if level and e.get("level") != level:
            continue
        years = [y for y in e.get("financial_years", []) if (e.get("level"), y) not in taken]
        if not years:
            continue
        df = pq.read_table(st.path / e["file"]).to_pandas()
        df = df[df["financial_year"].isin(years)].copy()
        df["table"] = e["name"]
        frames.append(df)
        taken |= {(e.get("level"), y) for y in years}
    if not frames:
        return pd.DataFrame(columns=COLUMNS + ["table"])
    return pd.concat(frames, ignore_index=True)


def totals_by_force(counts: pd.DataFrame, financial_year: str, quarters: tuple[int, ...] = (1, 2, 3, 4),
                    *, fraud: bool = False) -> dict[str, int]:
    """Force slug -> total recorded crime (excluding fraud, as published) over the given quarters of one year,
    territorial forces only; with ``fraud=True`` the police-recorded fraud rows of each force instead."""
    d = counts[(counts["financial_year"] == financial_year) & counts["quarter"].isin(list(quarters))
               & (counts["level"].isin(["pfa", "csp"]))]
    d = d[d["in_total_recorded_crime"] != fraud]
    return {k: int(v) for k, v in d.groupby("force")["count"].sum().items()}


def national_total(counts: pd.DataFrame, financial_year: str, quarters: tuple[int, ...] = (1, 2, 3, 4),
                   country: str = "england-and-wales") -> int | None:
    """Total recorded crime (excluding fraud) of England and Wales, England or Wales: the sum over territorial
    forces (British Transport Police and the fraud bodies are outside it). None when the year is not loaded."""
    per = totals_by_force(counts[counts["level"] == "pfa"] if (counts["level"] == "pfa").any() else counts,
                          financial_year, quarters)
    if not per:
        return None
    if country == "wales":
        return sum(v for k, v in per.items() if k in WELSH_FORCES)
    if country == "england":
        return sum(v for k, v in per.items() if k not in WELSH_FORCES)
    return sum(per.values())
