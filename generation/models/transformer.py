"""``transformer``: a small causal transformer for token encodings, with a KV cache for sampling.

Pre-LayerNorm blocks (GPT-2 layout, as in nanoGPT): causal multi-head self-attention and a 4x GELU MLP.
Positions are rotary (RoPE, Su et al. 2021), so a score depends only on how far apart two steps are: each
query sees at most the last ``window`` steps, in training and in sampling, and the sampler's KV cache can
slide forever (it keeps the last ``window - 1`` keys and values of every layer). ``hidden`` = model width,
``layers`` = blocks, ``heads`` = attention heads; dropout = 1 - ``keep``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from generation.errors import GenerationError
from generation.models.base import SequenceModel, dropout_from_keep
from generation.models.embedding import TokenEmbedding
from generation.models.heads import TokenHeads
from generation.models.io import ModelIO


def rotate(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding of ``x`` (B, heads, T, d) at integer ``positions`` (T,)."""
    d = x.shape[-1]
    freqs = 1.0 / (10000.0 ** (torch.arange(0, d, 2, device=x.device, dtype=torch.float32) / d))
    angles = positions.float()[:, None] * freqs[None, :]
    cos, sin = torch.cos(angles).repeat(1, 2).to(x.dtype), torch.sin(angles).repeat(1, 2).to(x.dtype)
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, window: int, dropout: float) -> None:
        super().__init__()
        if width % heads or (width // heads) % 2:
            raise GenerationError(f"transformer: hidden {width} must split into {heads} heads of even size")
        self.heads, self.window, self.dropout = heads, window, dropout
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, width = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        q, k = rotate(q, positions), rotate(k, positions)
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        dropout = self.dropout if self.training else 0.0
        if cache is None and t <= self.window:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
        else:
            key_pos = torch.arange(k.shape[2], device=x.device) + (positions[0] - (k.shape[2] - t))
            allowed = (key_pos[None, :] <= positions[:, None]) & (key_pos[None, :] > positions[:, None] - self.window)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=dropout)
        first = max(0, k.shape[2] - (self.window - 1))  # the next query sees these and itself: window steps
        new_cache = (k[:, :, first:], v[:, :, first:])
        return self.proj(out.transpose(1, 2).reshape(b, t, width)), new_cache


class Block(nn.Module):
    def __init__(self, width: int, heads: int, window: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attention = CausalSelfAttention(width, heads, window, dropout)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, cache: Any) -> tuple[torch.Tensor, Any]:
        attended, cache = self.attention(self.norm1(x), positions, cache)
        x = x + self.dropout(attended)
        return x + self.dropout(self.mlp(self.norm2(x))), cache


class Transformer(SequenceModel):
    arch = "transformer"

    def __init__(self, model_io: ModelIO, *, hidden: int = 256, layers: int = 4, heads: int = 4,
                 keep: float = 1.0, window: int = 64, embedding_dim: int = 64,
                 embedding_combine: str = "concat") -> None:
        super().__init__(model_io)
        if model_io.input_kind != "tokens":
            raise GenerationError("transformer reads token encodings only")
        drop = dropout_from_keep(keep)
        self.embedding = TokenEmbedding(tuple(model_io.vocab_sizes), embedding_dim, embedding_combine)
        self.project = (nn.Identity() if self.embedding.out_dim == hidden
                        else nn.Linear(self.embedding.out_dim, hidden))
        self.dropout = nn.Dropout(drop)
        self.blocks = nn.ModuleList(Block(hidden, heads, window, drop) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)
        self.head = TokenHeads(hidden, model_io)

    def _run(self, inputs: torch.Tensor, start: int, caches: list[Any] | None) -> tuple[torch.Tensor, list[Any]]:
        x = self.dropout(self.project(self.embedding(inputs)))
        positions = torch.arange(start, start + inputs.shape[1], device=inputs.device)
        new_caches = []
        for i, block in enumerate(self.blocks):
            x, cache = block(x, positions, None if caches is None else caches[i])
            new_caches.append(cache)
        return self.norm(x), new_caches

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor | None = None, last_only: bool = False) -> Any:
        hidden, _ = self._run(inputs, 0, None)
        return self.head(hidden[:, -1] if last_only else hidden)

    def init_state(self, batch_size: int, device: torch.device | str) -> dict[str, Any]:
        return {"position": 0, "caches": None}

    def step(self, x_t: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        return self.prime(x_t[:, None], state)

    def prime(self, xs: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        hidden, caches = self._run(xs, state["position"], state["caches"])
        return hidden[:, -1], {"position": state["position"] + xs.shape[1], "caches": caches}
