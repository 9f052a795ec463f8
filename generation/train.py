"""The training loop: any train / validation Dataset pair in the contract of ``generation.models.io``.

Adam, gradient clipping, an optional learning-rate schedule, validation every epoch, early stopping on
the validation loss, ``best.pt`` and ``last.pt`` checkpoints, ``metrics.csv`` (one row per epoch),
``training.html`` (plotly loss and accuracy curves, rewritten every epoch), ``config.toml`` and, when the
run ends, ``done.json``.

The same :func:`train` runs in one process or under ``torchrun --nproc_per_node N``: DDP averages the
gradients, batches are sharded by a DistributedSampler (``batch_size`` is per process), statistics are
summed over processes, and only rank 0 writes. ``resume=True`` reloads ``last.pt`` (model, optimizer,
scheduler, RNG states, early-stopping counter) and continues the same run: its epochs give the same numbers
as an uninterrupted run.
"""

from __future__ import annotations

import csv
import json
import math
import random
import shutil
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from generation.checkpoint import dataset_hash, read_checkpoint, restore_rng, save_checkpoint
from generation.config import TrainConfig, save_config
from generation.device import (
    DistContext,
    ShardSampler,
    autocast,
    barrier,
    grad_scaler,
    setup_distributed,
    teardown_distributed,
    train_sampler,
)
from generation.errors import GenerationError
from generation.evaluate import StatTotals, accumulate, batch_tensors, check_item, predict
from generation.models.base import SequenceModel
from generation.models.io import ModelIO
from generation.models.registry import build_model

METRICS_FILE = "metrics.csv"
FIGURE_FILE = "training.html"
CONFIG_FILE = "config.toml"
DONE_MARKER = "done.json"  # what `generation sweep` looks for: the run finished
BEST, LAST = "best.pt", "last.pt"
# fields a resumed run may change (how long and where it runs); any other difference is a different run
RESUMABLE_CHANGES = ("epochs", "patience", "device", "workers", "amp", "max_batches", "max_minutes")
PROGRESS_EVERY = 25  # batches between progress-bar loss updates (each one syncs with the device)


@dataclass(frozen=True)
class TrainResult:
    """What a finished (or early-stopped) run produced."""

    out_dir: Path
    best_valid_loss: float
    best_epoch: int
    epochs_run: int  # last finished epoch
    stopped_early: bool
    metrics: list[dict[str, float]]
    out_of_time: bool = False  # stopped by the max_minutes budget

    @property
    def best_checkpoint(self) -> Path:
        return self.out_dir / BEST

    @property
    def last_checkpoint(self) -> Path:
        return self.out_dir / LAST


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - datasets that draw from the global NumPy state


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> Any:
    """None, ReduceLROnPlateau (x0.5 after 2 epochs without a better validation loss) or exponential decay
    by ``lr_decay`` per epoch after ``lr_decay_after`` epochs (folk-rnn's schedule)."""
    if config.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    if config.scheduler == "exponential":
        decay, after = config.lr_decay, config.lr_decay_after
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: decay ** max(0, epoch - after))
    return None


def _check_resume(config: TrainConfig, model_io: ModelIO, data_hash: str, path: Path) -> Any:
    checkpoint = read_checkpoint(path)
    differ = [f.name for f in fields(TrainConfig) if f.name not in RESUMABLE_CHANGES
              and getattr(checkpoint.config, f.name) != getattr(config, f.name)]
    if differ:
        raise GenerationError(f"{path}: cannot resume with a different run configuration ({', '.join(differ)} "
                              f"differ; only {', '.join(RESUMABLE_CHANGES)} may change)")
    if checkpoint.model_io != model_io:
        raise GenerationError(f"{path}: the checkpoint's model inputs/outputs {checkpoint.model_io} differ from "
                              f"this data's {model_io}")
    if checkpoint.data_hash != data_hash:
        raise GenerationError(f"{path}: the training data changed since this run started (hash "
                              f"{checkpoint.data_hash[:12]} != {data_hash[:12]}); start a new run")
    return checkpoint


def _read_metrics(path: Path, up_to_epoch: int) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    return [row for row in rows if row["epoch"] <= up_to_epoch]


def write_metrics(rows: list[dict[str, float]], path: Path) -> None:
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (int(v) if k == "epoch" else v) for k, v in row.items()})


