"""``python -m generation activations RUN --input FILE``: what the neurons of a recurrent model do over a piece.

The piece (an ABC tune for ``abc-chars``, else a MIDI or ABC file) is encoded as the training pieces were
and read by the model in one pass from a zero state; the hidden state h_t of every unit of one recurrent
layer at every step is drawn as a plotly heat map (units x steps, the steps labelled with their symbols),
as Karpathy, Johnson & Fei-Fei (2016, "Visualizing and understanding recurrent networks") and folk-rnn's
analyses show LSTM cells over ABC text. Self-contained HTML (plotly.js inside).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from generation.errors import GenerationError

__all__ = ["ActivationMap", "layer_outputs", "run_activations", "write_activation_html"]

MAX_STEPS = 4000  # steps drawn at most (the first ones of a longer piece)


@dataclass(frozen=True)
class ActivationMap:
    """Hidden states (units, steps) of one layer over a piece, with a label per step."""

    values: np.ndarray  # (H, T) float32, h_t of each unit
    labels: list[str]  # the symbol read at each step
    layer: int  # 1-based
    units: list[int]  # which units the rows are (all, or the most active ones)
    title: str


def layer_outputs(rnn: nn.RNNBase, x: torch.Tensor) -> list[torch.Tensor]:
    """Outputs (B, T, H) of every layer of a multi-layer ``nn.LSTM`` / ``nn.RNN`` (which only returns the
    last), by running its layers one at a time with their own weights."""
    outputs = []
    for layer in range(rnn.num_layers):
        kwargs: dict[str, Any] = {"batch_first": True, "bias": rnn.bias}
        if isinstance(rnn, nn.RNN):
            kwargs["nonlinearity"] = rnn.nonlinearity
        single = type(rnn)(x.shape[-1], rnn.hidden_size, **kwargs).to(x.device)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                if hasattr(rnn, f"{name}_l{layer}"):
                    getattr(single, f"{name}_l0").copy_(getattr(rnn, f"{name}_l{layer}"))
            x, _ = single(x)
        outputs.append(x)
    return outputs


def _labels(encoding: Any, array: np.ndarray) -> list[str]:
    kind = encoding.model_io().input_kind
    if kind == "tokens":
        vocabularies = [encoding.vocabularies[name] for name in encoding.streams]
        labels = []
        for row in np.asarray(array).reshape(len(array), -1).tolist():
            symbols = [v.symbol(int(t)) or "?" for v, t in zip(vocabularies, row, strict=True)]
            labels.append("|".join(symbols).replace("\n", "\u21b5"))
        return labels
    low = encoding.config.low
    return [".".join(str(p + low) for p in np.flatnonzero(row)) or "rest" for row in np.asarray(array)]


def run_activations(run_dir: Path | str, input_file: Path | str, *, layer: int | None = None, units: int = 0,
                    checkpoint: str = "best", max_steps: int = MAX_STEPS) -> ActivationMap:
    """Hidden states of ``layer`` (1-based; default the last) of the run's recurrent model over the piece in
    ``input_file``; ``units`` > 0 keeps that many units, those whose activation varies most over the piece."""
    from generation.checkpoint import load_model  # noqa: PLC0415
    from generation.encodings import encoding_from_dict  # noqa: PLC0415
    from generation.models.recurrent import RecurrentModel  # noqa: PLC0415
    from generation.run_sampling import Primer, first_abc_tune, primer_piece  # noqa: PLC0415
    from generation.runs import prepare_options  # noqa: PLC0415

    run_dir, input_file = Path(run_dir), Path(input_file)
    model, ckpt = load_model(run_dir / f"{checkpoint}.pt", "cpu")
    if not isinstance(model, RecurrentModel):
        raise GenerationError(f"{run_dir}: activations reads the recurrent layers of lstm, stacked or rnn models; "
                              f"this run is a {ckpt.config.arch}")
    if ckpt.encoding is None:
        raise GenerationError(f"{ckpt.path}: the checkpoint holds no encoding, so the input cannot be encoded")
    if not input_file.is_file():
        raise GenerationError(f"{input_file}: no such input file")
    encoding = encoding_from_dict(ckpt.encoding)
    if encoding.kind == "abc-chars":
        array = encoding.encode(first_abc_tune(input_file))
    else:
        _, preprocess = prepare_options(ckpt.config.encoding, ckpt.config.encoding_options)
        array = encoding.encode(primer_piece(Primer(path=input_file), encoding, preprocess))
    if len(array) == 0:
        raise GenerationError(f"{input_file}: encodes to nothing")
    array = array[:max_steps]
    kind = encoding.model_io().input_kind
    tensor = torch.as_tensor(np.asarray(array), dtype=torch.long if kind == "tokens" else torch.float32)
    if kind == "tokens" and tensor.dim() == 1:
        tensor = tensor[:, None]
    layers = model.rnn.num_layers
    chosen = layers if layer is None else layer
    if not 1 <= chosen <= layers:
        raise GenerationError(f"--layer must be 1..{layers} for this model, not {layer}")
    with torch.no_grad():
        states = layer_outputs(model.rnn, model.input(tensor[None]))[chosen - 1][0].T.numpy()  # (H, T)
    rows = list(range(states.shape[0]))
    if 0 < units < states.shape[0]:
        rows = sorted(np.argsort(-states.std(axis=1))[:units].tolist())
        states = states[rows]
    title = (f"{run_dir.name}: layer {chosen} of {layers} ({ckpt.config.arch}, {model.rnn.hidden_size} units) over "
             f"{input_file.name}, {len(array)} steps of {encoding.kind}")
    return ActivationMap(values=states.astype(np.float32), labels=_labels(encoding, array), layer=chosen, units=rows,
                         title=title)


def write_activation_html(activations: ActivationMap, path: Path | str) -> Path:
    """The heat map as one self-contained HTML file (units x steps, hover: step, symbol, unit, value)."""
    import plotly.graph_objects as go  # noqa: PLC0415

    path = Path(path)
    values = activations.values
    steps = list(range(values.shape[1]))
    hover = np.array([[f"step {t}: {activations.labels[t]!r}" for t in steps]] * values.shape[0])
    figure = go.Figure(go.Heatmap(z=values, x=steps, y=[f"unit {u}" for u in activations.units], customdata=hover,
                                  colorscale="RdBu", zmid=0.0, colorbar={"title": "h_t"},
                                  hovertemplate="%{customdata}<br>%{y}: %{z:.3f}<extra></extra>"))
    tick = max(1, len(steps) // 120)
    figure.update_xaxes(tickmode="array", tickvals=steps[::tick], ticktext=activations.labels[::tick],
                        tickangle=0, title_text="step (symbol read)")
    figure.update_layout(title=activations.title, height=max(420, 12 * len(activations.units) + 160))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.write_html(path, include_plotlyjs=True, full_html=True)
    return path
