"""Shared fixtures. Real-data tests read ../shared/data; they skip when it is absent, but fail under CI=true."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

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
