"""``pianoroll-tokens``: a piano roll at ``fs`` frames per second; each distinct set of sounding pitches is a
token, plus an empty-frame token.

Frame k holds the pitches sounding at its centre, ``(k + 1/2) / fs`` seconds: a note covers frames
``round(start * fs)`` to ``round(end * fs) - 1`` (so a note shorter than about one frame can vanish, as in
pretty_midi's ``get_piano_roll``, whose sampling frequency ``fs`` the source report varies). Array: int32
(T, 1), one token per frame; tokens are sorted pitches "60.64.67" or "empty". Decoding makes one note of
each run of frames in which a pitch sounds.

Lossy, the more so at low fs: onsets move by up to half a frame, repeated notes without a gap merge, short
notes vanish (``python -m generation roundtrip --encoding pianoroll-tokens --fs 4,8,16,32`` measures it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from evaluation import Piece, piece_from_notes
from generation.encodings.base import EncodingConfig, first_bpm
from generation.encodings.grid import runs_to_notes
from generation.encodings.tokens import Row, TokenEncoding

__all__ = ["EMPTY", "PianorollConfig", "PianorollTokens", "piano_roll"]

EMPTY = "empty"


@dataclass(frozen=True)
class PianorollConfig(EncodingConfig):
    fs: float = 16.0  # frames per second

    def __post_init__(self) -> None:
        if not self.fs > 0:
            raise ValueError(f"fs must be positive frames per second, got {self.fs}")


def piano_roll(piece: Piece, fs: float) -> np.ndarray:
    """Boolean (T, 128) roll of the pitched notes at ``fs`` frames per second (frame centres, see above)."""
    notes = piece.pitched()
    first = np.floor(notes.start_seconds * fs + 0.5).astype(np.int64)
    stop = np.floor(notes.end_seconds * fs + 0.5).astype(np.int64)
    frames = int(stop.max()) if stop.size else 0
    delta = np.zeros((frames + 1, 128), dtype=np.int32)
    np.add.at(delta, (first, notes.pitch.astype(np.int64)), 1)
    np.add.at(delta, (stop, notes.pitch.astype(np.int64)), -1)
    return np.cumsum(delta, axis=0)[:frames] > 0


class PianorollTokens(TokenEncoding):
    kind = "pianoroll-tokens"
    summary = "piano roll at fs frames/s; each distinct set of sounding pitches is a token (plus empty frame)"
    fidelity = "lossy at low fs: onsets move up to half a frame, repeated notes merge, short notes vanish"
    config_class = PianorollConfig
    option_fields: ClassVar[dict[str, str]] = {"fs": "fs"}

    def reserved(self, stream: str) -> tuple[str, ...]:
        return (EMPTY,)

    def sort_key(self, stream: str, symbol: str) -> Any:
        return (len(symbol.split(".")), tuple(int(part) for part in symbol.split(".")))

    def describe(self) -> str:
        return f"fs {self.config.fs:g} frames/s"

    def symbols(self, item: Piece) -> list[tuple[str, ...]]:
        roll = piano_roll(item, self.config.fs)
        names: dict[bytes, str] = {}
        rows = []
        for frame in roll:
            key = np.packbits(frame).tobytes()
            name = names.get(key)
            if name is None:
                pitches = np.flatnonzero(frame)
                name = names[key] = ".".join(map(str, pitches.tolist())) if pitches.size else EMPTY
            rows.append((name,))
        return rows

    def piece_from_rows(self, rows: list[Row], repairs: Counter, tempo: float | np.ndarray) -> Piece:
        roll = np.zeros((len(rows), 128), dtype=bool)
        for index, (symbol,) in enumerate(rows):
            if symbol is not None and symbol != EMPTY:  # unusable ids (counted already) are empty frames
                roll[index, [int(pitch) for pitch in symbol.split(".")]] = True
        column, first, stop = runs_to_notes(roll)
        bpm = first_bpm(tempo)
        scale = bpm / 60.0 / self.config.fs  # frames -> quarter notes
        return piece_from_notes(column, first * scale, stop * scale, tempos=bpm)
