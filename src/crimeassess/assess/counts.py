"""Counting an area's records: the period tables and the counts of the current and comparison periods,
in full and like for like (the months held in both), the series and the monthly counts.

Everything here runs DuckDB SQL over the engine's `area_all` table (the area's placed rows) and the
`area_rows` table materialised from it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from .. import sql
from .dispersion import WINDOW_MONTHS
from .periods import Period, month_from_index, month_index
from .runs import current_run

MAX_SERIES = 15  # periods in a series, at most
_in_list = sql.in_list


def _series_periods(period: Period, present: set[str]) -> list[Period]:
    """The current period and up to MAX_SERIES − 1 before it (oldest first), from the oldest that has any month
    in the store. Periods in a gap stay in the series as incomplete (count None), so a run never spans a gap
    and the comparison period is in the series whenever the store holds it."""
    out = [period]
    p = period
    for _ in range(MAX_SERIES - 1):
        p = p.series_step()
        out.append(p)
    while len(out) > 1 and not any(m in present for m in out[-1].months):
        out.pop()
    return out[::-1]


def _span(p: Period) -> dict[str, str]:
    """A series entry's start and end: months, or days (YYYY-MM-DD) for day-based periods."""
    if p.by_day:
        return {"start": p.first_day.isoformat(), "end": p.last_day.isoformat()}
    return {"start": p.start, "end": p.end}


def _period_cond(p: Period) -> str:
    """SQL condition selecting a period's records: by recorded date for day-based periods, else by month."""
    if p.by_day:
        return f"(recorded_date BETWEEN DATE '{p.first_day.isoformat()}' AND DATE '{p.last_day.isoformat()}')"
    return f"(month IN {_in_list(p.months)})"


def _window(cur: Period, present: set[str]) -> list[str]:
    """Months held in the dispersion window: up to WINDOW_MONTHS ending at the current period's last month."""
    end = month_index(cur.end)
    return [m for m in (month_from_index(i) for i in range(end - WINDOW_MONTHS + 1, end + 1))
            if m in present]


def _nsum(pred: str) -> str:
    """SQL counting the rows of view `ps` that meet `pred` (each row stands for `n` records)."""
    return f"coalesce(sum(n) FILTER (WHERE {pred}), 0)::BIGINT"


def _period_table(con: duckdb.DuckDBPyConnection, periods: list[Period], cur: Period, cmp: Period, rows_where: str,
                  window: list[str], matched_cur: list[str], matched_prev: list[str], *, old: bool = False) -> None:
    """The area's rows of the chosen source and the series' months (`area_rows`: a table, or a view of
    `area_all` when that holds nothing else), then views `pc` (rows of the current and comparison
    periods, columns `which` and `matched`: the row's month is held in both periods) and `ps` (rows of the series
    periods, column `idx`, and `n`, the records a row stands for) and `area_win` (rows of the chosen source in the
    dispersion `window`, with `n`) over it. With `old`, `ps` and `area_win` also hold table `cube_old` (counts of
    the months before those `area_all` holds)."""
    cc, pcnd = _period_cond(cur), _period_cond(cmp)
    any_cond = " OR ".join([_period_cond(p) for p in periods] + [cc, pcnd, f"month IN {_in_list(window)}"])
    cond = f"({rows_where}) AND ({any_cond})"
    for kind, in con.execute("SELECT 'VIEW' FROM duckdb_views() WHERE view_name = 'area_rows' UNION ALL "
                             "SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = 'area_rows'").fetchall():
        con.execute(f"DROP {kind} area_rows")
    # Usually every row of `area_all` is wanted (one source, months within the series): then no copy.
    if con.execute(f"SELECT count(*) FROM area_all WHERE ({cond}) IS NOT TRUE").fetchall()[0][0]:
        con.execute(f"CREATE TEMP TABLE area_rows AS SELECT * FROM area_all WHERE {cond}")
    else:
        con.execute("CREATE TEMP VIEW area_rows AS SELECT * FROM area_all")
    if cur.by_day:
        matched = "true" if matched_cur else "false"
    else:
        matched = (f"CASE WHEN {cc} THEN month IN {_in_list(matched_cur)} "
                   f"ELSE month IN {_in_list(matched_prev)} END")
    con.execute(f"CREATE OR REPLACE TEMP VIEW pc AS SELECT *, CASE WHEN {cc} THEN 'cur' ELSE 'prev' END AS which, "
                f"{matched} AS matched FROM area_rows WHERE {cc} OR {pcnd}")
    cases = " ".join(f"WHEN {_period_cond(p)} THEN {i}" for i, p in enumerate(periods))
    series_cond = " OR ".join(_period_cond(p) for p in periods)
    rows = "(SELECT *, 1::BIGINT AS n FROM area_rows" + (" UNION ALL BY NAME SELECT * FROM cube_old)" if old else ")")
    con.execute(f"CREATE OR REPLACE TEMP VIEW ps AS SELECT *, CASE {cases} END AS idx FROM {rows} WHERE {series_cond}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW area_win AS SELECT * FROM {rows} WHERE ({rows_where}) "
                f"AND month IN {_in_list(window)}")


