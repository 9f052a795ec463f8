"""What the three notewise encodings share: a piece as a sequence of onset events with a duration stream.

An *event* is the set of pitches starting at one onset (times on a grid of ``resolution`` ticks per quarter
note). Each event is a pitch token (the note, the sorted chord, or the chord's root) and a duration token:
the time to the next event's onset (for the last event, its longest note), written as a fraction of a
quarter note ("1/2", "3/2"). Time advances by the durations, so a decoded piece is a line of notes or
block chords: notes held past the next onset end there, and a rest (with no rest token) lengthens the
event before it. Arrays are int32 (T, 2): column 0 the pitch stream, column 1 the duration stream.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from evaluation import Piece, piece_from_notes
from generation.encodings.base import EncodingConfig
from generation.encodings.tokens import Row, TokenEncoding
from generation.pipeline import PreprocessConfig

__all__ = ["NotewiseConfig", "NotewiseEncoding", "OnsetEvent", "duration_symbol", "onset_events"]


@dataclass(frozen=True)
class NotewiseConfig(EncodingConfig):
    """Time grid of the notewise encodings."""

    resolution: int = 24  # ticks per quarter note of onsets and durations (24: 32nd notes and triplets)

    def __post_init__(self) -> None:
        if int(self.resolution) != self.resolution or self.resolution < 1:
            raise ValueError(f"resolution must be a positive whole number of ticks per quarter note, "
                             f"got {self.resolution}")


@dataclass(frozen=True)
class OnsetEvent:
    """Pitches starting at one onset; times in ticks of the encoding's resolution."""

    onset: int
    pitches: tuple[int, ...]  # sorted, distinct
    end: int  # end of the longest of these notes
    next_onset: int | None  # onset of the next event (None for the last)


def onset_events(piece: Piece, resolution: int) -> list[OnsetEvent]:
    """The onset events of a piece's pitched notes (onsets and ends rounded to the tick grid)."""
    notes = piece.pitched()
    if notes.n_notes == 0:
        return []
    onset = np.floor(notes.start * resolution + 0.5).astype(np.int64)
    end = np.maximum(np.floor(notes.end * resolution + 0.5).astype(np.int64), onset + 1)
    onsets, first = np.unique(onset, return_index=True)
    bounds = np.append(first, onset.size)
    pitch = notes.pitch  # pieces keep notes sorted by start, so each onset's notes are contiguous
    events = []
    for index, tick in enumerate(onsets.tolist()):
        members = slice(bounds[index], bounds[index + 1])
        following = int(onsets[index + 1]) if index + 1 < len(onsets) else None
        events.append(OnsetEvent(tick, tuple(sorted(set(pitch[members].tolist()))), int(end[members].max()),
                                 following))
    return events


def duration_symbol(ticks: int, resolution: int) -> str:
    """A duration in ticks as a fraction of a quarter note: 12 ticks at 24 per quarter -> "1/2"."""
    return str(Fraction(int(ticks), int(resolution)))


def _duration_value(symbol: str) -> Fraction:
    return Fraction(symbol)


class NotewiseEncoding(TokenEncoding):
    """Base of the notewise encodings: subclasses give the pitch symbols of the events."""

    streams: ClassVar[tuple[str, ...]] = ("pitch", "duration")
    config_class = NotewiseConfig
    option_fields: ClassVar[dict[str, str]] = {"resolution": "resolution"}
    rest_symbol: ClassVar[str | None] = None  # set by encodings with rest tokens

    def declared_preprocess(self) -> PreprocessConfig:
        return PreprocessConfig(quantize=1.0 / self.config.resolution, trim_start=self.rest_symbol is None)

    def sort_key(self, stream: str, symbol: str) -> Any:
        if stream == "duration":
            return _duration_value(symbol)
        if symbol == self.rest_symbol:
            return (-1,)
        return tuple(int(part) for part in symbol.split("."))

    def reserved(self, stream: str) -> tuple[str, ...]:
        return (self.rest_symbol,) if stream == "pitch" and self.rest_symbol else ()

    def event_symbol(self, event: OnsetEvent) -> str:
        """The pitch token of an event (subclasses)."""
        raise NotImplementedError

    def symbols(self, item: Piece) -> list[tuple[str, ...]]:
        resolution = self.config.resolution
        rows: list[tuple[str, ...]] = []
        events = onset_events(item, resolution)
        if self.rest_symbol and events and events[0].onset > 0:
            rows.append((self.rest_symbol, duration_symbol(events[0].onset, resolution)))
        for event in events:
            if event.next_onset is None:
                rows.append((self.event_symbol(event), duration_symbol(event.end - event.onset, resolution)))
            elif self.rest_symbol and event.end < event.next_onset:
                rows.append((self.event_symbol(event), duration_symbol(event.end - event.onset, resolution)))
                rows.append((self.rest_symbol, duration_symbol(event.next_onset - event.end, resolution)))
            else:
                rows.append((self.event_symbol(event), duration_symbol(event.next_onset - event.onset, resolution)))
        return rows

    def fallback_duration(self) -> Fraction:
        """Duration used where a duration id is unusable: the shortest fitted duration of at least a quarter
        note, else one quarter note."""
        values = [_duration_value(symbol) for symbol in self.vocabularies["duration"].symbols]
        longer = [value for value in values if value >= 1]
        return min(longer) if longer else Fraction(1)

    def piece_from_rows(self, rows: list[Row], repairs: Counter, tempo: float | np.ndarray) -> Piece:
        fallback = self.fallback_duration()
        pitches: list[int] = []
        starts: list[float] = []
        ends: list[float] = []
        now = Fraction(0)
        for pitch_symbol, duration in rows:
            if pitch_symbol is None and duration is None:
                repairs["rows without a usable pitch or duration dropped"] += 1
                continue
            if duration is None:
                repairs[f"unusable duration replaced by {fallback}"] += 1
                length = fallback
            else:
                length = _duration_value(duration)
            if pitch_symbol is None:
                repairs["unusable pitch token decoded as a rest"] += 1
            elif pitch_symbol != self.rest_symbol:
                for pitch in pitch_symbol.split("."):
                    pitches.append(int(pitch))
                    starts.append(float(now))
                    ends.append(float(now + length))
            now += length
        return piece_from_notes(pitches, starts, ends, tempos=tempo)
