"""What every reader returns: normalised records plus quarantined rows, reconciled."""
from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from ..errors import InputError
from ..schema import RECORD_COLUMNS, RECORD_SCHEMA, force_slug


@dataclass
class ReadResult:
    """One input read into canonical records. rows_read == len(records) + len(quarantine)."""

    kind: str  # 'police-uk-street' | 'police-uk-api' | 'extract'
    force: str | None  # force slug, when the input says or the user gave it
    records: pa.Table  # RECORD_SCHEMA (its values; store.DICT_WRITE's columns may be dictionary-encoded)
    quarantine: list[dict] = field(default_factory=list)  # {file, line, reason, raw}
    rows_read: int = 0
    months: list[str] = field(default_factory=list)  # sorted YYYY-MM covered by loaded records
    force_name: str | None = None
    #: Its records counted by the aggregate's keys with their number ``n`` (aggregate.AGG_SCHEMA's columns),
    #: when the reader had them at hand (policeuk_group); ingest then writes the aggregate from them.
    counts: pa.Table | None = None

    def check(self) -> None:
        """Raise AssertionError if the reconciliation does not hold (a bug, never user error)."""
        assert self.rows_read == self.records.num_rows + len(self.quarantine), (
            self.rows_read,
            self.records.num_rows,
            len(self.quarantine),
        )


def records_table(rows: dict[str, list]) -> pa.Table:
    """Build a RECORD_SCHEMA table from column lists; missing columns become nulls."""
    n = len(next(iter(rows.values()))) if rows else 0
    arrays = []
    for name in RECORD_COLUMNS:
        typ = RECORD_SCHEMA.field(name).type
        vals = rows.get(name)
        arrays.append(pa.array(vals if vals is not None else [None] * n, type=typ))
    return pa.Table.from_arrays(arrays, schema=RECORD_SCHEMA)


def first_byte(data: bytes) -> bytes:
    """The first byte of `data` after a UTF-8 byte order mark and white space (b"" when none): how a JSON
    list (b"[") or object (b"{") is told from CSV. Windows editors save JSON with the mark."""
    return data[3:].lstrip()[:1] if data.startswith(b"\xef\xbb\xbf") else data.lstrip()[:1]


def swallowed_rows(row: list[str], ncols: int, delimiter: str = ",") -> bool:
    """Whether a record read over several lines holds whole rows inside a quoted field: a line of a field
    with a row's worth of delimiters. A quote opened by mistake and closed at the end of a later line gives a
    record with the right number of fields whose last field is those lines: no text has that many."""
    need = max(ncols - 1, 2)
    return any(part.count(delimiter) >= need for f in row if "\n" in f or "\r" in f
               for part in f.splitlines()[1:])


class LineTap:
    """Feeds csv.reader physical lines and remembers the first line number and raw text of each record, so
    quarantined rows keep their exact line and text even when a quoted field spans lines."""

    def __init__(self, text: str) -> None:
        self._it = iter(io.StringIO(text, newline=""))
        self.buf: list[str] = []
        self._again: list[str] = []  # lines handed back by take_first, handed out again first (last first)
        self.line = 0  # physical line number of the last line handed out

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self._again.pop() if self._again else next(self._it)
        self.line += 1
        self.buf.append(line)
        return line

    @property
    def lines(self) -> int:
        """Physical lines of the record being parsed (or just parsed, before take)."""
        return len(self.buf)

    def take(self) -> tuple[int, str]:
        """Return (first line number, raw text with its line end) of the record just parsed."""
        first = self.line - len(self.buf) + 1
        raw = "".join(self.buf)
        self.buf = []
        return first, raw

    def stray_quote(self, row: list[str], ncols: int, delimiter: str = ",") -> tuple[int, str, str] | None:
        """For a record just parsed over several lines that a stray quote made (the wrong number of fields, or
        whole rows inside a field): (its first line's number, raw text, quarantine reason), its other lines to
        be read again (:meth:`take_first`); None for any other record."""
        if self.lines < 2 or (len(row) == ncols and not swallowed_rows(row, ncols, delimiter)):
            return None
        line, raw = self.take_first()
        return line, raw, f"wrong number of fields: expected {ncols} (a quote opened on this line is not closed on it)"

    def take_first(self) -> tuple[int, str]:
        """Like :meth:`take`, for a bad record's first physical line only: its other lines are read again. A
        stray opening quote makes the csv module read on to a later quote (or to its field size limit), so
        the one bad line would otherwise take every line after it down with it, uncounted."""
        first = self.line - len(self.buf) + 1
        head, rest = self.buf[0], self.buf[1:]
        self.buf = []
        self._again.extend(reversed(rest))
        self.line = first
        return first, head


_FORCE_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FORCE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9 &',()-]*$")  # e.g. 'Devon & Cornwall Police'


def normalise_force(force: str) -> str:
    """A force as given by a user, as its slug: 'hampshire' stays; 'Hampshire Constabulary' and 'Hampshire'
    -> 'hampshire'. InputError if nothing usable is left."""
    f = str(force).strip()
    slug = f if _FORCE_SLUG.match(f) else force_slug(f) if _FORCE_NAME.match(f) else ""
    if not _FORCE_SLUG.match(slug) or slug == "unknown":
        raise InputError(f"not a police force name or slug: {force!r} (e.g. 'hampshire', 'west-yorkshire')")
    return slug