class _Counter:
    """Counts of the current and comparison periods, in full and like for like, over view `pc`."""

    def __init__(self, con, base: str, cov: dict[str, Any]) -> None:
        self.con, self.base, self.cov = con, base, cov

    @staticmethod
    def select(pred: str, prefix: str = "") -> str:
        return (f"count(*) FILTER (WHERE c.which = 'cur' AND ({pred})) AS \"{prefix}c\", "
                f"count(*) FILTER (WHERE c.which = 'prev' AND ({pred})) AS \"{prefix}p\", "
                f"count(*) FILTER (WHERE c.which = 'cur' AND c.matched AND ({pred})) AS \"{prefix}mc\", "
                f"count(*) FILTER (WHERE c.which = 'prev' AND c.matched AND ({pred})) AS \"{prefix}mp\"")

    def row(self, values: Sequence[int]) -> dict[str, Any]:
        """current/previous (everything held) and matched_current/matched_previous (like for like)."""
        c, p, mc, mp = (int(v) for v in values)
        comparable = self.cov["basis"] in ("complete", "matched_months")
        return {"current": None if self.cov["current_months"] == 0 else c,
                "previous": None if self.cov["previous_months"] == 0 else p,
                "matched_current": mc if comparable else None,
                "matched_previous": mp if comparable else None}

    def one(self, pred: str) -> dict[str, Any]:
        return self.row(self.con.execute(f"SELECT {self.select(pred)} {self.base}").fetchall()[0])

    def grouped(self, preds: Sequence[str], by: str | None = None) -> dict[Any, list[list[int]]]:
        """[c, p, mc, mp] for each predicate, per value of column `by` (key None without `by`), in one pass.

        Rows are grouped by period and matched before counting, so each predicate is evaluated once per row
        (not four times, as `select` does): with thirty themes this is the engine's heaviest query."""
        g = f"{by}, " if by else ""
        sel = ", ".join(f"count(*) FILTER (WHERE {p})" for p in preds) or "count(*)"
        out: dict[Any, list[list[int]]] = {}
        k = 1 if by else 0
        for r in self.con.execute(f"SELECT {g}c.which, c.matched, {sel} {self.base} GROUP BY ALL").fetchall():
            acc = out.setdefault(r[0] if by else None, [[0, 0, 0, 0] for _ in preds])
            cur, matched = r[k] == "cur", bool(r[k + 1])
            for j, v in enumerate(r[k + 2:k + 2 + len(preds)]):
                acc[j][0 if cur else 1] += v
                if matched:
                    acc[j][2 if cur else 3] += v
        return out

    @staticmethod
    def summed(groups: dict[Any, list[list[int]]], n: int) -> list[list[int]]:
        """The [c, p, mc, mp] lists of `grouped`, summed over every group."""
        tot = [[0, 0, 0, 0] for _ in range(n)]
        for acc in groups.values():
            for j in range(n):
                for i in range(4):
                    tot[j][i] += acc[j][i]
        return tot


