"""Pitch features of one :class:`~evaluation.midi_io.Piece`: counts, histograms, entropies, scales, polyphony.

Conventions: pitches are MIDI numbers 0–127, pitch classes 0–11 (C = 0); drum notes are never counted (their
"pitches" are instruments); times in quarter notes unless a name says seconds. Every function is a pure,
vectorised function of a piece. Undefined values are ``nan`` (see :mod:`evaluation.features`). Entropies
are in bits: H = −Σ p log2 p over the non-zero entries.

Metrics and their sources
-------------------------
- MusPy (Dong et al. 2020, ``muspy/metrics/metrics.py``): :func:`n_pitches_used`,
  :func:`n_pitch_classes_used`, :func:`pitch_range`, :func:`pitch_entropy`, :func:`pitch_class_entropy`,
  :func:`polyphony`, :func:`polyphony_rate`, :func:`pitch_in_scale_rate`, :func:`scale_consistency`.
- mgeval (Yang & Lerch 2020): :func:`pitch_class_histogram_duration`, :func:`pitch_class_transition_matrix`,
  :func:`average_pitch_interval`; plus :func:`pitch_histogram`, :func:`pitch_class_histogram` (counts).
- MuseGAN (Dong et al. 2018): :func:`used_pitch_classes_per_bar`.
- Jazz Transformer / MusDr (Wu & Yang 2020): :func:`pitch_class_entropy_bars` (H1, H4).

Differences from MusPy (bugs fixed)
-----------------------------------
- ``pitch_range`` of a piece without pitched notes is NaN (MusPy returns ``0 - 127 = -127`` when every
  track is drums, and 0 when there are no notes).
- ``n_pitch_classes_used`` counts distinct ``pitch % 12`` values over the whole piece (and
  :func:`used_pitch_classes_per_bar` over each bar), never time steps, so it is at most 12 by construction
  (MuseGAN's version gave values such as 65 or 82, musegan#141).
- Scales: MusPy's minor masks are the natural minor, a rotation of the major scale (A minor = C major), so
  its 24 candidate scales of ``scale_consistency`` are only 12 distinct sets, and a minor-key piece's raised
  leading tone (G# in A minor) counts as out of scale. :func:`scale_mask` uses the harmonic minor for minor
  keys (:data:`evaluation.key.MINOR_SCALE`, 0 2 3 5 7 8 11 above the tonic: not a rotation of any major
  scale), so :func:`scale_consistency` chooses among 24 different scales and :func:`pitch_in_scale_rate` of
  a minor key counts its leading tone. Major-key values equal MusPy's; ``scale_consistency`` is never lower
  than MusPy's (Für Elise, MusPy's test piece: 8/9 in E harmonic minor, MusPy 7/9).
"""

from __future__ import annotations

import numpy as np

from evaluation.key import MAJOR_SCALE, MINOR_SCALE
from evaluation.midi_io import Piece
from evaluation.rhythm import bar_grid, window_sums

__all__ = [
    "MAJOR_SCALE",
    "MINOR_SCALE",
    "PITCH_CLASS_TRANSITION_SECONDS",
    "average_pitch_interval",
    "bar_pitch_class_durations",
    "entropy",
    "n_pitch_classes_used",
    "n_pitches_used",
    "normalise",
    "pitch_class_entropy",
    "pitch_class_entropy_bars",
    "pitch_class_histogram",
    "pitch_class_counts",
    "pitch_class_histogram_duration",
    "pitch_class_transition_matrix",
    "pitch_counts",
    "pitch_entropy",
    "pitch_histogram",
    "pitch_in_scale_rate",
    "pitch_activity",
    "pitch_range",
    "polyphony",
    "polyphony_rate",
    "range_from_counts",
    "scale_consistency",
    "scale_consistency_from_counts",
    "scale_mask",
    "used_pitch_classes_per_bar",
    "window_entropy",
]

NAN = float("nan")
#: pretty_midi's ``time_thresh``: a note ending within this many seconds of another's start is a transition.
PITCH_CLASS_TRANSITION_SECONDS = 0.05


def _pitched(piece: Piece) -> Piece:
    return piece.pitched() if piece.is_drum.any() else piece


def _pitches(piece: Piece) -> np.ndarray:
    return piece.pitch[~piece.is_drum].astype(np.int64)


def pitch_counts(piece: Piece) -> np.ndarray:
    """Number of pitched notes on each MIDI pitch, shape (128,), int64. Most pitch features derive from it."""
    return np.bincount(_pitches(piece), minlength=128)


