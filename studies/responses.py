"""Answers of a Turing-style listening test as a validated DataFrame.

One row per answer. Required columns: ``participant``, ``stimulus``, ``truth`` (what the clip really is) and
``answer`` (what the participant said). Optional columns such as ``group``, ``model``, ``confidence`` and
``test_type`` are kept as they are.

Labels are normalised case-insensitively: ``machine``, ``generated``, ``ai``, ``computer`` → ``"computer"``
and ``human`` → ``"human"``. Any other label (including an empty cell or "not sure") is an error: the study
must decide how such answers are handled before the statistics are computed, not silently here.

Row numbers in error messages count the CSV header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from studies.errors import StudyError

REQUIRED_COLUMNS: tuple[str, ...] = ("participant", "stimulus", "truth", "answer")
COMPUTER = "computer"
HUMAN = "human"
LABELS: dict[str, str] = {
    "machine": COMPUTER,
    "generated": COMPUTER,
    "ai": COMPUTER,
    "computer": COMPUTER,
    "human": HUMAN,
}


def normalize_label(value: object, *, source: str = "responses", row: int | None = None,
                    column: str = "answer") -> str:
    """Map one label to ``"computer"`` or ``"human"``; raise :class:`StudyError` naming where it was."""
    key = str(value).strip().lower() if isinstance(value, str) else None
    if key in LABELS:
        return LABELS[key]
    where = f"{source}, row {row}" if row is not None else source
    raise StudyError(
        f"{where}: {column} value {value!r} is not a known label; use 'computer' (or machine/generated/ai) "
        f"or 'human'"
    )


def normalize_responses(df: pd.DataFrame, *, source: str = "responses") -> pd.DataFrame:
    """Validate a responses table and normalise its labels.

    Parameters
    ----------
    df : DataFrame with at least the columns of :data:`REQUIRED_COLUMNS` (names are matched after stripping
        spaces and lower-casing).
    source : name of the file or table, used in error messages.

    Returns
    -------
    A new DataFrame with a fresh 0..n-1 index, ``participant`` and ``stimulus`` as strings and
    ``truth``/``answer`` in {"computer", "human"}.
    """
    out = df.copy()
    out.columns = [str(c).strip().lower() for c in out.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in out.columns]
    if missing:
        raise StudyError(
            f"{source}: missing required column(s) {', '.join(missing)}; a responses table needs "
            f"{', '.join(REQUIRED_COLUMNS)} (found: {', '.join(map(str, out.columns)) or 'none'})"
        )
    out = out.reset_index(drop=True)
    for col in ("participant", "stimulus"):
        bad = out[col].isna() | (out[col].astype(str).str.strip() == "")
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0]) + 2
            raise StudyError(f"{source}, row {row}: {col} is empty; every answer needs a {col} id")
        out[col] = out[col].astype(str).str.strip()
    for col in ("truth", "answer"):
        out[col] = [normalize_label(v, source=source, row=i + 2, column=col)
                    for i, v in enumerate(out[col].tolist())]
    return out


def load_responses_csv(path: str | Path) -> pd.DataFrame:
    """Read a responses CSV and return :func:`normalize_responses` of it (ids are read as text)."""
    path = Path(path)
    if not path.is_file():
        raise StudyError(f"{path}: no such responses file; pass a CSV with columns "
                         f"{', '.join(REQUIRED_COLUMNS)}")
    try:
        df = pd.read_csv(path, dtype={"participant": str, "stimulus": str})
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise StudyError(f"{path}: cannot read as CSV ({exc}); save it as UTF-8 comma-separated "
                         "text") from exc
    return normalize_responses(df, source=str(path))
