"""Find inputs under the paths a user gives (files, folders at any depth, zips) and recognise their kind."""
from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import InputError, UnsafeArchiveError
from .policeuk import csv_kind, decode, header_of, looks_like_api_json

# Kinds the store ingests; other recognised police.uk files are listed as skipped.
INGESTIBLE = ("police-uk-street", "police-uk-api", "extract")


@dataclass
class Candidate:
    """One file found under a user's path: where it is, and how to read its bytes."""

    display: str  # path as shown to the user (zip members as 'archive.zip!member')
    load: Callable[[], bytes]
    explicit: bool  # named directly by the user (errors are fatal) rather than found in a folder/zip


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not (p.is_absolute() or ".." in p.parts or (p.parts and p.parts[0].endswith(":")))


def _zip_candidates(path: Path) -> Iterator[Candidate]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: unreadable zip archive ({exc})") from None
    with zf:
        bad = [i.filename for i in zf.infolist() if not _safe_member(i.filename)]
        if bad:
            raise UnsafeArchiveError(f"{path}: refused: zip member {bad[0]!r} escapes the target folder")
        names = sorted(i.filename for i in zf.infolist() if not i.is_dir())

    def loader(n: str) -> Callable[[], bytes]:
        def load() -> bytes:
            with zipfile.ZipFile(path) as z:
                return z.read(n)
        return load

    for n in names:
        yield Candidate(f"{path}!{n}", loader(n), explicit=False)


def _file_loader(p: Path) -> Callable[[], bytes]:
    def load() -> bytes:
        try:
            return p.read_bytes()
        except OSError as exc:
            raise InputError(f"{p}: unreadable ({exc.strerror or exc})") from None
    return load


def expand(paths: list[Path]) -> list[Candidate]:
    """Expand user paths into candidate files, in a stable order. Missing paths raise InputError."""
    out: list[Candidate] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_dir():
            for p in sorted(q for q in path.rglob("*") if q.is_file()):
                if p.suffix.lower() == ".zip":
                    out.extend(_zip_candidates(p))
                else:
                    out.append(Candidate(str(p), _file_loader(p), explicit=False))
        elif path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
            out.extend(_zip_candidates(path))
        else:
            out.append(Candidate(str(path), _file_loader(path), explicit=True))
    return out


def detect_kind(data: bytes, display: str, *, mapping: Path | None = None) -> str:
    """Recognise an input by content. Returns a kind; raises InputError if not recognised/empty.

    Kinds: 'police-uk-street', 'police-uk-api', 'extract' (ingested); 'home-office-table' (aggregated counts,
    stored as their own table by ingest); 'police-uk-outcomes', 'police-uk-stop-and-search' (recognised, skipped).
    """
    if not data.strip():
        raise InputError(f"{display}: file is empty")
    if data.lstrip()[:1] in (b"[",):
        if looks_like_api_json(data):
            return "police-uk-api"
        raise InputError(f"{display}: JSON but not a police.uk API crimes-street response")
    if b"\x00" in data[:4096]:
        raise InputError(f"{display}: binary file, not police.uk data")
    text = decode(data[:65536])
    header = header_of(text)
    kind = csv_kind(header)
    if kind == "street":
        return "police-uk-street"
    if kind == "outcomes":
        return "police-uk-outcomes"
    if kind == "stop-and-search":
        return "police-uk-stop-and-search"
    try:
        from .extract import looks_like_extract
    except ImportError:  # pragma: no cover - extract reader not installed
        looks_like_extract = None
    if looks_like_extract is not None and looks_like_extract(header, mapping=mapping):
        return "extract"
    from .homeoffice import KIND as HOME_OFFICE_KIND, looks_like_homeoffice_table

    if looks_like_homeoffice_table(header):
        return HOME_OFFICE_KIND
    raise InputError(f"{display}: not police.uk data or a force extract (header starts {header[:3]})")
