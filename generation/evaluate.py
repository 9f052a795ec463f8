"""How well a trained model predicts held-out music, beside the trivial baselines.

Conventions (all NLLs in nats):

- Token encodings: per-token NLL and accuracy (argmax = target) of each head over every target that is not
  ``IGNORE_INDEX``; ``token_nll`` = the sum of the heads' NLLs (one event = a pitch and a duration token for
  the notewise encodings), ``accuracy`` = the mean of the heads' accuracies.
- Piano-roll encodings (multi-hot, biaxial's play roll): the frame-level NLL of Boulanger-Lewandowski et
  al. (2012): per predicted frame, the sum of the P Bernoulli terms, averaged over all predicted frames
  (the first frame of a piece has nothing before it and is not predicted: the datasets give no target for
  it); ``frame_accuracy`` = expected TP / (TP + FP + FN), the counts summed over all frames under the
  model's probabilities (Bay et al. 2009, as BL2012 report it). Biaxial's ``frame_nll`` (= its ``loss``) is
  the NLL of the whole frame, play and articulation; ``play_nll`` holds the play terms alone.
- Baselines scored on the same targets: the uniform model (P ln 2 nats per frame, 61.0 for 88 keys), an
  independent Bernoulli per key fitted on the training frames (add-one smoothed), a unigram (add-one) and
  an interpolated Witten-Bell n-gram per token stream fitted on the training (context, target) pairs.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from generation.device import DistContext, ShardSampler, all_reduce_sum, autocast
from generation.errors import GenerationError
from generation.models.base import SequenceModel
from generation.models.io import IGNORE_INDEX, ModelIO

# ---------------------------------------------------------------- batches through a model


def batch_tensors(batch: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) of a dataset batch, on ``device``; a GenerationError when the batch is not a dict
    with both keys (the contract of ``generation.models.io``)."""
    if not isinstance(batch, dict) or "inputs" not in batch or "targets" not in batch:
        found = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise GenerationError(f"a batch must be a dict with 'inputs' and 'targets' tensors, got {found}")
    non_blocking = device.type == "cuda"
    return (batch["inputs"].to(device, non_blocking=non_blocking),
            batch["targets"].to(device, non_blocking=non_blocking))


def check_item(item: Any, split: str) -> None:
    """A GenerationError unless a dataset item is a dict with 'inputs' and 'targets' (generation.models.io)."""
    if not isinstance(item, dict) or "inputs" not in item or "targets" not in item:
        found = sorted(item) if isinstance(item, dict) else type(item).__name__
        raise GenerationError(f"{split} split: an item must be a dict with 'inputs' and 'targets' tensors, got "
                              f"{found}")


def predict(model: torch.nn.Module, core: SequenceModel, inputs: torch.Tensor, targets: torch.Tensor) -> Any:
    """The model's output for a batch: last step only for many-to-one targets; targets are handed to the
    model only when it is teacher-forced (biaxial's note axis), so no other model can read them."""
    last_only = core.check_batch(inputs, targets)
    if core.teacher_forced:
        return model(inputs, targets=targets, last_only=last_only)
    return model(inputs, last_only=last_only)


