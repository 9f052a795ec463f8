"""``notewise-chord``: each note or unique chord (its sorted pitches, "60.64.67") is a pitch token, with a
parallel duration token (two streams, for a pitch head and a duration head).

Layout and timing: :mod:`generation.encodings.notewise`. Lossless for onsets and pitches on its tick grid
(24 per quarter note): every onset is an event and its token lists every pitch starting there. What it
loses: how long a note is held past the next onset (it ends there), and rests (they lengthen the event
before them); a leading silence is trimmed by its declared preprocessing.
"""

from __future__ import annotations

from generation.encodings.notewise import NotewiseEncoding, OnsetEvent

__all__ = ["NotewiseChord"]


class NotewiseChord(NotewiseEncoding):
    kind = "notewise-chord"
    summary = "each note or chord (sorted pitches) at an onset is a token, plus a parallel duration token"
    fidelity = ("lossless for onsets and pitches (24 ticks per quarter); notes held past the next onset end "
                "there, rests lengthen the event before them")

    def event_symbol(self, event: OnsetEvent) -> str:
        return ".".join(str(pitch) for pitch in event.pitches)
