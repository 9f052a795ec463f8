"""Bar lines of a music21 score, and the MIDI time signatures that put every one of them on the MIDI's bar grid.

A MIDI file has no bar lines, only time signatures: a reader (:meth:`evaluation.Piece.bar_starts`) puts a
bar line at each time signature and then every ``numerator * 4 / denominator`` quarter notes. A score has
measures that are shorter than their meter: the pickup at the start, the pickup of a repeated section, split
bars around a repeat sign or a fermata, first and second endings. Written under the full-bar meter, each of
them shifts every later bar line (bwv269: bars at 21, 24, 27 instead of 22, 25, 28).

:func:`score_bars` lists the measures of the repeat-expanded score (the timeline of its MIDI file), and
:func:`time_signature_table` gives each measure whose length differs from its meter a time signature of
its own length (a one-quarter pickup in 3/4 becomes 1/4, the 2-beat half of a split 3/4 bar 2/4), so every
bar line of the score is a bar line of the MIDI file. Times are in quarter notes from the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["ScoreBar", "score_bars", "signature_for_length", "time_signature_table"]


@dataclass(frozen=True)
class ScoreBar:
    """One measure of the expanded score as it sounds: ``start`` and ``length`` in quarter notes; ``meter``
    the (numerator, denominator) in force; ``number``/``suffix`` the measure number of the score it was
    copied from (music21's ``Measure.number`` and ``numberSuffix``, e.g. 7 and "a" for the second half of a
    split bar 7) and ``padding`` its ``paddingLeft``: where it starts inside a full bar (a pickup of one
    quarter in 3/4 has padding 2)."""

    start: float
    length: float
    meter: tuple[int, int]
    number: int
    suffix: str
    padding: float


def _origin_measure(measure: Any, originals: dict[int, Any]) -> Any:
    """The measure of the unexpanded score that ``measure`` was copied from (music21 keeps the chain in
    ``derivation.origin``), or ``measure`` itself when the chain does not lead there."""
    current = measure
    for _ in range(8):
        if id(current) in originals:
            return current
        origin = getattr(getattr(current, "derivation", None), "origin", None)
        if origin is None:
            break
        current = origin
    return measure


def score_bars(expanded: Any, original: Any | None = None) -> list[ScoreBar]:
    """Measures of ``expanded`` (a music21 score whose repeats are already expanded) in time order.

    The first part that has measures is the reference (parts of a score share their bar lines). A measure
    ends where the next one starts; the last one lasts its own duration. ``original`` (the score before
    ``expandRepeats``) gives each bar the number of the measure it repeats; without it the expanded
    measures' own numbers are used (music21 gives copies in a repeat a suffix such as "a").
    """
    from music21 import meter, stream  # noqa: PLC0415

    parts = list(getattr(expanded, "parts", [])) or [expanded]
    measures: list[Any] = []
    for part in parts:
        measures = list(part.getElementsByClass(stream.Measure))
        if measures:
            break
    originals: dict[int, Any] = {}
    if original is not None:
        for part in list(getattr(original, "parts", [])) or [original]:
            originals.update((id(m), m) for m in part.getElementsByClass(stream.Measure))
    starts = [Fraction(measure.offset).limit_denominator(10**6) for measure in measures]
    current = (4, 4)
    bars: list[ScoreBar] = []
    for index, measure in enumerate(measures):
        signature = measure.timeSignature
        if signature is None and index == 0:
            signature = measure.getContextByClass(meter.TimeSignature)
        if signature is not None:
            current = (int(signature.numerator), int(signature.denominator))
        if index + 1 < len(measures):
            length = starts[index + 1] - starts[index]
        else:
            length = Fraction(measure.duration.quarterLength).limit_denominator(10**6)
        source = _origin_measure(measure, originals) if originals else measure
        bars.append(ScoreBar(start=float(starts[index]), length=float(length), meter=current,
                             number=int(source.number or 0), suffix=str(source.numberSuffix or ""),
                             padding=float(source.paddingLeft or 0.0)))
    return bars


def signature_for_length(quarters: float, denominator: int = 4) -> tuple[int, int] | None:
    """A time signature lasting ``quarters`` quarter notes: with ``denominator`` when that gives a whole
    numerator (1 quarter in 3/4 -> 1/4, 1.5 in 6/8 -> 3/8), else the smallest power-of-two denominator up
    to 64 that does (1 quarter in 2/2 -> 1/4); None when no MIDI time signature has that length."""
    length = Fraction(quarters).limit_denominator(10**6)
    if length <= 0:
        return None
    candidates = [denominator] + [d for d in (1, 2, 4, 8, 16, 32, 64) if d != denominator]
    for candidate in candidates:
        numerator = length * candidate / 4
        if numerator.denominator == 1 and 1 <= numerator.numerator <= 255 and candidate <= 64:
            return int(numerator.numerator), candidate
    return None


def time_signature_table(bars: list[ScoreBar]) -> tuple[list[tuple[float, int, int]], list[ScoreBar]]:
    """Time-signature rows ``(position, numerator, denominator)`` that put a MIDI bar line at the start of
    every bar, and the bars that could not be given one (a length no time signature has, e.g. a third of
    a quarter); those keep their meter, so bar lines after them may be off.

    A bar as long as its meter gets the meter; any other bar a signature of its own length
    (:func:`signature_for_length`). Rows are written only where the signature changes, so a piece without
    short bars has a single row. Without bars the table is ``[(0.0, 4, 4)]``.
    """
    rows: list[tuple[float, int, int]] = []
    unwritable: list[ScoreBar] = []
    for bar in bars:
        numerator, denominator = bar.meter
        full = Fraction(numerator * 4, denominator)
        if abs(Fraction(bar.length).limit_denominator(10**6) - full) < Fraction(1, 10**6):
            signature = bar.meter
        else:
            signature = signature_for_length(bar.length, denominator)
            if signature is None:
                unwritable.append(bar)
                signature = bar.meter
        if not rows or (rows[-1][1], rows[-1][2]) != signature:
            rows.append((bar.start, *signature))
    if not rows:
        rows = [(0.0, 4, 4)]
    if rows[0][0] > 0:
        rows.insert(0, (0.0, *rows[0][1:]))
    return rows, unwritable
