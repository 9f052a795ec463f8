"""``lstm`` (1 layer), ``stacked`` (N layers, default 3) and the vanilla ``rnn`` baseline, with optional soft
attention over their outputs.

Dropout follows the reports' convention ``keep`` = share of units kept: dropout 1 - keep on the embedded
input, between recurrent layers and before the head. Recurrent dropout (Keras ``recurrent_dropout``, which
cuDNN cannot run) is replaced by its usual stand-in, DropConnect on the hidden-to-hidden weights (the
weight-dropped LSTM of Merity et al. 2018, AWD-LSTM): ``recurrent_keep`` = share of those weights kept, one
mask per batch, so the fused ``nn.LSTM`` kernel still runs.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from generation.models.attention import SoftAttention
from generation.models.base import SequenceModel, dropout_from_keep
from generation.models.embedding import build_input
from generation.models.heads import build_head
from generation.models.io import ModelIO


def run_recurrent(rnn: nn.RNNBase, x: torch.Tensor, state: Any, weight_drop: float, training: bool
                  ) -> tuple[torch.Tensor, Any]:
    """Run ``rnn`` over ``x``, with DropConnect on its hidden-to-hidden weights in training."""
    if not (training and weight_drop > 0.0):
        return rnn(x, state)
    params = {name: F.dropout(value, weight_drop, training=True) if name.startswith("weight_hh") else value
              for name, value in rnn.named_parameters()}
    return functional_call(rnn, params, (x, state))


class RecurrentModel(SequenceModel):
    """Embedding -> LSTM/RNN layers -> [soft attention] -> dropout -> heads."""

    def __init__(self, model_io: ModelIO, *, cell: str = "lstm", hidden: int = 256, layers: int = 1,
                 keep: float = 1.0, recurrent_keep: float = 1.0, attention: bool = False, window: int = 64,
                 embedding_dim: int = 64, embedding_combine: str = "concat") -> None:
        super().__init__(model_io)
        drop = dropout_from_keep(keep)
        self.weight_drop = dropout_from_keep(recurrent_keep)
        self.input = build_input(model_io, embedding_dim, embedding_combine)
        rnn_class = nn.LSTM if cell == "lstm" else nn.RNN
        self.rnn = rnn_class(self.input.out_dim, hidden, num_layers=layers, batch_first=True,
                             dropout=drop if layers > 1 else 0.0)
        self.input_dropout = nn.Dropout(drop)
        self.dropout = nn.Dropout(drop)
        self.attention = SoftAttention(hidden, window) if attention else None
        self.head = build_head(hidden, model_io)

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor | None = None, last_only: bool = False) -> Any:
        x = self.input_dropout(self.input(inputs))
        outputs, _ = run_recurrent(self.rnn, x, None, self.weight_drop, self.training)
        if self.attention is not None:
            outputs = self.attention(outputs, last_only=last_only)
        elif last_only:
            outputs = outputs[:, -1]
        return self.head(self.dropout(outputs))

    def init_state(self, batch_size: int, device: torch.device | str) -> dict[str, Any]:
        return {"rnn": None, "attention": None}

    def step(self, x_t: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        hidden, state = self.prime(x_t[:, None], state)
        return hidden, state

    def prime(self, xs: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """Run the recurrent layers over all of ``xs`` (B, T, ...) in one call, then the attention steps."""
        outputs, rnn_state = self.rnn(self.input(xs), state["rnn"])
        cache = state["attention"]
        if self.attention is None:
            return outputs[:, -1], {"rnn": rnn_state, "attention": None}
        hidden = outputs[:, -1]
        for t in range(outputs.shape[1]):
            hidden, cache = self.attention.step(outputs[:, t], cache)
        return hidden, {"rnn": rnn_state, "attention": cache}
