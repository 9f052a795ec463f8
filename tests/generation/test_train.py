"""The training loop: learns, writes its run folder, stops early, resumes exactly, and runs under DDP."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from generation.checkpoint import read_checkpoint
from generation.config import TrainConfig, load_config
from generation.errors import GenerationError
from generation.evaluate import evaluate_model
from generation.models import build_model
from generation.train import seed_everything, train
from tests.generation import ddp_worker
from tests.generation.synthetic import frame_io, periodic_roll, periodic_tokens, token_io

ROOT = Path(__file__).resolve().parents[2]
TINY = TrainConfig(arch="lstm", hidden=24, embedding_dim=8, window=8, batch_size=16, learning_rate=0.02,
                   epochs=3, patience=0, device="cpu", keep=1.0)


def token_data(mode: str = "many-to-many"):
    pattern, durations = [1, 2, 3, 4, 2, 5], [1, 1, 2]
    return (periodic_tokens(pattern, 70, 8, mode, durations=durations),
            periodic_tokens(pattern, 30, 8, mode, durations=durations), token_io(7, streams=2))


def rows(path: Path) -> list[dict[str, str]]:
    with (path / "metrics.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_loss_falls_on_a_tiny_repeated_pattern_and_the_run_folder_is_complete(tmp_path: Path):
    train_set, valid_set, model_io = token_data()
    encoding = {"kind": "synthetic", "version": 1}
    config = replace(TINY, epochs=12)
    result = train(train_set, valid_set, model_io, config, tmp_path, encoding=encoding, progress=False)
    table = rows(tmp_path)
    assert len(table) == 12 == result.epochs_run
    first, last = float(table[0]["val_loss"]), float(table[-1]["val_loss"])
    assert last < 0.3 * first
    assert float(table[-1]["val_pitch_accuracy"]) > 0.75 and float(table[-1]["val_duration_accuracy"]) > 0.75
    for column in ("epoch", "train_loss", "val_loss", "val_accuracy", "train_pitch_accuracy", "val_duration_nll",
                   "seconds", "tokens_per_second", "learning_rate"):
        assert column in table[0], column
    assert result.best_valid_loss == min(float(r["val_loss"]) for r in table)
    assert read_checkpoint(tmp_path / "best.pt").epoch == result.best_epoch
    assert read_checkpoint(tmp_path / "last.pt").encoding == encoding
    assert load_config(tmp_path / "config.toml") == config
    html = (tmp_path / "training.html").read_text(encoding="utf-8")
    assert "plotly" in html and "val_pitch_accuracy" in html
    assert json.loads((tmp_path / "done.json").read_text())["epochs_run"] == 12


def test_piano_roll_runs_report_frame_nll_expected_accuracy_and_top3(tmp_path: Path):
    train_set = periodic_roll([[0, 4], [1, 2], [3]], 6, 40, 6, mode="many-to-one")
    valid_set = periodic_roll([[0, 4], [1, 2], [3]], 6, 20, 6, mode="many-to-one")
    train(train_set, valid_set, frame_io(6), replace(TINY, arch="cnn-lstm", conv_filters=8, layers=1, epochs=2),
          tmp_path, progress=False)
    row = rows(tmp_path)[-1]
    for column in ("val_frame_nll", "val_frame_accuracy", "val_top3_accuracy", "train_frame_nll"):
        assert 0 <= float(row[column]) < 100, column
    assert float(row["val_loss"]) == float(row["val_frame_nll"])


def test_early_stopping_on_a_validation_loss_that_stops_improving(tmp_path: Path):
    train_set, valid_set, model_io = token_data()
    config = replace(TINY, learning_rate=1e-12, epochs=10, patience=2)  # the weights cannot move
    result = train(train_set, valid_set, model_io, config, tmp_path, progress=False)
    assert result.stopped_early and result.epochs_run == 3 and result.best_epoch == 1
    assert len(rows(tmp_path)) == 3


def test_resume_continues_the_same_run(tmp_path: Path):
    """Two epochs, then resume to four, equals four in one go: same losses, same weights (dropout, shuffling,
    recurrent DropConnect and the learning-rate schedule all depend on restored state)."""
    train_set, valid_set, model_io = token_data("many-to-one")
    config = replace(TINY, arch="stacked", layers=2, keep=0.7, recurrent_keep=0.8, epochs=4, max_batches=2,
                     scheduler="exponential", lr_decay=0.5, lr_decay_after=1)
    whole = train(train_set, valid_set, model_io, config, tmp_path / "whole", progress=False)
    train(train_set, valid_set, model_io, replace(config, epochs=2), tmp_path / "split", progress=False)
    assert len(rows(tmp_path / "split")) == 2
    resumed = train(train_set, valid_set, model_io, config, tmp_path / "split", resume=True, progress=False)
    keys = ("train_loss", "val_loss", "val_accuracy", "learning_rate")
    assert [[r[k] for k in keys] for r in rows(tmp_path / "whole")] == \
           [[r[k] for k in keys] for r in rows(tmp_path / "split")]
    a, b = read_checkpoint(tmp_path / "whole" / "last.pt"), read_checkpoint(tmp_path / "split" / "last.pt")
    assert all(torch.equal(a.model_state[k], b.model_state[k]) for k in a.model_state)
    assert resumed.best_valid_loss == whole.best_valid_loss and resumed.epochs_run == 4


def test_resume_refuses_other_data_another_model_or_nothing_to_resume(tmp_path: Path):
    train_set, valid_set, model_io = token_data()
    config = replace(TINY, epochs=1, max_batches=1)
    with pytest.raises(GenerationError, match="no checkpoint there"):
        train(train_set, valid_set, model_io, config, tmp_path, resume=True, progress=False)
    train(train_set, valid_set, model_io, config, tmp_path, progress=False)
    other, _, _ = token_data("many-to-one")
    with pytest.raises(GenerationError, match="training data changed"):
        train(other, valid_set, model_io, replace(config, epochs=2), tmp_path, resume=True, progress=False)
    with pytest.raises(GenerationError, match="hidden differ"):
        train(train_set, valid_set, model_io, replace(config, hidden=12), tmp_path, resume=True, progress=False)


def test_empty_splits_and_bad_batches_are_clear_errors(tmp_path: Path):
    train_set, valid_set, model_io = token_data()
    with pytest.raises(GenerationError, match="at least one window"):
        train(train_set, [], model_io, TINY, tmp_path, progress=False)

    class Pairs(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.zeros(8, 2, dtype=torch.long), torch.zeros(2, dtype=torch.long)

    with pytest.raises(GenerationError, match="train split: an item must be a dict with 'inputs' and 'targets'"):
        train(Pairs(), Pairs(), model_io, TINY, tmp_path, progress=False)


def expected_ddp_parameters() -> dict[str, torch.Tensor]:
    """What two processes must reach: per step, the mean of the two shards' gradients, clipped, then Adam."""
    config = ddp_worker.CONFIG
    train_set, _ = ddp_worker.datasets()
    seed_everything(config.seed)
    model = build_model(config.arch, frame_io(5), config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    for epoch in range(1, config.epochs + 1):
        shards = []
        for rank in range(2):
            sampler = torch.utils.data.DistributedSampler(train_set, num_replicas=2, rank=rank, shuffle=True,
                                                          seed=config.seed)
            sampler.set_epoch(epoch)
            shards.append(list(sampler))
        for step in range(len(shards[0]) // config.batch_size):
            grads = []
            for shard in shards:
                batch = torch.utils.data.default_collate(
                    [train_set[i] for i in shard[step * config.batch_size:(step + 1) * config.batch_size]])
                model.zero_grad()
                model.loss(model(batch["inputs"]), batch["targets"]).backward()
                grads.append([p.grad.clone() for p in model.parameters()])
            for p, g0, g1 in zip(model.parameters(), *grads, strict=True):
                p.grad = (g0 + g1) / 2
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
            optimizer.step()
    return {k: v.detach() for k, v in model.state_dict().items()}


def test_two_processes_with_gloo_average_their_gradients(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(ROOT / "tests" / "generation" / "ddp_worker.py"), str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    checkpoint = read_checkpoint(tmp_path / "last.pt")
    expected = expected_ddp_parameters()
    for name, value in expected.items():
        assert torch.allclose(checkpoint.model_state[name], value, atol=1e-6), name
    table = rows(tmp_path)
    assert len(table) == 2
    # validation is sharded without padding and summed over both processes: the whole split, each window once
    model = build_model(ddp_worker.CONFIG.arch, frame_io(5), ddp_worker.CONFIG)
    model.load_state_dict(expected)
    metrics = evaluate_model(model, ddp_worker.datasets()[1])
    assert float(table[-1]["val_loss"]) == pytest.approx(metrics["frame_nll"], rel=1e-5)
    assert float(table[-1]["val_frame_accuracy"]) == pytest.approx(metrics["frame_accuracy"], rel=1e-5)


@pytest.mark.parametrize("arch", ["lstm", "stacked", "rnn", "bilstm", "cnn-lstm", "hybrid", "biaxial", "transformer"])
def test_every_architecture_runs_through_the_training_loop(tmp_path: Path, arch: str):
    from tests.generation.synthetic import biaxial_io, biaxial_roll

    config = replace(TINY, arch=arch, hidden=8, layers=1, heads=2, conv_filters=8, dense_units=4, epochs=1,
                     max_batches=2, time_hidden=(8,), note_hidden=(6, 4), attention=arch in ("stacked", "bilstm"))
    if arch == "biaxial":
        train_set, valid_set, model_io = biaxial_roll([[0], [1, 2]], 4, 30, 8), biaxial_roll([[0], [1, 2]], 4, 12, 8), \
            biaxial_io(4)
    else:
        mode = "many-to-many" if arch in ("lstm", "rnn", "transformer") else "many-to-one"
        train_set, valid_set, model_io = token_data(mode)
    result = train(train_set, valid_set, model_io, config, tmp_path, progress=False)
    assert result.epochs_run == 1 and (tmp_path / "best.pt").is_file()
    assert float(rows(tmp_path)[0]["val_loss"]) > 0
