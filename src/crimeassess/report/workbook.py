"""`tables.xlsx`: the report's CSV tables as one workbook analysts can edit (one sheet per table).

The workbook is built from the CSV files the report has just written, so every rule applied to the CSVs
(suppression, formula neutralising) carries over unchanged. Cells that read as numbers are stored as numbers;
text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is stored as text with a
leading apostrophe, never as a formula.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_value(text: str) -> object:
    """A CSV cell as a workbook value: '' -> None, '12' -> 12, '-5.9' -> -5.9, 'True'/'False' -> bool, text as text
    (formula-like text neutralised with a leading apostrophe)."""
    if text == "":
        return None
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text in ("True", "False"):
        return text == "True"
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def write_workbook(csv_paths: list[Path], out: Path) -> Path:
    """Write ``out`` (tables.xlsx) with one sheet per CSV (named after the file), header row bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for p in csv_paths:
        ws = wb.create_sheet(title=Path(p).stem[:31])
        with open(p, newline="", encoding="utf-8") as fh:
            for i, row in enumerate(csv.reader(fh)):
                values = [cell_value(c) if i else (("'" + c) if c.startswith(_FORMULA_START) else c) for c in row]
                ws.append(values)
                if i == 0:
                    for cell in ws[1]:
                        cell.font = Font(bold=True)
        for cell in ws[1]:
            # strings stay strings: openpyxl would otherwise write text starting with '=' as a formula
            cell.data_type = "s"
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        ws.freeze_panes = "A2"
        for col in ws.columns:
            width = max((len(str(c.value)) for c in col if c.value is not None), default=4)
            ws.column_dimensions[col[0].column_letter].width = min(max(width + 2, 6), 50)
    tmp = out.with_name(f".{out.name}.tmp")
    wb.save(tmp)
    tmp.replace(out)
    return out
