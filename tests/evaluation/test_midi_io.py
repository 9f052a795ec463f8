"""The MIDI reader: note arrays in quarter notes and seconds, tempo map, bars, drums, and its errors."""

from __future__ import annotations

import io
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from evaluation import MidiError, ReaderConfig, read_midi


def _mido_file(events: list[mido.Message | mido.MetaMessage], ticks_per_beat: int = 480) -> bytes:
    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    track = mido.MidiTrack()
    track.extend(events)
    midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def test_notes_in_quarters_and_seconds_through_a_tempo_change() -> None:
    # 120 BPM for 2 quarters (1 s), then 60 BPM: a note at quarter 3 starts at 1 s + 1 s = 2 s.
    data = _mido_file([
        mido.MetaMessage("set_tempo", tempo=500_000, time=0),
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.Message("note_off", note=60, velocity=0, time=480),
        mido.MetaMessage("set_tempo", tempo=1_000_000, time=480),
        mido.Message("note_on", note=64, velocity=70, time=480),
        mido.Message("note_off", note=64, velocity=0, time=960),
    ])
    piece = read_midi(data, name="tempo.mid")
    np.testing.assert_array_equal(piece.pitch, [60, 64])
    np.testing.assert_allclose(piece.start, [0.0, 3.0])
    np.testing.assert_allclose(piece.end, [1.0, 5.0])
    np.testing.assert_allclose(piece.start_seconds, [0.0, 2.0])
    np.testing.assert_allclose(piece.end_seconds, [0.5, 4.0])
    np.testing.assert_allclose(piece.tempos, [[0.0, 120.0], [2.0, 60.0]])
    assert piece.duration == 5.0 and piece.duration_seconds == 4.0
    np.testing.assert_array_equal(piece.velocity, [80, 70])


def test_drums_are_flagged_and_pitched_drops_them_and_notes_are_sorted(tmp_path: Path) -> None:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(program=5)
    piano.notes = [pretty_midi.Note(80, 67, 0.5, 1.0), pretty_midi.Note(80, 60, 0.0, 0.5),
                   pretty_midi.Note(80, 64, 0.0, 0.5)]
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    kit.notes = [pretty_midi.Note(100, 36, 0.0, 0.25)]
    midi.instruments += [piano, kit]
    path = tmp_path / "band.mid"
    midi.write(str(path))
    piece = read_midi(path)
    np.testing.assert_array_equal(piece.pitch, [36, 60, 64, 67])
    np.testing.assert_array_equal(piece.is_drum, [True, False, False, False])
    np.testing.assert_array_equal(piece.program, [0, 5, 5, 5])
    assert piece.path == str(path)
    pitched = piece.pitched()
    np.testing.assert_array_equal(pitched.pitch, [60, 64, 67])
    np.testing.assert_allclose(pitched.start, [0.0, 0.0, 1.0])


def test_bar_starts_follow_time_signature_changes() -> None:
    # 3/4 for two bars (6 quarters), then 6/8 (3 quarters a bar); the last note ends at quarter 12.
    data = _mido_file([
        mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0),
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.MetaMessage("time_signature", numerator=6, denominator=8, time=6 * 480),
        mido.Message("note_off", note=60, velocity=0, time=6 * 480),
    ])
    piece = read_midi(data, name="meter.mid")
    np.testing.assert_allclose(piece.time_signatures, [[0, 3, 4], [6, 6, 8]])
    np.testing.assert_allclose(piece.bar_starts(), [0, 3, 6, 9])


def test_files_without_time_signature_are_in_four_four() -> None:
    data = _mido_file([mido.Message("note_on", note=60, velocity=80, time=0),
                       mido.Message("note_off", note=60, velocity=0, time=480 * 9)])
    piece = read_midi(data, name="plain.mid")
    np.testing.assert_allclose(piece.bar_starts(), [0, 4, 8])
    np.testing.assert_allclose(piece.tempos, [[0.0, 120.0]])


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "the file is empty (0 bytes)"),
    (b"just some text\n", "this is a text file, not a MIDI file"),
    (bytes(range(256)) * 4, "not a MIDI file: it does not start with the 'MThd' header"),
    (b"MThd\x00\x00\x00\x06\x00\x01", "truncated"),
])
def test_unreadable_bytes_name_the_file_and_the_problem(data: bytes, reason: str) -> None:
    with pytest.raises(MidiError, match=r"^upload\.mid: ") as caught:
        read_midi(data, name="upload.mid")
    assert reason in caught.value.reason


def test_missing_file_and_size_limit(tmp_path: Path) -> None:
    with pytest.raises(MidiError, match="no such file"):
        read_midi(tmp_path / "nowhere.mid")
    data = _mido_file([mido.Message("note_on", note=60, velocity=80, time=0),
                       mido.Message("note_off", note=60, velocity=0, time=480)])
    with pytest.raises(MidiError, match="over the 0 MiB limit"):
        read_midi(data, name="big.mid", config=ReaderConfig(max_bytes=10))


def test_drums_only_is_accepted_when_pitched_notes_are_not_required() -> None:
    data = _mido_file([mido.Message("note_on", note=36, velocity=80, channel=9, time=0),
                       mido.Message("note_off", note=36, velocity=0, channel=9, time=240)])
    with pytest.raises(MidiError, match="only drum notes"):
        read_midi(data, name="drums.mid")
    piece = read_midi(data, name="drums.mid", config=ReaderConfig(require_pitched=False))
    assert piece.n_notes == 1 and bool(piece.is_drum[0])
    assert piece.pitched().n_notes == 0 and piece.pitched().duration == 0.0


@pytest.mark.parametrize("data", [b"M", b"MTh", b"MThd\x00\x00"])
def test_a_file_cut_inside_its_header_is_called_truncated(data: bytes) -> None:
    with pytest.raises(MidiError, match="truncated"):
        read_midi(data, name="cut.mid")


def test_a_file_cut_inside_a_track_is_called_truncated() -> None:
    data = _mido_file([mido.Message("note_on", note=60, velocity=80, time=0),
                       mido.Message("note_off", note=60, velocity=0, time=480)] * 20)
    with pytest.raises(MidiError, match="truncated"):
        read_midi(data[: len(data) - 25], name="cut.mid")


def test_the_sustain_pedal_lengthens_notes_only_when_asked() -> None:
    # pedal down at 0, up at quarter 2; C4 released at 0.5 sounds to 2, E4 released at 3 is not held,
    # D4 released at 0.25 would sound to 2 but D4 starts again at 1.
    data = _mido_file([
        mido.Message("control_change", control=64, value=127, time=0),
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.Message("note_on", note=62, velocity=80, time=0),
        mido.Message("note_off", note=62, velocity=0, time=120),
        mido.Message("note_off", note=60, velocity=0, time=120),
        mido.Message("note_on", note=62, velocity=80, time=240),
        mido.Message("note_off", note=62, velocity=0, time=120),
        mido.Message("control_change", control=64, value=0, time=360),
        mido.Message("note_on", note=64, velocity=80, time=0),
        mido.Message("note_off", note=64, velocity=0, time=480),
    ])
    plain = read_midi(data, name="pedal.mid")
    held = read_midi(data, name="pedal.mid", config=ReaderConfig(sustain_pedal=True))
    np.testing.assert_array_equal(plain.pitch, [60, 62, 62, 64])
    np.testing.assert_allclose(plain.end, [0.5, 0.25, 1.25, 3.0])
    np.testing.assert_allclose(held.end, [2.0, 1.0, 2.0, 3.0])