def pitch_class_counts(counts: np.ndarray) -> np.ndarray:
    """Fold a (128,) pitch histogram onto the 12 pitch classes (C = 0), shape (12,)."""
    return np.concatenate([counts, np.zeros(4, dtype=counts.dtype)]).reshape(11, 12).sum(axis=0)


def normalise(counts: np.ndarray) -> np.ndarray:
    """A histogram divided by its sum, as float; all NaN when it sums to 0 (undefined)."""
    total = counts.sum()
    return counts / total if total > 0 else np.full(counts.shape, NAN)


def entropy(weights: np.ndarray) -> float:
    """Shannon entropy in bits of a histogram (normalised here): −Σ p log2 p over non-zero p; NaN if empty."""
    weights = np.asarray(weights, dtype=np.float64)
    total = weights.sum()
    if total <= 0:
        return NAN
    p = weights[weights > 0] / total
    return float(-np.sum(p * np.log2(p)))


def range_from_counts(counts: np.ndarray) -> float:
    """Highest minus lowest used pitch of a (128,) pitch histogram; NaN when it is empty."""
    used = np.flatnonzero(counts)
    return float(used[-1] - used[0]) if used.size else NAN


def n_pitches_used(piece: Piece) -> float:
    """Number of distinct MIDI pitches among pitched notes (0 without notes). MusPy ``n_pitches_used``."""
    return float(np.count_nonzero(pitch_counts(piece)))


def n_pitch_classes_used(piece: Piece) -> float:
    """Number of distinct pitch classes (0–12) among pitched notes. MusPy ``n_pitch_classes_used``."""
    return float(np.count_nonzero(pitch_class_counts(pitch_counts(piece))))


def pitch_range(piece: Piece) -> float:
    """Highest minus lowest pitch in semitones; NaN without pitched notes. MusPy ``pitch_range`` (fixed)."""
    return range_from_counts(pitch_counts(piece))


def pitch_histogram(piece: Piece) -> np.ndarray:
    """Share of pitched notes on each MIDI pitch, shape (128,), sums to 1 (all NaN without notes)."""
    return normalise(pitch_counts(piece))


def pitch_class_histogram(piece: Piece) -> np.ndarray:
    """Share of pitched notes on each pitch class, shape (12,), sums to 1 (all NaN without notes).

    Count-weighted, the histogram behind MusPy's ``pitch_class_entropy``.
    """
    return normalise(pitch_class_counts(pitch_counts(piece)))


def pitch_class_histogram_duration(piece: Piece) -> np.ndarray:
    """Share of sounding time (seconds) on each pitch class, shape (12,), sums to 1 (NaN without notes).

    mgeval ``total_pitch_class_histogram`` (Yang & Lerch 2020) over all tracks (mgeval reads only the first
    track) and without velocity weighting (mgeval sums a pretty_midi piano roll, whose cells are velocities).
    Overlapping notes each count in full.
    """
    pitched = _pitched(piece)
    seconds = pitched.end_seconds - pitched.start_seconds
    return normalise(np.bincount(pitched.pitch.astype(np.int64) % 12, weights=seconds, minlength=12))


def pitch_entropy(piece: Piece) -> float:
    """Entropy (bits) of the note-count histogram over the 128 pitches. MusPy ``pitch_entropy``."""
    return entropy(pitch_counts(piece))


def pitch_class_entropy(piece: Piece) -> float:
    """Entropy (bits) of the note-count histogram over the 12 pitch classes. MusPy ``pitch_class_entropy``."""
    return entropy(pitch_class_counts(pitch_counts(piece)))


def scale_mask(tonic: int, mode: str) -> np.ndarray:
    """Boolean mask (12,) of the pitch classes of the major or (harmonic) minor scale on ``tonic`` (0–11)."""
    if mode not in ("major", "minor"):
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    mask = np.zeros(12, dtype=bool)
    mask[(np.asarray(MAJOR_SCALE if mode == "major" else MINOR_SCALE) + int(tonic)) % 12] = True
    return mask


_ALL_SCALES = np.array([scale_mask(tonic, mode) for mode in ("major", "minor") for tonic in range(12)])


def pitch_in_scale_rate(piece: Piece, tonic: int, mode: str) -> float:
    """Share of pitched notes whose pitch class is in the scale of ``tonic`` ``mode`` (:func:`scale_mask`).

    MusPy ``pitch_in_scale_rate`` (used in MuseGAN), with the harmonic minor for minor keys (module
    docstring). NaN without pitched notes.
    """
    classes = pitch_class_counts(pitch_counts(piece))
    total = classes.sum()
    return float(classes[scale_mask(tonic, mode)].sum() / total) if total else NAN


