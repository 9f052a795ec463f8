"""What the Score page says about its classifier two-sample test (no Streamlit here: testable).

``evaluation.scoring.compare_sets`` runs the classifier two-sample test of Lopez-Paz & Oquab (2017) on
``n_per_set`` pieces of each set (the larger set subsampled), cross-validated over ``2 n`` predictions.
With few pieces its accuracy means little: the Wilson 95% interval of an accuracy of 0.5 over ``2 n``
predictions is wider than ±:data:`MAX_HALF_WIDTH` (0.15) below :func:`min_pieces_per_set` = 20 pieces per
set, so a set that small is flagged. An uploaded set that holds pieces of the reference itself compares the
reference with itself: pieces are matched by :func:`note_fingerprint` (the same notes at the same positions
in quarter notes, whatever the file's bytes, tempo or track layout).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MAX_HALF_WIDTH = 0.15  # widest 95% interval (half width) at chance that still tells 0.5 from 0.65
Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_half_width(successes: int, trials: int, z: float = Z95) -> float:
    """Half width of the Wilson (1927) score interval of ``successes / trials``."""
    share = successes / trials
    return z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)


def min_pieces_per_set(max_half_width: float = MAX_HALF_WIDTH) -> int:
    """Fewest pieces per set whose ``2 n`` predictions give a Wilson interval of at most ``max_half_width``
    around an accuracy of 0.5."""
    n = 1
    while wilson_half_width(n, 2 * n) > max_half_width:
        n += 1
    return n


def note_fingerprint(pitch: Any, start: Any, end: Any) -> str:
    """SHA-256 of a piece's notes: (pitch, onset, offset) in 1/96 quarter notes, sorted; tempo-independent."""
    rows = np.column_stack([np.asarray(pitch, dtype=np.int64), np.rint(np.asarray(start, dtype=float) * 96),
                            np.rint(np.asarray(end, dtype=float) * 96)]).astype(np.int64)
    rows = rows[np.lexsort(rows.T[::-1])] if len(rows) else rows
    return hashlib.sha256(rows.tobytes()).hexdigest()


def classifier_table(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per uploaded set: pieces per set, accuracy, its 95% Wilson interval and p (from compare_sets)."""
    rows = []
    for name, entry in summary.get("sets", {}).items():
        if entry.get("role") != "generated":
            continue
        test = entry["distances"]["classifier"]
        finite = isinstance(test.get("accuracy"), float) and math.isfinite(test["accuracy"])
        rows.append({"set": name, "pieces per set": int(test.get("n_per_set", 0)),
                     "predictions": 2 * int(test.get("n_per_set", 0)),
                     "accuracy": test["accuracy"] if finite else None,
                     "95% CI": f"[{test['ci_low']:.2f}, {test['ci_high']:.2f}]" if finite else "n/a",
                     "p (accuracy > 0.5)": test["p_value"] if finite else None})
    return rows


def score_warnings(summary: Mapping[str, Any], duplicates: Mapping[str, Sequence[str]]) -> list[str]:
    """Warnings for the uploaded sets: too few pieces for the classifier test, pieces of the reference.

    ``duplicates``: set name → names of its files whose notes are those of a reference piece.
    """
    minimum = min_pieces_per_set()
    out = []
    for row in classifier_table(summary):
        n = row["pieces per set"]
        if row["accuracy"] is None:
            out.append(f"{row['set']}: fewer than 2 pieces per set reach the classifier test, so there is no "
                       "classifier accuracy.")
        elif n < minimum:
            half = wilson_half_width(n, 2 * n)
            out.append(f"{row['set']}: only {n} pieces per set in the classifier test; at chance its 95% interval "
                       f"spans ±{half:.2f}, so its accuracy says little. Use at least {minimum} pieces per set "
                       f"(interval ±{MAX_HALF_WIDTH:.2f} or narrower).")
    for name, files in duplicates.items():
        if files:
            listed = ", ".join(sorted(files)[:5]) + (" ..." if len(files) > 5 else "")
            out.append(f"{name}: {len(files)} uploaded file(s) have the same notes as pieces of the reference "
                       f"corpus ({listed}): the scores then compare the reference with itself.")
    return out
