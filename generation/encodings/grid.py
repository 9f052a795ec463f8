"""Reading a piece on a time grid: which pitches sound, and which start, at each step.

A note *sounds* at time t when ``start <= t < end`` and *starts* at step k when its onset rounds to k
(times in quarter notes, or in seconds for frame grids; a 1e-9 tolerance absorbs float error). Drums are
never read. The Markov chord baseline (:mod:`generation.baselines`) and the multi-hot, piano-roll and
biaxial encodings share these readings.
"""

from __future__ import annotations

import numpy as np

from evaluation import Piece

__all__ = ["Chord", "chords_per_beat", "grid_length", "onset_steps", "runs_to_notes", "sounding_matrix"]

Chord = tuple[int, ...]  # sorted MIDI pitches sounding together; () is a rest

_EPS = 1e-9


def grid_length(end: float, step: float) -> int:
    """Steps of ``step`` needed to cover ``[0, end)``."""
    return int(np.ceil(end / step - _EPS)) if end > 0 else 0


def sounding_matrix(start: np.ndarray, end: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Boolean (T, N): note n sounds at ``times[t]`` (``start <= t < end``, within 1e-9)."""
    return (start[None, :] <= times[:, None] + _EPS) & (end[None, :] > times[:, None] + _EPS)


def chords_per_beat(piece: Piece, beat: float = 1.0) -> list[Chord]:
    """Sets of non-drum pitches sounding at the start of each beat, from 0 to the end of the piece.

    A note sounds at time t when ``start <= t < end`` (times in quarter notes; ``beat`` in quarter notes).
    """
    pitched = piece.pitched()
    n_beats = grid_length(pitched.duration, beat)
    if n_beats == 0:
        return []
    sounding = sounding_matrix(pitched.start, pitched.end, np.arange(n_beats) * beat)
    return [tuple(sorted(set(pitched.pitch[row].tolist()))) for row in sounding]


def onset_steps(times: np.ndarray, step: float) -> np.ndarray:
    """Index of the grid step nearest each time (half-way rounds up)."""
    return np.floor(np.asarray(times, dtype=np.float64) / step + 0.5).astype(np.int64)


def runs_to_notes(on: np.ndarray, articulate: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Notes from a boolean roll ``on`` (T, P): a note is a run of consecutive on-steps of one column, and a
    new one starts inside a run wherever ``articulate`` (T, P) is true. Returns (column, first step,
    step after the last) arrays."""
    on = np.asarray(on, dtype=bool)
    steps, columns = on.shape
    padded = np.vstack([np.zeros((1, columns), bool), on, np.zeros((1, columns), bool)])
    begins = padded[1:-1] & ~padded[:-2]
    if articulate is not None:
        begins |= on & np.asarray(articulate, dtype=bool)
    begin_t, begin_c = np.nonzero(begins)
    if begin_t.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    # each run ends at the first step after it that is off or starts a new note
    order = np.lexsort((begin_t, begin_c))
    begin_t, begin_c = begin_t[order], begin_c[order]
    off_after = np.vstack([~on[1:] | begins[1:], np.ones((1, columns), bool)])  # step t+1 ends the note
    ends = np.empty_like(begin_t)
    for column in np.unique(begin_c):
        stops = np.flatnonzero(off_after[:, column]) + 1
        chosen = begin_c == column
        ends[chosen] = stops[np.searchsorted(stops, begin_t[chosen], side="right")]
    return begin_c, begin_t, ends
