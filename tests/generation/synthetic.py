"""Small synthetic datasets in the shapes of ``generation.models.io`` (the encodings of issue 10 stand aside).

Every dataset is a periodic sequence cut into windows, so what a model should learn is known exactly.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from generation.models.io import ModelIO


def windows(sequence: torch.Tensor, window: int, mode: str) -> list[dict[str, torch.Tensor]]:
    """Every window of ``sequence`` (L, ...): many-to-one -> the next step, many-to-many -> the shifted steps."""
    items = []
    for start in range(len(sequence) - window):
        inputs = sequence[start:start + window]
        targets = sequence[start + window] if mode == "many-to-one" else sequence[start + 1:start + window + 1]
        items.append({"inputs": inputs, "targets": targets})
    return items


class ListDataset(Dataset):
    def __init__(self, items: list[dict[str, torch.Tensor]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.items[index]


def periodic_tokens(pattern: list[int], length: int, window: int, mode: str = "many-to-one",
                    durations: list[int] | None = None) -> ListDataset:
    """Token windows over ``pattern`` repeated to ``length`` steps; with ``durations``, a second stream."""
    reps = length // len(pattern) + 1
    streams = [torch.tensor((pattern * reps)[:length])]
    if durations is not None:
        streams.append(torch.tensor((durations * (length // len(durations) + 1))[:length]))
    return ListDataset(windows(torch.stack(streams, dim=-1), window, mode))


def token_io(vocab: int, streams: int = 1) -> ModelIO:
    names = ("pitch", "duration") if streams == 2 else ("token",)
    return ModelIO("tokens", vocab_sizes=(vocab,) * streams, stream_names=names)


def periodic_roll(frames: list[list[int]], n_pitches: int, length: int, window: int,
                  mode: str = "many-to-one") -> ListDataset:
    """Multi-hot windows over a cycle of ``frames`` (each a list of sounding pitch indices)."""
    roll = torch.zeros(length, n_pitches)
    for t in range(length):
        roll[t, frames[t % len(frames)]] = 1.0
    return ListDataset(windows(roll, window, mode))


def frame_io(n_pitches: int) -> ModelIO:
    return ModelIO("multihot", n_pitches=n_pitches)


BIAXIAL_FEATURES = 5


def biaxial_features(frames: torch.Tensor, start: int = 0) -> torch.Tensor:
    """Toy note features of [play, articulate] frames (..., T, P, 2): own play and articulate, the lower
    neighbour's play, pitch position p / P and beat phase ((start + t) mod 4) / 4 -> (..., T, P, 5)."""
    *lead, steps, pitches, _ = frames.shape
    lower = torch.nn.functional.pad(frames[..., 0], (1, 0))[..., :pitches]
    position = (torch.arange(pitches, dtype=torch.float32) / pitches).expand(*lead, steps, pitches)
    beat = ((torch.arange(steps) + start) % 4).float() / 4
    beat = beat[:, None].expand(*lead, steps, pitches)
    return torch.stack([frames[..., 0], frames[..., 1], lower, position, beat], dim=-1)


def biaxial_next_inputs(history: torch.Tensor, t: int) -> torch.Tensor:
    """The sampler's ``next_inputs`` for biaxial_roll: features of the newest frame of (B, t + 1, P, 2)."""
    return biaxial_features(history[:, -1:], start=t)[:, 0]


def biaxial_roll(frames: list[list[int]], n_pitches: int, length: int, window: int) -> ListDataset:
    """Biaxial windows over a cycle of ``frames``: inputs (T, P, 5) features of steps t, targets (T, P, 2) the
    [play, articulate] of steps t + 1 (a note articulates when it starts)."""
    play = torch.zeros(length + 1, n_pitches)
    for t in range(length + 1):
        play[t, frames[t % len(frames)]] = 1.0
    previous = torch.cat([torch.zeros(1, n_pitches), play[:-1]])
    states = torch.stack([play, play * (1 - previous)], dim=-1)
    features = biaxial_features(states[:-1])
    items = []
    for start in range(length - window):
        items.append({"inputs": features[start:start + window],
                      "targets": states[start + 1:start + window + 1]})
    return ListDataset(items)


def biaxial_io(n_pitches: int) -> ModelIO:
    return ModelIO("biaxial", n_pitches=n_pitches, n_features=BIAXIAL_FEATURES)
