"""CSV files that are safe to open in a spreadsheet (no formula injection).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets (OWASP, "CSV Injection"); a participant id such as ``=HYPERLINK(...)``
would then run on the researcher's machine. Every CSV of ``studies`` and of the app is written through this
module (and ``evaluation``'s features.csv and errors.csv too):
such text cells get a leading apostrophe (``'=HYPERLINK(...)``), which spreadsheets show as text.
Numbers are left alone, in number columns and as number-looking text alike (``-12``, ``+3.5e-2``): they
cannot be formulas, and negative values must stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def escape_cell(value: Any) -> Any:
    """``value`` with a leading apostrophe when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.match(value):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell (and column name) escaped by :func:`escape_cell`."""
    import pandas as pd  # noqa: PLC0415

    out = df.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].map(escape_cell)
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def csv_text(df: pd.DataFrame) -> str:
    """The CSV text of ``df`` (no index), escaped."""
    return safe_frame(df).to_csv(index=False)


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as an escaped CSV (no index), creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(df), encoding="utf-8")
    return path


def escape_csv_text(text: str) -> str:
    """Escape every cell of CSV text written elsewhere (e.g. ``evaluation``'s features.csv), cell by cell:
    numbers and everything else keep their exact text."""
    rows = csv.reader(io.StringIO(text))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([escape_cell(cell) for cell in row])
    return out.getvalue()
