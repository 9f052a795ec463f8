"""Training windows over encoded pieces as torch Datasets, in the tensor shapes of
:class:`generation.models.io.ModelIO`.

A window never crosses a piece (each piece's sequence is cut on its own) and a dataset holds one split's
pieces, so no window crosses a split boundary either. Step t of a piece reads the encoding's input at t
and predicts its target at t (:meth:`Encoding.step_window`; for most encodings the next element):

- **many-to-one** (as the source reports: a window of n steps -> the next step): inputs of steps
  ``i .. i+n-1``, the target of step ``i+n-1`` only; targets ``(S,)`` tokens or ``(P,)`` multi-hot.
- **many-to-many** (the shifted sequence): inputs and targets of steps ``i .. i+n-1``, ``(n, S)`` or
  ``(n, P)`` or ``(n, P, 2)`` for biaxial.

Two-stream encodings (notewise) give both targets, one per stream. Windows start every ``stride`` steps (1
for many-to-one, n for many-to-many by default); pieces shorter than a window are left out unless
``pad=True``, which adds left-padded (many-to-one) or right-padded (many-to-many) windows so every step is
a target once: padded inputs are 0 (token 0 = padding) and padded targets :data:`IGNORE_INDEX` (-100).
Window order is by piece then position; ``shuffle=True`` permutes it and ``max_windows`` keeps a subset,
both with ``numpy.random.default_rng(seed)``, so a dataset is deterministic given its seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from generation.encodings.base import Encoding
from generation.errors import GenerationError
from generation.models.io import IGNORE_INDEX

__all__ = ["MODES", "WindowDataset", "count_windows", "window_starts"]

Mode = Literal["many-to-one", "many-to-many"]
MODES = ("many-to-one", "many-to-many")


def window_starts(n_steps: int, window: int, mode: str, stride: int | None = None, pad: bool = False) -> np.ndarray:
    """First prediction step of each window of a piece with ``n_steps`` steps (negative = left padding)."""
    if window < 1:
        raise GenerationError(f"the window must be at least 1 step, got {window}")
    if mode not in MODES:
        raise GenerationError(f"unknown window mode {mode!r}; use many-to-one or many-to-many")
    stride = stride or (1 if mode == "many-to-one" else window)
    if stride < 1:
        raise GenerationError(f"the stride must be at least 1 step, got {stride}")
    if n_steps <= 0:
        return np.zeros(0, dtype=np.int64)
    if mode == "many-to-one":
        first = -(window - 1) if pad else 0
        return np.arange(first, n_steps - window + 1, stride, dtype=np.int64)
    starts = list(range(0, n_steps - window + 1, stride))
    if pad:
        starts = starts or [0]
        while starts[-1] + window < n_steps:  # right-padded windows until every step is covered
            starts.append(starts[-1] + stride)
    return np.array(starts, dtype=np.int64)


def count_windows(encoding: Encoding, sequences: Sequence[np.ndarray], window: int, mode: str,
                  stride: int | None = None, pad: bool = False) -> int:
    """Windows a :class:`WindowDataset` with these arguments would hold."""
    return int(sum(window_starts(encoding.n_steps(sequence), window, mode, stride, pad).size
                   for sequence in sequences))


class WindowDataset(Dataset):
    """Windows of one split's encoded sequences (see the module docstring); items are dicts
    ``{"inputs": tensor, "targets": tensor}`` in :class:`ModelIO` shapes (without the batch axis)."""

    def __init__(self, encoding: Encoding, sequences: Sequence[np.ndarray], window: int,
                 mode: Mode = "many-to-one", *, stride: int | None = None, pad: bool = False, seed: int = 0,
                 shuffle: bool = False, max_windows: int | None = None) -> None:
        self.encoding = encoding
        self.io = encoding.model_io()
        if self.io.input_kind == "biaxial" and mode != "many-to-many":
            raise GenerationError("biaxial windows are many-to-many only (a target per step and pitch)")
        self.sequences = list(sequences)
        self.window, self.mode, self.pad = int(window), mode, pad
        index = [(piece, int(start)) for piece, sequence in enumerate(self.sequences)
                 for start in window_starts(encoding.n_steps(sequence), self.window, mode, stride, pad)]
        self.index = np.array(index, dtype=np.int64).reshape(-1, 2)
        rng = np.random.default_rng(seed)
        if shuffle:
            self.index = self.index[rng.permutation(len(self.index))]
        if max_windows is not None and max_windows < len(self.index):
            keep = np.sort(rng.choice(len(self.index), size=max_windows, replace=False))
            self.index = self.index[keep]

    def __len__(self) -> int:
        return len(self.index)

    def window_of(self, position: int) -> tuple[int, int]:
        """(piece index, first step) of window ``position``."""
        piece, start = self.index[position]
        return int(piece), int(start)

    def __getitem__(self, position: int) -> dict[str, torch.Tensor]:
        piece, start = self.window_of(position)
        sequence = self.sequences[piece]
        n_steps = self.encoding.n_steps(sequence)
        first, stop = max(start, 0), min(start + self.window, n_steps)
        inputs, targets = self.encoding.step_window(sequence, first, stop - first)
        kind = self.io.input_kind
        inputs = np.asarray(inputs, dtype=np.int64 if kind == "tokens" else np.float32)
        targets = np.asarray(targets, dtype=np.int64 if kind == "tokens" else np.float32)
        before, after = first - start, start + self.window - stop
        if before or after:
            widths = [(before, after)] + [(0, 0)] * (inputs.ndim - 1)
            inputs = np.pad(inputs, widths)
            targets = np.pad(targets, [(before, after)] + [(0, 0)] * (targets.ndim - 1),
                             constant_values=IGNORE_INDEX)
        if self.mode == "many-to-one":
            targets = targets[-1]
        return {"inputs": torch.from_numpy(np.ascontiguousarray(inputs)),
                "targets": torch.from_numpy(np.ascontiguousarray(targets))}
