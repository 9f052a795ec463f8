"""The interface every model of the zoo implements, for training, evaluation and stateful sampling.

Shapes follow :mod:`generation.models.io` (B = batch, T = steps). A model

- ``forward(inputs, targets=None, last_only=False)`` -> its head's output: every step (many-to-many) or only
  the last step's prediction (``last_only``, many-to-one windows); ``targets`` only for teacher forcing
  (biaxial's note axis); other models never read them;
- ``loss(output, targets)`` -> scalar; ``stats`` / ``summarize`` -> running sums and named metrics;
- ``init_state(B, device)``, ``step(x_t, state) -> (hidden_t, state)`` and ``sample_head(hidden_t, policy)``
  for sampling one step at a time: recurrent models keep (h, c), the transformer its KV cache, and the
  models that must re-read their window (Bi-LSTM, CNN-LSTM) keep the window.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from generation.errors import GenerationError
from generation.models.io import ModelIO
from generation.models.policy import SamplingPolicy


def dropout_from_keep(keep: float) -> float:
    """The reports' ``keep`` (share of units kept) as a dropout probability (share dropped)."""
    if not 0.0 < keep <= 1.0:
        raise GenerationError(f"keep must be in (0, 1] (share of units kept), not {keep}")
    return 1.0 - keep


def is_many_to_one(inputs: torch.Tensor, targets: torch.Tensor) -> bool:
    """True when the batch asks for one prediction per window (targets have no time axis)."""
    return targets.dim() == inputs.dim() - 1


class SequenceModel(nn.Module):
    """Base of every architecture; subclasses set ``head`` and implement forward / step."""

    arch: ClassVar[str] = ""
    many_to_many: ClassVar[bool] = True  # can predict every step of a sequence (causal)
    stateful: ClassVar[bool] = True  # step() carries a recurrent state or cache (False: re-reads a window)
    teacher_forced: ClassVar[bool] = False  # forward() needs the targets (biaxial's note axis)

    head: nn.Module

    def __init__(self, model_io: ModelIO) -> None:
        super().__init__()
        self.model_io = model_io

    def check_batch(self, inputs: torch.Tensor, targets: torch.Tensor | None) -> bool:
        """Whether the batch is many-to-one; raise when this architecture cannot serve its shape."""
        last_only = targets is not None and is_many_to_one(inputs, targets)
        if targets is not None and not last_only and not self.many_to_many:
            raise GenerationError(
                f"{self.arch} predicts one step from a window (many-to-one); reading the shifted sequence would "
                "let it see its targets. Use many-to-one windows for this architecture.")
        return last_only

    def loss(self, output: Any, targets: torch.Tensor) -> torch.Tensor:
        return self.head.loss(output, targets)

    def stats(self, output: Any, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.head.stats(output, targets)

    def summarize(self, totals: dict[str, float]) -> dict[str, float]:
        return self.head.summarize(totals)

    def init_state(self, batch_size: int, device: torch.device | str) -> Any:
        raise NotImplementedError

    def step(self, x_t: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError

    def prime(self, xs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Feed steps ``xs`` (B, T, ...) one after another; return the last step's hidden and the state."""
        hidden = None
        for t in range(xs.shape[1]):
            hidden, state = self.step(xs[:, t], state)
        if hidden is None:
            raise GenerationError("a primer needs at least one step")
        return hidden, state

    def sample_head(self, hidden: torch.Tensor, policy: SamplingPolicy) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head.sample(hidden, policy)


class WindowedModel(SequenceModel):
    """A model that predicts from a whole window (many-to-one): sampling keeps the last ``window`` inputs and
    re-reads them each step (a bidirectional or pooled read has no recurrent state to carry)."""

    many_to_many = False
    stateful = False

    def __init__(self, model_io: ModelIO, window: int) -> None:
        super().__init__(model_io)
        if window < 1:
            raise GenerationError(f"window must be >= 1 step, not {window}")
        self.window = window

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, T, ...) window -> (B, H) features of the prediction for the step after it."""
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor | None = None,
                last_only: bool = True) -> Any:
        if not last_only:
            raise GenerationError(f"{self.arch} predicts one step from a window (many-to-one) only")
        return self.head(self.dropout(self.features(inputs)))

    def init_state(self, batch_size: int, device: torch.device | str) -> torch.Tensor:
        from generation.models.embedding import empty_step  # noqa: PLC0415

        first = empty_step(self.model_io, batch_size, device)
        return first[:, None].repeat(1, self.window, *([1] * (first.dim() - 1)))

    def step(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        window = torch.cat([state[:, 1:], x_t[:, None].to(state.dtype)], dim=1)
        return self.features(window), window
