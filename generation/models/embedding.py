"""What a model reads: token streams through ``nn.Embedding`` (never raw ids), multi-hot frames as they are.

A multi-stream token input (pitch + duration) embeds each stream and either sums the embeddings (``"sum"``:
one vector of ``dim``) or concatenates them (``"concat"``: ``S * dim``). Id 0 (padding) embeds to zeros.
"""

from __future__ import annotations

import torch
from torch import nn

from generation.errors import GenerationError
from generation.models.io import ModelIO


class TokenEmbedding(nn.Module):
    """(B, T, S) int64 token ids -> (B, T, out_dim) float."""

    def __init__(self, vocab_sizes: tuple[int, ...], dim: int, combine: str = "concat") -> None:
        super().__init__()
        if combine not in ("sum", "concat"):
            raise GenerationError(f"embedding_combine must be 'sum' or 'concat', not {combine!r}")
        self.combine = combine
        self.tables = nn.ModuleList(nn.Embedding(size, dim, padding_idx=0) for size in vocab_sizes)
        self.out_dim = dim * (len(vocab_sizes) if combine == "concat" else 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        parts = [table(ids[..., s]) for s, table in enumerate(self.tables)]
        if self.combine == "sum":
            return torch.stack(parts, dim=0).sum(dim=0)
        return torch.cat(parts, dim=-1)


class FrameInput(nn.Module):
    """(B, T, P) multi-hot frames, passed on as floats (the reports fed the piano roll to the LSTM directly)."""

    def __init__(self, n_pitches: int) -> None:
        super().__init__()
        self.out_dim = n_pitches

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return frames.float()


def build_input(model_io: ModelIO, embedding_dim: int, combine: str) -> TokenEmbedding | FrameInput:
    """The input layer for a token or multi-hot ``model_io``."""
    if model_io.input_kind == "tokens":
        if not model_io.vocab_sizes:
            raise GenerationError("a token model needs ModelIO.vocab_sizes (one vocabulary size per stream)")
        return TokenEmbedding(tuple(model_io.vocab_sizes), embedding_dim, combine)
    if model_io.input_kind == "multihot":
        if model_io.n_pitches <= 0:
            raise GenerationError("a multi-hot model needs ModelIO.n_pitches > 0")
        return FrameInput(model_io.n_pitches)
    raise GenerationError(f"input kind {model_io.input_kind!r} has no token/frame input layer")


def empty_step(model_io: ModelIO, batch_size: int, device: torch.device | str) -> torch.Tensor:
    """The input a sampler feeds when there is no primer: padding ids (B, S) or an empty frame (B, P)."""
    if model_io.input_kind == "tokens":
        return torch.zeros(batch_size, len(model_io.vocab_sizes), dtype=torch.long, device=device)
    if model_io.input_kind == "multihot":
        return torch.zeros(batch_size, model_io.n_pitches, device=device)
    return torch.zeros(batch_size, model_io.n_pitches, model_io.n_features, device=device)
