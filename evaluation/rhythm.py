"""Rhythm features of one :class:`~evaluation.midi_io.Piece`: beats, bars, onsets, note lengths.

Conventions (as in :mod:`evaluation.midi_io`): times in quarter notes, a beat is one quarter note, bars come
from the file's time signatures (:func:`bar_grid`). Every function is a pure function of a piece, vectorised
with numpy. Undefined values are ``nan`` (see :mod:`evaluation.features`). Which notes count is stated per
function: MusPy's metrics count every note (drums too), as MusPy does; the others count pitched notes only.

Metrics and their sources
-------------------------
- :func:`empty_beat_rate`, :func:`groove_consistency`: MusPy (Dong et al. 2020, ``muspy/metrics/metrics.py``).
- :func:`note_count`, :func:`average_ioi`, :func:`note_length_histogram`,
  :func:`note_length_transition_matrix`: mgeval (Yang & Lerch 2020, "On the evaluation of generative
  models in music", Neural Computing and Applications).
- :func:`empty_bar_rate`, :func:`qualified_note_rate`: MuseGAN (Dong et al. 2018, AAAI).
- :func:`groove_similarity`: Jazz Transformer / MusDr (Wu & Yang 2020, ISMIR).

MusPy bugs fixed here (where our values differ from ``muspy.metrics``)
--------------------------------------------------------------------
- ``empty_beat_rate``: MusPy marks beats ``start // resolution`` to ``end // resolution`` inclusive, so a note
  ending exactly on a beat also fills the next beat, and it counts ``length // resolution + 1`` beats (one
  beat too many when the piece ends on a beat). Here a note fills the beats it sounds in, ``[floor(start),
  ceil(end))``, out of ``ceil(length)`` beats.
- ``groove_consistency``: MusPy takes ``measure_resolution`` as a number of *ticks* (users pass steps per
  bar, MusPy#73), cuts the piece into equal chunks of that many ticks whatever the time signature, and adds
  one empty measure at the end (``length // measure_resolution + 1``), which always costs one comparison with
  an empty bar. Here bars are the real bars of the time signatures (:func:`bar_grid`), each cut into
  :data:`GROOVE_STEPS` steps, and there is no extra bar.
"""

from __future__ import annotations

import numpy as np

from evaluation.midi_io import Piece

__all__ = [
    "GROOVE_STEPS",
    "NOTE_LENGTH_CLASSES",
    "NOTE_LENGTH_NAMES",
    "QUALIFIED_NOTE_MIN_STEPS",
    "QUALIFIED_NOTE_STEPS_PER_QUARTER",
    "average_ioi",
    "bar_grid",
    "bar_onset_matrix",
    "empty_bar_rate",
    "empty_beat_rate",
    "groove_consistency",
    "groove_similarity",
    "note_count",
    "note_length_classes",
    "note_length_histogram",
    "note_length_transition_matrix",
    "onset_consistency",
    "onset_similarity",
    "qualified_note_rate",
    "iter_window_overlaps",
    "window_overlaps",
    "window_sums",
]

NAN = float("nan")

#: Steps per bar of the onset grid used by :func:`groove_consistency` and :func:`groove_similarity`: every
#: bar, whatever its length, is cut into 64 equal steps (in 4/4 a step is a 64th note, the Jazz
#: Transformer's 64 ``Position`` events per bar); an onset goes to the nearest step.
GROOVE_STEPS = 64

#: mgeval's 12 note-length classes, in quarter notes (mgeval measures them in units of bar/96 of a 4/4 bar:
#: 96, 48, 24, 12, 6, 72, 36, 18, 9, 32, 16, 8 units).
NOTE_LENGTH_CLASSES = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 3.0, 1.5, 0.75, 0.375, 4 / 3, 2 / 3, 1 / 3])
NOTE_LENGTH_NAMES = ("whole", "half", "quarter", "8th", "16th", "dotted half", "dotted quarter", "dotted 8th",
                     "dotted 16th", "half triplet", "quarter triplet", "8th triplet")

#: MuseGAN's time grid (24 steps per quarter note, 96 per 4/4 bar) and its "qualified note" threshold of
#: three steps (a 32nd note) as the paper states; its code uses ``threshold=2``.
QUALIFIED_NOTE_STEPS_PER_QUARTER = 24
QUALIFIED_NOTE_MIN_STEPS = 3


