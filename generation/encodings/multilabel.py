"""``multilabel``: a multi-hot vector per time step over a pitch window; a chord is several ones.

Array: uint8 (T, P), P = ``high - low + 1`` pitches (default 24, C4-B5 = MIDI 60-83; 88 piano keys with
``--pitch-range 21-108``). Step t holds the pitches sounding at its onset, ``t * step`` quarter notes
(default a 16th note, 0.25; a quarter note, 1.0, for the chorale benchmark of Boulanger-Lewandowski et al.
2012), or ``t / fs`` seconds with ``fs`` frames per second. Decoding makes one note of each run of ones.

Lossy: a pitch repeated without a gap merges into one note, a note that sounds at no step onset (shorter
than a step, between onsets) vanishes, and onsets move to the grid. Frames sample the piece as it is (no
quantization first, as the piano-roll protocol of Boulanger-Lewandowski et al. samples at each quarter
note); its declared preprocessing is octave folding into the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from evaluation import Piece, piece_from_notes
from generation.encodings.base import Decoded, Encoding, EncodingConfig, first_bpm
from generation.encodings.grid import grid_length, runs_to_notes, sounding_matrix
from generation.errors import GenerationError
from generation.models.io import ModelIO
from generation.pipeline import PreprocessConfig

__all__ = ["Multilabel", "MultilabelConfig", "multihot_decode", "check_window"]


def check_window(low: int, high: int) -> None:
    if not (0 <= int(low) <= int(high) <= 127):
        raise ValueError(f"pitch range {low}-{high} must lie within MIDI 0-127, lowest first")


@dataclass(frozen=True)
class MultilabelConfig(EncodingConfig):
    step: float = 0.25  # quarter notes per step (used when fs is None)
    fs: float | None = None  # frames per second; when set, steps are 1/fs seconds
    low: int = 60  # lowest MIDI pitch of the window (C4)
    high: int = 83  # highest MIDI pitch of the window (B5)

    def __post_init__(self) -> None:
        check_window(self.low, self.high)
        if self.fs is not None and not self.fs > 0:
            raise ValueError(f"fs must be positive frames per second, got {self.fs}")
        if not self.step > 0:
            raise ValueError(f"step must be positive quarter notes, got {self.step}")


def multihot_decode(array: Any, n_pitches: int, repairs: dict[str, int]) -> np.ndarray:
    """A sampled multi-hot array as booleans (T, P): values >= 0.5 are on, NaN off (counted)."""
    values = np.asarray(array, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != n_pitches:
        raise GenerationError(f"a multi-hot sequence has shape (steps, {n_pitches}); got {values.shape}")
    nan = ~np.isfinite(values)
    if nan.any():
        repairs["not-a-number values read as off"] = int(nan.sum())
    values = np.where(nan, 0.0, values)
    fuzzy = (values != 0) & (values != 1)
    if fuzzy.any():
        repairs["values other than 0/1 thresholded at 0.5"] = int(fuzzy.sum())
    return values >= 0.5


class Multilabel(Encoding):
    kind = "multilabel"
    summary = "multi-hot vector per time step (16th note, quarter note, or fs frames/s) over a pitch window"
    fidelity = ("lossy: repeated notes without a gap merge, notes sounding at no step onset vanish, onsets move "
                "to the step grid")
    config_class = MultilabelConfig
    option_fields: ClassVar[dict[str, str]] = {"step": "step", "fs": "fs", "pitch_range": "low"}

    @property
    def n_pitches(self) -> int:
        return self.config.high - self.config.low + 1

    def pitch_window(self) -> tuple[int, int]:
        return self.config.low, self.config.high

    def declared_preprocess(self) -> PreprocessConfig:
        return PreprocessConfig(fold=True, fold_range=self.pitch_window())

    def describe(self) -> str:
        grid = f"fs {self.config.fs:g} frames/s" if self.config.fs else f"step {self.config.step:g} quarter notes"
        return f"{grid}, pitches {self.config.low}-{self.config.high}"

    def encode(self, item: Piece) -> np.ndarray:
        notes = item.pitched()
        inside = (notes.pitch >= self.config.low) & (notes.pitch <= self.config.high)
        if self.config.fs:
            start, end, grid = notes.start_seconds[inside], notes.end_seconds[inside], 1.0 / self.config.fs
        else:
            start, end, grid = notes.start[inside], notes.end[inside], self.config.step
        steps = grid_length(float(end.max()) if end.size else 0.0, grid)
        sounding = sounding_matrix(start, end, np.arange(steps) * grid)
        columns = notes.pitch[inside].astype(np.int64) - self.config.low
        roll = np.zeros((steps, self.n_pitches), dtype=np.uint8)
        for column in np.unique(columns):
            roll[:, column] = sounding[:, columns == column].any(axis=1)
        return roll

    def decode_with_repairs(self, array: Any, *, tempo: float | np.ndarray = 120.0) -> Decoded:
        repairs: dict[str, int] = {}
        on = multihot_decode(array, self.n_pitches, repairs)
        column, first, stop = runs_to_notes(on)
        if self.config.fs:  # frames in seconds -> quarter notes at the (first) tempo
            bpm = first_bpm(tempo)
            scale = bpm / 60.0 / self.config.fs
            return Decoded(piece_from_notes(column + self.config.low, first * scale, stop * scale, tempos=bpm),
                           repairs)
        step = self.config.step
        return Decoded(piece_from_notes(column + self.config.low, first * step, stop * step, tempos=tempo), repairs)

    def model_io(self) -> ModelIO:
        return ModelIO("multihot", n_pitches=self.n_pitches)
