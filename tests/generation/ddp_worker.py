"""Run by ``torchrun --nproc_per_node 2`` from test_train.py: the same ``train`` call as one process."""

from __future__ import annotations

import sys
from pathlib import Path

from generation.config import TrainConfig
from generation.train import train
from tests.generation.synthetic import frame_io, periodic_roll

CONFIG = TrainConfig(arch="stacked", layers=2, hidden=12, keep=1.0, window=6, mode="many-to-many", batch_size=4,
                     epochs=2, patience=0, learning_rate=0.01, clip_grad=0.5, device="cpu", seed=7)


def datasets():
    train_set = periodic_roll([[0], [1, 2], [3], [2]], 5, 38, 6, mode="many-to-many")  # 32 windows
    valid_set = periodic_roll([[0], [1, 2], [3], [2]], 5, 17, 6, mode="many-to-many")  # 11 windows
    return train_set, valid_set


if __name__ == "__main__":
    train_set, valid_set = datasets()
    train(train_set, valid_set, frame_io(5), CONFIG, Path(sys.argv[1]), progress=False)
