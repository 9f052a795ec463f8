"""One registry of architectures: ``build_model(arch, model_io, config)``.

``config`` is a :class:`generation.config.TrainConfig` (any object with its fields will do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generation.errors import GenerationError
from generation.models.base import SequenceModel
from generation.models.biaxial import Biaxial
from generation.models.bilstm import BiLSTM
from generation.models.cnn_lstm import CNNLSTM, HybridCNNLSTM
from generation.models.io import ModelIO
from generation.models.recurrent import RecurrentModel
from generation.models.transformer import Transformer


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    input_kinds: tuple[str, ...]  # the ModelIO.input_kind values it reads
    many_to_many: bool  # can train on the shifted sequence (every step predicted)
    build: Callable[[ModelIO, Any], SequenceModel]


def _recurrent_args(config: Any) -> dict[str, Any]:
    return {"hidden": config.hidden, "keep": config.keep, "recurrent_keep": config.recurrent_keep,
            "attention": config.attention, "window": config.window, "embedding_dim": config.embedding_dim,
            "embedding_combine": config.embedding_combine}


def _recurrent(cell: str, layers: int | None) -> Callable[[ModelIO, Any], SequenceModel]:
    def build(model_io: ModelIO, config: Any) -> SequenceModel:
        model = RecurrentModel(model_io, cell=cell, layers=layers or config.layers, **_recurrent_args(config))
        model.arch = "lstm" if layers == 1 else ("rnn" if cell == "rnn" else "stacked")
        return model
    return build


def _conv_args(config: Any) -> dict[str, Any]:
    return {"conv_filters": config.conv_filters, "conv_kernel": config.conv_kernel, "pool": config.pool}


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("lstm", "one LSTM layer of `hidden` units", ("tokens", "multihot"), True, _recurrent("lstm", 1)),
    Architecture("stacked", "`layers` LSTM layers (default 3) of `hidden` units", ("tokens", "multihot"), True,
                 _recurrent("lstm", None)),
    Architecture("rnn", "vanilla tanh RNN baseline, `layers` x `hidden`", ("tokens", "multihot"), True,
                 _recurrent("rnn", None)),
    Architecture("bilstm", "bidirectional LSTM over the context window only (many-to-one)", ("tokens", "multihot"),
                 False, lambda io, c: BiLSTM(io, layers=c.layers, **_recurrent_args(c))),
    Architecture("cnn-lstm", "Conv1D(512, 5) -> MaxPool -> BatchNorm -> ReLU -> LSTMs (many-to-one)",
                 ("tokens", "multihot"), False,
                 lambda io, c: CNNLSTM(io, layers=c.layers, **_recurrent_args(c), **_conv_args(c))),
    Architecture("hybrid", "CNN-LSTM + time-distributed dense layer, flattened (many-to-one, fixed window)",
                 ("tokens", "multihot"), False,
                 lambda io, c: HybridCNNLSTM(io, layers=c.layers, dense_units=c.dense_units,
                                             **_recurrent_args(c), **_conv_args(c))),
    Architecture("biaxial", "Johnson's biaxial LSTM: time axis 2x300, note axis 100, 50 (play/articulate)",
                 ("biaxial",), True,
                 lambda io, c: Biaxial(io, time_hidden=tuple(c.time_hidden), note_hidden=tuple(c.note_hidden),
                                       keep=c.keep)),
    Architecture("transformer", "small causal transformer (RoPE, KV-cached sampling) for token encodings",
                 ("tokens",), True,
                 lambda io, c: Transformer(io, hidden=c.hidden, layers=c.layers, heads=c.heads, keep=c.keep,
                                           window=c.window, embedding_dim=c.embedding_dim,
                                           embedding_combine=c.embedding_combine)),
)}


def build_model(arch: str, model_io: ModelIO, config: Any) -> SequenceModel:
    """A fresh model of architecture ``arch`` for the tensors ``model_io`` describes."""
    spec = ARCHITECTURES.get(arch)
    if spec is None:
        raise GenerationError(f"unknown architecture {arch!r}; choose one of: {', '.join(ARCHITECTURES)}")
    if model_io.input_kind not in spec.input_kinds:
        raise GenerationError(f"architecture {arch!r} reads {' or '.join(spec.input_kinds)} inputs, but this "
                              f"encoding gives {model_io.input_kind!r}")
    if getattr(config, "attention", False) and arch in ("biaxial", "transformer"):
        raise GenerationError(f"--attention adds soft attention over recurrent outputs; {arch} has none to attend "
                              "over (the transformer is attention already)")
    return spec.build(model_io, config)
