"""`_Counter.grouped` (one pass by period and matched) against the four-filter counts and a Python recount."""
from __future__ import annotations

import random

import duckdb
import pyarrow as pa

from crimeassess.assess.counts import _Counter


def _rows(seed: int = 7, n: int = 3000) -> list[dict]:
    rnd = random.Random(seed)
    return [{"which": rnd.choice(["cur", "prev"]), "matched": rnd.choice([True, False, None]),
             "p_ward_code": rnd.choice(["W1", "W2", "W3", None]), "category_id": rnd.choice(["a", "b", "c"]),
             "is_crime": rnd.random() < 0.9} for _ in range(n)]


def test_grouped_equals_filters_and_recount() -> None:
    rows = _rows()
    con = duckdb.connect()
    con.register("pc_arrow", pa.Table.from_pylist(rows))
    con.execute("CREATE TABLE pc AS SELECT * FROM pc_arrow")
    cov = {"basis": "matched_months", "current_months": 12, "previous_months": 12}
    counter = _Counter(con, "FROM pc c WHERE true", cov)
    preds = ["is_crime", "category_id = 'a'", "is_crime AND category_id IN ('b', 'c')"]
    by_ward = counter.grouped(preds, "p_ward_code")
    tests = [lambda r: r["is_crime"], lambda r: r["category_id"] == "a",
             lambda r: r["is_crime"] and r["category_id"] in ("b", "c")]
    for ward in ("W1", "W2", "W3", None):
        for j, (pred, test) in enumerate(zip(preds, tests)):
            sel = [r for r in rows if r["p_ward_code"] == ward and test(r)]
            expect = [sum(r["which"] == "cur" for r in sel), sum(r["which"] == "prev" for r in sel),
                      sum(r["which"] == "cur" and r["matched"] is True for r in sel),
                      sum(r["which"] == "prev" and r["matched"] is True for r in sel)]
            assert by_ward[ward][j] == expect
            cond = "p_ward_code IS NULL" if ward is None else f"p_ward_code = '{ward}'"
            one = _Counter(con, f"FROM pc c WHERE {cond}", cov).one(pred)
            assert [one["current"], one["previous"], one["matched_current"], one["matched_previous"]] == expect
    total = counter.summed(by_ward, len(preds))
    for j, pred in enumerate(preds):
        one = counter.one(pred)
        assert total[j] == [one["current"], one["previous"], one["matched_current"], one["matched_previous"]]
    assert counter.grouped(preds) == {None: total}
