"""Score folders of MIDI files against a reference corpus: features, chords, distances, reports."""

from evaluation.midi_io import MidiError, Piece, ReaderConfig, read_midi

__all__ = ["MidiError", "Piece", "ReaderConfig", "read_midi"]
