"""Edge cases of the split month (engine._split_month) and the narrowed records view (engine._records_view).

Every assessment below is made twice, as tests/test_split.py does: as the engine makes it (older months from the
geography cube when it may) and with every month read from the records (`_split_month` patched to None). The
two dicts must be equal, and where the split is meant to happen it must have happened (or be refused where the
cube cannot give the same counts). Stores are small synthetic police.uk street files, force extracts and API
responses built in tmp_path (synthetic; not derived from real data); series are recounted from the rows written.
"""
from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crimeassess.assess import engine
from crimeassess.geography.load import load_geography
from crimeassess.ingest import ingest
from crimeassess.store import Store

STREET_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
                 "LSOA name", "Crime type", "Last outcome category", "Context"]
OUTCOMES_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                   "LSOA code", "LSOA name", "Outcome type"]
LADS = {"E06000951": "Splitford", "E06000952": "Otherby"}
WARDS = [("E05009501", "Northgate", "E06000951"), ("E05009502", "Southmead", "E06000951"),
         ("E05009503", "Eastbrook", "E06000951"), ("E05009504", "Farfield", "E06000952")]
LSOAS = {w[0]: [f"E0109{i}5{j}" for j in range(2)] for i, w in enumerate(WARDS)}
LSOA_WARD = {lsoa: w for w, ls in LSOAS.items() for lsoa in ls}
WARD_LAD = {w: lad for w, _n, lad in WARDS}
TYPES = ["Burglary", "Drugs", "Robbery", "Vehicle crime", "Shoplifting", "Anti-social behaviour",
         "Violence and sexual offences"]
FORCE = "Testshire Constabulary"
PERIOD = "2023Q4"  # compared with 2022Q4: split at min(2022-10, 2023-10) = 2022-10
SPLIT = "2022-10"


def months(a: str, b: str) -> list[str]:
    y, m = int(a[:4]), int(a[5:])
    out = []
    while f"{y}-{m:02d}" <= b:
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def quarter(month: str) -> str:
    return f"{month[:4]}Q{(int(month[5:]) - 1) // 3 + 1}"


def street_rows(seed: int, first: str = "2019-01", last: str = "2023-12", *, force: str = FORCE, per_month=(14, 22),
                prefix: str = "C", **over: str) -> list[dict[str, str]]:
    """Random street rows over the four wards' LSOAs (both authorities); `over` fixes columns."""
    rng = random.Random(seed)
    rows = []
    for mo in months(first, last):
        for k in range(rng.randint(*per_month)):
            lsoa = rng.choice(rng.choice(list(LSOAS.values())))
            rows.append({"Crime ID": f"{prefix}{seed}-{mo}-{k}", "Month": mo, "Reported by": force, "Falls within": force,
                         "Longitude": "-1.4", "Latitude": "50.9", "Location": "On or near High Street",
                         "LSOA code": lsoa, "LSOA name": "x", "Crime type": rng.choice(TYPES),
                         "Last outcome category": "Under investigation", "Context": "", **over})
    return rows


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return path


def make_store(d: Path, *batches: list[Path], force: str | None = None) -> Store:
    """A store holding the lookup and each batch of files, ingested in order (later batches supersede)."""
    lu = ["LSOA11CD,LSOA11NM,WD17CD,WD17NM,LAD17CD,LAD17NM"]
    for code, name, lad in WARDS:
        lu += [f"{lsoa},{LADS[lad]} {lsoa[-3:]},{code},{name},{lad},{LADS[lad]}" for lsoa in LSOAS[code]]
    (d / "LSOA11_WD17_LAD17_EW_LU.csv").write_text("\n".join(lu) + "\n")
    st = Store(d / "store")
    for files in batches:
        ingest(files, st, force=force)
    load_geography([d / "LSOA11_WD17_LAD17_EW_LU.csv"], st)
    return st


def both(st: Store, area: str, period: str = PERIOD, **kw: Any) -> tuple[Any, Any, list]:
    """(as the engine makes it, with every month from the records, the split months recorded). A raised error
    stands in for its dict as (type name, message)."""
    splits: list[str | None] = []
    orig = engine._split_month

    def recorded(*a: Any, **k: Any) -> str | None:
        splits.append(orig(*a, **k))
        return splits[-1]

    def run() -> Any:
        try:
            d = engine.assess(area, period, store=st, **kw).to_dict()
        except Exception as exc:  # noqa: BLE001 - both ways must fail alike
            return (type(exc).__name__, str(exc))
        d.pop("generated_at", None)
        return d

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "_split_month", recorded)
        split = run()
        mp.setattr(engine, "_split_month", lambda *a, **k: None)
        whole = run()
    return split, whole, splits


