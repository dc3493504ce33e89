"""What every reader returns: normalised records plus quarantined rows, reconciled."""
from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from ..schema import RECORD_COLUMNS, RECORD_SCHEMA


@dataclass
class ReadResult:
    """One input read into canonical records. rows_read == len(records) + len(quarantine)."""

    kind: str  # 'police-uk-street' | 'police-uk-api' | 'extract'
    force: str | None  # force slug, when the input says or the user gave it
    records: pa.Table  # RECORD_SCHEMA
    quarantine: list[dict] = field(default_factory=list)  # {file, line, reason, raw}
    rows_read: int = 0
    months: list[str] = field(default_factory=list)  # sorted YYYY-MM covered by loaded records
    force_name: str | None = None

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


class LineTap:
    """Feeds csv.reader physical lines and remembers the first line number and raw text of each record, so
    quarantined rows keep their exact line and text even when a quoted field spans lines."""

    def __init__(self, text: str) -> None:
        self._it = iter(io.StringIO(text, newline=""))
        self.buf: list[str] = []
        self.line = 0  # physical line number of the last line handed out

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.line += 1
        self.buf.append(line)
        return line

    def take(self) -> tuple[int, str]:
        """Return (first line number, raw text with its line end) of the record just parsed."""
        first = self.line - len(self.buf) + 1
        raw = "".join(self.buf)
        self.buf = []
        return first, raw
