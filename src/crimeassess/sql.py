"""The one place SQL text is quoted. Prefer DuckDB parameters (``?``) wherever DuckDB takes them (values in
WHERE clauses, ``read_parquet(?)`` with a path or a list of paths); these helpers are for the places it does
not (CREATE VIEW bodies, identifiers, IN lists built once for many queries)."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def has_relation(con: Any, name: str) -> bool:
    """Whether a table or view of this name exists on a DuckDB connection."""
    return bool(con.execute("SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name = ?) "
                            "+ (SELECT count(*) FROM duckdb_views() WHERE view_name = ?)", [name, name]).fetchall()[0][0])


def ident(name: str) -> str:
    """A quoted identifier: my col -> "my col" (double quotes doubled)."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: str | os.PathLike) -> str:
    """A quoted string literal: O'Brien -> 'O''Brien' (also for file paths)."""
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    return "'" + text.replace("'", "''") + "'"


def in_list(values: Iterable[str]) -> str:
    """'(a, b)' of quoted literals for ``x IN …``; '(NULL)' for none (which matches nothing)."""
    items = [literal(v) for v in values]
    return "(" + ", ".join(items) + ")" if items else "(NULL)"


def list_literal(values: Iterable[str | os.PathLike]) -> str:
    """A DuckDB list of string literals, e.g. for ``read_parquet([...])``: ['a.parquet', 'b.parquet']."""
    return "[" + ", ".join(literal(v) for v in values) + "]"


def create_table(con: Any, name: str, columns: Mapping[str, tuple[str, Sequence[Any]]], *, temp: bool = True) -> None:
    """CREATE OR REPLACE (TEMP) TABLE `name` from Python columns of equal length, each ``(duckdb_type, values)``
    (None is NULL). Built by DuckDB from list parameters, not through Arrow: building an Arrow array from Python
    objects makes pyarrow import pandas, 0.3 s a command's process otherwise never spends."""
    sel = ", ".join(f"unnest(?::{typ}[]) AS {ident(col)}" for col, (typ, _) in columns.items())
    con.execute(f"CREATE OR REPLACE {'TEMP ' if temp else ''}TABLE {ident(name)} AS SELECT {sel}",
                [list(values) for _, values in columns.values()])
