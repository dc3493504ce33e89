"""Public-safe mode (`--public`): no count under the threshold survives in any output format, and no
suppressed cell can be recovered from the figures that are published."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crimeassess.cli import app
from crimeassess.store import Store
from crimeassess.suppress import SECONDARY_MARK, is_suppressed, suppress_assessment
from small_city import COUNTS, WARDS, build_small_city

runner = CliRunner()
COUNT_FIELDS = ("current", "previous", "count", "matched_current", "matched_previous")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_small_city(tmp_path_factory.mktemp("city"))


def _walk(obj: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (path, value) of a count field anywhere in a JSON value."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in COUNT_FIELDS and not isinstance(v, (dict, list)):
                out.append((f"{path}.{k}", v))
            out += _walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _walk(v, f"{path}[{i}]")
    return out


def _assert_no_small_counts(a: dict, threshold: int = 5) -> None:
    cells = [(p, v) for p, v in _walk(a) if not p.startswith(".data_quality.inputs")]
    assert cells
    for p, v in cells:
        assert v is None or is_suppressed(v) or (isinstance(v, int) and v >= threshold), (p, v)


def _assess_json(city: Store, *extra: str) -> dict:
    r = runner.invoke(app, ["assess", "--area", "Smalltown", "--period", "2018-03", "--store", str(city.path),
                            "--format", "json", *extra])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_the_fixture_has_small_cells(city: Store) -> None:
    a = _assess_json(city)
    small = [(p, v) for p, v in _walk(a) if isinstance(v, int) and v < 5 and ".wards[" in p]
    assert len(small) > 10  # without --public they are all there
    burglary = {w["name"]: next(t for t in w["themes"] if t["id"] == "burglary")["current"] for w in a["wards"]}
    assert burglary == {name: COUNTS[code]["Burglary"][0] for code, name in WARDS}


def test_json_has_no_count_under_the_threshold(city: Store) -> None:
    a = _assess_json(city, "--public")
    _assert_no_small_counts(a)
    s = a["suppression"]
    assert s["threshold"] == 5 and s["primary_cells"] > 0 and s["secondary_cells"] > 0
    # South's 2 burglaries are "<5"; East's 7 would give them back from the theme total: "[c]"
    by = {w["name"]: {t["id"]: t for t in w["themes"]} for w in a["wards"]}
    assert by["South"]["burglary"]["current"] == "<5" and by["East"]["burglary"]["current"] == SECONDARY_MARK
    assert by["South"]["burglary"]["change"] is None and by["South"]["burglary"]["pct_change"] is None
    assert by["North"]["burglary"]["current"] == COUNTS["E05009001"]["Burglary"][0]  # 12: published exactly
    a10 = _assess_json(city, "--public", "--public-threshold", "10")
    _assert_no_small_counts(a10, 10)
    assert by["North"]["burglary"]["current"] == 12 and a10["suppression"]["primary_mark"] == "<10"


def test_no_suppressed_cell_can_be_recovered(city: Store) -> None:
    a = _assess_json(city, "--public")
    wards = a["wards"]
    themes = sorted({t["id"] for w in wards for t in w["themes"]})
    for tid in themes:
        for key in ("current", "previous"):
            hidden = [w["name"] for w in wards for t in w["themes"] if t["id"] == tid and is_suppressed(t[key])]
            assert len(hidden) != 1, (tid, key, hidden)  # one hidden cell = theme total minus the others
    for key in ("current", "previous"):
        hidden = [w for w in wards if is_suppressed(w[key])] + ([1] if is_suppressed(a["unplaced"][key]) else [])
        assert len(hidden) != 1
        cats = [c for c in a["categories"] if is_suppressed(c[key])]
        assert len(cats) != 1
    # findings never quote a withheld figure
    assert a["findings"][-1].startswith("Figures below 5 are shown as")


def test_csv_formats_have_no_count_under_the_threshold(city: Store, tmp_path: Path) -> None:
    r = runner.invoke(app, ["assess", "--area", "Smalltown", "--period", "2018-03", "--store", str(city.path),
                            "--format", "csv", "--public"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout, newline="")))
    assert {r["table"] for r in rows} >= {"total", "category", "theme", "ward", "ward_theme"}
    n_ward_theme = sum(1 for r in rows if r["table"] == "ward_theme")
    assert n_ward_theme == len(WARDS) * len({r["id"] for r in rows if r["table"] == "ward_theme"})
    _check_csv_cells(rows, ("current", "previous"))
    plain = list(csv.DictReader(io.StringIO(runner.invoke(app, [
        "assess", "--area", "Smalltown", "--period", "2018-03", "--store", str(city.path), "--format", "csv"]).stdout,
        newline="")))
    assert any(r["current"] in ("0", "1", "2", "3", "4") for r in plain)  # the same table, unsuppressed, has them


def _check_csv_cells(rows: list[dict], columns: tuple[str, ...], threshold: int = 5) -> None:
    assert rows
    for r in rows:
        for c in columns:
            v = r[c]
            assert v in ("", "<5", SECONDARY_MARK) or int(v) >= threshold, (r, c)


def test_report_files_have_no_count_under_the_threshold(city: Store, tmp_path: Path) -> None:
    out = tmp_path / "public-report"
    r = runner.invoke(app, ["report", "--area", "Smalltown", "--period", "2018-03", "--out", str(out), "--store",
                            str(city.path), "--no-pdf", "--public"])
    assert r.exit_code == 0, r.output
    _assert_no_small_counts(json.loads((out / "assessment.json").read_text()))
    for name, cols in (("totals.csv", ("current", "previous")), ("categories.csv", ("current", "previous")),
                       ("themes.csv", ("current", "previous")), ("wards.csv", ("current", "previous")),
                       ("ward_themes.csv", ("current", "previous")), ("series.csv", ("count",))):
        with open(out / name, newline="", encoding="utf-8") as fh:
            _check_csv_cells(list(csv.DictReader(fh)), cols)
    html = (out / "report.html").read_text()
    assert "&lt;5" in html and "public-safe output" in html
    assert not list(tmp_path.glob(".public-report.*"))  # the temporary folder is gone


def test_dashboard_public_mode(city: Store) -> None:
    from fastapi.testclient import TestClient

    from crimeassess.web.app import create_app

    client = TestClient(create_app(city, public=True))
    params = {"area": "Smalltown", "period": "2018-03"}
    a = client.get("/api/assessment", params=params).json()
    _assert_no_small_counts(a)
    assert client.get("/healthz").json()["public"] is True
    panel = client.get("/panel", params=params)
    assert panel.status_code == 200 and "&lt;5" in panel.text
    report = client.get("/report", params=params)
    assert report.status_code == 200 and "&lt;5" in report.text
    plain = TestClient(create_app(city)).get("/api/assessment", params=params).json()
    assert "suppression" not in plain and any(isinstance(v, int) and v < 5 for _, v in _walk(plain))


def test_public_option_errors_are_one_line(city: Store) -> None:
    for args in (["assess", "--area", "Smalltown", "--period", "2018-03", "--public"],
                 ["assess", "--area", "Smalltown", "--period", "2018-03", "--public", "--format", "json",
                  "--public-threshold", "0"]):
        r = runner.invoke(app, [*args, "--store", str(city.path)])
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and r.output.startswith("error:"), r.output


def test_suppress_is_pure_and_idempotent(city: Store) -> None:
    a = _assess_json(city)
    before = json.dumps(a, sort_keys=True)
    once = suppress_assessment(a)
    assert json.dumps(a, sort_keys=True) == before  # the input is not modified
    twice = suppress_assessment(once)
    for key in ("primary_cells", "secondary_cells"):
        assert twice["suppression"][key] == 0
    strip = lambda d: {k: v for k, v in d.items() if k not in ("suppression", "findings")}  # noqa: E731
    assert strip(twice) == strip(once)


def test_serve_public_option_reaches_the_app(city: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import crimeassess.web.app as web

    calls: list[dict] = []
    monkeypatch.setattr(web, "serve", lambda store, **kw: calls.append(kw))
    r = runner.invoke(app, ["serve", "--store", str(city.path), "--public", "--public-threshold", "7", "--port", "9"])
    assert r.exit_code == 0, r.output
    assert calls == [{"host": "127.0.0.1", "port": 9, "public": True, "threshold": 7, "themes": None}]
    assert "public-safe" in r.output


def test_partitions_and_equalities_are_protected() -> None:
    def theme(tid: str, cur: int, prev: int) -> dict:
        return {"id": tid, "current": cur, "previous": prev, "change": cur - prev}

    wards = [{"code": f"W{i}", "name": f"W{i}", "current": 100, "previous": 100, "series": [],
              "themes": [theme("burglary", b, 20), theme("burglary_residential", r, 10),
                         theme("burglary_non_residential", b - r, 10)]}
             for i, (b, r) in enumerate([(13, 3), (20, 9), (30, 12)])]
    a = {"period": {"label": "p"}, "compare": {"label": "c"}, "total": {"current": 307, "previous": 307},
         "unplaced": {"current": 7, "previous": 7}, "wards": wards, "findings": [],
         "categories": [{"id": "burglary", "current": 63, "previous": 60}, {"id": "drugs", "current": 3, "previous": 9},
                        {"id": "other-crime", "current": 241, "previous": 238}],
         "themes": [theme("burglary", 63, 60), theme("drug_offences", 3, 9)]}
    p = suppress_assessment(a)
    w0 = {t["id"]: t for t in p["wards"][0]["themes"]}
    # W0: 3 residential burglaries are "<5"; burglary 13 = residential + non-residential 10, so 10 goes too
    assert w0["burglary_residential"]["current"] == "<5" and w0["burglary_non_residential"]["current"] == SECONDARY_MARK
    # ...and then each of those theme columns has one more cell hidden, so neither can be had from the theme total
    for tid in ("burglary_residential", "burglary_non_residential"):
        col = [next(t for t in w["themes"] if t["id"] == tid)["current"] for w in p["wards"]]
        assert sum(is_suppressed(v) for v in col) >= 2, (tid, col)
    # the drugs theme is the drugs category: both hidden, and the categories still cannot give drugs back
    assert p["themes"][1]["current"] == "<5" and p["categories"][1]["current"] == "<5"
    assert sum(is_suppressed(c["current"]) for c in p["categories"]) >= 2
    burglary_theme, burglary_cat = p["themes"][0]["current"], p["categories"][0]["current"]
    assert is_suppressed(burglary_theme) == is_suppressed(burglary_cat)  # equal figures are hidden together
    # wards and unplaced still add up to the total for the previous period (nothing hidden there)
    assert [w["previous"] for w in p["wards"]] == [100, 100, 100]