def scale_consistency(piece: Piece) -> float:
    """Largest :func:`pitch_in_scale_rate` over the 12 major and 12 (harmonic) minor scales.

    MusPy ``scale_consistency`` (after Mogren 2016, C-RNN-GAN). NaN without pitched notes.
    """
    return scale_consistency_from_counts(pitch_class_counts(pitch_counts(piece)))


def scale_consistency_from_counts(classes: np.ndarray) -> float:
    """:func:`scale_consistency` of a (12,) pitch-class count histogram."""
    total = classes.sum()
    return float((_ALL_SCALES @ classes).max() / total) if total else NAN


def pitch_activity(piece: Piece) -> tuple[float, np.ndarray, np.ndarray]:
    """Sweep of the binary piano roll (MusPy ``_get_pianoroll``) without building it.

    Returns ``(pitch_time, segment_lengths, segment_counts)``: the summed length of the piano roll's on cells
    (each pitch's notes merged, so two overlapping notes of one pitch count once), and for the segments
    between consecutive changes the length and the number of distinct pitches sounding. Ticks (int64).
    """
    pitched = _pitched(piece)
    if pitched.n_notes == 0:
        return 0.0, np.zeros(0), np.zeros(0, dtype=np.int64)
    tpq = piece.ticks_per_quarter
    start = np.rint(pitched.start * tpq).astype(np.int64)
    end = np.rint(pitched.end * tpq).astype(np.int64)
    pitch = pitched.pitch.astype(np.int64)
    span = int(end.max()) + 1
    # offset each pitch into its own stretch of time, then sort: one running maximum merges each pitch's notes
    offset = pitch * span
    start = start + offset
    order = np.argsort(start, kind="stable")
    offset, start, end = offset[order], start[order], end[order] + offset[order]
    reach = np.maximum.accumulate(end)
    new = np.ones(start.size, dtype=bool)
    new[1:] = start[1:] >= reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, start.size - 1)
    merged_start = start[first] - offset[first]
    merged_end = reach[last] - offset[first]
    pitch_time = float(np.sum(merged_end - merged_start))
    times = np.concatenate([merged_start, merged_end])
    deltas = np.ones(times.size, dtype=np.int64)
    deltas[first.size:] = -1
    order = np.argsort(times, kind="stable")
    times = times[order]
    sounding = np.cumsum(deltas[order])
    last = np.flatnonzero(np.append(times[1:] != times[:-1], True))  # last event at each distinct time
    return pitch_time, np.diff(times[last]).astype(np.float64), sounding[last[:-1]]


def polyphony(piece: Piece) -> float:
    """Mean number of distinct pitches sounding, over the time when at least one sounds. MusPy ``polyphony``.

    Equal to MusPy's sum of the binary piano roll (drums excluded) divided by its number of non-silent
    steps; computed exactly from the notes. NaN without pitched notes.
    """
    pitch_time, lengths, counts = pitch_activity(piece)
    covered = float(np.sum(lengths[counts > 0]))
    return pitch_time / covered if covered > 0 else NAN


def polyphony_rate(piece: Piece, threshold: int = 2) -> float:
    """Share of the piece's time with more than ``threshold`` distinct pitches on. MusPy ``polyphony_rate``.

    As in MusPy, the denominator is the whole piece, from 0 to the end of its tracks: the last note end (drums
    included) or the last control change, whichever is later (:attr:`Piece.track_end`; MusPy keeps control
    changes as track annotations, so a sustain-pedal release after the last note lengthens the piece). Drum
    notes are not counted as pitches. Called "polyphonicity" in MuseGAN. NaN for a piece of length 0.
    """
    length = piece.track_end
    if length <= 0:
        return NAN
    _, lengths, counts = pitch_activity(piece)
    return float(np.sum(lengths[counts > threshold]) / (length * piece.ticks_per_quarter))