def _pitched(piece: Piece) -> Piece:
    return piece.pitched() if piece.is_drum.any() else piece


def bar_grid(piece: Piece) -> tuple[np.ndarray, np.ndarray]:
    """Bars of a piece: ``(starts, lengths)`` in quarter notes, shape ``(n_bars,)`` each.

    Bars run from 0 to the end of the last note (drums included), from the time signatures in force
    (:meth:`Piece.bar_starts`; 4/4 when the file has none). A bar cut short by a time-signature change is
    shorter; the last bar has its full length even when the piece ends inside it.
    """
    starts = piece.bar_starts()
    if starts.size == 0:
        return starts, starts.copy()
    signatures = piece.time_signatures
    last = np.searchsorted(signatures[:, 0], starts[-1], side="right") - 1
    last_length = signatures[last, 1] * 4.0 / signatures[last, 2]
    lengths = np.diff(np.append(starts, starts[-1] + last_length))
    return starts, lengths


#: At most this many (note, window) pairs are built at a time by :func:`iter_window_overlaps` (about 2 MB of
#: arrays), so that long notes over many short windows cannot make memory grow with notes × windows.
MAX_PAIRS_PER_CHUNK = 1 << 16


def iter_window_overlaps(start: np.ndarray, end: np.ndarray, window_starts: np.ndarray, window_ends: np.ndarray,
                         max_pairs: int = MAX_PAIRS_PER_CHUNK):
    """:func:`window_overlaps` in chunks of notes (in order) with at most ``max_pairs`` pairs each (one note
    spanning more windows makes a chunk of its own); yields ``(note, window, overlap)`` with the indices of
    the whole arrays. Reductions over the pairs (sums per window, minima) accumulate chunk by chunk."""
    n_windows = len(window_starts)
    if n_windows == 0 or len(start) == 0:
        return
    first = np.clip(np.searchsorted(window_starts, start, side="right") - 1, 0, n_windows - 1)
    last = np.maximum(np.clip(np.searchsorted(window_ends, end, side="left"), 0, n_windows - 1), first)
    counts = last - first + 1
    total = np.cumsum(counts)
    cuts = np.unique(np.searchsorted(total, np.arange(max_pairs, int(total[-1]), max_pairs), side="left"))
    bounds = np.unique(np.concatenate([[0], np.minimum(cuts + 1, len(start)), [len(start)]]))
    for low, high in zip(bounds[:-1], bounds[1:], strict=True):
        chunk = counts[low:high]
        note = np.repeat(np.arange(low, high), chunk)
        window = (np.repeat(first[low:high], chunk) + np.arange(int(chunk.sum()))
                  - np.repeat(np.cumsum(chunk) - chunk, chunk))
        overlap = np.minimum(end[note], window_ends[window]) - np.maximum(start[note], window_starts[window])
        keep = overlap > 0
        yield note[keep], window[keep], overlap[keep]


