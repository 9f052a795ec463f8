"""``bilstm``: a bidirectional LSTM that reads only its context window and predicts the step after it.

Many-to-one only: the window is read in both directions, so it may hold nothing the model is asked to
predict (one public implementation trains its Bi-LSTM on the shifted sequence, whose backward pass reads the
answer). Batches with a time axis in their targets are refused. The prediction is made from the forward
direction's last state and the backward direction's state at the window's first step (both have read the
whole window), with optional soft attention over the outputs. Sampling re-reads the last ``window`` steps.
"""

from __future__ import annotations

import torch
from torch import nn

from generation.models.attention import SoftAttention
from generation.models.base import WindowedModel, dropout_from_keep
from generation.models.embedding import build_input
from generation.models.heads import build_head
from generation.models.io import ModelIO
from generation.models.recurrent import run_recurrent


class BiLSTM(WindowedModel):
    arch = "bilstm"

    def __init__(self, model_io: ModelIO, *, hidden: int = 256, layers: int = 1, keep: float = 1.0,
                 recurrent_keep: float = 1.0, attention: bool = False, window: int = 64, embedding_dim: int = 64,
                 embedding_combine: str = "concat") -> None:
        super().__init__(model_io, window)
        drop = dropout_from_keep(keep)
        self.weight_drop = dropout_from_keep(recurrent_keep)
        self.input = build_input(model_io, embedding_dim, embedding_combine)
        self.rnn = nn.LSTM(self.input.out_dim, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                           dropout=drop if layers > 1 else 0.0)
        self.hidden = hidden
        self.input_dropout = nn.Dropout(drop)
        self.dropout = nn.Dropout(drop)
        self.attention = SoftAttention(2 * hidden, window) if attention else None
        self.head = build_head(2 * hidden, model_io)

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.input_dropout(self.input(inputs))
        outputs, _ = run_recurrent(self.rnn, x, None, self.weight_drop, self.training)
        summary = torch.cat([outputs[:, -1, :self.hidden], outputs[:, 0, self.hidden:]], dim=-1)
        if self.attention is None:
            return summary
        return self.attention(outputs, last_only=True, query=summary)
