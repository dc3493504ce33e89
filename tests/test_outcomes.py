"""police.uk outcomes files: the reader on the real excerpt and crafted files (unknown outcome types
quarantined), joined to street crimes by Crime ID across months and compared at the same age."""
from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest

from crimeassess.assess.engine import assess
from crimeassess.classify.outcomes import classify_outcome
from crimeassess.geography.load import load_geography
from crimeassess.ingest import ingest
from crimeassess.sources.outcomes import read_outcomes_csv
from crimeassess.store import Store, quarantined_rows
from policeuk_fixtures import FORCE, row, street_csv

OUT_HEADER = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type"
EXCERPT = "police-uk/outcomes-excerpt/2018-03-hampshire-outcomes-first25rows.csv"


def out_row(cid: str, month: str, otype: str) -> str:
    return f"{cid},{month},{FORCE},{FORCE},-1.4,50.9,On or near High Street,E01000001,Test 001A,{otype}"


def test_reader_on_the_real_excerpt(shared_data: Path) -> None:
    data = (shared_data / EXCERPT).read_bytes()
    res = read_outcomes_csv(data, input_id="x", display_name="excerpt.csv")
    with io.StringIO(data.decode("utf-8")) as f:
        rows = list(csv.DictReader(f))
    assert res.records.num_rows == len(rows) == 25 and not res.quarantine
    got = Counter(res.records.column("outcome").to_pylist())
    assert got == Counter(r["Outcome type"] for r in rows)
    assert res.records.column("record_id").to_pylist() == [r["Crime ID"] for r in rows]
    assert set(res.records.column("is_crime").to_pylist()) == {False} and res.months == ["2018-03"]
    assert all(classify_outcome(r["Outcome type"]) not in (None, "unmapped") for r in rows)


def test_reader_quarantines_bad_rows() -> None:
    text = "\n".join([OUT_HEADER, out_row("a1", "2018-03", "Suspect charged"),
                      out_row("a2", "2018-03", "Sent to the moon"), out_row("", "2018-03", "Local resolution"),
                      out_row("a3", "2018-13", "Local resolution"), out_row("a1", "2018-03", "Suspect charged"),
                      out_row("a4", "2018-03", "Offender given a caution")]) + "\n"
    res = read_outcomes_csv(text.encode(), input_id="x", display_name="f.csv")
    assert res.records.num_rows == 2
    reasons = sorted(q["reason"].split(" ")[0] + " " + q["reason"].split(" ")[1] for q in res.quarantine)
    assert reasons == ["duplicate outcome", "invalid month", "no Crime", "unknown outcome"]
    assert next(q for q in res.quarantine if "unknown" in q["reason"])["line"] == 3


@pytest.fixture(scope="module")
def joined(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Store]:
    """Street files 2017-11..2018-02 and outcomes files 2017-11..2018-03 (plus one unknown type)."""
    d = tmp_path_factory.mktemp("outcomes")
    (d / "LSOA11_WD17_LAD17_EW_LU.csv").write_text(
        "LSOA11CD,LSOA11NM,WD17CD,WD17NM,LAD17CD,LAD17NM\nE01000001,Test 001A,E05000001,Middle,E06000001,Testton\n")
    crimes = {  # month -> [(crime id, the street file's last outcome)]
        "2017-11": [(f"p{i}", "Investigation complete; no suspect identified") for i in range(10)],
        "2017-12": [(f"q{i}", "Unable to prosecute suspect") for i in range(8)],
        "2018-01": [(f"c{i}", "Under investigation") for i in range(12)],
        "2018-02": [(f"d{i}", "Under investigation") for i in range(9)],
    }
    for m, rows in crimes.items():
        (d / m).mkdir()
        (d / m / f"{m}-testshire-street.csv").write_bytes(
            street_csv([row(cid, m, "Burglary", outcome=o) for cid, o in rows] + [row("", m, "Anti-social behaviour", outcome="")]))
    outcomes = {  # month of the outcome -> [(crime id, outcome type)]; joins reach across months
        "2017-11": [("p0", "Suspect charged")],
        "2017-12": [("p1", "Suspect charged"), ("p2", "Investigation complete; no suspect identified"),
                    ("q0", "Offender given a caution")],
        "2018-01": [("p3", "Suspect charged"), ("c0", "Suspect charged"), ("p2", "Local resolution")],
        "2018-02": [("q1", "Suspect charged"), ("c1", "Offender given a caution"), ("c2", "Suspect charged"),
                    ("d0", "Suspect charged")],
        "2018-03": [("c3", "Suspect charged"), ("d1", "Investigation complete; no suspect identified"),
                    ("d2", "Teleported"), ("p4", "Suspect charged")],
    }
    for m, rows in outcomes.items():
        (d / m).mkdir(exist_ok=True)
        (d / m / f"{m}-testshire-outcomes.csv").write_text("\n".join([OUT_HEADER, *(out_row(c, m, o) for c, o in rows)]) + "\n")
    st = Store(d / "store")
    load_geography([d / "LSOA11_WD17_LAD17_EW_LU.csv"], st)
    ingest([d], st)
    return d, st


