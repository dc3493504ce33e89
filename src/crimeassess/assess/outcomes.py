"""The ``outcomes`` block: how the crimes of each theme ended, in each period, like for like.

Counts are of the crimes in the months held in both periods (``matched``), by outcome group
(``classify.outcomes``). Recent crimes have not reached an outcome yet, so outcomes must be compared at the
same age:

- **same age** (``basis: "same_age"``): police.uk street crimes joined by Crime ID to the police.uk outcomes
  files held. The current period's crimes take their latest outcome up to the newest outcomes month held (T);
  the comparison period's crimes their latest outcome up to T minus the gap between the periods, so both
  have had the same time to reach one. Needs outcomes files for every month from the comparison's start to T.
- **latest** (``basis: "latest"``): each crime's latest outcome as the source gives it (an extract's
  ``outcome``, a street file's "Last outcome category"), without its date: the comparison period's crimes
  have had longer to reach one, which the caveat says.

Shares are of all the theme's compared crimes (including those still under investigation); changes are in
percentage points. Share changes are not tested for significance.
"""
from __future__ import annotations

from typing import Any

import duckdb

from ..classify.outcomes import GROUPS, REPORTED, classify_outcome
from ..sources.registry import get_kind
from .periods import Period, month_from_index, month_index
from . import present
from .. import sql

OUTCOMES_KIND = "police-uk-outcomes"


def _outcome_months(con: duckdb.DuckDBPyConnection, forces: list[str]) -> set[str]:
    rows = con.execute("SELECT DISTINCT month, scope FROM live_slices WHERE source_kind = ?", [OUTCOMES_KIND]).fetchall()
    return {m for m, scope in rows if not forces or scope in forces}


def _same_age_cutoffs(con, kind: str, forces: list[str], cur: Period, cmp: Period) -> tuple[str, str] | None:
    """(T, T minus the periods' gap) when outcomes files cover every month from the comparison's start to T."""
    if not get_kind(kind).location_text or cur.by_day:
        return None
    held = _outcome_months(con, forces)
    if not held:
        return None
    t = max(held)
    if t < cur.end:
        return None
    shift = month_index(cur.start) - month_index(cmp.start)
    need = [month_from_index(i) for i in range(month_index(cmp.start), month_index(t) + 1)]
    if any(m not in held for m in need):
        return None
    return t, month_from_index(month_index(t) - shift)


def _shares(counts: dict[str, int], total: int) -> dict[str, float | None]:
    return {g: (round(100.0 * counts.get(g, 0) / total, 1) if total else None) for g in GROUPS}


