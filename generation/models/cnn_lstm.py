"""``cnn-lstm`` and ``hybrid``: a convolutional front over the window, then LSTMs (many-to-one).

Front = Conv1D(``conv_filters`` = 512, kernel ``conv_kernel`` = 5, "same" padding) over time -> MaxPool1D
(``pool`` = 2) -> BatchNorm -> ReLU, as in the reports; pooling halves the steps the LSTMs read, which is
where the reported speed-up over a stacked LSTM comes from.

- ``cnn-lstm``: front -> LSTM layers -> last output (or soft attention over the outputs) -> head.
- ``hybrid``: front -> LSTM layers (every output) -> a time-distributed dense layer (``dense_units``, ReLU,
  the same weights at each step) -> flattened over the pooled steps -> head. The flatten fixes the window
  length: it must equal ``window``.

The convolution and pooling mix neighbouring steps, so both models only predict the step after a window;
sampling re-reads the last ``window`` steps.
"""

from __future__ import annotations

import torch
from torch import nn

from generation.errors import GenerationError
from generation.models.attention import SoftAttention
from generation.models.base import WindowedModel, dropout_from_keep
from generation.models.embedding import build_input
from generation.models.heads import build_head
from generation.models.io import ModelIO
from generation.models.recurrent import run_recurrent


class ConvFront(nn.Module):
    """(B, T, E) -> (B, T // pool, filters): Conv1D -> MaxPool1D -> BatchNorm -> ReLU."""

    def __init__(self, in_dim: int, filters: int, kernel: int, pool: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_dim, filters, kernel, padding="same")
        self.pool = nn.MaxPool1d(pool)
        self.norm = nn.BatchNorm1d(filters)
        self.pool_size = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] < self.pool_size:
            raise GenerationError(f"a window of {x.shape[1]} steps is shorter than the pool size {self.pool_size}")
        y = torch.relu(self.norm(self.pool(self.conv(x.transpose(1, 2)))))
        return y.transpose(1, 2)


class CNNLSTM(WindowedModel):
    arch = "cnn-lstm"

    def __init__(self, model_io: ModelIO, *, hidden: int = 256, layers: int = 1, keep: float = 1.0,
                 recurrent_keep: float = 1.0, attention: bool = False, window: int = 64, embedding_dim: int = 64,
                 embedding_combine: str = "concat", conv_filters: int = 512, conv_kernel: int = 5,
                 pool: int = 2) -> None:
        super().__init__(model_io, window)
        drop = dropout_from_keep(keep)
        self.weight_drop = dropout_from_keep(recurrent_keep)
        self.input = build_input(model_io, embedding_dim, embedding_combine)
        self.front = ConvFront(self.input.out_dim, conv_filters, conv_kernel, pool)
        self.rnn = nn.LSTM(conv_filters, hidden, num_layers=layers, batch_first=True,
                           dropout=drop if layers > 1 else 0.0)
        self.input_dropout = nn.Dropout(drop)
        self.dropout = nn.Dropout(drop)
        self.attention = SoftAttention(hidden, window) if attention else None
        self.head = build_head(self.feature_dim(hidden), model_io)

    def feature_dim(self, hidden: int) -> int:
        return hidden

    def recurrent_outputs(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.front(self.input_dropout(self.input(inputs)))
        outputs, _ = run_recurrent(self.rnn, x, None, self.weight_drop, self.training)
        return outputs

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.recurrent_outputs(inputs)
        if self.attention is None:
            return outputs[:, -1]
        return self.attention(outputs, last_only=True)


class HybridCNNLSTM(CNNLSTM):
    arch = "hybrid"

    def __init__(self, model_io: ModelIO, *, hidden: int = 256, dense_units: int = 64, window: int = 64,
                 pool: int = 2, **kwargs: object) -> None:
        self.dense_units = dense_units
        self.steps = window // pool
        super().__init__(model_io, hidden=hidden, window=window, pool=pool, **kwargs)  # type: ignore[arg-type]
        self.dense = nn.Linear(hidden, dense_units)

    def feature_dim(self, hidden: int) -> int:
        return self.steps * self.dense_units

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.shape[1] != self.window:
            raise GenerationError(f"hybrid flattens a fixed window: got {inputs.shape[1]} steps, trained with "
                                  f"window = {self.window}")
        outputs = self.recurrent_outputs(inputs)
        if self.attention is not None:
            outputs = self.attention(outputs)
        return torch.relu(self.dense(outputs)).flatten(1)