def _recount(d: Path, crimes_months: list[str], cutoff: str) -> Counter:
    """Independent: each crime's latest outcome in the outcomes files up to `cutoff` (later rows win), else
    under investigation; unknown types were quarantined, so they never count."""
    known_unknown = {"Teleported"}
    ids = []
    for m in crimes_months:
        with (d / m / f"{m}-testshire-street.csv").open(newline="") as f:
            ids += [r["Crime ID"] for r in csv.DictReader(f) if r["Crime ID"]]
    latest: dict[str, str] = {}
    for f in sorted(d.glob("*/*-outcomes.csv")):
        month = f.name[:7]
        if month > cutoff:
            continue
        with f.open(newline="") as fh:
            for r in csv.DictReader(fh):
                if r["Outcome type"] not in known_unknown:
                    latest[r["Crime ID"]] = r["Outcome type"]
    return Counter(classify_outcome(latest.get(i, "Under investigation")) for i in ids)


def test_outcomes_joined_across_months_at_the_same_age(joined) -> None:
    d, st = joined
    q = quarantined_rows(st)
    assert [r["reason"] for r in q] == ["unknown outcome type 'Teleported'"]
    a = assess("Testton", "2018-01..2018-02", compare="previous", store=st).to_dict()
    o = a["outcomes"]
    assert o["basis"] == "same_age" and (o["as_of"], o["previous_as_of"]) == ("2018-03", "2018-01")
    assert "same age" in o["caveat"] and "January 2018" in o["caveat"]
    burg = next(t for t in o["themes"] if t["id"] == "burglary")
    cur, prev = _recount(d, ["2018-01", "2018-02"], "2018-03"), _recount(d, ["2017-11", "2017-12"], "2018-01")
    for g in ("charge_summons", "caution", "community_resolution", "no_suspect", "under_investigation"):
        assert (burg["groups"][g]["current"], burg["groups"][g]["previous"]) == (cur[g], prev[g]), g
    assert cur["charge_summons"] == 4 and prev["charge_summons"] == 3  # p4 and q1 come too late for the previous
    assert burg["current"] == 21 and burg["previous"] == 18
    # the outcome rows are never counted as crimes, nor chosen as the source
    assert a["total"]["current"] == 21 and a["source"]["kind"] == "police-uk-street"


def test_without_outcome_files_the_street_last_outcome_is_used(joined, tmp_path: Path) -> None:
    d, _ = joined
    st = Store(tmp_path / "s")
    load_geography([d / "LSOA11_WD17_LAD17_EW_LU.csv"], st)
    ingest(sorted(d.glob("*/*-street.csv")), st)
    o = assess("Testton", "2018-01..2018-02", compare="previous", store=st).to_dict()["outcomes"]
    burg = next(t for t in o["themes"] if t["id"] == "burglary")
    assert o["basis"] == "latest" and "2 months longer" in o["caveat"]
    assert burg["groups"]["under_investigation"]["current"] == 21
    assert (burg["groups"]["no_suspect"]["previous"], burg["groups"]["evidential_difficulties"]["previous"]) == (10, 8)