def window_overlaps(start: np.ndarray, end: np.ndarray, window_starts: np.ndarray,
                    window_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (note, window) pair that overlaps for a positive time, vectorised.

    ``start``/``end`` (n,) are note spans and ``window_starts``/``window_ends`` (W,) sorted, contiguous
    windows (beats, bars), all in quarter notes. Returns ``(note, window, overlap)``: note and window indices
    and the length of their overlap, one entry per overlapping pair. Notes outside the windows count in the
    first or last window. The pairs of a long piece can be many: :func:`iter_window_overlaps` gives them in
    chunks of bounded size.
    """
    chunks = list(iter_window_overlaps(start, end, window_starts, window_ends))
    if not chunks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return tuple(np.concatenate(parts) for parts in zip(*chunks, strict=True))  # type: ignore[return-value]


def window_sums(start: np.ndarray, end: np.ndarray, window_starts: np.ndarray, window_ends: np.ndarray,
                column: np.ndarray, n_columns: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum per window and column of the notes' overlaps with the windows (times ``weights`` per note):
    shape (W, n_columns); ``column`` (n,) gives each note's column (e.g. its pitch class). Computed chunk by
    chunk (:func:`iter_window_overlaps`), so memory stays O(W × n_columns + chunk)."""
    n_windows = len(window_starts)
    totals = np.zeros(n_windows * n_columns)
    for note, window, overlap in iter_window_overlaps(start, end, window_starts, window_ends):
        values = overlap if weights is None else overlap * weights[note]
        totals += np.bincount(window * n_columns + column[note], weights=values, minlength=n_windows * n_columns)
    return totals.reshape(n_windows, n_columns)


def _bar_index(starts: np.ndarray, times: np.ndarray) -> np.ndarray:
    return np.searchsorted(starts, times, side="right") - 1


def empty_beat_rate(piece: Piece) -> float:
    """Share of beats (quarter notes) in which no note sounds, drums included. MusPy ``empty_beat_rate``.

    A note fills beats ``floor(start)`` to ``ceil(end) - 1``; the piece has ``ceil(length)`` beats, length
    being the end of its last note. NaN for a piece of length 0. MusPy's off-by-one at beat boundaries is
    fixed (module docstring).
    """
    if piece.n_notes == 0 or piece.duration <= 0:
        return NAN
    n_beats = int(np.ceil(piece.duration - 1e-9))
    first = np.floor(piece.start + 1e-9).astype(np.int64)
    stop = np.ceil(piece.end - 1e-9).astype(np.int64)
    sounding = np.cumsum(np.bincount(first, minlength=n_beats + 1) - np.bincount(stop, minlength=n_beats + 1))
    return float(1.0 - np.count_nonzero(sounding[:n_beats] > 0) / n_beats)


def empty_bar_rate(piece: Piece) -> float:
    """Share of bars in which no pitched note sounds. MuseGAN "EB" (Dong et al. 2018), over all tracks.

    Bars from :func:`bar_grid`; a note sounds in a bar when it overlaps it for a positive time. NaN for a
    piece without bars.
    """
    starts, _ = bar_grid(piece)
    if starts.size == 0:
        return NAN
    pitched = _pitched(piece)
    n_bars = starts.size
    first = _bar_index(starts, pitched.start)
    stop = np.searchsorted(starts, pitched.end, side="left")
    sounding = np.cumsum(np.bincount(first, minlength=n_bars + 1) - np.bincount(stop, minlength=n_bars + 1))
    return float(1.0 - np.count_nonzero(sounding[:n_bars] > 0) / n_bars)


def bar_onset_matrix(piece: Piece, steps: int = GROOVE_STEPS,
                     bars: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Binary onset vectors of the bars: shape ``(n_bars, steps)``, True where a note (drums included) starts.

    Each bar of :func:`bar_grid` (or of ``bars``, precomputed) is cut into ``steps`` equal steps; an onset
    goes to the nearest step (one rounding to the next bar's first step belongs to that bar).
    """
    starts, lengths = bar_grid(piece) if bars is None else bars
    n_bars = starts.size
    matrix = np.zeros(n_bars * steps, dtype=bool)
    if n_bars == 0:
        return matrix.reshape(0, steps)
    onsets = piece.start
    bar = np.clip(_bar_index(starts, onsets), 0, n_bars - 1)
    step = np.rint((onsets - starts[bar]) / lengths[bar] * steps).astype(np.int64)
    matrix[np.clip(bar * steps + step, 0, n_bars * steps - 1)] = True
    return matrix.reshape(n_bars, steps)


def groove_consistency(piece: Piece, steps: int = GROOVE_STEPS) -> float:
    """1 − mean Hamming distance / ``steps`` between the onset vectors of neighbouring bars.

    MusPy ``groove_consistency`` (after Wu & Yang 2020), with the real bars of the time signatures and a
    fixed grid of ``steps`` steps per bar (:func:`bar_onset_matrix`) instead of MusPy's tick chunks plus one
    extra empty measure (module docstring). NaN with fewer than two bars.
    """
    return onset_consistency(bar_onset_matrix(piece, steps))


def onset_consistency(onsets: np.ndarray) -> float:
    """1 − mean Hamming distance / steps between neighbouring rows of a ``(n_bars, steps)`` onset matrix."""
    n_bars, steps = onsets.shape
    if n_bars < 2:
        return NAN
    return float(1.0 - np.count_nonzero(onsets[1:] != onsets[:-1]) / (steps * (n_bars - 1)))


def groove_similarity(piece: Piece, steps: int = GROOVE_STEPS) -> float:
    """Mean over all pairs of bars of 1 − Hamming distance / ``steps`` of their onset vectors.

    Jazz Transformer "GS" (Wu & Yang 2020; MusDr ``compute_piece_groove_similarity``), on the grid of
    :func:`bar_onset_matrix` (64 steps per bar as MusDr's 64 positions), drums included, empty bars
    included. Exact over all pairs (MusDr samples at most 1,000 pairs at random): a step that has an onset in
    ``c`` of ``n`` bars differs in ``c (n - c)`` pairs. NaN with fewer than two bars.
    """
    return onset_similarity(bar_onset_matrix(piece, steps))


def onset_similarity(onsets: np.ndarray) -> float:
    """Mean over all pairs of rows of 1 − Hamming distance / steps of a ``(n_bars, steps)`` onset matrix."""
    n_bars, steps = onsets.shape
    if n_bars < 2:
        return NAN
    counts = onsets.sum(axis=0).astype(np.float64)
    n_pairs = n_bars * (n_bars - 1) / 2
    return 1.0 - float(np.sum(counts * (n_bars - counts))) / (steps * n_pairs)


def note_count(piece: Piece) -> float:
    """Number of pitched notes. mgeval "note count" (Yang & Lerch 2020), over all tracks."""
    return float(np.count_nonzero(~piece.is_drum))


def average_ioi(piece: Piece) -> float:
    """Mean inter-onset interval in seconds between consecutive distinct onsets of pitched notes.

    mgeval "average IOI" (Yang & Lerch 2020), over all tracks; simultaneous onsets count once (mgeval's
    pretty_midi onsets keep duplicates, adding zero intervals). NaN with fewer than two distinct onsets.
    """
    pitched = _pitched(piece)
    if pitched.n_notes < 2:
        return NAN
    n_onsets = 1 + np.count_nonzero(np.diff(pitched.start) > 0)  # notes are sorted by onset
    if n_onsets < 2:
        return NAN
    return float((pitched.start_seconds[-1] - pitched.start_seconds[0]) / (n_onsets - 1))


def note_length_classes(piece: Piece) -> np.ndarray:
    """Class index 0–11 of each pitched note (order of the piece: by onset, then pitch).

    The class is the nearest of :data:`NOTE_LENGTH_CLASSES` to the note's duration in quarter notes
    (mgeval, Yang & Lerch 2020; ties go to the first class in that order).
    """
    pitched = _pitched(piece)
    durations = pitched.end - pitched.start
    return np.argmin(np.abs(durations[:, None] - NOTE_LENGTH_CLASSES[None, :]), axis=1)


def note_length_histogram(piece: Piece, classes: np.ndarray | None = None) -> np.ndarray:
    """Counts of the 12 mgeval note-length classes over all pitched notes, shape (12,), float.

    mgeval ``note_length_hist`` (Yang & Lerch 2020) unnormalised, over all tracks, classes in quarter notes
    (:func:`note_length_classes`; ``classes`` passes them precomputed).
    """
    classes = note_length_classes(piece) if classes is None else classes
    return np.bincount(classes, minlength=12).astype(np.float64)


def note_length_transition_matrix(piece: Piece, classes: np.ndarray | None = None) -> np.ndarray:
    """Counts of note-length class ``i`` followed by class ``j``, shape (12, 12), float.

    mgeval ``note_length_transition_matrix`` (Yang & Lerch 2020), over all pitched notes taken in onset order
    (then pitch), as one sequence (``classes`` passes :func:`note_length_classes` precomputed).
    """
    classes = note_length_classes(piece) if classes is None else classes
    if classes.size < 2:
        return np.zeros((12, 12))
    return np.bincount(classes[:-1] * 12 + classes[1:], minlength=144).reshape(12, 12).astype(np.float64)


def qualified_note_rate(piece: Piece, min_steps: int = QUALIFIED_NOTE_MIN_STEPS,
                        steps_per_quarter: int = QUALIFIED_NOTE_STEPS_PER_QUARTER) -> float:
    """Share of pitched notes lasting at least ``min_steps`` steps of a ``steps_per_quarter`` grid.

    MuseGAN "QN" (Dong et al. 2018): its piano rolls have 24 steps per beat (96 per 4/4 bar) and the paper
    counts notes "no shorter than three time steps (i.e. a 32th note)"; its code uses ``threshold=2``. We use
    3 steps of 24 per quarter: at least 0.125 quarter notes. NaN without pitched notes.
    """
    pitched = _pitched(piece)
    if pitched.n_notes == 0:
        return NAN
    steps = (pitched.end - pitched.start) * steps_per_quarter
    return float(np.count_nonzero(steps >= min_steps - 1e-9) / pitched.n_notes)
