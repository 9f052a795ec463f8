"""The Markov chord baseline: chords per beat, transition counts, sampling and MIDI output, worked by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from evaluation import read_midi
from generation.baselines import (
    MarkovChordModel,
    chords_per_beat,
    chords_to_midi,
    fit_markov,
    generate_markov_set,
    sample_chords,
)


def _write(path: Path, notes: list[tuple[int, float, float]], drums: list[tuple[int, float, float]] = ()) -> Path:
    """Notes as (pitch, start, end) in seconds at 120 BPM, so one beat (quarter note) is 0.5 s."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(0)
    piano.notes = [pretty_midi.Note(90, p, s, e) for p, s, e in notes]
    midi.instruments.append(piano)
    if drums:
        kit = pretty_midi.Instrument(0, is_drum=True)
        kit.notes = [pretty_midi.Note(90, p, s, e) for p, s, e in drums]
        midi.instruments.append(kit)
    midi.write(str(path))
    return path


def test_chords_per_beat_samples_sounding_pitches_and_ignores_drums(tmp_path: Path) -> None:
    # C-E-G held for two beats, then G alone for one beat, then a rest beat, then D: 5 beats.
    path = _write(tmp_path / "a.mid", [(60, 0, 1), (64, 0, 1), (67, 0, 1.5), (62, 2.0, 2.5)],
                  drums=[(36, 0, 2.5)])
    assert chords_per_beat(read_midi(path)) == [(60, 64, 67), (60, 64, 67), (67,), (), (62,)]


def test_fit_markov_counts_transitions_and_starts() -> None:
    a, b, c = (60,), (62,), (64,)
    model = fit_markov([[a, b, a, b], [b, c]])
    assert model.states == (a, b, c)
    expected = np.array([[0, 2, 0], [1, 0, 1], [0, 0, 0]], dtype=float)
    np.testing.assert_array_equal(model.transitions, expected)
    np.testing.assert_array_equal(model.initial, [1, 1, 0])


def test_fit_markov_refuses_empty_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        fit_markov([[], []])


def test_sampling_follows_only_seen_transitions_and_restarts_at_dead_ends() -> None:
    a, b, c = (60,), (62,), (64,)
    model = fit_markov([[a, b, c]])  # a -> b -> c, and c is a dead end: restart at a
    chords = sample_chords(model, 7, np.random.default_rng(1))
    assert chords == [a, b, c, a, b, c, a]


def test_sampling_is_reproducible_with_the_same_seed() -> None:
    sequences = [[(60,), (62,), (60,), (64,), (62,), (60,)], [(64,), (60,), (62,)]]
    model = fit_markov(sequences)
    first = sample_chords(model, 30, np.random.default_rng(7))
    assert first == sample_chords(model, 30, np.random.default_rng(7))
    assert len(first) == 30


def test_model_json_round_trip() -> None:
    model = fit_markov([[(60, 64), (62,), (60, 64)], [(62,), ()]])
    again = MarkovChordModel.from_json(model.to_json())
    assert again.states == model.states
    np.testing.assert_array_equal(again.transitions, model.transitions)
    np.testing.assert_array_equal(again.initial, model.initial)


def test_chords_to_midi_ties_held_pitches(tmp_path: Path) -> None:
    path = chords_to_midi([(60, 64), (60, 67), (), (72,)], tmp_path / "out.mid", tempo_bpm=120)
    piece = read_midi(path)
    notes = sorted(zip(piece.pitch.tolist(), piece.start.tolist(), piece.end.tolist(), strict=True))
    # 60 held over beats 0-1 is one two-beat note; the rest at beat 2 leaves a gap.
    assert notes == [(60, 0.0, 2.0), (64, 0.0, 1.0), (67, 1.0, 2.0), (72, 3.0, 4.0)]
    assert chords_per_beat(piece) == [(60, 64), (60, 67), (), (72,)]


def test_generate_markov_set_writes_pieces_and_reports_bad_training_files(tmp_path: Path) -> None:
    train = tmp_path / "train"
    train.mkdir()
    good = [_write(train / f"p{i}.mid", [(60 + i, 0, 0.5), (64, 0.5, 1.0), (67, 1.0, 1.5)]) for i in range(3)]
    broken = train / "broken.mid"
    broken.write_bytes(b"not midi at all")
    written, skipped = generate_markov_set([*good, broken], tmp_path / "out", n_pieces=4, n_beats=6, seed=3,
                                           progress=False)
    assert [p.name for p in written] == [f"markov_{i:03d}.mid" for i in range(4)]
    assert skipped == [(broken, "this is a text file, not a MIDI file (no 'MThd' header)")]
    seen = {chord for path in good for chord in chords_per_beat(read_midi(path))}
    for path in written:
        chords = chords_per_beat(read_midi(path))
        assert set(chords) <= seen
    assert (tmp_path / "out" / "markov_model.json").is_file()


def test_markov_cli_trains_on_a_plain_folder_of_midi(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from generation.__main__ import main

    folder = tmp_path / "plain"
    folder.mkdir()
    for i in range(10):
        _write(folder / f"p{i}.mid", [(60 + i, 0, 0.5), (64, 0.5, 1.0), (67, 1.0, 1.5)])
    assert main(["markov", "--corpus", str(folder), "--out", str(tmp_path / "out"), "--n", "2", "--beats", "4"]) == 0
    assert "trained on 8 files" in capsys.readouterr().out  # the train split of 10 pieces, by piece (seed 0)
    assert len(list((tmp_path / "out").glob("markov_*.mid"))) == 2


def test_markov_frame_scores_by_hand() -> None:
    """Training frames alternate key 0 / key 1: after {0} the chain saw {1} twice (c = 2, t = 1, lam = 2/3).
    With key probabilities 1/2 the Bernoulli gives any 2-key frame 1/4, so P({1} | {0}) = 2/3 + 1/3 * 1/4."""
    import math

    from generation.baselines import markov_frame_scores

    train = [np.array([[1, 0], [0, 1], [1, 0], [0, 1]])]
    scores = markov_frame_scores(train, [np.array([[1, 0], [0, 1]])], np.array([0.5, 0.5]))
    assert scores.n_frames == 1 and scores.states == 2
    assert scores.frame_nll == pytest.approx(-math.log(2 / 3 + 1 / 12))
    # key marginals: 1/3 * 1/2 + 2/3 * [0, 1] = [1/6, 5/6]; TP 5/6, FP 1/6, FN 1/6
    assert scores.frame_accuracy == pytest.approx(5 / 7)
    unseen = markov_frame_scores(train, [np.array([[1, 1], [1, 1]])], np.array([0.5, 0.5]))
    assert unseen.frame_nll == pytest.approx(2 * math.log(2))  # never a predecessor: the Bernoulli alone
    assert math.isnan(markov_frame_scores(train, [np.array([[1, 0]])], np.array([0.5, 0.5])).frame_nll)
