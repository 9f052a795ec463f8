"""Soft attention over the outputs of a recurrent layer (``--attention``), causal and windowed.

Luong et al. (2015) "general" attention: at step t the score of an earlier output h_s is h_t . W_a h_s
(scaled by 1/sqrt(H) for stable training), the weights are a softmax over the last ``span`` steps s <= t, the
context c_t is the weighted sum of those h_s, and the output is tanh(W_c [c_t; h_t]). It only looks back, so
it is causal in many-to-many training, and sampling keeps the last ``span`` keys and outputs as its cache.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SoftAttention(nn.Module):
    """(B, T, H) recurrent outputs -> (B, T, H) attended outputs (or (B, H) for the last step only)."""

    def __init__(self, hidden: int, span: int) -> None:
        super().__init__()
        self.span = max(1, span)
        self.key = nn.Linear(hidden, hidden, bias=False)
        self.combine = nn.Linear(2 * hidden, hidden)
        self.scale = 1.0 / math.sqrt(hidden)

    def forward(self, outputs: torch.Tensor, last_only: bool = False, query: torch.Tensor | None = None
                ) -> torch.Tensor:
        """``query`` (B, H) replaces the last output as the query of a ``last_only`` read (Bi-LSTM: both
        directions' final states)."""
        keys = self.key(outputs)
        steps = outputs.shape[1]
        if last_only:
            keys, values = keys[:, -self.span:], outputs[:, -self.span:]
            query = outputs[:, -1:] if query is None else query[:, None]
            weights = torch.softmax((query @ keys.transpose(1, 2)) * self.scale, dim=-1)
            return self._output(weights @ values, query).squeeze(1)
        scores = (outputs @ keys.transpose(1, 2)) * self.scale
        t = torch.arange(steps, device=outputs.device)
        allowed = (t[None, :] <= t[:, None]) & (t[None, :] > t[:, None] - self.span)
        weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
        return self._output(weights @ outputs, outputs)

    def _output(self, context: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.combine(torch.cat([context, query], dim=-1)))

    def step(self, h_t: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One step: ``h_t`` (B, H) and the cache of earlier (keys, outputs) -> attended (B, H), new cache."""
        key_t, value_t = self.key(h_t)[:, None], h_t[:, None]
        if cache is None:
            keys, values = key_t, value_t
        else:
            keys = torch.cat([cache[0], key_t], dim=1)[:, -self.span:]
            values = torch.cat([cache[1], value_t], dim=1)[:, -self.span:]
        query = h_t[:, None]
        weights = torch.softmax((query @ keys.transpose(1, 2)) * self.scale, dim=-1)
        return self._output(weights @ values, query).squeeze(1), (keys, values)
