"""A store whose path holds a space, a quote and non-ASCII letters works end to end: ingest, assess, report."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from crimeassess.assess.engine import assess
from crimeassess.assess.periods import add_months
from crimeassess.ingest import ingest
from crimeassess.report.build import build_report
from crimeassess.sql import ident, in_list, list_literal, literal
from crimeassess.store import Store

AWKWARD = "Störe o'Brien – ünïcode"


def test_sql_helpers() -> None:
    assert literal("O'Brien") == "'O''Brien'" and literal(Path("/a b/c'd")) == "'/a b/c''d'"
    assert ident('my "col"') == '"my ""col"""'
    assert in_list(["a", "b'c"]) == "('a', 'b''c')" and in_list([]) == "(NULL)"
    assert list_literal(["x.parquet"]) == "['x.parquet']"


def test_awkward_store_path_end_to_end(demo_store, tmp_path: Path) -> None:
    root = tmp_path / AWKWARD
    st = Store(root / "store")
    shutil.copytree(demo_store.store.path, st.path)  # the manifest holds paths relative to the store
    # The month the demo's police.uk files lack, as a new input read from and written under the awkward path.
    city = demo_store.city.root / "police-uk"
    missing = json.loads(demo_store.city.stories_json.read_text("utf-8"))["stories"]["missing_month"]["month"]
    before = add_months(missing, -1)
    src = next((city / before).glob("*-street.csv")).read_text("utf-8").replace(f",{before},", f",{missing},")
    f = root / "inputs" / missing / f"{missing}-demo-street.csv"
    f.parent.mkdir(parents=True)
    f.write_text(src, encoding="utf-8")
    rep = ingest([f], st)
    assert [i.status for i in rep.inputs] == ["loaded"] and st.input_path(st.inputs()[-1]).exists()

    a = assess(demo_store.area, demo_store.period, store=st, source="police-uk-street").to_dict()
    months = {m["source"]: m for m in a["data_quality"]["months"]}
    assert months["police-uk-street"]["months_missing"] == []
    res = build_report(demo_store.area, demo_store.period, root / "report", st, pdf=False)
    assert (root / "report" / "report.html").stat().st_size > 0
    assert res.assessment["total"] == assess(demo_store.area, demo_store.period, store=demo_store.store).to_dict()["total"]
