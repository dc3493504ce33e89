"""Find inputs under the paths a user gives (files, folders at any depth, zips) and recognise their kind."""
from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import InputError, UnsafeArchiveError
from ..store import parse_size  # noqa: F401 - also imported from here
from .policeuk import decode, header_of
from .base import first_byte
from .registry import Sample, detect, source_priority

# Kinds the store ingests (from the registry); other recognised police.uk files are listed as skipped.
INGESTIBLE = tuple(source_priority())


MIB = 1 << 20
GIB = 1 << 30


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits on zip archives, checked against the declared sizes and again while members are streamed.

    A member over `max_member_bytes` uncompressed, or expanding more than `max_ratio` times its compressed
    size (once over `ratio_floor_bytes`), or an archive over `max_archive_bytes` in all, is refused
    (UnsafeArchiveError), as is an archive of more than `max_members` files. Environment: CRIMEASSESS_ZIP_MAX_MEMBER, CRIMEASSESS_ZIP_MAX_ARCHIVE (sizes such
    as 512MB), CRIMEASSESS_ZIP_MAX_RATIO (a number).
    """

    max_member_bytes: int = 256 * MIB
    max_archive_bytes: int = 32 * GIB
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 1 * MIB
    max_members: int = 200_000  # police.uk's full archive holds about 20,000 files

    @classmethod
    def from_env(cls) -> "ArchiveLimits":
        """Defaults, overridden by the CRIMEASSESS_ZIP_* environment variables."""
        d = cls()
        env = os.environ
        try:
            ratio = float(env["CRIMEASSESS_ZIP_MAX_RATIO"]) if env.get("CRIMEASSESS_ZIP_MAX_RATIO") else d.max_ratio
        except ValueError:
            raise InputError(f"CRIMEASSESS_ZIP_MAX_RATIO={env['CRIMEASSESS_ZIP_MAX_RATIO']!r} is not a number") from None
        return cls(
            max_member_bytes=parse_size(env["CRIMEASSESS_ZIP_MAX_MEMBER"]) if env.get("CRIMEASSESS_ZIP_MAX_MEMBER") else d.max_member_bytes,
            max_archive_bytes=parse_size(env["CRIMEASSESS_ZIP_MAX_ARCHIVE"]) if env.get("CRIMEASSESS_ZIP_MAX_ARCHIVE") else d.max_archive_bytes,
            max_ratio=ratio,
        )


def _mib(n: int) -> str:
    return f"{n / MIB:,.1f} MiB" if n < GIB else f"{n / GIB:,.2f} GiB"


@dataclass
class Candidate:
    """One file found under a user's path: where it is, and how to read its bytes."""

    display: str  # path as shown to the user (zip members as 'archive.zip!member')
    load: Callable[[], bytes]
    explicit: bool  # named directly by the user (errors are fatal) rather than found in a folder/zip
    error: str | None = None  # set when the file could not be opened at all (e.g. a corrupt zip in a folder)
    path: Path | None = None  # a plain file on disk (large ones are read in blocks), None for zip members


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not (p.is_absolute() or ".." in p.parts or (p.parts and p.parts[0].endswith(":")))


def _check_member(path: Path, info: zipfile.ZipInfo, size: int, limits: ArchiveLimits) -> None:
    """Refuse a member whose (declared or actual) uncompressed size breaks the limits."""
    where = f"{path}: refused: zip member {info.filename!r}"
    if size > limits.max_member_bytes:
        raise UnsafeArchiveError(f"{where} expands to more than {_mib(limits.max_member_bytes)} "
                                 "(limit CRIMEASSESS_ZIP_MAX_MEMBER)")
    if size > limits.ratio_floor_bytes and size > limits.max_ratio * max(info.compress_size, 1):
        raise UnsafeArchiveError(f"{where} expands more than {limits.max_ratio:g} times its compressed size "
                                 f"({_mib(info.compress_size)} -> {_mib(size)}+; limit CRIMEASSESS_ZIP_MAX_RATIO)")


def read_member(path: Path, name: str, limits: ArchiveLimits) -> bytes:
    """Stream one zip member into memory, refusing it as soon as it breaks the limits."""
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(name)
            _check_member(path, info, info.file_size, limits)
            chunks: list[bytes] = []
            size = 0
            with z.open(info) as fh:
                while chunk := fh.read(MIB):
                    size += len(chunk)
                    _check_member(path, info, size, limits)
                    chunks.append(chunk)
            return b"".join(chunks)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError,
            RuntimeError, zlib.error, KeyError) as exc:  # corrupt data, CRC mismatch, encrypted, vanished
        raise InputError(f"{path}!{name}: unreadable zip member ({exc})") from None


def _zip_candidates(path: Path, limits: ArchiveLimits, *, explicit: bool) -> Iterator[Candidate]:
    try:
        zf = zipfile.ZipFile(path)
        with zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        msg = f"{path}: unreadable zip archive ({exc})"
        if explicit:
            raise InputError(msg) from None
        yield Candidate(str(path), lambda: b"", explicit=False, error=f"unreadable zip archive ({exc})")
        return
    bad = [i.filename for i in infos if not _safe_member(i.filename)]
    if bad:
        raise UnsafeArchiveError(f"{path}: refused: zip member {bad[0]!r} escapes the target folder")
    files = [i for i in infos if not i.is_dir()]
    if len(files) > limits.max_members:
        raise UnsafeArchiveError(f"{path}: refused: archive holds {len(files):,} files, more than {limits.max_members:,}")
    for i in files:
        _check_member(path, i, i.file_size, limits)
    total = sum(i.file_size for i in files)
    if total > limits.max_archive_bytes:
        raise UnsafeArchiveError(f"{path}: refused: archive expands to {_mib(total)}, more than "
                                 f"{_mib(limits.max_archive_bytes)} (limit CRIMEASSESS_ZIP_MAX_ARCHIVE)")
    names = sorted(i.filename for i in files)

    def loader(n: str) -> Callable[[], bytes]:
        return lambda: read_member(path, n, limits)

    for n in names:
        yield Candidate(f"{path}!{n}", loader(n), explicit=False)


