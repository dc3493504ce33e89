"""The ``downloads.json`` manifest kept in each destination folder, and the result every download returns."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import DownloadError
from .http import HttpClient, ProgressCallback, sha256_file

MANIFEST_NAME = "downloads.json"
MANIFEST_VERSION = 1


@dataclass
class DownloadResult:
    """What a download run produced.

    ``files`` lists every local file ready for ingest (fetched now or verified from an earlier run);
    ``skipped`` is the subset that was already complete (checksum matched) and was not fetched again;
    ``missing`` names what the publisher does not have (months 'YYYY-MM', dataset names, or API pieces);
    ``bytes`` counts bytes received over the network in this run.
    """

    dest: Path
    files: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    bytes: int = 0
    manifest: Path | None = None

    def merge(self, other: DownloadResult) -> None:
        """Add another result's files, skips, missing items and bytes to this one."""
        self.files += [f for f in other.files if f not in self.files]
        self.skipped += [f for f in other.skipped if f not in self.skipped]
        self.missing += [m for m in other.missing if m not in self.missing]
        self.bytes += other.bytes


class Manifest:
    """sha256, size and origin of every file a download wrote under ``dest``, keyed by relative POSIX path.

    Saved after every change via a temp file and os.replace, so an interrupted run never leaves it half
    written. A manifest that cannot be parsed is set aside as ``downloads.json.bad`` (its files are then
    simply fetched again) rather than stopping the download.
    """

    def __init__(self, dest: Path) -> None:
        self.dest = Path(dest)
        self.path = self.dest / MANIFEST_NAME
        self.entries: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                entries = data["files"]
                if not isinstance(entries, dict):
                    raise TypeError("'files' is not an object")
                self.entries = {str(k): dict(v) for k, v in entries.items()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                os.replace(self.path, self.path.with_name(MANIFEST_NAME + ".bad"))
                self.entries = {}

    def rel(self, path: Path) -> str:
        """Path relative to dest, as the manifest key."""
        return Path(path).resolve().relative_to(self.dest.resolve()).as_posix()

    def get(self, path: Path) -> dict[str, Any] | None:
        """The manifest entry for a file, or None."""
        return self.entries.get(self.rel(path))

    def verified(self, path: Path, **must_match: Any) -> bool:
        """True if ``path`` exists and its size and sha256 match its entry (and any ``must_match`` fields)."""
        entry = self.get(path)
        if entry is None or not Path(path).is_file():
            return False
        if any(entry.get(k) != v for k, v in must_match.items()):
            return False
        if Path(path).stat().st_size != entry.get("bytes"):
            return False
        return sha256_file(Path(path)) == entry.get("sha256")

    def record(self, path: Path, *, sha256: str, size: int, url: str, **extra: Any) -> None:
        """Record a complete file and save the manifest."""
        self.entries[self.rel(path)] = {
            "url": url,
            "sha256": sha256,
            "bytes": size,
            "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **extra,
        }
        self.save()

    def forget(self, path: Path) -> None:
        """Drop a file's entry (e.g. after deleting the file) and save."""
        if self.entries.pop(self.rel(path), None) is not None:
            self.save()

    def save(self) -> None:
        """Write the manifest atomically (temp file in the same folder, then os.replace)."""
        self.dest.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {"version": MANIFEST_VERSION, "files": dict(sorted(self.entries.items()))}, indent=1, sort_keys=False
        )
        fd, tmp = tempfile.mkstemp(prefix=".downloads.", suffix=".tmp", dir=self.dest)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(body + "\n")
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise DownloadError(f"{self.path}: cannot write the download manifest ({exc.strerror or exc})") from None


def prepare_dest(dest: Path | str) -> Path:
    """Create the destination folder, or raise DownloadError if that is impossible."""
    d = Path(dest)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"{d}: cannot create the destination folder ({exc.strerror or exc})") from None
    if not d.is_dir():
        raise DownloadError(f"{d}: destination is not a folder")
    return d


def fetch_recorded(
    client: HttpClient,
    manifest: Manifest,
    url: str,
    path: Path,
    result: DownloadResult,
    *,
    progress: ProgressCallback | None = None,
    expected_sha256: str | None = None,
    **extra: Any,
) -> bool:
    """Fetch ``url`` to ``path`` unless already complete per the manifest; update ``result``.

    Returns False when the publisher does not have the file (404/410), True otherwise.
    """
    if manifest.verified(path):
        result.files.append(path)
        result.skipped.append(path)
        return True
    got = client.fetch_file(url, path, progress=progress, expected_sha256=expected_sha256)
    if got is None:
        return False
    result.bytes += got.transferred
    manifest.record(path, sha256=got.sha256, size=got.size, url=url, **extra)
    result.files.append(path)
    return True
