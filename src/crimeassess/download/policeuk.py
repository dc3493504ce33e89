"""Street-level crime files from data.police.uk: monthly archive zips, or a per-month file layout.

Two publisher layouts are supported under one base URL (default ``https://data.police.uk/data``):

* archive: ``<base>/archive/YYYY-MM.zip`` — what data.police.uk publishes. Each zip holds (about) the 36
  months up to YYYY-MM for every force, as ``YYYY-MM/YYYY-MM-<force>-street.csv`` plus outcomes and
  stop-and-search files. Only the wanted force/month members are extracted.
* monthly: ``<base>/YYYY-MM/YYYY-MM-<force>-street.csv`` — the archive's inner layout served as plain files
  (a mirror, or a folder of previously extracted files).

Files land in ``<dest>/YYYY-MM/YYYY-MM-<force>-street.csv`` whichever layout they came from.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from ..assess import periods
from ..errors import DownloadError, InputError, PeriodError, UnsafeArchiveError
from ..sources.base import normalise_force  # noqa: F401 - 'hampshire' / 'Hampshire Constabulary' -> slug
from .config import join_url, resolve_base
from .http import HttpClient, ProgressCallback, ProgressEvent, client_scope
from .manifest import DownloadResult, Manifest, fetch_recorded, prepare_dest

LAYOUTS = ("auto", "archive", "monthly")
#: An archive YYYY-MM.zip holds the 36 months ending at YYYY-MM.
ARCHIVE_SPAN = 36
#: Longest range accepted in one call (police.uk data starts 2010-12).
MAX_MONTHS = 600
ARCHIVE_DIR = "_archives"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# -- months -----------------------------------------------------------------------------------------------
def parse_month(value: str) -> tuple[int, int]:
    """'2017-04' -> (2017, 4); PeriodError for anything else."""
    m = _MONTH.match(str(value).strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
        raise PeriodError(f"not a month: {value!r} (expected YYYY-MM, e.g. 2017-04)")
    return int(m.group(1)), int(m.group(2))


def add_months(month: str, n: int) -> str:
    """'2017-04' + 35 -> '2020-03' (checked: PeriodError for anything but YYYY-MM)."""
    y, m = parse_month(month)
    return periods.add_months(f"{y:04d}-{m:02d}", n)


def month_range(start: str, end: str) -> list[str]:
    """Every month from start to end inclusive; PeriodError if reversed or longer than MAX_MONTHS."""
    y0, m0 = parse_month(start)
    y1, m1 = parse_month(end)
    n = (y1 * 12 + m1) - (y0 * 12 + m0)
    if n < 0:
        raise PeriodError(f"month range {start}..{end} ends before it starts")
    if n >= MAX_MONTHS:
        raise PeriodError(f"month range {start}..{end} is longer than {MAX_MONTHS} months")
    return [add_months(f"{y0:04d}-{m0:02d}", i) for i in range(n + 1)]


# -- layout -----------------------------------------------------------------------------------------------
def street_name(month: str, force: str) -> str:
    """File name police.uk uses: 'YYYY-MM-<force>-street.csv'."""
    return f"{month}-{force}-street.csv"


def street_path(dest: Path, month: str, force: str) -> Path:
    """Where a month's street file is stored under dest."""
    return Path(dest) / month / street_name(month, force)


def monthly_url(base: str, month: str, force: str) -> str:
    """Per-month layout URL: <base>/YYYY-MM/YYYY-MM-<force>-street.csv."""
    return join_url(base, f"{month}/{street_name(month, force)}")


def archive_url(base: str, month: str) -> str:
    """Archive layout URL: <base>/archive/YYYY-MM.zip."""
    return join_url(base, f"archive/{month}.zip")


def safe_member_name(name: str) -> bool:
    """False for zip member names that are absolute, carry a drive, or climb out with '..'."""
    p = PurePosixPath(name.replace("\\", "/"))
    return bool(p.parts) and not (p.is_absolute() or ".." in p.parts or p.parts[0].endswith(":"))