def recount(rows: list[dict[str, str]], *, lad: str | None = "E06000951", ward: str | None = None,
            crime_type: str | None = None) -> Counter[str]:
    """Crimes (ASB apart) by quarter among `rows` placed in the authority / ward by their LSOA."""
    out: Counter[str] = Counter()
    for r in rows:
        w = LSOA_WARD.get(r["LSOA code"])
        if w is None or r["Crime type"] == "Anti-social behaviour":
            continue
        if (lad and WARD_LAD[w] != lad) or (ward and w != ward) or (crime_type and r["Crime type"] != crime_type):
            continue
        out[quarter(r["Month"])] += 1
    return out


def series_of(d: dict[str, Any], block: dict[str, Any] | None = None) -> dict[str, int]:
    return {s["label"]: s["count"] for s in (block or d["total"])["series"]}


def assert_series(d: dict[str, Any], counts: Counter[str], block: dict[str, Any] | None = None) -> None:
    got = series_of(d, block)
    assert got == {q: counts[q] for q in got}
    assert any(q < "2021Q1" and counts[q] > 0 for q in got)  # the series reaches months the cube stood in for


# ------------------------------------------------------------------------------------------------ cases
def test_street_only_splits_and_equals_records(tmp_path: Path) -> None:
    rows = street_rows(1)
    st = make_store(tmp_path, [write_csv(tmp_path / "street.csv", STREET_HEADER, rows)])
    split, whole, splits = both(st, "Splitford")
    assert splits == [SPLIT]
    assert split == whole
    assert_series(split, recount(rows))
    assert split["expected"]["total"] is not None  # the forecast's history reached into the cube's months


def test_extract_and_street_for_one_force(tmp_path: Path) -> None:
    """A force extract and the same force's street files: the split is refused or the result is the same, for
    the source chosen by the engine and for each source named."""
    rows = street_rows(2)
    rng = random.Random(5)
    ex, ex_count = [], Counter()
    codes = {"28E": "burglary", "34B": "robbery", "92D": "drug_offences", "46": "shoplifting", "45": "vehicle_offences"}
    for mo in months("2019-01", "2023-12"):
        for k in range(rng.randint(8, 14)):
            ward, name, lad = rng.choice(WARDS)
            code = rng.choice(list(codes))
            ex.append({"crime_id": f"X{mo}-{k}", "recorded_date": f"{mo}-{rng.randint(1, 28):02d}", "offence_code": code,
                       "ward_code": ward, "ward_name": name, "local_authority_code": lad,
                       "local_authority_name": LADS[lad], "knife_flag": "N", "hate_flag": "N", "domestic_flag": "N"})
            if lad == "E06000951":
                ex_count[quarter(mo)] += 1
    write_csv(tmp_path / "street.csv", STREET_HEADER, rows)
    write_csv(tmp_path / "extract.csv", list(ex[0]), ex)
    st = make_store(tmp_path, [tmp_path / "street.csv"], [tmp_path / "extract.csv"], force="testshire")

    street, whole, splits = both(st, "Splitford", source="police-uk-street")
    assert splits == [SPLIT] and street == whole
    assert street["source"]["kind"] == "police-uk-street"
    assert_series(street, recount(rows))

    chosen, whole, splits = both(st, "Splitford")
    assert chosen == whole
    assert chosen["source"]["kind"] == "extract"
    assert splits == [None]  # the extract's themes read location types: never from the cube
    assert_series(chosen, ex_count)

    extract, whole, splits = both(st, "Splitford", source="extract")
    assert extract == whole and splits == [None]
    assert extract["total"] == chosen["total"]


