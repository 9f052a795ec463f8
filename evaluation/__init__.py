"""Score folders of MIDI files against a reference corpus: features, chords, distances, reports."""

from evaluation.midi_io import (
    MidiError,
    Piece,
    ReaderConfig,
    check_piece,
    piece_from_notes,
    read_midi,
    write_midi,
)

__all__ = ["MidiError", "Piece", "ReaderConfig", "check_piece", "piece_from_notes", "read_midi", "write_midi"]