class StatTotals:
    """Running sums of a head's statistics, kept as tensors on the device until ``reduce``."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}

    def add(self, stats: dict[str, torch.Tensor]) -> None:
        for key, value in stats.items():
            self.sums[key] = self.sums[key] + value if key in self.sums else value.clone()

    def reduce(self, ctx: DistContext | None, extra: dict[str, float] | None = None) -> dict[str, float]:
        """Floats summed over all processes (``extra`` values are summed too)."""
        keys = list(self.sums) + list(extra or {})
        if not keys:
            return {}
        device = next(iter(self.sums.values())).device if self.sums else torch.device("cpu")
        values = [self.sums[k].double() for k in self.sums] + [torch.tensor(float(v), dtype=torch.float64,
                                                                             device=device)
                                                               for v in (extra or {}).values()]
        stacked = torch.stack(values)
        if ctx is not None:
            all_reduce_sum(stacked, ctx)
        return dict(zip(keys, stacked.tolist(), strict=True))


@torch.no_grad()
def accumulate(model: torch.nn.Module, core: SequenceModel, loader: Iterable, device: torch.device, *,
               amp: bool = False, ctx: DistContext | None = None) -> dict[str, float]:
    """Statistic totals of ``model`` over ``loader`` (eval mode), summed over processes."""
    was_training = model.training
    model.eval()
    totals = StatTotals()
    try:
        for batch in loader:
            inputs, targets = batch_tensors(batch, device)
            with autocast(device, amp):
                output = predict(model, core, inputs, targets)
            totals.add(core.stats(output, targets))
    finally:
        model.train(was_training)
    return totals.reduce(ctx)


def evaluate_model(model: SequenceModel, dataset: Dataset, *, batch_size: int = 64,
                   device: torch.device | str = "cpu", ctx: DistContext | None = None) -> dict[str, float]:
    """Named metrics of ``model`` on ``dataset`` (see the module docstring), plus the counts they average."""
    device = torch.device(device)
    model = model.to(device)
    sampler = ShardSampler(dataset, ctx) if ctx is not None else None
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, shuffle=False)
    totals = accumulate(model, model, loader, device, ctx=ctx)
    if not totals:
        raise GenerationError("the evaluation split holds no windows")
    metrics = model.summarize(totals)
    if model.model_io.input_kind == "tokens":
        metrics["token_nll"] = metrics["loss"]
        metrics["n_tokens"] = totals[f"{model.head.names[0]}_count"]
    else:
        metrics["n_frames"] = totals["n_frames"]
    return metrics


# ---------------------------------------------------------------- frame scores and baselines


@dataclass(frozen=True)
class FrameScores:
    """Frame-level NLL (nats per frame), expected frame accuracy and the number of frames scored."""

    frame_nll: float
    frame_accuracy: float
    n_frames: int

    def to_dict(self) -> dict[str, float]:
        return {"frame_nll": self.frame_nll, "frame_accuracy": self.frame_accuracy, "n_frames": self.n_frames}


def frame_scores(probs: np.ndarray, frames: np.ndarray) -> FrameScores:
    """Score per-key probabilities ``probs`` (N, P) (or one (P,) row for every frame) against 0/1 ``frames``
    (N, P): mean over frames of -sum_k log p(y_k), and expected TP / (TP + FP + FN) over all frames."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2:
        raise ValueError(f"frames must be (N, P), got shape {frames.shape}")
    if frames.size and not np.isin(frames, (0.0, 1.0)).all():
        raise ValueError("frames must hold only 0 and 1 (did you pass probabilities as frames?)")
    probs = np.broadcast_to(np.asarray(probs, dtype=np.float64), frames.shape)
    if len(frames) == 0:
        return FrameScores(math.nan, math.nan, 0)
    with np.errstate(divide="ignore"):
        logp = np.where(frames == 1.0, np.log(probs), np.log1p(-probs))
    tp = float((probs * frames).sum())
    fp = float((probs * (1 - frames)).sum())
    fn = float(((1 - probs) * frames).sum())
    accuracy = tp / (tp + fp + fn) if tp + fp + fn else math.nan
    return FrameScores(float(-logp.sum(axis=1).mean()), accuracy, len(frames))


def uniform_frame_nll(n_pitches: int) -> float:
    """NLL of the uniform model (every key p = 0.5): P ln 2 nats per frame (61.0 for 88 keys)."""
    return n_pitches * math.log(2.0)


def bernoulli_fit(frames: np.ndarray) -> np.ndarray:
    """Per-key probability of sounding over the training frames, add-one smoothed: (k + 1) / (N + 2)."""
    frames = np.asarray(frames, dtype=np.float64)
    return (frames.sum(axis=0) + 1.0) / (len(frames) + 2.0)


@dataclass
class NGram:
    """Interpolated Witten-Bell n-gram over one token stream (Witten & Bell 1991; Chen & Goodman 1998).

    P(w | h) = (c(h, w) + N1+(h .) P(w | h')) / (c(h) + N1+(h .)), h' = h without its oldest token, down to an
    add-one unigram over the ``vocab_size - 1`` real tokens (id 0 is padding and is never predicted).
    """

    order: int
    vocab_size: int
    counts: dict[tuple[int, ...], Counter] = field(default_factory=lambda: defaultdict(Counter))
    totals: dict[tuple[int, ...], tuple[int, int]] = field(default_factory=dict)  # history -> (tokens, types)

    def fit(self, contexts: Iterable[tuple[int, ...]], targets: Iterable[int]) -> NGram:
        for context, target in zip(contexts, targets, strict=True):
            history = tuple(context)[-(self.order - 1):] if self.order > 1 else ()
            for k in range(len(history) + 1):
                self.counts[history[len(history) - k:]][target] += 1
        self.totals = {history: (sum(seen.values()), len(seen)) for history, seen in self.counts.items()}
        return self

    def prob(self, context: tuple[int, ...], target: int) -> float:
        history = tuple(context)[-(self.order - 1):] if self.order > 1 else ()
        unigram = self.counts.get((), Counter())
        p = (unigram[target] + 1.0) / (self.totals.get((), (0, 0))[0] + self.vocab_size - 1)
        for k in range(1, len(history) + 1):
            suffix = history[len(history) - k:]
            seen = self.counts.get(suffix)
            if not seen:
                break
            total, types = self.totals[suffix]
            p = (seen[target] + types * p) / (total + types)
        return p


