"""Our MusPy-family metrics against muspy 0.5 itself: equal (1e-9) where the definitions are the same, and
different exactly as documented where we fixed a MusPy bug. The only module that imports muspy."""

from __future__ import annotations

import math
from pathlib import Path

import muspy  # installed in .venv for tests and benchmarks; never imported by evaluation/
import numpy as np
import pytest

from evaluation import pitch, rhythm
from evaluation.features import compute_features
from evaluation.midi_io import read_midi
from tests.evaluation.midi_fixtures_features import (
    FUR_ELISE,
    c_major_scale,
    drums_only,
    empty_middle_bar,
    fur_elise,
    midi_bytes,
    piece,
    sequence,
)

N_CHORALES = 20
SHARED = ("n_pitches_used", "n_pitch_classes_used", "pitch_range", "pitch_entropy", "pitch_class_entropy",
          "polyphony", "polyphony_rate")


@pytest.fixture(scope="module")
def chorales(chorale_corpus: Path) -> list[Path]:
    """20 Bach chorales as MIDI, written by the corpus builder."""
    from data import corpus_files

    return corpus_files(chorale_corpus)[:N_CHORALES]


def _muspy_music(data: bytes, tmp_path: Path) -> muspy.Music:
    path = tmp_path / "piece.mid"
    path.write_bytes(data)
    return muspy.read_midi(path)


def test_shared_definitions_agree_on_chorales(chorales: list[Path]) -> None:
    assert len(chorales) == N_CHORALES
    for path in chorales:
        ours, theirs = compute_features(read_midi(path)), muspy.read_midi(path)
        for name in SHARED:
            expected = float(getattr(muspy.metrics, name)(theirs))
            assert ours[name] == pytest.approx(expected, abs=1e-9), (path, name)


def test_scales_agree_for_major_and_differ_by_the_leading_tone_for_minor(chorales: list[Path]) -> None:
    # MusPy's minor mask is natural minor (a rotation of major); ours is harmonic minor: the rate of a minor
    # key moves the share of notes on the lowered seventh (tonic + 10) to the leading tone (tonic + 11)
    differ = 0
    for path in chorales[:5]:
        ours, theirs = read_midi(path), muspy.read_midi(path)
        shares = pitch.pitch_class_histogram(ours)
        minor_rates = []
        for tonic in range(12):
            assert pitch.pitch_in_scale_rate(ours, tonic, "major") == pytest.approx(
                muspy.metrics.pitch_in_scale_rate(theirs, tonic, "major"), abs=1e-9), (path, tonic)
            expected = (muspy.metrics.pitch_in_scale_rate(theirs, tonic, "minor")
                        - shares[(tonic + 10) % 12] + shares[(tonic + 11) % 12])
            minor_rates.append(pitch.pitch_in_scale_rate(ours, tonic, "minor"))
            assert minor_rates[-1] == pytest.approx(expected, abs=1e-9), (path, tonic)
            differ += not math.isclose(minor_rates[-1], muspy.metrics.pitch_in_scale_rate(theirs, tonic, "minor"))
        # scale_consistency: the best of MusPy's 12 distinct scales or of the 12 harmonic minor ones
        muspy_value = muspy.metrics.scale_consistency(theirs)
        assert pitch.scale_consistency(ours) == pytest.approx(max(muspy_value, *minor_rates), abs=1e-9), path
    assert differ > 0  # the chorales' leading tones really move the minor rates


def test_empty_beat_rate_is_muspy_without_its_boundary_bug(chorales: list[Path]) -> None:
    # Shortening every note by one tick moves note ends off the beat lines, where MusPy's
    # `start // res .. end // res` and `length // res + 1` become our `floor(start) .. ceil(end) - 1` and
    # `ceil(length)`: then the two must agree exactly.
    differ = 0
    for path in chorales:
        theirs = muspy.read_midi(path)
        buggy = muspy.metrics.empty_beat_rate(theirs)
        for track in theirs.tracks:
            for note in track.notes:
                note.duration -= 1
        ours = rhythm.empty_beat_rate(read_midi(path))
        assert ours == pytest.approx(muspy.metrics.empty_beat_rate(theirs), abs=1e-9), path
        differ += not math.isclose(ours, buggy, abs_tol=1e-9)
    assert differ > 0  # chorales with a whole-beat rest: MusPy's bug fills it, so the rates really differ


def test_fur_elise_published_values_and_groove_bug(tmp_path: Path) -> None:
    theirs = _muspy_music(midi_bytes([sequence(FUR_ELISE, length=0.5)], bpm=72.0, resolution=24,
                                     time_signature=(3, 8)), tmp_path)
    ours = fur_elise(resolution=24)
    for name in SHARED + ("empty_beat_rate",):
        assert getattr(pitch if hasattr(pitch, name) else rhythm, name)(ours) == pytest.approx(
            float(getattr(muspy.metrics, name)(theirs)), abs=1e-12), name
    # three identical 3/8 bars: MusPy adds a fourth, empty measure -> 1 - 3 / (36 * 3) = 35/36 at 36 ticks
    assert muspy.metrics.groove_consistency(theirs, 36) == pytest.approx(35 / 36)
    assert rhythm.groove_consistency(ours) == 1.0


