"""Output heads: what a model predicts, its loss, its running statistics and how it is sampled.

- :class:`TokenHeads`: one softmax per token stream (one for single-stream encodings; pitch + duration for the
  notewise ones). Loss = sum over streams of the mean cross-entropy (nats per token) of the targets that are
  not ``IGNORE_INDEX``.
- :class:`MultiHotHead`: one sigmoid per pitch with binary cross-entropy. Loss = the frame NLL of
  Boulanger-Lewandowski et al. (2012): the sum of the P Bernoulli terms of a frame, in nats, averaged over
  frames (a frame whose targets are negative is padding and is skipped).

``summarize`` always gives ``loss`` and ``accuracy`` (token heads: the mean of the per-stream accuracies;
multi-hot: the expected frame accuracy), plus the per-head metrics.

Statistics are sums and counts (tensors, never synced per batch) so they add up over batches and over DDP
ranks; ``summarize`` turns the totals into the named metrics of ``metrics.csv``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from generation.models.io import IGNORE_INDEX, ModelIO
from generation.models.policy import SamplingPolicy

TOP_K_MULTIHOT = 3  # the k of the multi-hot top-k accuracy


class TokenHeads(nn.Module):
    """A linear layer + softmax per token stream; output = tuple of logits (B, [T,] V_s)."""

    def __init__(self, in_dim: int, model_io: ModelIO) -> None:
        super().__init__()
        self.names = tuple(model_io.stream_names) or tuple(f"stream{i}" for i in range(len(model_io.vocab_sizes)))
        self.layers = nn.ModuleList(nn.Linear(in_dim, size) for size in model_io.vocab_sizes)

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(layer(hidden) for layer in self.layers)

    def loss(self, output: tuple[torch.Tensor, ...], targets: torch.Tensor) -> torch.Tensor:
        total = output[0].new_zeros(())
        for s, logits in enumerate(output):
            total = total + F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                            targets[..., s].reshape(-1), ignore_index=IGNORE_INDEX)
        return total

    def stats(self, output: tuple[torch.Tensor, ...], targets: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for s, (name, logits) in enumerate(zip(self.names, output, strict=True)):
            flat = logits.reshape(-1, logits.shape[-1]).float()
            target = targets[..., s].reshape(-1)
            keep = target != IGNORE_INDEX
            flat, target = flat[keep], target[keep]
            nll = F.cross_entropy(flat, target, reduction="sum") if len(target) else flat.new_zeros(())
            out[f"{name}_nll_sum"] = nll.double()
            out[f"{name}_correct"] = (flat.argmax(-1) == target).sum().double()
            out[f"{name}_count"] = keep.sum().double()
        return out

    def summarize(self, totals: dict[str, float]) -> dict[str, float]:
        metrics: dict[str, float] = {}
        loss = 0.0
        for name in self.names:
            count = totals[f"{name}_count"]
            nll = totals[f"{name}_nll_sum"] / count if count else math.nan
            metrics[f"{name}_nll"] = nll
            metrics[f"{name}_accuracy"] = totals[f"{name}_correct"] / count if count else math.nan
            loss += nll
        metrics["accuracy"] = sum(metrics[f"{name}_accuracy"] for name in self.names) / len(self.names)
        metrics["loss"] = loss
        return metrics

    def sample(self, hidden: torch.Tensor, policy: SamplingPolicy) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw one token per stream from ``hidden`` (B, H): ids (B, S) and log-likelihood (B,)."""
        ids, logp = [], hidden.new_zeros(hidden.shape[0], dtype=torch.float32)
        for s, logits in enumerate(self(hidden)):
            choice, lp = policy.categorical(logits, s)
            ids.append(choice)
            logp = logp + lp
        return torch.stack(ids, dim=-1), logp


