"""Preprocessing steps on hand-built pieces whose results are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation import piece_from_notes, read_midi, write_midi
from generation import preprocess as pre
from generation.errors import GenerationError
from generation.pipeline import PreprocessConfig, augment, preprocess_piece


def _piece(notes, **options):
    pitch, start, end = zip(*notes, strict=True) if notes else ((), (), ())
    return piece_from_notes(list(pitch), list(start), list(end), **options)


def _notes(piece) -> list[tuple[int, float, float]]:
    return [(int(p), float(s), float(e)) for p, s, e in zip(piece.pitch, piece.start, piece.end, strict=True)]


def _three_track_file(tmp_path: Path) -> Path:
    """Bass (track 0, leaps: the largest pitch variance), drums (track 1), melody (track 2, stepwise, more
    notes, more distinct pitches, higher)."""
    bass = [36, 48, 31, 43] * 2
    melody = [72, 74, 76, 77, 79, 77, 76, 74, 72, 74, 76, 77]
    drums = [36, 38, 42, 38] * 6
    pitch = bass + drums + melody
    start = [2.0 * i for i in range(8)] + [0.5 * i for i in range(24)] + [1.0 * i for i in range(12)]
    end = [s + 1.0 for s in start[:8]] + [s + 0.25 for s in start[8:32]] + [s + 1.0 for s in start[32:]]
    track = [0] * 8 + [1] * 24 + [2] * 12
    program = [33] * 8 + [0] * 24 + [73] * 12
    is_drum = [False] * 8 + [True] * 24 + [False] * 12
    piece = piece_from_notes(pitch, start, end, track=track, program=program, is_drum=is_drum)
    return write_midi(piece, tmp_path / "three_tracks.mid")


def test_melody_weights_pick_the_melody_of_a_bass_drums_melody_file(tmp_path: Path) -> None:
    piece = read_midi(_three_track_file(tmp_path))
    choice = pre.melody_choice(piece)
    # two pitched tracks: min-max gives 0 or 1 per feature. Bass wins only the variance (.40); the melody wins
    # distinct pitches, length and mean pitch (.25 + .25 + .10), so a variance-only rule would pick the bass.
    melody_track = int(piece.track[piece.program == 73][0])
    assert choice.chosen == (melody_track,)
    assert [round(score.score, 6) for score in choice.scores] == [0.6, 0.4]
    assert len(choice.scores) == 2  # drums are never candidates
    melody = pre.extract_melody(piece)
    assert melody.pitch.tolist() == [72, 74, 76, 77, 79, 77, 76, 74, 72, 74, 76, 77]
    assert f"track {melody_track}" in choice.why() and "pitch variance" in choice.why()


def test_melody_scores_are_min_max_normalised_and_weighted() -> None:
    piece = _piece([(60, 0, 1), (64, 1, 2)], track=0)
    b = _piece([(60, 0, 1), (68, 1, 2), (60, 2, 3), (68, 3, 4)], track=1)
    c = _piece([(70, 0, 1), (71, 1, 2), (72, 2, 3)], track=2)
    merged = piece_from_notes(np.concatenate([piece.pitch, b.pitch, c.pitch]),
                              np.concatenate([piece.start, b.start, c.start]),
                              np.concatenate([piece.end, b.end, c.end]), track=[0, 0, 1, 1, 1, 1, 2, 2, 2])
    choice = pre.melody_choice(merged, top_k=2)
    scores = {score.track: score.score for score in choice.scores}
    # variances 4, 16, 2/3; distinct 2, 2, 3; notes 2, 4, 3; means 62, 64, 71
    assert scores[0] == pytest.approx(0.40 * (4 - 2 / 3) / (16 - 2 / 3))
    assert scores[1] == pytest.approx(0.40 + 0.25 * 0 + 0.25 * 1 + 0.10 * (64 - 62) / (71 - 62))
    assert scores[2] == pytest.approx(0.25 + 0.25 * 0.5 + 0.10)
    assert choice.chosen == (1, 2)
    assert sorted(set(pre.extract_melody(merged, top_k=2).track.tolist())) == [1, 2]


def test_melody_of_a_piece_without_pitched_notes_is_an_error() -> None:
    drums = _piece([(36, 0, 1)], is_drum=True)
    with pytest.raises(ValueError, match="no pitched notes"):
        pre.melody_choice(drums)


def test_skyline_keeps_the_highest_onset_and_cuts_at_the_next() -> None:
    piece = _piece([(60, 0, 2), (64, 0, 1), (67, 1, 3), (55, 2, 4)])
    assert _notes(pre.skyline(piece)) == [(64, 0.0, 1.0), (67, 1.0, 2.0), (55, 2.0, 4.0)]


def _key_piece(tonic_triad: list[int], scale: list[int]):
    notes = [(pitch, 0.0, 4.0) for pitch in tonic_triad]
    notes += [(pitch, 4.0 + i, 5.0 + i) for i, pitch in enumerate(scale)]
    notes += [(pitch, 12.0, 16.0) for pitch in tonic_triad]
    return _piece(notes)


def test_transposition_to_c_major_and_a_minor_from_the_estimated_key() -> None:
    d_major = _key_piece([62, 66, 69], [62, 64, 66, 67, 69, 71, 73, 74])
    key, shift = pre.key_transposition(d_major)
    assert (key.name, shift) == ("D major", -2)
    assert pre.transpose_to_key(d_major).pitch.min() == 60
    e_minor = _key_piece([64, 67, 71], [64, 66, 67, 69, 71, 72, 75, 76])
    key, shift = pre.key_transposition(e_minor, "c-major-a-minor")
    assert (key.name, shift) == ("E minor", 5)  # E -> A
    assert pre.key_transposition(e_minor, "c-major-c-minor")[1] == -4  # E -> C, the nearer way
    with pytest.raises(ValueError, match="unknown transposition"):
        pre.key_transposition(e_minor, "c-major-e-minor")


def test_transpose_refuses_to_leave_midi_range() -> None:
    with pytest.raises(ValueError, match="outside MIDI"):
        pre.transpose(_piece([(125, 0, 1)]), 5)


def test_augmentation_shifts_stay_in_range() -> None:
    piece = _piece([(60, 0, 1), (70, 1, 2)])
    assert pre.augmentation_shifts(piece, 58, 72) == [-2, -1, 1, 2]
    assert pre.augmentation_shifts(piece) == [-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5]
    shifted = augment(piece, PreprocessConfig(augment=True), (58, 72))
    assert [shift for shift, _ in shifted] == [-2, -1, 1, 2]
    assert shifted[0][1].pitch.tolist() == [58, 68]


def test_fold_octaves_moves_notes_to_the_nearest_equivalent_inside() -> None:
    piece = _piece([(48, 0, 1), (59, 1, 2), (60, 2, 3), (84, 3, 4), (95, 4, 5), (96, 5, 6), (20, 6, 7)])
    assert pre.fold_octaves(piece).pitch.tolist() == [60, 71, 60, 72, 83, 72, 68]
    with pytest.raises(ValueError, match="less than an octave"):
        pre.fold_octaves(piece, 60, 70)


def test_folding_merges_the_unisons_it_creates() -> None:
    piece = _piece([(48, 0, 1), (60, 0, 2)])
    assert _notes(pre.fold_octaves(piece)) == [(60, 0.0, 2.0)]


def test_quantize_rounds_to_the_grid_with_at_least_one_step() -> None:
    piece = _piece([(60, 0.1, 0.2), (62, 0.125, 0.5), (64, 1.3, 2.9)])
    assert _notes(pre.quantize(piece, 0.25)) == [(60, 0.0, 0.25), (62, 0.25, 0.5), (64, 1.25, 3.0)]


def test_unaccepted_durations_lists_the_durations_outside_the_set() -> None:
    piece = _piece([(60, 0, 0.25), (62, 0.25, 0.375), (64, 1, 1 + 1 / 3), (65, 2, 5)])
    assert sorted(pre.unaccepted_durations(piece).round(4).tolist()) == [0.125, 0.3333]


def test_duration_filter_drops_a_piece_with_a_reason() -> None:
    piece = _piece([(60, 0, 0.125), (62, 1, 2)])
    result = preprocess_piece(piece, PreprocessConfig(duration_filter=True))
    assert result.piece is None and "duration filter" in result.reason and "0.125" in result.reason
    assert preprocess_piece(piece, PreprocessConfig()).piece is not None


def test_trim_leading_silence_moves_notes_tempi_and_signatures() -> None:
    piece = _piece([(60, 5, 6), (62, 6, 8)], tempos=np.array([[0.0, 100.0], [4.0, 60.0], [6.0, 90.0]]),
                   time_signatures=np.array([[0.0, 4, 4], [5.0, 3, 4]]))
    trimmed = pre.trim_leading_silence(piece)
    assert _notes(trimmed) == [(60, 0.0, 1.0), (62, 1.0, 3.0)]
    np.testing.assert_allclose(trimmed.tempos, [[0.0, 60.0], [1.0, 90.0]])
    np.testing.assert_allclose(trimmed.time_signatures, [[0.0, 3, 4]])
    np.testing.assert_allclose(trimmed.start_seconds, [0.0, 1.0])


def test_merge_unisons_keeps_the_longest_and_leaves_drums_alone() -> None:
    piece = _piece([(60, 0, 1), (60, 0, 2), (62, 0, 1), (36, 0, 1), (36, 0, 1)],
                   is_drum=[False, False, False, True, True])
    merged = pre.merge_unisons(piece)
    assert sorted(_notes(merged.select(~merged.is_drum))) == [(60, 0.0, 2.0), (62, 0.0, 1.0)]
    assert int(merged.is_drum.sum()) == 2


def test_pipeline_drops_a_drums_only_piece_with_a_reason() -> None:
    result = preprocess_piece(_piece([(36, 0, 1)], is_drum=True), PreprocessConfig())
    assert result.piece is None and "no pitched notes" in result.reason


def test_pipeline_records_the_melody_choice_and_the_key() -> None:
    piece = _key_piece([62, 66, 69], [62, 64, 66, 67, 69, 71, 73, 74])
    result = preprocess_piece(piece, PreprocessConfig(melody=True, transpose="c-major-a-minor"))
    assert result.notes["melody"]["chosen"] == [0]
    assert result.notes["key"] == {"estimated": "D major", "score": pytest.approx(result.notes["key"]["score"]),
                                   "shift": -2}
    assert result.piece.pitch.min() == 60


def test_preprocess_config_rejects_bad_values_and_round_trips() -> None:
    with pytest.raises(GenerationError, match="fold range"):
        PreprocessConfig(fold_range=(60, 65))
    with pytest.raises(GenerationError, match="unknown transposition"):
        PreprocessConfig(transpose="d-major")
    config = PreprocessConfig(melody=True, transpose="c-major-c-minor", quantize=0.25, augment=True)
    assert PreprocessConfig.from_dict(config.to_dict()) == config
    with pytest.raises(GenerationError, match="unknown preprocessing option"):
        PreprocessConfig.from_dict({"melodie": True})
