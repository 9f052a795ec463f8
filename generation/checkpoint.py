"""Self-describing checkpoints: everything needed to rebuild a model alone, or to resume its run exactly.

A checkpoint (one ``torch.save`` file, loadable with ``weights_only=True``) holds the model state, the
optimizer, scheduler and gradient-scaler states, the :class:`TrainConfig`, the :class:`ModelIO`, the
encoding's ``to_dict()`` (opaque here, stored as JSON so any reader can rebuild the encoding), the epoch,
the best validation loss and its epoch, the early-stopping counter, the RNG states (torch, CUDA, Python,
NumPy) and a hash of the training data. Files are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from generation.config import TrainConfig
from generation.errors import GenerationError
from generation.models.base import SequenceModel
from generation.models.io import ModelIO
from generation.models.registry import build_model

FORMAT = "tunelab-checkpoint"
VERSION = 1
MAX_HASHED_ITEMS = 4096  # datasets longer than this are hashed on this many evenly spaced items (+ length)


@dataclass(frozen=True)
class Checkpoint:
    """The contents of a checkpoint file."""

    path: Path
    config: TrainConfig
    model_io: ModelIO
    encoding: dict[str, Any] | None
    epoch: int  # last finished epoch (1-based)
    best_valid_loss: float
    best_epoch: int
    bad_epochs: int  # epochs since the best validation loss (early stopping)
    data_hash: str
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None
    scheduler_state: dict[str, Any] | None
    scaler_state: dict[str, Any] | None
    rng: dict[str, Any]


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return model.module if hasattr(model, "module") else model


def rng_state() -> dict[str, Any]:
    """The state of every random generator training touches."""
    legacy = np.random.get_state()  # noqa: NPY002 - the global state user datasets may draw from
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": [legacy[0], legacy[1].tolist(), int(legacy[2]), int(legacy[3]), float(legacy[4])],
    }


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))  # noqa: NPY002


def dataset_hash(dataset: Any) -> str:
    """SHA-256 of a dataset's contents: its ``data_hash`` attribute when it has one (a prepared corpus knows
    its own), else its length and the tensors of its items (every item up to ``MAX_HASHED_ITEMS``, else that
    many evenly spaced ones)."""
    own = getattr(dataset, "data_hash", None)
    if own is not None:
        return str(own() if callable(own) else own)
    n = len(dataset)
    digest = hashlib.sha256(f"items={n}".encode())
    indices = range(n) if n <= MAX_HASHED_ITEMS else np.linspace(0, n - 1, MAX_HASHED_ITEMS).astype(int)
    for i in indices:
        item = dataset[int(i)]
        for key in sorted(item):
            value = torch.as_tensor(item[key]).detach().cpu().contiguous()
            digest.update(f"{key}{tuple(value.shape)}{value.dtype}".encode())
            digest.update(value.numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(path: Path | str, *, model: nn.Module, config: TrainConfig, model_io: ModelIO,
                    encoding: dict[str, Any] | None = None, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, scaler: torch.amp.GradScaler | None = None, epoch: int = 0,
                    best_valid_loss: float = float("inf"), best_epoch: int = 0, bad_epochs: int = 0,
                    data_hash: str = "") -> Path:
    """Write a checkpoint atomically; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        encoding_json = None if encoding is None else json.dumps(encoding)
    except TypeError as error:
        raise GenerationError(f"the encoding's to_dict() is not JSON-serialisable: {error}") from None
    payload = {
        "format": FORMAT, "version": VERSION, "torch_version": str(torch.__version__),
        "model_state": {k: v.detach().cpu() for k, v in unwrap(model).state_dict().items()},
        "optimizer_state": None if optimizer is None else optimizer.state_dict(),
        "scheduler_state": None if scheduler is None else scheduler.state_dict(),
        "scaler_state": None if scaler is None else scaler.state_dict(),
        "config": config.to_dict(), "model_io": model_io.to_dict(), "encoding": encoding_json,
        "epoch": epoch, "best_valid_loss": float(best_valid_loss), "best_epoch": best_epoch,
        "bad_epochs": bad_epochs, "rng": rng_state(), "data_hash": data_hash,
    }
    temporary = path.with_name(path.name + ".tmp")
    torch.save(payload, temporary)
    os.replace(temporary, path)
    return path


def read_checkpoint(path: Path | str) -> Checkpoint:
    """Read a checkpoint file; a GenerationError names the file when it is missing or is not one."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise GenerationError(f"{path}: no checkpoint there (a run folder holds best.pt and last.pt)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file is bad input here
        raise GenerationError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise GenerationError(f"{path}: not a tunelab checkpoint")
    if payload.get("version", 0) > VERSION:
        raise GenerationError(f"{path}: checkpoint format {payload['version']} is newer than this code ({VERSION})")
    encoding = payload["encoding"]
    return Checkpoint(
        path=path, config=TrainConfig.from_dict(payload["config"], f"{path} (config)"),
        model_io=ModelIO.from_dict(payload["model_io"]),
        encoding=None if encoding is None else json.loads(encoding), epoch=int(payload["epoch"]),
        best_valid_loss=float(payload["best_valid_loss"]), best_epoch=int(payload["best_epoch"]),
        bad_epochs=int(payload["bad_epochs"]), data_hash=str(payload["data_hash"]),
        model_state=payload["model_state"], optimizer_state=payload["optimizer_state"],
        scheduler_state=payload["scheduler_state"], scaler_state=payload["scaler_state"], rng=payload["rng"])


def load_model(path: Path | str, device: torch.device | str = "cpu") -> tuple[SequenceModel, Checkpoint]:
    """Rebuild the model of a checkpoint (file, or run folder -> its best.pt) in eval mode on ``device``."""
    checkpoint = read_checkpoint(path)
    model = build_model(checkpoint.config.arch, checkpoint.model_io, checkpoint.config)
    model.load_state_dict(checkpoint.model_state)
    return model.to(device).eval(), checkpoint