class MultiHotHead(nn.Module):
    """A linear layer + sigmoid per pitch; output = logits (B, [T,] P)."""

    names = ("frame",)

    def __init__(self, in_dim: int, model_io: ModelIO) -> None:
        super().__init__()
        self.layer = nn.Linear(in_dim, model_io.n_pitches)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.layer(hidden)

    def loss(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, target = _valid_frames(output, targets)
        if len(target) == 0:
            return logits.sum() * 0.0
        return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / len(target)

    def stats(self, output: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        logits, target = _valid_frames(output, targets)
        stats = frame_stats(logits, target)
        stats.update(top_k_stats(logits, target, TOP_K_MULTIHOT))
        return stats

    def summarize(self, totals: dict[str, float]) -> dict[str, float]:
        metrics = summarize_frames(totals)
        metrics["top3_accuracy"] = (totals["topk_hits"] / totals["topk_frames"] if totals["topk_frames"]
                                    else math.nan)
        metrics["accuracy"] = metrics["frame_accuracy"]
        metrics["loss"] = metrics["frame_nll"]
        return metrics

    def sample(self, hidden: torch.Tensor, policy: SamplingPolicy) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw a frame from ``hidden`` (B, H): 0/1 keys (B, P) and log-likelihood (B,)."""
        bits, logp = policy.bernoulli(self(hidden))
        return bits, logp.sum(-1)


def _valid_frames(output: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flatten to (N, P) and drop padding frames (any negative target)."""
    logits = output.reshape(-1, output.shape[-1]).float()
    target = targets.reshape(-1, targets.shape[-1]).float()
    keep = (target >= 0).all(dim=-1)
    return logits[keep], target[keep]


def frame_stats(logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Sums for the frame NLL and the expected frame accuracy of (N, P) logits against 0/1 targets.

    ``nll_sum`` = sum over frames and keys of the Bernoulli NLL (nats); ``tp``/``fp``/``fn`` = expected counts
    under the model's probabilities p: sum p*y, sum p*(1-y), sum (1-p)*y (Boulanger-Lewandowski et al. 2012,
    after Bay et al. 2009).
    """
    probs = torch.sigmoid(logits)
    return {
        "nll_sum": F.binary_cross_entropy_with_logits(logits, target, reduction="sum").double(),
        "n_frames": logits.new_tensor(float(len(target))).double(),
        "tp": (probs * target).sum().double(),
        "fp": (probs * (1 - target)).sum().double(),
        "fn": ((1 - probs) * target).sum().double(),
    }


def summarize_frames(totals: dict[str, float]) -> dict[str, float]:
    """frame_nll (nats per frame) and frame_accuracy = TP / (TP + FP + FN) from the totals of frame_stats."""
    n = totals["n_frames"]
    denominator = totals["tp"] + totals["fp"] + totals["fn"]
    return {"frame_nll": totals["nll_sum"] / n if n else math.nan,
            "frame_accuracy": totals["tp"] / denominator if denominator else math.nan}


def top_k_stats(logits: torch.Tensor, target: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    """Multi-label top-k accuracy sums: per frame with at least one sounding key, |top-k ∩ sounding| /
    min(k, |sounding|) (1 when the k highest scores cover the sounding keys, or k of them)."""
    active = target.sum(-1)
    has = active > 0
    k = min(k, logits.shape[-1])
    top = torch.topk(logits, k, dim=-1).indices
    hits = target.gather(-1, top).sum(-1)
    share = hits[has] / torch.clamp(active[has], max=k)
    return {"topk_hits": share.sum().double(), "topk_frames": has.sum().double()}


def build_head(in_dim: int, model_io: ModelIO) -> TokenHeads | MultiHotHead:
    """Softmax heads for token streams, sigmoid multi-hot for frames."""
    if model_io.input_kind == "tokens":
        return TokenHeads(in_dim, model_io)
    if model_io.input_kind == "multihot":
        return MultiHotHead(in_dim, model_io)
    raise ValueError(f"no shared head for input kind {model_io.input_kind!r} (biaxial has its own)")
