"""Small MIDI pieces built with pretty_midi for the feature tests, read back through ``read_midi``.

Times are given in quarter notes; every piece is at 120 BPM (a quarter note lasts 0.5 s) unless stated, so
tick times are exact. Each builder documents what the piece is; the expected values live in the tests.
"""

from __future__ import annotations

import io

import pretty_midi

from evaluation.midi_io import Piece, ReaderConfig, read_midi

Note = tuple[int, float, float]  # (pitch, start, end) in quarter notes


def midi_bytes(tracks: list[list[Note]], *, bpm: float = 120.0, resolution: int = 480,
               time_signature: tuple[int, int] | None = (4, 4), drum_tracks: tuple[int, ...] = (),
               signature_changes: tuple[tuple[int, int, float], ...] = ()) -> bytes:
    """A Standard MIDI File with one instrument per list of notes (track index = list index).

    ``signature_changes`` are ``(numerator, denominator, position in quarter notes)`` after the first.
    """
    midi = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=bpm)
    seconds_per_quarter = 60.0 / bpm
    if time_signature is not None:
        midi.time_signature_changes.append(pretty_midi.TimeSignature(*time_signature, 0.0))
    for numerator, denominator, position in signature_changes:
        midi.time_signature_changes.append(
            pretty_midi.TimeSignature(numerator, denominator, position * seconds_per_quarter))
    for index, notes in enumerate(tracks):
        instrument = pretty_midi.Instrument(program=0, is_drum=index in drum_tracks)
        for pitch, start, end in notes:
            start_s, end_s = start * seconds_per_quarter, end * seconds_per_quarter
            instrument.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=start_s, end=end_s))
        midi.instruments.append(instrument)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def piece(tracks: list[list[Note]], name: str = "fixture.mid", **options) -> Piece:
    """Build the file with :func:`midi_bytes` and read it with ``read_midi`` (drum-only files allowed)."""
    return read_midi(midi_bytes(tracks, **options), name=name, config=ReaderConfig(require_pitched=False))


def sequence(pitches: list[int], length: float = 1.0, start: float = 0.0) -> list[Note]:
    """Consecutive notes of ``length`` quarter notes each."""
    return [(pitch, start + index * length, start + (index + 1) * length)
            for index, pitch in enumerate(pitches)]


C_MAJOR_SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def c_major_scale() -> Piece:
    """C4 D4 E4 F4 G4 A4 B4 C5 as eight quarter notes in 4/4: two full bars, one track."""
    return piece([sequence(C_MAJOR_SCALE)], name="c_major_scale.mid")


# C, F, G7, C (with doubled root): one chord per 4/4 bar, whole notes, one track.
CHORDS = [(60, 64, 67), (65, 69, 72), (67, 71, 74, 77), (60, 64, 67, 72)]


def chord_progression() -> Piece:
    """The four chords of :data:`CHORDS`, each a whole note filling one bar."""
    notes = [(pitch, 4.0 * bar, 4.0 * (bar + 1)) for bar, chord in enumerate(CHORDS) for pitch in chord]
    return piece([notes], name="chords.mid")


def empty_middle_bar() -> Piece:
    """Three 4/4 bars: a whole-note C4, an empty bar, a whole-note E4."""
    return piece([[(60, 0.0, 4.0), (64, 8.0, 12.0)]], name="empty_bar.mid")


FUR_ELISE = [76, 75, 76, 75, 76, 71, 74, 72, 69]


def fur_elise(resolution: int = 24) -> Piece:
    """MusPy's test piece (``tests/data/test.json``): nine eighth notes E5 D#5 E5 D#5 E5 B4 D5 C5 A4 in 3/8 at
    72 BPM, written at ``resolution`` ticks per quarter note."""
    return piece([sequence(FUR_ELISE, length=0.5)], name="fur_elise.mid", bpm=72.0, resolution=resolution,
                 time_signature=(3, 8))


def drums_only() -> Piece:
    """Four quarter-note hits of a bass drum (pitch 36) on the drum channel, one 4/4 bar."""
    return piece([sequence([36, 36, 36, 36])], name="drums.mid", drum_tracks=(0,))


def scale_with_long_drums() -> Piece:
    """The C major scale (2 bars) over a drum track of quarter-note hits lasting 4 bars."""
    return piece([sequence(C_MAJOR_SCALE), sequence([36] * 16)], name="scale_drums.mid", drum_tracks=(1,))


def meter_change() -> Piece:
    """One 3/4 bar of quarter notes C D E, then two 4/4 bars of quarter notes F G A B | C B A G."""
    return piece([sequence([60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67])], name="meter_change.mid",
                 time_signature=(3, 4), signature_changes=((4, 4, 3.0),))
