"""Checkpoints rebuild the model alone, carry everything a resumed run needs, and reject what is not one."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from generation.checkpoint import dataset_hash, load_model, read_checkpoint, restore_rng, rng_state, save_checkpoint
from generation.config import TrainConfig
from generation.errors import GenerationError
from generation.models import build_model
from tests.generation.synthetic import frame_io, periodic_roll, periodic_tokens, token_io

CONFIG = TrainConfig(arch="stacked", hidden=16, layers=2, embedding_dim=8, window=6, attention=True, keep=0.5)
ENCODING = {"kind": "notewise-chord", "version": 1, "vocabulary": ["C4", "E4|G4"], "options": {"step": 0.25}}


def test_a_checkpoint_reloads_to_identical_outputs(tmp_path: Path):
    torch.manual_seed(0)
    model_io = token_io(7, streams=2)
    model = build_model("stacked", model_io, CONFIG)
    optimizer = torch.optim.Adam(model.parameters())
    inputs = torch.randint(1, 7, (3, 6, 2))
    model(inputs)[0].sum().backward()
    optimizer.step()
    model.eval()
    path = save_checkpoint(tmp_path / "last.pt", model=model, config=CONFIG, model_io=model_io, encoding=ENCODING,
                           optimizer=optimizer, epoch=4, best_valid_loss=1.25, best_epoch=3, bad_epochs=1,
                           data_hash="abc")
    loaded, checkpoint = load_model(path)
    assert not loaded.training
    for a, b in zip(model(inputs), loaded(inputs), strict=True):
        assert torch.equal(a, b)
    assert checkpoint.config == CONFIG and checkpoint.model_io == model_io and checkpoint.encoding == ENCODING
    assert (checkpoint.epoch, checkpoint.best_valid_loss, checkpoint.best_epoch, checkpoint.bad_epochs,
            checkpoint.data_hash) == (4, 1.25, 3, 1, "abc")
    assert checkpoint.optimizer_state["state"]  # Adam moments are there for a resume
    assert not list(tmp_path.glob("*.tmp"))


def test_a_run_folder_loads_its_best_checkpoint(tmp_path: Path):
    model_io = frame_io(4)
    model = build_model("lstm", model_io, replace(CONFIG, arch="lstm"))
    save_checkpoint(tmp_path / "best.pt", model=model, config=replace(CONFIG, arch="lstm"), model_io=model_io)
    loaded, checkpoint = load_model(tmp_path)
    assert checkpoint.path == tmp_path / "best.pt" and checkpoint.encoding is None


def test_what_is_not_a_checkpoint_is_named(tmp_path: Path):
    with pytest.raises(GenerationError, match="no checkpoint there"):
        read_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(GenerationError, match=r"junk\.pt: not a readable checkpoint"):
        read_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(GenerationError, match=r"other\.pt: not a tunelab checkpoint"):
        read_checkpoint(other)


def test_an_encoding_that_is_not_json_is_refused(tmp_path: Path):
    model_io = frame_io(4)
    model = build_model("lstm", model_io, replace(CONFIG, arch="lstm"))
    with pytest.raises(GenerationError, match="JSON"):
        save_checkpoint(tmp_path / "x.pt", model=model, config=CONFIG, model_io=model_io,
                        encoding={"table": np.zeros(2)})


def test_rng_states_round_trip():
    state = rng_state()
    first = (torch.rand(3), random.random(), np.random.rand())  # noqa: NPY002 - the global state is the point
    restore_rng(state)
    again = (torch.rand(3), random.random(), np.random.rand())  # noqa: NPY002
    assert torch.equal(first[0], again[0]) and first[1:] == again[1:]


def test_the_data_hash_follows_the_contents():
    a = periodic_tokens([1, 2, 3], 20, 4)
    assert dataset_hash(a) == dataset_hash(periodic_tokens([1, 2, 3], 20, 4))
    assert dataset_hash(a) != dataset_hash(periodic_tokens([1, 2, 4], 20, 4))
    assert dataset_hash(a) != dataset_hash(periodic_roll([[0]], 3, 20, 4))

    class Prepared(type(a)):
        data_hash = "sha-of-the-prepared-corpus"

    assert dataset_hash(Prepared(a.items)) == "sha-of-the-prepared-corpus"


@pytest.mark.parametrize("scheduler", ["plateau", "exponential"])
def test_scheduler_and_scaler_states_load_with_weights_only(tmp_path: Path, scheduler: str):
    from generation.device import grad_scaler
    from generation.train import make_optimizer, make_scheduler

    model_io = frame_io(4)
    config = replace(CONFIG, arch="lstm", scheduler=scheduler)
    model = build_model("lstm", model_io, config)
    optimizer = make_optimizer(model, config)
    schedule = make_scheduler(optimizer, config)
    optimizer.step()
    schedule.step(1.0) if scheduler == "plateau" else schedule.step()
    scaler = grad_scaler(torch.device("cpu"), amp=True)
    save_checkpoint(tmp_path / "c.pt", model=model, config=config, model_io=model_io, optimizer=optimizer,
                    scheduler=schedule, scaler=scaler)
    checkpoint = read_checkpoint(tmp_path / "c.pt")
    again = make_scheduler(make_optimizer(model, config), config)
    again.load_state_dict(checkpoint.scheduler_state)
    assert again.state_dict()["last_epoch"] == 1
