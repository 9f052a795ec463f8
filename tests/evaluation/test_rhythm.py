"""Rhythm features on hand-built pieces; expected values worked out by hand in the comments. MusPy's own
(buggy) values for the same fixtures are checked against muspy itself in test_muspy_agreement.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation import rhythm
from tests.evaluation.midi_fixtures_features import (
    c_major_scale,
    chord_progression,
    drums_only,
    empty_middle_bar,
    fur_elise,
    meter_change,
    piece,
    scale_with_long_drums,
    sequence,
)


def test_bar_grid_follows_time_signatures() -> None:
    starts, lengths = rhythm.bar_grid(fur_elise())  # 3/8 bars of 1.5 quarters, 4.5 quarters long
    np.testing.assert_allclose(starts, [0.0, 1.5, 3.0])
    np.testing.assert_allclose(lengths, [1.5, 1.5, 1.5])
    starts, lengths = rhythm.bar_grid(piece([[(60, 0.0, 5.0)]]))  # ends inside bar 2: full bar length
    np.testing.assert_allclose(starts, [0.0, 4.0])
    np.testing.assert_allclose(lengths, [4.0, 4.0])


def test_bars_follow_a_meter_change() -> None:
    changed = meter_change()
    starts, lengths = rhythm.bar_grid(changed)
    np.testing.assert_allclose(starts, [0.0, 3.0, 7.0])
    np.testing.assert_allclose(lengths, [3.0, 4.0, 4.0])
    onsets = rhythm.bar_onset_matrix(changed)
    # 3/4 bar: quarter notes at thirds of the bar -> steps 0, 21 (21.3), 43 (42.7); 4/4 bars: 0, 16, 32, 48
    np.testing.assert_array_equal(np.flatnonzero(onsets[0]), [0, 21, 43])
    np.testing.assert_array_equal(np.flatnonzero(onsets[1]), [0, 16, 32, 48])
    # bar 1 vs 2 differ in 5 steps (21, 43 vs 16, 32, 48), bars 2-3 agree
    assert rhythm.groove_consistency(changed) == pytest.approx(1 - 5 / (64 * 2))


def test_drums_extend_the_bars_but_do_not_fill_them() -> None:
    # the scale fills bars 1-2; drums run through bar 4: bars 3-4 have no pitched note
    mixed = scale_with_long_drums()
    assert rhythm.bar_grid(mixed)[0].size == 4
    assert rhythm.empty_bar_rate(mixed) == pytest.approx(0.5)
    assert rhythm.empty_beat_rate(mixed) == 0.0  # drum hits fill every beat (as MusPy)
    assert rhythm.groove_consistency(mixed) == 1.0  # every bar has onsets at 0, 16, 32, 48


def test_empty_beat_rate_note_ending_on_a_beat_does_not_fill_the_next() -> None:
    # quarter notes on beats 0 and 2: beat 1 is silent -> 1 of 3 beats (MusPy: 0, the first note "fills"
    # beat 1 and a fourth beat is counted)
    gap = piece([[(60, 0.0, 1.0), (62, 2.0, 3.0)]])
    assert rhythm.empty_beat_rate(gap) == pytest.approx(1 / 3)
    # a note over 0.5-1.5 sounds in beats 0 and 1
    assert rhythm.empty_beat_rate(piece([[(60, 0.5, 1.5)]])) == 0.0
    assert rhythm.empty_beat_rate(c_major_scale()) == 0.0
    # whole note, empty bar, whole note: beats 4-7 are empty out of 12 (MusPy: 3 of 13)
    assert rhythm.empty_beat_rate(empty_middle_bar()) == pytest.approx(4 / 12)


def test_empty_beat_rate_counts_drums() -> None:
    # as MusPy: a drum hit fills its beat
    assert rhythm.empty_beat_rate(drums_only()) == 0.0
    with_drum = piece([[(60, 0.0, 1.0), (62, 2.0, 3.0)], [(36, 1.0, 1.25)]], drum_tracks=(1,))
    assert rhythm.empty_beat_rate(with_drum) == 0.0


def test_empty_bar_rate() -> None:
    assert rhythm.empty_bar_rate(empty_middle_bar()) == pytest.approx(1 / 3)
    assert rhythm.empty_bar_rate(c_major_scale()) == 0.0
    assert rhythm.empty_bar_rate(chord_progression()) == 0.0
    # a note held across the bar line fills both bars; one ending on the bar line does not fill the next
    assert rhythm.empty_bar_rate(piece([[(60, 2.0, 6.0), (62, 8.0, 9.0)]])) == 0.0
    assert rhythm.empty_bar_rate(piece([[(60, 0.0, 4.0), (62, 8.0, 9.0)]])) == pytest.approx(1 / 3)
    # drums do not make a bar non-empty (MuseGAN counts pitched tracks)
    assert rhythm.empty_bar_rate(drums_only()) == 1.0


def test_bar_onset_matrix_grid() -> None:
    onsets = rhythm.bar_onset_matrix(c_major_scale())
    assert onsets.shape == (2, 64)
    # quarter notes in 4/4: steps 0, 16, 32, 48 of both bars
    np.testing.assert_array_equal(np.flatnonzero(onsets[0]), [0, 16, 32, 48])
    np.testing.assert_array_equal(onsets[0], onsets[1])
    # 3/8: eighth notes at steps 0, 64/3 ~ 21.3 -> 21, 42.7 -> 43
    np.testing.assert_array_equal(np.flatnonzero(rhythm.bar_onset_matrix(fur_elise())[0]), [0, 21, 43])


def test_groove_consistency_with_real_bars() -> None:
    # two identical bars of quarter notes -> 1 (MusPy with measure_resolution = 4 * 480 ticks compares the
    # second bar with an extra empty measure: 1 - 4 / (1920 * 2))
    assert rhythm.groove_consistency(c_major_scale()) == 1.0
    # three identical 3/8 bars -> 1 (MusPy's published test: 5/6 at resolution 4 with 6 ticks per measure)
    assert rhythm.groove_consistency(fur_elise()) == 1.0
    # onsets at step 0 in bars 1 and 3, none in bar 2: two neighbouring pairs differ in 1 of 64 steps
    assert rhythm.groove_consistency(empty_middle_bar()) == pytest.approx(1 - 2 / (64 * 2))
    # one bar: undefined
    assert math.isnan(rhythm.groove_consistency(piece([sequence([60, 62])])))


def test_groove_similarity_over_all_bar_pairs() -> None:
    assert rhythm.groove_similarity(c_major_scale()) == 1.0
    # pairs (1,2) and (2,3) differ in 1 step, (1,3) are equal: 1 - 2 / (64 * 3)
    assert rhythm.groove_similarity(empty_middle_bar()) == pytest.approx(1 - 2 / (64 * 3))
    # bar 1 quarter notes, bar 2 half notes, bar 3 quarter notes: bars 1-2 and 2-3 differ in 2 steps
    mixed = piece([sequence([60, 62, 64, 65]) + sequence([67, 65], length=2.0, start=4.0)
                   + sequence([64, 62, 60, 60], start=8.0)])
    assert rhythm.groove_similarity(mixed) == pytest.approx(1 - 4 / (64 * 3))
    assert rhythm.groove_consistency(mixed) == pytest.approx(1 - 4 / (64 * 2))
    assert math.isnan(rhythm.groove_similarity(piece([sequence([60])])))


def test_groove_similarity_equals_the_mean_over_explicit_pairs() -> None:
    rng = np.random.default_rng(3)
    onsets = rng.random((7, 64)) < 0.3
    explicit = np.mean([1 - np.count_nonzero(onsets[i] != onsets[j]) / 64
                        for i in range(7) for j in range(i + 1, 7)])
    assert rhythm.onset_similarity(onsets) == pytest.approx(explicit)


def test_note_count_and_average_ioi() -> None:
    scale = c_major_scale()
    assert rhythm.note_count(scale) == 8
    assert rhythm.average_ioi(scale) == pytest.approx(0.5)  # a quarter note at 120 BPM
    chords = chord_progression()
    assert rhythm.note_count(chords) == 14
    assert rhythm.average_ioi(chords) == pytest.approx(2.0)  # simultaneous onsets count once: a bar = 2 s
    assert math.isnan(rhythm.average_ioi(piece([[(60, 0.0, 1.0), (64, 0.0, 1.0)]])))
    # mgeval reads only the first track: here both tracks count
    two = piece([[(60, 0.0, 1.0)], [(64, 1.0, 2.0), (67, 2.0, 3.0)]])
    assert rhythm.note_count(two) == 3 and rhythm.average_ioi(two) == pytest.approx(0.5)


def test_note_length_classes() -> None:
    # whole, half, quarter, 8th, 16th, dotted half, dotted quarter, dotted 8th, dotted 16th, triplets
    lengths = [4.0, 2.0, 1.0, 0.5, 0.25, 3.0, 1.5, 0.75, 0.375, 4 / 3, 2 / 3, 1 / 3]
    start, notes = 0.0, []
    for length in lengths:
        notes.append((60, start, start + length))
        start += length
    every = piece([notes], resolution=960)
    np.testing.assert_array_equal(rhythm.note_length_classes(every), np.arange(12))
    np.testing.assert_array_equal(rhythm.note_length_histogram(every), np.ones(12))
    # nearest class: 0.9 quarters is a quarter note, 5 quarters a whole note
    odd = piece([[(60, 0.0, 0.9), (62, 1.0, 6.0)]])
    np.testing.assert_array_equal(rhythm.note_length_classes(odd), [2, 0])


def test_note_length_transition_matrix() -> None:
    # quarter x4, half x2, quarter x4 (pitches irrelevant)
    notes = sequence([60] * 4) + sequence([62] * 2, length=2.0, start=4.0) + sequence([64] * 4, start=8.0)
    matrix = rhythm.note_length_transition_matrix(piece([notes]))
    expected = np.zeros((12, 12))
    expected[2, 2], expected[2, 1], expected[1, 1], expected[1, 2] = 6, 1, 1, 1
    np.testing.assert_array_equal(matrix, expected)
    assert rhythm.note_length_transition_matrix(piece([[(60, 0.0, 1.0)]])).sum() == 0


def test_qualified_note_rate_uses_three_steps_of_24_per_quarter() -> None:
    # a 32nd note (0.125 quarters = 3 steps) qualifies, a 64th (1.5 steps) and a 2-step note do not
    notes = piece([[(60, 0.0, 0.125), (62, 1.0, 1.0625), (64, 2.0, 2.0 + 2 / 24), (65, 3.0, 4.0)]],
                  resolution=960)
    assert rhythm.qualified_note_rate(notes) == pytest.approx(2 / 4)
    assert rhythm.qualified_note_rate(notes, min_steps=2) == pytest.approx(3 / 4)  # MuseGAN's code threshold
    assert rhythm.qualified_note_rate(c_major_scale()) == 1.0
    assert math.isnan(rhythm.qualified_note_rate(drums_only()))