def token_pairs(dataset: Dataset, stream: int, context: int) -> tuple[list[tuple[int, ...]], list[int]]:
    """(context, target) pairs of one stream of a token dataset, on exactly the targets a model is scored
    on: the ``context`` tokens before each target (left-padded with 0)."""
    contexts, targets = [], []
    for i in range(len(dataset)):  # type: ignore[arg-type]
        item = dataset[i]
        inputs = torch.as_tensor(item["inputs"])[..., stream].tolist()
        target = torch.as_tensor(item["targets"])[..., stream]
        if target.dim() == 0:
            pairs = [(len(inputs), int(target))]
        else:
            pairs = [(t + 1, int(v)) for t, v in enumerate(target.tolist())]
        for end, value in pairs:
            if value == IGNORE_INDEX:
                continue
            history = inputs[max(0, end - context):end]
            contexts.append(tuple([0] * (context - len(history)) + history))
            targets.append(value)
    return contexts, targets


def dataset_frames(dataset: Dataset) -> np.ndarray:
    """Every predicted frame (N, P) of a multi-hot or biaxial dataset (biaxial: the play roll); padding
    frames (negative targets) are left out."""
    rows = []
    for i in range(len(dataset)):  # type: ignore[arg-type]
        target = torch.as_tensor(dataset[i]["targets"]).float()
        if target.dim() == 3:  # biaxial (T, P, 2) -> the play roll
            valid = (target >= 0).all(-1).all(-1)
            target = target[valid][..., 0]
        else:
            target = target.reshape(-1, target.shape[-1])
            target = target[(target >= 0).all(-1)]
        rows.append(target.numpy())
    return np.concatenate(rows) if rows else np.zeros((0, 0))


def baseline_scores(model_io: ModelIO, train_set: Dataset, eval_set: Dataset, *, order: int = 3
                    ) -> dict[str, dict[str, float]]:
    """The trivial models' scores on ``eval_set``'s targets, fitted on ``train_set``: uniform and independent
    Bernoulli for frames; unigram and ``order``-gram for tokens (``token_nll`` = sum over streams)."""
    if model_io.input_kind in ("multihot", "biaxial"):
        train_frames, eval_frames = dataset_frames(train_set), dataset_frames(eval_set)
        uniform = frame_scores(np.full(model_io.n_pitches, 0.5), eval_frames).to_dict()
        uniform["frame_nll"] = uniform_frame_nll(model_io.n_pitches) if len(eval_frames) else math.nan
        return {"uniform": uniform,
                "independent-bernoulli": frame_scores(bernoulli_fit(train_frames), eval_frames).to_dict()}
    names = model_io.stream_names or tuple(f"stream{i}" for i in range(len(model_io.vocab_sizes)))
    out: dict[str, dict[str, float]] = {}
    for label, n in (("unigram", 1), (f"{order}-gram", order)):
        scores: dict[str, float] = {"token_nll": 0.0}
        for s, (name, size) in enumerate(zip(names, model_io.vocab_sizes, strict=True)):
            model = NGram(n, size).fit(*token_pairs(train_set, s, n - 1))
            contexts, targets = token_pairs(eval_set, s, n - 1)
            nll = -sum(math.log(model.prob(c, t)) for c, t in zip(contexts, targets, strict=True))
            scores[f"{name}_nll"] = nll / len(targets) if targets else math.nan
            scores["token_nll"] += scores[f"{name}_nll"]
            scores["n_tokens"] = len(targets)
        out[label] = scores
    return out


@dataclass(frozen=True)
class EvaluationReport:
    """A model's metrics on a split, the baselines beside it, and the protocol used."""

    model: dict[str, float]
    baselines: dict[str, dict[str, float]]
    protocol: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.model, "baselines": self.baselines, "protocol": self.protocol}


def evaluate(model: SequenceModel, eval_set: Dataset, train_set: Dataset | None = None, *, batch_size: int = 64,
             device: torch.device | str = "cpu", order: int = 3) -> EvaluationReport:
    """Score ``model`` on ``eval_set``; with ``train_set``, the baselines fitted on it are scored beside it."""
    metrics = evaluate_model(model, eval_set, batch_size=batch_size, device=device)
    baselines = {} if train_set is None else baseline_scores(model.model_io, train_set, eval_set, order=order)
    if model.model_io.input_kind == "tokens":
        protocol = "per-token NLL (nats) and accuracy per head over every target of the split"
    else:
        protocol = ("frame-level NLL (Boulanger-Lewandowski 2012): sum of the per-key Bernoulli NLLs per frame, "
                    "nats, averaged over predicted frames; expected frame accuracy TP/(TP+FP+FN)")
    return EvaluationReport(metrics, baselines, protocol)
