"""``biaxial``: Johnson's (2017) biaxial LSTM, "Generating polyphonic music using tied parallel networks".

Inputs (B, T, P, F): for every step and note, the encoding's note features (pitch position, pitch class,
the previous play/articulate state of the neighbours, pitch-class counts, beat). Targets (B, T, P, 2):
the next step's [play, articulate] of each note.

- Time axis: the same LSTMs (``time_hidden`` = 300, 300) run along time for every note, in parallel.
- Note axis: per step, LSTMs (``note_hidden`` = 100, 50) run up the pitch axis; note p reads the time-axis
  output of note p and the [play, articulate] of note p - 1 (the lower neighbour) at the same step: the
  true values in training (teacher forcing), the values just sampled when sampling.
- Outputs: sigmoid play and articulate per note. The loss is the NLL of the whole next frame under this
  chain: sum over notes of the play term plus the articulate term where the note is played (articulation
  is masked where not played), averaged over frames, in nats; it is also the ``frame_nll`` the model reports.
  Padding frames (negative targets) are skipped.
- Play only (``ModelIO.articulation`` False, the encoding's ``play_only``): the articulate output and the
  lower note's articulate input are unused, so the loss and ``frame_nll`` are the NLL of the play roll.
- The play output's bias starts at the log-odds of 1/22 (about four of 88 keys sounding, a four-part
  chorale), so training starts from a sparse roll instead of spending its first epochs getting there.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from generation.models.base import SequenceModel, dropout_from_keep
from generation.models.heads import frame_stats, summarize_frames
from generation.models.io import ModelIO
from generation.models.policy import SamplingPolicy


class LSTMStack(nn.Module):
    """LSTM layers of possibly different sizes with dropout between them; state = list of (h, c)."""

    def __init__(self, in_dim: int, sizes: tuple[int, ...], dropout: float) -> None:
        super().__init__()
        dims = (in_dim, *sizes)
        self.layers = nn.ModuleList(nn.LSTM(dims[i], dims[i + 1], batch_first=True) for i in range(len(sizes)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, state: list[Any] | None = None) -> tuple[torch.Tensor, list[Any]]:
        new_state = []
        for i, layer in enumerate(self.layers):
            if i:
                x = self.dropout(x)
            x, layer_state = layer(x, None if state is None else state[i])
            new_state.append(layer_state)
        return x, new_state


class BiaxialHead(nn.Module):
    """Statistics of play/articulate logits (B, T, P, 2) against targets (B, T, P, 2)."""

    names = ("play", "articulate")

    def __init__(self, articulation: bool = True) -> None:
        super().__init__()
        self.articulation = articulation

    def loss(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        play, artic, play_t, artic_t = _valid(output, targets)
        if len(play_t) == 0:
            return output.sum() * 0.0
        nll = F.binary_cross_entropy_with_logits(play, play_t, reduction="sum")
        if self.articulation:
            nll = nll + (F.binary_cross_entropy_with_logits(artic, artic_t, reduction="none") * play_t).sum()
        return nll / len(play_t)

    def stats(self, output: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        play, artic, play_t, artic_t = _valid(output, targets)
        stats = frame_stats(play, play_t)
        if not self.articulation:
            return stats
        stats["articulate_nll_sum"] = (F.binary_cross_entropy_with_logits(artic, artic_t, reduction="none")
                                       * play_t).sum().double()
        stats["articulate_correct"] = (((artic > 0).float() == artic_t).float() * play_t).sum().double()
        stats["articulate_count"] = play_t.sum().double()
        return stats

    def summarize(self, totals: dict[str, float]) -> dict[str, float]:
        """``frame_nll`` = NLL of the whole frame ([play, articulate] of every note, nats per frame: the proper
        likelihood of the chain, and an upper bound on the NLL of the play roll alone); ``play_nll`` = the play
        terms only (each conditioned on the lower notes' articulation too, so not a likelihood of the roll);
        ``frame_accuracy`` = expected TP / (TP + FP + FN) of the play roll. Play only: ``frame_nll`` is the
        NLL of the play roll (a proper likelihood of it)."""
        metrics = summarize_frames(totals)
        if not self.articulation:
            metrics["accuracy"] = metrics["frame_accuracy"]
            metrics["loss"] = metrics["frame_nll"]
            return metrics
        count, n = totals["articulate_count"], totals["n_frames"]
        metrics["play_nll"] = metrics["frame_nll"]
        metrics["frame_nll"] = (totals["nll_sum"] + totals["articulate_nll_sum"]) / n if n else math.nan
        metrics["articulate_accuracy"] = totals["articulate_correct"] / count if count else math.nan
        metrics["accuracy"] = metrics["frame_accuracy"]
        metrics["loss"] = metrics["frame_nll"]
        return metrics


def _valid(output: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(N, P) play logits, articulate logits, play targets, articulate targets of the non-padding frames."""
    out = output.reshape(-1, output.shape[-2], 2).float()
    tgt = targets.reshape(-1, targets.shape[-2], 2).float()
    keep = (tgt >= 0).all(dim=-1).all(dim=-1)
    out, tgt = out[keep], tgt[keep]
    return out[..., 0], out[..., 1], tgt[..., 0], tgt[..., 1]


class Biaxial(SequenceModel):
    arch = "biaxial"
    teacher_forced = True

    def __init__(self, model_io: ModelIO, *, time_hidden: tuple[int, ...] = (300, 300),
                 note_hidden: tuple[int, ...] = (100, 50), keep: float = 0.5) -> None:
        super().__init__(model_io)
        drop = dropout_from_keep(keep)
        self.time_axis = LSTMStack(model_io.n_features, tuple(time_hidden), drop)
        self.note_axis = LSTMStack(time_hidden[-1] + 2, tuple(note_hidden), drop)
        self.dropout = nn.Dropout(drop)
        self.output = nn.Linear(note_hidden[-1], 2)
        with torch.no_grad():
            self.output.bias.copy_(torch.tensor([-math.log(21.0), 0.0]))  # play prior 1/22 (module docstring)
        self.head = BiaxialHead(model_io.articulation)

    def _time(self, inputs: torch.Tensor, state: list[Any] | None) -> tuple[torch.Tensor, list[Any]]:
        """(B, T, P, F) -> time-axis outputs (B, T, P, H) (every note's sequence in parallel)."""
        b, t, p, f = inputs.shape
        x = inputs.float().permute(0, 2, 1, 3).reshape(b * p, t, f)
        out, state = self.time_axis(x, state)
        return self.dropout(out).reshape(b, p, t, -1).permute(0, 2, 1, 3), state

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor | None = None, last_only: bool = False
                ) -> torch.Tensor:
        """Play/articulate logits (B, T, P, 2), note p conditioned on the true state of note p - 1."""
        if targets is None:
            raise ValueError("biaxial training needs the targets: the note axis reads the lower note's target")
        time_out, _ = self._time(inputs, None)
        b, t, p, h = time_out.shape
        lower = F.pad(targets.float().clamp(min=0), (0, 0, 1, 0))[:, :, :p]  # note p reads note p - 1
        if not self.head.articulation:
            lower = lower * lower.new_tensor([1.0, 0.0])
        note_in = torch.cat([time_out, lower], dim=-1).reshape(b * t, p, h + 2)
        note_out, _ = self.note_axis(note_in)
        return self.output(self.dropout(note_out)).reshape(b, t, p, 2)

    def init_state(self, batch_size: int, device: torch.device | str) -> list[Any] | None:
        return None

    def step(self, x_t: torch.Tensor, state: list[Any] | None) -> tuple[torch.Tensor, list[Any]]:
        """One step of the time axis: note inputs (B, P, F) -> time-axis outputs (B, P, H)."""
        out, state = self._time(x_t[:, None], state)
        return out[:, 0], state

    def sample_head(self, hidden: torch.Tensor, policy: SamplingPolicy) -> tuple[torch.Tensor, torch.Tensor]:
        """Walk up the note axis, drawing play then articulate for each note given the notes below.

        Returns the frame (B, P, 2) of 0/1 [play, articulate] (articulate only where played) and its
        log-likelihood (B,) under the model. Play only: articulate is left 0 (the encoding derives it from the
        roll) and the log-likelihood is the play terms'.
        """
        b, p, _ = hidden.shape
        lower = hidden.new_zeros(b, 2)
        state = None
        frame, logp = [], hidden.new_zeros(b)
        for note in range(p):
            out, state = self.note_axis(torch.cat([hidden[:, note], lower], dim=-1)[:, None], state)
            logits = self.output(out[:, 0])
            play, lp_play = policy.bernoulli(logits[:, :1])
            logp = logp + lp_play[:, 0]
            if self.head.articulation:
                artic, _ = policy.bernoulli(logits[:, 1:])
                artic = artic * play
                lp_artic = -F.binary_cross_entropy_with_logits(logits[:, 1:], artic, reduction="none") * play
                logp = logp + lp_artic[:, 0]
            else:
                artic = torch.zeros_like(play)
            lower = torch.cat([play, artic], dim=-1)
            frame.append(lower)
        return torch.stack(frame, dim=1), logp