def write_figure(rows: list[dict[str, float]], path: Path, title: str) -> None:
    """Loss and accuracy per epoch, train and validation, as one self-contained plotly HTML file."""
    from plotly.subplots import make_subplots  # noqa: PLC0415

    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss (nats)", "accuracy"))
    epochs = [row["epoch"] for row in rows]
    columns = list(rows[0]) if rows else []
    for split, dash in (("train", None), ("val", "dot")):
        if f"{split}_loss" in columns:
            figure.add_scatter(x=epochs, y=[r[f"{split}_loss"] for r in rows], name=f"{split} loss",
                               line={"dash": dash}, row=1, col=1)
        for column in columns:
            if column.startswith(f"{split}_") and column.endswith("accuracy"):
                figure.add_scatter(x=epochs, y=[r[column] for r in rows], name=column, line={"dash": dash},
                                   row=1, col=2)
    figure.update_xaxes(title_text="epoch")
    figure.update_layout(title=title, height=420)
    figure.write_html(path, include_plotlyjs=True, full_html=True)


def _train_epoch(model: torch.nn.Module, core: SequenceModel, loader: DataLoader, optimizer: torch.optim.Optimizer,
                 scaler: torch.amp.GradScaler, config: TrainConfig, ctx: DistContext, bar_text: str,
                 progress: bool, deadline: float | None = None) -> tuple[dict[str, float], float, float]:
    """One pass over the training batches: (statistic totals, tokens, seconds), summed over processes. In one
    process the pass ends early once ``deadline`` (a ``time.perf_counter()`` value) has passed."""
    model.train()
    totals = StatTotals()
    tokens = 0
    limit = config.max_batches or len(loader)
    started = time.perf_counter()
    bar = tqdm(total=min(limit, len(loader)), desc=bar_text, unit="batch", leave=False,
               disable=not (progress and ctx.is_main))
    for index, batch in enumerate(loader):
        if index >= limit or (deadline is not None and index and time.perf_counter() > deadline):
            break
        inputs, targets = batch_tensors(batch, ctx.device)
        with autocast(ctx.device, config.amp):
            output = predict(model, core, inputs, targets)
            loss = core.loss(output, targets)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if config.clip_grad > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
        scaler.step(optimizer)
        scaler.update()
        with torch.no_grad():
            totals.add(core.stats(output, targets))
        tokens += inputs.shape[0] * inputs.shape[1]
        bar.update()
        if index % PROGRESS_EVERY == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    seconds = time.perf_counter() - started
    reduced = totals.reduce(ctx, {"__tokens": tokens})
    return reduced, reduced.pop("__tokens"), seconds


def _loader(dataset: Dataset, config: TrainConfig, ctx: DistContext, sampler: Any) -> DataLoader:
    return DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers,
                      pin_memory=ctx.device.type == "cuda", drop_last=False,
                      persistent_workers=config.workers > 0)


def train(train_set: Dataset, valid_set: Dataset, model_io: ModelIO, config: TrainConfig, out_dir: Path | str, *,
          encoding: dict[str, Any] | None = None, resume: bool = False, data_hash: str | None = None,
          progress: bool = True) -> TrainResult:
    """Train ``config.arch`` on ``train_set``, validating on ``valid_set`` each epoch, writing ``out_dir``.

    ``encoding`` is the encoding's ``to_dict()`` (stored in every checkpoint so sampling can rebuild it);
    ``data_hash`` identifies the training data (default: a hash of ``train_set``'s items).
    """
    out_dir = Path(out_dir)
    if len(train_set) == 0 or len(valid_set) == 0:  # type: ignore[arg-type]
        raise GenerationError("training needs at least one window in both the train and the validation split")
    check_item(train_set[0], "train")
    check_item(valid_set[0], "validation")
    ctx = setup_distributed(config.device)
    try:
        return _train(train_set, valid_set, model_io, config, out_dir, encoding, resume, data_hash, progress, ctx)
    finally:
        teardown_distributed(ctx)


