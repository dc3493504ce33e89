"""End-to-end tests of crimeassess.download against a local HTTP server on 127.0.0.1 serving ../shared/data.

Expected values are recomputed here from the shared files (hashlib, json, shapely), never pasted.
"""
from __future__ import annotations

import hashlib
import json
import socket
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from crimeassess.download import (
    DownloadResult,
    HttpClient,
    Manifest,
    ProgressEvent,
    TokenBucket,
    download_geography,
    download_police_uk,
    download_police_uk_api,
    download_population,
    polygons_from_frame,
)
from crimeassess.download.config import ENV_ONS_BASE
from crimeassess.download.policeuk_api import polygon_parts, split_in_two
from crimeassess.errors import DownloadError, GeographyError, InputError, PeriodError, UnsafeArchiveError

try:  # tests/ is a rootdir-style folder (no __init__.py); allow either import style
    from localserver import FakeCrimesApi, LocalServer
except ImportError:  # pragma: no cover
    from tests.localserver import FakeCrimesApi, LocalServer

pytestmark = pytest.mark.realdata

ARCHIVE = "police-uk/archive"


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


class FakeSleep:
    """Records requested sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, s: float) -> None:
        self.calls.append(s)


@pytest.fixture()
def server(shared_data: Path):
    api = FakeCrimesApi.from_folder(shared_data / "police-uk" / "api-crimes-street-2018-06", cap=10_000)
    with LocalServer(shared_data, api=api) as srv:
        yield srv


@pytest.fixture()
def client():
    sleeper = FakeSleep()
    with HttpClient(timeout=10, attempts=4, backoff=0.5, sleep=sleeper) as c:
        c.sleeper = sleeper  # type: ignore[attr-defined]
        yield c


def street(shared: Path, month: str, force: str = "hampshire") -> Path:
    return shared / "police-uk" / "archive" / month / f"{month}-{force}-street.csv"


# -- police.uk per-month layout ---------------------------------------------------------------------------
def test_monthly_layout_files_identical_checksummed_and_missing(server, client, shared_data, tmp_path):
    dest = tmp_path / "dl"
    months = ["2017-04", "2017-05", "2017-06", "2017-07", "2017-08", "2017-09"]
    events: list[ProgressEvent] = []
    res = download_police_uk("hampshire", "2017-04", "2017-10", dest, base_url=f"{server.url}/{ARCHIVE}",
                             layout="monthly", client=client, progress=events.append)
    assert res.missing == ["2017-10"]
    assert [p.name for p in res.files] == [f"{m}-hampshire-street.csv" for m in months]
    assert res.skipped == []
    assert res.bytes == sum(street(shared_data, m).stat().st_size for m in months)
    manifest = json.loads((dest / "downloads.json").read_text())["files"]
    for m in months:
        got = dest / m / f"{m}-hampshire-street.csv"
        assert got.read_bytes() == street(shared_data, m).read_bytes()
        entry = manifest[f"{m}/{m}-hampshire-street.csv"]
        assert entry["sha256"] == sha(street(shared_data, m))
        assert entry["bytes"] == street(shared_data, m).stat().st_size
        assert entry["url"].endswith(f"/{m}/{m}-hampshire-street.csv")
    # progress reached each file's full size
    last = {e.task: e for e in events}
    assert last["2017-04-hampshire-street.csv"].done == street(shared_data, "2017-04").stat().st_size
    assert all(e.unit == "bytes" for e in events)
    assert not list(dest.rglob("*.part"))

    # a re-run fetches nothing: every file verified against its checksum
    before = len(server.log)
    again = download_police_uk("hampshire", "2017-04", "2017-10", dest, base_url=f"{server.url}/{ARCHIVE}",
                               layout="monthly", client=client)
    assert again.bytes == 0
    assert sorted(again.skipped) == sorted(res.files) == sorted(again.files)
    assert [r.path for r in server.log[before:]] == [f"/{ARCHIVE}/2017-10/2017-10-hampshire-street.csv"]


def test_tampered_file_and_corrupt_manifest_are_refetched(server, client, shared_data, tmp_path):
    base = f"{server.url}/{ARCHIVE}"
    download_police_uk("hampshire", "2017-09", "2017-09", tmp_path, base_url=base, layout="monthly", client=client)
    f = tmp_path / "2017-09" / "2017-09-hampshire-street.csv"
    f.write_bytes(f.read_bytes()[:-10] + b"XXXXXXXXXX")  # same size, different bytes
    res = download_police_uk("hampshire", "2017-09", "2017-09", tmp_path, base_url=base, layout="monthly",
                             client=client)
    assert res.skipped == [] and res.bytes == f.stat().st_size
    assert f.read_bytes() == street(shared_data, "2017-09").read_bytes()
    (tmp_path / "downloads.json").write_text("{not json")
    res = download_police_uk("hampshire", "2017-09", "2017-09", tmp_path, base_url=base, layout="monthly",
                             client=client)
    assert res.skipped == [] and (tmp_path / "downloads.json.bad").exists()
    assert Manifest(tmp_path).verified(f)


def test_auto_layout_searches_archives_then_falls_back(server, client, shared_data, tmp_path):
    res = download_police_uk("hampshire", "2017-09", "2017-10", tmp_path, base_url=f"{server.url}/{ARCHIVE}",
                             client=client, today="2017-12")
    heads = [r.path for r in server.log if r.method == "HEAD"]
    # newest archive first, down to the first wanted month; each candidate asked once
    assert heads == [f"/{ARCHIVE}/archive/{m}.zip" for m in ("2017-12", "2017-11", "2017-10", "2017-09")]
    assert [p.name for p in res.files] == ["2017-09-hampshire-street.csv"]
    assert res.missing == ["2017-10"]


def test_bad_arguments_raise_named_errors(tmp_path):
    # all rejected before any request (the base URL is never contacted)
    with pytest.raises(PeriodError):
        download_police_uk("hampshire", "2017-13", "2018-01", tmp_path, base_url="http://127.0.0.1:9/x")
    with pytest.raises(PeriodError):
        download_police_uk("hampshire", "2018-03", "2017-04", tmp_path, base_url="http://127.0.0.1:9/x")
    with pytest.raises(InputError):
        download_police_uk("../etc", "2017-01", "2017-02", tmp_path, base_url="http://127.0.0.1:9/x")
    with pytest.raises(InputError):
        download_police_uk("hampshire", "2017-01", "2017-02", tmp_path, layout="ftp", base_url="http://127.0.0.1:9/x")
    from crimeassess.download.policeuk import normalise_force
    assert normalise_force("Devon & Cornwall Police") == "devon-cornwall"
    assert normalise_force("West Yorkshire Police") == "west-yorkshire"


# -- police.uk archive zips -------------------------------------------------------------------------------
def _zip(path: Path, members: dict[str, Path | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, src in members.items():
            if isinstance(src, Path):
                z.write(src, name)
            else:
                z.writestr(name, src)
    return path


def test_archive_zip_extracts_only_wanted_members(server, client, shared_data, tmp_path):
    members = {
        f"2018-03/2018-03-{f}.csv": shared_data / ARCHIVE / "2018-03" / f"2018-03-{f}.csv"
        for f in ("hampshire-street", "dorset-street", "hampshire-stop-and-search")
    }
    members["2018-04/2018-04-hampshire-street.csv"] = street(shared_data, "2018-04")
    server.serve_file(f"/{ARCHIVE}/archive/2018-04.zip", _zip(tmp_path / "2018-04.zip", members))
    dest = tmp_path / "dl"
    res = download_police_uk("hampshire", "2018-02", "2018-04", dest, base_url=f"{server.url}/{ARCHIVE}",
                             layout="archive", client=client, today="2018-06")
    heads = [r.path.rsplit("/", 1)[1] for r in server.log if r.method == "HEAD"]
    assert heads == ["2018-06.zip", "2018-05.zip", "2018-04.zip"]
    assert res.missing == ["2018-02"]
    assert res.bytes == (tmp_path / "2018-04.zip").stat().st_size
    for m in ("2018-03", "2018-04"):
        assert (dest / m / f"{m}-hampshire-street.csv").read_bytes() == street(shared_data, m).read_bytes()
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.csv")) == [
        "2018-03/2018-03-hampshire-street.csv", "2018-04/2018-04-hampshire-street.csv"]
    assert not (dest / "_archives").exists()  # zip removed after extraction by default
    entries = json.loads((dest / "downloads.json").read_text())["files"]
    assert set(entries) == {"2018-03/2018-03-hampshire-street.csv", "2018-04/2018-04-hampshire-street.csv"}
    assert entries["2018-03/2018-03-hampshire-street.csv"]["sha256"] == sha(street(shared_data, "2018-03"))
    assert entries["2018-03/2018-03-hampshire-street.csv"]["url"].endswith("2018-04.zip#2018-03/2018-03-hampshire-street.csv")

    # re-run: both months verified locally, no archive download
    gets = len([r for r in server.log if r.method == "GET"])
    again = download_police_uk("hampshire", "2018-03", "2018-04", dest, base_url=f"{server.url}/{ARCHIVE}",
                               layout="archive", client=client, today="2018-06")
    assert again.bytes == 0 and len(again.skipped) == 2
    assert len([r for r in server.log if r.method == "GET"]) == gets


def test_malicious_zip_member_is_refused(server, client, shared_data, tmp_path):
    evil = _zip(tmp_path / "evil.zip", {
        "2018-04/2018-04-hampshire-street.csv": street(shared_data, "2018-04"),
        "../evil.csv": b"pwned\n",
    })
    server.serve_file(f"/{ARCHIVE}/archive/2018-04.zip", evil)
    dest = tmp_path / "deep" / "dl"
    with pytest.raises(UnsafeArchiveError, match=r"\.\./evil\.csv"):
        download_police_uk("hampshire", "2018-04", "2018-04", dest, base_url=f"{server.url}/{ARCHIVE}",
                           archive="2018-04", client=client)
    assert not (tmp_path / "deep" / "evil.csv").exists()
    assert not list(dest.rglob("*.csv"))


def test_explicit_archive_that_does_not_exist(server, client, tmp_path):
    with pytest.raises(DownloadError, match="2019-01.zip"):
        download_police_uk("hampshire", "2018-04", "2018-04", tmp_path, base_url=f"{server.url}/{ARCHIVE}",
                           archive="2019-01", client=client)


# -- resume, retries, errors ------------------------------------------------------------------------------
def test_interrupted_download_resumes_with_range(server, client, shared_data, tmp_path):
    src = street(shared_data, "2017-05")
    path = f"/{ARCHIVE}/2017-05/2017-05-hampshire-street.csv"
    cut = 1_000_000
    server.drop_after(path, cut)
    res = download_police_uk("hampshire", "2017-05", "2017-05", tmp_path, base_url=f"{server.url}/{ARCHIVE}",
                             layout="monthly", client=client)
    gets = server.requests_for(path, "GET")
    assert len(gets) == 2
    assert "range" not in gets[0].headers
    assert gets[1].headers["range"] == f"bytes={cut}-"
    assert (tmp_path / "2017-05" / src.name).read_bytes() == src.read_bytes()
    assert res.bytes == src.stat().st_size  # cut bytes, then the rest: nothing fetched twice
    assert json.loads((tmp_path / "downloads.json").read_text())["files"][f"2017-05/{src.name}"]["sha256"] == sha(src)
    assert len(client.sleeper.calls) == 1


def test_server_ignoring_range_restarts_cleanly(server, client, shared_data, tmp_path):
    src = street(shared_data, "2017-06")
    path = f"/{ARCHIVE}/2017-06/2017-06-hampshire-street.csv"
    server.ignore_range.add(path)
    server.drop_after(path, 500_000)
    got = client.fetch_file(server.url + path, tmp_path / src.name)
    gets = server.requests_for(path, "GET")
    assert gets[1].headers["range"] == "bytes=500000-"  # asked to resume, server answered 200 from byte 0
    assert got is not None and not got.resumed
    assert got.path.read_bytes() == src.read_bytes() and got.sha256 == sha(src)


def test_stale_part_longer_than_file_restarts(server, client, shared_data, tmp_path):
    src = street(shared_data, "2017-06")
    target = tmp_path / src.name
    target.with_name(src.name + ".part").write_bytes(b"x" * (src.stat().st_size + 5))
    got = client.fetch_file(f"{server.url}/{ARCHIVE}/2017-06/{src.name}", target)
    assert got is not None and target.read_bytes() == src.read_bytes()


def test_server_error_retries_with_backoff_then_names_url(server, client, tmp_path):
    path = f"/{ARCHIVE}/2017-07/2017-07-hampshire-street.csv"
    server.fail_next(path, 500, times=10)
    with pytest.raises(DownloadError, match=r"2017-07-hampshire-street\.csv.*4 attempts.*HTTP 500"):
        download_police_uk("hampshire", "2017-07", "2017-07", tmp_path, base_url=f"{server.url}/{ARCHIVE}",
                           layout="monthly", client=client)
    assert len(server.requests_for(path)) == 4
    assert client.sleeper.calls == [0.5, 1.0, 2.0]  # exponential, none after the last attempt


def test_transient_error_then_success(server, client, shared_data, tmp_path):
    path = f"/{ARCHIVE}/2017-08/2017-08-hampshire-street.csv"
    server.fail_next(path, 502, times=2)
    res = download_police_uk("hampshire", "2017-08", "2017-08", tmp_path, base_url=f"{server.url}/{ARCHIVE}",
                             layout="monthly", client=client)
    assert res.files[0].read_bytes() == street(shared_data, "2017-08").read_bytes()
    assert len(server.requests_for(path)) == 3


def test_client_error_fails_at_once(server, client, tmp_path):
    path = f"/{ARCHIVE}/2017-08/2017-08-hampshire-street.csv"
    server.fail_next(path, 403, times=5)
    with pytest.raises(DownloadError, match="HTTP 403"):
        client.fetch_file(server.url + path, tmp_path / "x.csv")
    assert len(server.requests_for(path)) == 1 and client.sleeper.calls == []


def test_unreachable_publisher_names_url(client, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/data"
    with pytest.raises(DownloadError, match=rf"127\.0\.0\.1:{port}/data/2017-04/2017-04-hampshire-street\.csv"):
        download_police_uk("hampshire", "2017-04", "2017-04", tmp_path, base_url=base, layout="monthly",
                           client=client)
    assert len(client.sleeper.calls) == 3


# -- ONS catalogue: geography and population --------------------------------------------------------------
def test_geography_bundle_with_local_boundaries(server, client, shared_data, tmp_path):
    res = download_geography("wd17", tmp_path, area="southampton", base_url=server.url, client=client)
    rels = sorted(p.relative_to(tmp_path).as_posix() for p in res.files)
    assert rels == ["geography/boundaries/southampton/wards-16-pre2023.geojson",
                    "geography/lookups/LAD17_CSP17_PFA17_EW_LU.csv",
                    "geography/lookups/LSOA11_WD17_LAD17_EW_LU.csv"]
    for rel in rels:
        assert (tmp_path / rel).read_bytes() == (shared_data / rel).read_bytes()
    assert res.missing == []


def test_geography_national_boundaries_missing_is_reported(server, client, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_ONS_BASE, server.url)  # base from the environment
    res = download_geography("WD16", tmp_path, client=client)
    assert [p.name for p in res.files] == ["LSOA11_WD16_LAD16_EW_LU.csv"]
    assert sorted(res.missing) == ["lad-csp-pfa-16", "ward-boundaries-WD16"]
    with pytest.raises(GeographyError, match="WD99"):
        download_geography("WD99", tmp_path, client=client)
    with pytest.raises(GeographyError, match="leeds"):
        download_geography("WD17", tmp_path, area="leeds", client=client)


def test_population_and_missing_ons_base(server, client, shared_data, tmp_path, monkeypatch):
    res = download_population(tmp_path, base_url=server.url, client=client)
    src = shared_data / "population" / "census-2011-lsoa-population-households.csv"
    assert res.files[0].read_bytes() == src.read_bytes() and res.bytes == src.stat().st_size
    monkeypatch.delenv(ENV_ONS_BASE, raising=False)
    with pytest.raises(DownloadError, match=ENV_ONS_BASE):
        download_population(tmp_path / "other", client=client)


# -- police.uk API by polygon ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ward_polygons(shared_data):
    frame = gpd.read_file(shared_data / "geography" / "boundaries" / "southampton" / "wards-16-pre2023.geojson")
    return polygons_from_frame(frame, "WD22CD")


def _stored_records(shared_data: Path) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for f in sorted((shared_data / "police-uk" / "api-crimes-street-2018-06").glob("*.json")):
        for r in json.loads(f.read_text()):
            out.setdefault(r["id"], r)
    return out


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_api_by_ward_polygon_splits_on_503_and_dedups(server, client, shared_data, ward_polygons, tmp_path):
    server.api.cap = 300
    records = _stored_records(shared_data)
    clock = FakeClock()
    bucket = TokenBucket(15, clock=clock, sleep=clock.sleep)
    events: list[ProgressEvent] = []
    res = download_police_uk_api(ward_polygons, "2018-06", tmp_path, api_url=f"{server.url}/api",
                                 client=client, limiter=bucket, max_vertices=500, progress=events.append)
    # expected per part: stored crimes whose point lies in that part, recomputed with shapely here
    expected_files = []
    for code, geom in ward_polygons.items():
        parts = list(getattr(geom, "geoms", [geom]))
        for n, part in enumerate(parts):
            name = f"area_{code}_{n}.json"
            expected_files.append(name)
            want = {i for i, r in records.items()
                    if shapely.contains_xy(part, float(r["location"]["longitude"]), float(r["location"]["latitude"]))}
            got = json.loads((tmp_path / name).read_text())
            ids = [r["id"] for r in got]
            assert len(ids) == len(set(ids)), name  # no duplicates across split pieces
            assert set(ids) == want, name
            assert all(r == records[r["id"]] for r in got)  # crimes saved as the API sent them
    assert sorted(p.name for p in res.files) == sorted(expected_files)
    assert res.missing == []
    # the biggest ward exceeded the cap and was split
    assert 503 in server.api.answers
    big = max(ward_polygons, key=lambda c: len(json.loads((tmp_path / f"area_{c}_0.json").read_text())))
    assert len(json.loads((tmp_path / f"area_{big}_0.json").read_text())) > server.api.cap
    manifest = json.loads((tmp_path / "downloads.json").read_text())["files"]
    assert manifest[f"area_{big}_0.json"]["pieces"] >= 2
    n_requests = len([r for r in server.log if r.path.startswith("/api/")])
    assert n_requests == sum(e["requests"] for e in manifest.values())
    assert res.bytes > 0 and events[-1].done == events[-1].total == len(expected_files)
    # pacing: 15/s with a burst of 15 means at least (n - 15) / 15 seconds of (fake) time
    assert clock.t == pytest.approx(max(0, n_requests - 15) / 15)

    # re-run: same month and polygons -> everything skipped, no requests
    before = len(server.log)
    again = download_police_uk_api(ward_polygons, "2018-06", tmp_path, api_url=f"{server.url}/api",
                                   client=client, limiter=bucket, max_vertices=500)
    assert len(again.skipped) == len(expected_files) and len(server.log) == before


def test_api_overlapping_pieces_are_deduplicated(server, client, shared_data, ward_polygons, tmp_path):
    # the fake API pads each polygon by ~50 m, so split pieces share the crimes along the cut
    code = "E05002455"
    server.api.cap, server.api.pad = 150, 0.0005
    records = _stored_records(shared_data)
    download_police_uk_api({code: ward_polygons[code]}, "2018-06", tmp_path, api_url=f"{server.url}/api",
                           client=client, rate=1e6, max_vertices=500)
    got = [r["id"] for r in json.loads((tmp_path / f"area_{code}_0.json").read_text())]
    assert len(got) == len(set(got))
    assert server.api.items_sent > len(got)  # duplicates were received and dropped
    part = ward_polygons[code]
    inside = {i for i, r in records.items()
              if shapely.contains_xy(part, float(r["location"]["longitude"]), float(r["location"]["latitude"]))}
    assert inside <= set(got)
    near = part.buffer(0.0005 * 1.01)
    assert all(shapely.contains_xy(near, float(records[i]["location"]["longitude"]),
                                   float(records[i]["location"]["latitude"])) for i in got)


def test_api_long_polygon_uses_post_and_simplifies(server, client, shared_data, ward_polygons, tmp_path):
    code = "E05002459"  # 73 vertices
    res = download_police_uk_api({code: ward_polygons[code]}, "2018-06", tmp_path, api_url=f"{server.url}/api",
                                 client=client, rate=1e6, max_vertices=20, max_get_url=200)
    api = [r for r in server.log if r.path.startswith("/api/")]
    assert [r.method for r in api] == ["POST"]
    sent = api[0].form["poly"][0].split(":")
    assert 4 <= len(sent) <= 20
    assert api[0].form["date"] == ["2018-06"]
    assert res.files[0].name == f"area_{code}_0.json"


def test_api_month_missing_and_runaway_503(server, client, ward_polygons, tmp_path):
    code = "E05002456"
    res = download_police_uk_api({code: ward_polygons[code]}, "2018-07", tmp_path, api_url=f"{server.url}/api",
                                 client=client, rate=1e6)
    assert res.files == [] and res.missing == [f"area_{code}_0"]
    server.api.cap = 0  # every non-empty piece "holds too many crimes"
    with pytest.raises(DownloadError, match="503"):
        download_police_uk_api({code: ward_polygons[code]}, "2018-06", tmp_path, api_url=f"{server.url}/api",
                               client=client, rate=1e6, max_depth=3)
    assert len(server.log) <= 1 + (2 ** 4) * 4  # bounded


def test_api_rejects_bad_polygons(tmp_path, ward_polygons):
    from shapely.geometry import Point, box
    with pytest.raises(InputError, match="WGS84"):
        download_police_uk_api({"X1": box(440000, 110000, 441000, 111000)}, "2018-06", tmp_path)
    with pytest.raises(InputError, match="polygon"):
        download_police_uk_api({"X1": Point(0, 51)}, "2018-06", tmp_path)
    with pytest.raises(InputError, match="file name"):
        download_police_uk_api({"../x": box(0, 51, 0.1, 51.1)}, "2018-06", tmp_path)
    with pytest.raises(PeriodError):
        download_police_uk_api({"X1": box(0, 51, 0.1, 51.1)}, "June", tmp_path)


def test_split_in_two_covers_the_polygon(ward_polygons):
    part = polygon_parts(ward_polygons["E05002455"], "E05002455")[0]
    pieces = split_in_two(part)
    assert len(pieces) >= 2
    assert shapely.union_all(pieces).symmetric_difference(part).area < part.area * 1e-9


# -- rate limit (injected clock, no waiting) -------------------------------------------------------------
def test_token_bucket_keeps_police_uk_limits():
    clock = FakeClock()
    bucket = TokenBucket(15, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(200):
        bucket.acquire()
        stamps.append(clock.t)
    # police.uk: under 15/s on average, never more than 30 in any one second
    assert stamps[-1] == pytest.approx((200 - 15) / 15)
    j = 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - 1.0:
            j += 1
        assert i - j + 1 <= 30
    # an idle period refills the bucket, but only up to its capacity
    clock.t += 100
    start = clock.t
    for _ in range(15):
        bucket.acquire()
    assert clock.t == start
    bucket.acquire()
    assert clock.t == pytest.approx(start + 1 / 15)
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_download_result_merge(tmp_path):
    a = DownloadResult(dest=tmp_path, files=[tmp_path / "a"], missing=["2017-01"], bytes=5)
    b = DownloadResult(dest=tmp_path, files=[tmp_path / "a", tmp_path / "b"], skipped=[tmp_path / "b"], bytes=7)
    a.merge(b)
    assert a.files == [tmp_path / "a", tmp_path / "b"] and a.skipped == [tmp_path / "b"] and a.bytes == 12


def test_catalogue_checksum_is_enforced(server, client, shared_data, tmp_path):
    from crimeassess.download import download_datasets, load_catalogue

    rel = "geography/lookups/LAD18_CSP18_PFA18_EW_LU.csv"
    good = sha(shared_data / rel)
    toml = tmp_path / "cat.toml"
    body = '[datasets.{n}]\npublisher = "ons"\npath = "{p}"\nkind = "lookup"\nsha256 = "{s}"\n'
    toml.write_text(body.format(n="good", p=rel, s=good) + body.format(n="bad", p=rel, s="0" * 64))
    cat = load_catalogue(toml)
    res = download_datasets(["good"], tmp_path / "a", base_url=server.url, client=client, catalogue=cat)
    assert res.files[0].read_bytes() == (shared_data / rel).read_bytes()
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_datasets(["bad"], tmp_path / "b", base_url=server.url, client=client, catalogue=cat)
    assert not list((tmp_path / "b").rglob("*.csv*"))
    with pytest.raises(InputError, match="did you mean good"):
        download_datasets(["goo"], tmp_path / "c", base_url=server.url, client=client, catalogue=cat)
    toml.write_text('[datasets.x]\npublisher = "ons"\npath = "../etc/passwd"\nkind = "lookup"\n')
    with pytest.raises(InputError, match="must be relative"):
        load_catalogue(toml)
