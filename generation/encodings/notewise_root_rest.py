"""``notewise-root-rest``: as ``notewise-root``, plus rest tokens.

A rest token ("r") with its duration stands for the silence between the end of an event's longest note
and the next onset, and for a silence before the first note, so decoded notes keep their ends wherever
nothing else starts while they sound. Lossy as ``notewise-root`` (a chord keeps only its root).
"""

from __future__ import annotations

from generation.encodings.notewise_root import NotewiseRoot

__all__ = ["NotewiseRootRest"]


class NotewiseRootRest(NotewiseRoot):
    kind = "notewise-root-rest"
    summary = "as notewise-root, plus rest tokens for silences"
    fidelity = "lossy: a chord keeps only its root; onsets, rests and the ends of unoverlapped notes kept"
    rest_symbol = "r"