# -- public -----------------------------------------------------------------------------------------------
def download_police_uk(
    force: str,
    start: str,
    end: str,
    dest: Path | str,
    *,
    base_url: str | None = None,
    layout: str = "auto",
    archive: str | None = None,
    keep_archive: bool = False,
    progress: ProgressCallback | None = None,
    client: HttpClient | None = None,
    today: str | None = None,
) -> DownloadResult:
    """Fetch police.uk street-level crime CSVs for one force and the months start..end (YYYY-MM).

    ``layout``: 'archive' uses ``<base>/archive/YYYY-MM.zip`` (the newest archive that covers each run of
    months, found with HEAD requests, or the one named by ``archive``); 'monthly' fetches
    ``<base>/YYYY-MM/YYYY-MM-<force>-street.csv``; 'auto' tries archives and falls back to monthly files when
    no archive exists. Months the publisher lacks are listed in ``result.missing``. Files already complete
    (sha256 in ``dest/downloads.json``) are skipped. ``keep_archive`` keeps the (large) zip under
    ``dest/_archives``. ``today`` (YYYY-MM) bounds the archive search; default is the current month.
    Base URL: ``base_url`` > $CRIMEASSESS_POLICEUK_BASE > https://data.police.uk/data.
    """
    slug = normalise_force(force)
    months = month_range(start, end)
    if layout not in LAYOUTS:
        raise InputError(f"unknown police.uk layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if archive is not None:
        parse_month(archive)
    latest = today or datetime.now(timezone.utc).strftime("%Y-%m")
    parse_month(latest)
    base = resolve_base("police-uk", base_url)
    dest = prepare_dest(dest)
    manifest = Manifest(dest)
    result = DownloadResult(dest=dest, manifest=manifest.path)

    todo: list[str] = []
    for m in months:
        p = street_path(dest, m, slug)
        if manifest.verified(p):
            result.files.append(p)
            result.skipped.append(p)
        else:
            todo.append(m)

    with client_scope(client) as http:
        if todo and layout in ("auto", "archive"):
            todo = _via_archives(
                http, base, slug, todo, manifest, result,
                archive=archive, keep_archive=keep_archive, progress=progress, latest=latest,
            )
        if todo and layout in ("auto", "monthly"):
            for m in todo:
                url = monthly_url(base, m, slug)
                if not fetch_recorded(http, manifest, url, street_path(dest, m, slug), result,
                                      progress=progress, source="police-uk-monthly"):
                    result.missing.append(m)
        else:
            result.missing.extend(todo)

    result.files.sort()
    result.missing.sort()
    return result


def _via_archives(
    http: HttpClient,
    base: str,
    force: str,
    todo: list[str],
    manifest: Manifest,
    result: DownloadResult,
    *,
    archive: str | None,
    keep_archive: bool,
    progress: ProgressCallback | None,
    latest: str,
) -> list[str]:
    """Serve ``todo`` months from archive zips. Returns the months no archive could be found for."""
    remaining = sorted(todo)
    no_archive: list[str] = []
    absent: set[str] = set()  # archive months already known not to exist (each HEAD'd once at most)
    while remaining:  # every pass removes at least the first remaining month
        first = remaining[0]
        if archive is not None:
            if not http.exists(archive_url(base, archive)):
                raise DownloadError(f"{archive_url(base, archive)}: archive not found (HTTP 404)")
            found: str | None = archive
            covered = list(remaining)
        else:
            top = min(add_months(first, ARCHIVE_SPAN - 1), latest)
            candidates = [] if top < first else month_range(first, top)[::-1]
            found = None
            for c in candidates:
                if c in absent:
                    continue
                if http.exists(archive_url(base, c)):
                    found = c
                    break
                absent.add(c)
            covered = [m for m in remaining if found is not None and m <= found]
        if found is None:
            no_archive.append(remaining.pop(0))
            continue
        present = _fetch_and_extract(http, base, found, force, covered, manifest, result,
                                     keep_archive=keep_archive, progress=progress)
        result.missing.extend(m for m in covered if m not in present)
        remaining = [m for m in remaining if m not in covered]
    return no_archive


def _fetch_and_extract(
    http: HttpClient,
    base: str,
    archive_month: str,
    force: str,
    months: list[str],
    manifest: Manifest,
    result: DownloadResult,
    *,
    keep_archive: bool,
    progress: ProgressCallback | None,
) -> set[str]:
    """Download one archive (resumably) and extract the wanted members. Returns the months it held."""
    url = archive_url(base, archive_month)
    zpath = manifest.dest / ARCHIVE_DIR / f"{archive_month}.zip"
    scratch = DownloadResult(dest=manifest.dest)
    if not fetch_recorded(http, manifest, url, zpath, scratch, progress=progress, source="police-uk-archive"):
        raise DownloadError(f"{url}: archive disappeared between HEAD and GET (HTTP 404)")
    result.bytes += scratch.bytes
    wanted = {street_name(m, force): m for m in months}
    try:
        present = extract_members(zpath, {n: street_path(manifest.dest, m, force) for n, m in wanted.items()},
                                  manifest, url, progress=progress)
    except zipfile.BadZipFile as exc:
        zpath.unlink(missing_ok=True)
        manifest.forget(zpath)
        raise DownloadError(f"{url}: the downloaded archive is not a valid zip ({exc}); it was deleted") from None
    finally:
        if not keep_archive and zpath.exists():
            zpath.unlink()
            manifest.forget(zpath)
            with contextlib.suppress(OSError):
                zpath.parent.rmdir()
    for name in present:
        result.files.append(street_path(manifest.dest, wanted[name], force))
    return {wanted[n] for n in present}


def extract_members(
    zpath: Path,
    wanted: dict[str, Path],
    manifest: Manifest,
    url: str,
    *,
    progress: ProgressCallback | None = None,
) -> set[str]:
    """Extract members whose base name is a key of ``wanted`` to the mapped paths; record them in the manifest.

    Every member name is checked first: if any would escape the target folder the whole archive is refused
    with UnsafeArchiveError and nothing is extracted. Returns the base names found.
    """
    found: set[str] = set()
    with zipfile.ZipFile(zpath) as zf:
        infos = zf.infolist()
        bad = [i.filename for i in infos if not safe_member_name(i.filename)]
        if bad:
            raise UnsafeArchiveError(f"{url}: refused: zip member {bad[0]!r} escapes the target folder")
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not info.is_dir():
                by_name.setdefault(PurePosixPath(info.filename.replace("\\", "/")).name, info)
        for name, target in sorted(wanted.items()):
            info = by_name.get(name)
            if info is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            h = hashlib.sha256()
            size = 0
            with zf.open(info) as src, open(tmp, "wb") as out:
                for block in iter(lambda: src.read(1 << 20), b""):
                    out.write(block)
                    h.update(block)
                    size += len(block)
                    if progress:
                        progress(ProgressEvent(f"extract {name}", size, info.file_size))
            os.replace(tmp, target)
            manifest.record(target, sha256=h.hexdigest(), size=size, url=f"{url}#{info.filename}",
                            source="police-uk-archive")
            found.add(name)
    return found
