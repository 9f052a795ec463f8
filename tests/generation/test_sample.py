"""Batched stateful sampling: reproducible by seed, continues what a model learned, stops at the end token,
and reports the model's own log-likelihood of what it drew."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from generation.checkpoint import load_model
from generation.config import SampleConfig, TrainConfig
from generation.errors import GenerationError
from generation.models import build_model
from generation.sample import sample
from generation.train import train
from tests.generation.synthetic import frame_io, periodic_roll, periodic_tokens, token_io

CPU = SampleConfig(n=5, steps=12, batch_size=2, device="cpu")
PATTERN, DURATIONS = [1, 2, 3, 4, 5, 6], [1, 2]


@pytest.fixture(scope="module")
def periodic_run(tmp_path_factory) -> Path:
    """An LSTM trained for a few seconds on a period-6 pitch stream with a period-2 duration stream."""
    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(arch="lstm", hidden=32, embedding_dim=8, window=8, mode="many-to-many", batch_size=16,
                         learning_rate=0.03, epochs=15, patience=0, keep=1.0, device="cpu")
    train_set = periodic_tokens(PATTERN, 80, 8, "many-to-many", durations=DURATIONS)
    valid_set = periodic_tokens(PATTERN, 30, 8, "many-to-many", durations=DURATIONS)
    train(train_set, valid_set, token_io(8, streams=2), config, out, progress=False)
    return out


def test_a_briefly_trained_model_reproduces_the_period(periodic_run: Path):
    model, _ = load_model(periodic_run)
    primer = np.array([[3, 1], [4, 2], [5, 1]])
    result = sample(model, replace(CPU, temperature=0.0, steps=14), primer=primer)
    expected_pitch = [(PATTERN * 4)[i] for i in range(5, 5 + 14)]  # the pattern goes on from 6
    expected_duration = [DURATIONS[i % 2] for i in range(1, 15)]
    for seq in result.sequences:
        assert seq[:, 0].tolist() == expected_pitch
        assert seq[:, 1].tolist() == expected_duration
    drawn = sample(model, replace(CPU, temperature=0.5, n=4, steps=12), primer=primer)
    hits = np.mean([np.mean(seq[:, 0] == expected_pitch[:12]) for seq in drawn.sequences])
    assert hits > 0.9  # sampling, not only argmax, follows the period


def test_sampling_is_reproducible_by_seed(periodic_run: Path):
    model, _ = load_model(periodic_run)
    config = replace(CPU, temperature=1.5, top_k=5)
    a, b = sample(model, config), sample(model, config)
    assert all(np.array_equal(x, y) for x, y in zip(a.sequences, b.sequences, strict=True))
    assert np.array_equal(a.log_likelihood, b.log_likelihood)
    c = sample(model, replace(config, seed=1))
    assert not all(np.array_equal(x, y) for x, y in zip(a.sequences, c.sequences, strict=True))


def test_log_likelihood_is_the_models_own_score_of_the_sample(periodic_run: Path):
    """Re-reading primer + sample with the training forward pass gives the log-likelihood the sampler
    reported (temperature and top-k change what is drawn, not how it is scored)."""
    model, _ = load_model(periodic_run)
    primer = np.array([[1, 1], [2, 2]])
    result = sample(model, replace(CPU, temperature=2.0, top_k=4, n=3), primer=primer)
    for seq, reported in zip(result.sequences, result.log_likelihood, strict=True):
        full = torch.as_tensor(np.concatenate([primer, seq]))[None]
        with torch.no_grad():
            logits = model(full[:, :-1])
        logp = 0.0
        for s, stream_logits in enumerate(logits):
            masked = stream_logits[0, 1:].clone()  # predictions of the generated steps
            masked[:, 0] = float("-inf")  # padding is never drawn
            logp += torch.log_softmax(masked, -1).gather(-1, full[0, 2:, s:s + 1]).sum().item()
        assert reported == pytest.approx(logp, rel=1e-4)


def test_batch_size_does_not_change_argmax_samples(periodic_run: Path):
    model, _ = load_model(periodic_run)
    one = sample(model, replace(CPU, temperature=0.0, batch_size=1), primer=np.array([[2, 2]]))
    many = sample(model, replace(CPU, temperature=0.0, batch_size=5), primer=np.array([[2, 2]]))
    assert all(np.array_equal(x, y) for x, y in zip(one.sequences, many.sequences, strict=True))


def test_samples_stop_at_the_end_token(periodic_run: Path):
    model, _ = load_model(periodic_run)
    primers = np.array([[[1, 1]], [[3, 1]], [[4, 2]]])  # per-sample primers: 2, 4 and 5 come next
    result = sample(model, replace(CPU, n=3, temperature=0.0, steps=20), primer=primers, end_token=4)
    assert result.lengths.tolist() == [3, 1, 6]  # 2 3 4 | 4 | 5 6 1 2 3 4
    assert result.stopped.tolist() == [True, True, True]
    assert all(seq[-1, 0] == 4 for seq in result.sequences)
    free = sample(model, replace(CPU, n=3, temperature=0.0, steps=20, stop_at_end=False), primer=primers,
                  end_token=4)
    assert free.lengths.tolist() == [20, 20, 20] and not free.stopped.any()


def test_decode_gets_the_primer_and_the_sample(periodic_run: Path):
    model, _ = load_model(periodic_run)
    seen = []
    result = sample(model, replace(CPU, n=2, steps=3, temperature=0.0), primer=np.array([[1, 1], [2, 2]]),
                    decode=lambda steps: seen.append(steps.copy()) or len(steps))
    assert result.pieces == [5, 5] and seen[0][:2].tolist() == [[1, 1], [2, 2]]
    cut = sample(model, replace(CPU, n=1, steps=3, keep_primer=False), primer=np.array([[1, 1]]),
                 decode=len)
    assert cut.pieces == [3]
    records = result.to_dicts()
    assert records[0]["steps"] == result.sequences[0].tolist() and records[0]["settings"]["steps"] == 3


def test_bad_primers_and_temperatures_are_named():
    model = build_model("lstm", token_io(8, streams=2), TrainConfig(hidden=8, embedding_dim=4))
    with pytest.raises(GenerationError, match=r"primer has shape \(3, 3\)"):
        sample(model, CPU, primer=np.zeros((3, 3), dtype=int))
    with pytest.raises(GenerationError, match="3 values; this model has 2 heads"):
        sample(model, replace(CPU, temperatures=(1.0, 1.0, 1.0)))


def test_multihot_sampling_with_the_reports_threshold_and_with_draws():
    torch.manual_seed(0)
    model = build_model("stacked", frame_io(4), TrainConfig(hidden=8, layers=2, attention=True, window=4)).eval()
    with torch.no_grad():
        model.head.layer.weight.zero_()
        model.head.layer.bias.copy_(torch.logit(torch.tensor([0.2, 0.35, 0.6, 0.9])))
    fixed = sample(model, replace(CPU, threshold=0.3, steps=6))
    assert all(seq.tolist() == [[0, 1, 1, 1]] * 6 for seq in fixed.sequences)
    assert fixed.sequences[0].dtype == np.uint8
    expected = 6 * np.log([0.8, 0.35, 0.6, 0.9]).sum()
    assert fixed.log_likelihood == pytest.approx([expected] * 5, rel=1e-5)
    drawn = sample(model, replace(CPU, n=40, steps=25, batch_size=40))
    share = np.concatenate(drawn.sequences).mean(axis=0)
    assert share == pytest.approx([0.2, 0.35, 0.6, 0.9], abs=0.06)


@pytest.mark.parametrize("arch", ["transformer", "bilstm", "cnn-lstm"])
def test_every_token_architecture_samples_past_its_window(arch):
    torch.manual_seed(0)
    model = build_model(arch, token_io(8), TrainConfig(hidden=8, layers=1, heads=2, window=4, conv_filters=8,
                                                       embedding_dim=4))
    result = sample(model, replace(CPU, steps=10), primer=np.array([[1], [2]]))
    assert [len(seq) for seq in result.sequences] == [10] * 5
    assert all(((seq >= 1) & (seq < 8)).all() for seq in result.sequences)


def test_a_briefly_trained_piano_roll_model_reproduces_its_chord_cycle(tmp_path: Path):
    cycle = [[0, 4], [1], [2, 3, 5], [1]]
    config = TrainConfig(arch="lstm", hidden=24, window=8, mode="many-to-many", batch_size=16, learning_rate=0.03,
                         epochs=15, patience=0, keep=1.0, device="cpu")
    train(periodic_roll(cycle, 6, 60, 8, "many-to-many"), periodic_roll(cycle, 6, 20, 8, "many-to-many"),
          frame_io(6), config, tmp_path, progress=False)
    model, _ = load_model(tmp_path)
    primer = np.zeros((3, 6))
    for t, keys in enumerate(cycle[:3]):
        primer[t, keys] = 1
    result = sample(model, replace(CPU, n=2, steps=8, threshold=0.5), primer=primer)
    expected = np.zeros((8, 6), dtype=np.uint8)
    for t in range(8):
        expected[t, cycle[(t + 3) % 4]] = 1
    assert all(np.array_equal(seq, expected) for seq in result.sequences)
