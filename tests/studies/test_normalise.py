"""studies.normalise: one instrument, velocity scale and tempo for all stimuli, and the clip cut, as pure
Piece -> Piece functions; rendered through evaluation.write_midi."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation import piece_from_notes, read_midi, write_midi
from studies.errors import StudyError
from studies.normalise import (
    Normalisation,
    cut_piece,
    normalise,
    seconds_to_quarters,
    with_mean_velocity,
    with_program,
    with_tempo,
)
from studies.stimuli import ClipSettings, render_midi
from tunelab.testing.study_fixture import PINNED_SOUNDFONT

# 120 BPM for 2 quarters (1 s), then 60 BPM: notes at 0, 2.5 and 4 quarters = 0 s, 1.5 s and 3 s
TEMPO_CHANGE = np.array([[0.0, 120.0], [2.0, 60.0]])


def _piece():
    return piece_from_notes([60, 64, 67], [0.0, 2.5, 4.0], [1.0, 3.5, 5.0], velocity=[40, 80, 120],
                            program=[4, 4, 0], is_drum=[False, False, True], track=[0, 0, 1], tempos=TEMPO_CHANGE)


def test_program_velocity_and_tempo_by_hand():
    piece = _piece()
    assert with_program(piece, 19).program.tolist() == [19, 19, 0]  # the drum note keeps its kit
    assert with_mean_velocity(piece, 60).velocity.tolist() == [30, 60, 90]  # x 0.75, mean 80 -> 60
    assert with_mean_velocity(piece, 127).velocity.tolist() == [64, 127, 127]  # clipped at 127
    steady = with_tempo(piece, 100.0)
    assert steady.tempos.tolist() == [[0.0, 100.0]]
    assert steady.start.tolist() == [0.0, 2.5, 4.0]  # the rhythm in quarters is kept
    assert steady.start_seconds == pytest.approx([0.0, 1.5, 2.4])  # 0.6 s per quarter
    assert steady.end_seconds == pytest.approx([0.6, 2.1, 3.0])
    both = normalise(piece, Normalisation(program=0, mean_velocity=60, tempo_bpm=100.0))
    assert both.program.tolist() == [0, 0, 0] and both.velocity.tolist() == [30, 60, 90]
    assert normalise(piece, Normalisation()) is piece


def test_bad_normalisation_values_are_named():
    for kwargs, text in (({"program": 128}, "program=128"), ({"mean_velocity": 0}, "mean_velocity=0"),
                         ({"tempo_bpm": 5000}, "tempo_bpm=5000"), ({"program": True}, "program=True")):
        with pytest.raises(StudyError, match=text):
            Normalisation(**kwargs)
    with pytest.raises(StudyError, match="tempo_bpm='fast'"):
        ClipSettings(tempo_bpm="fast")


def test_cut_follows_the_tempo_map():
    piece = _piece()
    assert seconds_to_quarters(piece, 0.5) == pytest.approx(1.0)
    assert seconds_to_quarters(piece, 1.5) == pytest.approx(2.5)  # 2 quarters in 1 s, then 1 per second
    cut = cut_piece(piece, 2.0)  # = 3 quarters: the note at 2.5 ends there, the one at 4 is gone
    assert cut.pitch.tolist() == [60, 64] and cut.end.tolist() == pytest.approx([1.0, 3.0])
    assert cut.end_seconds == pytest.approx([0.5, 2.0])
    assert cut.tempos.tolist() == TEMPO_CHANGE.tolist()
    late = cut_piece(piece, 0.8)  # before the tempo change: only the first tempo is left
    assert late.pitch.tolist() == [60] and late.tempos.tolist() == [[0.0, 120.0]]
    assert late.end.tolist() == pytest.approx([1.0])  # 0.8 s = 1.6 quarters, after the note's end
    assert cut_piece(piece, 10.0) is None  # the piece is over by then: nothing to cut


def test_normalised_piece_survives_write_and_read(tmp_path: Path):
    piece = normalise(_piece(), Normalisation(program=0, mean_velocity=60, tempo_bpm=100.0))
    back = read_midi(write_midi(piece, tmp_path / "n.mid"))
    assert back.pitch.tolist() == [60, 64, 67] and back.velocity.tolist() == [30, 60, 90]
    assert back.tempos.tolist() == [[0.0, 100.0]] and back.start_seconds == pytest.approx([0.0, 1.5, 2.4])
    assert back.program.tolist() == [0, 0, 0] and back.is_drum.tolist() == [False, False, True]


def test_two_files_that_differ_only_in_tempo_velocity_and_instrument_render_alike(tmp_path: Path):
    """The demo's giveaway (machine pieces at 80 BPM, velocity 80; chorales at 120 BPM, velocity 90) is gone
    once the study sets one tempo, velocity scale and instrument: the two renderings are identical."""
    notes = ([60, 64, 67, 72, 67, 64], [0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6])
    machine = write_midi(piece_from_notes(*notes, velocity=80, program=4, tempos=80.0), tmp_path / "m.mid")
    human = write_midi(piece_from_notes(*notes, velocity=90, program=0, tempos=120.0), tmp_path / "h.mid")
    raw = ClipSettings(clip_seconds=3.0, soundfont=PINNED_SOUNDFONT)
    a, b = render_midi(machine, raw), render_midi(human, raw)
    assert a.shape != b.shape or not np.array_equal(a, b)
    matched = ClipSettings(clip_seconds=3.0, soundfont=PINNED_SOUNDFONT, program=0, mean_velocity=85,
                           tempo_bpm=100.0)
    a, b = render_midi(machine, matched), render_midi(human, matched)
    assert a.shape == b.shape and np.abs(a).max() > 0.01
    np.testing.assert_array_equal(a, b)


def test_a_stimulus_keeps_its_sustain_pedal_as_longer_notes(tmp_path) -> None:
    import mido

    from studies.stimuli import ClipSettings, stimulus_piece

    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack()
    track += [mido.Message("control_change", control=64, value=127, time=0),
              mido.Message("note_on", note=60, velocity=80, time=0),
              mido.Message("note_off", note=60, velocity=0, time=240),
              mido.Message("control_change", control=64, value=0, time=720)]
    midi.tracks.append(track)
    midi.save(str(tmp_path / "pedal.mid"))
    piece = stimulus_piece(tmp_path / "pedal.mid", ClipSettings())
    assert piece.end.tolist() == [2.0]  # released at 0.5 under the pedal, sounds until the pedal lifts at 2