def test_revised_older_month(tmp_path: Path) -> None:
    """A later input republishing a month before the split (and one after it, in the same file): the cube and
    the records both count the revision only. A republication keeps its crimes' ids (police.uk's Crime IDs and
    a force's crime references are persistent): here most of them, some crimes gone and new ones added."""
    rows = street_rows(3)

    def republished(month: str, seed: int, n_new: int) -> list[dict[str, str]]:
        kept = [dict(r) for r in rows if r["Month"] == month][2:]  # two withdrawn
        return kept + street_rows(seed, month, month, per_month=(n_new, n_new), prefix="R")

    revised = republished("2020-05", 33, 25) + republished("2023-11", 34, 12)
    write_csv(tmp_path / "street.csv", STREET_HEADER, rows)
    write_csv(tmp_path / "revised.csv", STREET_HEADER, revised)
    st = make_store(tmp_path, [tmp_path / "street.csv"], [tmp_path / "revised.csv"])
    split, whole, splits = both(st, "Splitford")
    assert splits == [SPLIT] and split == whole
    live = [r for r in rows if r["Month"] not in ("2020-05", "2023-11")] + revised
    assert_series(split, recount(live))
    assert recount(live)["2020Q2"] != recount(rows)["2020Q2"]  # the revision changed an older quarter


