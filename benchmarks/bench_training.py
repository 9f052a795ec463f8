"""Speed of ``generation.train``'s loop against a bare torch loop, and CNN-LSTM against a stacked LSTM.

1. Overhead of the training loop (goal: <= 10 %): the same model (same seed, same initial weights) and the
   same batches (the same DistributedSampler order, the same DataLoader) trained for one epoch by
   ``generation.train.train`` and by a bare loop (zero_grad, forward, loss, backward, clip, Adam step).
   ``train`` also gathers its per-head statistics, drives a progress bar, validates (on one batch here),
   writes checkpoints, metrics.csv and the plotly figure. Both loops run ``--repeat`` times, alternating;
   the best tokens/s of each is compared. Reported twice: the training phase alone (what metrics.csv's
   tokens_per_second measures) and the whole ``train`` call (set-up, validation and files included).
2. Seconds per epoch of ``cnn-lstm`` vs ``stacked`` (same hidden size and layers, the same many-to-one
   windows): the report saw the CNN-LSTM take about half, as its pooling halves the steps the LSTMs read.

Tokens = input steps (batch x window). Random token windows stand in for a corpus (speed does not depend
on the music).

    PYTHONPATH=. python benchmarks/bench_training.py [--hidden 256] [--window 64] [--batch 64] [--batches 12]
        [--threads 2] [--repeat 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from generation.config import TrainConfig
from generation.models import ModelIO, build_model
from generation.train import seed_everything, train


class RandomWindows(Dataset):
    """``n`` windows of random tokens (ids 1..vocab-1), many-to-one targets, fixed by ``seed``."""

    def __init__(self, n: int, window: int, vocab: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.inputs = torch.randint(1, vocab, (n, window, 1), generator=g)
        self.targets = torch.randint(1, vocab, (n, 1), generator=g)

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"inputs": self.inputs[i], "targets": self.targets[i]}


def bare_loop(dataset: Dataset, model_io: ModelIO, config: TrainConfig) -> tuple[float, float]:
    """One epoch of the plainest correct loop; returns (tokens/s, mean batch loss)."""
    seed_everything(config.seed)
    model = build_model(config.arch, model_io, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    sampler = DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=True, seed=config.seed)
    sampler.set_epoch(1)
    loader = DataLoader(dataset, batch_size=config.batch_size, sampler=sampler)
    model.train()
    tokens, total, started = 0, 0.0, time.perf_counter()
    for batch in loader:
        inputs, targets = batch["inputs"], batch["targets"]
        optimizer.zero_grad(set_to_none=True)
        (logits,) = model(inputs, last_only=True)
        loss = F.cross_entropy(logits, targets[:, 0])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
        optimizer.step()
        tokens += inputs.shape[0] * inputs.shape[1]
        total += loss.item()
    return tokens / (time.perf_counter() - started), total / len(loader)


def loop_of_train(dataset: Dataset, valid: Dataset, model_io: ModelIO, config: TrainConfig, progress: bool
                  ) -> tuple[float, float, float, float]:
    """One epoch through ``train``: (training-phase tokens/s, whole-call tokens/s, final train loss, seconds
    of the training phase)."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = train(dataset, valid, model_io, config, Path(out), progress=progress)
        wall = time.perf_counter() - started
    row = result.metrics[-1]
    tokens = len(dataset) * config.window
    return row["tokens_per_second"], tokens / wall, row["train_loss"], row["train_seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=256, help="LSTM units (default 256)")
    parser.add_argument("--layers", type=int, default=1, help="LSTM layers of the overhead model (default 1)")
    parser.add_argument("--compare-layers", type=int, default=2,
                        help="LSTM layers of both models in the CNN-LSTM vs stacked comparison (default 2)")
    parser.add_argument("--window", type=int, default=64, help="steps per window (default 64)")
    parser.add_argument("--batch", type=int, default=64, help="windows per batch (default 64)")
    parser.add_argument("--batches", type=int, default=12, help="batches per epoch (default 12)")
    parser.add_argument("--vocab", type=int, default=100, help="token vocabulary size (default 100)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2 = this machine's cores)")
    parser.add_argument("--repeat", type=int, default=2, help="alternating runs of each loop (default 2)")
    parser.add_argument("--progress", action="store_true", help="show train's progress bar (as the CLI does)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    model_io = ModelIO("tokens", vocab_sizes=(args.vocab,), stream_names=("token",))
    dataset = RandomWindows(args.batch * args.batches, args.window, args.vocab, seed=0)
    valid = RandomWindows(args.batch, args.window, args.vocab, seed=1)
    config = TrainConfig(arch="lstm" if args.layers == 1 else "stacked", layers=args.layers, hidden=args.hidden,
                         window=args.window, batch_size=args.batch, epochs=1, patience=0, keep=1.0,
                         device="cpu", embedding_dim=64)
    warm = RandomWindows(args.batch, args.window, args.vocab, seed=2)  # first calls of every kernel, untimed
    bare_loop(warm, model_io, config)
    loop_of_train(warm, valid, model_io, config, False)
    bare, phase, whole, losses = [], [], [], []
    for _ in range(args.repeat):
        rate, bare_loss = bare_loop(dataset, model_io, config)
        bare.append(rate)
        phase_rate, whole_rate, train_loss, _ = loop_of_train(dataset, valid, model_io, config, args.progress)
        phase.append(phase_rate)
        whole.append(whole_rate)
        losses.append((bare_loss, train_loss))

    compare = replace(config, layers=args.compare_layers, conv_filters=512, conv_kernel=5, pool=2)
    seconds = {}
    for arch in ("stacked", "cnn-lstm"):
        seconds[arch] = min(loop_of_train(dataset, valid, model_io, replace(compare, arch=arch), False)[3]
                            for _ in range(args.repeat))

    figures = {
        "bare_tokens_per_second": max(bare),
        "train_phase_tokens_per_second": max(phase),
        "train_call_tokens_per_second": max(whole),
        "overhead_training_phase": 1 - max(phase) / max(bare),
        "overhead_whole_call": 1 - max(whole) / max(bare),
        "same_losses": all(abs(a - b) < 1e-4 * max(1.0, abs(a)) for a, b in losses),  # same model, same batches
        "stacked_seconds_per_epoch": seconds["stacked"],
        "cnn_lstm_seconds_per_epoch": seconds["cnn-lstm"],
        "cnn_lstm_over_stacked": seconds["cnn-lstm"] / seconds["stacked"],
        "settings": vars(args),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{args.layers}x{args.hidden} LSTM, window {args.window}, batch {args.batch}, {args.batches} batches, "
          f"{args.threads} threads, best of {args.repeat}")
    print(f"  bare torch loop      {figures['bare_tokens_per_second']:9.0f} tokens/s")
    print(f"  train(), training    {figures['train_phase_tokens_per_second']:9.0f} tokens/s  overhead "
          f"{100 * figures['overhead_training_phase']:5.1f} %  (goal <= 10 %)")
    print(f"  train(), whole call  {figures['train_call_tokens_per_second']:9.0f} tokens/s  overhead "
          f"{100 * figures['overhead_whole_call']:5.1f} %  (set-up, validation, checkpoints, figure)")
    print(f"  same epoch loss in both loops (same model, same batches): {figures['same_losses']}")
    print(f"{args.compare_layers}x{args.hidden}: stacked LSTM {seconds['stacked']:.2f} s/epoch, CNN-LSTM "
          f"{seconds['cnn-lstm']:.2f} s/epoch -> ratio {figures['cnn_lstm_over_stacked']:.2f} (report: about 0.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