def pitch_class_transition_matrix(piece: Piece,
                                  time_thresh: float = PITCH_CLASS_TRANSITION_SECONDS) -> np.ndarray:
    """Counts of pitch-class transitions, shape (12, 12): row = pitch class of the earlier note.

    mgeval ``pitch_class_transition_matrix`` = pretty_midi ``get_pitch_class_transition_matrix``: within each
    track, note A → note B whenever ``|end(A) − start(B)| < time_thresh`` seconds; summed over pitched tracks.
    Unlike pretty_midi, a note shorter than ``time_thresh`` is not a transition to itself.
    """
    pitched = _pitched(piece)
    if pitched.n_notes < 2:
        return np.zeros((12, 12))
    span = float(max(pitched.end_seconds.max(), pitched.start_seconds.max())) + 2 * time_thresh + 1.0
    track = pitched.track.astype(np.float64) * span
    keys = pitched.start_seconds + track
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    target_end = pitched.end_seconds + track
    low = np.searchsorted(sorted_keys, target_end - time_thresh, side="right")
    high = np.searchsorted(sorted_keys, target_end + time_thresh, side="left")
    classes = pitched.pitch.astype(np.int64) % 12
    # the targets of note i are the notes order[low[i]:high[i]]: count their pitch classes with prefix sums
    # (memory O(notes), however many notes start together) instead of listing every pair
    prefix = np.zeros((pitched.n_notes + 1, 12), dtype=np.int32)
    np.cumsum(np.eye(12, dtype=np.int32)[classes[order]], axis=0, out=prefix[1:])
    rank = np.empty(pitched.n_notes, dtype=np.int64)
    rank[order] = np.arange(pitched.n_notes)
    own = (rank >= low) & (rank < high)  # a note shorter than time_thresh is not its own successor
    matrix = np.zeros((12, 12))
    for first in range(0, pitched.n_notes, 1 << 16):
        rows = slice(first, first + (1 << 16))
        counts = (prefix[high[rows]] - prefix[low[rows]]).astype(np.float64)
        counts[np.flatnonzero(own[rows]), classes[rows][own[rows]]] -= 1
        np.add.at(matrix, classes[rows], counts)
    return matrix


def average_pitch_interval(piece: Piece) -> float:
    """Mean absolute interval in semitones between consecutive pitched notes in onset (then pitch) order.

    mgeval ``avg_pitch_shift`` (Yang & Lerch 2020) over all tracks merged into one sequence (mgeval reads one
    track). NaN with fewer than two pitched notes.
    """
    pitches = _pitches(piece)
    if pitches.size < 2:
        return NAN
    return float(np.mean(np.abs(np.diff(pitches))))


def bar_pitch_class_durations(piece: Piece, bars: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Quarter notes of sounding time per bar and pitch class, shape ``(n_bars, 12)``.

    Bars of :func:`~evaluation.rhythm.bar_grid` (``bars`` passes them precomputed, from the whole piece).
    A note spanning a bar line contributes its overlap with each bar; drums are excluded.
    """
    starts, lengths = bar_grid(piece) if bars is None else bars
    pitched = _pitched(piece)
    return window_sums(pitched.start, pitched.end, starts, starts + lengths, pitched.pitch.astype(np.int64) % 12, 12)


def used_pitch_classes_per_bar(piece: Piece) -> float:
    """Mean number of distinct pitch classes sounding per bar, over bars where a pitched note sounds.

    MuseGAN "UPC" (Dong et al. 2018), all tracks together; empty bars are left out (they are
    :func:`~evaluation.rhythm.empty_bar_rate`). NaN when every bar is empty.
    """
    used = np.count_nonzero(bar_pitch_class_durations(piece) > 0, axis=1)
    used = used[used > 0]
    return float(used.mean()) if used.size else NAN


def window_entropy(durations: np.ndarray, bars: int) -> float:
    """Mean entropy (bits) of the pitch-class histograms of windows of ``bars`` rows of a ``(n_bars, 12)``
    matrix (stride 1, empty windows skipped, one window when ``bars`` exceeds the rows); NaN if none."""
    n_bars = durations.shape[0]
    if n_bars == 0:
        return NAN
    bars = min(bars, n_bars)
    cumulative = np.vstack([np.zeros((1, 12)), np.cumsum(durations, axis=0)])
    windows = cumulative[bars:] - cumulative[:-bars]
    totals = windows.sum(axis=1)
    windows, totals = windows[totals > 1e-12], totals[totals > 1e-12]
    if totals.size == 0:
        return NAN
    p = windows / totals[:, None]
    terms = p * np.log2(np.where(p > 0, p, 1.0))
    return float(-terms.sum() / totals.size)


def pitch_class_entropy_bars(piece: Piece, bars: int) -> float:
    """Mean over windows of ``bars`` consecutive bars of the entropy (bits) of the duration-weighted
    pitch-class histogram. Jazz Transformer "H1"/"H4" (Wu & Yang 2020) for ``bars`` = 1/4.

    Windows start at every bar (stride 1) and windows without notes are skipped, as in MusDr
    ``compute_piece_pitch_entropy``; a piece shorter than ``bars`` bars is one window. MusDr weights each
    note-on event once; here each pitch class is weighted by its sounding time in the window
    (:func:`bar_pitch_class_durations`). NaN when no window has a pitched note.
    """
    if bars < 1:
        raise ValueError(f"a window has at least 1 bar, got {bars}")
    return window_entropy(bar_pitch_class_durations(piece), bars)
