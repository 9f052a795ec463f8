"""Pitch features on hand-built pieces; every expected value is worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation import pitch
from tests.evaluation.midi_fixtures_features import (
    CHORDS,
    c_major_scale,
    chord_progression,
    drums_only,
    empty_middle_bar,
    fur_elise,
    piece,
    sequence,
)

# MusPy's published values for its Für Elise fixture (muspy tests/test_metrics.py): E5 x3, D#5 x2, B4, D5,
# C5, A4 -> counts 3, 2, 1, 1, 1, 1 of 9 over 6 pitches and 6 pitch classes.
FUR_ELISE_ENTROPY = 2.4193819456463714


def test_c_major_scale_counts_range_and_interval() -> None:
    scale = c_major_scale()
    assert pitch.n_pitches_used(scale) == 8
    assert pitch.n_pitch_classes_used(scale) == 7  # C4 and C5 share a class
    assert pitch.pitch_range(scale) == 12
    # steps 2 2 1 2 2 2 1 = 12 semitones over 7 intervals
    assert pitch.average_pitch_interval(scale) == pytest.approx(12 / 7)


def test_c_major_scale_entropies() -> None:
    scale = c_major_scale()
    assert pitch.pitch_entropy(scale) == pytest.approx(3.0)  # 8 equally frequent pitches: log2 8
    # C has 2 of 8 notes, six classes 1 of 8: 2/8 * 2 + 6 * (1/8 * 3) = 0.5 + 2.25
    assert pitch.pitch_class_entropy(scale) == pytest.approx(2.75)


def test_c_major_scale_histograms() -> None:
    scale = c_major_scale()
    expected = np.zeros(12)
    expected[[0, 2, 4, 5, 7, 9, 11]] = [2, 1, 1, 1, 1, 1, 1]
    np.testing.assert_allclose(pitch.pitch_class_histogram(scale), expected / 8)
    # equal durations: duration weighting gives the same shares
    np.testing.assert_allclose(pitch.pitch_class_histogram_duration(scale), expected / 8)
    histogram = pitch.pitch_histogram(scale)
    assert histogram.shape == (128,) and histogram.sum() == pytest.approx(1.0)
    assert histogram[60] == histogram[72] == pytest.approx(1 / 8) and histogram[61] == 0


def test_duration_weighted_histogram_weights_by_seconds() -> None:
    # C4 lasting 3 quarters, then G4 lasting 1: C has 3/4 of the sounding time but 1/2 of the notes
    notes = piece([[(60, 0.0, 3.0), (67, 3.0, 4.0)]])
    assert pitch.pitch_class_histogram(notes)[0] == pytest.approx(0.5)
    assert pitch.pitch_class_histogram_duration(notes)[0] == pytest.approx(0.75)
    assert pitch.pitch_class_histogram_duration(notes)[7] == pytest.approx(0.25)


def test_scale_consistency_and_pitch_in_scale_rate() -> None:
    scale = c_major_scale()
    assert pitch.scale_consistency(scale) == 1.0
    assert pitch.pitch_in_scale_rate(scale, 0, "major") == 1.0
    assert pitch.pitch_in_scale_rate(scale, 9, "minor") == pytest.approx(7 / 8)  # G is not in A harmonic minor
    # D major (D E F# G A B C#): C4, F4 and C5 are outside -> 5 of 8
    assert pitch.pitch_in_scale_rate(scale, 2, "major") == pytest.approx(5 / 8)


def test_minor_scale_masks_are_harmonic_minor_not_rotations_of_major() -> None:
    a_minor = pitch.scale_mask(9, "minor")
    assert set(np.flatnonzero(a_minor)) == {9, 11, 0, 2, 4, 5, 8}  # A B C D E F G#
    # MusPy's minor masks equal the relative major's; ours equal no major scale: 24 distinct scales
    majors = {tuple(pitch.scale_mask(tonic, "major")) for tonic in range(12)}
    minors = {tuple(pitch.scale_mask(tonic, "minor")) for tonic in range(12)}
    assert len(majors) == len(minors) == 12 and not majors & minors
    # an A harmonic minor scale is wholly in A minor (natural-minor masks: 7 of 8)
    harmonic = piece([sequence([57, 59, 60, 62, 64, 65, 68, 69])])
    assert pitch.pitch_in_scale_rate(harmonic, 9, "minor") == 1.0
    assert pitch.scale_consistency(harmonic) == 1.0
    with pytest.raises(ValueError, match="mode must be"):
        pitch.scale_mask(0, "dorian")


def test_polyphony_of_a_chord_progression() -> None:
    chords = chord_progression()
    # 3, 3, 4, 4 pitches for one bar each
    assert pitch.polyphony(chords) == pytest.approx(3.5)
    assert pitch.polyphony_rate(chords) == 1.0  # always more than 2 pitches
    assert pitch.polyphony_rate(chords, threshold=3) == pytest.approx(0.5)  # more than 3 in bars 3-4
    assert pitch.n_pitches_used(chords) == len({p for chord in CHORDS for p in chord}) == 9


def test_polyphony_counts_overlapping_notes_of_one_pitch_once() -> None:
    # two tracks both play C4 over 0-2 (one pitch in MusPy's binary piano roll), E4 over 1-2
    doubled = piece([[(60, 0.0, 2.0)], [(60, 0.0, 2.0), (64, 1.0, 2.0)]])
    # piano roll: 1 pitch over 0-1, 2 pitches over 1-2 -> (1 + 2) / 2
    assert pitch.polyphony(doubled) == pytest.approx(1.5)
    assert pitch.polyphony_rate(doubled, threshold=1) == pytest.approx(0.5)


def test_polyphony_rate_denominator_is_the_whole_piece_from_zero() -> None:
    # a C major triad over 2-4: more than 2 pitches for 2 of the 4 quarter notes since time 0
    late = piece([[(60, 2.0, 4.0), (64, 2.0, 4.0), (67, 2.0, 4.0)]])
    assert pitch.polyphony_rate(late) == pytest.approx(0.5)
    assert pitch.polyphony(late) == pytest.approx(3.0)  # silence does not count in polyphony


def test_fur_elise_reproduces_muspy_published_values() -> None:
    elise = fur_elise(resolution=24)
    assert pitch.n_pitches_used(elise) == 6
    assert pitch.n_pitch_classes_used(elise) == 6
    assert pitch.pitch_range(elise) == 7
    assert pitch.polyphony(elise) == 1
    assert pitch.polyphony_rate(elise) == 0
    assert pitch.pitch_in_scale_rate(elise, 0, "major") == pytest.approx(7 / 9)  # MusPy's scale_consistency
    # E D# E D# E B D C A: 8 of 9 in E harmonic minor (only D is out); MusPy's natural minor masks give 7/9
    assert pitch.scale_consistency(elise) == pytest.approx(8 / 9)
    assert pitch.pitch_entropy(elise) == pytest.approx(FUR_ELISE_ENTROPY, abs=1e-12)
    assert pitch.pitch_class_entropy(elise) == pytest.approx(FUR_ELISE_ENTROPY, abs=1e-12)


def test_drums_only_piece_has_no_pitch_range() -> None:
    # MusPy returns 0 - 127 = -127 here (its highest/lowest start at 0/127 and drums are skipped)
    drums = drums_only()
    assert math.isnan(pitch.pitch_range(drums))
    assert pitch.n_pitches_used(drums) == 0 and pitch.n_pitch_classes_used(drums) == 0
    assert math.isnan(pitch.pitch_entropy(drums)) and math.isnan(pitch.pitch_class_entropy(drums))
    assert math.isnan(pitch.polyphony(drums)) and math.isnan(pitch.scale_consistency(drums))
    assert pitch.polyphony_rate(drums) == 0.0  # the piece lasts 4 quarters, no pitch sounds
    assert np.all(np.isnan(pitch.pitch_class_histogram(drums)))


def test_drums_are_left_out_of_pitch_features() -> None:
    # a C major scale plus a drum track hitting pitch 42 (hi-hat) on every beat
    mixed = piece([sequence([60, 62, 64, 65, 67, 69, 71, 72]), sequence([42] * 8)], drum_tracks=(1,))
    scale = c_major_scale()
    for feature in (pitch.n_pitches_used, pitch.pitch_range, pitch.pitch_entropy, pitch.polyphony,
                    pitch.average_pitch_interval, pitch.scale_consistency):
        assert feature(mixed) == pytest.approx(feature(scale)), feature.__name__


def test_n_pitch_classes_used_never_exceeds_12() -> None:
    chromatic = piece([sequence(list(range(48, 84)), length=0.25)])  # 36 chromatic pitches, 3 octaves
    assert pitch.n_pitches_used(chromatic) == 36
    assert pitch.n_pitch_classes_used(chromatic) == 12
    assert pitch.pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))
    # per bar too: bar 1 holds 16 chromatic notes (12 classes), bar 2 the next 16, bar 3 the last 4
    assert pitch.used_pitch_classes_per_bar(chromatic) == pytest.approx((12 + 12 + 4) / 3)
    # counted over pitch classes, not over time steps (the MuseGAN/MusPy "over time" bug, musegan#141):
    # 96 thirty-second notes all on C in three octaves are one pitch class, in the piece and in each bar
    one_class = piece([sequence([48, 60, 72] * 32, length=0.125)])
    assert pitch.n_pitch_classes_used(one_class) == 1 and pitch.n_pitches_used(one_class) == 3
    assert pitch.used_pitch_classes_per_bar(one_class) == 1


def test_pitch_class_transition_matrix_follows_each_track() -> None:
    scale = c_major_scale()
    matrix = pitch.pitch_class_transition_matrix(scale)
    # C->D, D->E, E->F, F->G, G->A, A->B, B->C: each note ends where the next starts
    expected = np.zeros((12, 12))
    for a, b in [(0, 2), (2, 4), (4, 5), (5, 7), (7, 9), (9, 11), (11, 0)]:
        expected[a, b] = 1
    np.testing.assert_array_equal(matrix, expected)
    # a second track: no transitions across tracks, even where one track's note ends as the other's starts
    two = piece([[(60, 0.0, 1.0)], [(67, 1.0, 2.0)]])
    assert pitch.pitch_class_transition_matrix(two).sum() == 0
    # a rest longer than 0.05 s (a quarter note = 0.5 s) breaks the chain
    gap = piece([[(60, 0.0, 1.0), (62, 2.0, 3.0)]])
    assert pitch.pitch_class_transition_matrix(gap).sum() == 0


def test_transitions_from_a_chord_reach_every_note_of_the_next() -> None:
    # C-E-G whole notes, then F-A-C: 3 x 3 transitions
    chords = chord_progression()
    matrix = pitch.pitch_class_transition_matrix(chords)
    assert matrix[4, 9] == 1  # E4 -> A4 (bars 1-2)
    assert matrix[7, 0] == 3  # G4 -> C5 (bars 1-2), G4 -> C4 and G4 -> C5 (bars 3-4)
    assert matrix[0, 5] == 2  # C4 -> F4 (bars 1-2) and C5 -> F5 (bars 2-3, the seventh of G7)
    # 9 (C->F) + 12 (F->G7: 3 x 4) + 16 (G7->C: 4 x 4)
    assert matrix.sum() == 9 + 12 + 16


def test_used_pitch_classes_per_bar() -> None:
    # C E G | F A C | G B D F | C E G C -> 3, 3, 4, 3
    assert pitch.used_pitch_classes_per_bar(chord_progression()) == pytest.approx(13 / 4)
    # C D E F | G A B C -> 4, 4
    assert pitch.used_pitch_classes_per_bar(c_major_scale()) == 4
    # the empty middle bar is left out: 1, (empty), 1
    assert pitch.used_pitch_classes_per_bar(empty_middle_bar()) == 1


def test_bar_pitch_class_durations_split_notes_at_bar_lines() -> None:
    # a D4 from quarter 3 to 6 spans the bar line at 4: 1 quarter in bar 1, 2 in bar 2
    tied = piece([[(60, 0.0, 3.0), (62, 3.0, 6.0), (64, 6.0, 8.0)]])
    durations = pitch.bar_pitch_class_durations(tied)
    np.testing.assert_allclose(durations[:, [0, 2, 4]], [[3, 1, 0], [0, 2, 2]])


def test_pitch_class_entropy_over_bar_windows() -> None:
    scale = c_major_scale()
    # each bar: four classes of equal duration -> 2 bits
    assert pitch.pitch_class_entropy_bars(scale, 1) == pytest.approx(2.0)
    # a 4-bar window is longer than the piece: one window over both bars, as the whole-piece entropy
    assert pitch.pitch_class_entropy_bars(scale, 4) == pytest.approx(2.75)
    empty = empty_middle_bar()
    assert pitch.pitch_class_entropy_bars(empty, 1) == 0.0  # the empty bar's window is skipped
    assert pitch.pitch_class_entropy_bars(empty, 4) == pytest.approx(1.0)  # C and E, equally long
    # duration weighting: C for 3 quarters and G for 1 in one bar: -(3/4 log2 3/4 + 1/4 log2 1/4)
    uneven = piece([[(60, 0.0, 3.0), (67, 3.0, 4.0)]])
    assert pitch.pitch_class_entropy_bars(uneven, 1) == pytest.approx(0.8112781244591328)
    with pytest.raises(ValueError, match="at least 1 bar"):
        pitch.pitch_class_entropy_bars(scale, 0)


def test_entropy_helper() -> None:
    assert pitch.entropy(np.array([1, 1, 0, 2])) == pytest.approx(1.5)
    assert math.isnan(pitch.entropy(np.zeros(12)))
