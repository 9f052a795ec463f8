"""``folk-steps``: a monophonic melody on a 16th-note grid, one token per step.

Tokens: the MIDI number of a note starting at the step ("67"), ``_`` to hold the note sounding, ``r`` for a
rest, and ``/`` after the last step of a song (the representation of the folk-song LSTMs the source reports
train). Array: int32 (T, 1). Decoding reads up to the first ``/``.

Lossless for monophonic melodies on the grid (onsets, pitches and ends), after its declared preprocessing:
melody extraction, skyline (one note at a time) and quantization to the step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from evaluation import Piece, piece_from_notes
from generation.encodings.base import EncodingConfig
from generation.encodings.grid import onset_steps
from generation.encodings.tokens import Row, TokenEncoding
from generation.pipeline import PreprocessConfig

__all__ = ["END", "HOLD", "REST", "FolkSteps", "FolkStepsConfig"]

END, HOLD, REST = "/", "_", "r"


@dataclass(frozen=True)
class FolkStepsConfig(EncodingConfig):
    step: float = 0.25  # quarter notes per step (a 16th note)

    def __post_init__(self) -> None:
        if not self.step > 0:
            raise ValueError(f"step must be positive quarter notes, got {self.step}")


class FolkSteps(TokenEncoding):
    kind = "folk-steps"
    summary = "monophonic melody on a 16th grid: MIDI number at an onset, _ hold, r rest, / between songs"
    fidelity = "lossless for monophonic melodies on the grid (after melody extraction, skyline, quantization)"
    config_class = FolkStepsConfig
    option_fields: ClassVar[dict[str, str]] = {"step": "step"}

    def reserved(self, stream: str) -> tuple[str, ...]:
        return (END, HOLD, REST)

    def sort_key(self, stream: str, symbol: str) -> Any:
        return int(symbol)

    def declared_preprocess(self) -> PreprocessConfig:
        return PreprocessConfig(melody=True, skyline=True, quantize=self.config.step)

    def describe(self) -> str:
        return f"step {self.config.step:g} quarter notes"

    def _steps(self, piece: Piece) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        notes = piece.pitched()
        first = onset_steps(notes.start, self.config.step)
        stop = np.maximum(onset_steps(notes.end, self.config.step), first + 1)
        return notes.pitch.astype(np.int64), first, stop

    def unencodable(self, item: Piece) -> str | None:
        _, first, stop = self._steps(item)
        overlapping = int(np.count_nonzero(first[1:] < stop[:-1]))
        if overlapping:
            return (f"not monophonic on the {self.config.step:g}-quarter grid: {overlapping} note(s) start before "
                    "the previous one ends; keep --skyline on")
        return None

    def symbols(self, item: Piece) -> list[tuple[str, ...]]:
        pitch, first, stop = self._steps(item)
        tokens = [REST] * (int(stop.max()) if stop.size else 0)
        for note_pitch, begin, end in zip(pitch.tolist(), first.tolist(), stop.tolist(), strict=True):
            tokens[begin] = str(note_pitch)
            tokens[begin + 1:end] = [HOLD] * (end - begin - 1)
        return [(token,) for token in tokens] + [(END,)]

    def piece_from_rows(self, rows: list[Row], repairs: Counter, tempo: float | np.ndarray) -> Piece:
        pitches, starts, ends = [], [], []
        sounding: int | None = None  # index of the note sounding
        step = self.config.step
        for index, (symbol,) in enumerate(rows):
            if symbol == END:
                if index + 1 < len(rows):
                    repairs["steps after the end-of-song symbol dropped"] += len(rows) - index - 1
                break
            if symbol == HOLD:
                if sounding is None:
                    repairs["hold without a sounding note read as a rest"] += 1
                else:
                    ends[sounding] = (index + 1) * step
                continue
            sounding = None
            if symbol is not None and symbol != REST:  # unusable ids (counted already) are rests
                pitches.append(int(symbol))
                starts.append(index * step)
                ends.append((index + 1) * step)
                sounding = len(pitches) - 1
        return piece_from_notes(pitches, starts, ends, tempos=tempo)
