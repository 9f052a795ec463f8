"""``notewise-root``: as ``notewise-chord``, but a chord is reduced to its root, a single note.

The root comes from the project's chord detector (:func:`evaluation.chords.detect_chords`, template
matching over Harte qualities) run on the chord's pitches alone; it sounds at the lowest chord pitch of its
pitch class (below the chord when the root is not among its pitches). A single note, or notes of one pitch
class, is its lowest pitch. Duration stream and timing as in :mod:`generation.encodings.notewise`.
Lossy by design: every other note of a chord is dropped (measured by ``python -m generation roundtrip``).
"""

from __future__ import annotations

from evaluation import piece_from_notes
from evaluation.chords import detect_chords
from evaluation.key import key_from_name
from generation.encodings.notewise import NotewiseEncoding, OnsetEvent

__all__ = ["NotewiseRoot", "chord_root"]

_C_MAJOR = key_from_name("C major")  # spelling context only: roots are pitch classes, whatever the key


def chord_root(pitches: tuple[int, ...]) -> int:
    """MIDI pitch of the root of a set of pitches (see the module docstring)."""
    lowest = min(pitches)
    if len({pitch % 12 for pitch in pitches}) < 2:
        return lowest
    chord = piece_from_notes(list(pitches), [0.0] * len(pitches), [1.0] * len(pitches))
    root = detect_chords(chord, per="beat", key=_C_MAJOR, merge=False)[0].root
    if root is None:
        return lowest
    members = [pitch for pitch in pitches if pitch % 12 == root]
    if members:
        return min(members)
    below = lowest - (lowest - root) % 12
    return below if below >= 0 else below + 12


class NotewiseRoot(NotewiseEncoding):
    kind = "notewise-root"
    summary = "chords reduced to their root (the project's chord detector), one note per onset, plus durations"
    fidelity = "lossy: a chord keeps only its root; onsets kept, rests lengthen the event before them"

    def __init__(self, config=None) -> None:
        super().__init__(config)
        self._roots: dict[tuple[int, ...], int] = {}

    def event_symbol(self, event: OnsetEvent) -> str:
        root = self._roots.get(event.pitches)
        if root is None:
            root = self._roots[event.pitches] = chord_root(event.pitches)
        return str(root)