def _monthly(con, where: str, src_cond: str, total_pred: str, theme_preds: dict[str, str | None],
             months: list[str]) -> dict[str, dict[str, dict[int, int]]]:
    """Monthly counts over the months held (zeros filled): total, themes, categories and wards, from view
    `area_win` (the window's rows, each standing for `n` records: the cube's counts for months before the split)."""
    idx = {m: month_index(m) for m in months}
    out: dict[str, dict[str, dict[int, int]]] = {"total": {}, "themes": {}, "categories": {}, "wards": {}}
    if not months:
        return out
    avail = [(tid, pred) for tid, pred in theme_preds.items() if pred]
    sel = "".join(f", {_nsum(pred)}" for _, pred in avail)
    base = f"FROM area_win WHERE {where} AND {src_cond} AND month IN {_in_list(months)}"
    zero = {i: 0 for i in idx.values()}
    out["total"]["total"] = dict(zero)
    for tid, _ in avail:
        out["themes"][tid] = dict(zero)
    for r in con.execute(f"SELECT month, {_nsum(total_pred)}{sel} {base} GROUP BY 1").fetchall():
        out["total"]["total"][idx[r[0]]] = int(r[1])
        for j, (tid, _) in enumerate(avail):
            out["themes"][tid][idx[r[0]]] = int(r[2 + j])
    for cat, m, n in con.execute(f"SELECT category_id, month, sum(n) {base} AND is_crime GROUP BY 1, 2").fetchall():
        out["categories"].setdefault(cat, dict(zero))[idx[m]] = int(n)
    for code, m, n in con.execute(f"SELECT p_ward_code, month, sum(n) {base} AND ({total_pred}) "
                                  "AND p_ward_code IS NOT NULL GROUP BY 1, 2").fetchall():
        out["wards"].setdefault(code, dict(zero))[idx[m]] = int(n)
    return out


def _monthly_line(con, base: str, total_pred: str, cur: Period, cmp: Period, present: set[str]) -> list[dict[str, Any]]:
    """Crimes per month held, from the comparison period's first month to the current period's last."""
    lo, hi = min(month_index(cmp.start), month_index(cur.start)), month_index(cur.end)
    months = [month_from_index(i) for i in range(lo, hi + 1) if month_from_index(i) in present]
    if cur.by_day or not months:
        return []
    got = dict(con.execute(f"SELECT month, count(*) FROM area_rows WHERE ({total_pred}) AND month IN {_in_list(months)} "
                           "GROUP BY 1").fetchall())
    return [{"month": m, "count": int(got.get(m, 0))} for m in months]


def _ward_rows(con, tgt: Any, src_cond: str, total_pred: str, theme_preds: dict[str, str | None], exposure: float,
               periods: list[Period], present: set[str], counter: _Counter, series_from: Any,
               by_ward: dict[Any, list[list[int]]] | None = None) -> list[dict[str, Any]]:
    """Every ward of the area in the chosen vintage, even with no crime: counts, series, run and themes.

    `by_ward`: `counter.grouped([total_pred, *the available themes but total], "p_ward_code")` when the caller
    has it already."""
    a, lad_codes, vintage, where = tgt.area, tgt.lad_codes, tgt.vintage, tgt.where
    if vintage and a.level != "custom":
        names = con.execute(
            "SELECT DISTINCT ward_code, ward_name FROM lk WHERE "
            + (f"ward_code = {sql.literal(a.code)}" if a.level == "ward" else f"lad_code IN {_in_list(lad_codes)}")
            + " ORDER BY 1").fetchall()
    elif vintage:
        names = con.execute("SELECT DISTINCT p.p_ward_code, lk.ward_name FROM area_rows p JOIN (SELECT DISTINCT ward_code, "
                            "ward_name FROM lk) lk ON lk.ward_code = p.p_ward_code ORDER BY 1").fetchall()
    else:
        names = con.execute("SELECT DISTINCT p_ward_code, any_value(ward_name) FROM area_rows "
                            "WHERE p_ward_code IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall()
    avail = [(tid, pred) for tid, pred in theme_preds.items() if pred and tid != "total"]
    if by_ward is None:
        by_ward = counter.grouped([total_pred] + [p for _t, p in avail], "p_ward_code")
    counts = {code: [v for acc in accs for v in acc] for code, accs in by_ward.items()}
    ser: dict[str, dict[int, int]] = {}
    for code, idx, n in con.execute(f"SELECT p_ward_code, pm.idx, sum(n)::BIGINT FROM ps pm WHERE {where} AND {src_cond} "
                                    f"AND ({total_pred}) GROUP BY 1, 2").fetchall():
        ser.setdefault(code, {})[idx] = n
    rows = []
    zero = [0] * (4 + 4 * len(avail))
    for code, name in names:
        c = counts.get(code, zero)
        series = series_from(ser.get(code, {}))
        wt = [{"id": tid, **counter.row(c[4 + 4 * j:8 + 4 * j]), "exposure_ratio": exposure}
              for j, (tid, _p) in enumerate(avail)]
        rows.append({"code": code, "name": name, **counter.row(c[:4]), "exposure_ratio": exposure, "series": series,
                     "run": current_run(series).to_dict(), "themes": wt})
    rows.sort(key=lambda r: (-(r["current"] or 0), r["name"] or ""))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows
