"""Per-piece features: a :class:`~evaluation.midi_io.Piece` becomes a dict of named numbers and arrays.

:func:`compute_features` gathers the metrics of :mod:`evaluation.pitch`, :mod:`evaluation.rhythm` and
:mod:`evaluation.harmony` under fixed names (:data:`SCALAR_FEATURES`, :data:`TEXT_FEATURES`,
:data:`ARRAY_FEATURES`); :func:`feature_definitions` gives a one-line definition and source of each.

Undefined values (one convention everywhere in ``evaluation/``): a feature that has no value for a piece
(an entropy without notes, a mean over no intervals, a groove measure with one bar, a key of a piece without
pitched notes ...) is ``float("nan")``; an array feature that is undefined is all NaN. Counts of nothing are
0, not NaN (``n_pitches_used`` of a drums-only piece is 0). The text feature ``key`` is ``""`` when the key
is undefined. Scalars are Python floats.

MusPy bugs fixed (details in :mod:`evaluation.pitch` and :mod:`evaluation.rhythm`; each has a test in
``tests/evaluation/test_muspy_agreement.py``, ``test_pitch.py`` or ``test_rhythm.py`` that shows MusPy's value
and ours):

1. ``groove_consistency``: MusPy's ``measure_resolution`` is in ticks (users pass steps per bar, MusPy#73)
   and it adds one empty measure; here real bars of the time signatures, 64 steps each, no extra bar.
2. ``pitch_range`` of a drums-only piece: MusPy gives ``-127``; here NaN.
3. ``n_pitch_classes_used`` (and the per-bar ``used_pitch_classes_per_bar``) count distinct pitch classes
   over the whole time span, never time steps: at most 12 (musegan#141 could exceed 12).
4. Minor scales: MusPy's minor masks are natural minor, rotations of the major ones (A minor = C major), so
   its 24 scales are 12 sets and a minor key's leading tone is "out of scale". Here minor = harmonic minor
   (not a rotation of any major scale): ``scale_consistency`` picks among 24 different scales (never below
   MusPy's value) and ``pitch_in_scale_rate`` of a detected minor key counts its leading tone.
5. ``empty_beat_rate``: a note ending exactly on a beat no longer fills the next beat, and the piece has
   ``ceil(length)`` beats, not ``length // resolution + 1``.

Other differences from MusPy's values, not bugs:

6. Notes of zero length (note-off on the note-on's tick) are dropped by the reader
   (:func:`evaluation.read_midi`); MusPy keeps them. Its note-count metrics (``n_pitches_used``,
   ``n_pitch_classes_used``, ``pitch_range``, ``pitch_entropy``, ``pitch_class_entropy``,
   ``scale_consistency``, ``pitch_in_scale_rate``) count them; its time-based ones (``polyphony``,
   ``polyphony_rate``, ``empty_beat_rate``) ignore them, as ours do.
7. ``polyphony_rate`` divides by the end of the tracks as MusPy does (the last note end or control change,
   :attr:`Piece.track_end`); a piece written back by :func:`evaluation.write_midi` has no control changes,
   so its denominator is the last note end.

Other departures (mgeval's first-track-only reading, MuseGAN's paper-vs-code threshold, MusDr's sampled
pairs and CPI denominator) are listed in the docstrings of the functions concerned.
"""

from __future__ import annotations

import numpy as np

from evaluation import pitch, rhythm
from evaluation.midi_io import Piece

NAN = float("nan")

__all__ = ["ARRAY_FEATURES", "SCALAR_FEATURES", "TEXT_FEATURES", "compute_features", "feature_definitions"]

SCALAR_FEATURES: tuple[str, ...] = (
    "n_pitches_used", "n_pitch_classes_used", "pitch_range", "pitch_entropy", "pitch_class_entropy",
    "polyphony", "polyphony_rate", "scale_consistency", "pitch_in_scale_rate", "empty_beat_rate",
    "groove_consistency", "note_count", "average_pitch_interval", "average_ioi", "empty_bar_rate",
    "used_pitch_classes_per_bar", "qualified_note_rate", "pitch_class_entropy_1bar",
    "pitch_class_entropy_4bar", "groove_similarity", "chord_progression_irregularity", "n_unique_chords",
    "chord_change_rate", "no_chord_rate", "key_confidence",
)
TEXT_FEATURES: tuple[str, ...] = ("key",)
ARRAY_FEATURES: tuple[str, ...] = (
    "pitch_class_histogram", "pitch_class_histogram_duration", "pitch_histogram",
    "pitch_class_transition_matrix", "note_length_histogram", "note_length_transition_matrix",
)

_MUSPY = "MusPy (Dong et al. 2020)"
_MGEVAL = "mgeval (Yang & Lerch 2020)"
_MUSEGAN = "MuseGAN (Dong et al. 2018)"
_JAZZ = "Jazz Transformer / MusDr (Wu & Yang 2020)"
_DEFINITIONS: dict[str, str] = {
    "n_pitches_used": f"number of distinct MIDI pitches (drums excluded) - {_MUSPY}",
    "n_pitch_classes_used": f"number of distinct pitch classes, 0-12 - {_MUSPY}",
    "pitch_range":
        f"highest minus lowest pitch, semitones; NaN without pitched notes (MusPy: -127) - {_MUSPY}",
    "pitch_entropy": f"entropy in bits of the note-count histogram of the 128 pitches - {_MUSPY}",
    "pitch_class_entropy": f"entropy in bits of the note-count histogram of the 12 pitch classes - {_MUSPY}",
    "polyphony": f"mean number of distinct pitches sounding while at least one sounds - {_MUSPY}",
    "polyphony_rate":
        f"share of the piece's time (to the last note end or control change) with more than 2 distinct pitches "
        f"sounding - {_MUSPY}",
    "scale_consistency":
        f"largest share of notes inside one of the 12 major / 12 harmonic minor scales - {_MUSPY}, fixed",
    "pitch_in_scale_rate":
        f"share of notes inside the major or harmonic minor scale of the estimated key "
        f"- {_MUSPY}, fixed",
    "empty_beat_rate":
        f"share of beats (quarter notes) with no note sounding, drums included - {_MUSPY}, bug fixed",
    "groove_consistency":
        "1 - mean Hamming distance / 64 between onset vectors of neighbouring bars (64 steps per bar) - "
        f"{_MUSPY}, real bars (MusPy#73 fixed)",
    "note_count": f"number of pitched notes - {_MGEVAL}",
    "average_pitch_interval":
        f"mean |pitch difference| of consecutive notes in onset order, semitones - {_MGEVAL}",
    "average_ioi": f"mean seconds between consecutive distinct onsets - {_MGEVAL}",
    "empty_bar_rate": f"share of bars with no pitched note sounding - {_MUSEGAN} (EB)",
    "used_pitch_classes_per_bar":
        f"mean number of pitch classes sounding per non-empty bar - {_MUSEGAN} (UPC)",
    "qualified_note_rate":
        f"share of notes lasting at least 3 steps of 24 per quarter (a 32nd note) - {_MUSEGAN} (QN)",
    "pitch_class_entropy_1bar":
        f"mean over 1-bar windows of the entropy of the duration-weighted pitch-class histogram, {_JAZZ} H1",
    "pitch_class_entropy_4bar": f"mean over 4-bar windows (stride 1 bar) of the same entropy - {_JAZZ} (H4)",
    "groove_similarity":
        f"mean over all bar pairs of 1 - Hamming distance / 64 of onset vectors (64 steps/bar) - {_JAZZ} GS",
    "chord_progression_irregularity":
        f"distinct chord trigrams / (n - 2), n chords after merging repeats - {_JAZZ}, CPI (n - 3 fixed)",
    "n_unique_chords": "number of distinct chord labels (Harte), chords detected per beat by templates",
    "chord_change_rate": "chord changes per quarter note, chords detected per beat by templates",
    "no_chord_rate": "share of the piece's time labelled N (no chord), chords detected per beat by templates",
    "key_confidence":
        "Pearson correlation of the duration-weighted chroma and the profile of the estimated key - "
        "Krumhansl-Schmuckler",
    "key": "estimated key, e.g. 'D major' - Krumhansl-Schmuckler with Albrecht-Shanahan profiles, home key "
           "(the local key the piece starts and ends in)",
    "pitch_class_histogram": "share of notes on each pitch class (12, sums to 1), count-weighted",
    "pitch_class_histogram_duration":
        f"share of sounding seconds on each pitch class (12, sums to 1) - {_MGEVAL}",
    "pitch_histogram": "share of notes on each MIDI pitch (128, sums to 1), count-weighted",
    "pitch_class_transition_matrix":
        f"12x12 counts of pitch class i followed within 0.05 s by j in the same track - {_MGEVAL}",
    "note_length_histogram":
        f"counts of the 12 note-length classes (whole ... 8th triplet, nearest in quarters) - {_MGEVAL}",
    "note_length_transition_matrix":
        f"12x12 counts of consecutive note-length classes in onset order - {_MGEVAL}",
}


def feature_definitions() -> dict[str, str]:
    """One-line definition and source of every feature, in the order of :func:`compute_features`."""
    return {name: _DEFINITIONS[name] for name in (*SCALAR_FEATURES, *TEXT_FEATURES, *ARRAY_FEATURES)}


def compute_features(piece: Piece) -> dict[str, float | str | np.ndarray]:
    """All per-piece features of ``piece`` (names in :data:`SCALAR_FEATURES`, :data:`TEXT_FEATURES`,
    :data:`ARRAY_FEATURES`; definitions in :func:`feature_definitions`; undefined values NaN).

    The key and chord entries come from :mod:`evaluation.harmony` (key estimated once, chords per beat);
    ``pitch_in_scale_rate`` is for the estimated key. Everything else is shared work on numpy arrays.
    """
    from evaluation import harmony  # noqa: PLC0415  (the slow part; kept out of module import)

    pitched = piece.pitched()
    key = harmony.estimate_key(pitched)
    chords = harmony.chord_statistics(harmony.detect_chords(pitched, per="beat", key=key))
    values = _pitch_and_rhythm(piece, pitched)
    values["pitch_in_scale_rate"] = (pitch.pitch_in_scale_rate(pitched, key.tonic, key.mode)
                                     if np.isfinite(key.score) else NAN)
    for name in ("chord_progression_irregularity", "n_unique_chords", "chord_change_rate", "no_chord_rate"):
        values[name] = float(chords[name])
    values["key_confidence"] = float(key.score)
    values["key"] = key.name if np.isfinite(key.score) else ""
    ordered: dict[str, float | str | np.ndarray] = {name: float(values[name]) for name in SCALAR_FEATURES}
    ordered.update((name, values[name]) for name in (*TEXT_FEATURES, *ARRAY_FEATURES))
    return ordered


def _pitch_and_rhythm(piece: Piece, pitched: Piece) -> dict[str, float | str | np.ndarray]:
    """Every feature except key and chords; intermediate results (bars, onsets, piano-roll sweep) shared."""
    bars = rhythm.bar_grid(piece)
    bar_durations = pitch.bar_pitch_class_durations(pitched, bars)
    used = np.count_nonzero(bar_durations > 0, axis=1)
    onsets = rhythm.bar_onset_matrix(piece, bars=bars)
    pitch_time, segments, sounding = pitch.pitch_activity(pitched)
    covered = float(np.sum(segments[sounding > 0]))
    length_ticks = piece.track_end * piece.ticks_per_quarter
    length_classes = rhythm.note_length_classes(pitched)
    counts = pitch.pitch_counts(pitched)
    classes = pitch.pitch_class_counts(counts)
    return {
        "n_pitches_used": np.count_nonzero(counts),
        "n_pitch_classes_used": np.count_nonzero(classes),
        "pitch_range": pitch.range_from_counts(counts),
        "pitch_entropy": pitch.entropy(counts),
        "pitch_class_entropy": pitch.entropy(classes),
        "polyphony": pitch_time / covered if covered > 0 else NAN,
        "polyphony_rate": float(np.sum(segments[sounding > 2]) / length_ticks) if length_ticks > 0 else NAN,
        "scale_consistency": pitch.scale_consistency_from_counts(classes),
        "empty_beat_rate": rhythm.empty_beat_rate(piece),
        "groove_consistency": rhythm.onset_consistency(onsets),
        "note_count": float(pitched.n_notes),
        "average_pitch_interval": pitch.average_pitch_interval(pitched),
        "average_ioi": rhythm.average_ioi(pitched),
        "empty_bar_rate": np.count_nonzero(used == 0) / used.size if used.size else NAN,
        "used_pitch_classes_per_bar": used.sum() / np.count_nonzero(used) if np.any(used) else NAN,
        "qualified_note_rate": rhythm.qualified_note_rate(pitched),
        "pitch_class_entropy_1bar": pitch.window_entropy(bar_durations, 1),
        "pitch_class_entropy_4bar": pitch.window_entropy(bar_durations, 4),
        "groove_similarity": rhythm.onset_similarity(onsets),
        "pitch_class_histogram": pitch.normalise(classes),
        "pitch_class_histogram_duration": pitch.pitch_class_histogram_duration(pitched),
        "pitch_histogram": pitch.normalise(counts),
        "pitch_class_transition_matrix": pitch.pitch_class_transition_matrix(pitched),
        "note_length_histogram": rhythm.note_length_histogram(pitched, length_classes),
        "note_length_transition_matrix": rhythm.note_length_transition_matrix(pitched, length_classes),
    }