def outcomes_block(con: duckdb.DuckDBPyConnection, *, kind: str, forces: list[str], cur: Period, cmp: Period,
                   coverage: dict[str, Any], themes: list[tuple[str, str, str]], table: dict[str, str]
                   ) -> dict[str, Any]:
    """The assessment's ``outcomes`` block (docs/assessment-schema.md) for ``themes`` = [(id, label, SQL)] over
    view ``pc`` (rows of both periods; ``matched`` marks the months held in both)."""
    comparable = coverage.get("basis") in ("complete", "matched_months")
    cut = _same_age_cutoffs(con, kind, forces, cur, cmp)
    if cut:
        t, tp = cut
        # every month's outcomes rows, also when the engine reads records only from its split month on
        rel = "outcome_records" if sql.has_relation(con, "outcome_records") else "records"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE out_latest AS
            SELECT c.uid AS o_uid, arg_max(o.outcome, o.month || lpad(CAST(o.line AS VARCHAR), 12, '0')) AS o_text
            FROM pc c JOIN {rel} o ON o.source_kind = '{OUTCOMES_KIND}' AND o.record_id = c.record_id
              AND o.month <= CASE WHEN c.which = 'cur' THEN '{t}' ELSE '{tp}' END
            WHERE c.matched AND c.record_id IS NOT NULL GROUP BY 1""")
        text = "coalesce(o.o_text, 'Under investigation')"
        basis, source = "same_age", OUTCOMES_KIND
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE out_latest(o_uid VARCHAR, o_text VARCHAR)")
        text, basis, source, t, tp = "c.outcome", "latest", kind, None, None
    con.execute(f"CREATE OR REPLACE TEMP VIEW pc_outcome AS SELECT c.*, {text} AS final_outcome FROM pc c "
                "LEFT JOIN out_latest o ON o.o_uid = c.uid WHERE c.matched")
    values = [r[0] for r in con.execute("SELECT DISTINCT final_outcome FROM pc_outcome").fetchall()]
    groups = {v: classify_outcome(v, table) for v in values}
    given = [v for v in values if groups[v] is not None]
    if not given or not comparable:
        reason = ("no months are held in both periods" if not comparable else
                  f"{get_kind(kind).label} give no outcomes for these crimes")
        return {"available": False, "basis": None, "source": None, "note": reason,
                "enable": "A force extract with an outcome column, or police.uk outcomes files for the months from "
                          "the comparison period's start, would give outcomes.", "themes": [], "groups": GROUPS}
    sql.create_table(con, "outcome_map", {"otext": ("VARCHAR", list(groups)),
                                          "grp": ("VARCHAR", [groups[v] or "not_known" for v in groups])})
    sel = ", ".join(f"count(*) FILTER (WHERE {pred})" for _, _, pred in themes)
    rows = con.execute(f"SELECT which, coalesce(m.grp, 'not_known'), {sel} FROM pc_outcome p "
                       "LEFT JOIN outcome_map m ON m.otext = p.final_outcome GROUP BY 1, 2").fetchall()
    out_themes = []
    for j, (tid, label, _pred) in enumerate(themes):
        by = {"cur": {}, "prev": {}}
        for which, grp, *ns in rows:
            by[which][grp] = by[which].get(grp, 0) + int(ns[j])
        c_tot, p_tot = sum(by["cur"].values()), sum(by["prev"].values())
        sc, sp = _shares(by["cur"], c_tot), _shares(by["prev"], p_tot)
        groups_out = {g: {"current": by["cur"].get(g, 0), "previous": by["prev"].get(g, 0),
                          "share": sc[g], "previous_share": sp[g],
                          "change_points": (round(sc[g] - sp[g], 1) if sc[g] is not None and sp[g] is not None
                                            else None)} for g in GROUPS}
        out_themes.append({"id": tid, "label": label, "current": c_tot, "previous": p_tot,
                           "unmapped_current": by["cur"].get("unmapped", 0),
                           "unmapped_previous": by["prev"].get("unmapped", 0), "groups": groups_out})
    unmapped = con.execute("SELECT final_outcome, count(*) FROM pc_outcome p JOIN outcome_map m "
                           "ON m.otext = p.final_outcome WHERE m.grp = 'unmapped' GROUP BY 1 ORDER BY 2 DESC, 1 "
                           "LIMIT 10").fetchall()
    gap = month_index(cur.start) - month_index(cmp.start)
    if basis == "same_age":
        caveat = (f"Outcomes compared at the same age: {present.period_words(cmp.to_dict())}'s crimes as their "
                  f"outcomes stood in {present.month_label(tp)}, {present.period_words(cur.to_dict())}'s as they "
                  f"stood in {present.month_label(t)}. Crimes still under investigation may yet be charged.")
    else:
        caveat = (f"Each crime's latest outcome, without its date: {present.period_words(cmp.to_dict())}'s crimes "
                  f"have had {present.plural(gap, 'month')} longer to reach one, so fewer of them are still under "
                  "investigation and more may have been charged; changes in outcome shares are partly the lag. "
                  + ("police.uk outcomes files for every month from the comparison's start would allow a comparison "
                     "at the same age." if get_kind(kind).location_text else
                     "The extract gives no outcome dates, so the periods cannot be compared at the same age.")
                  if gap > 0 else "Each crime's latest outcome, without its date.")
    da = next((x for x in out_themes if x["id"] == "domestic_abuse"), None)
    return {
        "available": True, "basis": basis, "source": source, "as_of": t, "previous_as_of": tp,
        "caveat": caveat, "groups": GROUPS, "reported_groups": list(REPORTED), "themes": out_themes,
        "unmapped": [{"outcome": v, "count": int(n)} for v, n in unmapped],
        "domestic_abuse": ({"charge_share": da["groups"]["charge_summons"]["share"],
                            "previous_charge_share": da["groups"]["charge_summons"]["previous_share"],
                            "change_points": da["groups"]["charge_summons"]["change_points"],
                            "charges": da["groups"]["charge_summons"]["current"],
                            "previous_charges": da["groups"]["charge_summons"]["previous"],
                            "current": da["current"], "previous": da["previous"],
                            "arrests": None,
                            "note": "arrests are not in the extract's canonical columns; charges are the "
                                    "charged/summonsed outcome"} if da and da["current"] + da["previous"] else None),
    }
