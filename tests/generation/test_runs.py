"""Run folders: encoding options split into encoding and preprocessing, pairing checks, listing runs, the time
budget, per-layer activations, and biaxial sampling's bar positions."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from generation.config import SampleConfig, TrainConfig
from generation.errors import GenerationError
from generation.runs import check_pairing, list_runs, prepare_options
from generation.train import DONE_MARKER, train
from tests.generation.synthetic import frame_io, periodic_roll


def test_encoding_options_split_into_encoding_and_preprocessing():
    encoding, preprocess = prepare_options("multilabel", {"step": 1.0, "low": 21, "high": 108, "transpose": "none",
                                                          "augment": False, "fold_range": [21, 108]})
    assert encoding == {"step": 1.0, "pitch_range": (21, 108)}
    assert preprocess == {"transpose": None, "augment": False, "fold_range": (21, 108)}
    assert prepare_options("multilabel", {"high": 96}) == ({"pitch_range": (60, 96)}, {})  # low keeps its default
    assert prepare_options("notewise-chord", {"resolution": 12, "transpose": "c-major-c-minor"}) == (
        {"resolution": 12}, {"transpose": "c-major-c-minor"})
    with pytest.raises(GenerationError, match=r"'low' is neither an option of notewise-chord \(resolution\)"):
        prepare_options("notewise-chord", {"low": 21})
    with pytest.raises(GenerationError, match="'steps' is neither"):
        prepare_options("multilabel", {"steps": 1.0})
    with pytest.raises(GenerationError, match="MIDI numbers"):
        prepare_options("biaxial", {"low": "21"})


def test_the_chorale_frames_preset_options_are_real_options():
    from generation.config import resolve_config

    config = resolve_config(preset="chorale-frames")
    encoding, preprocess = prepare_options(config.encoding, config.encoding_options)
    assert encoding == {"step": 1.0, "pitch_range": (21, 108)} and preprocess == {"transpose": None, "augment": False}
    check_pairing(config)


def test_the_chorale_biaxial_preset_scores_the_roll_on_the_benchmark_frames():
    from generation.config import resolve_config
    from generation.encodings import make_encoding

    config = resolve_config(preset="chorale-biaxial")
    encoding, preprocess = prepare_options(config.encoding, config.encoding_options)
    assert encoding == {"step": 1.0, "pitch_range": (21, 108), "roll": "sampled", "play_only": True}
    assert preprocess == {"transpose": None, "augment": False}
    check_pairing(config)
    io = make_encoding(config.encoding, **encoding).model_io()
    assert (io.n_pitches, io.articulation) == (88, False)


@pytest.mark.parametrize(("changes", "message"), [
    ({"arch": "biaxial", "encoding": "multilabel"}, "cannot read the multilabel encoding"),
    ({"arch": "biaxial", "encoding": "biaxial", "mode": "many-to-one"}, "many-to-many only"),
    ({"arch": "cnn-lstm", "encoding": "multilabel", "mode": "many-to-many"}, "many-to-one"),
    ({"arch": "transformer", "encoding": "abc-chars", "attention": True}, "has none"),
])
def test_pairings_that_cannot_train_are_refused(changes, message):
    with pytest.raises(GenerationError, match=message):
        check_pairing(replace(TrainConfig(device="cpu"), **changes))


def test_sweep_and_train_agree_on_the_done_marker():
    from generation import sweep

    assert sweep.DONE_MARKER == DONE_MARKER


def _tiny_run(out: Path, **changes) -> Path:
    config = TrainConfig(arch="lstm", hidden=6, window=4, mode="many-to-many", batch_size=8, epochs=3, keep=1.0,
                         device="cpu", encoding="multilabel", **changes)
    train(periodic_roll([[0], [1, 2]], 4, 30, 4, "many-to-many"), periodic_roll([[0], [1, 2]], 4, 12, 4,
                                                                               "many-to-many"),
          frame_io(4), config, out, progress=False)
    return out


def test_the_time_budget_stops_training_mid_epoch_then_validates_and_saves(tmp_path: Path):
    _tiny_run(tmp_path / "run", max_minutes=1e-6)  # 26 windows of 4 steps, 4 batches an epoch
    done = json.loads((tmp_path / "run" / DONE_MARKER).read_text())
    assert done["epochs_run"] == 1 and done["out_of_time"] is True
    with (tmp_path / "run" / "metrics.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    assert round(float(row["tokens_per_second"]) * float(row["train_seconds"])) == 8 * 4  # one batch, not four
    assert float(row["val_loss"]) > 0 and (tmp_path / "run" / "best.pt").is_file()


def test_runs_and_sweep_points_are_listed_with_their_metrics(tmp_path: Path):
    _tiny_run(tmp_path / "alpha")
    _tiny_run(tmp_path / "grid" / "hidden-6")
    (tmp_path / "alpha" / "evaluation-test.json").write_text(json.dumps({"frame_nll": 7.5}))
    (tmp_path / "not-a-run").mkdir()
    runs = list_runs(tmp_path)
    assert [run.name for run in runs] == ["alpha", "grid/hidden-6"]
    alpha = runs[0]
    assert alpha.arch == "lstm" and alpha.encoding == "multilabel" and alpha.epochs_run == 3 and alpha.finished
    row = alpha.to_row()
    assert row["test frame nll"] == 7.5 and row["best val loss"] == pytest.approx(alpha.best_valid_loss)
    assert list_runs(tmp_path / "missing") == []


def test_layer_outputs_match_the_fused_lstm():
    from generation.activations import layer_outputs

    torch.manual_seed(0)
    for rnn in (torch.nn.LSTM(5, 7, num_layers=3, batch_first=True),
                torch.nn.RNN(5, 7, num_layers=2, batch_first=True, nonlinearity="relu")):
        x = torch.randn(2, 9, 5)
        outputs = layer_outputs(rnn, x)
        assert len(outputs) == rnn.num_layers
        assert torch.allclose(outputs[-1], rnn(x)[0], atol=1e-6)
        first = type(rnn)(5, 7, batch_first=True, **({"nonlinearity": "relu"} if isinstance(rnn, torch.nn.RNN)
                                                      else {}))
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(first, f"{name}_l0").copy_(getattr(rnn, f"{name}_l0"))
        assert torch.allclose(outputs[0], first(x)[0], atol=1e-6)


def test_biaxial_sampling_continues_the_bar_positions_batch_by_batch(tmp_path: Path, monkeypatch):
    """Openings at bar positions 0, 1 and 3 (4 steps a bar), drawn at random for three samples sampled two at a
    time: the note features of piece step j carry the position (opening + j) mod 4 of their own sample."""
    from generation import run_sampling
    from generation.checkpoint import save_checkpoint
    from generation.encodings import biaxial as biaxial_module
    from generation.encodings import make_encoding
    from generation.models import build_model

    encoding = make_encoding("biaxial", step=1.0, pitch_range=(60, 71), beat_bits=2).fit([])
    config = TrainConfig(arch="biaxial", encoding="biaxial", mode="many-to-many", time_hidden=(4,), note_hidden=(3,),
                         keep=1.0, encoding_options={"step": 1.0, "low": 60, "high": 71, "beat_bits": 2})
    model = build_model("biaxial", encoding.model_io(), config)
    run_dir = tmp_path / "run"
    save_checkpoint(run_dir / "best.pt", model=model, config=config, model_io=encoding.model_io(),
                    encoding=encoding.to_dict())
    openings = np.zeros((3, 2 * 12 + 1), dtype=np.int16)
    openings[:, 0] = 1  # C4 plays and articulates
    openings[:, 12] = 1
    openings[:, -1] = [0, 1, 3]
    np.savez(run_dir / "openings.npz", openings=openings)
    seen: list[np.ndarray] = []
    real = biaxial_module.note_inputs

    def recording(previous, positions, low, bits):  # noqa: ANN001, ANN202
        seen.append(np.asarray(positions).copy())
        return real(previous, positions, low, bits)

    monkeypatch.setattr(biaxial_module, "note_inputs", recording)
    result = run_sampling.sample_run(run_dir, SampleConfig(n=3, steps=3, batch_size=2, device="cpu"), tmp_path / "s")
    assert len(result.files) == 3
    # per batch: piece steps 0..3 (the opening, then 3 generated steps); batches of 2 then 1 samples
    assert [len(s) for s in seen] == [2, 2, 2, 2, 1, 1, 1, 1]
    chosen = [json.loads((tmp_path / "s" / f"sample_{i:03d}.json").read_text())["opening"] for i in range(3)]
    position = openings[chosen, -1].astype(int)  # each sample's own opening position
    for batch, start in ((seen[:4], position[:2]), (seen[4:], position[2:])):
        assert [s.tolist() for s in batch] == [((start + j) % 4).tolist() for j in range(4)]
