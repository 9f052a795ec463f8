"""Speed of ``generation.sample``: stateful batched sampling vs re-feeding the window one sample at a time.

The same model (a ``--layers`` x ``--hidden`` LSTM over ``--vocab`` tokens, random weights: speed does not
depend on them) draws tokens three ways in one run:

1. ``generation.sample.sample`` with ``--streams`` samples at once, keeping the (h, c) state (the goal:
   >= 50x the baseline);
2. the same with one stream (so the gain splits into "keep the state" and "batch the streams");
3. the baseline: one sample at a time, every step re-reading the last ``--window`` tokens through the
   model's forward pass, then drawing from the last step's softmax.

Prints tokens/s of each and the ratios (FACTS.md measured ~4.5x for the state at window 64 and ~18x for 64
streams over one).

    PYTHONPATH=. python benchmarks/bench_sampling.py [--hidden 256] [--layers 2] [--window 64] [--streams 64]
        [--steps 256] [--baseline-steps 128] [--threads 2] [--arch stacked] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from generation.config import SampleConfig, TrainConfig
from generation.models import ModelIO, build_model
from generation.models.policy import SamplingPolicy
from generation.sample import sample


@torch.no_grad()
def refeed_window(model: torch.nn.Module, primer: np.ndarray, steps: int, window: int, seed: int) -> float:
    """One sample, each step re-reading the last ``window`` tokens; returns tokens/s."""
    generator = torch.Generator().manual_seed(seed)
    policy = SamplingPolicy(generator=generator)
    tokens = torch.as_tensor(primer)[None]
    started = time.perf_counter()
    for _ in range(steps):
        (logits,) = model(tokens[:, -window:], last_only=True)
        ids, _ = policy.categorical(logits)
        tokens = torch.cat([tokens, ids[:, None, None]], dim=1)
    return steps / (time.perf_counter() - started)


def stateful(model: torch.nn.Module, primer: np.ndarray, streams: int, steps: int) -> float:
    config = SampleConfig(n=streams, batch_size=streams, steps=steps, device="cpu", stop_at_end=False)
    started = time.perf_counter()
    sample(model, config, primer=primer)
    return streams * steps / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="stacked", help="architecture with a recurrent state (default stacked)")
    parser.add_argument("--hidden", type=int, default=256, help="LSTM units (default 256)")
    parser.add_argument("--layers", type=int, default=2, help="LSTM layers (default 2)")
    parser.add_argument("--vocab", type=int, default=100, help="token vocabulary size (default 100)")
    parser.add_argument("--window", type=int, default=64, help="steps the baseline re-reads (default 64)")
    parser.add_argument("--streams", type=int, default=64, help="samples drawn at once (default 64)")
    parser.add_argument("--steps", type=int, default=256, help="tokens per stateful sample (default 256)")
    parser.add_argument("--baseline-steps", type=int, default=128, help="tokens the baseline draws (default 128)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2 = this machine's cores)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model_io = ModelIO("tokens", vocab_sizes=(args.vocab,), stream_names=("token",))
    config = TrainConfig(arch=args.arch, hidden=args.hidden, layers=args.layers, window=args.window, keep=1.0)
    model = build_model(args.arch, model_io, config).eval()
    primer = np.random.default_rng(0).integers(1, args.vocab, size=(args.window, 1))

    stateful(model, primer, 2, 8)  # warm-up, untimed
    refeed_window(model, primer, 4, args.window, 0)
    baseline = refeed_window(model, primer, args.baseline_steps, args.window, 1)
    one = stateful(model, primer, 1, args.steps)
    batched = stateful(model, primer, args.streams, args.steps)
    figures = {
        "refeed_one_stream_tokens_per_second": baseline,
        "stateful_one_stream_tokens_per_second": one,
        "stateful_batched_tokens_per_second": batched,
        "state_speedup": one / baseline,
        "batch_speedup": batched / one,
        "total_speedup": batched / baseline,
        "settings": vars(args),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{args.layers}x{args.hidden} {args.arch}, vocab {args.vocab}, {args.threads} threads")
    print(f"  re-feed {args.window}-step window, 1 stream   {baseline:9.0f} tokens/s")
    print(f"  stateful, 1 stream                {one:9.0f} tokens/s  ({figures['state_speedup']:.1f}x: the state)")
    print(f"  stateful, {args.streams} streams              {batched:9.0f} tokens/s  "
          f"({figures['batch_speedup']:.1f}x: the batch)")
    print(f"  stateful batched vs re-feed: {figures['total_speedup']:.0f}x (goal >= 50x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
