"""Issue 16: expected versus observed, hotspots and harm. Golden tests against statsmodels and esda on fixed
inputs; crafted harm weights with independent sums; the demo's planted stories found by the assessment."""
from __future__ import annotations

import csv
import math
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from crimeassess.assess import expected, harm, hotspots
from crimeassess.errors import InputError


# ------------------------------------------------------------------------------------ expected vs observed
def _fixed_series() -> np.ndarray:
    """48 months of a seasonal series with a gentle trend: fixed numbers, no randomness."""
    t = np.arange(48)
    wiggle = np.array([13, -7, 4, -11, 9, 2, -5, 8, -3, 6, -9, 1])
    return 1000 + 2.0 * t + 120 * np.sin(2 * np.pi * t / 12) + np.tile(wiggle, 4)


def test_forecast_matches_statsmodels_ets_on_a_fixed_series() -> None:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = _fixed_series()
    got = expected.forecast(y, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ETSModel(pd.Series(y), error="add", trend="add", damped_trend=True, seasonal="add",
                       seasonal_periods=12, initialization_method="heuristic").fit(disp=False)
        frame = res.get_prediction(start=48, end=59).summary_frame(alpha=0.01)
    np.testing.assert_allclose(got["mean"], frame["mean"], rtol=1e-9)
    np.testing.assert_allclose(got["lower"], np.maximum(frame["pi_lower"], 0), rtol=1e-9)
    np.testing.assert_allclose(got["upper"], frame["pi_upper"], rtol=1e-9)
    # the forecast follows the seasonal shape it was fitted to: next April-like month is near the pattern
    assert abs(got["mean"][3] - (1000 + 2 * 51 + 120 * math.sin(2 * math.pi * 51 / 12) - 11)) < 40
    assert got["total_lower"] < got["total"] < got["total_upper"]


def test_a_month_far_above_the_band_is_listed_and_worded_as_expected() -> None:
    y = _fixed_series()
    hist = [f"{2020 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(48)]  # 2020-04 … 2024-03
    period = [f"{2024 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(12)]
    f = expected.forecast(y, 12)
    counts = {m: int(v) for m, v in zip(hist, y)}
    for i, m in enumerate(period):
        counts[m] = int(round(f["mean"][i]))
    counts[period[6]] += 600  # October far above
    s = expected.series_forecast("total", "Total recorded crime", "total", counts, hist, period, period)
    outside = [m["month"] for m in s.months if m["outside"]]
    assert outside == [period[6]]
    assert s.months[6]["observed"] == counts[period[6]] > s.months[6]["upper"]
    assert s.observed == sum(counts[m] for m in period)
    assert expected.history_run("2024-04", set(hist)) == hist
    assert expected.history_run("2024-04", set(hist) - {"2022-11"}) == [m for m in hist if m > "2022-11"]


# ------------------------------------------------------------------------------------------------- Gi*
def _lattice_gi_star(y: np.ndarray, n: int) -> np.ndarray:
    """Getis & Ord (1992)/Ord & Getis (1995) Gi* with binary queen weights, self included, written out."""
    N = y.size
    xbar, s = y.mean(), math.sqrt((y ** 2).mean() - y.mean() ** 2)
    z = np.empty(N)
    for k in range(N):
        r, c = divmod(k, n)
        nb = [rr * n + cc for rr in range(r - 1, r + 2) for cc in range(c - 1, c + 2) if 0 <= rr < n and 0 <= cc < n]
        W = len(nb)
        z[k] = (y[nb].sum() - W * xbar) / (s * math.sqrt((N * W - W * W) / (N - 1)))
    return z


def test_gi_star_matches_esda_and_the_formula_on_a_small_lattice() -> None:
    import esda
    import libpysal

    n = 7
    y = np.zeros(n * n)
    y[[24, 25, 31, 32]] = [40, 35, 30, 45]  # a cluster near the middle
    y += np.arange(n * n) % 5  # and some texture
    w = libpysal.weights.lat2W(n, n, rook=False)
    got = hotspots.gi_star(y, w)
    ref = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(got["z"], ref.Zs, rtol=1e-9)
    np.testing.assert_allclose(got["z"], _lattice_gi_star(y, n), rtol=1e-6)
    hot = set(np.flatnonzero(got["hot"]))
    assert {24, 25, 31, 32} <= hot
    assert not got["cold"][[24, 25, 31, 32]].any()
    assert got["cutoff"] == esda.fdr(got["p"], 0.05)


@pytest.mark.parametrize("now,before,sig,change,want", [
    (True, False, False, 5, "new"), (True, True, True, 50, "intensifying"), (True, True, False, 3, "persistent"),
    (False, True, False, -3, "diminishing"), (True, True, True, -40, "diminishing"), (False, False, True, 9, None)])
def test_hotspot_change_categories(now: bool, before: bool, sig: bool, change: int, want: str | None) -> None:
    assert hotspots.classify_change(now, before, sig, change) == want


def test_grid_hotspots_find_a_dense_cell_and_count_every_point() -> None:
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 3000, 2000)
    y = rng.uniform(0, 3000, 2000)
    xc = np.r_[x, np.full(300, 1620.0)]
    yc = np.r_[y, np.full(300, 1380.0)]
    g = hotspots.grid_hotspots(xc, yc, x, y, cell=250)
    assert sum(r["current"] for r in g.rows) == xc.size
    assert sum(r["previous"] for r in g.rows) == x.size
    cell = next(r for r in g.rows if r["id"] == "1500_1250")
    assert cell["hot"] and cell["category"] == "new"
    assert cell["current"] == int(((xc // 250 == 6) & (yc // 250 == 5)).sum())


# ----------------------------------------------------------------------------------------------- harm
def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_harm_weights_layout_and_bad_rows(tmp_path: Path) -> None:
    df = harm.read_harm_weights(_write(tmp_path / "w.csv", "Offence code,Offence,Weight\n8n,Assault with injury,150\n"
                                                        "105A,Assault without injury,\"1,008.5\"\n"))
    assert list(df["offence_code"]) == ["8N", "105A"] and list(df["weight"]) == [150.0, 1008.5]
    for text, msg in (("code,weight\n8N,-1\n", "line 2"), ("code,weight\n8N,abc\n", "not a number"),
                      ("code,weight\n8N,1\n8n,2\n", "listed twice"), ("offence,weight\nx,1\n", "offence_code"),
                      ("code,weight\n", "no harm weights")):
        with pytest.raises(InputError, match=msg):
            harm.read_harm_weights(_write(tmp_path / "bad.csv", text))


def test_harm_on_the_demo_matches_independent_sums(demo_store: Any, demo_assessment: dict[str, Any]) -> None:
    city = demo_store.city
    weights = {r["offence_code"].upper(): float(r["weight"]) for r in csv.DictReader(open(city.harm_weights_csv))}
    cur = [r for f in city.extract_files for r in csv.DictReader(open(f)) if "2024-04" <= r["recorded_date"][:7] <= "2025-03"]
    prev = [r for f in city.extract_files for r in csv.DictReader(open(f)) if "2023-04" <= r["recorded_date"][:7] <= "2024-03"]
    h = demo_assessment["harm"]
    assert h["available"]
    t = h["total"]
    assert (t["current"], t["previous"]) == (len(cur), len(prev))
    assert t["harm_current"] == pytest.approx(sum(weights.get(r["offence_code"].upper(), 0) for r in cur), abs=0.1)
    assert t["harm_previous"] == pytest.approx(sum(weights.get(r["offence_code"].upper(), 0) for r in prev), abs=0.1)
    res = demo_assessment["population"]["residents"]
    assert t["score"] == pytest.approx(t["harm_current"] / res, abs=1e-3)
    # the planted harm shift: counts rise modestly, harm much more, and the finding says so
    assert t["harm_pct_change"] - t["pct_change"] >= 3
    assert any("severity-weighted total" in f and "graver" in f for f in demo_assessment["findings"])
    ward = Counter(r["ward_code"] for r in cur)
    assert {w["id"]: w["current"] for w in h["wards"]} == {w["id"]: ward.get(w["id"], 0) for w in h["wards"]}


def test_harm_needs_offence_codes(demo_store: Any) -> None:
    from crimeassess.assess.engine import assess

    a = assess(demo_store.area, demo_store.period, store=demo_store.store, source="police-uk-street").to_dict()
    assert not a["harm"]["available"] and "offence codes" in a["harm"]["note"]
    assert a["hotspots"]["caveat"] == hotspots.SNAPPED_CAVEAT
    assert any(f.startswith("Police.uk locations are anonymised map points") for f in a["findings"])


# --------------------------------------------------------------------------------------- demo stories
def test_demo_anomalous_month_is_found(demo_store: Any, demo_assessment: dict[str, Any]) -> None:
    month = demo_store.city.stories["anomalous_month"]["month"]
    e = demo_assessment["expected"]
    assert e["available"] and e["total"]["history_months"] == 48
    row = next(m for m in e["total"]["months"] if m["month"] == month)
    n = sum(1 for f in demo_store.city.extract_files for r in csv.DictReader(open(f)) if r["recorded_date"][:7] == month)
    assert row["observed"] == n and row["outside"] == "above"
    assert any(f.startswith("If the factors underlying crime stayed broadly the same, we would expect")
               for f in demo_assessment["findings"])
    assert any("October 2024" in f and "outside the range expected" in f for f in demo_assessment["findings"])


def test_demo_planted_hotspot_is_found(demo_store: Any, demo_assessment: dict[str, Any]) -> None:
    story = demo_store.city.stories["planted_hotspot"]
    grid = demo_assessment["hotspots"]["grid"]
    x0, y0 = int(story["x"] // 250 * 250), int(story["y"] // 250 * 250)
    cell = next(r for r in grid["rows"] if r["id"] == f"{x0}_{y0}")
    assert cell["hot"] and cell["category"] == "new"
    assert cell["current"] >= story["moved"] // 3
    assert demo_assessment["hotspots"]["caveat"] is None  # extract: recorded locations, not snapped points
    assert any(story["lsoa_name"] in f and "new cells" in f for f in demo_assessment["findings"])


# -------------------------------------------------------------------------------------------------- CLI
def test_cli_harm_load_and_download(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from crimeassess.cli import app
    from crimeassess.store import Store
    from localserver import LocalServer

    store = str(tmp_path / "store")
    r = CliRunner()
    good = _write(tmp_path / "chi.csv", "offence_code,offence_description,weight\n8N,Assault with injury,365\n1,Homicide,5475\n")
    res = r.invoke(app, ["harm", "load", str(good), "--scheme", "chi", "--store", store])
    assert res.exit_code == 0, res.output
    assert "2 harm weights" in res.output and "Cambridge Crime Harm Index" in res.output
    e, table = harm.stored_weights(Store(store))
    assert e["scheme"] == "chi" and dict(zip(table["offence_code"], table["weight"])) == {"8N": 365.0, "1": 5475.0}
    bad = r.invoke(app, ["harm", "load", str(_write(tmp_path / "bad.csv", "code,weight\n8N,lots\n")), "--store", store])
    assert bad.exit_code == 2 and bad.output.startswith("error:") and "line 2" in bad.output
    # download from a mirror in the ONS layout (a crafted file, not the published one)
    mirror = tmp_path / "mirror"
    (mirror / "harm").mkdir(parents=True)
    _write(mirror / "harm" / "crime-severity-score-weights.csv", "Offence code,Offence,Weight\n8N,Assault with injury,150\n"
                                                                 "105A,Assault without injury,8\n34B,Robbery,400\n")
    with LocalServer(mirror) as srv:
        d = r.invoke(app, ["download", "harm-weights", "--base-url", srv.url, "--store", store, "--json"])
    assert d.exit_code == 0, d.output
    assert json.loads(d.stdout)["loaded"][0]["codes"] == 3
    e, table = harm.stored_weights(Store(store))
    assert e["scheme"] == "css" and len(table) == 3


# ------------------------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_hotspots_on_real_southampton_lsoas(shared_data: Path, tmp_path: Path) -> None:
    """police.uk Southampton, May against April 2017, LSOA Gi* on the real LSOA polygons: counts recounted
    from the files, the snapped-points caveat, no forecast (too little history) and no harm (no codes)."""
    import json as _json

    from crimeassess.assess.engine import assess
    from crimeassess.geography.load import load_geography
    from crimeassess.ingest import ingest
    from crimeassess.store import Store

    arch = shared_data / "police-uk" / "archive"
    st = Store(tmp_path / "store")
    ingest([arch / "2017-04" / "2017-04-hampshire-street.csv", arch / "2017-05" / "2017-05-hampshire-street.csv"], st)
    b = shared_data / "geography" / "boundaries" / "southampton"
    load_geography([shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", b / "lsoa11.geojson"], st)
    a = assess("Southampton", "2017-05", "previous", st).to_dict()
    with open(shared_data / "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv", newline="", encoding="utf-8-sig") as fh:
        soton = {r["LSOA11CD"] for r in csv.DictReader(fh) if r["LAD17NM"] == "Southampton"}
    polys = {f["properties"].get("LSOA11CD") or f["properties"].get("code")
             for f in _json.loads((b / "lsoa11.geojson").read_text())["features"]}

    def per_lsoa(month: str) -> Counter:
        with open(arch / month / f"{month}-hampshire-street.csv", newline="", encoding="utf-8-sig") as fh:
            return Counter(r["LSOA code"] for r in csv.DictReader(fh)
                           if r["LSOA code"] in soton and r["Crime type"] != "Anti-social behaviour")

    h = a["hotspots"]
    assert h["available"] and h["caveat"] == hotspots.SNAPPED_CAVEAT
    rows = {r["id"]: r for r in h["lsoa"]["rows"]}
    assert set(rows) == soton & polys and len(rows) > 100
    may, april = per_lsoa("2017-05"), per_lsoa("2017-04")
    assert {k: r["current"] for k, r in rows.items()} == {k: may.get(k, 0) for k in rows}
    assert {k: r["previous"] for k, r in rows.items()} == {k: april.get(k, 0) for k in rows}
    assert h["lsoa"]["summary"]["hotspots"] >= 1
    assert not a["expected"]["available"] and "36 consecutive months" in a["expected"]["note"]
    assert not a["harm"]["available"]


def test_public_output_withholds_small_counts_in_the_new_blocks(demo_store: Any) -> None:
    from crimeassess.assess.engine import assess
    from crimeassess.suppress import is_suppressed, suppress_assessment

    a = assess("Kingsmead", demo_store.period, store=demo_store.store).to_dict()  # a ward: small theme counts
    p = suppress_assessment(a, threshold=5)
    assert p["hotspots"]["grid"]["rows"] == []
    assert all(r["hot"] or r["previous_hot"] for r in p["hotspots"]["lsoa"]["rows"])
    hidden = {t["id"] for t in p["themes"] if any(is_suppressed(t.get(k)) for k in ("current", "previous"))}
    assert hidden  # the ward has themes with small counts
    for r in p["harm"]["themes"]:
        if r["id"] in hidden:
            assert is_suppressed(r["current"]) and r["harm_current"] is None and r["harm_pct_change"] is None

    def counts(x: Any) -> list[int]:
        if isinstance(x, dict):
            return [v for k, v in x.items() if k in ("current", "previous", "observed") and isinstance(v, int)] + \
                   [c for v in x.values() for c in counts(v)]
        if isinstance(x, list):
            return [c for v in x for c in counts(v)]
        return []

    small = [c for block in ("expected", "hotspots", "harm") for c in counts(p[block]) if c < 5]
    assert small == []
