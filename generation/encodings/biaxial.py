"""``biaxial``: the note-state matrix of Johnson's biaxial RNN (Johnson 2015, "Composing music with recurrent
neural networks"; hexahedria/biaxial-rnn-music-composition), per time step and per pitch.

Array: int16 (T, 2P + 1) on a grid of ``step`` quarter notes (default a 16th) over pitches ``low..high``
(default Johnson's 78 pitches, MIDI 24-101): columns ``0..P-1`` *play* (the pitch sounds at the step's
onset), ``P..2P-1`` *articulate* (a note starts at the step), column ``2P`` the step's position in its bar
(steps since the bar line, from the time signatures).

Model inputs at step u, per pitch p (:func:`note_inputs`, ``F = 1 + 12 + 50 + 12 + beat_bits`` features):
pitch position ((p - low) / (P - 1)), pitch class (12, one-hot), the play and articulate states of p-12 ..
p+12 at step u-1 (50; zero outside the window), the count of each pitch class played at step u-1, rotated
so that index i counts pitch class (p + i) mod 12 (12, as Johnson's "previous context"), and the beat:
the binary digits of the position in the bar (``beat_bits``, 0/1). Targets at step u: [play, articulate].
The state before the first step is silence, so every step is predicted (many-to-many windows only).

``play_only = True`` models the play roll alone, as the piano-roll benchmarks do: the articulate column is
derived from the roll (a key articulates when it starts sounding: played now, not at the previous step),
so the inputs are a function of the roll and the model predicts play only; its frame NLL is then the
likelihood of the roll and compares with multilabel models on the same frames (with ``roll = "sampled"``).
Repeated notes of one pitch merge into one.

Lossless on the grid within the window (onsets, pitches and ends), after its declared preprocessing
(quantization to the step, octave folding into the window).

``roll = "sampled"`` builds the play roll as :mod:`generation.encodings.multilabel` does instead: the
pitches sounding at each step's onset (no quantization first, as the piano roll of Boulanger-Lewandowski et
al. 2012), a note articulating at the first step it sounds; its play roll is then exactly the multilabel
roll, so frame NLLs of the two compare on the same frames. Lossy as multilabel is (a note sounding at no
step onset vanishes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from evaluation import Piece, piece_from_notes
from generation.encodings.base import Decoded, Encoding, EncodingConfig
from generation.encodings.grid import grid_length, onset_steps, runs_to_notes, sounding_matrix
from generation.encodings.multilabel import check_window
from generation.errors import GenerationError
from generation.models.io import ModelIO
from generation.pipeline import PreprocessConfig

__all__ = ["Biaxial", "BiaxialConfig", "note_inputs", "roll_onsets"]

_VICINITY = 12


@dataclass(frozen=True)
class BiaxialConfig(EncodingConfig):
    step: float = 0.25  # quarter notes per step
    low: int = 24  # lowest MIDI pitch (Johnson: 24)
    high: int = 101  # highest MIDI pitch (Johnson: 101, 78 pitches)
    beat_bits: int = 4  # binary digits of the position in the bar (4: 16 steps, a 4/4 bar of 16ths)
    roll: str = "quantized"  # "quantized" (onsets and ends rounded to the grid) or "sampled" (as multilabel)
    play_only: bool = False  # predict the play roll alone; articulation derived from it (the benchmarks' model)

    def __post_init__(self) -> None:
        check_window(self.low, self.high)
        if self.roll not in ("quantized", "sampled"):
            raise ValueError(f"roll must be 'quantized' or 'sampled', got {self.roll!r}")
        if not self.step > 0:
            raise ValueError(f"step must be positive quarter notes, got {self.step}")
        if not isinstance(self.play_only, bool):
            raise ValueError(f"play_only must be true or false, got {self.play_only!r}")
        if not 1 <= int(self.beat_bits) <= 8:
            raise ValueError(f"beat bits must be 1..8, got {self.beat_bits}")


def note_inputs(previous: np.ndarray, positions: np.ndarray, low: int, beat_bits: int) -> np.ndarray:
    """Johnson's note inputs (n, P, F) float32 from the previous steps' states ``previous`` (n, P, 2) =
    [play, articulate] and the bar positions (n,) of the steps predicted (see the module docstring)."""
    n, n_pitches, _ = previous.shape
    pitch = np.arange(n_pitches)
    position = np.broadcast_to((pitch / max(n_pitches - 1, 1))[None, :, None], (n, n_pitches, 1))
    pitch_class = np.broadcast_to(np.eye(12)[(pitch + low) % 12][None], (n, n_pitches, 12))
    padded = np.pad(previous.astype(np.float32), ((0, 0), (_VICINITY, _VICINITY), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * _VICINITY + 1, axis=1)  # (n, P, 2, 25)
    vicinity = np.swapaxes(windows, 2, 3).reshape(n, n_pitches, 2 * (2 * _VICINITY + 1))
    played = previous[:, :, 0].astype(np.float32)
    counts = np.stack([played[:, (pitch + low) % 12 == pc].sum(axis=1) for pc in range(12)], axis=1)  # (n, 12)
    rotate = ((pitch + low)[:, None] + np.arange(12)[None, :]) % 12  # (P, 12)
    context = counts[:, rotate]
    bits = ((np.asarray(positions, dtype=np.int64)[:, None] >> np.arange(beat_bits)[None, :]) & 1).astype(np.float32)
    beat = np.broadcast_to(bits[:, None, :], (n, n_pitches, beat_bits))
    return np.concatenate([position, pitch_class, vicinity, context, beat], axis=2).astype(np.float32)


def roll_onsets(play: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
    """Articulation derived from a play roll (..., T, P): a key articulates when it sounds and did not at the
    step before (``before`` (..., P), the step before the first; default silence)."""
    play = np.asarray(play) >= 0.5
    previous = np.zeros_like(play[..., :1, :]) if before is None else (np.asarray(before) >= 0.5)[..., None, :]
    return play & ~np.concatenate([previous, play[..., :-1, :]], axis=-2)


class Biaxial(Encoding):
    kind = "biaxial"
    summary = "Johnson's biaxial note inputs per step and pitch, targets play and articulate"
    fidelity = ("lossless on the grid within the pitch window (after quantization and octave folding); with "
                "roll=sampled, lossy as multilabel; with play_only, repeated notes of a pitch merge")
    config_class = BiaxialConfig
    option_fields: ClassVar[dict[str, str]] = {"step": "step", "pitch_range": "low", "beat_bits": "beat_bits",
                                               "roll": "roll", "play_only": "play_only"}

    @property
    def n_pitches(self) -> int:
        return self.config.high - self.config.low + 1

    @property
    def n_features(self) -> int:
        return 1 + 12 + 2 * (2 * _VICINITY + 1) + 12 + self.config.beat_bits

    def pitch_window(self) -> tuple[int, int]:
        return self.config.low, self.config.high

    def declared_preprocess(self) -> PreprocessConfig:
        if self.config.roll == "sampled":
            return PreprocessConfig(fold=True, fold_range=self.pitch_window())
        return PreprocessConfig(fold=True, fold_range=self.pitch_window(), quantize=self.config.step)

    def describe(self) -> str:
        roll = ", play roll sampled at step onsets" if self.config.roll == "sampled" else ""
        roll += ", play only (articulation derived from the roll)" if self.config.play_only else ""
        return (f"step {self.config.step:g} quarter notes, pitches {self.config.low}-{self.config.high}, "
                f"{self.n_features} features{roll}")

    def _sampled(self, start: np.ndarray, end: np.ndarray, column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Play and articulate (T, P) of the "sampled" roll: a note plays at the steps whose onset it covers and
        articulates at the first of them."""
        step = self.config.step
        steps = grid_length(float(end.max()) if end.size else 0.0, step)
        times = np.arange(steps) * step
        sounding = sounding_matrix(start, end, times)  # (T, N)
        first = sounding & ~np.vstack([np.zeros((1, len(start)), bool), sounding[:-1]])
        play = np.zeros((steps, self.n_pitches), dtype=bool)
        articulate = np.zeros_like(play)
        for pitch in np.unique(column):
            chosen = column == pitch
            play[:, pitch] = sounding[:, chosen].any(axis=1)
            articulate[:, pitch] = first[:, chosen].any(axis=1)
        return play, articulate

    def encode(self, item: Piece) -> np.ndarray:
        notes = item.pitched()
        inside = (notes.pitch >= self.config.low) & (notes.pitch <= self.config.high)
        column = notes.pitch[inside].astype(np.int64) - self.config.low
        n_pitches = self.n_pitches
        if self.config.roll == "sampled":
            play, articulate = self._sampled(notes.start[inside], notes.end[inside], column)
            steps = len(play)
            out = np.zeros((steps, 2 * n_pitches + 1), dtype=np.int16)
            out[:, :n_pitches], out[:, n_pitches:2 * n_pitches] = play, articulate
        else:
            first = onset_steps(notes.start[inside], self.config.step)
            stop = np.maximum(onset_steps(notes.end[inside], self.config.step), first + 1)
            steps = int(stop.max()) if stop.size else 0
            delta = np.zeros((steps + 1, n_pitches), dtype=np.int32)
            np.add.at(delta, (first, column), 1)
            np.add.at(delta, (stop, column), -1)
            out = np.zeros((steps, 2 * n_pitches + 1), dtype=np.int16)
            out[:, :n_pitches] = np.cumsum(delta, axis=0)[:steps] > 0
            out[first, n_pitches + column] = 1
        if self.config.play_only:
            play = out[:, :n_pitches].astype(bool)
            out[:, n_pitches:2 * n_pitches] = roll_onsets(play)
        times = np.arange(steps) * self.config.step
        bars = item.bar_starts(until=steps * self.config.step + self.config.step)
        if bars.size:
            bar = np.clip(np.searchsorted(bars, times + 1e-9, side="right") - 1, 0, None)
            out[:, -1] = np.floor((times - bars[bar]) / self.config.step + 0.5).astype(np.int64)
        else:
            out[:, -1] = np.arange(steps)
        return out

    def states(self, array: Any, repairs: dict[str, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Play and articulate (T, P) booleans of an encoded or sampled array: (T, 2P + 1), (T, 2P) or
        (T, P, 2); values >= 0.5 are on, NaN off."""
        values = np.asarray(array, dtype=np.float64)
        n_pitches = self.n_pitches
        if values.ndim == 3 and values.shape[1:] == (n_pitches, 2):
            play, articulate = values[:, :, 0], values[:, :, 1]
        elif values.ndim == 2 and values.shape[1] in (2 * n_pitches, 2 * n_pitches + 1):
            play, articulate = values[:, :n_pitches], values[:, n_pitches:2 * n_pitches]
        else:
            raise GenerationError(f"a biaxial sequence has shape (steps, {2 * n_pitches + 1}), (steps, "
                                  f"{2 * n_pitches}) or (steps, {n_pitches}, 2); got {values.shape}")
        if repairs is not None and not (np.isfinite(play).all() and np.isfinite(articulate).all()):
            repairs["not-a-number values read as off"] = int((~np.isfinite(play)).sum() +
                                                             (~np.isfinite(articulate)).sum())
        play = np.nan_to_num(play, nan=0.0) >= 0.5
        if self.config.play_only:
            return play, roll_onsets(play)
        return play, np.nan_to_num(articulate, nan=0.0) >= 0.5

    def model_state(self, frame: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
        """The [play, articulate] state (B, P, 2) the note inputs read for a frame the model drew: as drawn, or
        with play_only the articulation derived from the roll (``before`` (B, P, 2): the frame before; default
        silence)."""
        if not self.config.play_only:
            return frame
        state = np.array(frame, copy=True)
        state[..., 1] = roll_onsets(state[:, None, :, 0], None if before is None else before[..., 0])[:, 0]
        return state

    def decode_with_repairs(self, array: Any, *, tempo: float | np.ndarray = 120.0) -> Decoded:
        repairs: dict[str, int] = {}
        play, articulate = self.states(array, repairs)
        stray = articulate & ~play
        if stray.any():
            repairs["articulate without play ignored"] = int(stray.sum())
        previous = np.vstack([np.zeros((1, play.shape[1]), bool), play[:-1]]) if len(play) else play
        orphan = play & ~articulate & ~previous
        if orphan.any():
            repairs["hold after a rest (or at the start) read as a new note"] = int(orphan.sum())
        column, first, stop = runs_to_notes(play, articulate & play)
        step = self.config.step
        return Decoded(piece_from_notes(column + self.config.low, first * step, stop * step, tempos=tempo), repairs)

    def model_io(self) -> ModelIO:
        return ModelIO("biaxial", n_pitches=self.n_pitches, n_features=self.n_features,
                       articulation=not self.config.play_only)

    def n_steps(self, array: np.ndarray) -> int:
        return len(array)

    def step_window(self, array: np.ndarray, start: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        n_pitches = self.n_pitches
        stop = min(start + length, len(array))
        rows = array[max(start - 1, 0):stop]
        state = np.stack([rows[:, :n_pitches], rows[:, n_pitches:2 * n_pitches]], axis=2)  # [play, articulate]
        if start == 0:  # silence before the first step
            previous = np.concatenate([np.zeros((1, n_pitches, 2), state.dtype), state[:-1]])
            targets = state
        else:
            previous, targets = state[:-1], state[1:]
        inputs = note_inputs(previous, array[start:stop, -1], self.config.low, self.config.beat_bits)
        return inputs, targets.astype(np.float32)
