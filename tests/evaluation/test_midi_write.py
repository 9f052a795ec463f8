"""The one MIDI writer: read -> write -> read gives the same piece; unwritable pieces are refused by name."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from evaluation import MidiError, check_piece, piece_from_notes, read_midi, write_midi

NOTE_FIELDS = ("pitch", "start", "end", "start_seconds", "end_seconds", "velocity", "program", "is_drum")


def assert_same_notes(a, b) -> None:
    for field in NOTE_FIELDS:
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), atol=1e-9, err_msg=field)
    np.testing.assert_allclose(a.tempos, b.tempos, rtol=1e-6)
    np.testing.assert_array_equal(a.time_signatures, b.time_signatures)


def test_a_hand_made_piece_reads_back_as_written(tmp_path: Path) -> None:
    # a 1/4 pickup then 3/4; 100 BPM for two quarters (1.2 s), then 60 BPM; a piano and a strings track.
    piece = piece_from_notes([60, 64, 67, 72], [0, 0, 1, 2.5], [1, 2, 2, 3], velocity=[90, 80, 70, 60],
                             program=[0, 0, 48, 48], track=[0, 0, 1, 1],
                             tempos=np.array([[0.0, 100.0], [2.0, 60.0]]),
                             time_signatures=np.array([[0, 1, 4], [1, 3, 4]]))
    np.testing.assert_allclose(piece.end_seconds, [0.6, 1.2, 1.2, 2.2])  # 2 q at 0.6 s, then 1 s per quarter
    back = read_midi(write_midi(piece, tmp_path / "deep" / "piece.mid"))
    assert_same_notes(piece, back)
    np.testing.assert_array_equal(back.bar_starts(), [0.0, 1.0])
    np.testing.assert_array_equal(back.track, [0, 0, 1, 1])


def test_drums_and_many_programs_keep_their_tracks(tmp_path: Path) -> None:
    piece = piece_from_notes([36, 60, 38, 62], [0, 0, 1, 1], [0.5, 1, 1.5, 2], program=[0, 0, 0, 33],
                             is_drum=[True, False, True, False], track=[0, 1, 0, 2])
    back = read_midi(write_midi(piece, tmp_path / "drums.mid"))
    assert_same_notes(piece, back)
    assert back.is_drum.tolist() == [True, False, True, False]


def test_read_write_read_of_real_chorales_is_exact(chorale_corpus: Path, tmp_path: Path) -> None:
    from data import corpus_files

    for path in corpus_files(chorale_corpus)[:8]:
        original = read_midi(path)
        again = read_midi(write_midi(original, tmp_path / path.name))
        assert_same_notes(original, again)
        np.testing.assert_array_equal(original.bar_starts(), again.bar_starts())


def test_overlapping_notes_of_one_pitch_are_cut_so_the_file_reads_back_as_written(tmp_path: Path) -> None:
    # 60 at 0-2 and again at 1-3: the first ends at 1; a duplicate onset (0-1.5) merges into the longer note.
    piece = piece_from_notes([60, 60, 60, 64], [0, 0, 1, 0], [2, 1.5, 3, 1])
    back = read_midi(write_midi(piece, tmp_path / "overlap.mid"))
    assert back.pitch.tolist() == [60, 64, 60]
    np.testing.assert_array_equal(back.start, [0, 0, 1])
    np.testing.assert_array_equal(back.end, [1, 1, 3])


def test_times_round_to_ticks_and_no_note_vanishes(tmp_path: Path) -> None:
    piece = piece_from_notes([60, 62], [0.0, 1.0], [1e-6, 1.3333], ticks_per_quarter=3)
    back = read_midi(write_midi(piece, tmp_path / "ticks.mid"))
    np.testing.assert_allclose(back.start, [0, 1])
    np.testing.assert_allclose(back.end, [1 / 3, 4 / 3])  # the tiny note lasts one tick


@pytest.mark.parametrize(("change", "message"), [
    ({"pitch": np.array([60, 128], dtype=np.int16)}, "pitch 128 is outside MIDI's range 0..127"),
    ({"velocity": np.array([0, 80], dtype=np.int16)}, "velocity 0 is outside"),
    ({"end": np.array([1.0, 0.5])}, "ends at 0.5, not after its start 1"),
    ({"start": np.array([-1.0, 1.0])}, "starts before time 0"),
    ({"start": np.array([0.0, np.nan])}, "not a finite number"),
    ({"tempos": np.array([[0.0, 0.0]])}, "tempi must be positive"),
    ({"tempos": np.array([[1.0, 120.0]])}, "starting at position 0"),
    ({"time_signatures": np.array([[0.0, 3.0, 5.0]])}, "3/5 at 0 is not writable"),
    ({"pitch": np.array([60], dtype=np.int16)}, "note arrays differ in shape"),
])
def test_unwritable_pieces_are_refused_by_name(tmp_path: Path, change: dict, message: str) -> None:
    piece = dataclasses.replace(piece_from_notes([60, 62], [0, 1], [1, 2], path="made.mid"), **change)
    with pytest.raises(MidiError, match=message) as raised:
        write_midi(piece, tmp_path / "bad.mid")
    assert raised.value.path == "made.mid"
    assert not (tmp_path / "bad.mid").exists()
    with pytest.raises(MidiError):
        check_piece(piece)


def test_an_empty_piece_writes_a_file_the_reader_reports_as_empty(tmp_path: Path) -> None:
    path = write_midi(piece_from_notes([], [], []), tmp_path / "empty.mid")
    with pytest.raises(MidiError, match="no notes"):
        read_midi(path)
