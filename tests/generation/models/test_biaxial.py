"""Biaxial: the note axis conditions on lower notes only, articulation is masked where not played, and the
sampler's chain gives the same likelihood as teacher-forced training."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from generation.config import SampleConfig, TrainConfig
from generation.errors import GenerationError
from generation.models import build_model
from generation.models.policy import SamplingPolicy
from generation.sample import sample
from tests.generation.synthetic import biaxial_io, biaxial_next_inputs, biaxial_roll

CONFIG = TrainConfig(arch="biaxial", time_hidden=(8, 8), note_hidden=(8, 4), keep=1.0)


def model_and_batch():
    torch.manual_seed(0)
    dataset = biaxial_roll([[0, 3], [1], [2, 4]], 6, 30, 5)
    model = build_model("biaxial", biaxial_io(6), CONFIG).eval()
    item = dataset[0]
    return model, item["inputs"][None], item["targets"][None]


def test_note_p_reads_the_lower_notes_targets_never_its_own_or_higher():
    model, inputs, targets = model_and_batch()
    base = model(inputs, targets=targets)
    higher = targets.clone()
    higher[:, :, 3:] = 1 - higher[:, :, 3:]  # flip notes 3..5 of every step
    changed = model(inputs, targets=higher)
    assert torch.allclose(base[:, :, :4], changed[:, :, :4], atol=1e-6)  # note 3 reads only note 2's target
    assert not torch.allclose(base[:, :, 4:], changed[:, :, 4:])
    lower = targets.clone()
    lower[:, :, 1] = 1 - lower[:, :, 1]
    assert not torch.allclose(base[:, :, 2], model(inputs, targets=lower)[:, :, 2])


def test_loss_is_the_frame_nll_with_articulation_masked_where_not_played():
    model, inputs, targets = model_and_batch()
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.zero_()  # every play and articulate probability = 0.5
    played = targets[..., 0].sum().item()
    frames = targets.shape[1]
    expected = (frames * 6 + played) * math.log(2) / frames
    assert model.loss(model(inputs, targets=targets), targets).item() == pytest.approx(expected)
    noisy = targets.clone()
    noisy[..., 1] = torch.where(noisy[..., 0] == 0, torch.ones_like(noisy[..., 1]), noisy[..., 1])
    assert model.loss(model(inputs, targets=noisy), noisy).item() == pytest.approx(expected)
    metrics = model.summarize({k: v.item() for k, v in model.stats(model(inputs, targets=targets), targets).items()})
    assert metrics["play_nll"] == pytest.approx(6 * math.log(2))  # the play terms alone: P ln 2
    assert metrics["frame_nll"] == pytest.approx(expected) == metrics["loss"]  # the whole frame, articulation too


def test_sampled_frames_score_under_teacher_forcing_as_the_sampler_said():
    model, inputs, _ = model_and_batch()
    g = torch.Generator()
    g.manual_seed(3)
    hidden, _ = model.prime(inputs[:, :3], model.init_state(1, "cpu"))
    frames, logp = [], []
    for _ in range(5):
        frame, lp = model.sample_head(hidden, SamplingPolicy(generator=g))
        frames.append(frame)
        logp.append(lp)
    frame, lp = torch.cat(frames), torch.cat(logp)
    assert ((frame[..., 1] == 1) <= (frame[..., 0] == 1)).all()  # never articulates a silent note
    tiled = hidden.expand(5, -1, -1)
    note_in = torch.cat([tiled, torch.nn.functional.pad(frame, (0, 0, 1, 0))[:, :6]], dim=-1)
    out, _ = model.note_axis(note_in)
    logits = model.output(out)
    nll = torch.nn.functional.binary_cross_entropy_with_logits(logits[..., 0], frame[..., 0], reduction="none").sum(-1)
    nll = nll + (torch.nn.functional.binary_cross_entropy_with_logits(logits[..., 1], frame[..., 1],
                                                                      reduction="none") * frame[..., 0]).sum(-1)
    assert torch.allclose(-nll, lp, atol=1e-5)


def test_biaxial_sampling_needs_the_encodings_note_features():
    model, _, _ = model_and_batch()
    with pytest.raises(GenerationError, match="next_inputs"):
        sample(model, SampleConfig(n=1, steps=2, device="cpu"))
    result = sample(model, SampleConfig(n=2, steps=4, device="cpu"), next_inputs=biaxial_next_inputs)
    assert result.sequences[0].shape == (4, 6, 2)


def play_only_model():
    torch.manual_seed(0)
    dataset = biaxial_roll([[0, 3], [1], [2, 4]], 6, 30, 5)
    io = dataclasses.replace(biaxial_io(6), articulation=False)
    model = build_model("biaxial", io, CONFIG).eval()
    item = dataset[0]
    return model, item["inputs"][None], item["targets"][None]


def test_a_fresh_model_starts_from_a_sparse_roll():
    model, inputs, targets = model_and_batch()
    assert model.output.bias[0].item() == pytest.approx(math.log(1 / 21))  # p(play) = 1/22
    assert model.output.bias[1].item() == 0.0


def test_play_only_scores_the_roll_alone_and_never_reads_articulation():
    model, inputs, targets = play_only_model()
    base = model(inputs, targets=targets)
    flipped = targets.clone()
    flipped[..., 1] = 1 - flipped[..., 1]
    assert torch.equal(base, model(inputs, targets=flipped))  # the note axis reads the lower note's play only
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.zero_()
    out = model(inputs, targets=targets)
    assert model.loss(out, targets).item() == pytest.approx(6 * math.log(2))  # P ln 2: play terms only
    assert model.loss(out, flipped).item() == pytest.approx(6 * math.log(2))
    metrics = model.summarize({k: v.item() for k, v in model.stats(out, targets).items()})
    assert metrics["frame_nll"] == pytest.approx(6 * math.log(2)) == metrics["loss"]
    assert "articulate_accuracy" not in metrics


def test_play_only_sampler_likelihood_is_the_teacher_forced_play_nll():
    model, inputs, _ = play_only_model()
    g = torch.Generator()
    g.manual_seed(5)
    hidden, _ = model.prime(inputs[:, :3], model.init_state(1, "cpu"))
    frame, lp = model.sample_head(hidden.expand(8, -1, -1), SamplingPolicy(generator=g))
    assert not frame[..., 1].any()  # articulation is the encoding's to derive
    forced = torch.cat([torch.zeros(8, 2, 6, 2), frame[:, None]], dim=1)  # steps 0, 1 do not matter
    logits = model(inputs[:, :3].expand(8, -1, -1, -1), targets=forced)[:, 2]
    nll = torch.nn.functional.binary_cross_entropy_with_logits(logits[..., 0], frame[..., 0], reduction="none").sum(-1)
    assert torch.allclose(-nll, lp, atol=1e-5)