def test_groove_consistency_bug_with_quarter_notes(tmp_path: Path) -> None:
    theirs = _muspy_music(midi_bytes([sequence([60, 62, 64, 65, 67, 69, 71, 72])]), tmp_path)
    # measure_resolution in ticks (4 * 480): bars 1 and 2 equal, bar 2 vs the added empty measure: 4 steps
    assert muspy.metrics.groove_consistency(theirs, 4 * 480) == pytest.approx(1 - 4 / (1920 * 2))
    # 16 "steps per bar" as users pass it (MusPy#73) are 16-tick measures: 241 of them, onsets at position 0
    # of measures 0, 30, ..., 210; each onset measure differs from both neighbours (measure 0 from one):
    # 15 differences / (16 * 240)
    assert muspy.metrics.groove_consistency(theirs, 16) == pytest.approx(1 - 15 / (16 * 240))
    assert rhythm.groove_consistency(c_major_scale()) == 1.0


def test_empty_beat_rate_bug_on_a_silent_bar(tmp_path: Path) -> None:
    theirs = _muspy_music(midi_bytes([[(60, 0.0, 4.0), (64, 8.0, 12.0)]]), tmp_path)
    # MusPy: the first note "fills" beat 4 and there are 12 + 1 beats: 3 empty of 13
    assert muspy.metrics.empty_beat_rate(theirs) == pytest.approx(3 / 13)
    assert rhythm.empty_beat_rate(empty_middle_bar()) == pytest.approx(4 / 12)


def test_pitch_range_of_drums_only(tmp_path: Path) -> None:
    theirs = _muspy_music(midi_bytes([sequence([36, 36, 36, 36])], drum_tracks=(0,)), tmp_path)
    assert muspy.metrics.pitch_range(theirs) == -127
    assert math.isnan(pitch.pitch_range(drums_only()))


def test_scale_consistency_counts_the_leading_tone_of_minor(tmp_path: Path) -> None:
    # An A harmonic minor scale: MusPy's best natural-minor/major fit is 7 of 8; in A harmonic minor all 8
    notes = [57, 59, 60, 62, 64, 65, 68, 69]
    theirs = _muspy_music(midi_bytes([sequence(notes)]), tmp_path)
    assert muspy.metrics.scale_consistency(theirs) == pytest.approx(7 / 8)
    assert muspy.metrics.pitch_in_scale_rate(theirs, 9, "minor") == pytest.approx(7 / 8)
    assert pitch.scale_consistency(piece([sequence(notes)])) == 1.0
    np.testing.assert_array_equal(np.flatnonzero(pitch.scale_mask(9, "minor")), [0, 2, 4, 5, 8, 9, 11])


def _mido_file(tmp_path: Path, events: list) -> Path:
    """One track of (absolute tick, message) at 480 ticks per quarter note."""
    import mido

    track, now = mido.MidiTrack(), 0
    for tick, message in sorted(events, key=lambda item: item[0]):
        track.append(message.copy(time=tick - now))
        now = tick
    midi = mido.MidiFile(ticks_per_beat=480)
    midi.tracks.append(track)
    path = tmp_path / "events.mid"
    midi.save(str(path))
    return path


def test_polyphony_rate_divides_by_the_track_end_as_muspy(tmp_path: Path) -> None:
    import mido

    # a C major triad for 2 quarters, then a sustain-pedal release 2 quarters after the last note ends
    chord = [(0, mido.Message("note_on", note=p, velocity=80)) for p in (60, 64, 67)]
    chord += [(960, mido.Message("note_off", note=p, velocity=0)) for p in (60, 64, 67)]
    pedal = [(0, mido.Message("control_change", control=64, value=127)),
             (1920, mido.Message("control_change", control=64, value=0))]
    path = _mido_file(tmp_path, chord + pedal)
    ours = read_midi(path)
    assert (ours.duration, ours.controls_end, ours.track_end) == (2.0, 4.0, 4.0)
    expected = muspy.metrics.polyphony_rate(muspy.read_midi(path))
    assert expected == pytest.approx(0.5)  # three pitches for 2 of the 4 quarter notes of the track
    assert pitch.polyphony_rate(ours) == pytest.approx(expected, abs=1e-12)
    assert compute_features(ours)["polyphony_rate"] == pytest.approx(expected, abs=1e-12)


def test_zero_length_notes_count_in_muspy_note_metrics_only(tmp_path: Path) -> None:
    import mido

    # C E G for a quarter note, plus a zero-length B: MusPy counts the B as a note, we drop it
    events = [(0, mido.Message("note_on", note=p, velocity=80)) for p in (60, 64, 67, 71)]
    events += [(0, mido.Message("note_off", note=71, velocity=0))]
    events += [(480, mido.Message("note_off", note=p, velocity=0)) for p in (60, 64, 67)]
    path = _mido_file(tmp_path, events)
    ours, theirs = read_midi(path), muspy.read_midi(path)
    assert ours.n_notes == 3 and sum(len(track.notes) for track in theirs.tracks) == 4
    assert muspy.metrics.n_pitches_used(theirs) == 4 and pitch.n_pitches_used(ours) == 3
    for name in ("polyphony", "polyphony_rate"):  # time-based: the zero-length note never sounds in either
        assert getattr(pitch, name)(ours) == pytest.approx(float(getattr(muspy.metrics, name)(theirs)), abs=1e-12)
