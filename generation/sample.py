"""Batched, stateful sampling from a trained model.

Samples are drawn ``SampleConfig.batch_size`` at a time; each step feeds only the newest step to the model,
which keeps its recurrent state (h, c) or its KV cache (models that must re-read a window keep the window).
Steps are in the model's output space: token ids (S,) per step, multi-hot frames (P,), or biaxial
[play, articulate] frames (P, 2). What the model reads next is the step just drawn (tokens, multi-hot) or,
for biaxial, the encoding's note features computed from the frames so far (``next_inputs``).

Log-likelihoods are the model's own (temperature 1, no top-k/top-p), summed over the generated steps, in
nats. Decoding to MIDI is the encoding's job: pass its ``decode`` callable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from generation.config import SampleConfig
from generation.device import resolve_device
from generation.errors import GenerationError
from generation.models.base import SequenceModel
from generation.models.policy import SamplingPolicy

NextInputs = Callable[[torch.Tensor, int], torch.Tensor]  # (history (B, t, ...), t) -> model input (B, ...)


@dataclass(frozen=True)
class SampleResult:
    """Samples of one call: generated steps (the primer left out), their log-likelihoods and lengths."""

    sequences: list[np.ndarray]  # per sample (L_i, S) int64 tokens, (L_i, P) or (L_i, P, 2) uint8 frames
    log_likelihood: np.ndarray  # (n,) nats under the model, generated steps only
    lengths: np.ndarray  # (n,) steps generated, the end token included
    stopped: np.ndarray  # (n,) bool: the sample reached the end token
    primer: np.ndarray | None  # the primer the samples continue (output space), if one was given
    pieces: list[Any] | None  # decode(...) of each sample, when a decoder was given
    settings: dict[str, Any]

    def to_dicts(self) -> list[dict[str, Any]]:
        """One JSON-ready record per sample: its steps, log-likelihood, length and every setting."""
        return [{"index": i, "steps": seq.tolist(), "log_likelihood": float(self.log_likelihood[i]),
                 "length": int(self.lengths[i]), "stopped_at_end": bool(self.stopped[i]), "settings": self.settings}
                for i, seq in enumerate(self.sequences)]


def step_shape(model: SequenceModel) -> tuple[int, ...]:
    """Shape of one step in output space: (S,) tokens, (P,) frames or (P, 2) biaxial frames."""
    io = model.model_io
    if io.input_kind == "tokens":
        return (len(io.vocab_sizes),)
    if io.input_kind == "multihot":
        return (io.n_pitches,)
    return (io.n_pitches, 2)


def make_policy(model: SequenceModel, config: SampleConfig, generator: torch.Generator) -> SamplingPolicy:
    temperatures = tuple(config.temperatures) or (config.temperature,)
    streams = len(model.model_io.vocab_sizes) if model.model_io.input_kind == "tokens" else 1
    if len(temperatures) not in (1, streams):
        names = ", ".join(model.model_io.stream_names) or f"{streams} streams"
        raise GenerationError(f"--temperatures gives {len(temperatures)} values; this model has {streams} heads "
                              f"({names})")
    return SamplingPolicy(temperatures=temperatures, top_k=config.top_k, top_p=config.top_p,
                          threshold=config.threshold, generator=generator)


def _primer_batch(primer: np.ndarray | torch.Tensor | None, shape: tuple[int, ...], n: int,
                  dtype: torch.dtype) -> tuple[torch.Tensor, bool]:
    """(n, T0, *shape) primer tensor and whether the user gave one (else one empty step: padding / silence)."""
    if primer is None:
        return torch.zeros(n, 1, *shape, dtype=dtype), False
    tensor = torch.as_tensor(np.asarray(primer)).to(dtype)
    given = tuple(tensor.shape)
    if tensor.dim() == len(shape) + 1:
        tensor = tensor[None].expand(n, *tensor.shape)
    if tensor.dim() != len(shape) + 2 or tuple(tensor.shape[2:]) != shape or tensor.shape[0] != n:
        raise GenerationError(f"the primer has shape {given}; this model takes (T, "
                              f"{', '.join(map(str, shape))}) or ({n}, T, {', '.join(map(str, shape))})")
    if tensor.shape[1] == 0:
        raise GenerationError("the primer is empty: give at least one step or none at all")
    return tensor, True


@torch.no_grad()
def sample(model: SequenceModel, config: SampleConfig, *, primer: np.ndarray | torch.Tensor | None = None,
           end_token: int | None = None, next_inputs: NextInputs | None = None,
           decode: Callable[[np.ndarray], Any] | None = None, progress: bool = False,
           on_step: Callable[[int, int], None] | None = None) -> SampleResult:
    """Draw ``config.n`` samples of up to ``config.steps`` steps each.

    primer: steps in output space, (T0, ...) shared by every sample or (n, T0, ...); None = start from one
        empty step (padding ids / a silent frame).
    end_token: a stream-0 token id that ends a sample (with ``config.stop_at_end``); later steps are dropped.
    next_inputs: ``(history, t) -> inputs`` of step t from the output steps so far (B, t + 1, ...); required
        for biaxial (the encoding's note features), default = the newest step itself.
    decode: the encoding's decoder, applied to each sample (primer included when ``config.keep_primer``).
    on_step: called as ``on_step(steps drawn, n * steps)`` after every step of every batch (a UI progress bar).
    """
    if model.model_io.input_kind == "biaxial" and next_inputs is None:
        raise GenerationError("sampling a biaxial model needs next_inputs: the encoding's note features of the "
                              "frames sampled so far")
    device = resolve_device(config.device)
    model = model.to(device).eval()
    shape = step_shape(model)
    out_dtype = torch.long if model.model_io.input_kind == "tokens" else torch.float32
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    policy = make_policy(model, config, generator)
    primer_all, given = _primer_batch(primer, shape, config.n, out_dtype)
    stop = end_token if config.stop_at_end and model.model_io.input_kind == "tokens" else None

    sequences, logps, lengths, stopped = [], [], [], []
    bar = tqdm(total=config.n * config.steps, desc="sampling", unit="step", disable=not progress)
    for first in range(0, config.n, config.batch_size):
        history = primer_all[first:first + config.batch_size].to(device)
        batch, primer_steps = history.shape[0], history.shape[1]
        state = model.init_state(batch, device)
        if next_inputs is None:
            hidden, state = model.prime(history, state)
        else:
            for t in range(primer_steps):
                hidden, state = model.step(next_inputs(history[:, :t + 1], t), state)
        logp = torch.zeros(batch, device=device)
        done = torch.zeros(batch, dtype=torch.bool, device=device)
        length = torch.zeros(batch, dtype=torch.long, device=device)
        drawn = []
        for t in range(config.steps):
            step, step_logp = model.sample_head(hidden, policy)
            step = step.to(out_dtype)
            live = ~done
            logp = logp + torch.where(live, step_logp, torch.zeros_like(step_logp))
            length = length + live.long()
            drawn.append(step)
            bar.update(batch)
            if on_step is not None:
                on_step(first * config.steps + (t + 1) * batch, config.n * config.steps)
            if stop is not None:
                done = done | (live & (step[:, 0] == stop))
                if bool(done.all()):
                    break
            if t + 1 == config.steps:
                break
            if next_inputs is None:
                hidden, state = model.step(step, state)
            else:
                history = torch.cat([history, step[:, None]], dim=1)
                hidden, state = model.step(next_inputs(history, primer_steps + t), state)
        generated = torch.stack(drawn, dim=1).cpu()
        for i in range(batch):
            seq = generated[i, :int(length[i])]
            sequences.append(seq.numpy().astype(np.int64 if out_dtype == torch.long else np.uint8))
        logps.append(logp.cpu().numpy())
        lengths.append(length.cpu().numpy())
        stopped.append(done.cpu().numpy())
    bar.close()
    primer_np = np.asarray(primer) if given else None
    pieces = None
    if decode is not None:
        pieces = []
        for i, seq in enumerate(sequences):
            if given and config.keep_primer:
                seq = np.concatenate([primer_all[i].numpy().astype(seq.dtype), seq])
            pieces.append(decode(seq))
    return SampleResult(sequences=sequences, log_likelihood=np.concatenate(logps), lengths=np.concatenate(lengths),
                        stopped=np.concatenate(stopped), primer=primer_np, pieces=pieces,
                        settings={**config.to_dict(), "end_token": end_token})