def _train(train_set: Dataset, valid_set: Dataset, model_io: ModelIO, config: TrainConfig, out_dir: Path,
           encoding: dict[str, Any] | None, resume: bool, data_hash: str | None, progress: bool,
           ctx: DistContext) -> TrainResult:
    data_hash = data_hash or dataset_hash(train_set)
    seed_everything(config.seed)
    core = build_model(config.arch, model_io, config).to(ctx.device)
    optimizer = make_optimizer(core, config)
    scheduler = make_scheduler(optimizer, config)
    scaler = grad_scaler(ctx.device, config.amp)
    start, best, best_epoch, bad_epochs, rows = 1, math.inf, 0, 0, []
    if resume:
        checkpoint = _check_resume(config, model_io, data_hash, out_dir / LAST)
        core.load_state_dict(checkpoint.model_state)
        optimizer.load_state_dict(checkpoint.optimizer_state)
        if scheduler is not None and checkpoint.scheduler_state is not None:
            scheduler.load_state_dict(checkpoint.scheduler_state)
        if checkpoint.scaler_state is not None:
            scaler.load_state_dict(checkpoint.scaler_state)
        restore_rng(checkpoint.rng)
        start, best, best_epoch, bad_epochs = (checkpoint.epoch + 1, checkpoint.best_valid_loss,
                                               checkpoint.best_epoch, checkpoint.bad_epochs)
        rows = _read_metrics(out_dir / METRICS_FILE, checkpoint.epoch)
    if ctx.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / DONE_MARKER).unlink(missing_ok=True)
        save_config(config, out_dir / CONFIG_FILE)
    model: torch.nn.Module = core
    if ctx.distributed:
        model = DistributedDataParallel(core, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    sampler = train_sampler(train_set, ctx, config.seed)
    train_loader = _loader(train_set, config, ctx, sampler)
    valid_loader = _loader(valid_set, config, ctx, ShardSampler(valid_set, ctx))
    stopped_early = 0 < config.patience <= bad_epochs
    epochs_run = start - 1
    budget_start, out_of_time = time.perf_counter(), False
    for epoch in range(start, config.epochs + 1):
        if stopped_early or out_of_time:
            break
        sampler.set_epoch(epoch)
        started = time.perf_counter()
        deadline = budget_start + 60.0 * config.max_minutes if config.max_minutes > 0 and not ctx.distributed \
            else None
        train_totals, tokens, train_seconds = _train_epoch(
            model, core, train_loader, optimizer, scaler, config, ctx, f"epoch {epoch}/{config.epochs}", progress,
            deadline)
        valid_totals = accumulate(model, core, valid_loader, ctx.device, amp=config.amp, ctx=ctx)
        row = {"epoch": float(epoch)}
        row.update({f"train_{k}": v for k, v in core.summarize(train_totals).items()})
        row.update({f"val_{k}": v for k, v in core.summarize(valid_totals).items()})
        valid_loss = row["val_loss"]
        if scheduler is not None:
            scheduler.step(valid_loss) if config.scheduler == "plateau" else scheduler.step()
        if valid_loss < best:
            best, best_epoch, bad_epochs = valid_loss, epoch, 0
        else:
            bad_epochs += 1
        stopped_early = 0 < config.patience <= bad_epochs
        row.update({"seconds": time.perf_counter() - started, "train_seconds": train_seconds,
                    "tokens_per_second": tokens / train_seconds if train_seconds > 0 else math.nan,
                    "learning_rate": optimizer.param_groups[0]["lr"]})
        rows.append(row)
        if ctx.is_main:
            save_checkpoint(out_dir / LAST, model=core, config=config, model_io=model_io, encoding=encoding,
                            optimizer=optimizer, scheduler=scheduler, scaler=scaler, epoch=epoch,
                            best_valid_loss=best, best_epoch=best_epoch, bad_epochs=bad_epochs, data_hash=data_hash)
            if best_epoch == epoch:
                shutil.copyfile(out_dir / LAST, out_dir / BEST)
            write_metrics(rows, out_dir / METRICS_FILE)
            write_figure(rows, out_dir / FIGURE_FILE, f"{config.arch} on {config.encoding}")
        epochs_run = epoch
        if config.max_minutes > 0:  # every process decides alike: rank 0's clock
            elapsed = torch.tensor([time.perf_counter() - budget_start], dtype=torch.float64, device=ctx.device)
            if ctx.distributed:
                torch.distributed.broadcast(elapsed, src=0)
            out_of_time = float(elapsed[0]) >= 60.0 * config.max_minutes
        barrier(ctx)
    result = TrainResult(out_dir=out_dir, best_valid_loss=best, best_epoch=best_epoch, epochs_run=epochs_run,
                         stopped_early=stopped_early, metrics=rows, out_of_time=out_of_time)
    if ctx.is_main and rows:
        (out_dir / DONE_MARKER).write_text(json.dumps({
            "epochs_run": epochs_run, "best_epoch": best_epoch, "best_valid_loss": best, "stopped_early": stopped_early,
            "out_of_time": out_of_time,
        }, indent=2) + "\n", encoding="utf-8")
    return result
