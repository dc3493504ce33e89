"""Shared fixtures. Real-data tests read ../shared/data; they skip when it is absent, but fail under CI=true."""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from crimeassess.assess.engine import Assessment, assess
from crimeassess.demo.run import DemoStore, build_demo_store

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CRIMEASSESS_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_data_path() -> Path:
    """Return ../shared/data, or skip (fail under CI=true) when it is not there."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    msg = f"real data folder {SHARED_DATA} is absent (a fresh clone has no ../shared/data)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + "; CI=true requires it", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session", autouse=True)
def chart_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Charts and PDFs are cached by content (report/chartcache.py): the tests use a fresh cache of their own,
    never the user's ~/.cache (subprocesses inherit it). A test that needs it off or empty sets
    CRIMEASSESS_CACHE_DIR itself."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRIMEASSESS_CACHE_DIR", str(tmp_path_factory.mktemp("chart-cache")))
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_data_path()


def require_tool(name: str, why: str = "") -> None:
    """Skip (with the reason) when a command-line tool is missing; fail instead under CI=true, so no test's
    assertions are dropped silently in CI."""
    import shutil

    if shutil.which(name):
        return
    skip_or_fail(f"{name} is not installed{' (' + why + ')' if why else ''}")


def skip_or_fail(msg: str) -> None:
    """Skip with `msg`; under CI=true fail instead (CI must run every check)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + "; CI=true requires it", pytrace=False)
    pytest.skip(msg)


# ---- the demo city: one store and one assessment for the whole session ------------------------------------
@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """The seeded demo city (seed 2018) loaded into a store, built once per session. Read-only: tests that
    write to a store make their own."""
    return build_demo_store(tmp_path_factory.mktemp("demo-city"), seed=2018)


@pytest.fixture(scope="session")
def demo_result(demo_store: DemoStore) -> Assessment:
    """``assess`` of the demo city's local authority for its latest financial year (the demo report's)."""
    return assess(demo_store.area, demo_store.period, store=demo_store.store)


@pytest.fixture()
def demo_assessment(demo_result: Assessment) -> dict[str, Any]:
    """The demo assessment's dict (docs/assessment-schema.md), a fresh copy for each test to change freely."""
    return copy.deepcopy(demo_result.to_dict())


# ---- the real police.uk archive (Hampshire, Dorset, West Yorkshire months) with the ONS lookups ------------
@pytest.fixture(scope="session")
def real_archive_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """The shared police.uk archive ingested, with the LSOA→ward→LAD and LAD→CSP→PFA lookups; built once per
    session. Read-only: tests that write make their own store."""
    from crimeassess.geography.load import load_geography
    from crimeassess.ingest import ingest
    from crimeassess.store import Store

    st = Store(tmp_path_factory.mktemp("real-archive") / "store")
    ingest([shared_data / "police-uk" / "archive"], st)
    lk = shared_data / "geography" / "lookups"
    load_geography([lk / "LSOA11_WD17_LAD17_EW_LU.csv", lk / "LAD17_CSP17_PFA17_EW_LU.csv"], st)
    return st


@pytest.fixture(scope="session")
def web_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """Hampshire's police.uk street files for 2017-03 and 2018-03, the WD17 lookup and Southampton's wards: the
    dashboard tests' store, built once per session. Read-only: tests that change it copy it first."""
    from crimeassess.geography.load import load_geography
    from crimeassess.ingest import ingest
    from crimeassess.store import Store

    st = Store(tmp_path_factory.mktemp("web") / "store")
    arc = shared_data / "police-uk" / "archive"
    ingest([arc / "2018-03" / "2018-03-hampshire-street.csv", arc / "2017-03" / "2017-03-hampshire-street.csv"], st)
    load_geography([shared_data / "geography" / "lookups" / "LSOA11_WD17_LAD17_EW_LU.csv",
                    shared_data / "geography" / "boundaries" / "southampton" / "wards-16-pre2023.geojson"], st)
    return st
