"""How a sampler turns a model's scores into choices: temperature, top-k, top-p, threshold, seed.

A :class:`SamplingPolicy` is handed to a model's ``sample_head`` each step, so every head (softmax token
streams, multi-hot keys, biaxial's note axis) draws the same way. Log-likelihoods are always those of the
model itself (temperature 1, no truncation), in nats, whatever the policy does to choose.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

ARGMAX_TEMPERATURE = 1e-4  # at or below this temperature a head takes its most likely choice (argmax)


@dataclass
class SamplingPolicy:
    """Sampling settings shared by every head of a model.

    temperatures: one per token stream (stream order of ``ModelIO.stream_names``) or one for all; multi-hot
        and biaxial heads use the first. Logits are divided by it; at or below ``ARGMAX_TEMPERATURE`` the head
        takes the argmax (for Bernoulli keys: probability > 0.5).
    top_k: keep the k most likely tokens (0 = all). top_p: keep the smallest set whose probability reaches p
        (nucleus sampling, Holtzman et al. 2020; 1.0 = all).
    threshold: multi-hot and biaxial keys sound when their probability exceeds it (deterministic, as the
        reports did with 0.3); None = draw each key from its Bernoulli.
    generator: the torch Generator every draw uses (seeded by the caller), so a run is reproducible.
    """

    temperatures: tuple[float, ...] = (1.0,)
    top_k: int = 0
    top_p: float = 1.0
    threshold: float | None = None
    generator: torch.Generator | None = None

    def temperature(self, stream: int) -> float:
        if len(self.temperatures) == 1:
            return self.temperatures[0]
        return self.temperatures[stream]

    def categorical(self, logits: torch.Tensor, stream: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw one token per row of ``logits`` (B, V); id 0 (padding) is never drawn.

        Returns ids (B,) int64 and their log-probability under the model (B,), in nats.
        """
        logits = logits.float().clone()
        logits[:, 0] = float("-inf")
        model_logp = torch.log_softmax(logits, dim=-1)
        temperature = self.temperature(stream)
        if temperature <= ARGMAX_TEMPERATURE:
            ids = logits.argmax(dim=-1)
        else:
            scaled = logits / temperature
            if 0 < self.top_k < scaled.shape[-1]:
                kth = torch.topk(scaled, self.top_k, dim=-1).values[:, -1:]
                scaled = scaled.masked_fill(scaled < kth, float("-inf"))
            if self.top_p < 1.0:
                scaled = _nucleus(scaled, self.top_p)
            probs = torch.softmax(scaled, dim=-1)
            ids = torch.multinomial(probs, 1, generator=self.generator).squeeze(-1)
        return ids, model_logp.gather(-1, ids[:, None]).squeeze(-1)

    def bernoulli(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw 0/1 for every key of ``logits`` (B, ..., K) (sigmoid scores).

        Returns the float 0/1 draws (same shape) and the log-probability of each draw under the model.
        """
        logits = logits.float()
        temperature = self.temperature(0)
        if self.threshold is not None:
            bits = (torch.sigmoid(logits) > self.threshold).float()
        elif temperature <= ARGMAX_TEMPERATURE:
            bits = (logits > 0).float()
        else:
            probs = torch.sigmoid(logits / temperature)
            bits = torch.bernoulli(probs, generator=self.generator)
        logp = -F.binary_cross_entropy_with_logits(logits, bits, reduction="none")
        return bits, logp


def _nucleus(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Mask all but the smallest most-likely set of tokens whose probability reaches ``top_p``."""
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    remove = cumulative - torch.softmax(sorted_logits, dim=-1) >= top_p  # keep the token that crosses p
    sorted_logits = sorted_logits.masked_fill(remove, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