def api_items(seed: int, mos: list[str], n: int, first_id: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cats = ["burglary", "drugs", "robbery", "vehicle-crime", "anti-social-behaviour"]
    out = []
    for mo in mos:
        for _ in range(n):
            out.append({"category": rng.choice(cats), "location_type": "Force", "context": "",
                        "location": {"latitude": "50.9", "longitude": "-1.4", "street": {"id": 1, "name": "On or near X"}},
                        "outcome_status": None, "persistent_id": "", "id": first_id, "location_subtype": "",
                        "month": mo})
            first_id += 1
    return out


@pytest.mark.parametrize("placement", ["auto", "lsoa"])
def test_api_inputs_with_street_files(tmp_path: Path, placement: str) -> None:
    """police.uk API responses (no LSOA: only a map point places them) fetched twice over overlapping polygons,
    older and current months, beside street files: the records view keeps its de-duplicating branch. Under
    "auto" a point could place them, so the split is refused; under "lsoa" they are unplaced and the split is
    taken."""
    rows = street_rows(4)
    a = api_items(40, ["2020-02", "2023-11", "2022-11"], 12, 1000)
    b = a[6:] + api_items(41, ["2020-03"], 5, 5000)  # overlaps a (same ids)
    (tmp_path / "api-a.json").write_text(json.dumps(a))
    (tmp_path / "api-b.json").write_text(json.dumps(b))
    write_csv(tmp_path / "street.csv", STREET_HEADER, rows)
    st = make_store(tmp_path, [tmp_path / "street.csv"], [tmp_path / "api-a.json"], [tmp_path / "api-b.json"])
    assert sorted(i["kind"] for i in st.inputs(live_only=True)) == ["police-uk-api"] * 2 + ["police-uk-street"]
    split, whole, splits = both(st, "Splitford", placement=placement)
    assert split == whole
    assert splits == ([None] if placement == "auto" else [SPLIT])
    assert split["source"]["kind"] == "police-uk-street"
    assert_series(split, recount(rows))


def test_ward_area(tmp_path: Path) -> None:
    rows = street_rows(6)
    st = make_store(tmp_path, [write_csv(tmp_path / "street.csv", STREET_HEADER, rows)])
    split, whole, splits = both(st, "Southmead")
    assert split["area"]["level"] == "ward"
    assert splits and all(s == SPLIT for s in splits)  # the ward and its authority (tests from its family)
    assert split == whole
    assert_series(split, recount(rows, lad=None, ward="E05009502"))


@pytest.mark.parametrize("lsoa", ["", "W01000999"])
def test_point_only_rows_in_older_months(tmp_path: Path, lsoa: str) -> None:
    """Older rows with no usable LSOA (blank, or not in the lookup) but a map point: a point could place them,
    so under "auto" the split is refused; under "lsoa" they are unplaced either way and the split is taken."""
    rows = street_rows(7)
    pointed = street_rows(70, "2019-06", "2020-09", per_month=(2, 3), prefix="P", **{"LSOA code": lsoa})
    st = make_store(tmp_path, [write_csv(tmp_path / "street.csv", STREET_HEADER, rows + pointed)])
    for placement, want in (("auto", None), ("lsoa", SPLIT)):
        split, whole, splits = both(st, "Splitford", placement=placement)
        assert splits == [want], placement
        assert split == whole, placement
        assert_series(split, recount(rows + pointed))


def test_no_point_no_lsoa_rows_still_split(tmp_path: Path) -> None:
    """Older rows with neither an LSOA nor a point: nothing could place them, so the split stays exact."""
    rows = street_rows(8)
    blank = street_rows(80, "2019-06", "2020-09", per_month=(2, 3), prefix="B",
                        **{"LSOA code": "", "Longitude": "", "Latitude": "", "Location": "No location"})
    st = make_store(tmp_path, [write_csv(tmp_path / "street.csv", STREET_HEADER, rows + blank)])
    split, whole, splits = both(st, "Splitford")
    assert splits == [SPLIT] and split == whole
    assert_series(split, recount(rows))


def test_force_only_in_older_months_is_a_stray(tmp_path: Path) -> None:
    """A force whose few records in the area are all older than the split: counted from the cube, listed as a
    stray force with the same records, and its months never missing."""
    rows = street_rows(9)
    old = street_rows(90, "2019-03", "2020-02", force="Oldshire Police", per_month=(1, 1), prefix="O",
                      **{"LSOA code": LSOAS["E05009501"][0]})
    st = make_store(tmp_path, [write_csv(tmp_path / "street.csv", STREET_HEADER, rows),
                               write_csv(tmp_path / "old.csv", STREET_HEADER, old)])
    split, whole, splits = both(st, "Splitford")
    assert splits == [SPLIT] and split == whole
    assert split["source"]["forces"] == ["testshire"]
    assert [(s["force"], s["records"]) for s in split["data_quality"]["stray_forces"]] == [("oldshire", len(old))]
    assert_series(split, recount(rows + old))


def test_force_only_in_older_months_as_a_main_force(tmp_path: Path) -> None:
    """The same with the old force holding a large share: it feeds the area (so its months decide what is
    held) whether its records are read or counted from the cube."""
    rows = street_rows(10)
    old = street_rows(100, "2019-01", "2020-06", force="Oldshire Police", per_month=(20, 30), prefix="O")
    st = make_store(tmp_path, [write_csv(tmp_path / "street.csv", STREET_HEADER, rows),
                               write_csv(tmp_path / "old.csv", STREET_HEADER, old)])
    split, whole, splits = both(st, "Splitford")
    assert splits == [SPLIT]
    assert split == whole
    assert isinstance(split, tuple) and split[0] == "NoDataError"  # no current month held by both forces


THEMES_LOCATION = """
[themes.nightlife_drugs]
label = "Drugs at nightclubs"
policeuk_categories = ["drugs"]
location_texts = ["Nightclub"]
"""
THEMES_CATEGORY = """
[themes.acquisitive]
label = "Burglary and robbery"
policeuk_categories = ["burglary", "robbery"]
"""


def test_theme_reading_a_column_the_cube_lacks(tmp_path: Path) -> None:
    rows = street_rows(11)
    st = make_store(tmp_path, [write_csv(tmp_path / "street.csv", STREET_HEADER, rows)])
    (tmp_path / "loc.toml").write_text(THEMES_LOCATION)
    (tmp_path / "cat.toml").write_text(THEMES_CATEGORY)
    loc, whole, splits = both(st, "Splitford", themes=[tmp_path / "loc.toml"])
    assert splits == [None] and loc == whole  # `location` is not in the cube: every month from the records
    assert_series(loc, recount(rows))
    cat, whole, splits = both(st, "Splitford", themes=[tmp_path / "cat.toml"])
    assert splits == [SPLIT] and cat == whole
    theme = next(t for t in cat["themes"] if t["id"] == "acquisitive")
    assert_series(cat, recount(rows, crime_type="Burglary") + recount(rows, crime_type="Robbery"), theme)


def test_comparison_period_years_back(tmp_path: Path) -> None:
    """A comparison period older than the 36-month window moves the split back to its start."""
    rows = street_rows(12, "2018-01")
    st = make_store(tmp_path, [write_csv(tmp_path / "street.csv", STREET_HEADER, rows)])
    split, whole, splits = both(st, "Splitford", compare="2019Q4")
    assert splits == ["2019-10"] and split == whole
    assert (split["total"]["current"], split["total"]["previous"]) == (recount(rows)["2023Q4"], recount(rows)["2019Q4"])


def add_months(month: str, k: int) -> str:
    i = int(month[:4]) * 12 + int(month[5:]) - 1 + k
    return f"{i // 12}-{i % 12 + 1:02d}"


def test_outcomes_files_beside_street_files(tmp_path: Path) -> None:
    """police.uk outcomes files (in most police.uk downloads) with the street files, the source left to the
    engine. Their older rows are in the cube too: the split must not trip over a kind no theme knows (it raised
    ThemeError). And an outcome dated before the split month for a compared crime (three 2022-11 crimes whose
    only outcome row says 2020-11) must still be joined, as when every month is read."""
    rows = street_rows(20)
    crimes = [r for r in rows if r["Crime type"] != "Anti-social behaviour"]
    odd = [r for r in crimes if r["Month"] == "2022-11"][:3]
    odd_ids = {r["Crime ID"] for r in odd}

    def outcome(r: dict[str, str], month: str, kind: str) -> dict[str, str]:
        return {**{k: r[k] for k in OUTCOMES_HEADER if k in r}, "Month": month, "Outcome type": kind}

    outs = [outcome(r, add_months(r["Month"], 2), "Offender given a caution") for r in crimes
            if r["Crime ID"] not in odd_ids and add_months(r["Month"], 2) <= "2024-02"]
    outs += [outcome(r, "2020-11", "Offender sent to prison") for r in odd]
    st = make_store(tmp_path, [write_csv(tmp_path / "street.csv", STREET_HEADER, rows),
                               write_csv(tmp_path / "outcomes.csv", OUTCOMES_HEADER, outs)])
    assert {i["kind"] for i in st.inputs(live_only=True)} == {"police-uk-street", "police-uk-outcomes"}
    in_area = [r for r in odd if WARD_LAD[LSOA_WARD[r["LSOA code"]]] == "E06000951"]
    for source in (None, "police-uk-street"):
        split, whole, splits = both(st, "Splitford", source=source)
        assert not isinstance(split, tuple), split  # not an error
        assert splits == [SPLIT] and split == whole, source
        assert split["source"]["kind"] == "police-uk-street"
        assert_series(split, recount(rows))
        o = split["outcomes"]
        assert o["basis"] == "same_age"
        total = next(t for t in o["themes"] if t["id"] == "total")
        assert in_area and total["groups"]["charge_summons"]["previous"] == len(in_area), source


@pytest.mark.parametrize(("first", "expect_split", "source"),
                         [("2022-10", SPLIT, None), ("2022-07", None, None), ("2022-10", SPLIT, "extract")])
def test_source_chosen_is_new_while_older_months_hold_another(tmp_path: Path, first: str, expect_split: str | None,
                                                               source: str | None) -> None:
    """Street files for every month, a force extract only from `first`: the engine chooses the extract (it is
    held in both periods). From the split month on, the cube's older rows are all street rows: their themes bind,
    so the split is taken. From 2022-07, the cube's older rows hold extract rows whose themes read what the cube
    lacks: the split is refused. The extract's series holds no older month either way. Named as the source, the
    extract still takes its anti-social behaviour (and that series' 36-month window) from the street files."""
    rows = street_rows(21)
    ex = [{"crime_id": f"X{mo}-{k}", "recorded_date": f"{mo}-1{k}", "offence_code": "28E", "ward_code": "E05009501",
           "ward_name": "Northgate", "local_authority_code": "E06000951", "local_authority_name": "Splitford",
           "knife_flag": "N", "hate_flag": "N", "domestic_flag": "N"} for mo in months(first, "2023-12") for k in range(5)]
    st = make_store(tmp_path, [write_csv(tmp_path / "street.csv", STREET_HEADER, rows)],
                    [write_csv(tmp_path / "extract.csv", list(ex[0]), ex)], force="testshire")
    split, whole, splits = both(st, "Splitford", **({"source": source} if source else {}))
    assert splits == [expect_split] and split == whole
    assert split["source"]["kind"] == "extract"
    assert split["anti_social_behaviour"]["source"] == "police-uk-street"
    got = series_of(split)
    assert got == {q: (sum(quarter(r["recorded_date"][:7]) == q for r in ex) if q >= quarter(first) else None)
                   for q in got}


def test_api_crime_listed_twice_in_one_response_counts_once_in_the_aggregates(tmp_path: Path) -> None:
    """One API response listing the same crime id twice: the records view keeps it once, and so must the
    aggregate the cube and comparisons count from."""
    from crimeassess.aggregate import register_live_aggregates

    items = api_items(50, ["2023-11"], 4, 7000)
    (tmp_path / "api.json").write_text(json.dumps(items + [items[0]]))  # 4 crimes, one of them listed twice
    st = make_store(tmp_path, [tmp_path / "api.json"])
    con = st.connect()
    assert register_live_aggregates(con, st)
    recs = con.execute("SELECT count(*) FROM records WHERE source_kind = 'police-uk-api'").fetchone()[0]
    agg = con.execute("SELECT sum(n) FROM agg WHERE source_kind = 'police-uk-api'").fetchone()[0]
    assert recs == agg == len({i["id"] for i in items})