def _file_loader(p: Path) -> Callable[[], bytes]:
    def load() -> bytes:
        try:
            return p.read_bytes()
        except OSError as exc:
            raise InputError(f"{p}: unreadable ({exc.strerror or exc})") from None
    return load


def expand(paths: list[Path], limits: ArchiveLimits | None = None) -> list[Candidate]:
    """Expand user paths into candidate files, in a stable order. Missing paths raise InputError; unsafe zips
    (escaping names, over the `limits`) raise UnsafeArchiveError; a corrupt zip inside a folder becomes a
    candidate with `error` set (listed as skipped)."""
    limits = limits or ArchiveLimits.from_env()
    out: list[Candidate] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_dir():
            for p in sorted(q for q in path.rglob("*") if q.is_file()):
                if p.suffix.lower() == ".zip":
                    out.extend(_zip_candidates(p, limits, explicit=False))
                else:
                    out.append(Candidate(str(p), _file_loader(p), explicit=False, path=p))
        elif not path.is_file():  # a FIFO or device (/dev/zero) would never end
            raise InputError(f"{path}: not a regular file")
        elif path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
            out.extend(_zip_candidates(path, limits, explicit=True))
        else:
            out.append(Candidate(str(path), _file_loader(path), explicit=True, path=path))
    return out


def detect_kind(data: bytes, display: str, *, mapping: Path | None = None) -> str:
    """Recognise an input by content: the id of the first kind in ``sources.registry`` that recognises it
    (ingested; stored as their own table, such as Home Office tables; or only recognised, such as police.uk
    outcomes). Raises InputError if empty or unrecognised."""
    if not data or data.isspace():  # (not data.strip(): no copy of a large file)
        raise InputError(f"{display}: file is empty")
    if first_byte(data) == b"[":
        kind = detect(Sample(data, [], mapping))
        if kind is None:
            raise InputError(f"{display}: JSON but not a police.uk API crimes-street response")
        return kind.id
    if first_byte(data) == b"{" and data.rstrip()[-1:] == b"}":
        raise InputError(f"{display}: JSON but not a police.uk API crimes-street response (expected a JSON list)")
    head = data[:4096]
    if b"\x00" in head.split(b"\n", 1)[0] or head.count(b"\x00") > max(2, len(head) // 100):
        # a NUL in a data row is quarantined with that row; in the header, or many, it is not a text file
        raise InputError(f"{display}: binary file, not police.uk data")
    header = header_of(decode(data[:65536]))
    if mapping is not None and len(header) <= 1:
        # a force export with another delimiter (the mapping's `delimiter`, e.g. ";" or a tab)
        from .extract import _as_mapping

        delim = _as_mapping(mapping).delimiter
        if delim != ",":
            header = header_of(decode(data[:65536]), delim)
    kind = detect(Sample(data, header, mapping))
    if kind is not None:
        return kind.id
    from .extract import REQUIRED_COLUMNS, missing_columns

    near = street_header_problem(header)
    if near:
        raise InputError(f"{display}: {near}")
    missing = missing_columns(header, mapping)
    if len(missing) < len(REQUIRED_COLUMNS):  # some extract columns: say which are missing
        raise InputError(f"{display}: not a force extract: missing required column(s) {', '.join(missing)}")
    raise InputError(f"{display}: not police.uk data or a force extract (header starts {header[:3]})")


def street_header_problem(header: list[str]) -> str | None:
    """What keeps a header that is nearly police.uk's street layout from being read as one (its columns
    renamed, reordered, added or missing: a file edited in a spreadsheet), or None when it is not nearly one.
    Street files are read by position, so the layout must be police.uk's exactly."""
    from .policeuk import STREET_HEADER

    want = {c.lower(): c for c in STREET_HEADER}
    if len(header) == 1:  # saved with another separator (a spreadsheet in a locale that writes ";")
        for sep, name in ((";", "semicolons"), ("\t", "tabs")):
            parts = [h.strip().lower() for h in header[0].split(sep)]
            if sum(p in want for p in parts) >= len(STREET_HEADER) // 2:
                return (f"looks like a police.uk street file saved with {name} between fields; police.uk files "
                        "use commas (save it again as CSV with commas)")
    have = [h.strip() for h in header]
    known = [h for h in have if h.lower() in want]
    if len(known) < len(STREET_HEADER) // 2:
        return None
    problems = []
    missing = [c for c in STREET_HEADER[:-1] if c.lower() not in {h.lower() for h in have}]
    extra = [h for h in have if h.lower() not in want]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected {', '.join(repr(h) for h in extra[:5])}")
    if not missing and not extra:
        if [h.lower() for h in have] == [c.lower() for c in STREET_HEADER[:len(have)]]:
            problems.append("column names differ in case or spacing")
        else:
            problems.append("columns in another order")
    return ("looks like a police.uk street file, but its header is not police.uk's (" + "; ".join(problems) +
            "); expected: " + ", ".join(STREET_HEADER))
